// install.ts end to end: the real ansible-playbook (lab venv) runs the stand-in playbook with
// ansible_connection=local, and the DNS preflight and after-picture ask the lab's DNS servers.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer } from '../../sandbox/dns-server.ts';
import type { RunningDnsServer } from '../../sandbox/dns-server.ts';
import { createStandin } from '../lab/servers/standin.ts';
import type { Standin } from '../lab/servers/standin.ts';
import { healthyRecords, ORIGIN, withChanges, zone } from '../lab/dns-zones.ts';
import { modeOf, runStage, snapshot } from './helpers.ts';

let source: RunningDnsServer;
let resolver: RunningDnsServer;
const standins: Standin[] = [];

beforeAll(async () => {
  source = await startDnsServer({ address: '127.53.9.1', zones: zone(healthyRecords()) });
  resolver = await startDnsServer({ address: '127.53.9.2', zones: zone(healthyRecords()), role: 'resolver' });
});
afterAll(async () => {
  await Promise.all([source, resolver].filter(Boolean).map((s) => s.close()));
});
afterEach(() => {
  source.setZones(zone(healthyRecords()));
  resolver.setZones(zone(healthyRecords()));
  for (const s of standins.splice(0)) s.cleanup();
});

/** A stand-in checkout configured by configure.ts for example.test, run locally. */
async function configured(...extra: string[]): Promise<Standin> {
  const standin = createStandin();
  standins.push(standin);
  const run = await runStage('configure', ['--playbook', standin.checkout, '--domain', ORIGIN, '--local', ...extra], standin.env);
  expect(run.code, run.stderr).toBe(0);
  return standin;
}

const dns = () => [
  '--authoritative',
  `${source.address}:${source.port}`,
  '--resolver',
  `${resolver.address}:${resolver.port}`,
  '--timeout',
  '2',
];
const install = (standin: Standin, args: string[] = [], env: Record<string, string> = {}) =>
  runStage('install', ['--playbook', standin.checkout, ...dns(), ...args], { ...standin.env, ...env });
const logOf = (stdout: string) => /Full log: (\S+)/.exec(stdout)![1]!;

