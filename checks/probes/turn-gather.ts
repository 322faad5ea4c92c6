// Gathers what the TURN and MatrixRTC rules judge: the client well-known (homeserver URL,
// MatrixRTC foci), the homeserver's TURN configuration (log in, voip/turnServer, log out),
// each TURN URI's host resolved through the run's resolvers and probed on the wire, the LiveKit
// JWT service and LiveKit's TCP port. URIs are probed concurrently.
// Secrets go in through `secrets`/`auth` and never come out: the facts hold none of them.
import { isIP } from 'node:net';
import { fetchChain } from './fetch-chain.ts';
import { routeFor, type ConnectTo } from '../core/net.ts';
import { resolveAddresses } from './resolve.ts';
import type { AddressLookup } from '../facts/dns.ts';
import { CLIENT_ORIGIN, joinPath } from '../facts/wellknown.ts';
import { BROWSER_USER_AGENT } from '../facts/http.ts';
import {
  addressOf,
  type ClientContext,
  clientWellKnown,
  discoverHomeserver,
  fetchTurnServer,
  homeserverOrigin,
  login,
  logout,
  probeJwtService,
} from './matrix-client.ts';
import type { ApiCallFact } from '../facts/turn.ts';
import { plainHttpAllowed } from './credentialed.ts';
import { probeTcpPort } from './stun-transport.ts';
import { probeTurn } from './turn-probe.ts';
import type { TurnCredentials } from '../facts/turn.ts';
import { restCredentials } from './stun.ts';
import type { NamedServer } from '../core/net.ts';
import { livekitServiceUrls, parseTurnUri, routedServerAddresses, type TurnPlan } from '../facts/turn-config.ts';
import type { CredentialSource, TurnFacts, UriFact, WellKnownClientFact } from '../facts/turn.ts';

export interface TurnGatherInput {
  serverName: string;
  /** From a configured plan (--vars/--playbook) only. */
  plan?: TurnPlan;
  /** m.homeserver of the plan's client well-known, a fallback when the served one is unreadable. */
  planBaseUrl?: string;
  resolvers: NamedServer[];
  timeoutMs: number;
  ca?: string;
  /** --connect-to: HTTPS, TURN and LiveKit connections for HOST:PORT go there instead. */
  connectTo?: readonly ConnectTo[];
  /** --homeserver */
  homeserver?: string;
  auth?: { kind: 'token'; token: string } | { kind: 'login'; user: string; password: string };
  /** --turn-uri */
  turnUris: string[];
  secrets: { plan?: string; explicit?: string };
  /** --expect-ip or the inventory's ansible_host. */
  expected?: { addresses: string[]; from: string };
  /** Relay data between two allocations (default true). */
  roundTrip?: boolean;
}

const TOOL_USER = 'matrix-selfhost-toolkit';

function restFor(secret: string): TurnCredentials {
  return restCredentials(secret, TOOL_USER, Date.now() / 1000 + 3600);
}

