// The canary (--canary ROOM): as the user of the token, one "!ping" into a room on another server
// where an echo bot answers, then the ping's relations are polled until the bot's pong arrives
// (GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}, spec v1.3: no /sync, which would
// take the to-device messages of the token's device and mark the user online). The bot is
// maubot's echo plugin (github.com/maubot/echo, echo.py), the bot of the community's ping rooms:
// it answers "!ping <text>" with an m.notice whose m.relates_to is {rel_type: "xyz.maubot.pong",
// event_id: <the ping>} and whose "pong" is {ms, from, ping}, ms being its clock at arrival less
// the ping's origin_server_ts. A pong from another server proves our event left and theirs came
// in (one from a bot on our own server proves nothing, and is not taken). With an admin
// token, Synapse's view of the room's server is read before the ping and after a wait that ended
// without a reply (last_successful_stream_ordering grows when a transaction of events went
// through: synapse/federation/sender/per_destination_queue.py, Synapse 1.163), which tells "never
// left" from "left, no reply came back". One ping per run; a room joined for it is left again.
import { randomBytes } from 'node:crypto';
import type { CanaryFact, CanaryRequest, DeliveryFact } from '../facts/outbound.ts';
import { joinPath } from '../facts/wellknown.ts';
import type { Credential } from './credentialed.ts';
import type { ClientContext } from './matrix-client.ts';
import { ADMIN_DESTINATIONS, request } from './outbound-call.ts';

/** The ping: what it is and who sent it, in the words the bot quotes back (its first 20 characters). */
export const CANARY_TEXT = '!ping matrix-selfhost-toolkit canary: a federation test, one ping per run';

/** How often the ping's relations are asked for while the reply is awaited. */
const POLL_MS = 250;

/** The server part of #alias:server or !id:server. */
export function roomServerOf(room: string): string {
  return room.slice(room.indexOf(':') + 1);
}

/** The bot's answer to our ping among the events relating to it, if there: from another server than ours. */
export function findPong(
  body: Record<string, unknown> | undefined,
  ping: string,
  ownServer: string,
): { sender: string; eventId: string; outboundMs?: number } | undefined {
  for (const raw of Array.isArray(body?.chunk) ? body.chunk : []) {
    if (typeof raw !== 'object' || raw === null) continue;
    const event = raw as { event_id?: unknown; sender?: unknown; content?: unknown };
    const content = (typeof event.content === 'object' && event.content !== null ? event.content : {}) as Record<string, unknown>;
    const relation = content['m.relates_to'] as { event_id?: unknown } | undefined;
    const pong = content.pong as { ping?: unknown; ms?: unknown } | undefined;
    if (typeof event.sender !== 'string' || typeof event.event_id !== 'string' || roomServerOf(event.sender) === ownServer) continue;
    if (pong?.ping !== ping && relation?.event_id !== ping) continue;
    return { sender: event.sender, eventId: event.event_id, ...(typeof pong?.ms === 'number' ? { outboundMs: pong.ms } : {}) };
  }
  return undefined;
}

export interface CanaryInput {
  /** The server checked: a pong from its own users is no proof of federation. */
  serverName: string;
  /** The client API base URL the tokens belong to. */
  base: string;
  token: Credential;
  admin?: Credential;
  canary: CanaryRequest;
  context: ClientContext;
}

async function destination(input: CanaryInput, name: string, timeoutMs: number) {
  const url = joinPath(input.base, `${ADMIN_DESTINATIONS}/${encodeURIComponent(name)}`);
  return request(url, timeoutMs, input.context, { credential: input.admin! });
}

/**
 * Within 2 × waitMs + 4 × timeout: the room found and joined within waitMs, the admin read and the
 * ping a timeout each, its reply awaited for waitMs (and the last poll's timeout), then the read
 * after and the leave at once.
 */
