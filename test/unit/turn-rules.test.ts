// The TURN and MatrixRTC rules on hand-made facts: no network, every branch a self-hoster meets.
import { describe, expect, it } from 'vitest';
import { judgeTurn } from '../../checks/rules/turn.ts';
import {
  addressScope,
  livekitServiceUrls,
  parseTurnUri,
  turnPlan,
  uriSubjects,
  type TurnPlan,
  type TurnUri,
} from '../../checks/facts/turn-config.ts';
import type { TurnFacts, UriFact } from '../../checks/facts/turn.ts';
import type { Exchange, TurnProbeFacts } from '../../checks/facts/turn.ts';
import type { Finding } from '../../checks/core/finding.ts';
import { planFromVars } from '../../checks/plan/plan.ts';
import { findingById } from '../find-finding.ts';

const NAME = 'example.org';
const HOST = `matrix.${NAME}`;
const IP = '203.0.113.10';

const PLAN: TurnPlan = {
  coturnEnabled: true,
  coturnHost: HOST,
  uris: [`turn:${HOST}?transport=udp`],
  relayRange: { min: 49152, max: 49172 },
  ports: ['3478/tcp', '3478/udp', '5349/tcp', '5349/udp', '49152-49172/udp'],
  secretKnown: true,
  rtcEnabled: false,
};

const ok = (extra: Partial<Extract<Exchange, { ok: true }>> = {}): Extract<Exchange, { ok: true }> => ({
  ok: true,
  cls: 'success',
  fingerprint: 'valid',
  integrity: 'not-checked',
  elapsedMs: 2,
  sent: 1,
  ...extra,
});
const challenge = { ...ok({ cls: 'error', error: { code: 401, reason: 'Unauthorized' } }), realm: `turn.${HOST}`, hasNonce: true };

function uri(text: string): TurnUri {
  const parsed = parseTurnUri(text);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.value;
}

/** A healthy probe of one URI: Binding, 401, Allocate, round trip, release. */
function probe(text: string, overrides: Partial<TurnProbeFacts> = {}): TurnProbeFacts {
  const u = uri(text);
  const relayed = { family: 4 as const, address: IP, port: 49160 };
  return {
    target: { uri: text, scheme: u.scheme, transport: u.transport, host: u.host, port: u.port, address: IP },
    connection: { ok: true, elapsedMs: 1 },
    binding: { ...ok(), mapped: { family: 4, address: '198.51.100.20', port: 40000 } },
    challenge,
    allocate: { ...ok({ integrity: 'valid' }), relayed, lifetime: 600, staleNonceRetries: 0 },
    roundTrip: { attempted: true, ok: true, elapsedMs: 5, bytes: 64, relayedA: relayed, relayedB: { ...relayed, port: 49161 } },
    release: { allocations: 2, released: 2, failures: [] },
    elapsedMs: 20,
    ...overrides,
  };
}

function uriFact(text: string, overrides: Partial<TurnProbeFacts> = {}, addresses = [IP]): UriFact {
  return {
    parse: parseTurnUri(text),
    lookup: { name: uri(text).host, ipv4: addresses, ipv6: [], aliases: [] },
    probe: probe(text, overrides),
  };
}

function facts(overrides: Partial<TurnFacts> = {}): TurnFacts {
  return {
    serverName: NAME,
    plan: PLAN,
    timeoutMs: 2000,
    wellKnown: { url: `https://${NAME}/.well-known/matrix/client`, status: 200, json: true, baseUrl: `https://${HOST}` },
    auth: 'none',
    source: { uris: 'plan', credentials: 'plan', ignoredTurnUris: 0 },
    server: { addresses: [IP], from: 'ansible_host in the inventory', strict: true },
    uris: [uriFact(`turn:${HOST}?transport=udp`)],
    rtc: { jwt: [] },
    ...overrides,
  };
}

const finding = findingById;

function expectFixes(findings: Finding[]) {
  for (const f of findings) if (f.status === 'warn' || f.status === 'fail') expect(f.fix, f.id).toBeTruthy();
}

