// configure.ts as a real process on a stand-in checkout: first run, idempotence, a change
// with diff and backup that keeps the person's edits and the secrets, --dry-run, --migrate
// of the tutorial's vars.yml, bad input.
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planFromVars } from '../../checks/plan/plan.ts';
import { varsOf } from '../../scripts/lib/vars-text.ts';
import { createStandin, MIGRATION_DEFAULTS } from '../lab/servers/standin.ts';
import type { Standin } from '../lab/servers/standin.ts';
import { modeOf, runStage, snapshot } from './helpers.ts';

let standin: Standin;
const hostVars = (domain: string) => join(standin.checkout, 'inventory', 'host_vars', `matrix.${domain}`, 'vars.yml');
const hosts = () => join(standin.checkout, 'inventory', 'hosts');
const configure = (...args: string[]) => runStage('configure', ['--playbook', standin.checkout, ...args], standin.env);

beforeAll(() => {
  standin = createStandin();
  // A version no code could have hard-coded: configure must read it from the checkout.
  const defaults = join(standin.checkout, MIGRATION_DEFAULTS);
  writeFileSync(defaults, readFileSync(defaults, 'utf8').replace('"v2026.05.18.0"', '"v2031.02.03.4"'));
});
afterAll(() => standin?.cleanup());

