// Gathers the outbound facts: whether the homeserver itself reaches other servers, seen through
// what it offers from outside (the notary endpoint), as a logged-in user (the client API makes
// it federate), as an admin (the federation destinations in backoff) and from inside the server
// (outbound-adhoc.ts). Every remote is gathered at the same time and each call is bounded by the
// timeout, so a slow remote never holds up the others. A probe: it never throws; tokens go only
// through credentialed.ts, to the homeserver they belong to, and appear in no fact.
import type { ConnectTo, NamedServer } from '../core/net.ts';
import type {
  CanaryFact,
  CanaryRequest,
  ClientProbeFact,
  DestinationFact,
  NotaryFact,
  OutboundFacts,
  RemoteFact,
} from '../facts/outbound.ts';
import { joinPath, parseObject } from '../facts/wellknown.ts';
import { gatherFederation } from './federation-gather.ts';
import type { Credential } from './credentialed.ts';
import { clientWellKnown, discoverHomeserver, type Homeserver, homeserverCredential, homeserverOrigin } from './matrix-client.ts';
import { ADMIN_DESTINATIONS, type Endpoint, request } from './outbound-call.ts';
import { gatherCanary, roomServerOf } from './outbound-canary.ts';
import { gatherInside, type InventoryRef } from './outbound-adhoc.ts';

export interface OutboundGatherInput {
  serverName: string;
  remotes: readonly string[];
  resolvers: NamedServer[];
  timeoutMs: number;
  ca?: string;
  connectTo?: readonly ConnectTo[];
  /** The client API base URL (default: the client well-known's, else the plan's). */
  homeserver?: string;
  /** m.homeserver of the plan's client well-known. */
  planBaseUrl?: string;
  /** Secret. */
  userToken?: string;
  /** Secret. */
  adminToken?: string;
  /** Reset the destinations in backoff (only with --apply). */
  apply: boolean;
  inventory?: InventoryRef;
  /** --canary: one ping into this room, its reply awaited. */
  canary?: CanaryRequest;
}

/** The local part the probes ask remotes for: it need not exist (a 404 from the remote is an answer). */
export const PROBE_LOCALPART = 'matrix-selfhost-toolkit-outbound-probe';

/** A server's federation endpoint, by the spec's discovery, and its current keys (from here). */
async function discover(
  name: string,
  input: OutboundGatherInput,
): Promise<{ remote: RemoteFact; endpoint?: Omit<Endpoint, 'url'> & { base: string } }> {
  const facts = await gatherFederation({
    host: name,
    isIpLiteral: false,
    resolvers: input.resolvers,
    timeoutMs: input.timeoutMs,
    ca: input.ca,
    connectTo: input.connectTo,
  });
  const answered = facts.probes.find((p) => p.keys.ok && p.keys.status === 200);
  if (!answered || !answered.keys.ok) {
    const failed = facts.probes.find((p) => !p.keys.ok || p.keys.status !== 200);
    const why =
      facts.discovery.problem ??
      facts.unprobed ??
      (failed
        ? failed.keys.ok
          ? `HTTP ${failed.keys.status}`
          : failed.keys.message
        : `${facts.discovery.targets.map((t) => t.host).join(', ')} does not resolve`);
    const notes = facts.discovery.notes.length ? ` (${facts.discovery.notes.join('; ')})` : '';
    return { remote: { name, keyIds: [], problem: `${facts.discovery.how}${notes}: ${why}` } };
  }
  const keys = parseObject(answered.keys.body);
  const verify = keys?.verify_keys && typeof keys.verify_keys === 'object' ? Object.keys(keys.verify_keys) : [];
  const target = `${answered.target}:${answered.port}`;
  return {
    remote: {
      name,
      target,
      keyIds: verify,
      ...(typeof keys?.valid_until_ts === 'number' ? { validUntilTs: keys.valid_until_ts } : {}),
      ...(verify.length ? {} : { problem: 'its key document lists no verify_keys' }),
    },
    endpoint: {
      base: `https://${answered.target}:${answered.port}`,
      address: answered.address,
      servername: facts.discovery.tlsName,
      hostHeader: facts.discovery.hostHeader,
    },
  };
}

/**
 * POST /_matrix/key/v2/query on `notary` for `about`'s key ids, with a minimum_valid_until_ts
 * the notary's cache cannot meet, so that it must fetch (Synapse answers a query for all keys
 * from its cache alone: synapse/rest/key/v2/remote_key_resource.py).
 */
