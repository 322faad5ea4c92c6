// The DNS rules on hand-made facts: no network, every branch a person can meet.
import { describe, expect, it } from 'vitest';
import { judgeDns, renderZoneSnippet, dnsQuestions, dnsFollowUps, recordLabel } from '../../checks/rules/dns.ts';
import { interpret } from '../../checks/facts/dns-answers.ts';
import { isCloudflareProxy } from '../../checks/rules/cloudflare.ts';
import type { NamedServer } from '../../checks/core/net.ts';
import { questionKey, type DnsFacts } from '../../checks/facts/dns.ts';
import type { DnsOutcome, DnsRecord } from '../../checks/facts/dns.ts';
import type { Finding } from '../../checks/core/finding.ts';
import type { Plan } from '../../checks/plan/types.ts';
import { linkCauses } from '../../checks/rules/causes.ts';
import type { ExpectedAddresses } from '../../checks/facts/dns.ts';

const NAME = 'example.org';
const IP = '203.0.113.10';
const OLD = '198.51.100.7';

function plan(overrides: Partial<Plan> = {}): Plan {
  return {
    serverName: NAME,
    matrixHost: `matrix.${NAME}`,
    elementHost: `element.${NAME}`,
    homeserver: 'synapse',
    federationEnabled: true,
    baseDomainServed: false,
    services: [],
    records: [
      { name: `matrix.${NAME}`, type: 'A', service: 'homeserver', required: true },
      { name: `matrix.${NAME}`, type: 'AAAA', service: 'homeserver', required: false },
      { name: `element.${NAME}`, type: 'CNAME', value: `matrix.${NAME}`, service: 'element', required: true },
    ],
    ports: [],
    wellKnown: { client: {} },
    secrets: { synapseMacaroonSecretKey: 'x', registrationSharedSecret: 'x' },
    issues: [],
    ...overrides,
  };
}

const rr = (name: string, type: string, value: string, ttl = 300): DnsRecord => ({ name, type, value, ttl });
const soa = (ttl = 300, minimum = 300): DnsRecord => ({
  ...rr(NAME, 'SOA', `ns1.${NAME} hostmaster.${NAME} 1 3600 600 86400 ${minimum}`, ttl),
  soaMinimum: minimum,
});

function reply(answers: DnsRecord[], options: { rcode?: string; aa?: boolean; authorities?: DnsRecord[] } = {}): DnsOutcome {
  return {
    ok: true,
    rcode: options.rcode ?? 'NOERROR',
    authoritative: options.aa ?? true,
    recursionAvailable: false,
    answers,
    authorities: options.authorities ?? (answers.length === 0 ? [soa()] : []),
    additionals: [],
    transport: 'udp',
    elapsedMs: 1,
  };
}
const nxdomain = (ttl = 300): DnsOutcome => reply([], { rcode: 'NXDOMAIN', authorities: [soa(ttl)] });
const timeout: DnsOutcome = { ok: false, error: 'timeout', message: 'no UDP answer within 1000 ms', elapsedMs: 1000 };

const NS: NamedServer = { label: `ns1.${NAME} (192.0.2.53)`, endpoint: { host: '192.0.2.53', port: 53 } };
const RESOLVER: NamedServer = { label: '192.0.2.1:53', endpoint: { host: '192.0.2.1', port: 53 } };

/** A healthy zone: matrix A, element CNAME, nothing else. */
function healthyAnswers(): Record<string, DnsOutcome> {
  return {
    [questionKey(NAME, 'SOA')]: reply([soa()]),
    [questionKey(`matrix.${NAME}`, 'A')]: reply([rr(`matrix.${NAME}`, 'A', IP)]),
    [questionKey(`matrix.${NAME}`, 'AAAA')]: reply([]),
    [questionKey(`element.${NAME}`, 'A')]: reply([rr(`element.${NAME}`, 'CNAME', `matrix.${NAME}`), rr(`matrix.${NAME}`, 'A', IP)]),
  };
}

