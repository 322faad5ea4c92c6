// The outbound lab: two real Synapse homeservers that federate with each other, each behind the
// lab nginx with its own server name in the lab DNS and its own certificate from the lab CA, and
// each trusting that CA through federation_custom_ca_list (certificate verification stays on).
// Everything is on loopback in 127.15.0.0/16:
//
//   alpha.test          A 127.15.1.1   nginx :443, /.well-known/matrix/{server,client}
//   matrix.alpha.test   A 127.15.1.2   nginx :443 and :8448, reverse proxy to Synapse alpha
//   beta.test           A 127.15.2.1   as alpha, for Synapse beta
//   matrix.beta.test    A 127.15.2.2
//   127.15.0.53:53      the resolver the checks ask (--resolver)
//   127.15.1.53:53      alpha's own resolver: Synapse alpha runs in a mount namespace whose
//                       /etc/resolv.conf names it (as a container has its own resolver); the
//                       'servfail' fault replaces it with a server answering SERVFAIL
//   127.15.2.53:53      beta's own resolver
//
// alpha is "the local server" (the one checked), beta "the remote". Faults break one side:
// beta's nginx sites gone (remote down), beta's well-known broken, alpha's resolver failing,
// alpha's federation_domain_whitelist excluding beta, alpha's federation disabled, beta's notary
// path closed by its proxy, alpha's proxy closing the inbound /send path. An echo bot on beta
// (echo-bot.ts) answers the canary. Only one outbound lab runs on a machine at a time.
import dgram from 'node:dgram';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type EchoBot, startEchoBot } from './echo-bot.ts';
import { createLabPki, issueCertificate, type LabCertificate, type LabPki } from './certs.ts';
import { startDnsServer, type LabRecord, type LabZone, type RunningDnsServer } from '../../../sandbox/dns-server.ts';
import { newNginxPrefix, startNginx, type RunningNginx } from './nginx.ts';
import { LAB_DIR } from './provision.ts';
import { clientCall, registerUser, startSynapse, type RunningSynapse, type UserToken } from './synapse.ts';
import { teardown } from './teardown.ts';

export const PAIR = {
  alpha: { serverName: 'alpha.test', matrixHost: 'matrix.alpha.test', base: '127.15.1.1', matrix: '127.15.1.2', resolver: '127.15.1.53' },
  beta: { serverName: 'beta.test', matrixHost: 'matrix.beta.test', base: '127.15.2.1', matrix: '127.15.2.2', resolver: '127.15.2.53' },
  /** The resolver the checks are given (--resolver). */
  resolver: '127.15.0.53',
  /** A name whose address nothing answers on unless a test listens there (a slow remote). */
  slow: { serverName: 'slow.test', address: '127.15.3.1' },
} as const;

export type Side = 'alpha' | 'beta';

/** What can be broken, one side at a time. */
export interface PairFaults {
  /** beta's nginx sites are gone: nothing answers on 127.15.2.1/2. */
  betaDown?: boolean;
  /** beta.test serves an HTML page as /.well-known/matrix/server. */
  betaWellKnownBroken?: boolean;
  /** beta's proxy answers 404 for /_matrix/key/v2/query (the notary turned off). */
  betaNotaryOff?: boolean;
  /** alpha has no federation listener (nothing on matrix.alpha.test:8448). */
  alphaFederationPortClosed?: boolean;
  /** alpha's proxy answers 404 for /_matrix/federation/v1/send/: events from other servers never arrive. */
  alphaInboundSendClosed?: boolean;
}

