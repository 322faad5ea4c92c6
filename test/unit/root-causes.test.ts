// Root causes on hand-made findings and facts: the chains causes.ts links, the settling of a
// verdict across areas, the federation verdicts a homeserver would reach (a step that could not
// finish, a fallback, a site that refuses homeservers but not browsers), and the terminal report
// that opens with the root causes.
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../checks/core/finding.ts';
import { buildReport, causeGroups, renderTable, setVerbose } from '../../checks/core/report.ts';
import { renderPrometheus } from '../../checks/core/doctor-report.ts';
import { decideDiscovery, type DiscoveryInput } from '../../checks/facts/discovery.ts';
import { BROWSER_USER_AGENT, SYNAPSE_USER_AGENT, userAgentDiscrimination } from '../../checks/facts/http.ts';
import type { AddressProbe, FederationFacts } from '../../checks/facts/federation.ts';
import { linkCauses, rootOf, settleAcrossAreas } from '../../checks/rules/causes.ts';
import { judgeFederation } from '../../checks/rules/federation.ts';
import { chainOf, failure, IPV4, jsonResponse, lookup, NOW, NXDOMAIN, response, tlsFact } from './fact-builders.ts';

const f = (id: string, status: Finding['status'], evidence: Record<string, unknown> = {}, extra: Partial<Finding> = {}): Finding => ({
  id,
  status,
  title: id,
  detail: `${id} detail`,
  ...(status === 'fail' || status === 'warn' ? { fix: `fix ${id}` } : {}),
  evidence,
  ...extra,
});

const byId = (findings: Finding[], id: string) => findings.find((x) => x.id === id)!;

