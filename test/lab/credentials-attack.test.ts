// Tried as an attacker would, on loopback (docs/security.md "Tests as attacks"): every command
// that holds a secret runs against servers that record what they receive, and each test asserts
// that no secret reached a server it does not belong to.
//
//   self.attack.test    127.19.0.2  a self-signed certificate
//   wrong.attack.test   127.19.0.3  a lab-CA certificate for another name
//   good.attack.test    127.19.0.4  a real homeserver's certificate; redirects its client API to evil
//   evil.attack.test    127.19.0.5  the attacker, with a valid certificate
//   selfwk.attack.test  127.19.0.6  self-signed, its client well-known names evil as the homeserver
//   loop.attack.test    127.19.0.7  a name of the exporter's own network: must see no connection
//   pub.attack.test     203.0.113.20 in DNS (a public address), routed to 127.19.0.8 with
//                       --connect-to; its well-known delegates federation to loop.attack.test
//   resolver            127.19.0.53
import type { ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLabPki, issueCertificate, type LabPki } from './servers/certs.ts';
import { type RunningDnsServer, startDnsServer } from '../../sandbox/dns-server.ts';
import { stopProcess } from './servers/process.ts';
import { LAB_DIR } from './servers/provision.ts';
import { ANSWER_ALL, type RecordingServer, type Respond, startRecordingServer } from './servers/recording-server.ts';
import { runCli, runReport, startExporter } from './run-cli.ts';

const ZONE = 'attack.test';
const HOSTS = {
  self: '127.19.0.2',
  wrong: '127.19.0.3',
  good: '127.19.0.4',
  evil: '127.19.0.5',
  selfwk: '127.19.0.6',
  loop: '127.19.0.7',
  pub: '127.19.0.8',
};
const PUBLIC_ADDRESS = '203.0.113.20';
const RESOLVER = '127.19.0.53';
const secret = (what: string) => `syt_${what}_${randomBytes(12).toString('hex')}`;
const USER_TOKEN = secret('user');
const ADMIN_TOKEN = secret('admin');
const PASSWORD = secret('password');
const SECRETS = [USER_TOKEN, ADMIN_TOKEN, PASSWORD];

let dir: string;
let pki: LabPki;
let dns: RunningDnsServer;
const servers = {} as Record<keyof typeof HOSTS, RecordingServer>;

/** The homeserver good.attack.test: its discovery and unauthenticated reads answer; everything else redirects to evil. */
const redirectToEvil: Respond = (request, response) => {
  const path = request.url.split('?')[0]!;
  const reads = ['/_matrix/client/versions', '/_synapse/admin/v1/server_version'];
  if (reads.includes(path) || (path === '/_synapse/admin/v1/register' && request.method === 'GET')) {
    const body = { versions: ['v1.11'], server_version: '1.163.2', nonce: 'abc' };
    return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }
  if (path === '/.well-known/matrix/client')
    return void response
      .writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' })
      .end(JSON.stringify({ 'm.homeserver': { base_url: `https://good.${ZONE}` } }));
  const evil = String(request.headers.host).startsWith('127.') ? `https://${HOSTS.evil}` : `https://evil.${ZONE}`;
  response.writeHead(307, { location: `${evil}${request.url}` }).end();
};

/** selfwk.attack.test: a client well-known that hands the homeserver to evil, behind a self-signed certificate. */
const wellKnownToEvil: Respond = (request, response) => {
  if (request.url.startsWith('/.well-known/matrix/client'))
    return void response
      .writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' })
      .end(JSON.stringify({ 'm.homeserver': { base_url: `https://evil.${ZONE}` } }));
  ANSWER_ALL(request, response);
};

/** pub.attack.test: its server well-known hands federation to a name of the exporter's own network. */
const delegateToLoop: Respond = (request, response) => {
  if (request.url.startsWith('/.well-known/matrix/server'))
    return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ 'm.server': `loop.${ZONE}:443` }));
  ANSWER_ALL(request, response);
};