export interface SynapsePair {
  caFile: string;
  /** "127.15.0.53:53", for --resolver. */
  resolver: string;
  alpha: RunningSynapse;
  beta: RunningSynapse;
  /** Tokens on alpha: a plain user and an admin. */
  user: UserToken;
  admin: UserToken;
  /** Rewrites nginx for these faults (no fault: the healthy pair). */
  setFaults(faults: PairFaults): Promise<void>;
  /** alpha's own resolver answers SERVFAIL to everything (true) or serves the lab zones (false). */
  setAlphaResolverFailing(failing: boolean): Promise<void>;
  /** A fresh alpha (new database, caches and tokens) with these Synapse settings over the pair's. */
  restartAlpha(config?: Record<string, unknown>): Promise<void>;
  /** Creates a room on beta with this alias (its local part), as beta's admin. */
  createBetaAlias(localpart: string): Promise<string>;
  /** alpha's user joins beta's room (so that alpha sends to beta). */
  joinFromAlpha(alias: string): Promise<string>;
  /** alpha's user sends a message into a room (alpha then sends it to beta). */
  sendFromAlpha(roomId: string, text: string): Promise<void>;
  /** An echo bot on beta (test/lab/servers/echo-bot.ts) in a new public room with this alias (its local part). */
  startBetaEchoBot(localpart: string): Promise<EchoBot>;
  /** beta's admin token, for beta's own admin API. */
  betaAdmin: UserToken;
  /**
   * An MDAD checkout for alpha: inventory/hosts names matrix.alpha.test with
   * ansible_connection=local and a Python that enters alpha's mount namespace (so that commands
   * "on the host" use alpha's resolver), and host_vars/matrix.alpha.test/vars.yml.
   */
  playbook: string;
  /**
   * A folder holding the stand-in `docker` (put it first on PATH): it accepts only
   * `docker exec matrix-synapse CMD…`, records its argv (NUL-separated) in dockerLog, and execs
   * CMD here (Docker cannot run on the lab machines).
   */
  dockerBin: string;
  dockerLog: string;
  stop(): Promise<void>;
}

function zones(): LabZone[] {
  const records: LabRecord[] = [];
  for (const side of [PAIR.alpha, PAIR.beta]) {
    records.push(
      { name: side.serverName, type: 'SOA', value: `ns1.${side.serverName} hostmaster.${side.serverName} 2026010101 3600 600 86400 300` },
      { name: side.serverName, type: 'NS', value: `ns1.${side.serverName}` },
      { name: `ns1.${side.serverName}`, type: 'A', value: PAIR.resolver },
      { name: side.serverName, type: 'A', value: side.base, ttl: 60 },
      { name: side.matrixHost, type: 'A', value: side.matrix, ttl: 60 },
    );
  }
  const slow = PAIR.slow.serverName;
  return [
    { origin: PAIR.alpha.serverName, records: records.filter((r) => r.name.endsWith(PAIR.alpha.serverName)) },
    { origin: PAIR.beta.serverName, records: records.filter((r) => r.name.endsWith(PAIR.beta.serverName)) },
    {
      origin: slow,
      records: [
        { name: slow, type: 'SOA', value: `ns1.${slow} hostmaster.${slow} 2026010101 3600 600 86400 300` },
        { name: slow, type: 'A', value: PAIR.slow.address, ttl: 60 },
      ],
    },
  ];
}

/** A DNS server that answers SERVFAIL to every query (a broken upstream behind a resolver). */
async function startServfailServer(address: string, port: number): Promise<{ close(): Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (message, remote) => {
    if (message.length < 12) return;
    const answer = Buffer.from(message.subarray(0, 12));
    // QR=1, opcode and RD kept; RA=1, RCODE=2 (SERVFAIL); question echoed, no records.
    answer[2] = (message[2]! & 0x79) | 0x80;
    answer[3] = 0x82;
    answer.writeUInt16BE(0, 6);
    answer.writeUInt16BE(0, 8);
    answer.writeUInt16BE(0, 10);
    socket.send(Buffer.concat([answer, message.subarray(12)]), remote.port, remote.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => resolve());
  });
  return { close: () => new Promise<void>((resolve) => socket.close(() => resolve())) };
}

interface Certs {
  base: LabCertificate;
  matrix: LabCertificate;
}

