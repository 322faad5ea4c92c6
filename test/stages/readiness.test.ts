// Unit tests of prepare's rules: control machine, SSH and server facts to findings, and the
// commands --apply derives from them.
import { describe, expect, it } from 'vitest';
import { showCommand } from '../../scripts/lib/commands.ts';
import {
  controlActions,
  controlFindings,
  listeners,
  mountFor,
  parseVersion,
  serverActions,
  serverFindings,
  sshFindings,
} from '../../scripts/lib/readiness.ts';
import type { ControlFacts, ServerFacts } from '../../scripts/lib/readiness.ts';

const GIB = 1024;
const control: ControlFacts = {
  git: 'git version 2.39.5',
  python: 'Python 3.11.2',
  ansible: 'ansible-playbook [core 2.19.14]',
  communityDocker: '4.0.1',
  communityGeneral: '12.6.4',
  just: false,
  agru: false,
  usesSsh: true,
};
const server: ServerFacts = {
  distribution: 'Debian',
  version: '12.7',
  osFamily: 'Debian',
  serviceManager: 'systemd',
  memTotalMb: 8 * GIB,
  mounts: [
    { mount: '/', size_available: 50e9 },
    { mount: '/boot', size_available: 1e8 },
  ],
  sudo: true,
  listening: 'LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=1,fd=3))',
  mdadTraefik: false,
  user: 'root',
};
const status = (findings: { id: string; status: string }[], id: string) => findings.find((f) => f.id === id)?.status;

describe('control machine', () => {
  it('passes a ready machine', () => {
    const f = controlFindings(control);
    expect(f.filter((x) => x.status !== 'pass' && x.status !== 'info')).toEqual([]);
    expect(controlActions(control, { isRoot: true, hasApt: true, hasPipx: true })).toEqual([]);
  });

  it('fails ansible-core below 2.15.1, and --apply installs it with pipx', () => {
    const old = { ...control, ansible: 'ansible-playbook [core 2.14.18]', communityDocker: undefined };
    expect(status(controlFindings(old), 'prepare.control.ansible')).toBe('fail');
    expect(controlActions(old, { isRoot: false, hasApt: true, hasPipx: false }).map(showCommand)).toEqual([
      'sudo apt-get update',
      'sudo apt-get install -y pipx',
      'pipx install --force ansible-core',
      'pipx ensurepath',
      'ansible-galaxy collection install --upgrade community.docker',
      "ansible-galaxy collection install --upgrade 'community.general:>=2.0.0,<18.0.0'",
    ]);
    expect(status(controlFindings({ ...control, ansible: 'ansible-playbook [core 2.15.1]' }), 'prepare.control.ansible')).toBe('pass');
  });

  it('warns about SSH prompts from ansible-core 2.21 on, only when a host uses SSH', () => {
    const recent = { ...control, ansible: 'ansible-playbook [core 2.21.0]' };
    expect(status(controlFindings(recent), 'prepare.control.ansible-ssh-prompt')).toBe('warn');
    expect(status(controlFindings({ ...recent, usesSsh: false }), 'prepare.control.ansible-ssh-prompt')).toBeUndefined();
    expect(status(controlFindings(control), 'prepare.control.ansible-ssh-prompt')).toBeUndefined();
  });

  it('fails without community.general (or past the release that drops docker_network), and installs one that fits ansible-core', () => {
    const none = { ...control, ansible: 'ansible-playbook [core 2.16.14]', communityGeneral: undefined };
    const missing = controlFindings(none).find((f) => f.id === 'prepare.control.community-general')!;
    expect(missing.status).toBe('fail');
    expect(missing.fix).toContain("'community.general:>=2.0.0,<12.0.0'");
    expect(controlActions(none, { isRoot: true, hasApt: true, hasPipx: true }).map(showCommand)).toEqual([
      "ansible-galaxy collection install --upgrade 'community.general:>=2.0.0,<12.0.0'",
    ]);
    expect(status(controlFindings({ ...control, communityGeneral: '18.0.0' }), 'prepare.control.community-general')).toBe('fail');
    expect(status(controlFindings({ ...control, communityGeneral: '1.3.6' }), 'prepare.control.community-general')).toBe('fail');
    expect(status(controlFindings({ ...control, communityGeneral: '2.0.0' }), 'prepare.control.community-general')).toBe('pass');
  });

  it('missing git and community.docker', () => {
    const f = controlFindings({ ...control, git: undefined, communityDocker: '3.4.0' });
    expect(status(f, 'prepare.control.git')).toBe('fail');
    expect(status(f, 'prepare.control.community-docker')).toBe('warn');
    expect(controlActions({ ...control, git: undefined }, { isRoot: true, hasApt: true, hasPipx: true }).map(showCommand)).toEqual([
      'apt-get update',
      'apt-get install -y git',
    ]);
  });

  it('reads versions', () => {
    expect(parseVersion('ansible-playbook [core 2.19.14]', 'core')).toEqual([2, 19, 14]);
    expect(parseVersion('git version 2.39.5')).toEqual([2, 39, 5]);
    expect(parseVersion(undefined)).toBeUndefined();
  });
});

