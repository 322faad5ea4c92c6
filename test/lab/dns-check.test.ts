// checks/dns.ts run as a real process against the lab's DNS servers (dns2 on loopback, port 53
// for the zone's nameservers so that NS discovery is exercised as on the internet).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDnsServer, startSilentServer, type LabRecord, type RunningDnsServer } from '../../sandbox/dns-server.ts';
import {
  healthyRecords,
  LAN_IPV4,
  NS1,
  NS2,
  OLD_IPV4,
  ORIGIN,
  PUBLIC_IPV4,
  SERVER_IPV4,
  SITE_ORIGIN,
  SOA,
  siteZone,
  withChanges,
  zone,
} from './dns-zones.ts';
import { runCli } from './run-cli.ts';
import type { Report } from '../../checks/core/report.ts';
import type { Finding } from '../../checks/core/finding.ts';

const VARS = 'test/fixtures/lab/example-test-vars.yml';
let ns1: RunningDnsServer;
let ns2: RunningDnsServer;
let fresh: RunningDnsServer;
let stale: RunningDnsServer;
let silent: RunningDnsServer;
const at = (server: RunningDnsServer) => `${server.address}:${server.port}`;

beforeAll(async () => {
  ns1 = await startDnsServer({ address: NS1, port: 53, zones: zone(healthyRecords()) });
  ns2 = await startDnsServer({ address: NS2, port: 53, zones: zone(healthyRecords()) });
  fresh = await startDnsServer({ address: '127.53.0.11', zones: zone(healthyRecords()), role: 'resolver' });
  stale = await startDnsServer({ address: '127.53.0.12', zones: zone(healthyRecords()), role: 'resolver' });
  silent = await startSilentServer('127.53.0.13');
});

afterAll(async () => {
  await Promise.all([ns1, ns2, fresh, stale, silent].filter(Boolean).map((server) => server.close()));
});

/** The same records at both nameservers and at the fresh resolver. */
function serve(records: LabRecord[]) {
  for (const server of [ns1, ns2, fresh]) server.setZones(zone(records));
}

beforeEach(() => serve(healthyRecords()));

async function dnsCheck(...args: string[]) {
  const run = await runCli('checks/dns.ts', [ORIGIN, '--vars', VARS, '--expect-ip', SERVER_IPV4, '--json', '--timeout', '2', ...args]);
  expect(run.stderr).toBe('');
  const report = JSON.parse(run.stdout) as Report;
  const byId = (id: string): Finding => {
    const found = report.findings.find((f) => f.id === id);
    if (!found) throw new Error(`no finding ${id} in ${report.findings.map((f) => f.id).join(', ')}`);
    return found;
  };
  return { run, report, byId };
}

