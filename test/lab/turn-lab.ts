// The TURN lab: DNS for example.test on a loopback address, nginx with the lab CA's certificates
// serving the client well-known and proxying to a real Synapse (with TURN configured), a
// second Synapse without TURN, a stand-in location for lk-jwt-service's GET /sfu/get, and the
// real coturn, restarted per scenario. Everything on 127.78.0.0/24, stopped by pid.
import dgram from 'node:dgram';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLabPki, issueCertificate, type LabCertificate, type LabPki } from './servers/certs.ts';
import { startCoturn, type CoturnOptions, type RunningCoturn } from './servers/coturn.ts';
import { startDnsServer, type RunningDnsServer } from '../../sandbox/dns-server.ts';
import { startNginx, type RunningNginx } from './servers/nginx.ts';
import { LAB_DIR } from './servers/provision.ts';
import { startSynapse, type RunningSynapse } from './servers/synapse.ts';
import { loadPlan } from '../../checks/plan/load.ts';

export const ORIGIN = 'example.test';
export const MATRIX_HOST = `matrix.${ORIGIN}`;
/** The lab server: nginx on 443, coturn on 3478/5349. */
export const SERVER = '127.78.0.2';
/** Where elsewhere.example.test points: no server there. */
export const ELSEWHERE = '127.78.0.9';
export const DNS_ADDRESS = '127.78.0.53';
export const VARS = {
  coturn: 'test/fixtures/lab/turn/coturn-vars.yml',
  rtc: 'test/fixtures/lab/turn/rtc-vars.yml',
  noCoturn: 'test/fixtures/lab/turn/no-coturn-vars.yml',
};
export const REALM = `turn.${MATRIX_HOST}`;
/** turn_uris of the lab Synapse: MDAD's four (coturn role vars/main.yml). */
export const SYNAPSE_TURN_URIS = [
  `turns:${MATRIX_HOST}?transport=udp`,
  `turns:${MATRIX_HOST}?transport=tcp`,
  `turn:${MATRIX_HOST}?transport=udp`,
  `turn:${MATRIX_HOST}?transport=tcp`,
];

export interface TurnLab {
  dir: string;
  pki: LabPki;
  good: LabCertificate;
  wrongName: LabCertificate;
  dns: RunningDnsServer;
  synapse: RunningSynapse;
  synapseWithoutTurn: RunningSynapse;
  nginx: RunningNginx;
  /** The static auth secret MDAD derives from the lab vars.yml (Synapse's turn_shared_secret). */
  derivedSecret: string;
  resolver: string;
  setClientWellKnown(doc: Record<string, unknown>): void;
  stop(): Promise<void>;
}

export function labZone(): { origin: string; records: { name: string; type: 'SOA' | 'NS' | 'A'; value: string }[] }[] {
  return [
    {
      origin: ORIGIN,
      records: [
        { name: ORIGIN, type: 'SOA', value: `ns1.${ORIGIN} hostmaster.${ORIGIN} 1 3600 600 86400 300` },
        { name: ORIGIN, type: 'NS', value: `ns1.${ORIGIN}` },
        { name: `ns1.${ORIGIN}`, type: 'A', value: DNS_ADDRESS },
        { name: ORIGIN, type: 'A', value: SERVER },
        { name: MATRIX_HOST, type: 'A', value: SERVER },
        { name: `elsewhere.${ORIGIN}`, type: 'A', value: ELSEWHERE },
      ],
    },
  ];
}

function nginxBody(lab: { dir: string; good: LabCertificate; synapse: RunningSynapse }): string {
  const tls = `ssl_certificate ${lab.good.fullchain}; ssl_certificate_key ${lab.good.key};`;
  return `
  server {
    listen ${SERVER}:443 ssl;
    server_name ${ORIGIN};
    ${tls}
    location = /.well-known/matrix/client {
      default_type application/json;
      add_header Access-Control-Allow-Origin * always;
      alias ${join(lab.dir, 'client.json')};
    }
  }
  server {
    listen ${SERVER}:443 ssl;
    server_name ${MATRIX_HOST};
    ${tls}
    # What lk-jwt-service answers to a GET of its token endpoint: 405, it only takes POST.
    location = /livekit-jwt-service/sfu/get {
      if ($request_method != POST) {
        add_header Allow "POST, OPTIONS" always;
        return 405;
      }
      return 400;
    }
    location / {
      proxy_pass ${lab.synapse.url};
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto https;
    }
  }`;
}