describe('SSH', () => {
  const host = { name: 'matrix.example.org', address: '203.0.113.10', sshPort: 2222, sshUser: 'deploy' };
  it('needs the host key known and a login without prompts', () => {
    const bad = sshFindings(host, { known: false, batchOk: false, error: 'Host key verification failed.' });
    expect(bad.map((f) => f.status)).toEqual(['fail', 'fail']);
    expect(bad[0]!.fix).toBe('connect once by hand and accept the key: ssh -p 2222 deploy@203.0.113.10');
    expect(bad[1]!.detail).toContain('Host key verification failed.');
    expect(sshFindings(host, { known: true, batchOk: true }).map((f) => f.status)).toEqual(['pass', 'pass']);
  });
});

describe('server', () => {
  it('passes a good server', () => {
    expect(serverFindings('m', server).map((f) => f.status)).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'pass']);
  });

  it('RAM: under 2 GB fails, under 4 GB warns; a "2 GB" VPS passes the first limit', () => {
    expect(status(serverFindings('m', { ...server, memTotalMb: 1800 }), 'prepare.server.ram')).toBe('fail');
    expect(status(serverFindings('m', { ...server, memTotalMb: 1960 }), 'prepare.server.ram')).toBe('warn');
    expect(status(serverFindings('m', { ...server, memTotalMb: 3700 }), 'prepare.server.ram')).toBe('warn');
    expect(status(serverFindings('m', { ...server, memTotalMb: 3900 }), 'prepare.server.ram')).toBe('pass');
  });

  it('disk: the mount that holds /matrix', () => {
    expect(
      mountFor([
        { mount: '/', size_available: 1 },
        { mount: '/matrix', size_available: 2 },
        { mount: '/mat', size_available: 3 },
      ])?.size_available,
    ).toBe(2);
    expect(status(serverFindings('m', { ...server, mounts: [{ mount: '/', size_available: 3e9 }] }), 'prepare.server.disk')).toBe('fail');
    expect(status(serverFindings('m', { ...server, mounts: [{ mount: '/', size_available: 10e9 }] }), 'prepare.server.disk')).toBe('warn');
  });

  it('OS: systemd, versions, unknown distributions', () => {
    const os = (patch: Partial<ServerFacts>) => serverFindings('m', { ...server, ...patch })[0]!;
    expect(os({ distribution: 'Debian', version: '9.13' }).status).toBe('fail');
    expect(os({ distribution: 'Ubuntu', version: '20.04' }).status).toBe('warn');
    expect(os({ distribution: 'Ubuntu', version: '24.04' }).status).toBe('pass');
    expect(os({ distribution: 'Rocky', version: '9.4' }).status).toBe('pass');
    expect(os({ distribution: 'Alpine', version: '3.20', serviceManager: 'openrc' }).status).toBe('fail');
    expect(os({ distribution: 'Gentoo', version: '2.17' }).status).toBe('warn');
  });

  it("ports 80/443/8448: free, the playbook's own, or taken", () => {
    const ss = [
      'LISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:(("nginx",pid=10,fd=6))',
      'LISTEN 0 4096 [::]:443 [::]:* users:(("docker-proxy",pid=11,fd=4))',
      'LISTEN 0 4096 *:8448 *:*',
    ].join('\n');
    expect([...listeners(ss)]).toEqual([
      [80, 'nginx'],
      [443, 'docker-proxy'],
      [8448, 'an unknown program'],
    ]);
    const fresh = serverFindings('m', { ...server, listening: ss });
    expect(status(fresh, 'prepare.server.port-80')).toBe('fail');
    expect(fresh.find((f) => f.id === 'prepare.server.port-80')!.fix).toContain('configuring-playbook-own-webserver.md');
    expect(status(fresh, 'prepare.server.port-443')).toBe('fail');
    const installed = serverFindings('m', { ...server, listening: ss, mdadTraefik: true });
    expect(status(installed, 'prepare.server.port-443')).toBe('pass');
    expect(status(installed, 'prepare.server.port-8448')).toBe('pass');
    expect(status(installed, 'prepare.server.port-80')).toBe('fail');
  });

  it('sudo missing: --apply installs it over a root login, then upgrades', () => {
    expect(status(serverFindings('m', { ...server, sudo: false }), 'prepare.server.sudo')).toBe('fail');
    expect(serverActions('/srv/mdad', 'm', { ...server, sudo: false }, false).map(showCommand)).toEqual([
      "cd /srv/mdad && ANSIBLE_NOCOLOR=1 ansible -i inventory/hosts m -e ansible_become=false -m ansible.builtin.apt -a 'name=sudo state=present update_cache=true'",
      "cd /srv/mdad && ANSIBLE_NOCOLOR=1 ansible -i inventory/hosts m --become -m ansible.builtin.apt -a 'update_cache=true upgrade=safe'",
    ]);
    expect(serverActions('/srv/mdad', 'm', { ...server, sudo: false, user: 'deploy' }, true)).toEqual([]);
    expect(serverActions('/srv/mdad', 'm', { ...server, osFamily: 'RedHat' }, false)).toEqual([]);
  });
});
