// The rtc rules on hand-made facts: every step's verdict, the causes named (causedBy), and the
// media path told apart (wrong node IP, UDP blocked, nothing at all).
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../checks/core/finding.ts';
import { decodeJwtClaims, parseCandidate, type MediaFact, type RtcFacts, type SessionFact } from '../../checks/facts/rtc.ts';
import { judgeRtc } from '../../checks/rules/rtc.ts';
import { findingById } from '../find-finding.ts';

const SERVICE = 'https://matrix.example.org/livekit-jwt-service';
const FOCI = [{ type: 'livekit', livekit_service_url: SERVICE }];
const TRANSPORTS_URL = 'https://matrix.example.org/_matrix/client/unstable/org.matrix.msc4143/rtc/transports';

function media(transport: 'udp' | 'tcp', patch: Partial<MediaFact> = {}): MediaFact {
  return {
    transport,
    candidates: [
      {
        address: '203.0.113.10',
        port: 7882,
        transport: 'udp',
        type: 'host',
        tried: transport === 'udp',
        ...(transport === 'udp' ? {} : { why: 'UDP: tested in the other session' }),
      },
      {
        address: '203.0.113.10',
        port: 7881,
        transport: 'tcp',
        type: 'host',
        tcpType: 'passive',
        tried: transport === 'tcp',
        ...(transport === 'tcp' ? {} : { why: 'TCP: tested in the other session' }),
      },
    ],
    state: 'connected',
    iceMs: 40,
    dtlsMs: 200,
    firstPacketMs: 210,
    selected: { address: '203.0.113.10', port: transport === 'udp' ? 7882 : 7881, transport },
    ...patch,
  };
}

function session(transport: 'udp' | 'tcp', patch: Partial<SessionFact> = {}): SessionFact {
  return {
    transport,
    token: 'get_token',
    signal: {
      url: 'wss://matrix.example.org/livekit-server/rtc',
      address: '203.0.113.10',
      elapsedMs: 120,
      join: { serverVersion: '1.13.5', protocol: 17, room: 'r', identity: 'id', subscriberPrimary: true, iceServers: [] },
    },
    media: media(transport),
    cleanup: { leaveSent: true, closed: true, elapsedMs: 5 },
    ...patch,
  };
}

function healthy(): RtcFacts {
  const call = (url: string) => ({ url, address: '203.0.113.10', status: 200, elapsedMs: 10 });
  return {
    serverName: 'example.org',
    timeoutMs: 5000,
    wellKnown: {
      url: 'https://example.org/.well-known/matrix/client',
      status: 200,
      json: true,
      baseUrl: 'https://matrix.example.org',
      foci: FOCI,
    },
    auth: 'token',
    homeserver: { baseUrl: 'https://matrix.example.org', from: 'well-known' },
    api: call('https://matrix.example.org/_matrix/client/versions'),
    whoami: { ...call('https://matrix.example.org/_matrix/client/v3/account/whoami'), userId: '@alice:example.org', deviceId: 'DEV' },
    transports: { ...call(TRANSPORTS_URL), transports: FOCI },
    openid: {
      ...call('https://matrix.example.org/_matrix/client/v3/user/%40alice%3Aexample.org/openid/request_token'),
      userId: '@alice:example.org',
      matrixServerName: 'example.org',
      expiresIn: 3600,
    },
    focus: { serviceUrl: SERVICE, from: 'transports' },
    cors: { url: `${SERVICE}/get_token`, status: 200, allowOrigin: '*', allowMethods: 'POST', allowHeaders: 'Accept, Content-Type' },
    getToken: { ...call(`${SERVICE}/get_token`), endpoint: 'get_token', jwt: true, livekitUrl: 'wss://matrix.example.org/livekit-server' },
    sfuGet: { ...call(`${SERVICE}/sfu/get`), endpoint: 'sfu/get', jwt: true, livekitUrl: 'wss://matrix.example.org/livekit-server' },
    claims: {
      decoded: true,
      iss: 'key',
      sub: 'id',
      exp: Date.now() / 1000 + 3600,
      video: { roomJoin: true, room: 'r', canPublish: true, canSubscribe: true },
    },
    federation: {
      discovery: 'step 2',
      target: 'matrix.example.org:8448',
      url: 'https://matrix.example.org:8448/_matrix/federation/v1/openid/userinfo',
      status: 200,
      sub: '@alice:example.org',
    },
    sessions: [session('udp'), session('tcp')],
  };
}

