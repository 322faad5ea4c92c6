// Benchmark case of the federation check: a server whose Matrix host has two addresses on the
// lab (real nginx and Synapse), the check's own time without process start-up.
import { startFederationLab } from '../../test/lab/federation-lab.ts';
import { runArea, type RunSettings, type ServerTarget } from '../../checks/areas/area.ts';
import { federationArea } from '../../checks/areas/federation.ts';
import { parseEndpoint } from '../../checks/core/net.ts';
import { readFileSync } from 'node:fs';
import type { Figure } from './figure.ts';

const RUNS = 15;

export async function federationCase(): Promise<Figure[]> {
  const lab = await startFederationLab();
  const times: number[] = [];
  try {
    await lab.use('two-addresses');
    const target: ServerTarget = { name: { given: 'example.test', host: 'example.test', isIpLiteral: false }, expected: {} };
    const settings: RunSettings = {
      resolvers: [{ label: lab.resolver, endpoint: parseEndpoint(lab.resolver, 53)! }],
      timeoutMs: 5000,
      ca: readFileSync(lab.caFile, 'utf8'),
      areas: ['federation'],
    };
    await runArea(federationArea, target, settings);
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      const { findings } = await runArea(federationArea, target, settings);
      times.push(performance.now() - started);
      const failed = findings.filter((f) => f.status === 'fail').map((f) => f.id);
      if (failed.length > 0) throw new Error(`the bench server should be healthy, but failed: ${failed.join(', ')}`);
      if (!findings.some((f) => f.id === 'federation.127_0_1_3_8448.keys' && f.status === 'pass'))
        throw new Error('the second address was not checked');
    }
  } finally {
    await lab.stop();
  }
  const median = times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
  return [
    { name: `Federation check, 2 addresses, median of ${RUNS}`, value: `${median.toFixed(0)} ms`, target: '< 500 ms', met: median < 500 },
    {
      name: 'Federation check, peak RSS of the process',
      value: `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
      target: 'printed',
      met: true,
    },
  ];
}
