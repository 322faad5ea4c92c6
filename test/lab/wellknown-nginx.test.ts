// The well-known stage's nginx output, served for real and judged by checks/wellknown.ts:
//
//   example.test         A 127.0.6.1   nginx :443, lab certificate; includes the generated snippet
//   matrix.example.test  A 127.0.6.2   nginx :443 standing for MDAD's Traefik: the playbook's copies
//                                      of the documents (application/json, CORS, 4 h cache) and
//                                      /_matrix proxied to a real Synapse
//   127.0.6.53                         the lab resolver for example.test
//
// nginx resolves a proxy_pass host name when it loads its configuration, with the system's
// resolver, which does not know the lab's names: an `upstream matrix.example.test` group pins the
// name to 127.0.6.2 in the test configuration (outside the snippet, which stays as generated).
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../checks/core/finding.ts';
import type { Report } from '../../checks/core/report.ts';
import { planFromVars } from '../../checks/plan/plan.ts';
import type { Plan } from '../../checks/plan/types.ts';
import { createLabPki, issueCertificate, type LabCertificate } from './servers/certs.ts';
import { startDnsServer, type RunningDnsServer } from '../../sandbox/dns-server.ts';
import { startNginx, type RunningNginx } from './servers/nginx.ts';
import { LAB_DIR } from './servers/provision.ts';
import { startSynapse, type RunningSynapse } from './servers/synapse.ts';
import { SNIPPET_FILES } from '../../scripts/lib/wellknown-files.ts';
import { findingById } from '../find-finding.ts';
import { ORIGIN, SOA, zone } from './dns-zones.ts';
import { runCli } from './run-cli.ts';

const SERVER = ORIGIN;
const MATRIX = 'matrix.example.test';
const BASE_ADDRESS = '127.0.6.1';
const MATRIX_ADDRESS = '127.0.6.2';
const DNS_ADDRESS = '127.0.6.53';

const VARS = {
  matrix_domain: SERVER,
  matrix_homeserver_implementation: 'synapse',
  matrix_playbook_reverse_proxy_type: 'playbook-managed-traefik',
  matrix_homeserver_generic_secret_key: 'a-generic-secret-for-the-lab',
};
const RTC_VARS = { ...VARS, matrix_rtc_enabled: true };

let dir: string;
let caFile: string;
let certs: { base: LabCertificate; matrix: LabCertificate };
let synapse: RunningSynapse | undefined;
let dns: RunningDnsServer | undefined;
let nginx: RunningNginx | undefined;

beforeAll(async () => {
  mkdirSync(LAB_DIR, { recursive: true });
  dir = mkdtempSync(join(LAB_DIR, 'wellknown-stage-'));
  // nginx workers run unprivileged and read the copies from here.
  chmodSync(dir, 0o755);
  const pki = createLabPki(join(dir, 'pki'));
  caFile = pki.caFile;
  certs = { base: issueCertificate(pki, 'base', [SERVER]), matrix: issueCertificate(pki, 'matrix', [MATRIX]) };
  dns = await startDnsServer({
    address: DNS_ADDRESS,
    role: 'resolver',
    zones: zone([
      SOA,
      { name: SERVER, type: 'NS', value: `ns1.${SERVER}` },
      { name: `ns1.${SERVER}`, type: 'A', value: DNS_ADDRESS },
      { name: SERVER, type: 'A', value: BASE_ADDRESS },
      { name: MATRIX, type: 'A', value: MATRIX_ADDRESS },
    ]),
  });
  synapse = await startSynapse({ serverName: SERVER, publicBaseUrl: `https://${MATRIX}/` });
  nginx = await startNginx('');
});

afterAll(async () => {
  await nginx?.stop();
  await synapse?.stop();
  await dns?.close();
  if (dir && !process.env.LAB_KEEP) rmSync(dir, { recursive: true, force: true });
});

/** What MDAD's static-files container serves on the Matrix host: the plan's documents, written here from the plan itself. */
function playbookCopies(plan: Plan, name: string): string {
  const root = join(dir, 'matrix-host', name);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'server'), JSON.stringify(plan.wellKnown.server));
  writeFileSync(join(root, 'client'), JSON.stringify(plan.wellKnown.client));
  return root;
}