describe('linkCauses', () => {
  it('a wrong A record explains the federation, TLS and TURN failures on that name, not other names or other kinds', () => {
    const findings = linkCauses([
      f('dns.record.matrix.a', 'fail', { record: 'matrix.example.org', type: 'A' }),
      f('federation.192_0_2_1_8448.connect', 'fail', { host: 'matrix.example.org', port: 8448, address: '192.0.2.1' }),
      f('federation.192_0_2_1_8448.keys', 'fail', { host: 'matrix.example.org', port: 8448, address: '192.0.2.1' }),
      f('turn.turn-udp-3478.dns', 'fail', { host: 'matrix.example.org' }),
      f('turn.turn-udp-3478.relayed-address', 'fail', { uri: 'turn:matrix.example.org?transport=udp' }),
      f('federation.198_51_100_1_8448.connect', 'fail', { host: 'other.example.org', port: 8448, address: '198.51.100.1' }),
    ]);
    expect(byId(findings, 'federation.192_0_2_1_8448.connect').causedBy).toBe('dns.record.matrix.a');
    expect(byId(findings, 'federation.192_0_2_1_8448.keys').causedBy).toBe('dns.record.matrix.a');
    expect(byId(findings, 'turn.turn-udp-3478.dns').causedBy).toBe('dns.record.matrix.a');
    // coturn's external-ip is its own fault, not the record's.
    expect(byId(findings, 'turn.turn-udp-3478.relayed-address').causedBy).toBeUndefined();
    expect(byId(findings, 'federation.198_51_100_1_8448.connect').causedBy).toBeUndefined();
  });

  it("a CAA record that forbids Let's Encrypt explains the certificate failures of every host", () => {
    const findings = linkCauses([
      f('dns.caa.letsencrypt', 'fail'),
      f('federation.192_0_2_1_8448.certificate', 'fail', { host: 'matrix.example.org', port: 8448, address: '192.0.2.1' }),
      f('turn.turns-tcp-5349.tls', 'fail', { uri: 'turns:matrix.example.org?transport=tcp' }),
      f('federation.192_0_2_1_8448.version', 'fail', { host: 'matrix.example.org', port: 8448, address: '192.0.2.1' }),
    ]);
    expect(byId(findings, 'federation.192_0_2_1_8448.certificate').causedBy).toBe('dns.caa.letsencrypt');
    expect(byId(findings, 'turn.turns-tcp-5349.tls').causedBy).toBe('dns.caa.letsencrypt');
    expect(byId(findings, 'federation.192_0_2_1_8448.version').causedBy).toBeUndefined();
  });

  it('a SERVFAIL explains everything on that name', () => {
    const findings = linkCauses([
      f('dns.propagation.matrix.a', 'fail', { record: 'matrix.example.org' }, { detail: 'resolver answered SERVFAIL' }),
      f('turn.turn-udp-3478.dns', 'fail', { host: 'matrix.example.org' }),
      f('wellknown.client.homeserver', 'fail', { url: 'https://matrix.example.org/_matrix/client/versions' }),
    ]);
    expect(byId(findings, 'turn.turn-udp-3478.dns').causedBy).toBe('dns.propagation.matrix.a');
    expect(byId(findings, 'wellknown.client.homeserver').causedBy).toBe('dns.propagation.matrix.a');
  });

  it('an unusable server well-known explains discovery, and through it the fallback target; a User-Agent rule explains the well-known', () => {
    const findings = linkCauses([
      f('federation.wellknown_user_agent', 'fail'),
      f('wellknown.server.status', 'fail'),
      f('federation.discovery', 'fail', { wellKnown: 'unusable' }),
      f(
        'federation.192_0_2_1_8448.connect',
        'fail',
        { host: 'example.org', port: 8448, address: '192.0.2.1' },
        { causedBy: 'federation.discovery' },
      ),
    ]);
    expect(byId(findings, 'wellknown.server.status').causedBy).toBe('federation.wellknown_user_agent');
    expect(byId(findings, 'federation.discovery').causedBy).toBe('federation.wellknown_user_agent');
    const fallback = byId(findings, 'federation.192_0_2_1_8448.connect');
    expect(rootOf(fallback, findings)?.id).toBe('federation.wellknown_user_agent');
  });

  it('a port that does not connect explains every other check on that address and port', () => {
    const findings = linkCauses([
      f('turn.turn-tcp-3478.reach', 'fail', { address: '192.0.2.1', port: 3478 }),
      f('turn.turn-tcp-3478.auth', 'skip'),
      f('turn.turn-udp-3478.auth', 'skip'),
    ]);
    expect(byId(findings, 'turn.turn-tcp-3478.auth').causedBy).toBe('turn.turn-tcp-3478.reach');
    expect(byId(findings, 'turn.turn-udp-3478.auth').causedBy).toBeUndefined();
  });

  it('a zone whose nameservers do not answer explains the records that could not be judged', () => {
    const findings = linkCauses([
      f('dns.nameserver.192_0_2_53_53', 'fail'),
      f('dns.record.matrix.a', 'skip'),
      f('dns.srv.matrix-fed', 'skip'),
    ]);
    expect(byId(findings, 'dns.record.matrix.a').causedBy).toBe('dns.nameserver.192_0_2_53_53');
    expect(byId(findings, 'dns.srv.matrix-fed').causedBy).toBe('dns.nameserver.192_0_2_53_53');
  });

  it('never changes a status and never links a pass; a loop of links is dropped', () => {
    const input = [
      f('dns.record.matrix.a', 'fail', { record: 'matrix.example.org' }),
      f('federation.192_0_2_1_8448.connect', 'pass', { host: 'matrix.example.org', port: 8448, address: '192.0.2.1' }),
      f('a.one', 'fail', {}, { causedBy: 'a.two' }),
      f('a.two', 'fail', {}, { causedBy: 'a.one' }),
    ];
    const findings = linkCauses(input);
    expect(findings.map((x) => x.status)).toEqual(input.map((x) => x.status));
    expect(byId(findings, 'federation.192_0_2_1_8448.connect').causedBy).toBeUndefined();
    expect(byId(findings, 'a.one').causedBy).toBeUndefined();
    expect(byId(findings, 'a.two').causedBy).toBeUndefined();
  });
});

