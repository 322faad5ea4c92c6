// Gathers what the rtc rules judge, along the path an Element Call client takes (docs/turn.md
// "MatrixRTC and LiveKit"): the client well-known's rtc_foci; as the user, the MSC4143 transports
// API and an OpenID token; the JWT service's CORS preflight, POST /get_token (twice: one LiveKit
// participant per transport) and POST /sfu/get; the homeserver's federation userinfo, as the
// JWT service asks it; LiveKit's signalling and media over UDP and TCP (livekit-session.ts); the
// leave and the logout. Secrets (access token, password, OpenID token, LiveKit tokens) stay in
// local variables: the facts hold none of them. A probe: it never throws.
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { ConnectTo, NamedServer } from '../core/net.ts';
import {
  CALL_ORIGIN,
  decodeJwtClaims,
  type FederationUserinfoFact,
  type JwtCallFact,
  MDAD_JWT_SERVICE_PATH,
  type OpenIdFact,
  type RtcFacts,
  RTC_STEPS,
  type SessionFact,
  TRANSPORTS_PATH,
  transportServiceUrls,
} from '../facts/rtc.ts';
import type { TurnPlan } from '../facts/turn-config.ts';
import { livekitServiceUrls } from '../facts/turn-config.ts';
import type { ApiCallFact } from '../facts/turn.ts';
import { joinPath, parseObject } from '../facts/wellknown.ts';
import { gatherFederation } from './federation-gather.ts';
import { type Credential, credentialFor, type Placement, plainHttpAllowed, sendWithCredential } from './credentialed.ts';
import { httpRequest } from './http.ts';
import {
  addressOf,
  type ClientContext,
  clientWellKnown,
  discoverHomeserver,
  homeserverCredential,
  homeserverOrigin,
  login,
  logout,
  whoami,
} from './matrix-client.ts';

export interface RtcGatherInput {
  serverName: string;
  plan?: TurnPlan;
  /** m.homeserver of the plan's client well-known. */
  planBaseUrl?: string;
  homeserver?: string;
  resolvers: NamedServer[];
  timeoutMs: number;
  ca?: string;
  connectTo?: readonly ConnectTo[];
  auth?: { kind: 'token'; token: string } | { kind: 'login'; user: string; password: string };
}

