// The MatrixRTC lab (docs/turn.md "MatrixRTC and LiveKit"): the real LiveKit (test/lab/servers/livekit.ts,
// built from the Go module proxy), the lab stand-in of the LiveKit JWT service
// (test/lab/servers/jwt-service.ts, lk-jwt-service's API), two real Synapses (one serving the MSC4143
// transports API, one without it), nginx with the lab CA's certificates in front of them as
// MDAD's Traefik is (well-known files, /livekit-jwt-service, /livekit-server with WebSocket
// upgrades, the client and federation APIs), and DNS. One server address, as on a real host:
// nginx and LiveKit share 127.14.0.2. Everything on 127.14.0.0/16, stopped by pid.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLabPki, issueCertificate, type LabCertificate, type LabPki } from './servers/certs.ts';
import { type LabZone, type RunningDnsServer, startDnsServer } from '../../sandbox/dns-server.ts';
import { type RunningJwtService, startJwtService } from './servers/jwt-service.ts';
import { type LivekitOptions, type RunningLivekit, startLivekit } from './servers/livekit.ts';
import { type RunningNginx, startNginx } from './servers/nginx.ts';
import { freePort } from './servers/ports.ts';
import { LAB_DIR } from './servers/provision.ts';
import { type RunningSynapse, startSynapse } from './servers/synapse.ts';

export const ORIGIN = 'rtc.test';
export const MATRIX_HOST = `matrix.${ORIGIN}`;
/** The server: nginx (443) and LiveKit (its own ports). */
export const SERVER = '127.14.0.2';
export const JWT_ADDRESS = '127.14.0.4';
export const SYNAPSE_ADDRESS = '127.14.0.5';
export const SYNAPSE_PLAIN_ADDRESS = '127.14.0.6';
export const SYNAPSE_NO_TRANSPORTS_ADDRESS = '127.14.0.7';
/** What the check asks, and the server's own view (split horizon) the JWT service asks. */
export const DNS_ADDRESS = '127.14.0.53';
export const INTERNAL_DNS_ADDRESS = '127.14.0.54';
/** A public-looking address (TEST-NET-3) published in DNS for the --connect-to scenario. */
export const PUBLIC_ADDRESS = '203.0.113.14';
export const SERVICE_URL = `https://${MATRIX_HOST}/livekit-jwt-service`;
export const LIVEKIT_URL = `wss://${MATRIX_HOST}/livekit-server`;
export const FOCI = [{ type: 'livekit', livekit_service_url: SERVICE_URL }];
export const KEY = 'lab-livekit-key';
export const SECRET = 'lab-livekit-secret-0123456789abcdef0123456789abcdef';

