// The client-server API calls the TURN check makes as a calling client would: log in, fetch
// GET /_matrix/client/v3/voip/turnServer, log out; and GET <focus>/sfu/get of a MatrixRTC
// JWT service. Every call goes to an address found through the run's resolvers.
// Secrets (access token, TURN password) are handed back apart from the facts, which contain
// none of them and can be put in a report as they are. A probe: it never throws.
import { isIP } from 'node:net';
import { httpRequest } from './http.ts';
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

async function call(
  url: string,
  context: ClientContext,
  init: { method?: 'GET' | 'POST'; token?: string; body?: unknown } = {},
): Promise<Call> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const address = await addressOf(new URL(url).hostname, context);
  if (!address) return { fact: { url, failure: `${new URL(url).hostname} does not resolve`, elapsedMs: elapsed() } };
  const headers: Record<string, string> = { accept: 'application/json' };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const outcome: HttpOutcome = await httpRequest(url, {
    address,
    timeoutMs: context.timeoutMs,
    ca: context.ca,
    connectTo: context.connectTo,
    method: init.method ?? 'GET',
    // As a web client calls: a browser's User-Agent.
    userAgent: BROWSER_USER_AGENT,
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const fact: ApiCallFact = { url, address, elapsedMs: elapsed() };
  if (outcome.tls && !outcome.tls.authorized) fact.tlsError = outcome.tls.authorizationError ?? 'certificate not trusted';
  if (!outcome.ok) return { fact: { ...fact, failure: outcome.message } };
  fact.status = outcome.status;
  const body = parseObject(outcome.body);
  if (typeof body?.errcode === 'string') fact.errcode = body.errcode;
  return { fact, ...(body ? { body } : {}) };
}

export interface LoginResult {
  fact: ApiCallFact & { userId?: string };
  /** Secret: never put in a report. */
  accessToken?: string;
}

/** POST /_matrix/client/v3/login with a password (m.login.password, m.id.user). */
export async function login(baseUrl: string, user: string, password: string, context: ClientContext): Promise<LoginResult> {
  const { fact, body } = await call(joinPath(baseUrl, '_matrix/client/v3/login'), context, {
    method: 'POST',
    body: {
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user },
      password,
      initial_device_display_name: 'matrix-selfhost-toolkit TURN check',
    },
  });
  const token = typeof body?.access_token === 'string' ? body.access_token : undefined;
  const userId = typeof body?.user_id === 'string' ? body.user_id : undefined;
  return { fact: { ...fact, ...(userId ? { userId } : {}) }, ...(fact.status === 200 && token ? { accessToken: token } : {}) };
}

export async function logout(baseUrl: string, token: string, context: ClientContext): Promise<ApiCallFact> {
  return (await call(joinPath(baseUrl, '_matrix/client/v3/logout'), context, { method: 'POST', token, body: {} })).fact;
}

export interface TurnServerResult {
  fact: TurnServerFact;
  /** Secret: never put in a report. */
  credentials?: { username: string; password: string };
}

/** GET /_matrix/client/v3/voip/turnServer with the access token. */
export async function fetchTurnServer(baseUrl: string, token: string, context: ClientContext): Promise<TurnServerResult> {
  const { fact, body } = await call(joinPath(baseUrl, '_matrix/client/v3/voip/turnServer'), context, { token });
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

/** Local addresses: the only ones the check sends credentials to over plain HTTP. */
export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
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
