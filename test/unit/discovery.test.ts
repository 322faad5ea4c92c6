// Server discovery (docs/federation.md "Server discovery", steps 1–6 with 3.1–3.5) and the server-name
// grammar (docs/federation.md "Server names") on hand-made facts: well-known fetch chains and SRV answers, no network.
import { describe, expect, it } from 'vitest';
import { decideDiscovery, srvLookup, wellKnownDelegation, type DiscoveryInput } from '../../checks/facts/discovery.ts';
import { parseServerNameGrammar } from '../../checks/core/server-name.ts';
import type { FetchChain } from '../../checks/facts/http.ts';
import type { DnsOutcome } from '../../checks/facts/dns.ts';
import {
  chainOf,
  DNS_TIMEOUT,
  failure,
  jsonResponse,
  NXDOMAIN,
  redirect,
  response,
  SERVFAIL,
  srvAnswer,
  untrustedTls,
} from './fact-builders.ts';

const NAME = 'example.org';
const MX = 'matrix.example.org';
const WK = `https://${NAME}/.well-known/matrix/server`;

const fed = (host: string) => `_matrix-fed._tcp.${host}`;
const legacy = (host: string) => `_matrix._tcp.${host}`;

/** SRV answers: NXDOMAIN for both names of each host given, then the overrides. */
function srv(hosts: string[], overrides: Record<string, DnsOutcome> = {}): Record<string, DnsOutcome> {
  return {
    ...Object.fromEntries(
      hosts.flatMap((h) => [
        [fed(h), NXDOMAIN],
        [legacy(h), NXDOMAIN],
      ]),
    ),
    ...overrides,
  };
}

/** The well-known answering 200 with this document. */
function wellKnown(doc: unknown): FetchChain {
  return chainOf(jsonResponse(WK, doc));
}

/** A host name without port: the well-known and the SRV answers decide. */
function input(wk: FetchChain | undefined, answers: Record<string, DnsOutcome>): DiscoveryInput {
  return { host: NAME, isIpLiteral: false, wellKnown: wk, srv: answers };
}

describe('step 1: the server name is an IP literal', () => {
  it('IPv4 without a port: port 8448, Host and certificate name are the IP', () => {
    const d = decideDiscovery({ host: '192.0.2.1', isIpLiteral: true, srv: {} });
    expect(d).toMatchObject({
      step: '1',
      targets: [{ host: '192.0.2.1', port: 8448 }],
      hostHeader: '192.0.2.1',
      tlsName: '192.0.2.1',
      ignored: [],
      notes: [],
    });
    expect(d.problem).toBeUndefined();
  });

  it('IPv4 with a port: the port is used and kept in the Host header', () => {
    const d = decideDiscovery({ host: '192.0.2.1', port: 8449, isIpLiteral: true, srv: {} });
    expect(d).toMatchObject({
      step: '1',
      targets: [{ host: '192.0.2.1', port: 8449 }],
      hostHeader: '192.0.2.1:8449',
      tlsName: '192.0.2.1',
    });
  });

  it('IPv6 without a port: the Host header is bracketed, the certificate name is the bare address', () => {
    const d = decideDiscovery({ host: '2001:db8::1', isIpLiteral: true, srv: {} });
    expect(d).toMatchObject({
      step: '1',
      targets: [{ host: '2001:db8::1', port: 8448 }],
      hostHeader: '[2001:db8::1]',
      tlsName: '2001:db8::1',
    });
  });

  it('IPv6 with a port: [address]:port in the Host header', () => {
    const d = decideDiscovery({ host: '2001:db8::1', port: 443, isIpLiteral: true, srv: {} });
    expect(d).toMatchObject({
      step: '1',
      targets: [{ host: '2001:db8::1', port: 443 }],
      hostHeader: '[2001:db8::1]:443',
      tlsName: '2001:db8::1',
    });
  });

  it('does not look at a well-known or SRV records', () => {
    const d = decideDiscovery({
      host: '192.0.2.1',
      isIpLiteral: true,
      wellKnown: wellKnown({ 'm.server': `${MX}:443` }),
      srv: srv([], { [fed('192.0.2.1')]: srvAnswer(fed('192.0.2.1'), `10 0 443 ${MX}`) }),
    });
    expect(d.step).toBe('1');
    expect(d.targets).toEqual([{ host: '192.0.2.1', port: 8448 }]);
  });
});

