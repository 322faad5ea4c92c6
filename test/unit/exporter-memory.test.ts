// The exporter's memory settings (docs/monitoring.md "Memory"): `npm run serve` starts it with
// exactly the settings the exporter checks for, and serve names the ones it was started without.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MEMORY_SETTINGS, missingMemorySettings } from '../../checks/areas/exporter.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const ALL = [
  '--max-semi-space-size=4',
  '--heap-growing-percent=20',
  'MALLOC_ARENA_MAX=2',
  'MALLOC_MMAP_THRESHOLD_=131072',
  'MALLOC_TRIM_THRESHOLD_=131072',
];

describe('the exporter’s memory settings', () => {
  it('npm run serve starts doctor serve with every one of them', () => {
    const serve = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.serve as string;
    const words = serve.split(/\s+/);
    for (const [name, value] of Object.entries(MEMORY_SETTINGS.env)) expect(words).toContain(`${name}=${value}`);
    for (const flag of MEMORY_SETTINGS.v8) expect(words).toContain(flag);
    expect(words.slice(-2)).toEqual(['checks/doctor.ts', 'serve']);
  });

  it('names what is missing, from the command line or NODE_OPTIONS and the environment', () => {
    expect(missingMemorySettings([], {})).toEqual(ALL);
    const env = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '131072' };
    const v8 = ['--max-semi-space-size=4', '--heap-growing-percent=20'];
    expect(missingMemorySettings(v8, env)).toEqual([]);
    expect(
      missingMemorySettings(['--heap-growing-percent=20'], { ...env, NODE_OPTIONS: '--max-semi-space-size=4 --enable-source-maps' }),
    ).toEqual([]);
    expect(missingMemorySettings(v8, { MALLOC_ARENA_MAX: '2' })).toEqual(ALL.slice(3));
    expect(missingMemorySettings(['--max-semi-space-size=4'], env)).toEqual(['--heap-growing-percent=20']);
  });
});