function httpBody(copies: string, snippetFile: string): string {
  const file = (name: string) => `location = /.well-known/matrix/${name} {
      alias ${copies}/${name};
      default_type application/json;
      add_header Access-Control-Allow-Origin '*' always;
      add_header Cache-Control 'max-age=14400' always;
    }`;
  return `
  upstream ${MATRIX} { server ${MATRIX_ADDRESS}:443; }
  server {
    listen ${MATRIX_ADDRESS}:443 ssl http2;
    server_name ${MATRIX};
    ssl_certificate ${certs.matrix.fullchain};
    ssl_certificate_key ${certs.matrix.key};
    ${file('server')}
    ${file('client')}
    location /_matrix {
      proxy_pass ${synapse!.url};
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
    location / { return 404; }
  }
  server {
    listen ${BASE_ADDRESS}:443 ssl http2;
    server_name ${SERVER};
    ssl_certificate ${certs.base.fullchain};
    ssl_certificate_key ${certs.base.key};
    include ${snippetFile};
    location / { return 404; }
  }`;
}

/** Runs the stage for the vars into a fresh folder; the copies (static variant) live in that folder too. */
async function stage(name: string, vars: Record<string, unknown>, serve: 'proxy' | 'static'): Promise<string> {
  const out = join(dir, 'out', name);
  const varsFile = join(dir, `${name}-vars.yml`);
  writeFileSync(varsFile, JSON.stringify(vars));
  const run = await runCli('scripts/wellknown.ts', [
    '--vars',
    varsFile,
    '--flavor',
    'nginx',
    '--serve',
    serve,
    '--web-root',
    out,
    '--out',
    out,
    '--validate',
  ]);
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toContain('nginx -t accepts the snippet');
  return join(out, SNIPPET_FILES.nginx);
}

async function check(name: string, vars: Record<string, unknown>) {
  const varsFile = join(dir, `${name}-check-vars.yml`);
  writeFileSync(varsFile, JSON.stringify(vars));
  const run = await runCli('checks/wellknown.ts', [
    SERVER,
    '--vars',
    varsFile,
    '--resolver',
    `${DNS_ADDRESS}:${dns!.port}`,
    '--ca-file',
    caFile,
    '--timeout',
    '5',
    '--json',
  ]);
  const report = JSON.parse(run.stdout) as Report;
  return { run, report, find: (id: string): Finding => findingById(report.findings, id) };
}

const PASSING = [
  'wellknown.server.status',
  'wellknown.server.content_type',
  'wellknown.server.m_server',
  'wellknown.client.discovery',
  'wellknown.client.cors',
  'wellknown.client.content_type',
  'wellknown.client.versions_cors',
  'wellknown.copy.server',
  'wellknown.copy.client',
];

describe('the nginx snippet, served, passes checks/wellknown.ts', () => {
  it.each([
    ['proxy', 'plain', VARS],
    ['static', 'plain', VARS],
    ['proxy', 'MatrixRTC on', RTC_VARS],
    ['static', 'MatrixRTC on', RTC_VARS],
  ] as const)('%s variant, %s', async (serve, label, vars) => {
    const name = `${serve}-${label.replace(/\W+/g, '-')}`;
    const plan = planFromVars(vars);
    const snippet = await stage(name, vars, serve);
    await nginx!.reconfigure(httpBody(playbookCopies(plan, name), snippet));
    const { run, report, find } = await check(name, vars);
    for (const id of PASSING) expect(find(id).status, `${id}: ${find(id).detail}`).toBe('pass');
    expect(find('wellknown.client.discovery').detail).toBe(`SUCCESS: clients find https://${MATRIX}`);
    expect(find('wellknown.copy.client').detail).toBe(`Same as https://${MATRIX}/.well-known/matrix/client`);
    if (vars === RTC_VARS) expect(find('wellknown.client.rtc_foci').status).toBe('pass');
    expect(report.findings.filter((f) => f.status === 'warn' || f.status === 'fail')).toEqual([]);
    expect(run.code).toBe(0);
  });

  it('a copy made before MatrixRTC was turned on is caught: stale, and no focus for Element X', async () => {
    const snippet = await stage('stale', VARS, 'static');
    await nginx!.reconfigure(httpBody(playbookCopies(planFromVars(RTC_VARS), 'stale'), snippet));
    const { run, find } = await check('stale', RTC_VARS);
    expect(find('wellknown.copy.client').status).toBe('fail');
    expect(find('wellknown.copy.client').detail).toContain('org.matrix.msc4143.rtc_foci is missing here');
    expect(find('wellknown.client.rtc_foci').status).toBe('fail');
    // The same plan through the proxy variant cannot go stale.
    const proxied = await stage('stale-proxy', VARS, 'proxy');
    await nginx!.reconfigure(httpBody(playbookCopies(planFromVars(RTC_VARS), 'stale'), proxied));
    const again = await check('stale-proxy', RTC_VARS);
    expect(again.find('wellknown.copy.client').status).toBe('pass');
    expect(again.find('wellknown.client.rtc_foci').status).toBe('pass');
    expect(run.code).toBe(2);
    expect(again.run.code).toBe(0);
  });
});