beforeAll(async () => {
  dir = mkdtempSync(join(LAB_DIR, 'attack-'));
  pki = createLabPki(join(dir, 'pki'));
  const cert = (name: keyof typeof HOSTS, kind: 'good' | 'self-signed', names = [`${name}.${ZONE}`, HOSTS[name]]) => {
    const issued = issueCertificate(pki, name, names, kind);
    return { cert: readFileSync(issued.fullchain, 'utf8'), key: readFileSync(issued.key, 'utf8') };
  };
  const plan: [keyof typeof HOSTS, ReturnType<typeof cert>, Respond][] = [
    ['self', cert('self', 'self-signed'), ANSWER_ALL],
    ['wrong', cert('wrong', 'good', [`other.${ZONE}`]), ANSWER_ALL],
    ['good', cert('good', 'good'), redirectToEvil],
    ['evil', cert('evil', 'good'), ANSWER_ALL],
    ['selfwk', cert('selfwk', 'self-signed'), wellKnownToEvil],
    ['loop', cert('loop', 'good'), ANSWER_ALL],
    ['pub', cert('pub', 'good'), delegateToLoop],
  ];
  for (const [name, pair, respond] of plan)
    servers[name] = await startRecordingServer({ address: HOSTS[name], port: 443, ...pair, respond });
  const records = Object.entries(HOSTS).map(([name, address]) => ({
    name: `${name}.${ZONE}`,
    type: 'A' as const,
    value: name === 'pub' ? PUBLIC_ADDRESS : address,
  }));
  dns = await startDnsServer({ address: RESOLVER, role: 'resolver', zones: [{ origin: ZONE, records }] });
}, 120_000);

afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s?.close()));
  await dns?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const common = () => ['--resolver', `${RESOLVER}:${dns.port}`, '--ca-file', pki.caFile, '--timeout', '2'];
const tokens = { MATRIX_ACCESS_TOKEN: USER_TOKEN, MATRIX_ADMIN_TOKEN: ADMIN_TOKEN };

/** No secret in anything the server received. */
function expectNoSecret(server: RecordingServer): void {
  const received = server.received();
  for (const value of SECRETS) expect(received).not.toContain(value);
}

/** The three checks that hold a token or a password, pointed at `homeserver`. */
async function runChecks(server: string, homeserver: string | undefined) {
  const at = homeserver ? ['--homeserver', homeserver] : [];
  const outbound = await runReport('checks/outbound.ts', [server, ...at, '--remote', `remote.${ZONE}`, ...common(), '--json'], tokens);
  const turnToken = await runReport('checks/turn.ts', [server, ...at, ...common(), '--json'], tokens);
  const turnLogin = await runReport('checks/turn.ts', [server, ...at, '--user', 'alice', ...common(), '--json'], {
    MATRIX_PASSWORD: PASSWORD,
  });
  const rtcToken = await runReport('checks/rtc.ts', [server, ...at, ...common(), '--json'], tokens);
  const rtcLogin = await runReport('checks/rtc.ts', [server, ...at, '--user', 'alice', ...common(), '--json'], {
    MATRIX_PASSWORD: PASSWORD,
  });
  for (const run of [outbound, turnToken, turnLogin, rtcToken, rtcLogin])
    for (const value of SECRETS) expect(run.stdout).not.toContain(value);
  return { outbound, turnToken, turnLogin, rtcToken, rtcLogin };
}