describe('step 2: a host name with an explicit port', () => {
  it('connects to that port; Host is name:port, the certificate must cover the name; no well-known or SRV', () => {
    const d = decideDiscovery({
      host: NAME,
      port: 8449,
      isIpLiteral: false,
      wellKnown: wellKnown({ 'm.server': `${MX}:443` }),
      srv: srv([NAME], { [fed(NAME)]: srvAnswer(fed(NAME), `10 0 443 ${MX}`) }),
    });
    expect(d).toMatchObject({
      step: '2',
      targets: [{ host: NAME, port: 8449 }],
      hostHeader: `${NAME}:8449`,
      tlsName: NAME,
      ignored: [],
      notes: [],
    });
  });
});

describe('step 3: a valid /.well-known/matrix/server', () => {
  it('3.1: m.server is an IPv4 literal without port: that IP, port 8448, Host the IP', () => {
    const d = decideDiscovery(input(wellKnown({ 'm.server': '192.0.2.7' }), srv([NAME])));
    expect(d).toMatchObject({ step: '3.1', targets: [{ host: '192.0.2.7', port: 8448 }], hostHeader: '192.0.2.7', tlsName: '192.0.2.7' });
    expect(d.how).toContain('delegates to 192.0.2.7');
  });

  it('3.1: m.server is a bracketed IPv6 literal with a port: Host keeps brackets and port', () => {
    const d = decideDiscovery(input(wellKnown({ 'm.server': '[2001:db8::7]:8443' }), srv([NAME])));
    expect(d).toMatchObject({
      step: '3.1',
      targets: [{ host: '2001:db8::7', port: 8443 }],
      hostHeader: '[2001:db8::7]:8443',
      tlsName: '2001:db8::7',
    });
  });

  it('3.2: m.server is a host with a port: Host is host:port, certificate and SNI the delegated host', () => {
    const d = decideDiscovery(input(wellKnown({ 'm.server': `${MX}:443` }), srv([NAME])));
    expect(d).toMatchObject({
      step: '3.2',
      targets: [{ host: MX, port: 443 }],
      hostHeader: `${MX}:443`,
      tlsName: MX,
      ignored: [],
      notes: [],
    });
  });

  it('3.3: m.server without port, SRV _matrix-fed on the delegated host: targets from SRV, TLS name the delegated host, NOT the SRV target', () => {
    const answers = srv([NAME, MX], { [fed(MX)]: srvAnswer(fed(MX), '10 0 8443 fed.example.net') });
    const d = decideDiscovery(input(wellKnown({ 'm.server': MX }), answers));
    expect(d).toMatchObject({ step: '3.3', targets: [{ host: 'fed.example.net', port: 8443 }], hostHeader: MX, tlsName: MX });
    expect(d.tlsName).not.toBe('fed.example.net');
    expect(d.how).toContain(`SRV ${fed(MX)} gives 10 0 8443 fed.example.net`);
  });

  it('3.4: the deprecated _matrix SRV counts only when _matrix-fed is not found', () => {
    const answers = srv([NAME, MX], { [legacy(MX)]: srvAnswer(legacy(MX), '10 0 8448 old.example.net') });
    const d = decideDiscovery(input(wellKnown({ 'm.server': MX }), answers));
    expect(d).toMatchObject({ step: '3.4', targets: [{ host: 'old.example.net', port: 8448 }], hostHeader: MX, tlsName: MX });
    expect(d.how).toContain('deprecated');
  });

  it('3.4 is not reached when _matrix-fed exists: the _matrix record is listed as ignored', () => {
    const answers = srv([NAME, MX], {
      [fed(MX)]: srvAnswer(fed(MX), `10 0 443 ${MX}`),
      [legacy(MX)]: srvAnswer(legacy(MX), '10 0 8448 old.example.net'),
    });
    const d = decideDiscovery(input(wellKnown({ 'm.server': MX }), answers));
    expect(d.step).toBe('3.3');
    expect(d.targets).toEqual([{ host: MX, port: 443 }]);
    expect(d.ignored).toEqual([`SRV ${legacy(MX)} (10 0 8448 old.example.net): only used when _matrix-fed._tcp is missing`]);
  });

  it('3.5: no SRV on the delegated host: port 8448 of the delegated host', () => {
    const d = decideDiscovery(input(wellKnown({ 'm.server': MX }), srv([NAME, MX])));
    expect(d).toMatchObject({ step: '3.5', targets: [{ host: MX, port: 8448 }], hostHeader: MX, tlsName: MX });
    expect(d.problem).toBeUndefined();
  });

  it('3.3: a broken _matrix-fed lookup on the delegated host is a problem, not a fall back to _matrix', () => {
    const answers = srv([NAME, MX], { [fed(MX)]: SERVFAIL, [legacy(MX)]: srvAnswer(legacy(MX), '10 0 8448 old.example.net') });
    const d = decideDiscovery(input(wellKnown({ 'm.server': MX }), answers));
    expect(d.step).toBe('3.3');
    expect(d.targets).toEqual([]);
    expect(d.problem).toBe(`the SRV lookup of ${fed(MX)} failed (answered SERVFAIL), so servers cannot tell where you are`);
  });

  it('follows a redirect to the file on another host', () => {
    const wk = chainOf(
      redirect(WK, `https://${MX}/.well-known/matrix/server`, 301),
      jsonResponse(`https://${MX}/.well-known/matrix/server`, { 'm.server': `${MX}:443` }),
    );
    const d = decideDiscovery(input(wk, srv([NAME])));
    expect(d).toMatchObject({ step: '3.2', targets: [{ host: MX, port: 443 }] });
  });

  it('lists SRV records of the server name as ignored: a valid well-known takes precedence', () => {
    const answers = srv([NAME], {
      [fed(NAME)]: srvAnswer(fed(NAME), '10 0 8448 srv.example.org'),
      [legacy(NAME)]: srvAnswer(legacy(NAME), '10 0 8448 legacy.example.org'),
    });
    const d = decideDiscovery(input(wellKnown({ 'm.server': `${MX}:443` }), answers));
    expect(d.step).toBe('3.2');
    expect(d.targets).toEqual([{ host: MX, port: 443 }]);
    expect(d.ignored).toEqual([
      `SRV ${fed(NAME)} (10 0 8448 srv.example.org): a valid /.well-known/matrix/server takes precedence`,
      `SRV ${legacy(NAME)} (10 0 8448 legacy.example.org): a valid /.well-known/matrix/server takes precedence`,
    ]);
  });

  it('does not call an SRV record ignored when m.server names the server name itself and that record is used (3.3)', () => {
    // {"m.server": "example.org"} sends the resolver to SRV on example.org: the record decides.
    const answers = srv([NAME], { [fed(NAME)]: srvAnswer(fed(NAME), `10 0 443 ${MX}`) });
    const d = decideDiscovery(input(wellKnown({ 'm.server': NAME }), answers));
    expect(d.step).toBe('3.3');
    expect(d.targets).toEqual([{ host: MX, port: 443 }]);
    expect(d.ignored).toEqual([]);
  });
});