function facts(source: Record<string, DnsOutcome>, resolved: Record<string, DnsOutcome> = source, extra: Partial<DnsFacts> = {}): DnsFacts {
  const everything = (answers: Record<string, DnsOutcome>, server: string) => {
    // Questions nobody set up get an authoritative NXDOMAIN, like a real zone.
    const keys = new Set([...dnsQuestions(plan()).map((q) => questionKey(q.name, q.type)), ...Object.keys(answers)]);
    return Object.fromEntries([...keys].map((key) => [key, { [server]: answers[key] ?? nxdomain() }]));
  };
  return {
    zone: { method: 'discovered', apex: NAME, nameservers: [`ns1.${NAME}`] },
    authoritative: [NS],
    resolvers: [RESOLVER],
    source: everything(source, NS.label),
    resolved: everything(resolved, RESOLVER.label),
    ...extra,
  };
}

const judge = (f: DnsFacts, expected = { ipv4: IP }, p = plan()) => {
  const verdict = judgeDns(p, f, expected);
  return { ...verdict, byId: (id: string) => verdict.findings.find((x) => x.id === id) };
};

describe('reading answers', () => {
  it('follows CNAME chains and keeps the values at their end', () => {
    const answer = interpret(reply([rr('a.x', 'CNAME', 'b.x', 60), rr('b.x', 'CNAME', 'c.x', 30), rr('c.x', 'A', IP, 90)]), 'a.x', 'A');
    expect(answer).toMatchObject({ state: 'positive', chain: ['b.x', 'c.x'], values: [IP], ttl: 30 });
  });

  it('tells NXDOMAIN from NODATA and reads the negative-caching TTL (RFC 2308: min of SOA TTL and minimum)', () => {
    expect(interpret(nxdomain(120), 'a.x', 'A')).toMatchObject({ state: 'nxdomain', negativeTtl: 120 });
    expect(interpret(reply([], { authorities: [soa(3600, 900)] }), 'a.x', 'A')).toMatchObject({ state: 'nodata', negativeTtl: 900 });
    expect(interpret(timeout, 'a.x', 'A')).toMatchObject({ state: 'error', error: expect.stringContaining('timeout') });
    expect(interpret(reply([], { rcode: 'SERVFAIL' }), 'a.x', 'A').state).toBe('error');
  });
});

describe('records at the source', () => {
  it('passes a healthy zone and its propagation', () => {
    const { byId, missing } = judge(facts(healthyAnswers()));
    expect(byId('dns.record.matrix.a')?.status).toBe('pass');
    expect(byId('dns.record.element.cname')?.status).toBe('pass');
    expect(byId('dns.propagation.matrix.a')?.status).toBe('pass');
    expect(byId('dns.record.matrix.aaaa')?.status).toBe('info');
    expect(byId('dns.zone.nameservers')?.status).toBe('pass');
    expect(byId(`dns.nameserver.ns1_example_org`)?.status).toBe('pass');
    expect(missing).toEqual([]);
  });

  it('fails an A record that points at another machine, with the line to write', () => {
    const source = {
      ...healthyAnswers(),
      [questionKey(`matrix.${NAME}`, 'A')]: reply([rr(`matrix.${NAME}`, 'A', IP), rr(`matrix.${NAME}`, 'A', OLD)]),
    };
    const { byId, missing } = judge(facts(source));
    expect(byId('dns.record.matrix.a')).toMatchObject({
      status: 'fail',
      fix: `Change the record at your DNS provider to: matrix.${NAME}. 3600 IN A ${IP}`,
    });
    expect(byId('dns.record.matrix.a')?.detail).toContain(`${OLD} is another machine`);
    expect(byId('dns.propagation.matrix.a')).toBeUndefined();
    expect(missing).toEqual([{ name: `matrix.${NAME}`, type: 'A', value: IP, ttl: 3600 }]);
  });

  it('accepts an A record where MDAD documents a CNAME, and rejects a CNAME to the wrong host', () => {
    const direct = { ...healthyAnswers(), [questionKey(`element.${NAME}`, 'A')]: reply([rr(`element.${NAME}`, 'A', IP)]) };
    expect(judge(facts(direct)).byId('dns.record.element.cname')?.detail).toContain('instead of the CNAME');
    const wrong = { ...healthyAnswers(), [questionKey(`element.${NAME}`, 'A')]: reply([rr(`element.${NAME}`, 'CNAME', `web.${NAME}`)]) };
    expect(judge(facts(wrong)).byId('dns.record.element.cname')).toMatchObject({
      status: 'fail',
      detail: `CNAME to web.${NAME}, not to matrix.${NAME}`,
    });
  });

  it('only describes addresses when no expected address is known', () => {
    const { byId } = judge(facts(healthyAnswers()), {} as { ipv4: string });
    expect(byId('dns.server.address')?.detail).toContain(`the A/AAAA records of matrix.${NAME} at the source`);
    expect(byId('dns.record.matrix.a')?.status).toBe('pass');
  });

  it('asks for an AAAA record only when an IPv6 address was given', () => {
    expect(
      judge(facts(healthyAnswers()), { ipv4: IP, ipv6: '2001:db8::10' } as { ipv4: string }).byId('dns.record.matrix.aaaa'),
    ).toMatchObject({
      status: 'warn',
      fix: `Add at your DNS provider: matrix.${NAME}. 3600 IN AAAA 2001:db8::10`,
    });
  });

  it('fails a stale AAAA record that points elsewhere (IPv6 peers reach the wrong machine)', () => {
    const source = { ...healthyAnswers(), [questionKey(`matrix.${NAME}`, 'AAAA')]: reply([rr(`matrix.${NAME}`, 'AAAA', '2001:db8::99')]) };
    expect(judge(facts(source), { ipv4: IP, ipv6: '2001:db8::10' } as { ipv4: string }).byId('dns.record.matrix.aaaa')?.status).toBe(
      'fail',
    );
  });
});