describe('checks against a homeserver that is not what it claims', () => {
  it.each([
    ['self', 'a self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT'],
    ['wrong', 'a certificate for another name', 'ERR_TLS_CERT_ALTNAME_INVALID'],
  ] as const)('%s.attack.test (%s): no token and no password reach it', async (name, _what, tlsError) => {
    const runs = await runChecks(`victim.${ZONE}`, `https://${name}.${ZONE}`);
    expectNoSecret(servers[name]);
    // The tokens the outbound area holds are withheld, each with the rule that held and its fix.
    for (const [id, kind] of [
      ['outbound.withheld.access_token', 'access token'],
      ['outbound.withheld.admin_token', 'admin token'],
    ] as const) {
      const finding = runs.outbound.byId(id);
      expect(finding).toMatchObject({ status: 'fail', evidence: { rule: 'tls', origin: `https://${name}.${ZONE}`, from: '--homeserver' } });
      expect(finding.detail).toContain(`its certificate does not verify (${tlsError}), so no ${kind} went over that connection`);
      expect(finding.fix).toContain(`Give ${name}.${ZONE} a certificate that verifies for that name`);
    }
    // turn and rtc read unauthenticated paths only (/versions, and rtc's look for a JWT service at
    // MDAD's path when no focus is named), and say why nothing else was sent.
    const paths = servers[name].requests().map((r) => r.url.split('?')[0]);
    expect(new Set(paths)).toEqual(new Set(['/_matrix/client/versions', '/livekit-jwt-service/healthz']));
    expect(runs.turnToken.byId('turn.homeserver.api').detail).toContain('no credentials were sent to it');
    expect(runs.rtcLogin.byId('rtc.homeserver.auth').detail).toContain('no credentials were sent');
  });

  it('good.attack.test redirects its client API to evil.attack.test: the secrets stay with good, evil gets no connection', async () => {
    const runs = await runChecks(`victim.${ZONE}`, `https://good.${ZONE}`);
    expect(servers.evil.connections()).toBe(0);
    // good is the homeserver: it did receive the token (the path was exercised), and the password.
    expect(servers.good.received()).toContain(USER_TOKEN);
    expect(servers.good.received()).toContain(PASSWORD);
    const withheld = runs.outbound.byId('outbound.withheld.access_token');
    expect(withheld).toMatchObject({ status: 'fail', evidence: { rule: 'redirect', origin: `https://good.${ZONE}` } });
    expect(withheld.detail).toMatch(
      /^not sent to https:\/\/evil\.attack\.test\/_matrix\/client\/v3\/account\/whoami: the answer redirected there/,
    );
    expect(runs.turnToken.byId('turn.withheld.access_token').evidence).toMatchObject({ rule: 'redirect' });
    expect(runs.turnLogin.byId('turn.withheld.password').evidence).toMatchObject({ rule: 'redirect' });
    expect(runs.rtcToken.byId('rtc.withheld.access_token').evidence).toMatchObject({ rule: 'redirect' });
    expect(runs.rtcLogin.byId('rtc.withheld.password').evidence).toMatchObject({ rule: 'redirect' });
  });

  it('a client well-known behind a self-signed certificate cannot hand the tokens to another host', async () => {
    const runs = await runChecks(`selfwk.${ZONE}`, undefined);
    expect(servers.evil.connections()).toBe(0);
    expectNoSecret(servers.selfwk);
    expect(runs.outbound.byId('outbound.user.token')).toMatchObject({ status: 'skip' });
    expect(runs.outbound.byId('outbound.user.token').detail).toMatch(
      /certificate not valid.*so no token was sent \(give --homeserver URL\)$/,
    );
  });
});

/** A checkout with one server, victim.attack.test, for the stages and the exporter. */
function playbook(): { checkout: string; inventory: string } {
  const checkout = mkdtempSync(join(dir, 'playbook-'));
  const migration = join(checkout, 'roles/custom/matrix_playbook_migration/defaults');
  mkdirSync(migration, { recursive: true });
  copyFileSync('test/fixtures/playbook/roles/custom/matrix_playbook_migration/defaults/main.yml', join(migration, 'main.yml'));
  const host = join(checkout, 'inventory/host_vars', `matrix.victim.${ZONE}`);
  mkdirSync(host, { recursive: true });
  writeFileSync(join(checkout, 'setup.yml'), '---\n');
  writeFileSync(join(checkout, 'inventory/hosts'), `[matrix_servers]\nmatrix.victim.${ZONE} ansible_host=203.0.113.10\n`);
  writeFileSync(
    join(host, 'vars.yml'),
    `matrix_domain: victim.${ZONE}\nmatrix_homeserver_implementation: synapse\nmatrix_homeserver_generic_secret_key: '${secret('generic')}'\nmatrix_playbook_reverse_proxy_type: playbook-managed-traefik\npostgres_connection_password: '${secret('postgres')}'\nmatrix_playbook_migration_validated_version: v2026.08.01.0\n`,
  );
  return { checkout, inventory: join(checkout, 'inventory/hosts') };
}

describe('register against a homeserver that is not what it claims', () => {
  const register = (args: string[], env: NodeJS.ProcessEnv) =>
    runCli('scripts/register.ts', ['--playbook', playbook().checkout, ...args], { NODE_EXTRA_CA_CERTS: pki.caFile, ...env });

  it('a self-signed homeserver gets neither the admin token nor the new user’s password', async () => {
    const list = await register(['token', 'list', '--homeserver', `https://${HOSTS.self}`], { MATRIX_ACCESS_TOKEN: ADMIN_TOKEN });
    expect(list.code).toBe(2);
    expect(list.stderr).toContain(
      `its certificate does not verify (DEPTH_ZERO_SELF_SIGNED_CERT), so no admin token went over that connection`,
    );
    const user = await register(['user', 'bob', '--homeserver', `https://${HOSTS.self}`], { MATRIX_PASSWORD: PASSWORD });
    expect(user.code).toBe(2);
    expect(user.stderr).toContain('so no password went over that connection');
    expectNoSecret(servers.self);
    for (const run of [list, user]) for (const value of SECRETS) expect(run.stdout + run.stderr).not.toContain(value);
  });

  it('a redirect to another origin is not followed with the admin token or the password', async () => {
    const list = await register(['token', 'list', '--homeserver', `https://${HOSTS.good}`], { MATRIX_ACCESS_TOKEN: ADMIN_TOKEN });
    expect(list.code).toBe(2);
    expect(list.stderr).toContain(`not sent to https://${HOSTS.evil}/_synapse/admin/v1/registration_tokens: the answer redirected there`);
    const user = await register(['user', 'bob', '--homeserver', `https://${HOSTS.good}`], { MATRIX_PASSWORD: PASSWORD });
    expect(user.code).toBe(2);
    expect(user.stderr).toContain(`not sent to https://${HOSTS.evil}/_synapse/admin/v1/register: the answer redirected there`);
    expect(servers.evil.connections()).toBe(0);
  });
});

