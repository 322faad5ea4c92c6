// update.ts end to end: a stand-in checkout cloned from a local bare repository, new commits
// published there, the breaking-changes gate, the pull that keeps local edits, the raised
// migration version, then the real install run of the stand-in playbook.
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer } from '../../sandbox/dns-server.ts';
import type { RunningDnsServer } from '../../sandbox/dns-server.ts';
import { createStandin, git, MIGRATION_DEFAULTS } from '../lab/servers/standin.ts';
import type { Standin } from '../lab/servers/standin.ts';
import { secretsOf } from '../../scripts/lib/secrets.ts';
import { varsOf } from '../../scripts/lib/vars-text.ts';
import { healthyRecords, ORIGIN, zone } from '../lab/dns-zones.ts';
import { runStage, snapshot } from './helpers.ts';

let source: RunningDnsServer;
const standins: Standin[] = [];

beforeAll(async () => {
  source = await startDnsServer({ address: '127.53.9.3', zones: zone(healthyRecords()) });
});
afterAll(async () => {
  await source?.close();
});
afterEach(() => {
  for (const s of standins.splice(0)) s.cleanup();
});

async function configured(): Promise<Standin> {
  const standin = createStandin();
  standins.push(standin);
  const run = await runStage('configure', ['--playbook', standin.checkout, '--domain', ORIGIN, '--local'], standin.env);
  expect(run.code, run.stderr).toBe(0);
  return standin;
}

const update = (standin: Standin, ...args: string[]) =>
  runStage(
    'update',
    [
      '--playbook',
      standin.checkout,
      '--authoritative',
      `${source.address}:${source.port}`,
      '--resolver',
      `${source.address}:${source.port}`,
      '--timeout',
      '2',
      '--after-checks',
      'dns',
      ...args,
    ],
    standin.env,
  );
const varsFile = (standin: Standin) => join(standin.checkout, 'inventory', 'host_vars', `matrix.${ORIGIN}`, 'vars.yml');
const validated = (standin: Standin) =>
  varsOf(readFileSync(varsFile(standin), 'utf8'), 'vars.yml')['matrix_playbook_migration_validated_version'];
const head = (standin: Standin) => git(standin.checkout, 'rev-parse', 'HEAD').trim();

/** Publishes a playbook release that expects v2026.08.01.0 with one new breaking change. */
function publishBreakingRelease(standin: Standin): void {
  const defaults = readFileSync(join(standin.checkout, MIGRATION_DEFAULTS), 'utf8')
    .replace('matrix_playbook_migration_expected_version: "v2026.05.18.0"', 'matrix_playbook_migration_expected_version: "v2026.08.01.0"')
    .concat(
      '  - version: "v2026.08.01.0"\n    summary: "Stand-in: bridges were renamed"\n    changelog_url: "https://example.org/changelog#v2026.08.01.0"\n',
    );
  standin.publish({ [MIGRATION_DEFAULTS]: defaults }, 'release expecting v2026.08.01.0');
}

/** Publishes a release whose migration role renames a setting the server's vars.yml has. */
function publishRenamingRelease(standin: Standin): void {
  const file = join(MIGRATION_DEFAULTS, '..', '..', 'tasks', 'validate_config.yml');
  const checks = readFileSync(join(standin.checkout, file), 'utf8').replace(
    "    - {'old': 'standin_setting_of_2020', 'new': 'standin_setting'}",
    "    - {'old': 'standin_setting_of_2020', 'new': 'standin_setting'}\n    - {'old': 'devture_systemd_docker_base_ipv6_enabled', 'new': 'systemd_docker_base_ipv6_enabled'}",
  );
  standin.publish({ [file]: checks }, 'release renaming devture_systemd_docker_base_ipv6_enabled');
}

/** A local edit of a tracked file, which the pull must keep. */
function editLocally(standin: Standin): string {
  const cfg = join(standin.checkout, 'ansible.cfg');
  const edited = `${readFileSync(cfg, 'utf8')}# my local tweak\n`;
  writeFileSync(cfg, edited);
  return edited;
}