export async function gatherTurn(input: TurnGatherInput): Promise<TurnFacts> {
  const context: ClientContext = { resolvers: input.resolvers, timeoutMs: input.timeoutMs, ca: input.ca, connectTo: input.connectTo };
  const wellKnown = await clientWellKnown(input.serverName, context);
  const facts: TurnFacts = {
    serverName: input.serverName,
    ...(input.plan ? { plan: input.plan } : {}),
    timeoutMs: input.timeoutMs,
    wellKnown,
    auth: input.auth?.kind ?? 'none',
    source: { uris: 'none', credentials: 'none', ignoredTurnUris: 0 },
    server: { addresses: [], from: '', strict: false },
    uris: [],
    rtc: { jwt: [] },
  };

  // The homeserver's view: what a logged-in client is handed.
  let homeserverCredentials: TurnCredentials | undefined;
  let pendingLogout: Promise<ApiCallFact> | undefined;
  const discovered = discoverHomeserver(wellKnown, input);
  const baseUrl = discovered.baseUrl;
  if (input.auth) {
    const problem =
      wellKnown.failure ??
      (wellKnown.json
        ? 'the client well-known has no usable m.homeserver base_url'
        : `${wellKnown.url} answered ${wellKnown.status} without a JSON object`);
    facts.homeserver = { ...discovered, ...(discovered.from !== 'well-known' && discovered.from !== '--homeserver' ? { problem } : {}) };
  }
  if (input.auth && baseUrl) {
    const api = await probeVersions(baseUrl, context);
    facts.api = api;
    // Whether the secrets may go there is credentialed.ts's to decide; these say why none went.
    const plainHttp = !baseUrl.startsWith('https:') && !plainHttpAllowed(baseUrl, undefined);
    if (plainHttp) facts.homeserver = { ...facts.homeserver, plainHttp };
    if (api.status === 200 && !api.tlsError && !plainHttp) {
      const home = homeserverOrigin(baseUrl, discovered.from, input.serverName);
      let token: string | undefined;
      if (input.auth.kind === 'token') token = input.auth.token;
      else {
        const result = await login(home, input.auth.user, input.auth.password, context, 'matrix-selfhost-toolkit TURN check');
        facts.login = result.fact;
        token = result.accessToken;
      }
      if (token) {
        const turn = await fetchTurnServer(home, token, context);
        facts.turnServer = turn.fact;
        homeserverCredentials = turn.credentials;
        if (input.auth.kind === 'login') pendingLogout = logout(home, token, context);
      }
    }
  }

  // Which URIs, with which credentials (in the order of preference of the issue).
  const homeserverUris = facts.turnServer?.uris ?? [];
  if (homeserverUris.length > 0) facts.source.uris = 'homeserver';
  else if (input.plan?.coturnEnabled) facts.source.uris = 'plan';
  else if (input.turnUris.length > 0) facts.source.uris = 'turn-uri';
  const uriTexts = { homeserver: homeserverUris, plan: input.plan?.uris ?? [], 'turn-uri': input.turnUris, none: [] }[facts.source.uris];
  if (facts.source.uris !== 'turn-uri') facts.source.ignoredTurnUris = input.turnUris.length;
  const candidates: { source: CredentialSource; credentials: TurnCredentials }[] = [];
  // The homeserver's TURN credentials go only to the TURN servers it named with them.
  if (homeserverCredentials && facts.source.uris === 'homeserver')
    candidates.push({ source: 'homeserver', credentials: homeserverCredentials });
  if (input.secrets.plan) candidates.push({ source: 'plan', credentials: restFor(input.secrets.plan) });
  if (input.secrets.explicit && input.secrets.explicit !== input.secrets.plan)
    candidates.push({ source: 'turn-secret', credentials: restFor(input.secrets.explicit) });
  const [primary, alternative] = candidates;
  if (primary) facts.source.credentials = primary.source;
  if (alternative) facts.source.alternative = alternative.source;

  // Where the server is: given, or the homeserver's host.
  if (input.expected && input.expected.addresses.length > 0) {
    facts.server = { addresses: input.expected.addresses, from: input.expected.from, strict: true };
  } else if (input.plan?.serverAddress) {
    facts.server = { addresses: [input.plan.serverAddress], from: 'ansible_host in the inventory', strict: true };
  } else {
    const host = baseUrl ? new URL(baseUrl).hostname : input.plan ? input.plan.coturnHost : undefined;
    if (host) {
      const lookup = await lookupHost(host, context);
      facts.server = { addresses: [...lookup.ipv4, ...lookup.ipv6], from: `the homeserver's host ${host}`, strict: false };
    }
  }

  const probes = uriTexts.map((text) => probeUri(text, input, facts.server, primary, alternative, context));
  const rtc = gatherRtc(input, wellKnown, context);
  const [uris, rtcFacts, logoutFact] = await Promise.all([Promise.all(probes), rtc, pendingLogout]);
  facts.uris = uris;
  facts.rtc = rtcFacts;
  if (logoutFact) facts.logout = logoutFact;
  return facts;
}