function site(side: (typeof PAIR)[Side], certs: Certs, upstream: string, faults: PairFaults, which: Side): string {
  const wellKnownServer =
    which === 'beta' && faults.betaWellKnownBroken
      ? `location = /.well-known/matrix/server { default_type text/html; return 200 '<html><body>It works!</body></html>'; }`
      : `location = /.well-known/matrix/server { default_type application/json; add_header Access-Control-Allow-Origin * always; return 200 '{"m.server": "${side.matrixHost}:8448"}'; }`;
  const wellKnownClient = `location = /.well-known/matrix/client { default_type application/json; add_header Access-Control-Allow-Origin * always; return 200 '{"m.homeserver": {"base_url": "https://${side.matrixHost}"}}'; }`;
  const notary = which === 'beta' && faults.betaNotaryOff ? `location = /_matrix/key/v2/query { return 404; }` : '';
  const proxy = `${notary}
    location / {
      proxy_pass ${upstream};
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto https;
      proxy_read_timeout 120s;
      client_max_body_size 50M;
    }`;
  const tls = (cert: LabCertificate) => `ssl_certificate ${cert.fullchain}; ssl_certificate_key ${cert.key};`;
  const sendClosed = which === 'alpha' && faults.alphaInboundSendClosed ? 'location ^~ /_matrix/federation/v1/send/ { return 404; }' : '';
  const federation =
    which === 'alpha' && faults.alphaFederationPortClosed
      ? ''
      : `server { listen ${side.matrix}:8448 ssl; server_name ${side.matrixHost}; ${tls(certs.matrix)} ${sendClosed} ${proxy} }`;
  return `
  server { listen ${side.base}:443 ssl; server_name ${side.serverName}; ${tls(certs.base)} ${wellKnownServer} ${wellKnownClient} location / { return 404; } }
  server { listen ${side.matrix}:443 ssl; server_name ${side.matrixHost}; ${tls(certs.matrix)} ${proxy} }
  ${federation}`;
}

/** The pair's users have the password pw-<user>-lab. */
const register = (synapse: RunningSynapse, user: string, admin: boolean) => registerUser(synapse, user, `pw-${user}-lab`, admin);

