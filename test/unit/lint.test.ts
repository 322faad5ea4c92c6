import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('lint and format', () => {
  it('biome finds nothing to lint or reformat (npm run lint; npm run format fixes the format)', () => {
    const run = spawnSync(process.execPath, ['node_modules/@biomejs/biome/bin/biome', 'ci', '--colors=off', '.'], { encoding: 'utf8' });
    expect(run.status, run.stdout + run.stderr).toBe(0);
  }, 120_000);
});
