// checks/federation.ts and checks/wellknown.ts run as real processes against the federation lab:
// a real Synapse behind real nginx, openssl certificates, a dns2 resolver. For every scenario the
// client-discovery verdict must agree with matrix-js-sdk's AutoDiscovery (the referee).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFederationLab, LAB, SCENARIOS, WRONG_NAME, type FederationLab, type Scenario } from './federation-lab.ts';
import { refereeClientDiscovery } from './autodiscovery-referee.ts';
import { runCli } from './run-cli.ts';
import type { Report } from '../../checks/core/report.ts';
import type { Finding } from '../../checks/core/finding.ts';

let lab: FederationLab;
beforeAll(async () => {
  lab = await startFederationLab();
});
afterAll(async () => lab?.stop());

async function check(script: 'federation' | 'wellknown', ...extra: string[]) {
  const run = await runCli(`checks/${script}.ts`, [
    LAB.serverName,
    '--resolver',
    lab.resolver,
    '--ca-file',
    lab.caFile,
    '--timeout',
    '3',
    '--json',
    ...extra,
  ]);
  const report = JSON.parse(run.stdout) as Report;
  const find = (id: string): Finding => {
    const found = report.findings.find((f) => f.id === id);
    if (!found) throw new Error(`no ${id} in ${report.findings.map((f) => `${f.id}=${f.status}`).join(', ')}`);
    return found;
  };
  return { run, report, find };
}

const MATRIX_8448 = 'federation.127_0_1_2_8448';