async function probeVersions(baseUrl: string, context: ClientContext): Promise<ApiCallFact> {
  const url = joinPath(baseUrl, '_matrix/client/versions');
  const started = performance.now();
  const address = await addressOf(new URL(url).hostname, context);
  if (!address) return { url, failure: `${new URL(url).hostname} does not resolve`, elapsedMs: Math.round(performance.now() - started) };
  const chain = await fetchChain(url, {
    address,
    resolvers: context.resolvers,
    remaining: () => context.timeoutMs,
    ca: context.ca,
    connectTo: context.connectTo,
    userAgent: BROWSER_USER_AGENT,
    headers: { origin: CLIENT_ORIGIN },
    maxHops: 0,
  });
  const final = chain.final;
  const tls = chain.hops[0]?.outcome.tls;
  const fact: ApiCallFact = { url, address, elapsedMs: Math.round(performance.now() - started) };
  if (tls && !tls.authorized) fact.tlsError = tls.authorizationError ?? 'certificate not trusted';
  if (final) fact.status = final.status;
  else fact.failure = chain.detail ?? chain.problem ?? 'no answer';
  return fact;
}

function lookupHost(host: string, context: ClientContext): Promise<AddressLookup> {
  if (isIP(host))
    return Promise.resolve({ name: host, ipv4: isIP(host) === 4 ? [host] : [], ipv6: isIP(host) === 6 ? [host] : [], aliases: [] });
  return resolveAddresses(host, context.resolvers, () => context.timeoutMs);
}

async function probeUri(
  text: string,
  input: TurnGatherInput,
  server: TurnFacts['server'],
  primary: { source: CredentialSource; credentials: TurnCredentials } | undefined,
  alternative: { source: CredentialSource; credentials: TurnCredentials } | undefined,
  context: ClientContext,
): Promise<UriFact> {
  const parse = parseTurnUri(text);
  if (!parse.ok) return { parse };
  const uri = parse.value;
  if (uri.scheme === 'turns' && uri.transport === 'udp') {
    return {
      parse,
      skipped: 'TURN over DTLS (turns: with transport=udp) is not probed; browsers do not use it either, they use turns: over TCP',
    };
  }
  const lookup = await lookupHost(uri.host, context);
  const route = routeFor(input.connectTo, uri.host, uri.port);
  // As curl's --connect-to: the route is taken whatever DNS says, even when it says nothing yet.
  const address = lookup.ipv4[0] ?? lookup.ipv6[0] ?? route?.address;
  if (!address) return { parse, lookup };
  // Data is relayed only to the server's own addresses: what the host resolves to, or the routed server.
  const serverAddresses = routedServerAddresses(route, server);
  const probe = await probeTurn(
    {
      uri: uri.uri,
      scheme: uri.scheme,
      transport: uri.transport,
      host: uri.host,
      port: uri.port,
      address,
      ...(route ? { via: { address: route.address, port: route.toPort } } : {}),
    },
    {
      ...(primary ? { credentials: primary.credentials } : {}),
      ...(alternative ? { alternative: { label: alternative.source, credentials: alternative.credentials } } : {}),
      timeoutMs: input.timeoutMs,
      ...(input.ca ? { ca: input.ca } : {}),
      relayPeers: [...lookup.ipv4, ...lookup.ipv6, ...serverAddresses],
      roundTrip: input.roundTrip ?? true,
    },
  );
  return { parse, lookup, probe };
}

async function gatherRtc(input: TurnGatherInput, wellKnown: WellKnownClientFact, context: ClientContext): Promise<TurnFacts['rtc']> {
  const urls = livekitServiceUrls(wellKnown.foci);
  const jwt = Promise.all(urls.map(async (url) => ({ url, fact: await probeJwtService(url, context) })));
  let tcp: Promise<TurnFacts['rtc']['tcp']> = Promise.resolve(undefined);
  if (urls.length > 0) {
    const host = new URL(urls[0]!).hostname.replace(/^\[|\]$/g, '');
    const port = input.plan?.livekitTcpPort ?? 7881;
    tcp = (async () => {
      const address = await addressOf(host, context);
      if (!address) return { host, port };
      const route = routeFor(input.connectTo, host, port);
      return { host, port, address, outcome: await probeTcpPort(route?.address ?? address, route?.toPort ?? port, input.timeoutMs) };
    })();
  }
  const [jwtFacts, tcpFact] = await Promise.all([jwt, tcp]);
  return { jwt: jwtFacts, ...(tcpFact ? { tcp: tcpFact } : {}) };
}
