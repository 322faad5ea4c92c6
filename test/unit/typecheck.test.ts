import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('type check', () => {
  it('tsc --noEmit is clean over the whole project', () => {
    const run = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', '.'], { encoding: 'utf8' });
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  }, 120_000);
});
