// The corpus lab: failures people reported in public trackers, reproduced with the real
// programs of the lab. One real Synapse (server name corpus.test) behind one real nginx, one lab
// PKI whose leaves carry an AIA "CA Issuers" URL like every public CA's, one lab resolver, and for
// the transport faults small processes that do what a firewall or a hung server does to TCP:
//
//   corpus.test           A 127.11.0.1  nginx :443 (the base domain; its :8448 in some scenarios)
//   matrix.corpus.test    A 127.11.0.2  nginx :443 and :8448, reverse proxy to Synapse
//   (127.11.0.3)                        coturn, for the TURN cases
//   (127.11.0.4)                        plain HTTP :80, the AIA "CA Issuers" URL of every leaf
//   127.11.0.53:PORT                    the lab resolver; it answers SERVFAIL for the names a
//                                       scenario lists (a zone whose DNSSEC is broken)
//
// A scenario is the healthy layout with one small change (as in federation-lab.ts). `use(name)`
// rewrites nginx's configuration, swaps the zone and starts the scenario's helper processes.
// Everything listens on 127.11.0.0/16 only and is stopped by pid.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Packet, UDPServer } from 'dns2';
import { createLabPki, issueCertificate, type LabCertificate, type LabPki } from './servers/certs.ts';
import { startCoturn, type RunningCoturn } from './servers/coturn.ts';
import { startDnsServer, type LabRecord, type RunningDnsServer } from '../../sandbox/dns-server.ts';
import { newNginxPrefix, startNginx, type RunningNginx } from './servers/nginx.ts';
import { LAB_DIR } from './servers/provision.ts';
import { stopProcess } from './servers/process.ts';
import { startSynapse, type RunningSynapse } from './servers/synapse.ts';
import { teardown } from './servers/teardown.ts';

export const CORPUS = {
  serverName: 'corpus.test',
  matrixHost: 'matrix.corpus.test',
  base: '127.11.0.1',
  matrix: '127.11.0.2',
  turn: '127.11.0.3',
  aia: '127.11.0.4',
  resolver: '127.11.0.53',
  /** A Cloudflare proxy address (104.16.0.0/13) published in DNS; --connect-to routes it back to loopback. */
  cloudflare: '104.16.132.229',
} as const;

export const AIA_URL = `http://${CORPUS.aia}/intermediate.der`;
export const TURN_SECRET = 'corpus-turn-shared-secret';

// ---------------------------------------------------------------------------------------------
// The layout as data.

type CertName = 'base' | 'matrix' | 'matrix-and-base' | 'expired' | 'self-signed' | 'aia-leaf-only' | 'traefik-default';

/** One HTTPS (or, with cert null, plain HTTP) server block. */
export interface Site {
  cert: CertName | null;
  /** Lines at server level (an `if` that returns early, as a WAF or a Host check does). */
  guards: string[];
  locations: string[];
}

/** What listens on an address:port: an nginx site, a process that drops SYNs, one that accepts and never speaks, or nothing. */
export type Listener = Site | 'drop' | 'hang' | null;

export interface Layout {
  records: LabRecord[];
  /** Names the resolver answers SERVFAIL for. */
  servfail: string[];
  base443: Listener;
  base8448: Listener;
  matrix443: Listener;
  matrix8448: Listener;
  /** coturn on 127.11.0.3 (TURN cases): its advertised external-ip, if any. */
  coturn?: { externalIp?: string; secret: string };
}

const SERVER_JSON = `{"m.server": "${CORPUS.matrixHost}:8448"}`;
const CLIENT_JSON = `{"m.homeserver": {"base_url": "https://${CORPUS.matrixHost}"}}`;

export interface JsonOptions {
  contentType?: string;
  cors?: boolean;
}

/** A well-known file as MDAD serves it: application/json with Access-Control-Allow-Origin: *. */
export function wellKnown(file: 'server' | 'client', body: string, options: JsonOptions = {}): string {
  const cors = options.cors ?? true;
  return `location = /.well-known/matrix/${file} {
      default_type ${options.contentType ?? 'application/json'};
      ${cors ? "add_header Access-Control-Allow-Origin '*';" : '# no Access-Control-Allow-Origin'}
      return 200 '${body}';
    }`;
}

/**
 * As MDAD's reverse-proxy example: no URI after the upstream, and a body limit over the largest
 * transaction (MDAD's companion: matrix_synapse_reverse_proxy_companion_federation_api_client_max_body_size_mb).
 * `trailingSlash` is the classic mistake.
 */