describe('federation check', () => {
  it('healthy, delegated by well-known: step 3.2 to matrix.example.test:8448, valid keys', async () => {
    await lab.use('healthy-wellknown');
    const { run, find } = await check('federation');
    expect(find('federation.discovery').evidence).toMatchObject({
      step: '3.2',
      tlsName: LAB.matrixHost,
      hostHeader: `${LAB.matrixHost}:8448`,
    });
    expect(find(`${MATRIX_8448}.certificate`).status).toBe('pass');
    expect(find(`${MATRIX_8448}.version`).detail).toMatch(/^Synapse \d+\.\d+/);
    expect(find(`${MATRIX_8448}.keys`)).toMatchObject({ status: 'pass' });
    expect(find(`${MATRIX_8448}.keys`).detail).toContain(`server_name ${LAB.serverName}`);
    // The full-size transaction reached Synapse, which read the malformed X-Matrix header.
    const send = find(`${MATRIX_8448}.send`);
    expect(send).toMatchObject({ status: 'pass', evidence: { status: 400, errcode: 'M_UNAUTHORIZED' } });
    // 50 PDUs of 64 KiB and 100 EDUs of 1 KiB: over three times nginx's default limit, under Synapse's.
    expect((send.evidence as { bytes: number }).bytes).toBeGreaterThan(50 * 65536 + 100 * 1024);
    expect((send.evidence as { bytes: number }).bytes).toBeLessThan(200 * 65536);
    expect(find(`${MATRIX_8448}.authorization`)).toMatchObject({ status: 'pass', evidence: { error: 'Malformed Authorization header' } });
    expect(find(`${MATRIX_8448}.media`)).toMatchObject({ status: 'pass', evidence: { status: 401, errcode: 'M_UNAUTHORIZED' } });
    expect(run.code).toBe(0);
  });

  it('a fleet run asks media but uploads no transaction (one per server would be megabytes each)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleet-'));
    try {
      writeFileSync(join(dir, 'servers'), `${LAB.serverName}\n`);
      const run = await runCli('checks/doctor.ts', [
        '--list',
        join(dir, 'servers'),
        '--only',
        'federation',
        '--resolver',
        lab.resolver,
        '--ca-file',
        lab.caFile,
        '--json',
      ]);
      const ids = (JSON.parse(run.stdout) as Report).findings.map((f) => f.id);
      expect(ids).toContain(`${MATRIX_8448}.media`);
      expect(ids).not.toContain(`${MATRIX_8448}.send`);
      expect(ids).not.toContain(`${MATRIX_8448}.authorization`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('healthy, delegated by SRV: step 4, the certificate must cover the server name itself', async () => {
    await lab.use('healthy-srv');
    const { run, find } = await check('federation');
    expect(find('federation.discovery').evidence).toMatchObject({ step: '4', tlsName: LAB.serverName, hostHeader: LAB.serverName });
    expect(find(`${MATRIX_8448}.certificate`).detail).toContain(`Valid for ${LAB.serverName}`);
    expect(find(`${MATRIX_8448}.keys`).status).toBe('pass');
    expect(run.code).toBe(0);
  });

  it('no delegation: servers go to the base domain on 8448, with the delegation as the fix', async () => {
    await lab.use('no-delegation');
    const { run, find } = await check('federation');
    expect(find('federation.discovery').evidence).toMatchObject({ step: '6' });
    const connect = find('federation.127_0_1_1_8448.connect');
    expect(connect.status).toBe('fail');
    expect(connect.fix).toContain(`"m.server": "${LAB.matrixHost}:8448"`);
    expect(run.code).toBe(2);
  });

  it('an m.server with https:// is ignored, and discovery falls through to port 8448 of the base domain', async () => {
    await lab.use('mserver-https');
    const { find } = await check('federation');
    const discovery = find('federation.discovery');
    expect(discovery.evidence).toMatchObject({ step: '6' });
    expect(discovery.detail).toContain('invalid m.server "https://matrix.example.test:8448"');
  });

  const certificateCases: [Scenario, string, RegExp][] = [
    ['wrong-name-cert', 'name', new RegExp(`valid for DNS:${WRONG_NAME.replace(/\./g, '\\.')}, not for matrix\\.example\\.test`)],
    ['expired-cert', 'expired', /expired on 2024-01-02/],
    [
      'missing-intermediate',
      'missing-intermediate',
      /sends only the leaf; its issuer .* \(fetched from the certificate's AIA URL\) chains to a trusted CA/,
    ],
    ['unknown-ca', 'unknown-ca', /issued by Nobody Trusts This CA/],
    ['self-signed', 'self-signed', /self-signed/],
  ];
  for (const [scenario, problem, detail] of certificateCases) {
    it(`tells the certificate problem apart: ${scenario}`, async () => {
      await lab.use(scenario);
      const { run, find } = await check('federation');
      const certificate = find(`${MATRIX_8448}.certificate`);
      expect(certificate.status).toBe('fail');
      expect((certificate.evidence as { problems: string[] }).problems).toEqual([problem]);
      expect(certificate.detail).toMatch(detail);
      expect(certificate.fix).toBeTruthy();
      expect(run.code).toBe(2);
    });
  }

  it('a closed federation port is refused, with the firewall as the fix', async () => {
    await lab.use('federation-port-closed');
    const { find } = await check('federation');
    expect(find(`${MATRIX_8448}.connect`)).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('nothing listens on the port'),
    });
    expect(find(`${MATRIX_8448}.connect`).fix).toContain('Open TCP port 8448');
  });

  it('checks every address: one good, one whose proxy answers 502', async () => {
    await lab.use('two-addresses-one-broken');
    const { find } = await check('federation');
    expect(find(`${MATRIX_8448}.keys`).status).toBe('pass');
    expect(find('federation.127_0_1_3_8448.connect').status).toBe('pass');
    expect(find('federation.127_0_1_3_8448.version')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('cannot reach the homeserver behind it (502)'),
    });
  });

  it('names a keys endpoint answered by a web page instead of the homeserver', async () => {
    await lab.use('keys-html');
    const { find } = await check('federation');
    expect(find(`${MATRIX_8448}.version`).status).toBe('pass');
    const keys = find(`${MATRIX_8448}.keys`);
    expect(keys.status).toBe('fail');
    expect(keys.detail).toContain('as text/html');
    expect(keys.detail).toContain('the homeserver answers other federation paths');
  });

  it("a federation port with nginx's default body limit refuses the full-size transaction with 413", async () => {
    await lab.use('send-body-limit');
    const { run, find } = await check('federation');
    expect(find(`${MATRIX_8448}.version`).status).toBe('pass');
    const send = find(`${MATRIX_8448}.send`);
    expect(send).toMatchObject({ status: 'fail', evidence: { status: 413 } });
    expect(send.detail).toMatch(/^Answered 413 \(text\/html, Server: nginx[^)]*\) to a 3\.2 MiB transaction/);
    expect(send.fix).toContain('client_max_body_size 50M;');
    expect(send.fix).toContain('maxRequestBodyBytes');
    expect(find(`${MATRIX_8448}.authorization`)).toMatchObject({ status: 'skip', causedBy: `${MATRIX_8448}.send` });
    expect(find(`${MATRIX_8448}.media`).status).toBe('pass');
    expect(run.code).toBe(2);
  });

  it('a proxy that clears the Authorization header: Synapse says it is missing', async () => {
    await lab.use('authorization-stripped');
    const { run, find } = await check('federation');
    expect(find(`${MATRIX_8448}.send`).status).toBe('pass');
    const authorization = find(`${MATRIX_8448}.authorization`);
    expect(authorization).toMatchObject({ status: 'fail', evidence: { status: 401, error: 'Missing Authorization headers' } });
    expect(authorization.fix).toContain('proxy_set_header Authorization');
    expect(authorization.fix).toContain('customRequestHeaders');
    expect(run.code).toBe(2);
  });
});