export async function startTurnLab(): Promise<TurnLab> {
  mkdirSync(LAB_DIR, { recursive: true });
  const dir = mkdtempSync(join(LAB_DIR, 'turn-lab-'));
  // nginx's workers (not root) read the well-known file from here.
  chmodSync(dir, 0o755);
  const pki = createLabPki(join(dir, 'pki'));
  const good = issueCertificate(pki, 'matrix', [ORIGIN, MATRIX_HOST]);
  const wrongName = issueCertificate(pki, 'wrong-name', [`wrong.${ORIGIN}`]);
  const plan = await loadPlan({ vars: VARS.coturn });
  const derivedSecret = plan.secrets.coturnStaticAuthSecret!;
  const dns = await startDnsServer({ address: DNS_ADDRESS, zones: labZone() });
  const [synapse, synapseWithoutTurn] = await Promise.all([
    startSynapse({
      serverName: ORIGIN,
      config: { turn_uris: SYNAPSE_TURN_URIS, turn_shared_secret: derivedSecret, turn_user_lifetime: '1h' },
    }),
    startSynapse({ serverName: ORIGIN }),
  ]);
  const setClientWellKnown = (doc: Record<string, unknown>) =>
    writeFileSync(join(dir, 'client.json'), JSON.stringify(doc), { mode: 0o644 });
  setClientWellKnown({ 'm.homeserver': { base_url: `https://${MATRIX_HOST}` } });
  const nginx = await startNginx(nginxBody({ dir, good, synapse }));
  return {
    dir,
    pki,
    good,
    wrongName,
    dns,
    synapse,
    synapseWithoutTurn,
    nginx,
    derivedSecret,
    resolver: `${DNS_ADDRESS}:${dns.port}`,
    setClientWellKnown,
    async stop() {
      await Promise.allSettled([nginx.stop(), synapse.stop(), synapseWithoutTurn.stop(), dns.close()]);
      if (!process.env.LAB_KEEP) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The lab coturn on the server address, with the lab certificate unless told otherwise. */
export function labCoturn(lab: TurnLab, options: Partial<CoturnOptions> = {}): Promise<RunningCoturn> {
  return startCoturn({
    address: SERVER,
    secret: lab.derivedSecret,
    realm: REALM,
    certificate: lab.good,
    minPort: 49160,
    maxPort: 49179,
    ...options,
  });
}

export interface LossyForwarder {
  port: number;
  /** Datagrams from clients dropped so far. */
  dropped: number;
  close(): Promise<void>;
}

/**
 * A fault injector in front of the real coturn: a UDP forwarder that drops the first `dropFirst`
 * datagrams clients send, then forwards both ways (one upstream socket per client).
 */
export async function startLossyUdpForwarder(
  address: string,
  target: { address: string; port: number },
  dropFirst: number,
): Promise<LossyForwarder> {
  const front = dgram.createSocket('udp4');
  const upstreams = new Map<string, dgram.Socket>();
  const state = { dropped: 0 };
  front.on('message', (data, client) => {
    if (state.dropped < dropFirst) {
      state.dropped++;
      return;
    }
    const key = `${client.address}:${client.port}`;
    let upstream = upstreams.get(key);
    if (!upstream) {
      upstream = dgram.createSocket('udp4');
      upstream.on('message', (reply) => front.send(reply, client.port, client.address));
      upstream.bind(0, address);
      upstreams.set(key, upstream);
    }
    upstream.send(data, target.port, target.address);
  });
  await new Promise<void>((resolve) => front.bind(0, address, resolve));
  return {
    port: front.address().port,
    get dropped() {
      return state.dropped;
    },
    async close() {
      for (const socket of [front, ...upstreams.values()]) await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}

export function readLog(coturn: RunningCoturn): string {
  return readFileSync(coturn.logFile, 'utf8');
}

/**
 * coturn's log once `pattern` (global) matches `count` times, or as it is after 5 s: coturn may
 * log a request after answering it, and its output reaches the file through a pipe.
 */
export async function readLogWhen(coturn: RunningCoturn, pattern: RegExp, count: number): Promise<string> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const log = readLog(coturn);
    if ((log.match(pattern)?.length ?? 0) >= count || Date.now() > deadline) return log;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
