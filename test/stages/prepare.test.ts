// prepare.ts as a real process: the control machine's programs, SSH checks against a closed
// loopback port, this machine judged as the server through a real Ansible fact run
// (ansible_connection=local), --apply in dry-run form, and a real clone and pull from a local
// repository (never the network).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Report } from '../../checks/core/report.ts';
import { createStandin, git } from '../lab/servers/standin.ts';
import type { Standin } from '../lab/servers/standin.ts';
import { freePort } from '../lab/servers/ports.ts';
import { runStage, snapshot } from './helpers.ts';

const standins: Standin[] = [];
afterEach(() => {
  for (const s of standins.splice(0)) s.cleanup();
});
function standinFor(): Standin {
  const s = createStandin();
  standins.push(s);
  return s;
}

async function prepare(standin: Standin, args: string[], env: Record<string, string> = {}) {
  const run = await runStage('prepare', ['--json', ...args], { ...standin.env, ...env });
  const report = JSON.parse(run.stdout) as Report;
  const byId = (id: string) => report.findings.filter((f) => f.id === id);
  return { run, report, byId };
}

/** ansible-core of the lab venv, as pinned in test/lab/servers/requirements.txt. */
const labAnsible = /ansible-core==(\S+)/.exec(readFileSync('test/lab/servers/requirements.txt', 'utf8'))![1]!;
/** A collections folder in which community.docker 3.6.0 is installed, as ansible-galaxy would leave it. */
/** A collections path holding community.docker and community.general, as the playbook needs them. */
function communityCollections(standin: Standin): string {
  const dir = join(standin.root, 'collections');
  for (const [name, version] of [
    ['docker', '3.6.0'],
    ['general', '12.6.4'],
  ]) {
    mkdirSync(join(dir, 'ansible_collections', 'community', name!), { recursive: true });
    writeFileSync(
      join(dir, 'ansible_collections', 'community', name!, 'MANIFEST.json'),
      JSON.stringify({ collection_info: { namespace: 'community', name, version } }),
    );
  }
  return dir;
}