describe('configure.ts', () => {
  const first = [
    '--domain',
    'example.test',
    '--ip',
    '203.0.113.10',
    '--ssh-user',
    'deploy',
    '--ssh-port',
    '2222',
    '--enable',
    'element,jitsi,coturn,ketesa',
  ];

  it('writes hosts and vars.yml (mode 0600) with generated secrets it never prints', async () => {
    const run = await configure(...first);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(modeOf(hosts())).toBe('600');
    expect(modeOf(hostVars('example.test'))).toBe('600');
    expect(readFileSync(hosts(), 'utf8')).toContain(
      '[matrix_servers]\nmatrix.example.test ansible_host=203.0.113.10 ansible_ssh_user=deploy ansible_port=2222 ansible_become=true ansible_become_user=root\n',
    );
    const vars = varsOf(readFileSync(hostVars('example.test'), 'utf8'), 'vars.yml');
    expect(vars).toMatchObject({
      matrix_domain: 'example.test',
      matrix_playbook_migration_validated_version: 'v2031.02.03.4',
      matrix_homeserver_implementation: 'synapse',
      matrix_playbook_reverse_proxy_type: 'playbook-managed-traefik',
      jitsi_enabled: true,
      coturn_enabled: true,
      matrix_ketesa_enabled: true,
      coturn_turn_external_ip_addresses: ['203.0.113.10'],
    });
    const secrets = [vars['matrix_homeserver_generic_secret_key'], vars['postgres_connection_password']] as string[];
    for (const secret of secrets) {
      expect(secret).toMatch(/^[A-Za-z0-9]{64}$/);
      expect(run.stdout).not.toContain(secret);
    }
    expect(run.stdout).toContain('matrix_homeserver_generic_secret_key: ********');
    // The plan of the written file has nothing the playbook would refuse.
    expect(planFromVars(vars, { expectedMigrationVersion: 'v2031.02.03.4' }).issues).toEqual([]);
  });

  it('changes nothing when run again with the same input', async () => {
    const before = snapshot(standin.checkout);
    const run = await configure(...first);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Nothing to change');
    expect(snapshot(standin.checkout)).toEqual(before);
  });

  it('shows a change as a diff, keeps comments, edits and secrets, and leaves a backup', async () => {
    const file = hostVars('example.test');
    const edited = `${readFileSync(file, 'utf8')}# my own note\nmatrix_synapse_max_upload_size_mb: 200  # big files\n`;
    writeFileSync(file, edited, { mode: 0o600 });
    const secretsBefore = varsOf(edited, 'vars.yml');

    const run = await configure('--domain', 'example.test', '--enable', 'matrix-rtc', '--disable', 'jitsi');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`change ${file}:`);
    expect(run.stdout).toContain('- jitsi_enabled: true\n+ jitsi_enabled: false');
    expect(run.stdout).toContain('+ matrix_rtc_enabled: true');
    const after = readFileSync(file, 'utf8');
    expect(after).toBe(edited.replace('jitsi_enabled: true', 'jitsi_enabled: false') + 'matrix_rtc_enabled: true\n');
    const vars = varsOf(after, 'vars.yml');
    expect(vars['matrix_homeserver_generic_secret_key']).toBe(secretsBefore['matrix_homeserver_generic_secret_key']);
    expect(vars['postgres_connection_password']).toBe(secretsBefore['postgres_connection_password']);
    expect(modeOf(file)).toBe('600');
    const backups = readdirSync(join(file, '..')).filter((f) => f.endsWith('.bak'));
    expect(backups).toHaveLength(1);
    expect(readFileSync(join(file, '..', backups[0]!), 'utf8')).toBe(edited);
    expect(modeOf(join(file, '..', backups[0]!))).toBe('600');
    // The inventory line was not touched (no host options given).
    expect(run.stdout).not.toContain(`change ${hosts()}`);
  });

  it('--dry-run prints the change and writes nothing', async () => {
    const before = snapshot(standin.checkout);
    const run = await configure('--domain', 'example.test', '--ip', '198.51.100.20', '--enable', 'etherpad', '--dry-run');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('- matrix.example.test ansible_host=203.0.113.10');
    expect(run.stdout).toContain('+ matrix.example.test ansible_host=198.51.100.20');
    expect(run.stdout).toContain('+ etherpad_enabled: true');
    expect(run.stdout).toContain('Dry run: nothing was written.');
    expect(snapshot(standin.checkout)).toEqual(before);
  });

  it('--migrate lists what the playbook rejects with the replacement, and writes the migrated file', async () => {
    const old = join(standin.root, 'tutorial-vars.yml');
    copyFileSync('test/fixtures/tutorial-2024-vars.yml', old);
    const run = await configure('--migrate', old, '--ip', '203.0.113.11');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('3 variable(s) the current playbook rejects or ignores');
    expect(run.stdout).toMatch(
      /matrix_registration_enabled \(rejected\): matrix-registration was removed[^\n]*\n\s+→ Remove it\. For invite-only sign-up set `matrix_synapse_enable_registration: true`/,
    );
    expect(run.stdout).toMatch(/matrix_synapse_admin_enabled \(rejected\): [^\n]*\n\s+→ Replace it with `matrix_ketesa_enabled: true`/);
    expect(run.stdout).toContain('matrix_synapse_admin_enabled: renamed to matrix_ketesa_enabled');
    expect(run.stdout).toContain('matrix_homeserver_generic_secret_key: placeholder replaced by a generated secret');
    expect(run.stdout).not.toContain('большой ключ');

    const migrated = readFileSync(hostVars('example.ru'), 'utf8');
    const vars = varsOf(migrated, 'vars.yml');
    expect(vars['matrix_homeserver_generic_secret_key']).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(vars['postgres_connection_password']).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(vars['matrix_playbook_migration_validated_version']).toBe('v2031.02.03.4');
    expect(planFromVars(vars, { expectedMigrationVersion: 'v2031.02.03.4' }).issues).toEqual([]);
    expect(migrated).toContain('#Если у вас нет сайта на основном домене example.ru');
    expect(readFileSync(hosts(), 'utf8')).toContain('matrix.example.ru ansible_host=203.0.113.11\n');
    // The tutorial file itself is left alone.
    expect(readFileSync(old, 'utf8')).toBe(readFileSync('test/fixtures/tutorial-2024-vars.yml', 'utf8'));

    const again = await configure('--migrate', hostVars('example.ru'));
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('no variable that the current playbook rejects or ignores');
    expect(again.stdout).toContain('Nothing to change');
  });

  it('refuses to migrate onto an existing vars.yml of another file', async () => {
    const before = snapshot(standin.checkout);
    const run = await configure('--migrate', 'test/fixtures/tutorial-2024-vars.yml');
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/exists already; migrate that file in place/);
    expect(snapshot(standin.checkout)).toEqual(before);
  });

  it('bad input is one line, exit 3, nothing written', async () => {
    const before = snapshot(standin.checkout);
    const cases: Array<[string[], RegExp]> = [
      [['--domain', 'example.test', '--enable', 'jitsy'], /unknown service "jitsy"/],
      [['--domain', 'Example.test', '--ip', '203.0.113.10'], /upper case/],
      [['--domain', 'matrix.example.test', '--ip', '203.0.113.10'], /give the base domain \(example\.test\)/],
      [['--domain', 'new.test'], /give --ip ADDRESS/],
      [['--domain', 'new.test', '--ip', 'not an address'], /not an IP address or host name/],
      [['--domain', 'new.test', '--ip', '203.0.113.10', '--ssh-port', '70000'], /--ssh-port must be a whole number/],
      [['--domain', 'new.test', '--ip', '203.0.113.10', '--ssh-key', '/nonexistent/key'], /no such file/],
      [['--domain', 'new.test', '--ip', '203.0.113.10', '--registration', 'open'], /--registration must be token or closed/],
      [['--domain', 'new.test', '--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const run = await configure(...args);
      expect(run.code, args.join(' ')).toBe(3);
      expect(run.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(run.stderr).toMatch(message);
      expect(run.stdout).toBe('');
    }
    const missing = await runStage('configure', ['--playbook', join(standin.root, 'nowhere'), '--domain', 'example.test', '--local']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/no such directory; get the playbook with: npx tsx scripts\/prepare\.ts/);
    expect(existsSync(join(standin.root, 'nowhere'))).toBe(false);
    expect(snapshot(standin.checkout)).toEqual(before);
  });
});