interface Answer {
  fact: ApiCallFact;
  body?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** One request; with a credential, only as credentialed.ts allows (the secret in `place`, default the Authorization header). */
async function request(
  url: string,
  context: ClientContext,
  init: {
    method?: 'GET' | 'POST' | 'OPTIONS';
    credential?: Credential;
    place?: Placement;
    body?: unknown;
    headers?: Record<string, string>;
  } = {},
): Promise<Answer> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  // One step: the name lookup and the request share the timeout.
  const remaining = () => Math.max(1, started + context.timeoutMs - performance.now());
  const address = await addressOf(new URL(url).hostname, context);
  if (!address) return { fact: { url, failure: `${new URL(url).hostname} does not resolve`, elapsedMs: elapsed() } };
  const options = { address, timeoutMs: remaining(), ca: context.ca, connectTo: context.connectTo, method: init.method ?? 'GET' } as const;
  const outcome = init.credential
    ? await sendWithCredential(url, init.credential, {
        ...options,
        ...(init.headers ? { headers: init.headers } : {}),
        ...(init.place ? { place: init.place } : {}),
        json: init.body,
      })
    : await httpRequest(url, {
        ...options,
        headers: {
          accept: 'application/json',
          ...init.headers,
          ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
  const fact: ApiCallFact = { url, address, elapsedMs: elapsed() };
  if (outcome.tls && !outcome.tls.authorized) fact.tlsError = outcome.tls.authorizationError ?? 'certificate not trusted';
  if (!outcome.ok) return { fact: { ...fact, failure: outcome.message, ...(outcome.withheld ? { withheld: outcome.withheld } : {}) } };
  fact.status = outcome.status;
  const body = parseObject(outcome.body);
  if (typeof body?.errcode === 'string') fact.errcode = body.errcode;
  return { fact, headers: outcome.headers, ...(body ? { body } : {}) };
}

/** GET /_matrix/federation/v1/openid/userinfo where server discovery leads, as the JWT service does. */
async function federationUserinfo(
  serverName: string,
  openIdToken: string,
  input: RtcGatherInput,
  context: ClientContext,
): Promise<FederationUserinfoFact> {
  const name = /^(.*?)(?::(\d+))?$/.exec(serverName)!;
  const host = name[1]!;
  const federation = await gatherFederation({
    host,
    ...(name[2] ? { port: Number(name[2]) } : {}),
    isIpLiteral: isIP(host.replace(/^\[|\]$/g, '')) !== 0,
    resolvers: input.resolvers,
    timeoutMs: input.timeoutMs,
    ca: input.ca,
    connectTo: input.connectTo,
  });
  const discovery = federation.discovery;
  const fact: FederationUserinfoFact = { discovery: `step ${discovery.step}: ${discovery.how}` };
  const index = discovery.targets.findIndex(
    (_, i) => (federation.lookups[i]?.ipv4.length ?? 0) + (federation.lookups[i]?.ipv6.length ?? 0) > 0,
  );
  const target = discovery.targets[Math.max(0, index)];
  if (!target) {
    fact.failure = 'server discovery found no federation endpoint';
    return fact;
  }
  fact.target = `${target.host}:${target.port}`;
  const lookup = federation.lookups[Math.max(0, index)];
  const address = lookup?.ipv4[0] ?? lookup?.ipv6[0];
  const urlHost = isIP(target.host) === 6 ? `[${target.host}]` : target.host;
  const path = '/_matrix/federation/v1/openid/userinfo';
  fact.url = `https://${urlHost}:${target.port}${path}`;
  if (!address) {
    fact.failure = `${target.host} does not resolve`;
    return fact;
  }
  fact.address = address;
  // The OpenID token belongs to the federation endpoint of the server that issued it.
  const credential = credentialFor('OpenID token', openIdToken, fact.url, `server discovery of ${serverName}`);
  const outcome = await sendWithCredential(fact.url, credential, {
    address,
    timeoutMs: context.timeoutMs,
    ca: input.ca,
    connectTo: input.connectTo,
    servername: isIP(discovery.tlsName) ? undefined : discovery.tlsName,
    hostHeader: discovery.hostHeader,
    place: { in: 'query', name: 'access_token' },
  });
  if (outcome.tls && !outcome.tls.authorized) fact.tlsError = outcome.tls.authorizationError ?? 'certificate not trusted';
  if (!outcome.ok) {
    fact.failure = outcome.message;
    if (outcome.withheld) fact.withheld = outcome.withheld;
    return fact;
  }
  fact.status = outcome.status;
  const body = parseObject(outcome.body);
  if (typeof body?.errcode === 'string') fact.errcode = body.errcode;
  if (typeof body?.sub === 'string') fact.sub = body.sub;
  return fact;
}

function jwtCall(endpoint: JwtCallFact['endpoint'], answer: Answer): { fact: JwtCallFact; jwt?: string } {
  const body = answer.body;
  const jwt = answer.fact.status === 200 && typeof body?.jwt === 'string' ? body.jwt : undefined;
  const fact: JwtCallFact = { ...answer.fact, endpoint, jwt: jwt !== undefined };
  if (typeof body?.error === 'string') fact.error = body.error.slice(0, 200);
  if (typeof body?.url === 'string') fact.livekitUrl = body.url;
  return { fact, ...(jwt ? { jwt } : {}) };
}

/**
 * Everything, bounded by --timeout × RTC_STEPS: each step has its own timeout; should the sum
 * still run over, the facts gathered so far are returned with `unfinished` set.
 */
export async function gatherRtc(input: RtcGatherInput): Promise<RtcFacts> {
  const facts: RtcFacts = {
    serverName: input.serverName,
    timeoutMs: input.timeoutMs,
    ...(input.plan ? { plan: input.plan } : {}),
    wellKnown: { url: `https://${input.serverName}/.well-known/matrix/client`, json: false },
    auth: input.auth?.kind ?? 'none',
    sessions: [],
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const budget = new Promise<RtcFacts>((resolve) => {
    timer = setTimeout(() => resolve({ ...facts, unfinished: true }), input.timeoutMs * RTC_STEPS);
  });
  try {
    return await Promise.race([gatherInto(facts, input).then(() => facts), budget]);
  } finally {
    clearTimeout(timer);
  }
}

async function gatherInto(facts: RtcFacts, input: RtcGatherInput): Promise<void> {
  const context: ClientContext = { resolvers: input.resolvers, timeoutMs: input.timeoutMs, ca: input.ca, connectTo: input.connectTo };
  const wellKnown = await clientWellKnown(input.serverName, context);
  facts.wellKnown = wellKnown;
  const discovered = discoverHomeserver(wellKnown, input);
  // No focus to find: is a JWT service deployed at MDAD's path all the same? Asked without any
  // credential, at the Matrix host the client API is on.
  if (livekitServiceUrls(wellKnown.foci).length === 0) {
    const matrixHost = discovered.baseUrl?.startsWith('https://') ? new URL(discovered.baseUrl).host : `matrix.${input.serverName}`;
    facts.deployedJwtService = (await request(`https://${matrixHost}${MDAD_JWT_SERVICE_PATH}/healthz`, context)).fact;
  }
  if (!input.auth) return;
  facts.homeserver = { ...discovered };
  const baseUrl = discovered.baseUrl;
  if (!baseUrl) {
    facts.homeserver.problem = wellKnown.failure ?? 'the client well-known has no usable m.homeserver base_url';
    return;
  }

  // Whether the secrets may go there is credentialed.ts's to decide; these say why none went.
  const versions = await request(joinPath(baseUrl, '_matrix/client/versions'), context);
  facts.api = versions.fact;
  const plainHttp = !baseUrl.startsWith('https:') && !plainHttpAllowed(baseUrl, undefined);
  if (plainHttp) facts.homeserver.plainHttp = true;
  if (versions.fact.status !== 200 || versions.fact.tlsError || plainHttp) return;
  const home = homeserverOrigin(baseUrl, discovered.from, input.serverName);

  let accessToken: string | undefined;
  let userId: string | undefined;
  let deviceId: string | undefined;
  if (input.auth.kind === 'login') {
    const login_ = await login(home, input.auth.user, input.auth.password, context, 'matrix-selfhost-toolkit rtc check');
    userId = login_.fact.userId;
    deviceId = login_.fact.deviceId;
    const { deviceId: _device, ...loginFact } = login_.fact;
    facts.login = loginFact;
    accessToken = login_.accessToken;
  } else {
    accessToken = input.auth.token;
    const me = await whoami(home, accessToken, context);
    userId = me.userId;
    deviceId = me.deviceId;
    facts.whoami = me;
    if (me.status !== 200) accessToken = undefined;
  }
  if (!accessToken || !userId) return;

  try {
    // The transports API and the OpenID token, as the client asks them.
    const token = homeserverCredential(home, 'access token', accessToken);
    const [transports, openid] = await Promise.all([
      request(joinPath(baseUrl, TRANSPORTS_PATH), context, { credential: token }),
      request(joinPath(baseUrl, `_matrix/client/v3/user/${encodeURIComponent(userId)}/openid/request_token`), context, {
        method: 'POST',
        credential: token,
        body: {},
      }),
    ]);
    facts.transports = {
      ...transports.fact,
      ...(transports.body && 'rtc_transports' in transports.body ? { transports: transports.body.rtc_transports } : {}),
    };
    const openIdBody = openid.body;
    const openIdToken = openid.fact.status === 200 && typeof openIdBody?.access_token === 'string' ? openIdBody.access_token : undefined;
    const openIdFact: OpenIdFact = { ...openid.fact, userId };
    if (typeof openIdBody?.matrix_server_name === 'string') openIdFact.matrixServerName = openIdBody.matrix_server_name;
    if (typeof openIdBody?.expires_in === 'number') openIdFact.expiresIn = openIdBody.expires_in;
    facts.openid = openIdFact;

    // The focus a client would use: the transports API's first, else the well-known's.
    const fromApi = transportServiceUrls(facts.transports.transports);
    const fromWellKnown = livekitServiceUrls(wellKnown.foci);
    const serviceUrl = fromApi[0] ?? fromWellKnown[0];
    if (!serviceUrl || !openIdToken || !openIdFact.matrixServerName) return;
    facts.focus = { serviceUrl, from: fromApi[0] ? 'transports' : 'well-known' };

    const run = randomBytes(6).toString('hex');
    // A room id of its own per run: nothing of a real room is touched, and nothing is left in one.
    const roomId = `!matrix-selfhost-toolkit-rtc-check-${run}:${input.serverName}`;
    const device = deviceId ?? 'RTCCHECK';
    // The OpenID token is made for the JWT service the homeserver (or its verified well-known) names.
    const serviceFrom =
      facts.focus.from === 'transports' ? "the homeserver's rtc transports" : `the client well-known of ${input.serverName}`;
    const openIdCredential = credentialFor('OpenID token', openIdToken, serviceUrl, serviceFrom);
    const matrixServerName = openIdFact.matrixServerName;
    const openIdBodyForService = (secret: string) => ({
      access_token: secret,
      token_type: 'Bearer',
      matrix_server_name: matrixServerName,
      expires_in: openIdFact.expiresIn ?? 3600,
    });
    const getToken = (transport: string) =>
      request(joinPath(serviceUrl, 'get_token'), context, {
        method: 'POST',
        headers: { origin: CALL_ORIGIN },
        credential: openIdCredential,
        place: {
          in: 'body',
          json: (secret) => ({
            room_id: roomId,
            slot_id: 'm.call#ROOM',
            openid_token: openIdBodyForService(secret),
            member: { id: `rtc-check-${run}-${transport}`, claimed_user_id: userId, claimed_device_id: device },
          }),
        },
      });
    const [cors, udpToken, tcpToken, legacy, federation] = await Promise.all([
      request(joinPath(serviceUrl, 'get_token'), context, {
        method: 'OPTIONS',
        headers: { origin: CALL_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      }),
      getToken('udp'),
      getToken('tcp'),
      request(joinPath(serviceUrl, 'sfu/get'), context, {
        method: 'POST',
        headers: { origin: CALL_ORIGIN },
        credential: openIdCredential,
        place: { in: 'body', json: (secret) => ({ room: roomId, openid_token: openIdBodyForService(secret), device_id: device }) },
      }),
      federationUserinfo(matrixServerName, openIdToken, input, context),
    ]);
    facts.cors = {
      url: cors.fact.url,
      ...(cors.fact.status !== undefined ? { status: cors.fact.status } : {}),
      ...(cors.fact.failure ? { failure: cors.fact.failure } : {}),
      ...(cors.headers?.['access-control-allow-origin'] ? { allowOrigin: cors.headers['access-control-allow-origin'] } : {}),
      ...(cors.headers?.['access-control-allow-methods'] ? { allowMethods: cors.headers['access-control-allow-methods'] } : {}),
      ...(cors.headers?.['access-control-allow-headers'] ? { allowHeaders: cors.headers['access-control-allow-headers'] } : {}),
    };
    const udp = jwtCall('get_token', udpToken);
    const tcp = jwtCall('get_token', tcpToken);
    const old = jwtCall('sfu/get', legacy);
    facts.getToken = udp.fact;
    facts.sfuGet = old.fact;
    facts.federation = federation;
    const first = udp.jwt ? { jwt: udp.jwt, url: udp.fact.livekitUrl } : old.jwt ? { jwt: old.jwt, url: old.fact.livekitUrl } : undefined;
    if (!first?.url) return;
    facts.claims = decodeJwtClaims(first.jwt);

    // LiveKit: one participant per transport, at once (two /get_token identities); with only
    // /sfu/get's token (one identity), one after the other.
    const livekitHost = new URL(first.url).hostname;
    const livekitAddress = await addressOf(livekitHost, context);
    // The WebRTC stack (werift and its X.509 and crypto libraries, 70 ms to load) only once a
    // session is to run: doctor and the sandbox start without it.
    const { runSession } = await import('./livekit-session.ts');
    const session = (jwt: string, token: SessionFact['token'], transport: 'udp' | 'tcp') =>
      runSession({
        livekitUrl: first.url!,
        jwt,
        token,
        transport,
        ...(livekitAddress ? { address: livekitAddress } : {}),
        timeoutMs: input.timeoutMs,
        ...(input.ca ? { ca: input.ca } : {}),
        ...(input.connectTo ? { connectTo: input.connectTo } : {}),
      });
    if (udp.jwt && tcp.jwt) {
      facts.sessions = await Promise.all([session(udp.jwt, 'get_token', 'udp'), session(tcp.jwt, 'get_token', 'tcp')]);
    } else {
      const token = udp.jwt ? 'get_token' : 'sfu/get';
      const udpSession = await session(first.jwt, token, 'udp');
      facts.sessions = [udpSession];
      // Over TCP only when signalling worked (a refused token stays refused).
      if (udpSession.signal.join) facts.sessions.push(await session(first.jwt, token, 'tcp'));
    }
    return;
  } finally {
    if (input.auth.kind === 'login' && accessToken) facts.logout = await logout(home, accessToken, context);
  }
}
