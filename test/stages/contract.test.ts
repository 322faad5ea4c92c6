// The command-line contract every stage shares (docs/architecture.md "Stages"): --help with
// an example, --playbook with its default, one line and exit 3 for bad input.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStage, snapshot } from './helpers.ts';

const STAGES = ['prepare', 'configure', 'install', 'update', 'register', 'remove', 'firewall', 'wellknown'] as const;

describe('every stage', () => {
  it.each(STAGES)('%s --help shows the options, an example and the exit codes', async (stage) => {
    const run = await runStage(stage, ['--help']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(new RegExp(`Example[s]?:\\n(  .*\\n)*  npx tsx scripts/${stage}\\.ts `));
    expect(run.stdout).toContain('--playbook DIR   the matrix-docker-ansible-deploy checkout (default ./matrix-docker-ansible-deploy)');
    expect(run.stdout).toContain('--dry-run');
    expect(run.stdout).toContain('Exit codes: 0 done, 2 failed, 3 bad input (nothing was changed).');
  });

  it.each(STAGES.filter((s) => s !== 'prepare' && s !== 'firewall' && s !== 'wellknown'))(
    '%s without a checkout: one line, exit 3, nothing written',
    async (stage) => {
      const dir = mkdtempSync(join(tmpdir(), 'stage-contract-'));
      try {
        const args: string[] = {
          configure: ['--domain', 'example.org', '--local'],
          install: [],
          update: [],
          register: ['user', 'alice'],
          remove: ['--yes-really-remove-everything'],
        }[stage];
        // The default checkout, ./matrix-docker-ansible-deploy, does not exist in the project folder.
        const run = await runStage(stage, [...args, '--playbook', join(dir, 'matrix-docker-ansible-deploy')], {
          MATRIX_PASSWORD: 'long enough',
        });
        expect(run.code).toBe(3);
        expect(run.stderr).toBe(
          `${stage}: --playbook ${join(dir, 'matrix-docker-ansible-deploy')}: no such directory; get the playbook with: npx tsx scripts/prepare.ts --playbook ${join(dir, 'matrix-docker-ansible-deploy')} --apply\n`,
        );
        expect(snapshot(dir)).toEqual({});
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