describe('TURN URIs, addresses and the plan', () => {
  it('parses RFC 7065 URIs with default ports and transports', () => {
    expect(parseTurnUri('turn:turn.example.org')).toEqual({
      ok: true,
      value: { uri: 'turn:turn.example.org', scheme: 'turn', host: 'turn.example.org', port: 3478, transport: 'udp' },
    });
    expect(parseTurnUri('turns:turn.example.org')).toMatchObject({ ok: true, value: { port: 5349, transport: 'tcp' } });
    expect(parseTurnUri('turn:[2001:db8::1]:3479?transport=tcp')).toMatchObject({
      ok: true,
      value: { host: '2001:db8::1', port: 3479, transport: 'tcp' },
    });
    expect(parseTurnUri('turn://turn.example.org')).toMatchObject({ ok: false });
    expect(parseTurnUri('stun:turn.example.org')).toMatchObject({ ok: false });
    expect(parseTurnUri('turn:bad_host')).toMatchObject({ ok: false, problem: '"bad_host" is not a host name or IP address' });
    expect(parseTurnUri('turn:h.example.org:70000')).toMatchObject({ ok: false });
  });

  it('names URIs by scheme, transport and port, adding the host only when two would collide', () => {
    expect(uriSubjects([uri('turn:a.example.org?transport=udp'), uri('turns:a.example.org?transport=tcp')])).toEqual([
      'turn-udp-3478',
      'turns-tcp-5349',
    ]);
    expect(uriSubjects([uri('turn:a.example.org'), uri('turn:b.example.org')])).toEqual([
      'turn-udp-3478-a_example_org',
      'turn-udp-3478-b_example_org',
    ]);
  });

  it('classifies addresses (documentation ranges stand for public ones)', () => {
    expect(addressScope('203.0.113.10')).toBe('public');
    expect(addressScope('8.8.8.8')).toBe('public');
    expect(addressScope('10.1.2.3')).toBe('private');
    expect(addressScope('172.20.0.1')).toBe('private');
    expect(addressScope('172.32.0.1')).toBe('public');
    expect(addressScope('192.168.1.1')).toBe('private');
    expect(addressScope('100.64.0.1')).toBe('cgnat');
    expect(addressScope('100.128.0.1')).toBe('public');
    expect(addressScope('127.78.0.2')).toBe('loopback');
    expect(addressScope('169.254.1.1')).toBe('link-local');
    expect(addressScope('::1')).toBe('loopback');
    expect(addressScope('fd00::1')).toBe('private');
    expect(addressScope('fe80::1')).toBe('link-local');
    expect(addressScope('2001:db8::1')).toBe('public');
    expect(addressScope('::ffff:10.0.0.1')).toBe('private');
  });

  it("reads coturn and MatrixRTC from a plan: MDAD's URIs, ports, relay range, secret known", () => {
    const plan = planFromVars({
      matrix_domain: NAME,
      matrix_homeserver_generic_secret_key: 'g',
      coturn_enabled: true,
      coturn_hostname: `turn.${NAME}`,
      matrix_rtc_enabled: true,
    });
    const turn = turnPlan(plan);
    expect(turn).toMatchObject({
      coturnEnabled: true,
      coturnHost: `turn.${NAME}`,
      uris: [
        `turns:turn.${NAME}?transport=udp`,
        `turns:turn.${NAME}?transport=tcp`,
        `turn:turn.${NAME}?transport=udp`,
        `turn:turn.${NAME}?transport=tcp`,
      ],
      relayRange: { min: 49152, max: 49172 },
      secretKnown: true,
      rtcEnabled: true,
      livekitTcpPort: 7881,
    });
    expect(JSON.stringify(turn)).not.toContain(plan.secrets.coturnStaticAuthSecret!);
    expect(turnPlan(planFromVars({ matrix_domain: NAME }))).toMatchObject({
      coturnEnabled: false,
      uris: [],
      secretKnown: false,
      rtcEnabled: false,
    });
  });

  it('keeps only LiveKit foci with an http(s) service URL', () => {
    expect(
      livekitServiceUrls([
        { type: 'livekit', livekit_service_url: 'https://m.example.org/livekit-jwt-service' },
        { type: 'other' },
        { type: 'livekit', livekit_service_url: 'ftp://x' },
        null,
        'x',
      ]),
    ).toEqual(['https://m.example.org/livekit-jwt-service']);
    expect(livekitServiceUrls({})).toEqual([]);
  });
});