export interface RtcLab {
  dir: string;
  pki: LabPki;
  good: LabCertificate;
  dns: RunningDnsServer;
  internalDns: RunningDnsServer;
  synapse: RunningSynapse;
  synapsePlain: RunningSynapse;
  /** msc4143_enabled without matrix_rtc.transports: the API answers 200 {}. */
  synapseNoTransports: RunningSynapse;
  nginx: RunningNginx;
  livekit?: RunningLivekit;
  jwt?: RunningJwtService;
  resolver: string;
  ports: { signal: number; udp: number; tcp: number; jwt: number };
  setClientWellKnown(doc: Record<string, unknown>): void;
  setServerWellKnown(doc: Record<string, unknown>): void;
  /** Publish `address` for the server's names (default SERVER). */
  publish(address: string): void;
  /** nginx in front of the Synapse with the transports API (default), without it, or with it and no transports; returns that Synapse. */
  useSynapse(which: SynapseVariant): Promise<RunningSynapse>;
  startLivekit(options?: Partial<LivekitOptions>): Promise<RunningLivekit>;
  startJwt(options?: { secret?: string; fullAccess?: string[] }): Promise<RunningJwtService>;
  /** Stops LiveKit and the JWT service of a scenario. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export type SynapseVariant = 'rtc' | 'plain' | 'no-transports';

export function zone(address: string): LabZone[] {
  return [
    {
      origin: ORIGIN,
      records: [
        { name: ORIGIN, type: 'SOA', value: `ns1.${ORIGIN} hostmaster.${ORIGIN} 1 3600 600 86400 300` },
        { name: ORIGIN, type: 'NS', value: `ns1.${ORIGIN}` },
        { name: `ns1.${ORIGIN}`, type: 'A', value: DNS_ADDRESS },
        { name: ORIGIN, type: 'A', value: address },
        { name: MATRIX_HOST, type: 'A', value: address },
      ],
    },
  ];
}

function nginxBody(dir: string, good: LabCertificate, synapse: RunningSynapse, ports: RtcLab['ports'], jwtPort: number): string {
  const tls = `ssl_certificate ${good.fullchain}; ssl_certificate_key ${good.key};`;
  const json = 'default_type application/json; add_header Access-Control-Allow-Origin * always;';
  return `
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen ${SERVER}:443 ssl;
    server_name ${ORIGIN};
    ${tls}
    location = /.well-known/matrix/client { ${json} alias ${join(dir, 'client.json')}; }
    location = /.well-known/matrix/server { ${json} alias ${join(dir, 'server.json')}; }
  }
  server {
    listen ${SERVER}:443 ssl;
    server_name ${MATRIX_HOST};
    ${tls}
    location /livekit-jwt-service/ {
      proxy_pass http://${JWT_ADDRESS}:${jwtPort}/;
    }
    location /livekit-server/ {
      proxy_pass http://${SERVER}:${ports.signal}/;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_read_timeout 600s;
    }
    location / {
      proxy_pass ${synapse.url};
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto https;
    }
  }`;
}

export async function startRtcLab(): Promise<RtcLab> {
  mkdirSync(LAB_DIR, { recursive: true });
  const dir = mkdtempSync(join(LAB_DIR, 'rtc-lab-'));
  chmodSync(dir, 0o755);
  const pki = createLabPki(join(dir, 'pki'));
  const good = issueCertificate(pki, 'rtc', [ORIGIN, MATRIX_HOST]);
  const dns = await startDnsServer({ address: DNS_ADDRESS, zones: zone(SERVER) });
  const internalDns = await startDnsServer({ address: INTERNAL_DNS_ADDRESS, zones: zone(SERVER) });
  const rtcConfig = { experimental_features: { msc4143_enabled: true }, matrix_rtc: { transports: FOCI } };
  const [synapse, synapsePlain, synapseNoTransports] = await Promise.all([
    startSynapse({ serverName: ORIGIN, address: SYNAPSE_ADDRESS, config: rtcConfig }),
    startSynapse({ serverName: ORIGIN, address: SYNAPSE_PLAIN_ADDRESS }),
    startSynapse({
      serverName: ORIGIN,
      address: SYNAPSE_NO_TRANSPORTS_ADDRESS,
      config: { experimental_features: { msc4143_enabled: true } },
    }),
  ]);
  const variants: Record<SynapseVariant, RunningSynapse> = { rtc: synapse, plain: synapsePlain, 'no-transports': synapseNoTransports };
  const jwtPort = await freePort(JWT_ADDRESS);
  const ports = { signal: await freePort(SERVER), udp: await freePort(SERVER), tcp: await freePort('0.0.0.0'), jwt: jwtPort };
  const write = (name: string, doc: Record<string, unknown>) => writeFileSync(join(dir, name), JSON.stringify(doc), { mode: 0o644 });
  write('client.json', { 'm.homeserver': { base_url: `https://${MATRIX_HOST}` }, 'org.matrix.msc4143.rtc_foci': FOCI });
  write('server.json', { 'm.server': `${MATRIX_HOST}:443` });
  let current = synapse;
  const nginx = await startNginx(nginxBody(dir, good, synapse, ports, jwtPort));
  const lab: RtcLab = {
    dir,
    pki,
    good,
    dns,
    internalDns,
    synapse,
    synapsePlain,
    synapseNoTransports,
    nginx,
    resolver: `${DNS_ADDRESS}:${dns.port}`,
    ports,
    setClientWellKnown: (doc) => write('client.json', doc),
    setServerWellKnown: (doc) => write('server.json', doc),
    publish: (address) => dns.setZones(zone(address)),
    async useSynapse(which) {
      const wanted = variants[which];
      if (wanted === current) return wanted;
      current = wanted;
      await nginx.reconfigure(nginxBody(dir, good, wanted, ports, jwtPort));
      return wanted;
    },
    async startLivekit(options = {}) {
      lab.livekit = await startLivekit({
        address: SERVER,
        key: KEY,
        secret: SECRET,
        port: ports.signal,
        udpPort: ports.udp,
        tcpPort: ports.tcp,
        ...options,
      });
      return lab.livekit;
    },
    async startJwt(options = {}) {
      lab.jwt = await startJwtService({
        address: JWT_ADDRESS,
        port: jwtPort,
        livekitUrl: LIVEKIT_URL,
        roomServiceUrl: `http://${SERVER}:${ports.signal}`,
        key: KEY,
        secret: options.secret ?? SECRET,
        fullAccessHomeservers: options.fullAccess ?? [ORIGIN],
        resolver: `${INTERNAL_DNS_ADDRESS}:${internalDns.port}`,
        ca: readFileSync(pki.caFile, 'utf8'),
        timeoutMs: 3000,
      });
      return lab.jwt;
    },
    async reset() {
      await Promise.allSettled([lab.livekit?.stop(), lab.jwt?.stop()]);
      lab.livekit = undefined;
      lab.jwt = undefined;
    },
    async stop() {
      await lab.reset();
      await Promise.allSettled([
        nginx.stop(),
        synapse.stop(),
        synapsePlain.stop(),
        synapseNoTransports.stop(),
        dns.close(),
        internalDns.close(),
      ]);
      if (!process.env.LAB_KEEP) rmSync(dir, { recursive: true, force: true });
    },
  };
  return lab;
}

/**
 * Drops packets to address:port in this host's INPUT chain (loopback traffic passes it), as a
 * firewall that drops LiveKit's port does; the returned function removes the rule.
 */
export function dropPackets(address: string, port: number, protocol: 'udp' | 'tcp'): () => void {
  const rule = [
    'INPUT',
    '-d',
    `${address}/32`,
    '-p',
    protocol,
    '--dport',
    String(port),
    '-m',
    'comment',
    '--comment',
    `rtc-lab-${process.pid}`,
    '-j',
    'DROP',
  ];
  const added = spawnSync('iptables', ['-I', ...rule], { encoding: 'utf8' });
  if (added.status !== 0) throw new Error(`iptables -I ${rule.join(' ')}: ${added.stderr || added.error?.message}`);
  return () => {
    spawnSync('iptables', ['-D', ...rule]);
  };
}