describe('install.ts', () => {
  it('preflight, clean roles, install-all,ensure-matrix-users-created,start, self-check, after-picture; progress and a full log', async () => {
    const standin = await configured();
    const stale = join(standin.checkout, 'roles', 'galaxy', 'stale_role');
    mkdirSync(stale, { recursive: true });
    writeFileSync(join(stale, 'left-over'), 'from an older requirements.yml');

    const run = await install(standin, ['--after-checks', 'dns']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Preflight: DNS');
    expect(run.stdout).toContain('DNS preflight for example.test');
    expect(run.stdout).toMatch(/ansible-galaxy install -r requirements\.yml -p roles\/galaxy\/ --force/);
    expect(run.stdout).toMatch(/\[task \d+, \d+:\d\d\] Install every component \(stand-in\)/);
    expect(run.stdout).toMatch(/PLAY RECAP/);
    expect(run.stdout).toContain('After-picture: every check (doctor)');
    expect(run.stdout).toMatch(/checks\/doctor\.ts example\.test --playbook \S+ --json --only dns --resolver /);
    expect(run.stdout).toContain('Installed. Next: create your first user');

    expect(existsSync(stale)).toBe(false);
    expect(existsSync(join(standin.checkout, 'roles', 'galaxy', 'standin_base', 'tasks', 'main.yml'))).toBe(true);
    const records = standin.records();
    expect(records.map((r) => r.tag)).toEqual(['install-all', 'ensure-matrix-users-created', 'start', 'self-check']);
    expect(records[0]!.argv).toMatch(
      /ansible-playbook -i inventory\/hosts setup\.yml --tags=install-all,ensure-matrix-users-created,start$/,
    );
    expect(records[3]!.argv).toMatch(/--tags=self-check$/);
    expect(records[0]!.matrix_domain).toBe(ORIGIN);

    const log = logOf(run.stdout);
    expect(log.startsWith(join(standin.checkout, 'inventory', 'logs', 'install-'))).toBe(true);
    expect(modeOf(log)).toBe('600');
    const text = readFileSync(log, 'utf8');
    expect(text).toContain('TASK [Record that install-all ran]');
    expect(text).toContain('TASK [Record that self-check ran]');
    expect(text).toMatch(/standin_base \(v1\.0\.0\) was installed successfully/);
  });

  it('the after-picture runs every check: the stand-in serves no well-known files, so install says so (exit 2)', async () => {
    const standin = await configured();
    const run = await install(standin, ['--skip-preflight']);
    expect(run.code).toBe(2);
    expect(standin.records().map((r) => r.tag)).toEqual(['install-all', 'ensure-matrix-users-created', 'start', 'self-check']);
    expect(run.stdout).toMatch(/checks\/doctor\.ts example\.test --playbook \S+ --json --resolver /);
    expect(run.stdout).toMatch(/FAIL .*wellknown\./s);
    expect(run.stdout).toContain('The playbook finished, but the checks above found failures.');
  });

  it('--setup-all runs setup-all instead of install-all', async () => {
    const standin = await configured();
    const run = await install(standin, ['--setup-all', '--skip-preflight', '--after-checks', 'dns']);
    expect(run.code, run.stderr).toBe(0);
    expect(standin.records().map((r) => r.tag)).toEqual(['setup-all', 'ensure-matrix-users-created', 'start', 'self-check']);
    expect(run.stdout).not.toContain('Preflight: DNS');
  });

  it('stops before the playbook when the DNS preflight fails', async () => {
    const standin = await configured();
    const broken = withChanges([{ name: `matrix.${ORIGIN}`, type: 'A' }]);
    source.setZones(zone(broken));
    resolver.setZones(zone(broken));
    const run = await install(standin);
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/FAIL .*matrix\.example\.test/s);
    expect(run.stderr).toMatch(/^install: stopped before the playbook: the DNS preflight found failures/);
    expect(standin.records()).toEqual([]);
    expect(existsSync(join(standin.checkout, 'roles', 'galaxy'))).toBe(false);
  });

  it("stops before the playbook when vars.yml has what the playbook refuses; without the preflight the playbook's refusal is explained", async () => {
    const standin = await configured();
    const vars = join(standin.checkout, 'inventory', 'host_vars', `matrix.${ORIGIN}`, 'vars.yml');
    writeFileSync(
      vars,
      readFileSync(vars, 'utf8').replace(
        /matrix_playbook_migration_validated_version: \S+/,
        'matrix_playbook_migration_validated_version: v2026.01.01.0',
      ),
    );
    const stopped = await install(standin);
    expect(stopped.code).toBe(2);
    expect(stopped.stderr).toContain('stopped before the playbook: vars.yml has what the playbook would refuse');
    expect(stopped.stderr).toContain(
      'matrix_playbook_migration_validated_version: v2026.01.01.0 is older than the version this playbook expects (v2026.05.18.0)',
    );
    expect(standin.records()).toEqual([]);

    const run = await install(standin, ['--skip-preflight']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'Failed at task: custom/matrix_playbook_migration : Check that the breaking changes up to the expected version were acknowledged',
    );
    expect(run.stderr).toContain('Next: see them with: npx tsx scripts/update.ts');
    expect(run.stderr).toContain(`Full log: ${join(standin.checkout, 'inventory', 'logs')}`);
    expect(standin.records()).toEqual([]);
  });

  it("stops before the playbook on MDAD's own validation of a service: Sygnal switched on by hand without its apps", async () => {
    const standin = await configured();
    const vars = join(standin.checkout, 'inventory', 'host_vars', `matrix.${ORIGIN}`, 'vars.yml');
    writeFileSync(vars, `${readFileSync(vars, 'utf8')}matrix_sygnal_enabled: true\n`);
    const stopped = await install(standin);
    expect(stopped.code).toBe(2);
    expect(stopped.stderr).toContain('stopped before the playbook: vars.yml has what the playbook would refuse');
    expect(stopped.stderr).toMatch(
      /matrix_sygnal_apps: Sygnal needs at least one push app .*roles\/custom\/matrix-sygnal\/tasks\/validate_config\.yml#L\d+\)\n\s+→ Add `matrix_sygnal_apps`/,
    );
    expect(standin.records()).toEqual([]);
  });

  it('explains a service that did not stay up, and stops before the self-check', async () => {
    const standin = await configured();
    const run = await install(standin, ['--skip-preflight', '--after-checks', 'dns'], { STANDIN_FAIL: 'service' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Failed at task: Verify that the services stay up');
    expect(run.stderr).toContain('Why: a service stopped right after it was started (matrix-synapse)');
    expect(run.stderr).toContain('journalctl -fu matrix-synapse');
    expect(standin.records().map((r) => r.tag)).toEqual(['install-all', 'ensure-matrix-users-created', 'start']);
  });

  it('explains an unreachable server', async () => {
    const standin = await configured();
    // A loopback port nobody listens on: SSH is refused at once, as with a server that is down.
    const closed = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const hosts = join(standin.checkout, 'inventory', 'hosts');
    writeFileSync(hosts, readFileSync(hosts, 'utf8').replace('ansible_connection=local', `ansible_host=127.0.0.1 ansible_port=${closed}`));
    const run = await install(standin, ['--skip-preflight']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Why: Ansible could not reach the server over SSH');
    expect(run.stderr).toContain('Next: check ansible_host and the SSH port in inventory/hosts');
  });

  it('--dry-run prints exactly the commands and changes nothing', async () => {
    const standin = await configured();
    const before = snapshot(standin.root);
    const run = await install(standin, ['--dry-run', '--setup-all', '-K']);
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n').map((l) => l.trim());
    expect(lines).toContain(`cd ${standin.checkout} && rm -rf roles/galaxy`);
    expect(lines).toContain(`cd ${standin.checkout} && ansible-galaxy install -r requirements.yml -p roles/galaxy/ --force`);
    expect(lines).toContain(
      `cd ${standin.checkout} && ANSIBLE_NOCOLOR=1 PYTHONUNBUFFERED=1 ansible-playbook -i inventory/hosts setup.yml --tags=setup-all,ensure-matrix-users-created,start --ask-become-pass`,
    );
    expect(lines).toContain(
      `cd ${standin.checkout} && ANSIBLE_NOCOLOR=1 PYTHONUNBUFFERED=1 ansible-playbook -i inventory/hosts setup.yml --tags=self-check --ask-become-pass`,
    );
    expect(lines.filter((l) => l.includes(`checks/dns.ts ${ORIGIN} --playbook ${standin.checkout} --json`))).toHaveLength(1);
    expect(lines.filter((l) => l.includes(`checks/doctor.ts ${ORIGIN} --playbook ${standin.checkout} --json`))).toHaveLength(1);
    expect(run.stdout).toContain('Dry run: nothing was changed.');
    expect(snapshot(standin.root)).toEqual(before);
    expect(standin.records()).toEqual([]);
  });

  it('bad input: exit 3, one line, nothing run', async () => {
    const standin = await configured();
    const before = snapshot(standin.root);
    for (const [args, message] of [
      [['--resolver', 'dns.example'], /--resolver "dns.example" is not an IP address/],
      [['--timeout', 'soon'], /--timeout must be a number/],
      [['--after-checks', 'dns,tls'], /--after-checks: unknown area tls \(areas: dns, wellknown, federation/],
      [['--playbook', join(standin.root, 'missing')], /no such directory/],
    ] as Array<[string[], RegExp]>) {
      const run = await runStage('install', ['--playbook', standin.checkout, ...args], standin.env);
      expect(run.code, args.join(' ')).toBe(3);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(message);
    }
    expect(snapshot(standin.root)).toEqual(before);
  });
});
