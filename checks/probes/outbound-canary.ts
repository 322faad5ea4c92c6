// The canary (--canary ROOM): as the user of the token, one "!ping" into a room on another server
// where an echo bot answers, then the room is watched until the bot's pong arrives. The bot is
// maubot's echo plugin (github.com/maubot/echo, echo.py), the bot of the community's ping rooms:
// it answers "!ping <text>" with an m.notice whose m.relates_to is {rel_type: "xyz.maubot.pong",
// event_id: <the ping>} and whose "pong" is {ms, from, ping}, ms being its clock at arrival less
// the ping's origin_server_ts. The reply proves our event left and theirs came in. With an admin
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

/** The longest single long-poll of the wait, so that a slow answer is noticed between polls. */
const POLL_MS = 10_000;

/** The server part of #alias:server or !id:server. */
export function roomServerOf(room: string): string {
  return room.slice(room.indexOf(':') + 1);
}

/** Only the room's messages: no state, presence, account data or receipts. */
function syncFilter(roomId: string): string {
  const none = { types: [] };
  return JSON.stringify({
    presence: none,
    account_data: none,
    room: { rooms: [roomId], timeline: { limit: 20, types: ['m.room.message'] }, state: none, ephemeral: none, account_data: none },
  });
}

/** The bot's answer to our ping in a sync response, if there. */
function findPong(
  body: Record<string, unknown> | undefined,
  roomId: string,
  ping: string,
): { sender: string; eventId: string; outboundMs?: number } | undefined {
  const rooms = body?.rooms as { join?: Record<string, { timeline?: { events?: unknown[] } }> } | undefined;
  for (const raw of rooms?.join?.[roomId]?.timeline?.events ?? []) {
    const event = raw as { event_id?: unknown; sender?: unknown; content?: Record<string, unknown> };
    const content = event.content ?? {};
    const relation = content['m.relates_to'] as { event_id?: unknown } | undefined;
    const pong = content.pong as { ping?: unknown; ms?: unknown } | undefined;
    if (event.event_id === ping || typeof event.sender !== 'string' || typeof event.event_id !== 'string') continue;
    if (pong?.ping !== ping && relation?.event_id !== ping) continue;
    return { sender: event.sender, eventId: event.event_id, ...(typeof pong?.ms === 'number' ? { outboundMs: pong.ms } : {}) };
  }
  return undefined;
}

export interface CanaryInput {
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
 * Within 2 × waitMs + 4 × timeout: the room found, joined and the position read within waitMs,
 * the ping sent, its reply waited for waitMs (a last poll may take a timeout more), then the
 * reads after and the leave at once.
 */
export async function gatherCanary(input: CanaryInput): Promise<CanaryFact> {
  const { canary, context, token } = input;
  const fact: CanaryFact = { room: canary.room, roomServer: roomServerOf(canary.room), waitMs: canary.waitMs };
  const joinBy = performance.now() + canary.waitMs;
  const step = () => Math.max(1, Math.min(context.timeoutMs, joinBy - performance.now()));
  const client = (path: string) => joinPath(input.base, `_matrix/client/v3/${path}`);
  const as = { credential: token };

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
    if (call.status !== 200) return fact;
  }
  const leave = () =>
    fact.wasMember
      ? undefined
      : request(client(`rooms/${encodeURIComponent(roomId)}/leave`), context.timeoutMs, context, { ...as, method: 'POST', body: {} });

  const filter = encodeURIComponent(syncFilter(roomId));
  const [position, before] = await Promise.all([
    request(client(`sync?timeout=0&filter=${filter}`), context.timeoutMs, context, { ...as, maxBodyBytes: 1024 * 1024 }),
    input.admin ? destination(input, fact.roomServer, context.timeoutMs) : undefined,
  ]);
  fact.sync = position.call;
  if (before) fact.delivery = { destination: fact.roomServer, before: before.call, orderingBefore: ordering(before.body) };
  let since = typeof position.body?.next_batch === 'string' ? position.body.next_batch : undefined;
  if (since) {
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
      while (since && !fact.pong) {
        const poll = Math.floor(Math.min(POLL_MS, waitUntil - performance.now()));
        if (poll <= 0) break;
        const url = client(`sync?since=${encodeURIComponent(since)}&timeout=${poll}&filter=${filter}`);
        const { call, body } = await request(url, poll + context.timeoutMs, context, { ...as, maxBodyBytes: 1024 * 1024 });
        if (call.status !== 200) {
          fact.watch = call;
          break;
        }
        const pong = findPong(body, roomId, eventId);
        if (pong) fact.pong = { ...pong, roundTripMs: Math.round(performance.now() - sentAt) };
        since = typeof body?.next_batch === 'string' ? body.next_batch : undefined;
      }
      if (!fact.pong) fact.waitedMs = Math.round(performance.now() - sentAt);
    }
  }
  const [after, left] = await Promise.all([
    fact.delivery && !fact.pong ? destination(input, fact.roomServer, context.timeoutMs) : undefined,
    leave(),
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
