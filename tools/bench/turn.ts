// Benchmark case of the TURN check: a real coturn on the lab (UDP, TCP and TLS listeners), the
// check probing all three transports with a relay round trip on each and releasing everything,
// timed without process start-up or the lab's own start.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createLabPki, issueCertificate } from '../../test/lab/servers/certs.ts';
import { startCoturn } from '../../test/lab/servers/coturn.ts';
import { startDnsServer } from '../../sandbox/dns-server.ts';
import { LAB_DIR } from '../../test/lab/servers/provision.ts';
import { runTurnCheck } from '../../checks/areas/turn.ts';
import type { Figure } from './figure.ts';

const RUNS = 10;
const ADDRESS = '127.78.1.2';
const DNS = '127.78.1.53';
const ORIGIN = 'bench.test';
const HOST = `turn.${ORIGIN}`;
const SECRET = 'bench-turn-secret';
const URIS = [`turn:${HOST}?transport=udp`, `turn:${HOST}?transport=tcp`, `turns:${HOST}?transport=tcp`];

export async function turnCase(): Promise<Figure[]> {
  mkdirSync(LAB_DIR, { recursive: true });
  const dir = mkdtempSync(join(LAB_DIR, 'bench-turn-'));
  const pki = createLabPki(dir);
  const certificate = issueCertificate(pki, 'turn', [HOST]);
  const dns = await startDnsServer({
    address: DNS,
    zones: [
      {
        origin: ORIGIN,
        records: [
          { name: ORIGIN, type: 'SOA', value: `ns1.${ORIGIN} hostmaster.${ORIGIN} 1 3600 600 86400 300` },
          { name: HOST, type: 'A', value: ADDRESS },
        ],
      },
    ],
  });
  // coturn frees released relay ports a few seconds later: a range wide enough for every run.
  const coturn = await startCoturn({ address: ADDRESS, secret: SECRET, realm: HOST, certificate, minPort: 49200, maxPort: 49399 });
  const times: number[] = [];
  const perUri = new Map<string, number[]>();
  try {
    const input = {
      serverName: ORIGIN,
      resolvers: [{ label: `${DNS}:${dns.port}`, endpoint: { host: DNS, port: dns.port } }],
      timeoutMs: 5000,
      ca: readFileSync(pki.caFile, 'utf8'),
      turnUris: URIS,
      secrets: { explicit: SECRET },
    };
    await runTurnCheck(input); // warm-up: modules compiled, TLS context built
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      const { facts, findings } = await runTurnCheck(input);
      times.push(performance.now() - started);
      const failed = findings.filter((f) => f.status === 'fail' || f.status === 'warn').map((f) => `${f.id} (${f.detail})`);
      if (failed.length > 0) throw new Error(`the bench TURN server should be healthy, but: ${failed.join('; ')}`);
      const trips = findings.filter((f) => f.id.endsWith('.relay') && f.status === 'pass').length;
      if (trips !== URIS.length) throw new Error(`expected ${URIS.length} relay round trips, got ${trips}`);
      for (const uri of facts.uris)
        if (uri.probe) perUri.set(uri.probe.target.uri, [...(perUri.get(uri.probe.target.uri) ?? []), uri.probe.elapsedMs]);
    }
  } finally {
    await coturn.stop();
    await dns.close();
    if (!process.env.LAB_KEEP) rmSync(dir, { recursive: true, force: true });
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const total = median(times);
  return [
    {
      name: `TURN check, UDP + TCP + TLS, each with a relay round trip and release, median of ${RUNS}`,
      value: `${total.toFixed(0)} ms`,
      target: '< 1000 ms',
      met: total < 1000,
    },
    ...[...perUri].map(([uri, values]) => ({
      name: `  ${uri} (allocate, round trip, release)`,
      value: `${median(values).toFixed(0)} ms`,
      target: 'printed',
      met: true,
    })),
    {
      name: 'TURN check, peak RSS of the process',
      value: `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
      target: 'printed',
      met: true,
    },
  ];
}
