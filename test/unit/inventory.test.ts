import { describe, it, expect } from 'vitest';
import { InputError } from '../../checks/core/errors.ts';
import { groupHosts, inventoryHosts, parseInventoryIni, splitWords, toInventoryHost } from '../../checks/plan/inventory.ts';

describe('splitWords', () => {
  it('splits like a shell: quotes, escapes, comments', () => {
    expect(splitWords('host a=1 b="two words" c=\'x y\'')).toEqual(['host', 'a=1', 'b=two words', 'c=x y']);
    expect(splitWords('host a=1 # trailing comment')).toEqual(['host', 'a=1']);
    expect(splitWords('host pass=ab#cd')).toEqual(['host', 'pass=ab#cd']);
    expect(splitWords('host key=a\\ b')).toEqual(['host', 'key=a b']);
    expect(() => splitWords('host key="open')).toThrow(/unclosed quote/);
  });
});

describe('inventoryHosts', () => {
  it("reads MDAD's examples/hosts line", () => {
    const hosts = inventoryHosts('[matrix_servers]\nmatrix.example.com ansible_host=203.0.113.10 ansible_ssh_user=root\n');
    expect(hosts).toEqual([{ name: 'matrix.example.com', address: '203.0.113.10', sshUser: 'root' }]);
  });

  it('maps every connection setting the stages use', () => {
    const text = [
      '[matrix_servers]',
      'matrix.example.org ansible_host=matrix.example.org ansible_ssh_user=deploy ansible_ssh_port=2222 ' +
        'ansible_ssh_private_key_file="/home/me/.ssh/id ed25519" ansible_become=true ansible_become_user=root',
    ].join('\n');
    expect(inventoryHosts(text)).toEqual([
      {
        name: 'matrix.example.org',
        address: 'matrix.example.org',
        sshUser: 'deploy',
        sshPort: 2222,
        sshKey: '/home/me/.ssh/id ed25519',
        become: true,
      },
    ]);
  });

  it('prefers ansible_user/ansible_port over the ansible_ssh_* aliases', () => {
    const [host] = inventoryHosts('[matrix_servers]\nm ansible_ssh_user=a ansible_user=b ansible_ssh_port=1 ansible_port=2\n');
    expect(host).toMatchObject({ sshUser: 'b', sshPort: 2 });
  });

  it('reads ansible_connection=local and Ansible booleans for become', () => {
    const text = '[matrix_servers]\nlocalhost ansible_connection=local ansible_become=yes\nother ansible_become=False\n';
    expect(inventoryHosts(text)).toEqual([
      { name: 'localhost', connection: 'local', become: true },
      { name: 'other', become: false },
    ]);
  });

  it('reads a port written as host:port', () => {
    expect(inventoryHosts('[matrix_servers]\nmatrix.example.org:2200 ansible_host=203.0.113.10\n')).toEqual([
      { name: 'matrix.example.org', address: '203.0.113.10', sshPort: 2200 },
    ]);
  });

  it('ignores an invalid port rather than guessing', () => {
    expect(inventoryHosts('[matrix_servers]\nm ansible_port=99999\n')).toEqual([{ name: 'm' }]);
  });

  it('skips comments, blank lines and other groups', () => {
    const text = [
      '# comment',
      '; another comment',
      '',
      '[web]',
      'www.example.org ansible_host=198.51.100.1',
      '',
      '[matrix_servers]  # the homeserver',
      '  matrix.example.org ansible_host=203.0.113.10   # trailing',
      '',
      '[db]',
      'db.example.org',
    ].join('\r\n');
    expect(inventoryHosts(text)).toEqual([{ name: 'matrix.example.org', address: '203.0.113.10' }]);
    expect(inventoryHosts(text, 'web')).toEqual([{ name: 'www.example.org', address: '198.51.100.1' }]);
  });

  it('applies [all:vars] and [matrix_servers:vars], host values winning', () => {
    const text = [
      '[all:vars]',
      'ansible_ssh_user=fallback',
      'ansible_port = 2022',
      '[matrix_servers:vars]',
      'ansible_become=true',
      'ansible_ssh_private_key_file="~/.ssh/matrix"',
      '[matrix_servers]',
      'a.example.org',
      'b.example.org ansible_ssh_user=root ansible_become=false',
    ].join('\n');
    expect(inventoryHosts(text)).toEqual([
      { name: 'a.example.org', sshUser: 'fallback', sshPort: 2022, sshKey: '~/.ssh/matrix', become: true },
      { name: 'b.example.org', sshUser: 'root', sshPort: 2022, sshKey: '~/.ssh/matrix', become: false },
    ]);
  });

  it('includes the hosts of child groups with their group vars', () => {
    const text = [
      '[matrix_servers:children]',
      'production',
      'staging',
      '[production]',
      'matrix.example.org ansible_host=203.0.113.10',
      '[staging]',
      'matrix.example.net',
      '[staging:vars]',
      'ansible_user=tester',
      '[matrix_servers:vars]',
      'ansible_become=true',
    ].join('\n');
    expect(inventoryHosts(text)).toEqual([
      { name: 'matrix.example.org', address: '203.0.113.10', become: true },
      { name: 'matrix.example.net', sshUser: 'tester', become: true },
    ]);
  });

  it('survives a cycle of child groups', () => {
    const text = '[a:children]\nb\n[b:children]\na\n[a]\nh1\n[b]\nh2\n';
    expect(
      groupHosts(parseInventoryIni(text), 'a')
        .map((h) => h.name)
        .sort(),
    ).toEqual(['h1', 'h2']);
  });

  it('merges a host named on several lines', () => {
    const text = '[matrix_servers]\nm ansible_host=203.0.113.10\n[matrix_servers]\nm ansible_user=root\n';
    expect(inventoryHosts(text)).toEqual([{ name: 'm', address: '203.0.113.10', sshUser: 'root' }]);
  });

  it('returns no hosts when the group is absent or empty', () => {
    expect(inventoryHosts('[web]\nwww\n')).toEqual([]);
    expect(inventoryHosts('[matrix_servers]\n')).toEqual([]);
    expect(inventoryHosts('')).toEqual([]);
  });

  it('throws a one-line InputError with the line number for malformed lines', () => {
    const cases: Array<[string, RegExp]> = [
      ['[matrix_servers]\nm ansible_host="203.0.113.10\n', /^line 2: unclosed quote$/],
      ['[matrix_servers]\nm ansible_host\n', /^line 2: expected key=value, found "ansible_host"$/],
      ['[matrix_servers\nm\n', /^line 1: malformed section header/],
      ['[matrix_servers:vars]\njust-a-word\n', /^line 2: expected key=value in \[matrix_servers:vars\]$/],
    ];
    for (const [text, message] of cases) {
      let error: unknown;
      try {
        inventoryHosts(text);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InputError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain('\n');
    }
  });
});

describe('toInventoryHost', () => {
  it('keeps only what is set', () => {
    expect(toInventoryHost('m', {})).toEqual({ name: 'm' });
    expect(toInventoryHost('m', { ansible_ssh_host: '192.0.2.1', ansible_private_key_file: 'k' })).toEqual({
      name: 'm',
      address: '192.0.2.1',
      sshKey: 'k',
    });
  });
});