describe('propagation', () => {
  it('says when an old positive answer and a cached NXDOMAIN will expire', () => {
    const resolved = {
      ...healthyAnswers(),
      [questionKey(`matrix.${NAME}`, 'A')]: reply([rr(`matrix.${NAME}`, 'A', OLD, 5400)], { aa: false }),
      [questionKey(`element.${NAME}`, 'A')]: nxdomain(77),
    };
    const { byId } = judge(facts(healthyAnswers(), resolved));
    expect(byId('dns.propagation.matrix.a')).toMatchObject({ status: 'warn' });
    expect(byId('dns.propagation.matrix.a')?.detail).toContain(
      `${RESOLVER.label} still serves ${OLD}, which expires within 5400 s (about 90 min)`,
    );
    expect(byId('dns.propagation.matrix.a')?.fix).toContain('wait 5400 s');
    expect(byId('dns.propagation.element.cname')?.detail).toContain('NXDOMAIN (no such name), which expires within 77 s');
  });

  it('reports a resolver that never answered once, and judges propagation without it', () => {
    const dead = Object.fromEntries(Object.keys(healthyAnswers()).map((k) => [k, timeout]));
    const f = facts(healthyAnswers(), dead);
    for (const key of Object.keys(f.resolved)) f.resolved[key] = { [RESOLVER.label]: timeout };
    const { byId } = judge(f);
    expect(byId('dns.resolver.192_0_2_1_53')).toMatchObject({ status: 'warn', detail: expect.stringContaining('timeout') });
    expect(byId('dns.propagation.matrix.a')).toMatchObject({ status: 'skip', detail: 'No resolver answered' });
  });
});

describe('the zone and its nameservers', () => {
  it('fails when the zone cannot be found, with the command to look', () => {
    const f = facts(
      {},
      {},
      { zone: { method: 'failed', nameservers: [], error: 'no resolver returned the SOA' }, authoritative: [], source: {} },
    );
    const { byId } = judge(f);
    expect(byId('dns.zone.nameservers')).toMatchObject({ status: 'fail', fix: expect.stringContaining(`dig NS ${NAME}`) });
    expect(byId('dns.record.matrix.a')?.status).toBe('skip');
  });

  it('fails a lame nameserver (answers without AA) and a nameserver without an address', () => {
    const lame = Object.fromEntries(
      Object.entries(healthyAnswers()).map(([k, v]) => [k, { ...(v as object), authoritative: false } as DnsOutcome]),
    );
    const f = facts(lame, healthyAnswers(), { zone: { method: 'discovered', apex: NAME, nameservers: [`ns1.${NAME}`, `ns9.${NAME}`] } });
    const { byId } = judge(f);
    expect(byId('dns.nameserver.ns1_example_org')?.detail).toContain('lame delegation');
    expect(byId('dns.nameserver.ns9_example_org')).toMatchObject({
      status: 'fail',
      detail: `ns9.${NAME} is listed in the NS records but has no address`,
    });
  });
});