describe('steps 4–6: no usable well-known', () => {
  const notFound = chainOf(response(WK, 404, 'Not found', { headers: { 'content-type': 'text/html' } }));

  it('4: SRV _matrix-fed on the server name; Host and certificate name stay the server name', () => {
    const answers = srv([NAME], { [fed(NAME)]: srvAnswer(fed(NAME), `10 0 443 ${MX}`) });
    const d = decideDiscovery(input(notFound, answers));
    expect(d).toMatchObject({ step: '4', targets: [{ host: MX, port: 443 }], hostHeader: NAME, tlsName: NAME });
    expect(d.notes).toEqual(['/.well-known/matrix/server answered 404, so it does not count']);
  });

  it('5: the deprecated _matrix SRV when _matrix-fed does not exist', () => {
    const answers = srv([NAME], { [legacy(NAME)]: srvAnswer(legacy(NAME), `10 0 8448 ${MX}`) });
    const d = decideDiscovery(input(notFound, answers));
    expect(d).toMatchObject({ step: '5', targets: [{ host: MX, port: 8448 }], hostHeader: NAME, tlsName: NAME });
  });

  it('5 also follows a _matrix-fed name that exists without SRV records (NODATA)', () => {
    const answers = srv([NAME], { [fed(NAME)]: srvAnswer(fed(NAME)), [legacy(NAME)]: srvAnswer(legacy(NAME), `10 0 8448 ${MX}`) });
    expect(decideDiscovery(input(notFound, answers)).step).toBe('5');
  });

  it('6: no SRV: port 8448 of the server name itself', () => {
    const d = decideDiscovery(input(notFound, srv([NAME])));
    expect(d).toMatchObject({ step: '6', targets: [{ host: NAME, port: 8448 }], hostHeader: NAME, tlsName: NAME, ignored: [] });
    expect(d.problem).toBeUndefined();
  });

  it('a _matrix-fed lookup that times out is a problem, and _matrix is not used instead', () => {
    const answers = srv([NAME], { [fed(NAME)]: DNS_TIMEOUT, [legacy(NAME)]: srvAnswer(legacy(NAME), `10 0 8448 ${MX}`) });
    const d = decideDiscovery(input(notFound, answers));
    expect(d.step).toBe('4');
    expect(d.targets).toEqual([]);
    expect(d.problem).toBe(`the SRV lookup of ${fed(NAME)} failed (timeout: no resolver answered), so servers cannot tell where you are`);
  });

  it('a _matrix-fed lookup that was never made is a problem too (no silent step 6)', () => {
    const d = decideDiscovery(input(notFound, {}));
    expect(d.targets).toEqual([]);
    expect(d.problem).toContain('not asked');
  });

  it('orders SRV targets by priority, numerically (5 before 10 before 20)', () => {
    const answers = srv([NAME], {
      [fed(NAME)]: srvAnswer(fed(NAME), '20 0 8448 c.example.org', '10 0 8448 b.example.org', '5 0 443 a.example.org'),
    });
    const d = decideDiscovery(input(notFound, answers));
    expect(d.targets).toEqual([
      { host: 'a.example.org', port: 443 },
      { host: 'b.example.org', port: 8448 },
      { host: 'c.example.org', port: 8448 },
    ]);
  });

  it('srvLookup tells found, not found and error apart', () => {
    expect(srvLookup(srvAnswer(fed(NAME), `0 5 8448 ${MX}`), fed(NAME))).toEqual({
      state: 'found',
      values: [`0 5 8448 ${MX}`],
      targets: [{ host: MX, port: 8448 }],
    });
    expect(srvLookup(NXDOMAIN, fed(NAME))).toEqual({ state: 'not-found' });
    expect(srvLookup(srvAnswer(fed(NAME)), fed(NAME))).toEqual({ state: 'not-found' });
    expect(srvLookup(SERVFAIL, fed(NAME))).toEqual({ state: 'error', error: 'answered SERVFAIL' });
    expect(srvLookup(undefined, fed(NAME))).toEqual({ state: 'error', error: 'not asked' });
  });
});

