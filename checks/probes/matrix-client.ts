// The client-server API calls the TURN check makes as a calling client would: log in, fetch
// GET /_matrix/client/v3/voip/turnServer, log out; and GET <focus>/sfu/get of a MatrixRTC
// JWT service. Every call goes to an address found through the run's resolvers.
// Secrets (access token, TURN password) are handed back apart from the facts, which contain
// none of them and can be put in a report as they are. A probe: it never throws.
import { isIP } from 'node:net';
import { httpRequest } from './http.ts';
import { type Credential, credentialFor, passwordLogin, type Placement, sendWithCredential } from './credentialed.ts';
import { BROWSER_USER_AGENT, type HttpOutcome } from '../facts/http.ts';
import type { ConnectTo } from '../core/net.ts';
import { resolveAddresses } from './resolve.ts';
import { CLIENT_ORIGIN, joinPath, parseObject, urlAt } from '../facts/wellknown.ts';
import { FOCI_KEY } from '../facts/rtc.ts';
import { fetchChain } from './fetch-chain.ts';
import type { NamedServer } from '../core/net.ts';
import type { ApiCallFact, TurnServerFact, WellKnownClientFact } from '../facts/turn.ts';

export interface ClientContext {
  resolvers: NamedServer[];
  timeoutMs: number;
  ca?: string;
  connectTo?: readonly ConnectTo[];
}

export async function addressOf(host: string, context: ClientContext): Promise<string | undefined> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare)) return bare;
  const lookup = await resolveAddresses(bare, context.resolvers, () => context.timeoutMs);
  return lookup.ipv4[0] ?? lookup.ipv6[0];
}

interface Call {
  fact: ApiCallFact;
  body?: Record<string, unknown>;
}

