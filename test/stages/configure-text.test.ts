// Unit tests of the pure parts of configure: editing vars.yml and inventory/hosts as text,
// the service switches, the migration steps, the diff.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  applyMigration,
  ensureBasics,
  migrationSteps,
  serviceSwitches,
  SWITCHABLE,
  validDomain,
} from '../../scripts/lib/configure-vars.ts';
import type { Edit } from '../../scripts/lib/configure-vars.ts';
import { lineDiff } from '../../scripts/lib/files.ts';
import { hasHost, upsertHost } from '../../scripts/lib/inventory-text.ts';
import { masker, randomSecret } from '../../scripts/lib/secrets.ts';
import { removeVar, renameVar, renderValue, setVar, varsOf } from '../../scripts/lib/vars-text.ts';
import { SERVICES } from '../../checks/plan/services.ts';

const TUTORIAL = readFileSync('test/fixtures/tutorial-2024-vars.yml', 'utf8');

describe('vars.yml text edits', () => {
  const text = "# head\na: 1  # keep me\nb:\nc:   # note\nd:\n  - x\n  - y\ne: 'q'\na: 2\n";

  it('rewrites only the value of the last occurrence, keeping comments and everything else', () => {
    const out = setVar(text, 'a', 3);
    expect(out).toBe(text.replace('a: 2', 'a: 3'));
    expect(setVar(text, 'c', true)).toBe(text.replace('c:   # note', 'c: true   # note'));
    expect(setVar(text, 'b', 'x y')).toBe(text.replace('b:\n', "b: 'x y'\n"));
    expect(setVar(text, 'd', ['z'])).toBe(text.replace('d:\n  - x\n  - y\n', 'd: [z]\n'));
    expect(varsOf(setVar(text, 'd', ['z']), 't')['d']).toEqual(['z']);
  });

  it('appends a missing variable at the end', () => {
    expect(setVar(text, 'f', false)).toBe(`${text}f: false\n`);
    expect(setVar('x: 1', 'f', 'v')).toBe('x: 1\nf: v\n');
  });

  it('removes every occurrence, optionally leaving a comment line', () => {
    expect(removeVar(text, 'a')).toBe("# head\nb:\nc:   # note\nd:\n  - x\n  - y\ne: 'q'\n");
    expect(removeVar(text, 'd', 'gone')).toContain('c:   # note\n# d: gone\ne:');
  });

  it('renames a variable in place', () => {
    expect(renameVar(text, 'e', 'ee')).toBe(text.replace("e: 'q'", "ee: 'q'"));
  });

  it('quotes a value unless YAML 1.1 reads it back as the same string', () => {
    expect(renderValue('playbook-managed-traefik')).toBe('playbook-managed-traefik');
    expect(renderValue('v2026.05.18.0')).toBe('v2026.05.18.0');
    expect(renderValue('yes')).toBe("'yes'");
    expect(renderValue('1234')).toBe("'1234'");
    expect(renderValue('1.5')).toBe("'1.5'");
    expect(renderValue("it's")).toBe("'it''s'");
    for (const value of ['no', 'on', '0x1F', '2026-01-01', 'a b', '~', 'null', '-x', '']) {
      expect(varsOf(`k: ${renderValue(value)}\n`, 't')['k'], value).toBe(value);
    }
  });
});