describe('homeserver (F9: no TURN configured)', () => {
  const withHomeserver = (turnServer: Partial<NonNullable<TurnFacts['turnServer']>>, plan: TurnPlan | undefined = PLAN): TurnFacts =>
    facts({
      plan,
      auth: 'login',
      homeserver: { baseUrl: `https://${HOST}`, from: 'well-known' },
      api: { url: `https://${HOST}/_matrix/client/versions`, status: 200, elapsedMs: 1 },
      login: { url: '', status: 200, userId: `@alice:${NAME}`, elapsedMs: 1 },
      turnServer: {
        url: `https://${HOST}/_matrix/client/v3/voip/turnServer`,
        status: 200,
        json: true,
        uris: [],
        badUris: 0,
        hasUsername: false,
        hasPassword: false,
        elapsedMs: 1,
        ...turnServer,
      },
      logout: { url: '', status: 200, elapsedMs: 1 },
      uris: [],
      source: { uris: 'none', credentials: 'none', ignoredTurnUris: 0 },
    });

  it('fails {} like Element ("Call failed due to misconfigured server") and tells to enable coturn', () => {
    const findings = judgeTurn(withHomeserver({}, { ...PLAN, coturnEnabled: false, uris: [] }));
    const f = finding(findings, 'turn.homeserver.turnserver');
    expect(f.status).toBe('fail');
    expect(f.detail).toContain('Call failed due to misconfigured server');
    expect(f.fix).toContain('coturn_enabled: true');
    expect(f.fix).toContain("coturn_turn_external_ip_addresses: ['<the server's public IPv4>']");
    expect(f.fix).toContain('--tags=install-all,start');
    expect(finding(findings, 'turn.homeserver.login').status).toBe('pass');
    expect(finding(findings, 'turn.homeserver.logout').status).toBe('pass');
    expectFixes(findings);
  });

  it('says the playbook was not run when vars.yml enables coturn but Synapse has no URIs', () => {
    expect(finding(judgeTurn(withHomeserver({})), 'turn.homeserver.turnserver').fix).toContain(
      'vars.yml enables coturn but Synapse has no turn_uris',
    );
  });

  it('fails URIs without credentials, a refused token, rate limiting', () => {
    const noSecret = finding(judgeTurn(withHomeserver({ uris: ['turn:x.example.org'] })), 'turn.homeserver.turnserver');
    expect(noSecret).toMatchObject({ status: 'fail' });
    expect(noSecret.detail).toContain('without turn_shared_secret');
    expect(
      finding(judgeTurn(withHomeserver({ status: 401, errcode: 'M_UNKNOWN_TOKEN', json: true })), 'turn.homeserver.turnserver').detail,
    ).toContain('access token was refused');
    expect(finding(judgeTurn(withHomeserver({ status: 429 })), 'turn.homeserver.turnserver').status).toBe('warn');
    expect(
      finding(
        judgeTurn(withHomeserver({ uris: ['turn:x.example.org'], hasUsername: true, hasPassword: true, ttl: 86400 })),
        'turn.homeserver.turnserver',
      ),
    ).toMatchObject({ status: 'pass' });
  });

  it('fails a wrong password, and a certificate that does not verify (no credentials sent)', () => {
    const wrong = judgeTurn({
      ...withHomeserver({}),
      login: { url: '', status: 403, errcode: 'M_FORBIDDEN', elapsedMs: 1 },
      turnServer: undefined,
      logout: undefined,
    });
    expect(finding(wrong, 'turn.homeserver.login')).toMatchObject({ status: 'fail', fix: expect.stringContaining('MATRIX_PASSWORD') });
    const badTls = judgeTurn({
      ...withHomeserver({}),
      api: { url: `https://${HOST}/_matrix/client/versions`, status: 200, tlsError: 'CERT_HAS_EXPIRED', elapsedMs: 1 },
    });
    const api = finding(badTls, 'turn.homeserver.api');
    expect(api.status).toBe('fail');
    expect(api.detail).toContain('no credentials were sent');
    expect(badTls.map((f) => f.id)).not.toContain('turn.homeserver.login');
    const plain = judgeTurn({
      ...withHomeserver({}),
      homeserver: { baseUrl: `http://${HOST}`, from: '--homeserver', plainHttp: true },
      login: undefined,
      turnServer: undefined,
      logout: undefined,
    });
    expect(finding(plain, 'turn.homeserver.api').detail).toContain('plain HTTP');
  });

  it('fails discovery without a well-known, and warns when only the plan knew the homeserver', () => {
    const none = judgeTurn(
      facts({ auth: 'token', homeserver: { problem: 'https://example.org/.well-known/matrix/client answered 404 without a JSON object' } }),
    );
    expect(finding(none, 'turn.homeserver.discovery')).toMatchObject({ status: 'fail', fix: expect.stringContaining('--homeserver') });
    const fromPlan = judgeTurn({
      ...withHomeserver({}),
      homeserver: { baseUrl: `https://${HOST}`, from: 'plan', problem: 'answered 404' },
    });
    expect(finding(fromPlan, 'turn.homeserver.discovery').status).toBe('warn');
    expect(
      finding(judgeTurn({ ...withHomeserver({}), logout: { url: '', status: 500, elapsedMs: 1 } }), 'turn.homeserver.logout').status,
    ).toBe('warn');
  });
});