describe('prepare.ts', () => {
  it('judges this machine as the server through Ansible, and the control machine', async () => {
    const standin = standinFor();
    expect((await runStage('configure', ['--playbook', standin.checkout, '--domain', 'example.test', '--local'], standin.env)).code).toBe(
      0,
    );
    const { run, report, byId } = await prepare(standin, ['--playbook', standin.checkout]);
    expect(run.stderr).toContain('Reading the server facts through Ansible');
    expect(byId('prepare.control.ansible')[0]).toMatchObject({
      status: 'pass',
      detail: `ansible-core ${labAnsible} (at least 2.15.1 is needed)`,
    });
    expect(byId('prepare.control.git')[0]!.status).toBe('pass');
    expect(byId('prepare.checkout')[0]).toMatchObject({ status: 'pass' });
    expect(byId('prepare.checkout')[0]!.detail).toContain('expects migration version v2026.05.18.0');

    const release = Object.fromEntries(
      readFileSync('/etc/os-release', 'utf8')
        .split('\n')
        .map((l) => l.split('='))
        .filter((p) => p.length === 2)
        .map(([k, v]) => [k, v!.replace(/"/g, '')]),
    );
    expect(byId('prepare.server.os')[0]!.detail).toContain(String(release['NAME']).split(' ')[0]);
    const ram = Number(/([\d.]+) GB of RAM/.exec(byId('prepare.server.ram')[0]!.detail!)![1]);
    expect(Math.abs(ram - totalmem() / 1e9)).toBeLessThanOrEqual(0.11);
    const hasSudo = spawnSync('sh', ['-c', 'command -v sudo']).status === 0;
    expect(byId('prepare.server.sudo')[0]!.status).toBe(hasSudo ? 'pass' : 'fail');
    expect(byId('prepare.server.port-8448')).toHaveLength(1);
    expect(byId('prepare.server.disk')[0]!.detail).toMatch(/GB free on \//);
    expect(run.code).toBe(report.summary.fail > 0 ? 2 : 0);
  });

  it('a server whose SSH does not work without prompts: both SSH checks fail, the server checks are skipped', async () => {
    const standin = standinFor();
    const port = await freePort();
    expect(
      (
        await runStage(
          'configure',
          ['--playbook', standin.checkout, '--domain', 'example.test', '--ip', '127.0.0.1', '--ssh-port', String(port)],
          standin.env,
        )
      ).code,
    ).toBe(0);
    const { run, byId } = await prepare(standin, ['--playbook', standin.checkout]);
    expect(run.code).toBe(2);
    expect(byId('prepare.ssh.host-key')[0]).toMatchObject({
      status: 'fail',
      fix: `connect once by hand and accept the key: ssh -p ${port} root@127.0.0.1`,
    });
    expect(byId('prepare.ssh.login')[0]!.status).toBe('fail');
    expect(byId('prepare.ssh.login')[0]!.detail).toMatch(/Connection refused/);
    expect(byId('prepare.server.facts')[0]!.status).toBe('skip');
    expect(byId('prepare.server.os')).toEqual([]);
  });

  it('--apply --dry-run with no Ansible and no checkout prints the installs and the clone, and changes nothing', async () => {
    const standin = standinFor();
    const target = join(standin.root, 'mdad');
    const before = snapshot(standin.root);
    const { run, byId } = await prepare(standin, ['--playbook', target, '--apply', '--dry-run'], { PATH: '/usr/bin:/bin' });
    expect(run.code).toBe(2);
    expect(byId('prepare.control.ansible')[0]!.status).toBe('fail');
    expect(byId('prepare.checkout')[0]!.status).toBe('fail');
    const root = process.getuid?.() === 0 ? '' : 'sudo ';
    expect(run.stderr).toContain(
      [
        'Would run:',
        `  ${root}apt-get update`,
        `  ${root}apt-get install -y pipx`,
        '  pipx install --force ansible-core',
        '  pipx ensurepath',
        '  ansible-galaxy collection install --upgrade community.docker',
        "  ansible-galaxy collection install --upgrade 'community.general:>=2.0.0,<18.0.0'",
        `  git clone https://github.com/spantaleev/matrix-docker-ansible-deploy.git ${target}`,
        'Dry run: nothing was changed.',
      ].join('\n'),
    );
    expect(existsSync(target)).toBe(false);
    expect(snapshot(standin.root)).toEqual(before);
  });

  it('--apply clones the playbook (from a local repository here), and pulls it while no server is configured', async () => {
    const standin = standinFor();
    const target = join(standin.root, 'fresh-checkout');
    const env = { ANSIBLE_COLLECTIONS_PATH: communityCollections(standin) };
    const upstream = join(standin.root, 'upstream.git');
    const { run, report } = await prepare(standin, ['--playbook', target, '--apply', '--repo', upstream], env);
    expect(run.stderr).toContain(`git clone ${upstream} ${target}`);
    expect(run.stderr).toContain('After the changes:');
    expect(run.code, JSON.stringify(report.findings.filter((f) => f.status === 'fail'))).toBe(0);
    expect(existsSync(join(target, 'setup.yml'))).toBe(true);
    expect(report.findings.find((f) => f.id === 'prepare.inventory')!.detail).toContain('run configure.ts, then prepare.ts again');

    standin.publish({ 'NEWS.md': 'new\n' }, 'a newer playbook');
    const pulled = await prepare(standin, ['--playbook', target, '--apply', '--repo', upstream], env);
    expect(pulled.run.code).toBe(0);
    expect(pulled.run.stderr).toContain(`git -C ${target} pull --ff-only`);
    expect(readFileSync(join(target, 'NEWS.md'), 'utf8')).toBe('new\n');
    expect(git(target, 'log', '-1', '--format=%s').trim()).toBe('a newer playbook');
  });

  it('--help has an example; bad input is exit 3', async () => {
    const help = await runStage('prepare', ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Example:\n  npx tsx scripts/prepare.ts --playbook ./matrix-docker-ansible-deploy --apply');
    const bad = await runStage('prepare', ['--aply']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toBe("prepare: Unknown option '--aply'\n");
  });
});
