// The DNS rules on hand-made facts: no network, every branch a person can meet.
import { describe, expect, it } from 'vitest';
import { judgeDns, renderZoneSnippet, dnsQuestions, dnsFollowUps, recordLabel } from '../../checks/rules/dns.ts';
import { interpret } from '../../checks/facts/dns-answers.ts';
import { isCloudflareProxy } from '../../checks/rules/cloudflare.ts';
import type { NamedServer } from '../../checks/core/net.ts';
import { questionKey, type DnsFacts } from '../../checks/facts/dns.ts';
import type { DnsOutcome, DnsRecord } from '../../checks/facts/dns.ts';
import type { Plan } from '../../checks/plan/types.ts';

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