describe('the exporter and fleets: tokens belong to their servers', () => {
  let exporter: ChildProcess | undefined;
  afterAll(async () => {
    if (exporter) await stopProcess(exporter);
  });

  it('refuses the environment’s tokens for a fleet or serve, in one line, before it connects anywhere', async () => {
    const list = join(dir, 'servers.txt');
    writeFileSync(list, `good.${ZONE}\nevil.${ZONE}\n`);
    const before = servers.good.connections() + servers.evil.connections();
    const fleet = await runCli('checks/doctor.ts', ['--list', list, ...common()], tokens);
    const serve = await runCli('checks/doctor.ts', ['serve', '--listen', '127.19.0.10:0', ...common()], tokens);
    for (const run of [fleet, serve]) {
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(
        /MATRIX_ACCESS_TOKEN and MATRIX_ADMIN_TOKEN belong to one server; give each server's tokens in --credentials FILE/,
      );
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(servers.good.connections() + servers.evil.connections()).toBe(before);
  });

  it('probes a target outside its inventory without any secret, and refuses its own network without connecting', async () => {
    const { inventory } = playbook();
    const inventoryUser = secret('inventory_user');
    const inventoryAdmin = secret('inventory_admin');
    const credentials = join(dir, 'credentials.yml');
    writeFileSync(credentials, `victim.${ZONE}:\n  access_token: ${inventoryUser}\n  admin_token: ${inventoryAdmin}\n`);
    chmodSync(credentials, 0o600);
    const before = { good: servers.good.connections(), loop: servers.loop.connections() };

    const guarded = await startExporter(['--listen', '127.19.0.10:0', '--inventory', inventory, '--credentials', credentials, ...common()]);
    exporter = guarded.child;
    for (const target of [`loop.${ZONE}`, HOSTS.loop]) {
      const text = await (await fetch(`${guarded.url}/probe?target=${target}`)).text();
      expect(text).toMatch(/^probe_success 0$/m);
      expect(text).toContain('matrix_doctor_finding_status{id="doctor.target.refused",area="target",status="fail"} 2');
    }
    expect(servers.loop.connections()).toBe(before.loop);
    await stopProcess(guarded.child);

    // A target on a public address whose delegation leads into the exporter's network: probed,
    // but no connection goes where the delegation points.
    const routed = await startExporter(['--listen', '127.19.0.10:0', '--connect-to', `pub.${ZONE}:443:${HOSTS.pub}:443`, ...common()]);
    exporter = routed.child;
    const delegated = await (await fetch(`${routed.url}/probe?target=pub.${ZONE}&area=wellknown,federation`)).text();
    expect(delegated).not.toContain('doctor.target.refused');
    expect(servers.pub.connections()).toBeGreaterThan(0);
    expect(servers.loop.connections()).toBe(before.loop);
    await stopProcess(routed.child);

    // With --allow-private (the lab is loopback), a target outside the inventory is probed, but with no token.
    const open = await startExporter([
      '--allow-private',
      '--listen',
      '127.19.0.10:0',
      '--inventory',
      inventory,
      '--credentials',
      credentials,
      ...common(),
    ]);
    exporter = open.child;
    const text = await (await fetch(`${open.url}/probe?target=good.${ZONE}&area=turn,rtc,outbound`)).text();
    expect(text).toMatch(/^probe_success \d$/m);
    expect(servers.good.connections()).toBeGreaterThan(before.good);
    for (const server of Object.values(servers))
      for (const value of [inventoryUser, inventoryAdmin]) expect(server.received()).not.toContain(value);
  });
});