async function notaryQuery(
  notary: string,
  endpoint: Omit<Endpoint, 'url'> & { base: string },
  about: RemoteFact,
  input: OutboundGatherInput,
): Promise<NotaryFact> {
  const minimum = about.validUntilTs ?? Date.now();
  const criteria = Object.fromEntries(about.keyIds.map((id) => [id, { minimum_valid_until_ts: minimum }]));
  const { call, body } = await request(joinPath(endpoint.base, '_matrix/key/v2/query'), input.timeoutMs, input, {
    method: 'POST',
    body: { server_keys: { [about.name]: criteria } },
    endpoint,
  });
  const fact: NotaryFact = { notary, about: about.name, call, keyIds: [], signedByNotary: false, minimumValidUntilTs: minimum };
  const list = Array.isArray(body?.server_keys) ? (body.server_keys as unknown[]) : [];
  for (const entry of list) {
    const object = entry && typeof entry === 'object' ? (entry as Record<string, unknown>) : undefined;
    if (object?.server_name !== about.name) continue;
    const verify = object.verify_keys && typeof object.verify_keys === 'object' ? Object.keys(object.verify_keys) : [];
    fact.keyIds.push(...verify.filter((id) => !fact.keyIds.includes(id)));
    const signatures = object.signatures && typeof object.signatures === 'object' ? (object.signatures as Record<string, unknown>) : {};
    if (signatures[notary]) fact.signedByNotary = true;
    if (typeof object.valid_until_ts === 'number') fact.validUntilTs = Math.max(fact.validUntilTs ?? 0, object.valid_until_ts);
  }
  return fact;
}

/** The homeserver the tokens belong to: --homeserver, the verified client well-known's, or the plan's (as turn and rtc find it). */
async function clientHome(input: OutboundGatherInput): Promise<{ home?: Homeserver; problem?: string }> {
  const wellKnown = await clientWellKnown(input.serverName, input);
  const found = discoverHomeserver(wellKnown, input);
  if (found.baseUrl) return { home: homeserverOrigin(found.baseUrl.replace(/\/+$/, ''), found.from, input.serverName) };
  return {
    problem: `${wellKnown.failure ?? `${wellKnown.url} gives no m.homeserver base_url`}: the homeserver is unknown, so no token was sent (give --homeserver URL)`,
  };
}

async function clientProbe(base: string, remote: string, credential: Credential, input: OutboundGatherInput): Promise<ClientProbeFact> {
  const alias = `#${PROBE_LOCALPART}:${remote}`;
  const userId = `@${PROBE_LOCALPART}:${remote}`;
  const [aliasCall, profileCall] = await Promise.all([
    request(joinPath(base, `_matrix/client/v3/directory/room/${encodeURIComponent(alias)}`), input.timeoutMs, input, { credential }),
    request(joinPath(base, `_matrix/client/v3/profile/${encodeURIComponent(userId)}`), input.timeoutMs, input, { credential }),
  ]);
  return { remote, alias: { alias, call: aliasCall.call }, profile: { userId, call: profileCall.call } };
}

async function destinations(home: Homeserver, adminToken: string, input: OutboundGatherInput): Promise<OutboundFacts['admin']> {
  const base = home.baseUrl;
  const credential = homeserverCredential(home, 'admin token', adminToken);
  const { call, body } = await request(joinPath(base, `${ADMIN_DESTINATIONS}?limit=1000`), input.timeoutMs, input, { credential });
  const rows = Array.isArray(body?.destinations) ? (body.destinations as Record<string, unknown>[]) : [];
  const list: DestinationFact[] = rows
    .filter((r) => typeof r?.destination === 'string')
    .map((r) => ({
      destination: r.destination as string,
      failureTs: typeof r.failure_ts === 'number' ? r.failure_ts : null,
      retryLastTs: typeof r.retry_last_ts === 'number' ? r.retry_last_ts : 0,
      retryIntervalMs: typeof r.retry_interval === 'number' ? r.retry_interval : 0,
      lastSuccessfulStreamOrdering: typeof r.last_successful_stream_ordering === 'number' ? r.last_successful_stream_ordering : null,
    }));
  if (input.apply) {
    await Promise.all(
      list
        .filter((d) => d.retryIntervalMs > 0)
        .map(async (d) => {
          const url = joinPath(base, `${ADMIN_DESTINATIONS}/${encodeURIComponent(d.destination)}/reset_connection`);
          d.reset = (await request(url, input.timeoutMs, input, { method: 'POST', credential, body: {} })).call;
        }),
    );
  }
  return { list: call, destinations: list, applied: input.apply };
}