describe('well-known responses that do not count (fall through to step 4)', () => {
  const cases: [string, FetchChain, string][] = [
    ['a 404', chainOf(response(WK, 404, '')), 'answered 404'],
    [
      'a body that is not JSON',
      chainOf(response(WK, 200, '<html>hello</html>', { headers: { 'content-type': 'text/html' } })),
      'is not a JSON object',
    ],
    ['a JSON array', chainOf(jsonResponse(WK, [{ 'm.server': `${MX}:443` }])), 'is not a JSON object'],
    ['no m.server', chainOf(jsonResponse(WK, { 'm.homeserver': { base_url: `https://${MX}` } })), 'has no m.server'],
    ['m.server not a string', chainOf(jsonResponse(WK, { 'm.server': 443 })), 'has an m.server that is not a string'],
    [
      'm.server with a scheme',
      chainOf(jsonResponse(WK, { 'm.server': `https://${MX}:443` })),
      `has an invalid m.server "https://${MX}:443" (it has a scheme (https://))`,
    ],
    [
      'm.server with a path',
      chainOf(jsonResponse(WK, { 'm.server': `${MX}:443/` })),
      `has an invalid m.server "${MX}:443/" (it has a path)`,
    ],
    [
      'an unbracketed IPv6 m.server',
      chainOf(jsonResponse(WK, { 'm.server': '2001:db8::7' })),
      'has an invalid m.server "2001:db8::7" (an IPv6 address must be in brackets)',
    ],
    [
      'a redirect loop',
      {
        hops: [
          { url: WK, outcome: redirect(WK, `https://${MX}/wk`) },
          { url: `https://${MX}/wk`, outcome: redirect(`https://${MX}/wk`, WK) },
        ],
        problem: 'loop',
        detail: `redirect loop back to ${WK}`,
      },
      `could not be fetched (redirect loop back to ${WK})`,
    ],
    [
      'a final 200 over an untrusted certificate',
      chainOf(jsonResponse(WK, { 'm.server': `${MX}:443` }, 200, { tls: untrustedTls('DEPTH_ZERO_SELF_SIGNED_CERT') })),
      `is served with a certificate servers refuse (DEPTH_ZERO_SELF_SIGNED_CERT at ${WK})`,
    ],
    [
      'a valid file reached through a redirect over an expired certificate',
      chainOf(
        redirect(WK, `https://${MX}/.well-known/matrix/server`, 301, { tls: untrustedTls('CERT_HAS_EXPIRED') }),
        jsonResponse(`https://${MX}/.well-known/matrix/server`, { 'm.server': `${MX}:443` }),
      ),
      `is served with a certificate servers refuse (CERT_HAS_EXPIRED at ${WK})`,
    ],
    [
      'a timeout',
      chainOf(failure(WK, 'tcp', 'timeout', 'no answer within the timeout during the TCP connect')),
      'could not be fetched (no answer within the timeout during the TCP connect)',
    ],
  ];

  it.each(cases)('%s', (_label, chain, reason) => {
    expect(wellKnownDelegation(chain)).toEqual({ ok: false, reason });
    const answers = srv([NAME], { [fed(NAME)]: srvAnswer(fed(NAME), `10 0 443 ${MX}`) });
    const d = decideDiscovery(input(chain, answers));
    expect(d.step).toBe('4');
    expect(d.targets).toEqual([{ host: MX, port: 443 }]);
    expect(d.notes).toEqual([`/.well-known/matrix/server ${reason}, so it does not count`]);
    expect(d.ignored).toEqual([]);
  });

  it('a well-known that was not fetched does not count either', () => {
    expect(wellKnownDelegation(undefined)).toEqual({ ok: false, reason: 'not fetched' });
  });

  it('a valid m.server is parsed into host, port and kind', () => {
    expect(wellKnownDelegation(wellKnown({ 'm.server': `${MX}:443` }))).toEqual({
      ok: true,
      value: `${MX}:443`,
      host: MX,
      port: 443,
      isIpLiteral: false,
    });
    expect(wellKnownDelegation(wellKnown({ 'm.server': '[2001:DB8::7]' }))).toEqual({
      ok: true,
      value: '[2001:DB8::7]',
      host: '2001:db8::7',
      port: undefined,
      isIpLiteral: true,
    });
  });
});