describe('settleAcrossAreas (doctor)', () => {
  const missing = f(
    'wellknown.server.status',
    'warn',
    {},
    { detail: '404 from https://example.org/.well-known/matrix/server: without this file …' },
  );
  it('a missing server file is only info when federation works through SRV or port 8448', () => {
    const settled = settleAcrossAreas([
      missing,
      f('federation.discovery', 'info', { step: '6' }, { detail: 'Step 6: no usable … → example.org:8448; TLS name example.org' }),
      f('federation.192_0_2_1_8448.keys', 'pass'),
    ]);
    expect(byId(settled, 'wellknown.server.status')).toMatchObject({ status: 'info' });
    expect(byId(settled, 'wellknown.server.status').fix).toBeUndefined();
  });
  it('stays a warning when the fallback fails', () => {
    const settled = settleAcrossAreas([
      missing,
      f('federation.discovery', 'info', { step: '6' }),
      f('federation.192_0_2_1_8448.connect', 'fail'),
    ]);
    expect(byId(settled, 'wellknown.server.status').status).toBe('warn');
  });
});

// ---------------------------------------------------------------------------------------------
// Federation verdicts as a homeserver reaches them.

const NAME = 'example.org';
const WK = `https://${NAME}/.well-known/matrix/server`;

function input(wellKnown: DiscoveryInput['wellKnown']): DiscoveryInput {
  return {
    host: NAME,
    isIpLiteral: false,
    wellKnown,
    srv: { [`_matrix-fed._tcp.${NAME}`]: NXDOMAIN, [`_matrix._tcp.${NAME}`]: NXDOMAIN },
  };
}

function refusedProbe(target: string, port: number): AddressProbe {
  const base = `https://${target}:${port}`;
  return {
    target,
    port,
    address: IPV4,
    version: failure(`${base}/_matrix/federation/v1/version`, 'tcp', 'refused', 'connection refused: nothing listens on that port'),
    keys: failure(`${base}/_matrix/key/v2/server`, 'tcp', 'refused', 'connection refused: nothing listens on that port'),
  };
}

function facts(i: DiscoveryInput, probes: AddressProbe[]): FederationFacts {
  const discovery = decideDiscovery(i);
  return { serverName: NAME, input: i, discovery, lookups: discovery.targets.map((t) => lookup(t.host)), probes };
}