describe('configuration', () => {
  it('fails a plan without coturn when nothing else hands out TURN', () => {
    const findings = judgeTurn(
      facts({
        plan: { ...PLAN, coturnEnabled: false, uris: [] },
        uris: [],
        source: { uris: 'none', credentials: 'none', ignoredTurnUris: 0 },
      }),
    );
    expect(finding(findings, 'turn.config.uris')).toMatchObject({ status: 'fail', fix: expect.stringContaining('coturn_enabled: true') });
  });

  it('skips when there is nothing to probe, and lists the source otherwise', () => {
    expect(
      finding(
        judgeTurn(facts({ plan: undefined, uris: [], source: { uris: 'none', credentials: 'none', ignoredTurnUris: 0 } })),
        'turn.config.uris',
      ).status,
    ).toBe('skip');
    const info = finding(
      judgeTurn(facts({ source: { uris: 'homeserver', credentials: 'homeserver', alternative: 'plan', ignoredTurnUris: 1 } })),
      'turn.config.uris',
    );
    expect(info.status).toBe('info');
    expect(info.detail).toContain('cross-checked with the static auth secret MDAD derives');
    expect(info.detail).toContain('--turn-uri ignored');
  });

  it('fails malformed URIs and warns when Synapse hands out another host than vars.yml', () => {
    const findings = judgeTurn(
      facts({
        source: { uris: 'homeserver', credentials: 'homeserver', ignoredTurnUris: 0 },
        uris: [{ parse: parseTurnUri('turn://old.example.org') }, uriFact('turn:old.example.org?transport=udp')],
      }),
    );
    expect(finding(findings, 'turn.config.syntax').detail).toContain('turn://old.example.org');
    expect(finding(findings, 'turn.config.plan')).toMatchObject({ status: 'warn' });
    expect(finding(findings, 'turn.config.plan').detail).toContain(`vars.yml puts coturn at ${HOST}`);
  });
});