/** A client API call; with a credential, only as credentialed.ts allows (the secret in `place`, default the Authorization header). */
async function call(
  url: string,
  context: ClientContext,
  init: { method?: 'GET' | 'POST'; credential?: Credential; place?: Placement; body?: unknown } = {},
): Promise<Call> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const address = await addressOf(new URL(url).hostname, context);
  if (!address) return { fact: { url, failure: `${new URL(url).hostname} does not resolve`, elapsedMs: elapsed() } };
  const options = {
    address,
    timeoutMs: context.timeoutMs,
    ca: context.ca,
    connectTo: context.connectTo,
    method: init.method ?? 'GET',
    // As a web client calls: a browser's User-Agent.
    userAgent: BROWSER_USER_AGENT,
  } as const;
  const outcome: HttpOutcome = init.credential
    ? await sendWithCredential(url, init.credential, { ...options, ...(init.place ? { place: init.place } : {}), json: init.body })
    : await httpRequest(url, {
        ...options,
        headers: { accept: 'application/json', ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
  const fact: ApiCallFact = { url, address, elapsedMs: elapsed() };
  if (outcome.tls && !outcome.tls.authorized) fact.tlsError = outcome.tls.authorizationError ?? 'certificate not trusted';
  if (!outcome.ok) return { fact: { ...fact, failure: outcome.message, ...(outcome.withheld ? { withheld: outcome.withheld } : {}) } };
  fact.status = outcome.status;
  const body = parseObject(outcome.body);
  if (typeof body?.errcode === 'string') fact.errcode = body.errcode;
  return { fact, ...(body ? { body } : {}) };
}

/** A homeserver found by discoverHomeserver, as the origin its user's secrets belong to. */
export interface Homeserver {
  baseUrl: string;
  /** Where the base URL came from, in words: "--homeserver", "the client well-known of example.org", … */
  from: string;
}

/** The words for where discoverHomeserver found the base URL (a refusal names them). */
export function homeserverOrigin(
  baseUrl: string,
  from: '--homeserver' | 'well-known' | 'plan' | undefined,
  serverName: string,
): Homeserver {
  const words = {
    '--homeserver': '--homeserver',
    'well-known': `the client well-known of ${serverName}`,
    plan: "the plan's client well-known",
  };
  return { baseUrl, from: words[from ?? 'plan'] };
}

/** The homeserver's credential of this kind. */
export function homeserverCredential(home: Homeserver, kind: Credential['kind'], value: string): Credential {
  return credentialFor(kind, value, home.baseUrl, home.from);
}

export interface LoginResult {
  fact: ApiCallFact & { userId?: string; deviceId?: string };
  /** Secret: never put in a report. */
  accessToken?: string;
}

/** POST /_matrix/client/v3/login with a password (m.login.password, m.id.user); the password goes only to `home`. */
export async function login(
  home: Homeserver,
  user: string,
  password: string,
  context: ClientContext,
  device: string,
): Promise<LoginResult> {
  const { fact, body } = await call(joinPath(home.baseUrl, '_matrix/client/v3/login'), context, {
    method: 'POST',
    credential: homeserverCredential(home, 'password', password),
    place: passwordLogin(user, device),
  });
  const token = typeof body?.access_token === 'string' ? body.access_token : undefined;
  const userId = typeof body?.user_id === 'string' ? body.user_id : undefined;
  const deviceId = typeof body?.device_id === 'string' ? body.device_id : undefined;
  return {
    fact: { ...fact, ...(userId ? { userId } : {}), ...(deviceId ? { deviceId } : {}) },
    ...(fact.status === 200 && token ? { accessToken: token } : {}),
  };
}

export async function logout(home: Homeserver, token: string, context: ClientContext): Promise<ApiCallFact> {
  const credential = homeserverCredential(home, 'access token', token);
  return (await call(joinPath(home.baseUrl, '_matrix/client/v3/logout'), context, { method: 'POST', credential, body: {} })).fact;
}

/** GET /_matrix/client/v3/account/whoami with the access token. */
export async function whoami(
  home: Homeserver,
  token: string,
  context: ClientContext,
): Promise<ApiCallFact & { userId?: string; deviceId?: string }> {
  const credential = homeserverCredential(home, 'access token', token);
  const { fact, body } = await call(joinPath(home.baseUrl, '_matrix/client/v3/account/whoami'), context, { credential });
  const userId = typeof body?.user_id === 'string' ? body.user_id : undefined;
  const deviceId = typeof body?.device_id === 'string' ? body.device_id : undefined;
  return { ...fact, ...(userId ? { userId } : {}), ...(deviceId ? { deviceId } : {}) };
}

export interface TurnServerResult {
  fact: TurnServerFact;
  /** Secret: never put in a report. */
  credentials?: { username: string; password: string };
}

/** GET /_matrix/client/v3/voip/turnServer with the access token. */
export async function fetchTurnServer(home: Homeserver, token: string, context: ClientContext): Promise<TurnServerResult> {
  const credential = homeserverCredential(home, 'access token', token);
  const { fact, body } = await call(joinPath(home.baseUrl, '_matrix/client/v3/voip/turnServer'), context, { credential });
  const rawUris = Array.isArray(body?.uris) ? (body.uris as unknown[]) : [];
  const uris = rawUris.filter((u): u is string => typeof u === 'string');
  const username = typeof body?.username === 'string' ? body.username : undefined;
  const password = typeof body?.password === 'string' ? body.password : undefined;
  const result: TurnServerResult = {
    fact: {
      ...fact,
      json: body !== undefined,
      uris,
      badUris: rawUris.length - uris.length,
      ...(typeof body?.ttl === 'number' ? { ttl: body.ttl } : {}),
      hasUsername: username !== undefined,
      hasPassword: password !== undefined,
    },
  };
  if (fact.status === 200 && username !== undefined && password !== undefined) result.credentials = { username, password };
  return result;
}

/** GET <livekit_service_url>/sfu/get: lk-jwt-service answers 405 (it wants POST) when it is reachable. */
export async function probeJwtService(serviceUrl: string, context: ClientContext): Promise<ApiCallFact> {
  return (await call(joinPath(serviceUrl, 'sfu/get'), context)).fact;
}

export async function clientWellKnown(serverName: string, context: ClientContext): Promise<WellKnownClientFact> {
  const url = `https://${isIP(serverName) === 6 ? `[${serverName}]` : serverName}/.well-known/matrix/client`;
  const chain = await fetchChain(url, {
    resolvers: context.resolvers,
    remaining: () => context.timeoutMs,
    ca: context.ca,
    connectTo: context.connectTo,
    // As a web client asks: a browser's User-Agent and an Origin header.
    userAgent: BROWSER_USER_AGENT,
    headers: { origin: CLIENT_ORIGIN },
    maxBodyBytes: 64 * 1024,
  });
  const final = chain.final;
  const fact: WellKnownClientFact = { url, json: false };
  if (!final) return { ...fact, failure: chain.detail ?? chain.problem ?? 'no answer' };
  fact.status = final.status;
  if (final.tls && !final.tls.authorized) fact.failure = `certificate not valid: ${final.tls.authorizationError}`;
  const doc = final.status === 200 ? parseObject(final.body) : undefined;
  if (!doc) return fact;
  fact.json = true;
  const baseUrl = urlAt(doc, 'm.homeserver');
  if (baseUrl) fact.baseUrl = baseUrl;
  if (FOCI_KEY in doc) fact.foci = doc[FOCI_KEY];
  return fact;
}

/** The client API's base URL as a client finds it: --homeserver, else the served client well-known, else the plan's. */
export function discoverHomeserver(
  wellKnown: WellKnownClientFact,
  given: { homeserver?: string; planBaseUrl?: string },
): { baseUrl?: string; from?: '--homeserver' | 'well-known' | 'plan' } {
  if (given.homeserver) return { baseUrl: given.homeserver, from: '--homeserver' };
  if (wellKnown.baseUrl && !wellKnown.failure) return { baseUrl: wellKnown.baseUrl, from: 'well-known' };
  if (given.planBaseUrl) return { baseUrl: given.planBaseUrl, from: 'plan' };
  return {};
}