describe('update.ts', () => {
  it('without new breaking changes: pulls keeping local edits, then installs', async () => {
    const standin = await configured();
    standin.publish({ 'NEWS.md': 'a new release\n' }, 'release without breaking changes');
    const edited = editLocally(standin);
    const run = await update(standin);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`git -C ${standin.checkout} stash push -q`);
    expect(run.stdout).toContain(`git -C ${standin.checkout} pull --ff-only -q`);
    expect(readFileSync(join(standin.checkout, 'NEWS.md'), 'utf8')).toBe('a new release\n');
    expect(readFileSync(join(standin.checkout, 'ansible.cfg'), 'utf8')).toBe(edited);
    expect(git(standin.checkout, 'stash', 'list')).toBe('');
    expect(standin.records().map((r) => r.tag)).toEqual(['install-all', 'ensure-matrix-users-created', 'start', 'self-check']);
  });

  it('stops before pulling when the new playbook refuses a setting of vars.yml, with its new name', async () => {
    const standin = await configured();
    publishRenamingRelease(standin);
    const before = snapshot(standin.checkout);
    const commit = head(standin);

    const run = await update(standin);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('stopped before changing anything: the new playbook refuses these settings:');
    expect(run.stderr).toContain(
      'vars.yml: devture_systemd_docker_base_ipv6_enabled: the new playbook renamed it to systemd_docker_base_ipv6_enabled\n    → Rename it to `systemd_docker_base_ipv6_enabled` in vars.yml.',
    );
    expect(head(standin)).toBe(commit);
    expect(snapshot(standin.checkout)).toEqual(before);
    expect(standin.records()).toEqual([]);
  });

  it('shows new breaking changes and stops until acknowledged; a wrong version is bad input', async () => {
    const standin = await configured();
    publishBreakingRelease(standin);
    const before = snapshot(standin.checkout);
    const commit = head(standin);

    const run = await update(standin);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('The updated playbook expects matrix_playbook_migration_validated_version v2026.08.01.0');
    expect(run.stdout).toContain('  v2026.08.01.0: Stand-in: bridges were renamed\n    https://example.org/changelog#v2026.08.01.0');
    expect(run.stdout).not.toContain('v2026.05.18.0: Stand-in');
    expect(run.stderr).toContain(`--acknowledge v2026.08.01.0`);
    expect(run.stderr).toContain('stopped before changing anything');

    const wrong = await update(standin, '--acknowledge', 'v2026.07.01.0');
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toBe('update: --acknowledge v2026.07.01.0 does not match the version this update brings (v2026.08.01.0)\n');

    expect(head(standin)).toBe(commit);
    expect(snapshot(standin.checkout)).toEqual(before);
    expect(standin.records()).toEqual([]);
  });

  it('with --acknowledge: pulls, raises the validated version (diff and backup), installs with it', async () => {
    const standin = await configured();
    // A secret right below the changed line, as in a vars.yml people arrange themselves: the
    // diff shows it as context, so it must be masked there.
    const arranged = readFileSync(varsFile(standin), 'utf8').split('\n');
    const secretLine = arranged.findIndex((l) => l.startsWith('postgres_connection_password:'));
    const [moved] = arranged.splice(secretLine, 1);
    arranged.splice(arranged.findIndex((l) => l.startsWith('matrix_playbook_migration_validated_version:')) + 1, 0, moved!);
    writeFileSync(varsFile(standin), arranged.join('\n'));
    publishBreakingRelease(standin);
    const edited = editLocally(standin);
    const oldVars = readFileSync(varsFile(standin), 'utf8');
    const run = await update(standin, '--acknowledge', 'v2026.08.01.0');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      '- matrix_playbook_migration_validated_version: v2026.05.18.0\n+ matrix_playbook_migration_validated_version: v2026.08.01.0',
    );
    // The diff's context lines are vars.yml's neighbours of that line: its secrets are masked there.
    const secrets = secretsOf(varsOf(oldVars, 'vars.yml'));
    expect(secrets.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(run.stdout).not.toContain(secret);
    expect(validated(standin)).toBe('v2026.08.01.0');
    expect(readFileSync(varsFile(standin), 'utf8')).toBe(
      oldVars.replace('validated_version: v2026.05.18.0', 'validated_version: v2026.08.01.0'),
    );
    const backups = readdirSync(join(varsFile(standin), '..')).filter((f) => f.endsWith('.bak'));
    expect(backups.map((b) => readFileSync(join(varsFile(standin), '..', b), 'utf8'))).toEqual([oldVars]);
    expect(readFileSync(join(standin.checkout, 'ansible.cfg'), 'utf8')).toBe(edited);
    const records = standin.records();
    expect(records.map((r) => r.tag)).toEqual(['install-all', 'ensure-matrix-users-created', 'start', 'self-check']);
    expect(records.every((r) => r.validated_version === 'v2026.08.01.0')).toBe(true);
  });

  it('keeps local edits that conflict with the update in the stash and says so', async () => {
    const standin = await configured();
    standin.publish({ 'ansible.cfg': '# upstream rewrote this file\n[defaults]\nretry_files_enabled = False\n' }, 'new ansible.cfg');
    writeFileSync(join(standin.checkout, 'ansible.cfg'), '# my own ansible.cfg\n[defaults]\nforks = 3\n');
    const run = await update(standin);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Your local edits conflict with the update; they are kept in the stash');
    expect(git(standin.checkout, 'stash', 'list')).toMatch(/local edits kept by scripts\/update\.ts/);
    expect(standin.records()).toEqual([]);
  });

  it('--dry-run prints the commands and changes nothing', async () => {
    const standin = await configured();
    publishBreakingRelease(standin);
    const before = snapshot(standin.root);
    const commit = head(standin);
    const run = await update(standin, '--dry-run');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`git -C ${standin.checkout} fetch -q`);
    expect(run.stdout).toContain(`git -C ${standin.checkout} pull --ff-only -q`);
    expect(run.stdout).toContain('ansible-playbook -i inventory/hosts setup.yml --tags=install-all,ensure-matrix-users-created,start');
    expect(run.stdout).toContain('Dry run: nothing was changed.');
    expect(head(standin)).toBe(commit);
    expect(snapshot(standin.root)).toEqual(before);
  });

  it('bad input: a checkout that is not a git clone', async () => {
    const standin = await configured();
    const copy = join(standin.root, 'not-a-clone');
    git(standin.root, 'clone', '-q', standin.checkout, copy);
    cpSync(join(standin.checkout, 'inventory'), join(copy, 'inventory'), { recursive: true });
    rmSync(join(copy, '.git'), { recursive: true });
    const run = await runStage('update', ['--playbook', copy], standin.env);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^update: --playbook .*: not a git checkout/);
    expect(existsSync(join(copy, 'roles', 'galaxy'))).toBe(false);
  });
});
