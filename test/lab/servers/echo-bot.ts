// An echo bot for the canary (checks/outbound.ts --canary), written after maubot's echo plugin
// (github.com/maubot/echo, echo.py, the bot of the community's ping rooms such as
// #ping:maunium.net): to "!ping <text>" it answers with an m.notice
//   body: "<sender>: Pong! (ping "<text, first 20 characters>" took <ms> ms to arrive)"
//   m.relates_to: {rel_type: "xyz.maubot.pong", event_id: <the ping>, from: <sender's server>, ms}
//   pong: {ms, from, ping: <the ping>}
// where ms is its clock when the ping reached it less the ping's origin_server_ts. It lives on
// one lab Synapse, creates its public room with an alias, and answers through its client API.
import { clientCall, type RunningSynapse, type UserToken } from './synapse.ts';

export interface EchoBot {
  alias: string;
  roomId: string;
  /** Pings answered so far. */
  answered: number;
  stop(): Promise<void>;
}

interface TimelineEvent {
  event_id: string;
  sender: string;
  type: string;
  origin_server_ts: number;
  content: { body?: unknown };
}

export async function startEchoBot(synapse: RunningSynapse, bot: UserToken, localpart: string): Promise<EchoBot> {
  const call = async (method: 'GET' | 'POST' | 'PUT', path: string, json?: unknown, timeoutMs = 10_000) => {
    const answer = await clientCall(synapse, bot.token, method, `/_matrix/client/v3/${path}`, json, timeoutMs);
    if (answer.status !== 200) throw new Error(`echo bot: ${method} ${path}: ${answer.status} ${answer.body}`);
    return JSON.parse(answer.body) as Record<string, unknown>;
  };
  const created = await call('POST', 'createRoom', { room_alias_name: localpart, preset: 'public_chat', name: 'Ping (lab echo bot)' });
  const roomId = created.room_id as string;
  let since = (await call('GET', 'sync?timeout=0')).next_batch as string;
  let stopped = false;
  let txn = 0;
  const echo: EchoBot = { alias: `#${localpart}:${synapse.serverName}`, roomId, answered: 0, stop: async () => {} };

  const answer = async (room: string, event: TimelineEvent) => {
    const ms = Date.now() - event.origin_server_ts;
    const text = String(event.content.body)
      .replace(/^!ping\s*/, '')
      .slice(0, 20);
    const from = event.sender.slice(event.sender.indexOf(':') + 1);
    await call('PUT', `rooms/${encodeURIComponent(room)}/send/m.room.message/pong${++txn}`, {
      msgtype: 'm.notice',
      format: 'org.matrix.custom.html',
      body: `${event.sender}: Pong! (ping ${text ? `"${text}" ` : ''}took ${ms} ms to arrive)`,
      formatted_body: `${event.sender}: Pong!`,
      'm.relates_to': { rel_type: 'xyz.maubot.pong', event_id: event.event_id, from, ms },
      pong: { ms, from, ping: event.event_id },
    });
    echo.answered++;
  };

  const loop = (async () => {
    while (!stopped) {
      const sync = await call('GET', `sync?since=${encodeURIComponent(since)}&timeout=500`, undefined, 5_000).catch(() => undefined);
      if (!sync) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      since = sync.next_batch as string;
      const joined = ((sync.rooms as { join?: Record<string, { timeline?: { events?: TimelineEvent[] } }> })?.join ?? {}) as Record<
        string,
        { timeline?: { events?: TimelineEvent[] } }
      >;
      for (const [room, { timeline }] of Object.entries(joined))
        for (const event of timeline?.events ?? [])
          if (event.type === 'm.room.message' && event.sender !== bot.userId && /^!ping(\s|$)/.test(String(event.content.body ?? '')))
            // A pong that could not be sent is a ping left unanswered, as with a real bot.
            await answer(room, event).catch(() => undefined);
    }
  })();
  echo.stop = async () => {
    stopped = true;
    await loop;
  };
  return echo;
}