export function synapseProxy(path = '/_matrix', trailingSlash = false): string {
  return `location ${path} {
      proxy_pass ${trailingSlash ? 'SYNAPSE_URL/' : 'SYNAPSE_URL'};
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header Host $host;
      client_max_body_size 50M;
    }`;
}

/** What Traefik answers when no router matches: 404, text/plain, "404 page not found". */
export const TRAEFIK_404 = `location /_matrix { default_type text/plain; return 404 '404 page not found\\n'; }`;

/** A hosting provider's bot rule: only browser user agents get through (mod_security's "administrative rules" page). */
export const BROWSERS_ONLY = `if ($http_user_agent !~* "Mozilla") { return 403 '<html><body><h1>403 Forbidden</h1>\\nRequest forbidden by administrative rules.\\n</body></html>\\n'; }`;

function matrixSite(cert: CertName = 'matrix'): Site {
  return {
    cert,
    guards: [],
    locations: [
      synapseProxy('/_matrix'),
      synapseProxy('/_synapse/client'),
      wellKnown('server', SERVER_JSON),
      wellKnown('client', CLIENT_JSON),
    ],
  };
}

function soa(): LabRecord[] {
  const n = CORPUS.serverName;
  return [
    { name: n, type: 'SOA', value: `ns1.${n} hostmaster.${n} 2026010101 3600 600 86400 300`, ttl: 3600 },
    { name: n, type: 'NS', value: `ns1.${n}` },
    { name: `ns1.${n}`, type: 'A', value: CORPUS.resolver },
  ];
}

/** The healthy MDAD layout: delegated by the base domain's /.well-known/matrix/server to matrix.corpus.test:8448. */
export function healthy(): Layout {
  return {
    records: [
      ...soa(),
      { name: CORPUS.serverName, type: 'A', value: CORPUS.base },
      { name: CORPUS.matrixHost, type: 'A', value: CORPUS.matrix },
    ],
    servfail: [],
    base443: { cert: 'base', guards: [], locations: [wellKnown('server', SERVER_JSON), wellKnown('client', CLIENT_JSON)] },
    base8448: null,
    matrix443: matrixSite(),
    matrix8448: matrixSite(),
  };
}

export const site = (listener: Listener): Site => {
  if (!listener || typeof listener === 'string') throw new Error('not an nginx site');
  return listener;
};

/** Replaces the base domain's server well-known. */
export function setServerWellKnown(layout: Layout, body: string | null, options: JsonOptions = {}): void {
  const base = site(layout.base443);
  base.locations = base.locations.filter((l) => !l.includes('/.well-known/matrix/server'));
  if (body !== null) base.locations.push(wellKnown('server', body, options));
}

export function setClientWellKnown(layout: Layout, body: string, options: JsonOptions = {}): void {
  const base = site(layout.base443);
  base.locations = base.locations.filter((l) => !l.includes('/.well-known/matrix/client'));
  base.locations.push(wellKnown('client', body, options));
}

// ---------------------------------------------------------------------------------------------
// nginx configuration.

interface Served {
  certificate: string;
  key: string;
}

function serverBlock(listen: string, site: Site, certs: Record<CertName, Served>, synapseUrl: string): string {
  const tls = site.cert ? certs[site.cert] : undefined;
  const body = [...site.guards, ...site.locations, 'location / { return 404; }']
    .map((l) => l.replaceAll('SYNAPSE_URL', synapseUrl))
    .join('\n    ');
  return `
  server {
    listen ${listen}${tls ? ' ssl' : ''};
    server_name _;
    ${tls ? `ssl_certificate ${tls.certificate};\n    ssl_certificate_key ${tls.key};` : ''}
    ${body}
  }`;
}

function nginxBody(layout: Layout, certs: Record<CertName, Served>, synapseUrl: string, pki: LabPki): string {
  const blocks: string[] = [
    `
  server {
    listen ${CORPUS.aia}:80;
    location = /intermediate.der { default_type application/pkix-cert; alias ${pki.intermediateDer}; }
    location / { return 404; }
  }`,
  ];
  const at: [Listener, string][] = [
    [layout.base443, `${CORPUS.base}:443`],
    [layout.base8448, `${CORPUS.base}:8448`],
    [layout.matrix443, `${CORPUS.matrix}:443`],
    [layout.matrix8448, `${CORPUS.matrix}:8448`],
  ];
  for (const [listener, listen] of at) {
    if (listener && typeof listener !== 'string') blocks.push(serverBlock(listen, listener, certs, synapseUrl));
  }
  return blocks.join('\n');
}