const judge = (facts: RtcFacts) => {
  const findings = judgeRtc(facts);
  return { findings, byId: (id: string): Finding => findingById(findings, id) };
};

describe('rtc rules', () => {
  it('passes the healthy path, step by step', () => {
    const { findings } = judge(healthy());
    expect(findings.filter((f) => f.status !== 'pass')).toEqual([]);
    expect(findings.map((f) => f.id)).toEqual([
      'rtc.discovery.wellknown',
      'rtc.discovery.transports',
      'rtc.discovery.agree',
      'rtc.homeserver.auth',
      'rtc.homeserver.openid',
      'rtc.jwt.federation',
      'rtc.jwt.cors',
      'rtc.jwt.get-token',
      'rtc.jwt.sfu-get',
      'rtc.jwt.claims',
      'rtc.livekit.signal',
      'rtc.livekit.node-ip',
      'rtc.livekit.media-udp',
      'rtc.livekit.media-tcp',
      'rtc.cleanup',
    ]);
  });

  it('maps MISSING_MATRIX_RTC_FOCUS / _TRANSPORT to the missing key, and disagreement', () => {
    const noKey = healthy();
    noKey.wellKnown.foci = undefined;
    const { byId } = judge(noKey);
    expect(byId('rtc.discovery.wellknown').status).toBe('fail');
    expect(byId('rtc.discovery.wellknown').detail).toContain('MISSING_MATRIX_RTC_TRANSPORT');

    const other = healthy();
    other.wellKnown.foci = [{ type: 'livekit', livekit_service_url: 'https://old.example.org/livekit-jwt-service' }];
    expect(judge(other).byId('rtc.discovery.agree').status).toBe('fail');

    const noApi = healthy();
    noApi.transports = { url: noApi.transports!.url, status: 404, errcode: 'M_UNRECOGNIZED', elapsedMs: 3 };
    const transports = judge(noApi).byId('rtc.discovery.transports');
    expect(transports.status).toBe('warn');
    expect(transports.fix).toContain('msc4143_enabled');
  });

  it('fails a transports answer clients trust but cannot use, even with a focus in the well-known', () => {
    // Only a 404 M_UNRECOGNIZED sends Element X to the well-known (matrix-rust-sdk); these do not.
    const answers: [string, NonNullable<RtcFacts['transports']>][] = [
      ['Synapse without transports: 200 {}', { url: TRANSPORTS_URL, status: 200, elapsedMs: 3 }],
      ['an empty list', { url: TRANSPORTS_URL, status: 200, elapsedMs: 3, transports: [] }],
      ['no LiveKit entry', { url: TRANSPORTS_URL, status: 200, elapsedMs: 3, transports: [{ type: 'other', url: 'https://x.example' }] }],
    ];
    for (const [label, answer] of answers) {
      const facts = healthy();
      facts.transports = answer;
      const transports = judge(facts).byId('rtc.discovery.transports');
      expect(transports.status, label).toBe('fail');
      expect(transports.detail, label).toContain('answered 200 without a LiveKit transport');
      expect(transports.detail, label).toContain('do not fall back to the well-known');
      expect(transports.fix, label).toContain(`livekit_service_url: ${SERVICE}`);
      expect(transports.fix, label).toContain('matrix_synapse_matrix_rtc_transports');
    }
    const empty = healthy();
    empty.transports = { url: TRANSPORTS_URL, status: 200, elapsedMs: 3 };
    expect(judge(empty).byId('rtc.discovery.transports').detail).toContain('no rtc_transports at all');

    // A proxy's 404 without M_UNRECOGNIZED, or a 500, is an error to Element X, not a fallback.
    for (const [status, errcode] of [
      [404, undefined],
      [500, 'M_UNKNOWN'],
    ] as const) {
      const facts = healthy();
      facts.transports = { url: TRANSPORTS_URL, status, elapsedMs: 3, ...(errcode ? { errcode } : {}) };
      const transports = judge(facts).byId('rtc.discovery.transports');
      expect(transports.status, String(status)).toBe('fail');
      expect(transports.fix, String(status)).toContain('msc4143_enabled');
    }
  });

  it('a JWT service answering at MDAD\'s path with no focus anywhere is a failure, not "not set up"', () => {
    const withoutFocus = (health: number): RtcFacts => {
      const facts = healthy();
      facts.wellKnown.foci = undefined;
      facts.transports = { url: TRANSPORTS_URL, status: 404, errcode: 'M_UNRECOGNIZED', elapsedMs: 3 };
      facts.deployedJwtService = { url: `${SERVICE}/healthz`, status: health, elapsedMs: 3 };
      return facts;
    };
    const wk = judge(withoutFocus(200)).byId('rtc.discovery.wellknown');
    expect(wk.status).toBe('fail');
    expect(wk.detail).toContain(`yet a LiveKit JWT service answers at ${SERVICE} (MDAD's path)`);
    expect(wk.detail).toContain('MISSING_MATRIX_RTC_FOCUS');
    expect(wk.fix).toContain(`"org.matrix.msc4143.rtc_foci": [{"type": "livekit", "livekit_service_url": "${SERVICE}"}]`);
    // The twin: nothing answers there, so MatrixRTC is simply not set up.
    const notSetUp = judge(withoutFocus(404));
    expect(notSetUp.byId('rtc.discovery.wellknown').status).toBe('info');
    expect(notSetUp.byId('rtc.discovery.transports').status).toBe('info');
  });

  it('without a user and without MatrixRTC says only that it is not set up', () => {
    const facts: RtcFacts = { ...healthy(), auth: 'none', sessions: [] };
    facts.wellKnown.foci = undefined;
    for (const key of [
      'homeserver',
      'api',
      'whoami',
      'transports',
      'openid',
      'focus',
      'cors',
      'getToken',
      'sfuGet',
      'claims',
      'federation',
    ] as const)
      delete facts[key];
    const { findings } = judge(facts);
    expect(findings.map((f) => [f.id, f.status])).toEqual([['rtc.discovery.wellknown', 'info']]);
  });

  it('explains a 500 from /sfu/get by the federation userinfo', () => {
    const facts = healthy();
    facts.federation = {
      discovery: 'step 2',
      target: 'matrix.example.org:8448',
      url: 'https://matrix.example.org:8448/_matrix/federation/v1/openid/userinfo',
      failure: 'connection refused: nothing listens on that port',
    };
    facts.sfuGet = {
      ...facts.sfuGet!,
      status: 500,
      errcode: 'M_LOOKUP_FAILED',
      error: 'Failed to look up user info from homeserver',
      jwt: false,
    };
    facts.getToken = { ...facts.getToken!, status: 401, errcode: 'M_UNAUTHORIZED', jwt: false };
    facts.claims = undefined;
    facts.sessions = [];
    const { byId } = judge(facts);
    expect(byId('rtc.jwt.federation').fix).toContain('8448/tcp');
    expect(byId('rtc.jwt.sfu-get')).toMatchObject({ status: 'fail', causedBy: 'rtc.jwt.federation' });
    expect(byId('rtc.livekit.signal')).toMatchObject({ status: 'skip', causedBy: 'rtc.jwt.get-token' });
  });

  it('a 401 from the JWT service with federation fine points at the service itself', () => {
    const facts = healthy();
    facts.getToken = { ...facts.getToken!, status: 401, errcode: 'M_UNAUTHORIZED', jwt: false };
    const finding = judge(facts).byId('rtc.jwt.get-token');
    expect(finding.causedBy).toBeUndefined();
    expect(finding.detail).toContain('the service itself cannot reach it');
  });

  it('claims without grants fail', () => {
    const facts = healthy();
    facts.claims = { decoded: true, sub: 'id', exp: Date.now() / 1000 - 10, video: { room: 'r', canPublish: false } };
    const claims = judge(facts).byId('rtc.jwt.claims');
    expect(claims.status).toBe('fail');
    expect(claims.detail).toContain('no roomJoin grant');
    expect(claims.detail).toContain('already expired');
  });

  it('tells a private node IP, UDP blocked and nothing at all apart', () => {
    const privateIp = healthy();
    const untried = (m: MediaFact): MediaFact => ({
      ...m,
      state: 'no-candidates',
      candidates: m.candidates.map((c) => ({
        ...c,
        address: '10.0.0.5',
        tried: false,
        why: c.transport === m.transport ? "private address, not the server's (203.0.113.10)" : c.why,
      })),
    });
    privateIp.sessions = privateIp.sessions.map((s) => ({ ...s, media: untried(s.media!) }));
    const p = judge(privateIp);
    expect(p.byId('rtc.livekit.node-ip').status).toBe('fail');
    expect(p.byId('rtc.livekit.media-udp')).toMatchObject({ status: 'fail', causedBy: 'rtc.livekit.node-ip' });

    const udpBlocked = healthy();
    udpBlocked.sessions[0]!.media = media('udp', {
      state: 'timeout',
      failure: 'no connectivity check was answered within 5000 ms',
      iceMs: undefined,
    });
    const u = judge(udpBlocked);
    expect(u.byId('rtc.livekit.media-udp').status).toBe('warn');
    expect(u.byId('rtc.livekit.media-udp').fix).toContain('7882/udp');
    expect(u.byId('rtc.livekit.media-tcp').status).toBe('pass');

    const nothing = healthy();
    nothing.sessions[0]!.media = media('udp', { state: 'timeout', failure: 'no answer' });
    nothing.sessions[1]!.media = media('tcp', { state: 'failed', failure: 'ICE failed' });
    const n = judge(nothing);
    expect(n.byId('rtc.livekit.media-udp').status).toBe('fail');
    expect(n.byId('rtc.livekit.media-tcp').detail).toContain('TCP and UDP both fail');
  });

  it('a refused token at LiveKit names the shared secret', () => {
    const facts = healthy();
    facts.sessions = [
      session('udp', {
        signal: { url: 'wss://matrix.example.org/livekit-server/rtc', status: 401, reason: 'invalid token', elapsedMs: 20 },
      }),
    ];
    const signal = judge(facts).byId('rtc.livekit.signal');
    expect(signal.status).toBe('fail');
    expect(signal.fix).toContain('matrix_homeserver_generic_secret_key');
  });

  it('names the unfinished steps when the bound ran out', () => {
    const facts = { ...healthy(), sessions: [], unfinished: true };
    expect(judge(facts).byId('rtc.unfinished').detail).toContain('--timeout × 14 steps');
  });
});

describe('rtc facts', () => {
  it('parses ICE candidates of SDP and trickle', () => {
    expect(parseCandidate('candidate:1994143517 1 tcp 1671430143 203.0.113.10 7881 typ host tcptype passive ufrag x')).toEqual({
      address: '203.0.113.10',
      port: 7881,
      transport: 'tcp',
      type: 'host',
      tcpType: 'passive',
    });
    expect(parseCandidate('a=candidate:3408873213 1 udp 2130706431 10.0.0.5 7882 typ host')).toMatchObject({
      transport: 'udp',
      address: '10.0.0.5',
    });
    expect(parseCandidate('candidate:garbage')).toBeUndefined();
  });

  it('decodes JWT claims without the signature, and nothing else', () => {
    const payload = Buffer.from(JSON.stringify({ sub: 'me', exp: 1, video: { roomJoin: true }, secret: 'x' })).toString('base64url');
    expect(decodeJwtClaims(`e30.${payload}.sig`)).toEqual({ decoded: true, sub: 'me', exp: 1, video: { roomJoin: true } });
    expect(decodeJwtClaims('not-a-jwt')).toEqual({ decoded: false });
  });
});
