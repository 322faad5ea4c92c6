// The DNS query probe against the lab's real DNS servers: UDP, the TCP fallback, and faults.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, startSilentServer, type RunningDnsServer } from '../../sandbox/dns-server.ts';
import { queryDns } from '../../checks/probes/dns-query.ts';
import { healthyRecords, ORIGIN, zone } from './dns-zones.ts';

let server: RunningDnsServer;
let silent: RunningDnsServer;
const LONG_TEXT = 'v=long '.repeat(300);

beforeAll(async () => {
  server = await startDnsServer({
    address: '127.53.1.1',
    zones: zone([...healthyRecords(), { name: `long.${ORIGIN}`, type: 'TXT', value: LONG_TEXT }]),
  });
  silent = await startSilentServer('127.53.1.2');
});
afterAll(async () => Promise.all([server.close(), silent.close()]));

describe('DNS query probe', () => {
  it('reads flags, TTLs and records over UDP', async () => {
    const reply = await queryDns({ host: server.address, port: server.port }, `element.${ORIGIN}`, 'A', {
      recursive: false,
      timeoutMs: 1000,
    });
    expect(reply).toMatchObject({ ok: true, rcode: 'NOERROR', authoritative: true, transport: 'udp' });
    if (!reply.ok) return;
    expect(reply.answers.map((r) => `${r.type} ${r.value}`)).toEqual([`CNAME matrix.${ORIGIN}`, 'A 203.0.113.10']);
  });

  it('retries over TCP when the UDP answer is truncated', async () => {
    const reply = await queryDns({ host: server.address, port: server.port }, `long.${ORIGIN}`, 'TXT', {
      recursive: false,
      timeoutMs: 1000,
    });
    expect(reply).toMatchObject({ ok: true, transport: 'tcp' });
    if (reply.ok) expect(reply.answers[0].value).toBe(LONG_TEXT);
  });

  it('gives the SOA of a negative answer', async () => {
    const reply = await queryDns({ host: server.address, port: server.port }, `nothing.${ORIGIN}`, 'A', {
      recursive: false,
      timeoutMs: 1000,
    });
    expect(reply).toMatchObject({ ok: true, rcode: 'NXDOMAIN' });
    if (reply.ok) expect(reply.authorities[0]).toMatchObject({ type: 'SOA', soaMinimum: 300 });
  });

  it('times out on a silent server within the budget, and is refused by a closed port at once', async () => {
    // A timer of the same 400 ms beside the query: a stall of this process delays both alike.
    const budgetEnded = new Promise<number>((resolve) => setTimeout(() => resolve(performance.now()), 400));
    const silentReply = await queryDns({ host: silent.address, port: silent.port }, ORIGIN, 'A', { recursive: true, timeoutMs: 400 });
    const answered = performance.now();
    expect(silentReply).toMatchObject({ ok: false, error: 'timeout' });
    expect(answered - (await budgetEnded)).toBeLessThan(100);
    const closed = await queryDns({ host: '127.53.1.3', port: 9 }, ORIGIN, 'A', { recursive: true, timeoutMs: 2000 });
    expect(closed).toMatchObject({ ok: false, error: 'refused' });
  });
});