function issueAll(pki: LabPki): Record<CertName, Served> {
  const chain = (c: LabCertificate): Served => ({ certificate: c.fullchain, key: c.key });
  const aia = { caIssuersUrl: AIA_URL };
  const matrix = [CORPUS.matrixHost];
  const leafOnly = issueCertificate(pki, 'aia-leaf-only', matrix, 'good', aia);
  return {
    base: chain(issueCertificate(pki, 'base', [CORPUS.serverName, CORPUS.matrixHost, `chat.${CORPUS.serverName}`], 'good', aia)),
    matrix: chain(issueCertificate(pki, 'matrix', matrix, 'good', aia)),
    'matrix-and-base': chain(issueCertificate(pki, 'matrix-and-base', [CORPUS.matrixHost, CORPUS.serverName], 'good', aia)),
    expired: chain(issueCertificate(pki, 'expired', matrix, 'expired', aia)),
    'self-signed': chain(issueCertificate(pki, 'self-signed', matrix, 'self-signed')),
    'aia-leaf-only': { certificate: leafOnly.leaf, key: leafOnly.key },
    'traefik-default': traefikDefault(pki.dir),
  };
}

/** What Traefik serves when it has no certificate for a name: self-signed, CN "TRAEFIK DEFAULT CERT". */
function traefikDefault(dir: string): Served {
  const key = join(dir, 'traefik-default.key');
  const cert = join(dir, 'traefik-default.crt');
  const run = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '365',
      '-subj',
      '/CN=TRAEFIK DEFAULT CERT',
      '-addext',
      'subjectAltName=DNS:0d6e3c2a1f.traefik.default',
    ],
    { encoding: 'utf8' },
  );
  if (run.status !== 0) throw new Error(`openssl (Traefik default certificate) failed: ${run.stderr}`);
  return { certificate: cert, key };
}

// ---------------------------------------------------------------------------------------------
// Transport faults, as the kernel produces them.

// A listening socket that never accepts, its queue filled by connections of its own: the kernel
// then drops every further SYN, which is what a firewall's DROP rule does (connects time out).
// 'hang' accepts every connection and never sends a byte: a hung server or a stuck proxy.
const FAULT = `
import socket, sys, time, threading
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((host, port))
held = []
if mode == 'drop':
    s.listen(0)
    for _ in range(4):
        c = socket.socket(); c.setblocking(False)
        try: c.connect((host, port))
        except BlockingIOError: pass
        held.append(c)
    time.sleep(0.3)
else:
    s.listen(64)
    def serve():
        while True:
            conn, _ = s.accept(); held.append(conn)
    threading.Thread(target=serve, daemon=True).start()
print('ready', flush=True)
sys.stdin.read()
`;

async function startFault(mode: 'drop' | 'hang', listen: string): Promise<ChildProcess> {
  const [host, port] = listen.split(':');
  const child = spawn('python3', ['-c', FAULT, mode, host, port], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fault helper (${mode} ${listen}) did not start: ${err}`)), 10_000);
    child.stdout!.on('data', (d) => {
      if (String(d).includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fault helper (${mode} ${listen}) exited ${code}: ${err}`));
    });
  });
  child.removeAllListeners('exit');
  return child;
}

// ---------------------------------------------------------------------------------------------
// The resolver: the lab DNS server's answers, except SERVFAIL for the names a scenario lists.

interface Resolver {
  port: number;
  setServfail(names: string[]): void;
  close(): Promise<void>;
}

