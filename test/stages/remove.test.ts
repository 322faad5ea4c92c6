// remove.ts end to end with the real ansible-playbook, become (su) and a stand-in server data
// folder: its bin/remove-all has the contract of MDAD's (root only, the phrase on stdin).
// matrix_base_data_path points the stage's playbooks at that folder instead of /matrix.
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createStandin } from '../lab/servers/standin.ts';
import type { Standin } from '../lab/servers/standin.ts';
import { CONFIRMATION } from '../../scripts/lib/remove-all.ts';
import { modeOf, runStage, snapshot } from './helpers.ts';

const standins: Standin[] = [];
afterEach(() => {
  for (const s of standins.splice(0)) s.cleanup();
});

/** A configured stand-in whose vars.yml points matrix_base_data_path at a fake server folder. */
async function installed(): Promise<{ standin: Standin; data: string }> {
  const standin = createStandin();
  standins.push(standin);
  const run = await runStage('configure', ['--playbook', standin.checkout, '--domain', 'example.test', '--local'], standin.env);
  expect(run.code, run.stderr).toBe(0);
  const data = standin.serverData();
  const vars = join(standin.checkout, 'inventory', 'host_vars', 'matrix.example.test', 'vars.yml');
  writeFileSync(vars, `${readFileSync(vars, 'utf8')}matrix_base_data_path: ${data}\n`);
  return { standin, data };
}

const remove = (standin: Standin, args: string[], input?: string) =>
  runStage('remove', ['--playbook', standin.checkout, ...args], standin.env, input);

describe('remove.ts', () => {
  it('asks for the exact phrase; anything else removes nothing (exit 3)', async () => {
    const { standin, data } = await installed();
    const run = await remove(standin, [], 'yes\n');
    expect(run.code).toBe(3);
    expect(run.stdout).toContain('"docker system prune -af" deletes ALL unused Docker images, containers and networks on that host');
    expect(run.stdout).toContain('No backup: --backup DIR would first copy');
    expect(run.stderr).toContain(`Type "${CONFIRMATION}" to continue`);
    expect(run.stderr).toContain('remove: not confirmed; nothing was removed');
    expect(existsSync(join(data, 'bin', 'remove-all'))).toBe(true);
  });

  it('with the phrase typed: backs up, then runs remove-all as root through Ansible', async () => {
    const { standin, data } = await installed();
    const backup = join(standin.root, 'backup');
    const key = readFileSync(join(data, 'synapse', 'config', 'example.test.signing.key'), 'utf8');
    const run = await remove(standin, ['--backup', backup], `${CONFIRMATION}\n`);
    expect(run.stderr).toContain(`Type "${CONFIRMATION}"`);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/\[task \d+, \d+:\d\d\] Run remove-all/);
    expect(run.stdout).toContain('Removed the Matrix server matrix.example.test.');
    expect(existsSync(data)).toBe(false);

    const saved = join(backup, 'matrix.example.test', 'synapse');
    expect(readFileSync(join(saved, 'example.test.signing.key'), 'utf8')).toBe(key);
    expect(existsSync(join(saved, 'homeserver.yaml'))).toBe(true);
    expect(modeOf(join(saved, 'example.test.signing.key'))).toBe('600');
    expect(modeOf(backup)).toBe('700');
    const log = readFileSync(/Full log: (\S+)/.exec(run.stdout)![1]!, 'utf8');
    expect(log).toContain(`No ${data}/postgres/env-postgres-psql: no Postgres managed by the playbook here`);
  });

  it('--yes-really-remove-everything skips the question; without remove-all on the server it fails plainly', async () => {
    const { standin, data } = await installed();
    const first = await remove(standin, ['--yes-really-remove-everything']);
    expect(first.code, first.stderr).toBe(0);
    expect(existsSync(data)).toBe(false);
    const again = await remove(standin, ['--yes-really-remove-everything']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("Failed at task: Stop when the playbook's remove-all is not there");
    expect(again.stderr).toContain('bin/remove-all not found');
  });

  it('removes nothing when the backup finds no signing key', async () => {
    const { standin, data } = await installed();
    rmSync(join(data, 'synapse', 'config', 'example.test.signing.key'));
    const run = await remove(standin, ['--backup', join(standin.root, 'backup'), '--yes-really-remove-everything']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('No signing key under');
    expect(existsSync(join(data, 'bin', 'remove-all'))).toBe(true);
  });

  it('--dry-run prints the commands and changes nothing; a used backup folder is bad input', async () => {
    const { standin, data } = await installed();
    const before = snapshot(standin.root);
    const run = await remove(standin, ['--backup', join(standin.root, 'b'), '--dry-run']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /ansible-playbook -i inventory\/hosts \S+\/scripts\/lib\/playbooks\/backup\.yml --limit=matrix\.example\.test/,
    );
    expect(run.stdout).toMatch(
      /ansible-playbook -i inventory\/hosts \S+\/scripts\/lib\/playbooks\/remove\.yml --limit=matrix\.example\.test/,
    );
    expect(run.stdout).toContain('Dry run: nothing was changed.');
    expect(snapshot(standin.root)).toEqual(before);

    const used = await remove(standin, ['--backup', data, '--yes-really-remove-everything']);
    expect(used.code).toBe(3);
    expect(used.stderr).toMatch(/--backup .*: not empty/);
    expect(statSync(join(data, 'bin', 'remove-all')).isFile()).toBe(true);
  });
});
