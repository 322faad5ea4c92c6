// Unit tests of the playbook command lines and of the plain-words explanations of known
// Ansible failures (the output excerpts have the shapes ansible-core prints).
import { describe, expect, it } from 'vitest';
import { explainFailure, playbookCommand, renderExplanation } from '../../scripts/lib/ansible.ts';
import { breakingChangesBetween, parseMigrationDefaults } from '../../scripts/lib/checkout.ts';
import { showCommand } from '../../scripts/lib/commands.ts';

const task = (name: string) => `TASK [${name}] ${'*'.repeat(40)}`;

describe('playbook command lines', () => {
  it('is the documented ansible-playbook call, run from the checkout', () => {
    const command = playbookCommand({
      checkout: '/srv/mdad',
      tags: ['install-all', 'ensure-matrix-users-created', 'start'],
      askBecomePass: true,
    });
    expect(showCommand(command)).toBe(
      'cd /srv/mdad && ANSIBLE_NOCOLOR=1 PYTHONUNBUFFERED=1 ansible-playbook -i inventory/hosts setup.yml --tags=install-all,ensure-matrix-users-created,start --ask-become-pass',
    );
    const register = playbookCommand({
      checkout: '/srv/mdad',
      tags: ['register-user'],
      extraVarsFiles: ['/tmp/x/register-user.json'],
      limit: 'matrix.example.org',
    });
    expect(register.args).toEqual([
      '-i',
      'inventory/hosts',
      'setup.yml',
      '--tags=register-user',
      '--limit=matrix.example.org',
      '--extra-vars=@/tmp/x/register-user.json',
    ]);
  });
});

describe('failures in plain words', () => {
  it('a role missing after a pull', () => {
    const e = explainFailure(
      "[ERROR]: the role 'galaxy/traefik' was not found in /srv/mdad/roles:/home/deploy/.ansible/roles\nOrigin: /srv/mdad/setup.yml:6:7",
    );
    expect(e.reason).toContain('galaxy/traefik is missing');
    expect(e.next).toContain('ansible-galaxy install -r requirements.yml -p roles/galaxy/ --force');
  });

  it('breaking changes not acknowledged, with the failing task', () => {
    const output = [
      task('custom/matrix_playbook_migration : Fail if migration version is outdated'),
      'fatal: [matrix.example.org]: FAILED! => {"changed": false, "msg": "Your validated migration version (v2026.04.02.0) is behind ... matrix_playbook_migration_validated_version: v2026.05.18.0"}',
    ].join('\n');
    const e = explainFailure(output);
    expect(e.task).toBe('custom/matrix_playbook_migration : Fail if migration version is outdated');
    expect(e.next).toContain('scripts/update.ts');
    expect(renderExplanation(e, '/x.log')).toMatch(
      /^Failed at task: custom\/matrix_playbook_migration : Fail if migration version is outdated\nWhy: .*\nNext: .*\nAnsible said:\n  fatal: .*\nFull log: \/x\.log$/s,
    );
  });

  it('sudo password', () => {
    expect(explainFailure(`${task('Gathering Facts')}\nfatal: [m]: FAILED! => {"msg": "Missing sudo password"}`).next).toContain(
      '--ask-become-pass',
    );
    expect(explainFailure('fatal: [m]: FAILED! => {"msg": "Incorrect sudo password"}').reason).toBe('the sudo password was wrong');
  });

  it('host key and unreachable hosts', () => {
    const hostKey = explainFailure(
      'fatal: [m]: UNREACHABLE! => {"msg": "Failed to connect to the host via ssh: Host key verification failed.", "unreachable": true}',
    );
    expect(hostKey.reason).toContain('#5472');
    expect(hostKey.next).toContain('connect once by hand');
    const refused = explainFailure(
      'fatal: [m]: UNREACHABLE! => {"msg": "Failed to connect to the host via ssh: ssh: connect to host 203.0.113.10 port 22: Connection refused"}',
    );
    expect(refused.reason).toBe('Ansible could not reach the server over SSH');
    expect(
      explainFailure('fatal: [m]: UNREACHABLE! => {"msg": "root@203.0.113.10: Permission denied (publickey,password)."}').next,
    ).toContain('ssh-add');
  });

  it('a service that did not stay up', () => {
    const e = explainFailure(
      `${task('Ensure systemd services are running')}\nfatal: [m]: FAILED! => {"msg": "matrix-synapse.service was not detected to be running"}`,
    );
    expect(e.reason).toContain('matrix-synapse');
    expect(e.next).toContain('journalctl -fu matrix-synapse');
  });

  it('anything else: the failing task and its message', () => {
    const e = explainFailure(`${task('Something')}\nfatal: [m]: FAILED! => {"msg": "odd"}\n`);
    expect(e).toMatchObject({ task: 'Something', detail: 'fatal: [m]: FAILED! => {"msg": "odd"}' });
  });
});

describe('migration defaults', () => {
  const text = `matrix_playbook_migration_expected_version: "v2026.05.18.0"
matrix_playbook_migration_breaking_changes:
  - { version: "v2026.03.23.0", summary: "validation system", changelog_url: "https://example.org/a" }
  - { version: "v2026.04.03.0", summary: "Ketesa" }
  - { version: "v2026.05.18.0", summary: "LiveKit 1.12" }
  - { summary: "no version: ignored" }
`;
  it('reads the expected version and the list, and picks the entries between two versions', () => {
    const d = parseMigrationDefaults(text, 'main.yml');
    expect(d.expected).toBe('v2026.05.18.0');
    expect(d.breakingChanges).toHaveLength(3);
    expect(breakingChangesBetween(d.breakingChanges, 'v2026.03.23.0', 'v2026.05.18.0').map((c) => c.version)).toEqual([
      'v2026.04.03.0',
      'v2026.05.18.0',
    ]);
    expect(breakingChangesBetween(d.breakingChanges, '', 'v2026.04.03.0').map((c) => c.version)).toEqual([
      'v2026.03.23.0',
      'v2026.04.03.0',
    ]);
    expect(breakingChangesBetween(d.breakingChanges, 'v2026.05.18.0', 'v2026.05.18.0')).toEqual([]);
  });
});