export async function gatherCanary(input: CanaryInput): Promise<CanaryFact> {
  const { canary, context, token } = input;
  const fact: CanaryFact = { room: canary.room, roomServer: roomServerOf(canary.room), waitMs: canary.waitMs };
  const joinBy = performance.now() + canary.waitMs;
  const step = () => Math.max(1, Math.min(context.timeoutMs, joinBy - performance.now()));
  const client = (path: string, version = 'v3') => joinPath(input.base, `_matrix/client/${version}/${path}`);
  const as = { credential: token };
  const leave = (room: string) =>
    request(client(`rooms/${encodeURIComponent(room)}/leave`), context.timeoutMs, context, { ...as, method: 'POST', body: {} });

  let roomId: string | undefined = canary.room.startsWith('!') ? canary.room : undefined;
  if (!roomId) {
    const { call, body } = await request(client(`directory/room/${encodeURIComponent(canary.room)}`), step(), context, as);
    fact.resolve = call;
    roomId = typeof body?.room_id === 'string' ? body.room_id : undefined;
    if (!roomId) return fact;
  }
  fact.roomId = roomId;
  const joined = await request(client('joined_rooms'), step(), context, as);
  fact.joinedRooms = joined.call;
  if (joined.call.status !== 200) return fact;
  fact.wasMember = Array.isArray(joined.body?.joined_rooms) && joined.body.joined_rooms.includes(roomId);
  if (!fact.wasMember) {
    // By the alias when there is one: the homeserver then knows which servers to join through.
    const path = canary.room.startsWith('#')
      ? `join/${encodeURIComponent(canary.room)}`
      : `join/${encodeURIComponent(roomId)}?server_name=${encodeURIComponent(fact.roomServer)}`;
    const { call } = await request(client(path), Math.max(1, joinBy - performance.now()), context, { ...as, method: 'POST', body: {} });
    fact.join = call;
    // A join that ran out of time goes on in the homeserver: it is left as well.
    if (call.status === undefined) fact.leave = (await leave(roomId)).call;
    if (call.status !== 200) return fact;
  }

  const before = input.admin ? await destination(input, fact.roomServer, context.timeoutMs) : undefined;
  if (before) fact.delivery = { destination: fact.roomServer, before: before.call, orderingBefore: ordering(before.body) };
  const txn = `canary-${Date.now()}-${randomBytes(4).toString('hex')}`;
  const sentAt = performance.now();
  const sent = await request(client(`rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn}`), context.timeoutMs, context, {
    ...as,
    method: 'PUT',
    body: { msgtype: 'm.text', body: CANARY_TEXT },
  });
  fact.send = sent.call;
  const eventId = typeof sent.body?.event_id === 'string' ? sent.body.event_id : undefined;
  if (eventId) {
    fact.eventId = eventId;
    const waitUntil = performance.now() + canary.waitMs;
    const relations = client(`rooms/${encodeURIComponent(roomId)}/relations/${encodeURIComponent(eventId)}?limit=20`, 'v1');
    while (!fact.pong && performance.now() < waitUntil) {
      // A whole timeout for each poll: one started just before the wait ends is not cut short into a failure.
      const { call, body } = await request(relations, context.timeoutMs, context, { ...as, poll: true });
      if (call.status !== 200) {
        fact.watch = call;
        break;
      }
      const pong = findPong(body, eventId, input.serverName);
      if (pong) fact.pong = { ...pong, roundTripMs: Math.round(performance.now() - sentAt) };
      else await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(POLL_MS, waitUntil - performance.now()))));
    }
    if (!fact.pong) fact.waitedMs = Math.round(performance.now() - sentAt);
  }
  const [after, left] = await Promise.all([
    fact.delivery && !fact.pong ? destination(input, fact.roomServer, context.timeoutMs) : undefined,
    fact.wasMember ? undefined : leave(roomId),
  ]);
  if (after && fact.delivery) Object.assign(fact.delivery, afterRead(after));
  if (left) fact.leave = left.call;
  return fact;
}

function ordering(body: Record<string, unknown> | undefined): number | null | undefined {
  const value = body?.last_successful_stream_ordering;
  return typeof value === 'number' || value === null ? value : undefined;
}

function afterRead(after: { call: DeliveryFact['before']; body?: Record<string, unknown> }): Partial<DeliveryFact> {
  const body = after.body;
  return {
    after: after.call,
    orderingAfter: ordering(body),
    failureTs: typeof body?.failure_ts === 'number' ? body.failure_ts : null,
    retryIntervalMs: typeof body?.retry_interval === 'number' ? body.retry_interval : 0,
  };
}
