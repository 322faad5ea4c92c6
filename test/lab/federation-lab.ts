// The federation lab: one real Synapse behind one real nginx, one lab PKI and one lab resolver,
// laid out on loopback the way matrix-docker-ansible-deploy (MDAD) serves a delegated server:
//
//   example.test         A 127.0.1.1  nginx :443, the base domain's /.well-known/matrix/{server,client}
//   matrix.example.test  A 127.0.1.2  nginx :443 and :8448, reverse proxy to Synapse + MDAD's own
//                                     copy of the well-known files
//   (127.0.1.3)                       a second address of the Matrix host (two-addresses-one-broken)
//   (127.0.1.4)                       plain HTTP :80, the AIA "CA Issuers" URL (missing-intermediate)
//   127.0.1.53:PORT                   the lab resolver (dns2, role 'resolver') serving example.test
//
// Each scenario is the healthy layout with one small change, written below as a change to a fresh
// copy of healthy(); `use(scenario)` rewrites nginx's configuration (and restarts it), picks the
// certificates and swaps the DNS zone. Only one federation lab can run on a machine at a time: the
// addresses and ports are fixed.
import { chmodSync, mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { createLabPki, issueCertificate, type LabCertificate, type LabPki } from './servers/certs.ts';
import { startDnsServer, type LabRecord, type RunningDnsServer } from '../../sandbox/dns-server.ts';
import { newNginxPrefix, startNginx, type RunningNginx } from './servers/nginx.ts';
import { LAB_DIR } from './servers/provision.ts';
import { startSynapse, type RunningSynapse } from './servers/synapse.ts';
import { teardown } from './servers/teardown.ts';

export const LAB = {
  serverName: 'example.test',
  matrixHost: 'matrix.example.test',
  baseAddress: '127.0.1.1',
  matrixAddress: '127.0.1.2',
  secondMatrixAddress: '127.0.1.3',
  aiaAddress: '127.0.1.4',
} as const;

/** Where the lab resolver listens (its port is picked at start). */
export const RESOLVER_ADDRESS = '127.0.1.53';
/** The AIA "CA Issuers" URL the missing-intermediate leaf carries. */
export const AIA_URL = `http://${LAB.aiaAddress}/intermediate.der`;
/** The only name on the wrong-name certificate. */
export const WRONG_NAME = 'other.example.test';

export type Scenario =
  | 'healthy-wellknown'
  | 'healthy-srv'
  | 'no-delegation'
  | 'client-no-cors'
  | 'redirect-no-cors'
  | 'text-plain'
  | 'mserver-https'
  | 'wrong-name-cert'
  | 'expired-cert'
  | 'missing-intermediate'
  | 'unknown-ca'
  | 'self-signed'
  | 'federation-port-closed'
  | 'two-addresses'
  | 'two-addresses-one-broken'
  | 'keys-html'
  | 'send-body-limit'
  | 'authorization-stripped';

export const SCENARIOS: Record<Scenario, string> = {
  'healthy-wellknown': 'delegation by /.well-known/matrix/server to matrix.example.test:8448, everything valid (MDAD defaults)',
  'healthy-srv':
    'delegation by SRV _matrix-fed._tcp.example.test (no server well-known anywhere); the 8448 certificate also covers example.test',
  'no-delegation': 'no server well-known, no SRV, nothing listening on example.test:8448 (client well-known still served)',
  'client-no-cors': 'the base domain serves /.well-known/matrix/client without Access-Control-Allow-Origin',
  'redirect-no-cors':
    "the base domain 302-redirects /.well-known/matrix/* to the Matrix host without CORS on the 302 (the Matrix host's copy has CORS)",
  'text-plain': 'the base domain serves both well-known files as text/plain',
  'mserver-https': 'the base server well-known says "m.server": "https://matrix.example.test:8448" (a scheme: invalid)',
  'wrong-name-cert': 'the Matrix host (443 and 8448) presents a certificate for other.example.test only',
  'expired-cert': 'the Matrix host (443 and 8448) presents an expired certificate',
  'missing-intermediate': `the Matrix host (443 and 8448) serves its leaf without the intermediate; the leaf's AIA points to ${AIA_URL}, which serves it`,
  'unknown-ca': 'the Matrix host (443 and 8448) presents a leaf issued by a CA nobody trusts (no AIA)',
  'self-signed': 'the Matrix host (443 and 8448) presents a self-signed certificate',
  'federation-port-closed': 'nothing listens on matrix.example.test:8448 (443 is fine)',
  'two-addresses': 'matrix.example.test has A 127.0.1.2 and 127.0.1.3, both healthy nodes in front of the same Synapse',
  'two-addresses-one-broken':
    'matrix.example.test has A 127.0.1.2 and 127.0.1.3; 127.0.1.3:8448 answers 502 for /_matrix (dead upstream), all else equal',
  'keys-html': '/_matrix/key/v2/server on the Matrix host answers 200 text/html (a default web page); other paths normal',
  'send-body-limit':
    "nginx on matrix.example.test:8448 proxies /_matrix without client_max_body_size, so nginx's default 1m applies: a large transaction gets nginx's 413",
  'authorization-stripped':
    'nginx on matrix.example.test:8448 proxies /_matrix with proxy_set_header Authorization "": Synapse never sees X-Matrix',
};

export interface FederationLab {
  /** "127.0.1.53:PORT" of the lab resolver that serves the scenario's zone: pass it as --resolver. */
  resolver: string;
  /** The lab root CA (PEM file path): pass it as --ca-file. */
  caFile: string;
  synapse: RunningSynapse;
  /** The scenario in use (healthy-wellknown after start). */
  readonly scenario: Scenario;
  /** Switch nginx configuration, certificates in use and DNS zone to the scenario. */
  use(scenario: Scenario): Promise<void>;
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// The layout as data: what each address serves. A scenario changes a fresh healthy() copy.

/** How one well-known file is published. */
export interface JsonFile {
  kind: 'json';
  body: string;
  contentType: string;
  cors: boolean;
}
export type Publish = JsonFile | { kind: 'absent' } | { kind: 'redirect'; location: string; cors: boolean };

/** The certificates the lab issues (see issueAll). */
export type CertName = 'base' | 'matrix' | 'matrix-and-base' | 'wrong-name' | 'expired' | 'aia-leaf-only' | 'unknown-ca' | 'self-signed';

export interface MatrixSite {
  cert: CertName;
  server: Publish;
  client: Publish;
  /** What answers /_matrix/key/v2/server: Synapse through the proxy, or a static HTML page. */
  keys: 'synapse' | 'html';
  /** /_matrix goes to a dead upstream: nginx answers 502. */
  matrixBadGateway: boolean;
  /** client_max_body_size of the /_matrix location (null: none, nginx's default 1m). */
  bodyLimit: string | null;
  /** The /_matrix location clears the Authorization header. */
  stripAuthorization: boolean;
}

export interface Layout {
  records: LabRecord[];
  base: { cert: CertName; server: Publish; client: Publish };
  /** The Matrix host on 127.0.1.2: port 443, and port 8448 (null: nothing listens). */
  matrix443: MatrixSite;
  matrix8448: MatrixSite | null;
  /** The Matrix host's second address, 127.0.1.3 (null: not served, not in DNS). */
  second: { site443: MatrixSite; site8448: MatrixSite } | null;
  /** Serve the intermediate (DER) on http://127.0.1.4/intermediate.der. */
  aia: boolean;
}

const SERVER_JSON = `{"m.server": "${LAB.matrixHost}:8448"}`;
const CLIENT_JSON = `{"m.homeserver": {"base_url": "https://${LAB.matrixHost}"}}`;

/** As MDAD serves them: application/json with Access-Control-Allow-Origin: *. */
const json = (body: string): JsonFile => ({ kind: 'json', body, contentType: 'application/json', cors: true });
const ABSENT: Publish = { kind: 'absent' };

function matrixSite(): MatrixSite {
  return {
    cert: 'matrix',
    server: json(SERVER_JSON),
    client: json(CLIENT_JSON),
    keys: 'synapse',
    matrixBadGateway: false,
    bodyLimit: '50M',
    stripAuthorization: false,
  };
}

function soa(): LabRecord[] {
  return [
    {
      name: LAB.serverName,
      type: 'SOA',
      value: `ns1.${LAB.serverName} hostmaster.${LAB.serverName} 2026010101 3600 600 86400 300`,
      ttl: 3600,
    },
    { name: LAB.serverName, type: 'NS', value: `ns1.${LAB.serverName}` },
    { name: `ns1.${LAB.serverName}`, type: 'A', value: RESOLVER_ADDRESS },
  ];
}

/** healthy-wellknown: the shape MDAD gives a delegated server. */
function healthy(): Layout {
  return {
    records: [
      ...soa(),
      { name: LAB.serverName, type: 'A', value: LAB.baseAddress },
      { name: LAB.matrixHost, type: 'A', value: LAB.matrixAddress },
    ],
    base: { cert: 'base', server: json(SERVER_JSON), client: json(CLIENT_JSON) },
    matrix443: matrixSite(),
    matrix8448: matrixSite(),
    second: null,
    aia: false,
  };
}

/** Applies `change` to the Matrix host's sites on 127.0.1.2 (443 and 8448). */
function onMatrixHost(layout: Layout, change: (site: MatrixSite) => void): void {
  change(layout.matrix443);
  if (layout.matrix8448) change(layout.matrix8448);
}

const CHANGES: Record<Scenario, (layout: Layout) => void> = {
  'healthy-wellknown': () => {},
  'healthy-srv': (l) => {
    // MDAD with SRV delegation: matrix_static_files_file_matrix_server_enabled: false, so no
    // server file on either host. The client file stays.
    l.base.server = ABSENT;
    l.matrix443.server = ABSENT;
    l.matrix8448!.server = ABSENT;
    l.records.push({ name: `_matrix-fed._tcp.${LAB.serverName}`, type: 'SRV', value: `10 0 8448 ${LAB.matrixHost}` });
    // With SRV the certificate must be valid for the server name, not the SRV target.
    l.matrix8448!.cert = 'matrix-and-base';
  },
  'no-delegation': (l) => {
    l.base.server = ABSENT;
    onMatrixHost(l, (site) => (site.server = ABSENT));
  },
  'client-no-cors': (l) => {
    l.base.client = { ...json(CLIENT_JSON), cors: false };
  },
  'redirect-no-cors': (l) => {
    l.base.server = { kind: 'redirect', location: `https://${LAB.matrixHost}/.well-known/matrix/server`, cors: false };
    l.base.client = { kind: 'redirect', location: `https://${LAB.matrixHost}/.well-known/matrix/client`, cors: false };
  },
  'text-plain': (l) => {
    l.base.server = { ...json(SERVER_JSON), contentType: 'text/plain' };
    l.base.client = { ...json(CLIENT_JSON), contentType: 'text/plain' };
  },
  'mserver-https': (l) => {
    l.base.server = json(`{"m.server": "https://${LAB.matrixHost}:8448"}`);
  },
  'wrong-name-cert': (l) => onMatrixHost(l, (site) => (site.cert = 'wrong-name')),
  'expired-cert': (l) => onMatrixHost(l, (site) => (site.cert = 'expired')),
  'missing-intermediate': (l) => {
    onMatrixHost(l, (site) => (site.cert = 'aia-leaf-only'));
    l.aia = true;
  },
  'unknown-ca': (l) => onMatrixHost(l, (site) => (site.cert = 'unknown-ca')),
  'self-signed': (l) => onMatrixHost(l, (site) => (site.cert = 'self-signed')),
  'federation-port-closed': (l) => {
    l.matrix8448 = null;
  },
  'two-addresses': (l) => {
    l.records.push({ name: LAB.matrixHost, type: 'A', value: LAB.secondMatrixAddress });
    l.second = { site443: matrixSite(), site8448: matrixSite() };
  },
  'two-addresses-one-broken': (l) => {
    l.records.push({ name: LAB.matrixHost, type: 'A', value: LAB.secondMatrixAddress });
    // The second node's proxy lost its upstream: a real nginx 502 for every /_matrix request on
    // 8448. Its 443 (client API, well-known) is fine, so only federation differs between the two.
    l.second = { site443: matrixSite(), site8448: { ...matrixSite(), matrixBadGateway: true } };
  },
  'keys-html': (l) => onMatrixHost(l, (site) => (site.keys = 'html')),
  // MDAD issue 4100: the federation server block without a client_max_body_size of its own.
  'send-body-limit': (l) => {
    l.matrix8448!.bodyLimit = null;
  },
  'authorization-stripped': (l) => {
    l.matrix8448!.stripAuthorization = true;
  },
};

/** What a scenario serves, as data (the healthy layout with the scenario's change applied). */
export function layoutOf(scenario: Scenario): Layout {
  const layout = healthy();
  CHANGES[scenario](layout);
  return layout;
}

// ---------------------------------------------------------------------------------------------
// nginx configuration from a layout.

interface Served {
  /** What nginx sends: the chain (leaf + intermediate), or the leaf alone. */
  certificate: string;
  key: string;
}

/** A default web server page, as one gets from a location that serves a document root. */
const DEFAULT_PAGE =
  '<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to nginx!</h1>' +
  '<p>If you see this page, the nginx web server is successfully installed and working. Further configuration is required.</p></body></html>';

function publish(path: string, how: Publish): string {
  switch (how.kind) {
    case 'absent':
      return `location = ${path} { return 404; }`;
    case 'redirect':
      return `location = ${path} {
      ${how.cors ? "add_header Access-Control-Allow-Origin '*' always;" : '# no Access-Control-Allow-Origin on the redirect'}
      return 302 ${how.location};
    }`;
    case 'json':
      return `location = ${path} {
      default_type ${how.contentType};
      ${how.cors ? "add_header Access-Control-Allow-Origin '*';" : '# no Access-Control-Allow-Origin'}
      add_header Cache-Control 'max-age=14400';
      return 200 '${how.body}';
    }`;
  }
}

function tlsServer(listen: string, served: Served, serverName: string, locations: string[]): string {
  return `
  server {
    listen ${listen} ssl http2;
    server_name ${serverName};
    ssl_certificate ${served.certificate};
    ssl_certificate_key ${served.key};
    ${locations.join('\n    ')}
    location / { return 404; }
  }`;
}

/**
 * As MDAD's reverse-proxy example (examples/reverse-proxies/nginx/matrix.conf): no path after the
 * upstream (nginx would re-encode the URI), client_max_body_size 50M unless the site says otherwise.
 */
function proxy(upstream: string, site?: MatrixSite): string {
  const bodyLimit = site ? site.bodyLimit : '50M';
  return `proxy_pass ${upstream};
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header Host $host;${site?.stripAuthorization ? '\n      proxy_set_header Authorization "";' : ''}${bodyLimit ? `\n      client_max_body_size ${bodyLimit};` : ''}`;
}

function matrixLocations(site: MatrixSite, synapseUrl: string, deadUpstream: string): string[] {
  const locations = [
    `location /_matrix { ${proxy(site.matrixBadGateway ? deadUpstream : synapseUrl, site)} }`,
    `location /_synapse/client { ${proxy(synapseUrl)} }`,
    publish('/.well-known/matrix/server', site.server),
    publish('/.well-known/matrix/client', site.client),
  ];
  if (site.keys === 'html') {
    locations.unshift(`location ~ ^/_matrix/key/v2/server(/.*)?$ { default_type text/html; return 200 '${DEFAULT_PAGE}'; }`);
  }
  return locations;
}

function nginxHttpBody(layout: Layout, certs: Record<CertName, Served>, synapseUrl: string, pki: LabPki, deadUpstream: string): string {
  const servers: string[] = [
    tlsServer(`${LAB.baseAddress}:443`, certs[layout.base.cert], LAB.serverName, [
      publish('/.well-known/matrix/server', layout.base.server),
      publish('/.well-known/matrix/client', layout.base.client),
    ]),
    tlsServer(
      `${LAB.matrixAddress}:443`,
      certs[layout.matrix443.cert],
      LAB.matrixHost,
      matrixLocations(layout.matrix443, synapseUrl, deadUpstream),
    ),
  ];
  if (layout.matrix8448) {
    servers.push(
      tlsServer(
        `${LAB.matrixAddress}:8448`,
        certs[layout.matrix8448.cert],
        LAB.matrixHost,
        matrixLocations(layout.matrix8448, synapseUrl, deadUpstream),
      ),
    );
  }
  if (layout.second) {
    servers.push(
      tlsServer(
        `${LAB.secondMatrixAddress}:443`,
        certs[layout.second.site443.cert],
        LAB.matrixHost,
        matrixLocations(layout.second.site443, synapseUrl, deadUpstream),
      ),
      tlsServer(
        `${LAB.secondMatrixAddress}:8448`,
        certs[layout.second.site8448.cert],
        LAB.matrixHost,
        matrixLocations(layout.second.site8448, synapseUrl, deadUpstream),
      ),
    );
  }
  if (layout.aia) {
    servers.push(`
  server {
    listen ${LAB.aiaAddress}:80;
    location = /intermediate.der { default_type application/pkix-cert; alias ${pki.intermediateDer}; }
    location / { return 404; }
  }`);
  }
  return servers.join('\n');
}

function issueAll(pki: LabPki): Record<CertName, Served> {
  const chain = (c: LabCertificate): Served => ({ certificate: c.fullchain, key: c.key });
  const matrix = [LAB.matrixHost];
  const aia = issueCertificate(pki, 'aia-leaf-only', matrix, 'good', { caIssuersUrl: AIA_URL });
  return {
    base: chain(issueCertificate(pki, 'base', [LAB.serverName, LAB.matrixHost])),
    matrix: chain(issueCertificate(pki, 'matrix', matrix)),
    'matrix-and-base': chain(issueCertificate(pki, 'matrix-and-base', [LAB.matrixHost, LAB.serverName])),
    'wrong-name': chain(issueCertificate(pki, 'wrong-name', [WRONG_NAME])),
    expired: chain(issueCertificate(pki, 'expired', matrix, 'expired')),
    'aia-leaf-only': { certificate: aia.leaf, key: aia.key },
    // Its "fullchain" is the leaf alone: the stranger CA is not sent, as a server would not send a root.
    'unknown-ca': chain(issueCertificate(pki, 'unknown-ca', matrix, 'unknown-ca')),
    'self-signed': chain(issueCertificate(pki, 'self-signed', matrix, 'self-signed')),
  };
}

// ---------------------------------------------------------------------------------------------

export async function startFederationLab(): Promise<FederationLab> {
  mkdirSync(LAB_DIR, { recursive: true });
  const dir = mkdtempSync(join(LAB_DIR, 'federation-lab-'));
  // nginx workers run unprivileged and read the AIA file from here.
  chmodSync(dir, 0o755);
  const started: { synapse?: RunningSynapse; nginx?: RunningNginx; dns?: RunningDnsServer } = {};
  const stopAll = () => teardown([() => started.nginx?.stop(), () => started.synapse?.stop(), () => started.dns?.close()], dir);
  try {
    const pki = createLabPki(join(dir, 'pki'));
    chmodSync(pki.dir, 0o755);
    const certs = issueAll(pki);
    // A unix socket nobody listens on: proxying to it gives a genuine nginx 502.
    const deadUpstream = `http://unix:${join(dir, 'no-upstream.sock')}`;
    started.dns = await startDnsServer({ address: RESOLVER_ADDRESS, zones: [], role: 'resolver' });
    started.synapse = await startSynapse({ serverName: LAB.serverName, publicBaseUrl: `https://${LAB.matrixHost}/` });
    const synapse = started.synapse;
    const dns = started.dns;
    let current: Scenario = 'healthy-wellknown';
    const configure = (scenario: Scenario) => {
      const layout = layoutOf(scenario);
      dns.setZones([{ origin: LAB.serverName, records: layout.records }]);
      return nginxHttpBody(layout, certs, synapse.url, pki, deadUpstream);
    };
    const prefix = newNginxPrefix();
    started.nginx = await startNginx(configure(current), prefix);
    const nginx = started.nginx;
    return {
      resolver: `${dns.address}:${dns.port}`,
      caFile: pki.caFile,
      synapse,
      get scenario() {
        return current;
      },
      async use(scenario: Scenario) {
        if (!(scenario in CHANGES)) throw new Error(`unknown federation lab scenario: ${scenario}`);
        await nginx.reconfigure(configure(scenario));
        current = scenario;
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll().catch(() => {});
    throw error;
  }
}