describe('one URI, step by step', () => {
  const text = `turn:${HOST}?transport=udp`;
  const judge = (overrides: Partial<TurnProbeFacts>, extra: Partial<TurnFacts> = {}, addresses = [IP]) =>
    judgeTurn(facts({ uris: [uriFact(text, overrides, addresses)], ...extra }));

  it('passes every step of a healthy URI', () => {
    const findings = judge({});
    for (const aspect of ['dns', 'reach', 'auth', 'integrity', 'relayed-address', 'relay', 'release']) {
      expect(finding(findings, `turn.turn-udp-3478.${aspect}`).status, aspect).toBe('pass');
    }
    expect(finding(findings, 'turn.turn-udp-3478.reach').detail).toContain('it sees this machine as 198.51.100.20:40000');
  });

  it('fails a host that does not resolve, or resolves elsewhere (warn when the server address is only guessed)', () => {
    const missing = judgeTurn(
      facts({ uris: [{ parse: parseTurnUri(text), lookup: { name: HOST, ipv4: [], ipv6: [], aliases: [], missing: true } }] }),
    );
    expect(finding(missing, 'turn.turn-udp-3478.dns')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining(`${HOST}. 3600 IN A ${IP}`),
    });
    expect(finding(missing, 'turn.turn-udp-3478.dns').detail).toContain('NXDOMAIN');
    const elsewhere = judge({}, {}, ['198.51.100.99']);
    expect(finding(elsewhere, 'turn.turn-udp-3478.dns').status).toBe('fail');
    const guessed = judge({}, { server: { addresses: [IP], from: "the homeserver's host", strict: false } }, ['198.51.100.99']);
    expect(finding(guessed, 'turn.turn-udp-3478.dns')).toMatchObject({ status: 'warn', fix: expect.stringContaining('--expect-ip') });
  });

  it('fails a host whose A record is stale while its AAAA record is right, and names the record to change', () => {
    const server = { addresses: [IP, '2001:db8::10'], from: '--expect-ip', strict: true };
    const mixed = {
      parse: parseTurnUri(text),
      lookup: { name: HOST, ipv4: ['198.51.100.99'], ipv6: ['2001:db8::10'], aliases: [] },
      probe: probe(text),
    };
    const dns = finding(judgeTurn(facts({ uris: [mixed], server })), 'turn.turn-udp-3478.dns');
    expect(dns).toMatchObject({ status: 'fail', fix: expect.stringContaining(`${HOST}. 3600 IN A ${IP}`) });
    expect(dns.detail).toContain('clients that use 198.51.100.99 reach another machine');
    // An address of a family the server's list lacks is not judged: it may be the server's too.
    const ipv4Only = { ...server, addresses: [IP] };
    const extraV6 = { ...mixed, lookup: { ...mixed.lookup, ipv4: [IP] } };
    expect(finding(judgeTurn(facts({ uris: [extraV6], server: ipv4Only })), 'turn.turn-udp-3478.dns').status).toBe('pass');
  });

  it('tells a silent UDP port (timeout after retransmissions) from a closed one and from a non-STUN answer', () => {
    const silent = finding(
      judge({ binding: { ok: false, error: 'timeout', message: '', elapsedMs: 2000, sent: 3, discarded: [] } }),
      'turn.turn-udp-3478.reach',
    );
    expect(silent.status).toBe('fail');
    expect(silent.detail).toContain('within 2000 ms (3 Binding requests sent, retransmitted as RFC 8489 prescribes)');
    expect(silent.detail).toContain('not tried after that: TURN allocation, relay');
    expect(silent.fix).toContain('Open 3478/udp');
    expect(silent.fix).toContain('49152-49172/udp');
    const closed = finding(
      judge({ binding: { ok: false, error: 'refused', message: '', elapsedMs: 1, sent: 1, discarded: [] } }),
      'turn.turn-udp-3478.reach',
    );
    expect(closed.detail).toContain('closed (ICMP port unreachable)');
    const garbage = finding(
      judge({
        binding: { ok: false, error: 'timeout', message: 'no answer', elapsedMs: 2000, sent: 3, discarded: ['no STUN magic cookie'] },
      }),
      'turn.turn-udp-3478.reach',
    );
    expect(garbage.status).toBe('fail');
    const ids = judge({ binding: { ok: false, error: 'refused', message: '', elapsedMs: 1, sent: 1, discarded: [] } }).map((f) => f.id);
    expect(ids).not.toContain('turn.turn-udp-3478.auth');
  });

  it('fails a refused, silent or TLS-failing TCP connection with the matching fix', () => {
    const tcp = `turn:${HOST}?transport=tcp`;
    const judgeTcp = (connection: TurnProbeFacts['connection']) =>
      finding(judgeTurn(facts({ uris: [uriFact(tcp, { connection })] })), 'turn.turn-tcp-3478.reach');
    expect(judgeTcp({ ok: false, error: 'refused', message: '', elapsedMs: 1 }).fix).toContain('systemctl start matrix-coturn');
    expect(judgeTcp({ ok: false, error: 'timeout', message: '', elapsedMs: 2000 }).detail).toContain('a firewall drops it');
    expect(judgeTcp({ ok: false, error: 'tls', message: 'handshake failure', elapsedMs: 5 }).fix).toContain('certificate');
  });

  it('fails a turns: certificate for another name', () => {
    const tls = `turns:${HOST}?transport=tcp`;
    const findings = judgeTurn(
      facts({
        uris: [
          uriFact(tls, {
            connection: {
              ok: true,
              elapsedMs: 3,
              tls: {
                protocol: 'TLSv1.2',
                authorized: false,
                authorizationError: 'ERR_TLS_CERT_ALTNAME_INVALID',
                sans: ['DNS:other.example.org'],
                subject: 'other.example.org',
              },
            },
          }),
        ],
      }),
    );
    const f = finding(findings, 'turn.turns-tcp-5349.tls');
    expect(f.status).toBe('fail');
    expect(f.detail).toContain('it is for DNS:other.example.org');
    expect(f.fix).toContain('coturn_hostname');
    expect(finding(findings, 'turn.turns-tcp-5349.auth').status).toBe('pass');
  });

  it('says which side has the wrong secret', () => {
    const refused = { ...ok({ cls: 'error', error: { code: 401, reason: 'Unauthorized' } }), staleNonceRetries: 0 };
    const auth = (credentials: TurnFacts['source']['credentials'], alternative?: TurnProbeFacts['alternative']) =>
      finding(
        judge(
          {
            allocate: refused,
            roundTrip: undefined,
            release: { allocations: alternative?.accepted ? 1 : 0, released: alternative?.accepted ? 1 : 0, failures: [] },
            ...(alternative ? { alternative } : {}),
          },
          { source: { uris: 'homeserver', credentials, ignoredTurnUris: 0 } },
        ),
        'turn.turn-udp-3478.auth',
      );
    const synapse = auth('homeserver', { label: 'plan', accepted: true, message: 'allocated' });
    expect(synapse.detail).toContain("Synapse's turn_shared_secret differs from coturn's static-auth-secret");
    expect(synapse.fix).toContain('matrix_synapse_turn_shared_secret');
    expect(auth('homeserver', { label: 'plan', accepted: false, code: 401, message: '401 Unauthorized' }).detail).toContain(
      'coturn runs with another static-auth-secret',
    );
    expect(auth('homeserver').detail).toContain('or the server clock is hours off');
    expect(auth('plan').fix).toContain('--tags=install-all,start');
    expect(auth('turn-secret').fix).toContain('static-auth-secret of turnserver.conf');
    const findings = judge({ allocate: refused, roundTrip: undefined, release: { allocations: 0, released: 0, failures: [] } });
    expect(findings.map((f) => f.id)).not.toContain('turn.turn-udp-3478.relayed-address');
    expect(findings.map((f) => f.id)).not.toContain('turn.turn-udp-3478.release');
  });

  it('fails an open relay, a missing challenge, quota errors; skips without credentials', () => {
    const open = finding(judge({ challenge: { ...ok(), hasNonce: false } }), 'turn.turn-udp-3478.auth');
    expect(open.detail).toContain('open relay');
    const noTurn = finding(
      judge({
        challenge: { ok: false, error: 'timeout', message: 'no answer', elapsedMs: 2000, sent: 3, discarded: [], hasNonce: false },
        allocate: undefined,
      }),
      'turn.turn-udp-3478.auth',
    );
    expect(noTurn.detail).toContain('answers STUN but not TURN Allocate');
    const quota = finding(
      judge({ allocate: { ...ok({ cls: 'error', error: { code: 508, reason: 'Insufficient Capacity' } }), staleNonceRetries: 0 } }),
      'turn.turn-udp-3478.auth',
    );
    expect(quota.fix).toContain('coturn_turn_udp_min_port');
    const anonymous = finding(
      judge(
        { allocate: undefined, roundTrip: undefined, release: { allocations: 0, released: 0, failures: [] } },
        { source: { uris: 'turn-uri', credentials: 'none', ignoredTurnUris: 0 } },
      ),
      'turn.turn-udp-3478.auth',
    );
    expect(anonymous.status).toBe('skip');
    expect(anonymous.detail).toContain(`401 challenge came (realm turn.${HOST})`);
  });

  it('fails answers whose FINGERPRINT or MESSAGE-INTEGRITY does not verify', () => {
    const f = finding(
      judge({ allocate: { ...ok({ integrity: 'invalid' }), relayed: { family: 4, address: IP, port: 49160 }, staleNonceRetries: 0 } }),
      'turn.turn-udp-3478.integrity',
    );
    expect(f.status).toBe('fail');
    expect(f.detail).toContain('Allocate: MESSAGE-INTEGRITY wrong');
    expect(finding(judge({ binding: { ...ok({ fingerprint: 'invalid' }) } }), 'turn.turn-udp-3478.integrity').detail).toContain(
      'Binding: FINGERPRINT wrong',
    );
    expect(
      finding(judge({ allocate: { ...ok({ integrity: 'absent' }), staleNonceRetries: 0 } }), 'turn.turn-udp-3478.integrity').status,
    ).toBe('warn');
  });

  it("fails a private or CGNAT relayed address with coturn's external-ip fix", () => {
    for (const address of ['10.0.0.5', '100.64.1.1', '172.17.0.2']) {
      const f = finding(
        judge({
          allocate: { ...ok({ integrity: 'valid' }), relayed: { family: 4, address, port: 49160 }, staleNonceRetries: 0 },
          roundTrip: {
            attempted: false,
            reason: `the relayed address ${address} is not an address of the server, so no data is sent to it`,
          },
        }),
        'turn.turn-udp-3478.relayed-address',
      );
      expect(f.status).toBe('fail');
      expect(f.detail).toContain(address);
      expect(f.fix).toContain(`coturn_turn_external_ip_addresses: ['${IP}']`);
      expect(f.fix).toContain('install-coturn');
    }
    // The host still resolves to an old address: the fix gives the server's known one.
    const privateRelay = {
      allocate: { ...ok({ integrity: 'valid' }), relayed: { family: 4 as const, address: '10.0.0.5', port: 49160 }, staleNonceRetries: 0 },
    };
    const staleHost = finding(judge(privateRelay, {}, ['198.51.100.99']), 'turn.turn-udp-3478.relayed-address');
    expect(staleHost.fix).toContain(`coturn_turn_external_ip_addresses: ['${IP}']`);
    // The fix names an address of the relayed address's family, whatever order the server's come in.
    const dualStack = { server: { addresses: ['2001:db8::10', IP], from: '--expect-ip', strict: true } };
    expect(finding(judge(privateRelay, dualStack), 'turn.turn-udp-3478.relayed-address').fix).toContain(
      `coturn_turn_external_ip_addresses: ['${IP}']`,
    );
  });

  it('fails a public relayed address that is not the server, and warns on a port outside the range', () => {
    const stale = finding(
      judge({
        allocate: { ...ok({ integrity: 'valid' }), relayed: { family: 4, address: '198.51.100.77', port: 49160 }, staleNonceRetries: 0 },
      }),
      'turn.turn-udp-3478.relayed-address',
    );
    expect(stale.status).toBe('fail');
    expect(stale.detail).toContain('external-ip is stale');
    const outside = finding(
      judge({ allocate: { ...ok({ integrity: 'valid' }), relayed: { family: 4, address: IP, port: 60000 }, staleNonceRetries: 0 } }),
      'turn.turn-udp-3478.relayed-address',
    );
    expect(outside.status).toBe('warn');
    expect(outside.detail).toContain('outside the relay range 49152-49172');
  });

  it('accepts a loopback relay when the host itself resolves there (the lab, a LAN)', () => {
    const lab = judge(
      {
        target: { uri: text, scheme: 'turn', transport: 'udp', host: HOST, port: 3478, address: '127.78.0.2' },
        allocate: { ...ok({ integrity: 'valid' }), relayed: { family: 4, address: '127.78.0.2', port: 49160 }, staleNonceRetries: 0 },
      },
      { server: { addresses: ['127.78.0.2'], from: "the homeserver's host", strict: false } },
      ['127.78.0.2'],
    );
    const f = finding(lab, 'turn.turn-udp-3478.relayed-address');
    expect(f.status).toBe('pass');
    expect(f.detail).toContain('a loopback address');
  });

  it('judges the relay round trip: skipped, refused permission, data lost', () => {
    expect(finding(judge({ roundTrip: { attempted: false, reason: 'x' } }), 'turn.turn-udp-3478.relay').status).toBe('skip');
    const permission = finding(
      judge({
        roundTrip: {
          attempted: true,
          ok: false,
          step: 'CreatePermission',
          message: 'CreatePermission on A answered 403 Forbidden',
          elapsedMs: 3,
        },
      }),
      'turn.turn-udp-3478.relay',
    );
    expect(permission.fix).toContain('denied-peer-ip');
    const lost = finding(
      judge({ roundTrip: { attempted: true, ok: false, step: 'data A to B', message: 'did not arrive', elapsedMs: 2000 } }),
      'turn.turn-udp-3478.relay',
    );
    expect(lost.fix).toContain('Open the relay range 49152-49172/udp');
    const full = finding(
      judge({
        roundTrip: {
          attempted: true,
          ok: false,
          step: 'second allocation',
          message: 'refused: 508 Cannot create socket',
          elapsedMs: 3,
          exchange: ok({ cls: 'error', error: { code: 508, reason: 'Cannot create socket' } }),
        },
      }),
      'turn.turn-udp-3478.relay',
    );
    expect(full.detail).toContain('no relay port left');
    expect(full.fix).toContain('coturn_turn_udp_max_port');
  });

  it('warns about allocations left behind', () => {
    const f = finding(judge({ release: { allocations: 2, released: 1, failures: ['no answer'] } }), 'turn.turn-udp-3478.release');
    expect(f.status).toBe('warn');
    expect(f.detail).toContain('1 of 2 allocation(s) not released (no answer)');
  });

  it('skips TURN over DTLS', () => {
    const f = finding(
      judgeTurn(facts({ uris: [{ parse: parseTurnUri(`turns:${HOST}?transport=udp`), skipped: 'TURN over DTLS is not probed' }] })),
      'turn.turns-udp-5349.reach',
    );
    expect(f.status).toBe('skip');
  });

  it('gives every warning and failure a fix', () => {
    expectFixes(judge({ binding: { ok: false, error: 'malformed', message: 'not STUN', elapsedMs: 1, sent: 1, discarded: [] } }));
    expectFixes(judge({ roundTrip: { attempted: true, ok: false, step: 'second allocation', message: 'refused', elapsedMs: 1 } }));
  });
});