describe('configure rules', () => {
  it('validates the domain as MDAD does, with the matrix. prefix refused', () => {
    expect(validDomain('example.org')).toBe('example.org');
    expect(validDomain('bücher.example')).toBe('xn--bcher-kva.example');
    for (const bad of ['Example.org', 'https://example.org', 'example.org:8448', '203.0.113.1', 'matrix.example.org', 'exa mple.org', '']) {
      expect(() => validDomain(bad), bad).toThrow();
    }
  });

  it('switches services by the plan ids, and refuses unknown or contradictory ones', () => {
    expect(serviceSwitches(['jitsi', 'matrix-rtc'], ['federation'])).toEqual([
      ['jitsi_enabled', true],
      ['matrix_rtc_enabled', true],
      ['matrix_homeserver_federation_enabled', false],
    ]);
    expect(() => serviceSwitches(['jitsy'], [])).toThrow(/unknown service "jitsy"; known: .*jitsi/);
    expect(() => serviceSwitches(['jitsi'], ['jitsi'])).toThrow(/both/);
    expect(() => serviceSwitches(['homeserver'], [])).toThrow(/unknown service/);
    // Every switchable id is a catalogue row of the plan (no second catalogue).
    for (const def of SWITCHABLE) expect(SERVICES).toContain(def);
  });

  it('fills in the basics once: secrets generated, existing values kept', () => {
    const edits: Edit[] = [];
    const first = ensureBasics("matrix_domain: ''\n", 'v', { domain: 'example.org', expectedVersion: 'v2026.05.18.0' }, edits);
    const vars = varsOf(first, 'v');
    expect(vars['matrix_homeserver_generic_secret_key']).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(vars['postgres_connection_password']).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(vars['matrix_playbook_migration_validated_version']).toBe('v2026.05.18.0');
    expect(edits.map((e) => e.note).join(' ')).not.toContain(String(vars['postgres_connection_password']));
    const again: Edit[] = [];
    expect(ensureBasics(first, 'v', { domain: 'example.org', expectedVersion: 'v2027.01.01.0' }, again)).toBe(first);
    expect(again).toEqual([]);
    expect(() => ensureBasics(first, 'v', { domain: 'other.org', expectedVersion: 'v1' }, [])).toThrow(/cannot change/);
  });

  it('replaces a secret with spaces only when migrating a tutorial file', () => {
    const text = "matrix_domain: example.org\nmatrix_homeserver_generic_secret_key: 'my long pass phrase'\n";
    expect(
      varsOf(ensureBasics(text, 'v', { domain: 'example.org', expectedVersion: 'v1' }, []), 'v')['matrix_homeserver_generic_secret_key'],
    ).toBe('my long pass phrase');
    const migrated = varsOf(ensureBasics(text, 'v', { domain: 'example.org', expectedVersion: 'v1', replacePlaceholders: true }, []), 'v');
    expect(migrated['matrix_homeserver_generic_secret_key']).toMatch(/^[A-Za-z0-9]{64}$/);
  });

  it('lists and migrates the tutorial vars.yml: renames, removals, token sign-up', () => {
    const vars = varsOf(TUTORIAL, 't');
    const steps = migrationSteps(vars);
    expect(steps.map((s) => [s.variable, s.action, s.to])).toEqual([
      ['matrix_registration_enabled', 'remove', undefined],
      ['matrix_registration_admin_secret', 'remove', undefined],
      ['matrix_synapse_admin_enabled', 'rename', 'matrix_ketesa_enabled'],
    ]);
    const edits: Edit[] = [];
    const out = applyMigration(TUTORIAL, 't', steps, edits);
    const after = varsOf(out, 't');
    expect(after['matrix_ketesa_enabled']).toBe(true);
    expect(after['matrix_synapse_enable_registration']).toBe(true);
    expect(after['matrix_synapse_registration_requires_token']).toBe(true);
    expect(Object.keys(after).filter((k) => k.startsWith('matrix_registration_'))).toEqual([]);
    expect(out).toContain('# matrix_registration_admin_secret: removed by configure.ts --migrate');
    expect(out).not.toContain('"большой ключ"\n');
    // The comments and commented-out lines of the tutorial stay.
    expect(out).toContain('#Админка\n');
    expect(out).toContain('#jitsi_enabled: true\n');
  });

  it('renames into a name that is already set by removing the old line', () => {
    const text = 'matrix_synapse_admin_enabled: true\nmatrix_ketesa_enabled: false\n';
    const out = applyMigration(text, 't', migrationSteps(varsOf(text, 't')), []);
    expect(varsOf(out, 't')).toEqual({ matrix_ketesa_enabled: false });
  });
});

describe('inventory/hosts text edits', () => {
  const template = '# comment\n[matrix_servers]\n';

  it("adds the host line with the guide's variables, become for a non-root login", () => {
    const out = upsertHost(template, 'matrix.example.org', {
      address: '203.0.113.10',
      sshUser: 'deploy',
      sshPort: 2222,
      sshKey: '~/.ssh/my key',
      become: true,
    });
    expect(out).toBe(
      `${template}matrix.example.org ansible_host=203.0.113.10 ansible_ssh_user=deploy ansible_port=2222 ansible_ssh_private_key_file="~/.ssh/my key" ansible_become=true ansible_become_user=root\n`,
    );
    expect(hasHost(out, 'matrix.example.org')).toBe(true);
  });

  it('updates an existing line in place and keeps other groups, hosts and comments', () => {
    const text =
      '[matrix_servers]\nmatrix.example.org ansible_host=198.51.100.7 ansible_user=admin ansible_python_interpreter=/usr/bin/python3\nmatrix.other.org ansible_host=1.2.3.4\n\n[backup]\nb.example.org\n';
    const out = upsertHost(text, 'matrix.example.org', { address: '203.0.113.10', sshUser: 'root' });
    expect(out).toBe(text.replace('ansible_host=198.51.100.7 ansible_user=admin', 'ansible_host=203.0.113.10 ansible_user=root'));
    expect(upsertHost(out, 'matrix.example.org', {})).toBe(out);
    const added = upsertHost(text, 'matrix.third.org', { local: true });
    expect(added).toContain('matrix.other.org ansible_host=1.2.3.4\nmatrix.third.org ansible_connection=local\n');
  });

  it('switches between local and SSH', () => {
    const local = upsertHost(template, 'm.example.org', { local: true });
    expect(upsertHost(local, 'm.example.org', { address: '203.0.113.10' })).toBe(`${template}m.example.org ansible_host=203.0.113.10\n`);
    expect(upsertHost('', 'm.example.org', { local: true })).toBe('[matrix_servers]\nm.example.org ansible_connection=local\n');
  });
});

describe('diffs and secrets', () => {
  it('shows changed lines with context', () => {
    const before = 'a\nb\nc\nd\ne\nf\ng\nh\nj\n';
    const after = 'a\nb\nc\nD\ne\nf\ng\nh\nj\ni\n';
    expect(lineDiff(before, after)).toBe('  b\n  c\n- d\n+ D\n  e\n  f\n…\n  h\n  j\n+ i');
  });

  it('generates 64 letters and digits and masks known secrets', () => {
    const a = randomSecret();
    expect(a).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(randomSecret()).not.toBe(a);
    const mask = masker([a, 'short']);
    expect(mask(`key: ${a} short`)).toBe('key: ******** short');
  });
});