async function startResolver(upstream: RunningDnsServer): Promise<Resolver> {
  let servfail = new Set<string>();
  const forward = (query: Buffer): Promise<Buffer | undefined> =>
    new Promise((resolve) => {
      const socket = dgram.createSocket('udp4');
      const timer = setTimeout(() => {
        socket.close();
        resolve(undefined);
      }, 2000);
      socket.on('message', (message) => {
        clearTimeout(timer);
        socket.close();
        resolve(message);
      });
      socket.send(query, upstream.port, upstream.address);
    });
  const server = new UDPServer();
  server.on('request', async (request: Packet, send: (response: Packet | Buffer) => void) => {
    const name = request.questions[0]?.name.toLowerCase().replace(/\.$/, '') ?? '';
    if (servfail.has(name)) {
      const response = Packet.createResponseFromRequest(request);
      response.header.ra = 1;
      // SERVFAIL, as a validating resolver answers for a zone whose DNSSEC is broken.
      response.header.rcode = 2;
      send(response);
      return;
    }
    const answer = await forward(request.toBuffer());
    if (answer) send(answer);
  });
  await server.listen(0, CORPUS.resolver);
  const port = server.address().port;
  return {
    port,
    setServfail(names) {
      servfail = new Set(names.map((n) => n.toLowerCase()));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// ---------------------------------------------------------------------------------------------

export interface CorpusLab {
  /** "127.11.0.53:PORT": pass it as --resolver. */
  resolver: string;
  caFile: string;
  dir: string;
  synapse: RunningSynapse;
  /** Switch to a layout (nginx, zone, SERVFAIL names, fault processes, coturn). */
  use(key: string, layout: Layout): Promise<void>;
  stop(): Promise<void>;
}

export async function startCorpusLab(): Promise<CorpusLab> {
  mkdirSync(LAB_DIR, { recursive: true });
  const dir = mkdtempSync(join(LAB_DIR, 'corpus-lab-'));
  chmodSync(dir, 0o755);
  const started: {
    synapse?: RunningSynapse;
    nginx?: RunningNginx;
    dns?: RunningDnsServer;
    resolver?: Resolver;
    faults: ChildProcess[];
    coturn?: RunningCoturn;
  } = { faults: [] };
  const stopFaults = async () => {
    const faults = started.faults.splice(0);
    await Promise.all(faults.map((f) => stopProcess(f, 2000)));
  };
  const stopAll = () =>
    teardown(
      [
        () => stopFaults(),
        () => started.coturn?.stop(),
        () => started.nginx?.stop(),
        () => started.synapse?.stop(),
        () => started.resolver?.close(),
        () => started.dns?.close(),
      ],
      dir,
    );
  try {
    const pki = createLabPki(join(dir, 'pki'));
    chmodSync(pki.dir, 0o755);
    for (const file of [pki.intermediateDer]) chmodSync(file, 0o644);
    const certs = issueAll(pki);
    // The zone lives in the lab DNS server (on a port of its own); the resolver in front of it
    // adds the SERVFAIL answers.
    started.dns = await startDnsServer({ address: CORPUS.resolver, zones: [], role: 'resolver' });
    started.resolver = await startResolver(started.dns);
    started.synapse = await startSynapse({ serverName: CORPUS.serverName, publicBaseUrl: `https://${CORPUS.matrixHost}/` });
    const { dns, resolver, synapse } = started;
    const configure = (layout: Layout) => {
      dns.setZones([{ origin: CORPUS.serverName, records: layout.records }]);
      resolver.setServfail(layout.servfail);
      return nginxBody(layout, certs, synapse.url, pki);
    };
    started.nginx = await startNginx(configure(healthy()), newNginxPrefix());
    const nginx = started.nginx;
    let current = '';
    return {
      resolver: `${CORPUS.resolver}:${resolver.port}`,
      caFile: pki.caFile,
      dir,
      synapse,
      async use(key: string, layout: Layout) {
        if (key === current) return;
        await stopFaults();
        await started.coturn?.stop();
        started.coturn = undefined;
        await nginx.reconfigure(configure(layout));
        const faults: [Listener, string][] = [
          [layout.base443, `${CORPUS.base}:443`],
          [layout.base8448, `${CORPUS.base}:8448`],
          [layout.matrix443, `${CORPUS.matrix}:443`],
          [layout.matrix8448, `${CORPUS.matrix}:8448`],
        ];
        for (const [listener, listen] of faults) {
          if (listener === 'drop' || listener === 'hang') started.faults.push(await startFault(listener, listen));
        }
        if (layout.coturn) {
          started.coturn = await startCoturn({
            address: CORPUS.turn,
            secret: layout.coturn.secret,
            realm: `turn.${CORPUS.matrixHost}`,
            ...(layout.coturn.externalIp ? { externalIp: layout.coturn.externalIp } : {}),
          });
        }
        current = key;
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll().catch(() => {});
    throw error;
  }
}

/** A file in the lab's folder (a TURN secret for --turn-secret-file). */
export function labFile(lab: CorpusLab, name: string, content: string): string {
  const path = join(lab.dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

export function readLabFile(path: string): string {
  return readFileSync(path, 'utf8');
}