export async function startSynapsePair(): Promise<SynapsePair> {
  mkdirSync(join(LAB_DIR, 'outbound'), { recursive: true });
  const dir = mkdtempSync(join(LAB_DIR, 'outbound', 'pair-'));
  const steps: (() => Promise<unknown> | undefined)[] = [];
  try {
    const pki: LabPki = createLabPki(join(dir, 'pki'));
    const certs: Record<Side, Certs> = {
      alpha: {
        base: issueCertificate(pki, 'alpha-base', [PAIR.alpha.serverName]),
        matrix: issueCertificate(pki, 'alpha-matrix', [PAIR.alpha.matrixHost]),
      },
      beta: {
        base: issueCertificate(pki, 'beta-base', [PAIR.beta.serverName]),
        matrix: issueCertificate(pki, 'beta-matrix', [PAIR.beta.matrixHost]),
      },
    };
    const dns: RunningDnsServer[] = [];
    for (const address of [PAIR.resolver, PAIR.alpha.resolver, PAIR.beta.resolver]) {
      const server = await startDnsServer({ address, port: 53, zones: zones(), role: 'resolver' });
      dns.push(server);
      if (address !== PAIR.alpha.resolver) steps.push(() => server.close());
    }
    let alphaResolver: { close(): Promise<void> } = dns[1]!;
    steps.push(() => alphaResolver.close());
    const resolvConf = (side: Side) => {
      const file = join(dir, `${side}-resolv.conf`);
      writeFileSync(file, `nameserver ${PAIR[side].resolver}\noptions timeout:1 attempts:1\n`);
      return file;
    };
    const synapseConfig = (side: Side, extra: Record<string, unknown> = {}) => ({
      serverName: PAIR[side].serverName,
      publicBaseUrl: `https://${PAIR[side].matrixHost}/`,
      address: side === 'alpha' ? '127.15.1.10' : '127.15.2.10',
      resolvConf: resolvConf(side),
      config: {
        federation_custom_ca_list: [pki.caFile],
        // Synapse refuses loopback destinations by default; the lab lives there.
        ip_range_whitelist: ['127.15.0.0/16'],
        // A failed transaction gives up after one retry a second later (default: 10 retries over
        // minutes), so that a destination enters backoff while a test waits.
        federation: { max_long_retries: 1, max_long_retry_delay: '1s' },
        ...extra,
      },
    });
    let alpha = await startSynapse(synapseConfig('alpha'));
    steps.push(() => alpha.stop());
    const beta = await startSynapse(synapseConfig('beta'));
    steps.push(() => beta.stop());

    let faults: PairFaults = {};
    const body = () =>
      [
        site(PAIR.alpha, certs.alpha, alpha.url, faults, 'alpha'),
        faults.betaDown ? '' : site(PAIR.beta, certs.beta, beta.url, faults, 'beta'),
      ].join('\n');
    const nginx: RunningNginx = await startNginx(body(), newNginxPrefix());
    steps.push(() => nginx.stop());

    let user = await register(alpha, 'outbound-user', false);
    let admin = await register(alpha, 'outbound-admin', true);
    const betaAdmin = await register(beta, 'beta-admin', true);

    const playbook = join(dir, 'playbook');
    const pidFile = join(dir, 'alpha.pid');
    const writePid = () => writeFileSync(pidFile, String(alpha.pid));
    writePid();
    mkdirSync(join(playbook, 'inventory', 'host_vars', PAIR.alpha.matrixHost), { recursive: true });
    const python = join(dir, 'alpha-python');
    writeFileSync(python, `#!/bin/sh\nexec nsenter --mount=/proc/$(cat ${pidFile})/ns/mnt -- /usr/bin/python3 "$@"\n`, { mode: 0o755 });
    writeFileSync(
      join(playbook, 'inventory', 'hosts'),
      `[matrix_servers]\n${PAIR.alpha.matrixHost} ansible_connection=local ansible_python_interpreter=${python}\n`,
    );
    writeFileSync(
      join(playbook, 'inventory', 'host_vars', PAIR.alpha.matrixHost, 'vars.yml'),
      `---\nmatrix_domain: ${PAIR.alpha.serverName}\nmatrix_homeserver_implementation: synapse\nmatrix_homeserver_generic_secret_key: 'lab-generic-secret'\npostgres_connection_password: 'lab-postgres-password'\n`,
    );
    const dockerBin = join(dir, 'docker-bin');
    const dockerLog = join(dir, 'docker.log');
    mkdirSync(dockerBin);
    writeFileSync(
      join(dockerBin, 'docker'),
      `#!/bin/sh\n# Stand-in for docker: only \`docker exec matrix-synapse CMD...\`, run here.\nprintf '%s\\0' "$@" > ${dockerLog}\nif [ "$1" != exec ] || [ "$2" != matrix-synapse ]; then echo "docker stand-in: only 'exec matrix-synapse' is supported" >&2; exit 125; fi\nshift 2\nexec "$@"\n`,
      { mode: 0o755 },
    );

    const pair: SynapsePair = {
      playbook,
      dockerBin,
      dockerLog,
      caFile: pki.caFile,
      resolver: `${PAIR.resolver}:53`,
      get alpha() {
        return alpha;
      },
      beta,
      get user() {
        return user;
      },
      get admin() {
        return admin;
      },
      async setFaults(next) {
        faults = { ...next };
        await nginx.reconfigure(body());
      },
      async setAlphaResolverFailing(failing) {
        await alphaResolver.close();
        alphaResolver = failing
          ? await startServfailServer(PAIR.alpha.resolver, 53)
          : await startDnsServer({ address: PAIR.alpha.resolver, port: 53, zones: zones(), role: 'resolver' });
      },
      async restartAlpha(config = {}) {
        await alpha.stop();
        alpha = await startSynapse(synapseConfig('alpha', config));
        writePid();
        await nginx.reconfigure(body());
        user = await register(alpha, 'outbound-user', false);
        admin = await register(alpha, 'outbound-admin', true);
      },
      async createBetaAlias(localpart) {
        const room = await clientCall(beta, betaAdmin.token, 'POST', '/_matrix/client/v3/createRoom', {
          room_alias_name: localpart,
          preset: 'public_chat',
        });
        if (room.status !== 200) throw new Error(`createRoom on beta failed: ${room.status} ${room.body}`);
        return `#${localpart}:${PAIR.beta.serverName}`;
      },
      async joinFromAlpha(alias) {
        const joined = await clientCall(alpha, user.token, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(alias)}`, {});
        const body = JSON.parse(joined.body) as { room_id?: string };
        if (joined.status !== 200 || !body.room_id) throw new Error(`join ${alias} from alpha failed: ${joined.status} ${joined.body}`);
        return body.room_id;
      },
      async sendFromAlpha(roomId, text) {
        const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t${Date.now()}`;
        const sent = await clientCall(alpha, user.token, 'PUT', path, { msgtype: 'm.text', body: text });
        if (sent.status !== 200) throw new Error(`send from alpha failed: ${sent.status} ${sent.body}`);
      },
      async startBetaEchoBot(localpart) {
        const bot = await register(beta, `echo-${localpart}`, false);
        const echo = await startEchoBot(beta, bot, localpart);
        steps.unshift(() => echo.stop());
        return echo;
      },
      betaAdmin,
      stop: () => teardown(steps, dir),
    };
    return pair;
  } catch (error) {
    await teardown(steps, dir);
    throw error;
  }
}