describe('parseServerNameGrammar (names found in documents)', () => {
  it('accepts host names, with and without a port, up to 65535', () => {
    expect(parseServerNameGrammar(MX)).toEqual({ ok: true, host: MX, port: undefined, isIpLiteral: false });
    expect(parseServerNameGrammar(`${MX}:1`)).toEqual({ ok: true, host: MX, port: 1, isIpLiteral: false });
    expect(parseServerNameGrammar(`${MX}:65535`)).toEqual({ ok: true, host: MX, port: 65535, isIpLiteral: false });
  });

  it.each(['0', '65536', '99999', '', '84a8', '-1'])('rejects the port "%s"', (port) => {
    expect(parseServerNameGrammar(`${MX}:${port}`)).toEqual({ ok: false, problem: 'its port is not a number from 1 to 65535' });
  });

  it('accepts IPv4 and bracketed IPv6 literals, IPv6 canonicalized', () => {
    expect(parseServerNameGrammar('192.0.2.1:8448')).toEqual({ ok: true, host: '192.0.2.1', port: 8448, isIpLiteral: true });
    expect(parseServerNameGrammar('[2001:db8::1]')).toEqual({ ok: true, host: '2001:db8::1', port: undefined, isIpLiteral: true });
    expect(parseServerNameGrammar('[2001:DB8:0::1]:8448')).toEqual({ ok: true, host: '2001:db8::1', port: 8448, isIpLiteral: true });
  });

  it('rejects an unbracketed IPv6 address and suggests the bracketed form', () => {
    expect(parseServerNameGrammar('2001:db8::1')).toEqual({
      ok: false,
      problem: 'an IPv6 address must be in brackets',
      suggestion: '[2001:db8::1]',
    });
  });

  it('rejects brackets around something that is not an IPv6 address', () => {
    expect(parseServerNameGrammar('[matrix.example.org]')).toMatchObject({
      ok: false,
      problem: '"[matrix.example.org]" is not a host name',
    });
    expect(parseServerNameGrammar('[2001:db8::1')).toMatchObject({ ok: false });
  });

  it('rejects the empty string', () => {
    expect(parseServerNameGrammar('')).toEqual({ ok: false, problem: 'it is empty' });
  });

  it('rejects a scheme or a path and suggests the bare name', () => {
    expect(parseServerNameGrammar(`https://${MX}:443`)).toEqual({
      ok: false,
      problem: 'it has a scheme (https://)',
      suggestion: `${MX}:443`,
    });
    expect(parseServerNameGrammar(`https://${MX}/`)).toEqual({ ok: false, problem: 'it has a scheme (https://)', suggestion: MX });
    expect(parseServerNameGrammar(`${MX}:8448/_matrix`)).toEqual({ ok: false, problem: 'it has a path', suggestion: `${MX}:8448` });
    expect(parseServerNameGrammar('/')).toEqual({ ok: false, problem: 'it has a path', suggestion: undefined });
  });

  it('rejects characters outside the DNS grammar and names longer than 255 characters', () => {
    expect(parseServerNameGrammar('exa_mple.org')).toEqual({ ok: false, problem: '"exa_mple.org" is not a host name' });
    expect(parseServerNameGrammar('matrix example.org')).toMatchObject({ ok: false });
    const long = `${'a'.repeat(63)}.`.repeat(4) + 'org'; // 259 characters
    expect(parseServerNameGrammar(long)).toMatchObject({ ok: false, problem: expect.stringContaining('is not a host name') });
    expect(parseServerNameGrammar(long.slice(-255))).toMatchObject({ ok: true });
  });
});