describe('SRV, CAA, Cloudflare and leftovers', () => {
  const srv = (value: string) => reply([rr(`_matrix-fed._tcp.${NAME}`, 'SRV', value)]);

  it('asks for SRV targets as follow-ups and fails a target that is an alias', () => {
    const source = {
      ...healthyAnswers(),
      [questionKey(`_matrix-fed._tcp.${NAME}`, 'SRV')]: srv(`10 0 8448 fed.${NAME}`),
      [questionKey(`fed.${NAME}`, 'A')]: reply([rr(`fed.${NAME}`, 'CNAME', `matrix.${NAME}`), rr(`matrix.${NAME}`, 'A', IP)]),
      [questionKey(`fed.${NAME}`, 'AAAA')]: reply([rr(`fed.${NAME}`, 'CNAME', `matrix.${NAME}`)]),
    };
    const f = facts(source);
    expect(dnsFollowUps(plan(), f)).toEqual([
      { name: `fed.${NAME}`, type: 'A' },
      { name: `fed.${NAME}`, type: 'AAAA' },
    ]);
    expect(judge(f).byId('dns.srv.matrix-fed')).toMatchObject({ status: 'fail', detail: expect.stringContaining('RFC 2782') });
  });

  it('fails a missing SRV record when the plan delegates by SRV', () => {
    const p = plan({
      records: [
        ...plan().records,
        { name: `_matrix-fed._tcp.${NAME}`, type: 'SRV', value: `10 0 8448 matrix.${NAME}`, service: 'federation', required: true },
      ],
    });
    const verdict = judgeDns(p, facts(healthyAnswers()), { ipv4: IP });
    const fed = verdict.findings.filter((x) => x.id === 'dns.srv.matrix-fed');
    expect(fed.map((x) => x.status)).toContain('fail');
    expect(verdict.missing).toContainEqual({ name: `_matrix-fed._tcp.${NAME}`, type: 'SRV', value: `10 0 8448 matrix.${NAME}`, ttl: 3600 });
  });

  it.each([
    ['0 issue "letsencrypt.org"', 'pass'],
    ['0 issue "letsencrypt.org; validationmethods=dns-01"', 'pass'],
    ['0 issue "pki.goog"', 'fail'],
    ['0 issue ";"', 'fail'],
    ['0 issuewild "pki.goog"', 'pass'],
    ['0 iodef "mailto:security@example.org"', 'pass'],
  ])('judges the CAA set %s at the base domain as %s', (caa, status) => {
    const source = { ...healthyAnswers(), [questionKey(NAME, 'CAA')]: reply([rr(NAME, 'CAA', caa)]) };
    expect(judge(facts(source)).byId('dns.caa.letsencrypt')?.status).toBe(status);
  });

  it('uses the closest CAA set: one on the matrix host overrides the base domain (RFC 8659 §3)', () => {
    const source = {
      ...healthyAnswers(),
      [questionKey(NAME, 'CAA')]: reply([rr(NAME, 'CAA', '0 issue "pki.goog"')]),
      [questionKey(`matrix.${NAME}`, 'CAA')]: reply([rr(`matrix.${NAME}`, 'CAA', '0 issue "letsencrypt.org"')]),
    };
    const caa = judge(facts(source)).byId('dns.caa.letsencrypt');
    expect(caa?.status).toBe('fail');
    expect(caa?.detail).toContain(`element.${NAME} (CAA at ${NAME}`);
    expect(caa?.detail).not.toContain(`matrix.${NAME} (CAA`);
  });

  it('knows Cloudflare proxy ranges', () => {
    expect(isCloudflareProxy('104.16.1.1')).toBe(true);
    expect(isCloudflareProxy('172.67.0.1')).toBe(true);
    expect(isCloudflareProxy('2606:4700::6810:1')).toBe(true);
    expect(isCloudflareProxy(IP)).toBe(false);
    expect(isCloudflareProxy('2001:db8::1')).toBe(false);
  });

  it('notes records left from the 2024 guide', () => {
    const source = {
      ...healthyAnswers(),
      [questionKey(`dimension.${NAME}`, 'A')]: reply([rr(`dimension.${NAME}`, 'CNAME', `matrix.${NAME}`)]),
      [questionKey(`_matrix-identity._tcp.${NAME}`, 'SRV')]: reply([rr(`_matrix-identity._tcp.${NAME}`, 'SRV', `10 0 443 matrix.${NAME}`)]),
    };
    const { byId } = judge(facts(source));
    expect(byId('dns.obsolete.dimension')?.status).toBe('info');
    expect(byId('dns.obsolete.matrix-identity')?.fix).toContain('Delete the SRV record');
  });
});