describe('well-known check', () => {
  it('passes the healthy base domain, with the same copies as the Matrix host', async () => {
    await lab.use('healthy-wellknown');
    const { run, report, find } = await check('wellknown');
    for (const id of [
      'wellknown.server.status',
      'wellknown.server.m_server',
      'wellknown.server.content_type',
      'wellknown.client.discovery',
      'wellknown.client.cors',
      'wellknown.client.content_type',
      'wellknown.copy.server',
      'wellknown.copy.client',
    ]) {
      expect(find(id).status, id).toBe('pass');
    }
    expect(report.extra?.clientDiscovery).toMatchObject({ state: 'SUCCESS', baseUrl: `https://${LAB.matrixHost}` });
    expect(run.code).toBe(0);
  });

  it('fails a client file without CORS', async () => {
    await lab.use('client-no-cors');
    const { find } = await check('wellknown');
    expect(find('wellknown.client.cors')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('add_header Access-Control-Allow-Origin * always;'),
    });
  });

  it('fails a redirect without CORS, judging the 302 itself', async () => {
    await lab.use('redirect-no-cors');
    const { find } = await check('wellknown');
    const cors = find('wellknown.client.cors');
    expect(cors.status).toBe('fail');
    expect(cors.detail).toContain(`302 from https://${LAB.serverName}/.well-known/matrix/client`);
    expect(cors.detail).toContain('browsers check every redirect');
    expect(find('wellknown.server.redirects').detail).toContain(`https://${LAB.matrixHost}/.well-known/matrix/server`);
  });

  it('fails a client file served as text/plain and warns for the server file', async () => {
    await lab.use('text-plain');
    const { find } = await check('wellknown');
    expect(find('wellknown.client.content_type')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('Served as text/plain'),
    });
    expect(find('wellknown.server.content_type').status).toBe('warn');
  });

  it('fails m.server with a scheme, shows the fixed value, and the stale copy', async () => {
    await lab.use('mserver-https');
    const { find } = await check('wellknown');
    expect(find('wellknown.server.m_server')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining(`{"m.server": "${LAB.matrixHost}:8448"}`),
    });
    expect(find('wellknown.copy.server').detail).toContain(
      'm.server is "https://matrix.example.test:8448" here, "matrix.example.test:8448" on the Matrix host',
    );
  });

  it('warns when the server file is missing and no configuration says SRV is intended', async () => {
    await lab.use('no-delegation');
    const { find } = await check('wellknown');
    expect(find('wellknown.server.status')).toMatchObject({ status: 'warn' });
  });

  it('points at the homeserver, not the file, when the homeserver certificate is bad', async () => {
    await lab.use('expired-cert');
    const { find } = await check('wellknown');
    const discovery = find('wellknown.client.discovery');
    expect(discovery.evidence).toMatchObject({ state: 'FAIL_ERROR' });
    expect(discovery.fix).toContain(`Make https://${LAB.matrixHost} answer /_matrix/client/versions`);
  });
});

describe('matrix-js-sdk as referee of client discovery', () => {
  // The SDK says PROMPT where the spec says IGNORE (no file); all other states share names.
  const sdkName = (state: string) => (state === 'IGNORE' ? 'PROMPT' : state);
  for (const scenario of Object.keys(SCENARIOS) as Scenario[]) {
    it(`agrees on ${scenario}`, async () => {
      await lab.use(scenario);
      const [{ report }, referee] = await Promise.all([check('wellknown'), refereeClientDiscovery(lab)]);
      const ours = report.extra?.clientDiscovery as { state: string; baseUrl?: string };
      expect(sdkName(ours.state)).toBe(referee.state);
      if (referee.baseUrl) expect(ours.baseUrl?.replace(/\/+$/, '')).toBe(referee.baseUrl.replace(/\/+$/, ''));
    });
  }
});