describe('MatrixRTC (F12)', () => {
  const FOCI = [{ type: 'livekit', livekit_service_url: `https://${HOST}/livekit-jwt-service` }];
  const rtc = (overrides: Partial<TurnFacts>, plan: TurnPlan = { ...PLAN, rtcEnabled: true, expectedFoci: FOCI }) =>
    judgeTurn(facts({ plan, uris: [], ...overrides }));

  it('fails MISSING_MATRIX_RTC_FOCUS when vars.yml enables MatrixRTC and the well-known has no focus', () => {
    const f = finding(rtc({}), 'turn.rtc.foci');
    expect(f.status).toBe('fail');
    expect(f.detail).toContain('MISSING_MATRIX_RTC_FOCUS');
    expect(f.fix).toContain(
      `"org.matrix.msc4143.rtc_foci": [{"type": "livekit", "livekit_service_url": "https://${HOST}/livekit-jwt-service"}]`,
    );
    const unreadable = finding(
      rtc({ wellKnown: { url: `https://${NAME}/.well-known/matrix/client`, status: 404, json: false } }),
      'turn.rtc.foci',
    );
    expect(unreadable.detail).toContain('is unreadable (status 404)');
  });

  it('fails a foci key without a LiveKit focus, and is only informative when nothing asks for MatrixRTC', () => {
    const broken = finding(rtc({ wellKnown: { url: 'u', status: 200, json: true, foci: [{ type: 'livekit' }] } }, PLAN), 'turn.rtc.foci');
    expect(broken.status).toBe('fail');
    expect(finding(rtc({}, PLAN), 'turn.rtc.foci').status).toBe('info');
  });

  it('passes the JWT service on 405 and tells 404, 502, 200 and network failures apart', () => {
    const wellKnown = { url: 'u', status: 200, json: true, foci: FOCI };
    const jwt = (fact: Partial<NonNullable<TurnFacts['rtc']['jwt'][0]['fact']>>) =>
      finding(
        rtc({
          wellKnown,
          rtc: {
            jwt: [{ url: FOCI[0]!.livekit_service_url, fact: { url: `${FOCI[0]!.livekit_service_url}/sfu/get`, elapsedMs: 1, ...fact } }],
          },
        }),
        'turn.rtc.jwt-service',
      );
    expect(jwt({ status: 405 }).status).toBe('pass');
    expect(jwt({ status: 404 }).fix).toContain('Route /livekit-jwt-service');
    expect(jwt({ status: 502 }).fix).toContain('matrix-livekit-jwt-service');
    expect(jwt({ status: 200 }).detail).toContain('something else answers');
    expect(jwt({ failure: 'connection refused' }).status).toBe('fail');
    expect(jwt({ status: 405, tlsError: 'CERT_HAS_EXPIRED' }).detail).toContain('certificate does not verify');
    expect(finding(rtc({ wellKnown }), 'turn.rtc.foci').status).toBe('pass');
  });

  it("judges LiveKit's TCP port", () => {
    const wellKnown = { url: 'u', status: 200, json: true, foci: FOCI };
    const tcp = (outcome: NonNullable<TurnFacts['rtc']['tcp']>['outcome'], address: string | null = IP) =>
      finding(
        rtc({
          wellKnown,
          rtc: { jwt: [], tcp: { host: HOST, port: 7881, ...(address ? { address } : {}), ...(outcome ? { outcome } : {}) } },
        }),
        'turn.rtc.livekit-tcp',
      );
    expect(tcp({ ok: true, elapsedMs: 3 }).status).toBe('pass');
    const dropped = tcp({ ok: false, error: 'timeout', message: '', elapsedMs: 2000 });
    expect(dropped.detail).toContain('a firewall drops it');
    expect(dropped.fix).toContain('Open 7881/tcp');
    expect(tcp(undefined, null).detail).toContain('does not resolve');
  });
});