describe('federation verdicts as a homeserver reaches them', () => {
  it('a well-known that accepts the connection and never answers fails discovery: Synapse does not fall back', () => {
    const stalled = chainOf(failure(WK, 'tls', 'timeout', 'no answer within the timeout during the TLS handshake'));
    const findings = judgeFederation(facts(input(stalled), [refusedProbe(NAME, 8448)]), { now: NOW });
    const discovery = byId(findings, 'federation.discovery');
    expect(discovery.status).toBe('fail');
    expect(discovery.detail).toContain('60 s');
    expect(discovery.detail).toContain('does not fall back');
    expect(discovery.fix).toContain('answer promptly');
  });

  it('an invalid m.server fails discovery when the fallback fails, and the fallback failure names it as its cause', () => {
    const invalid = chainOf(jsonResponse(WK, { 'm.server': 'https://matrix.example.org:8448' }));
    const findings = judgeFederation(facts(input(invalid), [refusedProbe(NAME, 8448)]), { now: NOW });
    expect(byId(findings, 'federation.discovery')).toMatchObject({ status: 'fail' });
    expect(byId(findings, 'federation.discovery').detail).toContain('servers ignore it');
    const connect = findings.find((x) => x.id.endsWith('.connect'))!;
    expect(connect).toMatchObject({ status: 'fail', causedBy: 'federation.discovery' });
  });

  it('a well-known refused to Synapse but served to a browser is its own failure, the root of the fallback failure', () => {
    const chain = {
      ...chainOf(response(WK, 403, '<html>403 Forbidden</html>')),
      userAgent: SYNAPSE_USER_AGENT,
      asBrowser: { ...chainOf(jsonResponse(WK, { 'm.server': 'matrix.example.org:8448' })), userAgent: BROWSER_USER_AGENT },
    };
    const findings = judgeFederation(facts(input(chain), [refusedProbe(NAME, 8448)]), { now: NOW });
    const agent = byId(findings, 'federation.wellknown_user_agent');
    expect(agent).toMatchObject({ status: 'fail', evidence: { homeserverStatus: 403, browserStatus: 200 } });
    expect(agent.fix).toContain('Synapse/*');
    expect(findings.find((x) => x.id.endsWith('.connect'))?.causedBy).toBe('federation.wellknown_user_agent');
  });

  it('federation requests refused to Synapse but answered to a browser: a user_agent failure explains the version failure', () => {
    const base = `https://${NAME}:8448`;
    const probe: AddressProbe = {
      target: NAME,
      port: 8448,
      address: IPV4,
      version: response(`${base}/_matrix/federation/v1/version`, 403, 'Forbidden', { tls: tlsFact() }),
      keys: response(`${base}/_matrix/key/v2/server`, 403, 'Forbidden', { tls: tlsFact() }),
      versionAsBrowser: jsonResponse(`${base}/_matrix/federation/v1/version`, { server: { name: 'Synapse', version: '1.163.2' } }),
    };
    const findings = judgeFederation(facts(input(chainOf(response(WK, 404, 'Not Found'))), [probe]), { now: NOW });
    const agent = findings.find((x) => x.id.endsWith('.user_agent'))!;
    expect(agent.status).toBe('fail');
    expect(findings.find((x) => x.id.endsWith('.version'))).toMatchObject({ status: 'fail', causedBy: agent.id });
  });

  it('the user agents: Synapse/<version> for homeserver requests, a browser for client requests', () => {
    expect(SYNAPSE_USER_AGENT).toMatch(/^Synapse\/\d+\.\d+\.\d+$/);
    expect(BROWSER_USER_AGENT).toMatch(/^Mozilla\/5\.0 /);
    expect(userAgentDiscrimination(response(WK, 403, ''), response(WK, 200, ''))).toEqual({ homeserverStatus: 403, browserStatus: 200 });
    expect(userAgentDiscrimination(response(WK, 404, ''), response(WK, 404, ''))).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// The terminal report.

describe('the terminal report opens with the root causes', () => {
  const findings = linkCauses([
    f('federation.discovery', 'info'),
    f('dns.record.matrix.a', 'fail', { record: 'matrix.example.org' }),
    f('federation.192_0_2_1_8448.connect', 'fail', { host: 'matrix.example.org', port: 8448, address: '192.0.2.1' }),
    f('wellknown.client.cors', 'warn'),
    ...Array.from({ length: 12 }, (_, i) => f(`wellknown.pass${i}`, 'pass')),
  ]);
  const report = buildReport('Test', 'example.org', new Date(), findings);

  it('groups each consequence under its root cause, worst first, and counts the passes on one line', () => {
    setVerbose(false);
    const text = renderTable(report);
    const root = text.indexOf('(dns.record.matrix.a)');
    const consequence = text.indexOf('federation.192_0_2_1_8448.connect');
    const warning = text.indexOf('(wellknown.client.cors)');
    expect(root).toBeGreaterThan(0);
    expect(consequence).toBeGreaterThan(root);
    expect(warning).toBeGreaterThan(consequence);
    expect(text).toContain('this follows from dns.record.matrix.a');
    expect(text).toContain('12 passed, 1 info (--verbose lists them)');
    expect(text).not.toContain('wellknown.pass0');
    for (const line of text.split('\n')) expect([...line].length).toBeLessThanOrEqual(100);
    expect(causeGroups(report.findings).map((g) => g.root.id)).toEqual(['dns.record.matrix.a', 'wellknown.client.cors']);
  });

  it('--verbose lists the passes', () => {
    setVerbose(true);
    expect(renderTable(report)).toContain('wellknown.pass0');
    setVerbose(false);
  });

  it('the exit code follows the worst root cause, and JSON and Prometheus keep every finding with its link', () => {
    expect(report.exitCode).toBe(2);
    expect(report.findings).toHaveLength(findings.length);
    expect(byId(report.findings, 'federation.192_0_2_1_8448.connect')).toMatchObject({ status: 'fail', causedBy: 'dns.record.matrix.a' });
    expect(renderPrometheus([report])).toContain('id="federation.192_0_2_1_8448.connect",status="fail",caused_by="dns.record.matrix.a"} 2');
  });
});
