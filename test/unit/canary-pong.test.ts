// Which event among the ping's relations is the bot's pong: maubot echo's answer from another
// server, matched by its m.relates_to or its pong.ping; never an answer from the checked server.
import { describe, expect, it } from 'vitest';
import { findPong } from '../../checks/probes/outbound-canary.ts';

const PING = '$ping';
const pong = (sender: string, content: Record<string, unknown>, eventId = '$pong') => ({ event_id: eventId, sender, content });
const maubot = (ms?: number) => ({
  msgtype: 'm.notice',
  body: 'Pong! (ping took 120 ms to arrive)',
  'm.relates_to': { rel_type: 'xyz.maubot.pong', event_id: PING },
  pong: { from: 'alpha.test', ping: PING, ...(ms !== undefined ? { ms } : {}) },
});

describe('findPong', () => {
  it("takes the remote bot's pong, with its outbound figure", () => {
    expect(findPong({ chunk: [pong('@echo:beta.test', maubot(120))] }, PING, 'alpha.test')).toEqual({
      sender: '@echo:beta.test',
      eventId: '$pong',
      outboundMs: 120,
    });
  });

  it('ignores a pong from a user of the checked server, and takes the remote one after it', () => {
    const chunk = [pong('@echo:alpha.test', maubot(5), '$own'), pong('@echo:beta.test', maubot(), '$remote')];
    expect(findPong({ chunk: chunk.slice(0, 1) }, PING, 'alpha.test')).toBeUndefined();
    expect(findPong({ chunk }, PING, 'alpha.test')).toEqual({ sender: '@echo:beta.test', eventId: '$remote' });
  });

  it('matches by the relation alone or by pong.ping alone, and not an answer to another ping', () => {
    const byRelation = { 'm.relates_to': { rel_type: 'm.reference', event_id: PING } };
    const byPongField = { pong: { ping: PING, ms: 7 } };
    expect(findPong({ chunk: [pong('@b:beta.test', byRelation)] }, PING, 'alpha.test')?.eventId).toBe('$pong');
    expect(findPong({ chunk: [pong('@b:beta.test', byPongField)] }, PING, 'alpha.test')?.outboundMs).toBe(7);
    expect(findPong({ chunk: [pong('@b:beta.test', { pong: { ping: '$other' } })] }, PING, 'alpha.test')).toBeUndefined();
  });

  it('reads nothing from an answer without a chunk or with malformed events', () => {
    expect(findPong(undefined, PING, 'alpha.test')).toBeUndefined();
    expect(findPong({ chunk: 'no' }, PING, 'alpha.test')).toBeUndefined();
    expect(findPong({ chunk: [{ sender: 3, content: maubot() }, null] }, PING, 'alpha.test')).toBeUndefined();
  });
});