describe('DNS preflight against the lab', () => {
  it('passes a healthy zone, found through the resolver (NS discovery, AA answers)', async () => {
    const { run, report, byId } = await dnsCheck('--resolver', at(fresh));
    expect(byId('dns.zone.nameservers')).toMatchObject({ status: 'pass' });
    expect(byId('dns.zone.nameservers').detail).toContain(`ns1.${ORIGIN}, ns2.${ORIGIN}`);
    expect(byId('dns.nameserver.ns1_example_test').status).toBe('pass');
    expect(byId('dns.nameserver.ns2_example_test').status).toBe('pass');
    for (const id of [
      'dns.record.matrix.a',
      'dns.record.element.cname',
      'dns.record.jitsi.cname',
      'dns.record.base.a',
      'dns.caa.letsencrypt',
      'dns.zone.consistency',
    ]) {
      expect(byId(id).status, id).toBe('pass');
    }
    expect(byId('dns.propagation.matrix.a').status).toBe('pass');
    expect(byId('dns.record.matrix.aaaa').status).toBe('info');
    expect(byId('dns.srv.matrix-fed').status).toBe('info');
    expect(report.summary.fail + report.summary.warn).toBe(0);
    expect(report.exitCode).toBe(0);
    expect(run.code).toBe(0);
  });

  it('fails a record that points elsewhere and a missing CNAME, with the zone lines to add', async () => {
    serve(
      withChanges([
        { name: `matrix.${ORIGIN}`, type: 'A', value: OLD_IPV4 },
        { name: `jitsi.${ORIGIN}`, type: 'CNAME' },
      ]),
    );
    const { run, report, byId } = await dnsCheck('--resolver', at(fresh), '--zone');
    expect(byId('dns.record.matrix.a')).toMatchObject({
      status: 'fail',
      fix: `Change the record at your DNS provider to: matrix.${ORIGIN}. 3600 IN A ${SERVER_IPV4}`,
    });
    expect(byId('dns.record.matrix.a').detail).toContain(OLD_IPV4);
    expect(byId('dns.record.jitsi.cname')).toMatchObject({
      status: 'fail',
      fix: `Add at your DNS provider: jitsi.${ORIGIN}. 3600 IN CNAME matrix.${ORIGIN}.`,
    });
    // element is a CNAME to the matrix host: right as a CNAME, so it passes even though the target is wrong.
    expect(byId('dns.record.element.cname').status).toBe('pass');
    const snippet = String(report.extra?.zoneSnippet);
    expect(snippet).toContain(`jitsi.${ORIGIN}. 3600 IN CNAME matrix.${ORIGIN}.`);
    expect(snippet).toMatch(/^CNAME\s+jitsi\s+matrix\.example\.test\s+3600$/m);
    expect(snippet).toMatch(/^A\s+matrix\s+203\.0\.113\.10\s+3600$/m);
    expect(run.code).toBe(2);
  });

  it('prints a readable table of at most 100 columns, and the zone snippet after it', async () => {
    serve(withChanges([{ name: `jitsi.${ORIGIN}`, type: 'CNAME' }]));
    const run = await runCli('checks/dns.ts', [
      ORIGIN,
      '--vars',
      VARS,
      '--expect-ip',
      SERVER_IPV4,
      '--resolver',
      at(fresh),
      '--zone',
      '--timeout',
      '2',
    ]);
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/FAIL .*jitsi\.example\.test CNAME/);
    expect(run.stdout).toContain('fix: Add at your DNS provider');
    expect(run.stdout).toMatch(/\d+ failed, \d+ warnings, \d+ passed/);
    expect(run.stdout).toContain('Records to add or correct');
    expect(run.stdout).not.toMatch(/\u001b\[/);
    for (const line of run.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
  });

  it('warns when the source is right but a resolver still caches the old answer, saying when it expires', async () => {
    stale.setZones(
      zone(
        withChanges([
          { name: `matrix.${ORIGIN}`, type: 'A', value: OLD_IPV4, ttl: 1800 },
          { name: `element.${ORIGIN}`, type: 'CNAME' },
          { name: ORIGIN, type: 'SOA', value: SOA.value, ttl: 240 },
        ]),
      ),
    );
    const { run, byId } = await dnsCheck('--resolver', at(fresh), '--resolver', at(stale));
    expect(byId('dns.record.matrix.a').status).toBe('pass');
    const matrix = byId('dns.propagation.matrix.a');
    expect(matrix.status).toBe('warn');
    expect(matrix.detail).toContain(`${at(stale)} still serves ${OLD_IPV4}, which expires within 1800 s`);
    const element = byId('dns.propagation.element.cname');
    expect(element.detail).toContain(`${at(stale)} still serves NXDOMAIN`);
    expect(element.detail).toContain('expires within 240 s');
    expect(element.fix).toContain('wait');
    expect(run.code).toBe(1);
  });

  it('reports a silent resolver as timed out and still ends within --timeout + 1 s', async () => {
    const { report, byId } = await dnsCheck('--resolver', at(fresh), '--resolver', at(silent), '--timeout', '1');
    const resolver = byId(`dns.resolver.127_53_0_13_${silent.port}`);
    expect(resolver.status).toBe('warn');
    expect(resolver.detail).toContain('timeout');
    expect(byId('dns.record.matrix.a').status).toBe('pass');
    expect(byId('dns.propagation.matrix.a').status).toBe('pass');
    expect(report.durationMs).toBeLessThan(2000);
  });

  it('reports a silent authoritative server and judges nothing it did not say, within the timeout', async () => {
    const { run, report, byId } = await dnsCheck('--authoritative', at(silent), '--resolver', at(fresh), '--timeout', '1');
    expect(byId(`dns.nameserver.127_53_0_13_${silent.port}`)).toMatchObject({ status: 'fail' });
    expect(byId('dns.record.matrix.a').status).toBe('skip');
    expect(report.durationMs).toBeLessThan(2000);
    expect(run.code).toBe(2);
  });

  it('flags a lame nameserver and nameservers that disagree', async () => {
    const lame = await startDnsServer({ address: '127.53.0.21', zones: zone(healthyRecords()), role: 'resolver' });
    const behind = await startDnsServer({
      address: '127.53.0.22',
      zones: zone(withChanges([{ name: `matrix.${ORIGIN}`, type: 'A', value: OLD_IPV4 }])),
    });
    try {
      const { byId } = await dnsCheck(
        '--authoritative',
        at(ns1),
        '--authoritative',
        at(lame),
        '--authoritative',
        at(behind),
        '--resolver',
        at(fresh),
      );
      expect(byId(`dns.nameserver.127_53_0_21_${lame.port}`).status).toBe('fail');
      expect(byId(`dns.nameserver.127_53_0_21_${lame.port}`).detail).toContain('lame delegation');
      const consistency = byId('dns.zone.consistency');
      expect(consistency.status).toBe('warn');
      expect(consistency.detail).toContain(`matrix.${ORIGIN} A`);
      expect(consistency.detail).toContain(`127.53.0.22:${behind.port}`);
    } finally {
      await Promise.all([lame.close(), behind.close()]);
    }
  });

  it('judges SRV records: CNAME targets, the deprecated name, and disagreement', async () => {
    serve([
      ...healthyRecords(),
      { name: `_matrix-fed._tcp.${ORIGIN}`, type: 'SRV', value: `10 0 8448 fed.${ORIGIN}` },
      { name: `fed.${ORIGIN}`, type: 'CNAME', value: `matrix.${ORIGIN}` },
      { name: `_matrix._tcp.${ORIGIN}`, type: 'SRV', value: `10 0 443 matrix.${ORIGIN}` },
    ]);
    const both = await dnsCheck('--resolver', at(fresh));
    expect(both.byId('dns.srv.matrix-fed').status).toBe('fail');
    expect(both.byId('dns.srv.matrix-fed').detail).toContain(`fed.${ORIGIN} is a CNAME`);
    expect(both.byId('dns.srv.legacy').status).toBe('pass');
    expect(both.byId('dns.srv.agreement').status).toBe('warn');

    serve([...healthyRecords(), { name: `_matrix._tcp.${ORIGIN}`, type: 'SRV', value: `10 0 8448 matrix.${ORIGIN}` }]);
    const legacy = await dnsCheck('--resolver', at(fresh));
    expect(legacy.byId('dns.srv.legacy')).toMatchObject({
      status: 'warn',
      fix: `Add the same record under the current name: _matrix-fed._tcp.${ORIGIN}. 3600 IN SRV 10 0 8448 matrix.${ORIGIN}.`,
    });
    expect(legacy.byId('dns.srv.legacy').detail).toContain(`matrix.${ORIGIN} port 8448 (${SERVER_IPV4})`);

    serve([...healthyRecords(), { name: `_matrix-fed._tcp.${ORIGIN}`, type: 'SRV', value: `10 0 8448 nowhere.${ORIGIN}` }]);
    const dangling = await dnsCheck('--resolver', at(fresh));
    expect(dangling.byId('dns.srv.matrix-fed').detail).toContain(`nowhere.${ORIGIN} has no A or AAAA record`);
  });

  it("fails a CAA policy that forbids Let's Encrypt and passes one that allows it", async () => {
    serve([...healthyRecords(), { name: ORIGIN, type: 'CAA', value: '0 issue "sectigo.com"' }]);
    const forbidden = await dnsCheck('--resolver', at(fresh));
    expect(forbidden.byId('dns.caa.letsencrypt')).toMatchObject({
      status: 'fail',
      fix: `Add at your DNS provider: ${ORIGIN}. 3600 IN CAA 0 issue "letsencrypt.org"`,
    });
    expect(forbidden.byId('dns.caa.letsencrypt').detail).toContain(`matrix.${ORIGIN} (CAA at ${ORIGIN}`);

    serve([
      ...healthyRecords(),
      { name: ORIGIN, type: 'CAA', value: '0 issue "sectigo.com"' },
      { name: ORIGIN, type: 'CAA', value: '0 issue "letsencrypt.org; validationmethods=http-01"' },
    ]);
    const allowed = await dnsCheck('--resolver', at(fresh));
    expect(allowed.byId('dns.caa.letsencrypt')).toMatchObject({ status: 'pass' });
  });

  it('takes the server address from the inventory of an MDAD checkout', async () => {
    serve(withChanges([{ name: `jitsi.${ORIGIN}`, type: 'CNAME' }]));
    const run = await runCli('checks/dns.ts', [
      '--playbook',
      'test/fixtures/lab/playbook',
      '--resolver',
      at(fresh),
      '--json',
      '--timeout',
      '2',
    ]);
    const report = JSON.parse(run.stdout) as Report;
    const ids = Object.fromEntries(report.findings.map((f) => [f.id, f]));
    expect(report.serverName).toBe(ORIGIN);
    expect(ids['dns.server.address'].detail).toContain(`${SERVER_IPV4} (from ansible_host of matrix.${ORIGIN})`);
    expect(ids['dns.record.matrix.a'].status).toBe('pass');
    expect(ids['dns.record.jitsi.cname'].status).toBe('fail');
    expect(run.code).toBe(2);
  });

  it('warns about Cloudflare-proxied addresses and notes records left from the 2024 guide', async () => {
    const proxied = '104.16.1.1';
    serve([
      ...withChanges([{ name: `matrix.${ORIGIN}`, type: 'A', value: proxied }]),
      { name: `dimension.${ORIGIN}`, type: 'CNAME', value: `matrix.${ORIGIN}` },
      { name: `_matrix-identity._tcp.${ORIGIN}`, type: 'SRV', value: `10 0 443 matrix.${ORIGIN}` },
    ]);
    const run = await runCli('checks/dns.ts', [
      ORIGIN,
      '--vars',
      VARS,
      '--expect-ip',
      proxied,
      '--resolver',
      at(fresh),
      '--json',
      '--timeout',
      '2',
    ]);
    const report = JSON.parse(run.stdout) as Report;
    const ids = Object.fromEntries(report.findings.map((f) => [f.id, f]));
    expect(ids['dns.cloudflare.matrix'].status).toBe('warn');
    expect(ids['dns.cloudflare.matrix'].fix).toContain('DNS only');
    expect(ids['dns.obsolete.dimension'].status).toBe('info');
    expect(ids['dns.obsolete.matrix-identity'].status).toBe('info');
  });
});

describe('who can reach the names', () => {
  // The zone of a name outside the reserved ones beside the lab's own, at the first nameserver and
  // the resolver; the check only reads DNS, so the LAN address is never connected to.
  async function siteCheck(address: string, ...args: string[]) {
    for (const server of [ns1, fresh]) server.setZones([...zone(healthyRecords()), siteZone(address)]);
    const run = await runCli('checks/dns.ts', [
      SITE_ORIGIN,
      '--authoritative',
      at(ns1),
      '--resolver',
      at(fresh),
      '--json',
      '--timeout',
      '2',
      ...args,
    ]);
    expect(run.stderr).toBe('');
    const report = JSON.parse(run.stdout) as Report;
    return { run, report, byId: (id: string) => report.findings.find((f) => f.id === id) };
  }

  it('fails a public name whose A record is a LAN address, whatever the plan expects, with the public address to publish', async () => {
    const { run, byId } = await siteCheck(LAN_IPV4, '--expect-ip', PUBLIC_IPV4);
    const matrix = byId('dns.reach.matrix');
    expect(matrix).toMatchObject({ status: 'fail', title: `matrix.${SITE_ORIGIN} resolves to an address others cannot reach` });
    expect(matrix?.detail).toContain(`Resolves to ${LAN_IPV4} (a private (RFC 1918 / ULA) address): only machines on the same LAN`);
    expect(matrix?.detail).toContain("Other homeservers, clients outside and Let's Encrypt cannot");
    expect(matrix?.fix).toContain(`change the record to: matrix.${SITE_ORIGIN}. 3600 IN A ${PUBLIC_IPV4}`);
    expect(matrix?.fix).toContain('split horizon');
    expect(byId('dns.reach.element')?.detail).toContain(`An alias of matrix.${SITE_ORIGIN}, which resolves to ${LAN_IPV4}`);
    expect(byId('dns.record.matrix.a')?.status).toBe('fail');
    expect(run.code).toBe(2);

    // The plan expecting that same LAN address: the record says what it says, and still no one outside reaches it.
    const expected = await siteCheck(LAN_IPV4, '--expect-ip', LAN_IPV4);
    expect(expected.byId('dns.record.matrix.a')?.status).toBe('pass');
    expect(expected.byId('dns.reach.matrix')?.status).toBe('fail');
    expect(expected.byId('dns.reach.matrix')?.fix).toContain(
      `(--expect-ip gives ${LAN_IPV4}, a private (RFC 1918 / ULA) address: not that one)`,
    );
    expect(expected.run.code).toBe(2);
  });

  it('passes its healthy twin, published with a public address', async () => {
    const { byId } = await siteCheck(PUBLIC_IPV4, '--expect-ip', PUBLIC_IPV4);
    expect(byId('dns.reach.matrix')).toMatchObject({ status: 'pass', detail: `Public addresses only (${PUBLIC_IPV4})` });
    expect(byId('dns.reach.element')).toMatchObject({ status: 'pass', detail: `Public addresses only (${PUBLIC_IPV4})` });
    expect(byId('dns.record.matrix.a')?.status).toBe('pass');
  });

  it("does not judge the lab's own reserved name (example.test), whose addresses are documentation ones", async () => {
    const { report } = await dnsCheck('--resolver', at(fresh));
    expect(report.findings.filter((f) => f.id.startsWith('dns.reach.'))).toEqual([]);
  });
});

describe('bad input', () => {
  const cases: [string, string[], RegExp][] = [
    ['a URL', ['https://example.org/'], /without scheme or path: example\.org/],
    ['upper case', ['Example.org'], /use example\.org/],
    ['a matrix. name', ['matrix.example.org'], /@alice:matrix\.example\.org/],
    ['a resolver that does not parse', ['example.org', '--resolver', '1.2.3'], /--resolver "1\.2\.3"/],
    ['an unknown option', ['example.org', '--frobnicate'], /Unknown option '--frobnicate'/],
    ['a missing vars file', ['example.org', '--vars', 'test/fixtures/does-not-exist.yml'], /does-not-exist\.yml/],
    ['a bad timeout', ['example.org', '--timeout', 'soon'], /--timeout/],
    [
      'a vars.yml that is not YAML',
      ['example.test', '--vars', 'test/fixtures/lab/broken-vars.yml'],
      /broken-vars\.yml: YAML syntax error at line \d/,
    ],
    [
      'a server name that differs from the configuration',
      ['example.org', '--vars', VARS],
      /matrix_domain is example\.test, not the server name example\.org/,
    ],
    [
      '--connect-to, which a DNS check cannot use',
      ['example.org', '--connect-to', 'example.org:443:192.0.2.1:443'],
      /Unknown option '--connect-to'/,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(`rejects ${what} with one line and exit 3`, async () => {
      const run = await runCli('checks/dns.ts', args);
      expect(run.code).toBe(3);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    });
  }

  it('works on the punycode form of an internationalized name', async () => {
    const run = await runCli('checks/dns.ts', [
      'пример.test',
      '--authoritative',
      `${NS1}:53`,
      '--resolver',
      `${NS1}:53`,
      '--json',
      '--timeout',
      '1',
    ]);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.serverName).toBe('xn--e1afmkfd.test');
    expect(report.findings.find((f) => f.id === 'dns.name.punycode')?.detail).toContain('xn--e1afmkfd.test');
  });
});