export async function gatherOutbound(input: OutboundGatherInput): Promise<OutboundFacts> {
  const remotes = input.remotes.filter((r) => r !== input.serverName);
  const localP = discover(input.serverName, input);
  const homeP = input.userToken || input.adminToken ? clientHome(input) : Promise.resolve(undefined);
  // One pipeline per remote (discovery, then both notary queries), so a slow remote holds up
  // nothing but itself: each step is bounded by the timeout.
  const pipelines = remotes.map(async (name) => {
    const found = await discover(name, input);
    const local = await localP;
    const [out, back] = await Promise.all([
      local.endpoint && found.remote.keyIds.length ? notaryQuery(input.serverName, local.endpoint, found.remote, input) : undefined,
      found.endpoint && local.remote.keyIds.length ? notaryQuery(name, found.endpoint, local.remote, input) : undefined,
    ]);
    return { found, out, back };
  });
  const client = homeP.then(async (found) => {
    const home = found?.home;
    if (!home || !input.userToken) return undefined;
    const token = homeserverCredential(home, 'access token', input.userToken);
    const base = home.baseUrl;
    const whoami = await request(joinPath(base, '_matrix/client/v3/account/whoami'), input.timeoutMs, input, { credential: token });
    if (whoami.call.status !== 200) return { facts: { baseUrl: base, whoami: whoami.call, probes: [] } };
    const admin = input.adminToken ? homeserverCredential(home, 'admin token', input.adminToken) : undefined;
    const [probes, canary] = await Promise.all([
      Promise.all(remotes.map((r) => clientProbe(base, r, token, input))),
      input.canary
        ? gatherCanary({ serverName: input.serverName, base, token, ...(admin ? { admin } : {}), canary: input.canary, context: input })
        : undefined,
    ]);
    return { facts: { baseUrl: base, whoami: whoami.call, probes }, canary };
  });
  const admin = homeP.then((found) => (found?.home && input.adminToken ? destinations(found.home, input.adminToken, input) : undefined));
  // The inside steps need each remote's federation host: after discovery.
  const inside = input.inventory
    ? Promise.all(pipelines).then((done) =>
        gatherInside(
          input.inventory!,
          done.map(({ found }) => ({ remote: found.remote.name, target: found.remote.target ?? `${found.remote.name}:8448` })),
          { timeoutMs: input.timeoutMs, ...(input.ca ? { ca: input.ca } : {}) },
        ),
      )
    : Promise.resolve(undefined);
  const [local, done, clientRun, adminFacts, insideFacts, home] = await Promise.all([
    localP,
    Promise.all(pipelines),
    client,
    admin,
    inside,
    homeP,
  ]);
  const clientFacts = clientRun?.facts;
  const canary: CanaryFact | undefined = input.canary
    ? (clientRun?.canary ?? {
        room: input.canary.room,
        roomServer: roomServerOf(input.canary.room),
        waitMs: input.canary.waitMs,
        notRun:
          home?.problem ??
          (!clientFacts
            ? 'no access token (MATRIX_ACCESS_TOKEN or --access-token-file)'
            : clientFacts.whoami.withheld
              ? 'the access token was not sent (see the withheld finding)'
              : 'the access token was refused'),
      })
    : undefined;
  return {
    serverName: input.serverName,
    ...(local.remote.target ? { localFederation: local.remote.target } : {}),
    ...(local.remote.problem ? { localProblem: local.remote.problem } : {}),
    remotes: done.map((d) => d.found.remote),
    outboundNotary: done.flatMap((d) => (d.out ? [d.out] : [])),
    inboundNotary: done.flatMap((d) => (d.back ? [d.back] : [])),
    localKeyIds: local.remote.keyIds,
    ...(home?.problem ? { homeserverProblem: home.problem } : {}),
    ...(clientFacts ? { client: clientFacts } : {}),
    ...(adminFacts ? { admin: adminFacts } : {}),
    ...(insideFacts ? { inside: insideFacts } : {}),
    ...(canary ? { canary } : {}),
  };
}