describe('who can reach the names', () => {
  // A made-up name outside the reserved ones, whose addresses are judged; a public address
  // outside every special range (documentation addresses are not public here).
  const SITE = 'lanparty.chat';
  const PUBLIC = '11.22.33.44';
  const LAN_IP = '192.168.1.20';
  const sitePlan = (name = SITE) =>
    plan({
      serverName: name,
      matrixHost: `matrix.${name}`,
      elementHost: `element.${name}`,
      records: [
        { name: `matrix.${name}`, type: 'A', service: 'homeserver', required: true },
        { name: `matrix.${name}`, type: 'AAAA', service: 'homeserver', required: false },
        { name: `element.${name}`, type: 'CNAME', value: `matrix.${name}`, service: 'element', required: true },
      ],
    });
  /** The zone of `name` with these addresses on the matrix host, element a CNAME to it. */
  const siteFacts = (v4: string[], v6: string[] = [], name = SITE) => {
    const matrix = `matrix.${name}`;
    return facts({
      [questionKey(matrix, 'A')]: reply(v4.map((v) => rr(matrix, 'A', v))),
      [questionKey(matrix, 'AAAA')]: reply(v6.map((v) => rr(matrix, 'AAAA', v))),
      [questionKey(`element.${name}`, 'A')]: reply([rr(`element.${name}`, 'CNAME', matrix), ...v4.map((v) => rr(matrix, 'A', v))]),
    });
  };
  const judgeSite = (f: DnsFacts, expected: ExpectedAddresses = {}, name = SITE) => {
    const verdict = judgeDns(sitePlan(name), f, expected);
    return { ...verdict, byId: (id: string) => verdict.findings.find((x) => x.id === id) };
  };

  it.each([
    [LAN_IP, 'a private (RFC 1918 / ULA) address', 'only machines on the same LAN (or VPN) reach it'],
    ['10.0.0.5', 'a private (RFC 1918 / ULA) address', 'same LAN'],
    ['100.64.1.2', 'a carrier-grade NAT (100.64.0.0/10) address', "inside the same carrier's NAT"],
    ['127.0.0.1', 'a loopback address', 'connects to itself, so only the server itself reaches it'],
    ['169.254.10.1', 'a link-local address', 'same network segment'],
    ['0.0.0.0', 'an unspecified address', 'nobody reaches it'],
    ['240.0.0.1', 'a reserved address', 'not routed: nobody reaches it'],
    ['203.0.113.10', 'a documentation address (reserved for examples, never routed)', 'never routed: nobody reaches it'],
  ])('fails a name whose A record is %s (%s), and its alias', (address, scope, reached) => {
    const { byId, findings } = judgeSite(siteFacts([address]));
    const matrix = byId('dns.reach.matrix');
    expect(matrix).toMatchObject({ status: 'fail', title: `matrix.${SITE} resolves to an address others cannot reach` });
    expect(matrix?.detail).toContain(`Resolves to ${address} (${scope}): `);
    expect(matrix?.detail).toContain(reached);
    expect(matrix?.detail).toContain("Other homeservers, clients outside and Let's Encrypt cannot");
    expect(matrix?.fix).toContain(`At your DNS provider, change the A record of matrix.${SITE} to your server's public IPv4 address`);
    expect(matrix?.evidence).toMatchObject({ record: `matrix.${SITE}`, unreachable: [address] });
    expect(byId('dns.reach.element')?.detail).toContain(`An alias of matrix.${SITE}, which resolves to ${address}`);
    expect(byId('dns.reach.element')?.fix).toContain(`change the A record of matrix.${SITE}`);
    // One finding per name, none for the other record types.
    expect(findings.filter((x) => x.id.startsWith('dns.reach.')).map((x) => x.id)).toEqual(['dns.reach.matrix', 'dns.reach.element']);
  });

  it.each([
    ['fd12:3456::20', 'a private (RFC 1918 / ULA) address'],
    ['fc00::20', 'a private (RFC 1918 / ULA) address'],
    ['::1', 'a loopback address'],
    ['fe80::20', 'a link-local address'],
    ['::', 'an unspecified address'],
    ['ff02::1', 'a reserved address'],
    ['2001:db8::20', 'a documentation address (reserved for examples, never routed)'],
    ['3fff::20', 'a documentation address (reserved for examples, never routed)'],
    ['::ffff:192.168.1.20', 'a private (RFC 1918 / ULA) address'], // IPv4-mapped: judged as its IPv4 address
    ['::ffff:6440:102', 'a carrier-grade NAT (100.64.0.0/10) address'], // ::ffff:100.64.1.2
  ])('fails a name whose AAAA record is %s (%s), beside a public A record', (address, scope) => {
    const { byId } = judgeSite(siteFacts([PUBLIC], [address]));
    const matrix = byId('dns.reach.matrix');
    expect(matrix?.status).toBe('fail');
    expect(matrix?.detail).toContain(`Resolves to ${address} (${scope})`);
    expect(matrix?.detail).toContain(`${PUBLIC} beside it only helps those that happen to pick it`);
    expect(matrix?.fix).toContain(
      `At your DNS provider, change the AAAA record of matrix.${SITE} to your server's public IPv6 address, or delete it if the server has none`,
    );
    expect(matrix?.fix).not.toContain(' A record');
    // element is asked for A only, which is public.
    expect(byId('dns.reach.element')).toMatchObject({ status: 'pass', detail: `Public addresses only (${PUBLIC})` });
  });

  it('says both families in one finding, and passes public addresses', () => {
    const both = judgeSite(siteFacts([LAN_IP], ['fd00::20'])).byId('dns.reach.matrix');
    expect(both?.detail).toContain(`Resolves to ${LAN_IP} (a private (RFC 1918 / ULA) address), fd00::20 (a private`);
    expect(both?.fix).toMatch(/public IPv4 address.*; change the AAAA record of .*public IPv6 address/);
    const healthy = judgeSite(siteFacts([PUBLIC], ['2a00:1450::20']));
    expect(healthy.byId('dns.reach.matrix')).toMatchObject({
      status: 'pass',
      title: `Who can reach matrix.${SITE}`,
      detail: `Public addresses only (${PUBLIC}, 2a00:1450::20)`,
    });
    expect(healthy.findings.filter((x) => x.status === 'fail')).toEqual([]);
  });

  it('fails a mix of public and private answers, and asks to delete the private one', () => {
    const { byId } = judgeSite(siteFacts([PUBLIC, LAN_IP]));
    expect(byId('dns.reach.matrix')?.status).toBe('fail');
    expect(byId('dns.reach.matrix')?.detail).toContain(`Resolves to ${LAN_IP} (a private`);
    expect(byId('dns.reach.matrix')?.fix).toContain(`At your DNS provider, delete matrix.${SITE}'s A record ${LAN_IP} (${PUBLIC} stays)`);
  });

  it('gives the public address to publish when --expect-ip or ansible_host says it, and the split-horizon hint', () => {
    const { byId } = judgeSite(siteFacts([LAN_IP]), { ipv4: PUBLIC, from: '--expect-ip' });
    expect(byId('dns.reach.matrix')?.fix).toBe(
      `At your DNS provider, change the record to: matrix.${SITE}. 3600 IN A ${PUBLIC}. If a local DNS (the router, Pi-hole) serves the LAN address on purpose (split horizon), keep it there: the public zone at your DNS provider must carry the public address`,
    );
    // The record points elsewhere than the plan says, too.
    expect(byId('dns.record.matrix.a')?.status).toBe('fail');
  });

  it('fails the private address even when the plan expects it, and says the expected one is not the public one', () => {
    const { byId } = judgeSite(siteFacts([LAN_IP]), { ipv4: LAN_IP, from: `ansible_host of matrix.${SITE}` });
    // The record says what the configuration says…
    expect(byId('dns.record.matrix.a')?.status).toBe('pass');
    // …and no one outside the LAN reaches it.
    const reach = byId('dns.reach.matrix');
    expect(reach?.status).toBe('fail');
    expect(reach?.fix).toContain(
      `change the A record of matrix.${SITE} to your server's public IPv4 address (behind a home router: the router's, forwarding ports 80, 443 and 8448) (ansible_host of matrix.${SITE} gives ${LAN_IP}, a private (RFC 1918 / ULA) address: not that one)`,
    );
  });

  it.each(['example.org', 'example.com', 'example.net', 'lab.test', 'site.example', 'nowhere.invalid', 'box.localhost'])(
    'does not judge the addresses of %s, a name reserved for testing',
    (name) => {
      const { findings } = judgeSite(siteFacts([LAN_IP], ['::1'], name), {}, name);
      expect(findings.filter((x) => x.id.startsWith('dns.reach.'))).toEqual([]);
    },
  );

  it.each(['family.home.arpa', 'matrix.internal', 'hs.lan', 'house.local'])('notes LAN addresses of %s, a LAN-only name', (name) => {
    const { byId } = judgeSite(siteFacts([LAN_IP], [], name), {}, name);
    expect(byId('dns.reach.matrix')).toMatchObject({
      status: 'info',
      title: `Who can reach matrix.${name}`,
      detail: `matrix.${name} is a LAN-only name and resolves to ${LAN_IP} (a private (RFC 1918 / ULA) address): the LAN reaches it, as such a name intends; nobody elsewhere can even resolve it`,
    });
  });

  it('is the root cause of the failures of reaching that name', () => {
    const { findings } = judgeSite(siteFacts([LAN_IP]), { ipv4: LAN_IP });
    const connect: Finding = {
      id: 'federation.192_168_1_20_8448.connect',
      status: 'fail',
      title: 'connect',
      evidence: { host: `matrix.${SITE}`, address: LAN_IP, port: 8448 },
    };
    const other: Finding = { ...connect, id: 'federation.11_22_33_44_8448.connect', evidence: { host: `other.${SITE}` } };
    const linked = linkCauses([...findings, connect, other]);
    expect(linked.find((x) => x.id === connect.id)?.causedBy).toBe('dns.reach.matrix');
    expect(linked.find((x) => x.id === other.id)?.causedBy).toBeUndefined();
    expect(linked.find((x) => x.id === 'dns.reach.matrix')?.causedBy).toBeUndefined();
  });
});

describe('zone snippet', () => {
  it('renders BIND lines and a registrar table', () => {
    const text = renderZoneSnippet(
      [
        { name: `matrix.${NAME}`, type: 'A', value: IP, ttl: 3600 },
        { name: `element.${NAME}`, type: 'CNAME', value: `matrix.${NAME}`, ttl: 3600 },
        { name: NAME, type: 'TXT', value: 'v=spf1 -all', ttl: 3600 },
      ],
      NAME,
    );
    expect(text).toContain(`matrix.${NAME}. 3600 IN A ${IP}`);
    expect(text).toContain(`element.${NAME}. 3600 IN CNAME matrix.${NAME}.`);
    expect(text).toContain(`${NAME}. 3600 IN TXT "v=spf1 -all"`);
    expect(text).toMatch(/^CNAME\s+element\s+matrix\.example\.org\s+3600$/m);
    expect(text).toMatch(/^TXT\s+@\s+"v=spf1 -all"\s+3600$/m);
    expect(renderZoneSnippet([], NAME)).toBe('No records to add.\n');
    expect(recordLabel(`call.element.${NAME}`, NAME)).toBe('call.element');
  });
});
