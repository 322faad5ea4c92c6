// MDAD's validation as data: the Jinja evaluator on hand-made expressions, the committed tables
// (every refused name recognised, renames followed to today's name, our explanations still
// naming real checks), the migration-role reading update.ts does before a pull, and
// tools/mdad-rules.ts on a small checkout written here.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { condition, evaluate, namesIn, render, UNDEFINED, UNKNOWN } from '../../checks/plan/jinja.ts';
import type { JinjaScope } from '../../checks/plan/jinja.ts';
import { mdadRefusals, mdadTables } from '../../checks/plan/mdad.ts';
import type { MdadTables } from '../../checks/plan/mdad.ts';
import { EXPLAINED, generatedSecretFormat, mdadIssues, refusedByMigrationRole } from '../../checks/plan/mdad-issues.ts';
import { finalName, obsoleteIssues } from '../../checks/plan/obsolete.ts';
import { venvBin } from '../lab/servers/provision.ts';

function scope(vars: Record<string, unknown>): JinjaScope {
  return {
    varNames: () => Object.keys(vars),
    lookup: (name) => {
      if (!Object.hasOwn(vars, name)) return UNDEFINED;
      const value = vars[name];
      return typeof value === 'string' ? render(value, scope(vars)) : value;
    },
  };
}

describe('jinja.ts', () => {
  const vars = {
    on: true,
    off: false,
    yes_text: 'yes',
    empty: '',
    name: 'matrix',
    list: ['a', 'b'],
    dict: { key: 'value' },
    templated: '{{ name }}-web',
    native: '{{ on }}',
    secret: 'x'.repeat(64),
    item: { name: 'empty', when: true },
  };
  const s = scope(vars);
  const cases: Array<[string, unknown]> = [
    ['on and not off', true],
    ['yes_text | bool', true],
    ["empty == ''", true],
    ['secret | length != 64', false],
    ["name in ['matrix', 'other']", true],
    ["name not in ['x']", true],
    ['list | length > 1', true],
    ['dict.key', 'value'],
    ["dict['key'] == 'value'", true],
    ['missing is defined', false],
    ['missing is not defined', true],
    ["missing | default('d')", 'd'],
    ["'yes' if on else 'no'", 'yes'],
    ["name ~ '.' ~ 'org'", 'matrix.org'],
    ["name + '-x'", 'matrix-x'],
    ["name.startswith('mat')", true],
    ["name[-1] == 'x'", true],
    ["templated == 'matrix-web'", true],
    ['native is boolean', true],
    ["lookup('vars', item.name, default='') == ''", true],
    ["vars['name']", 'matrix'],
    ["lookup('ansible.builtin.varnames', '^na.+', wantlist=True)", ['name', 'native']],
    ["'1.10' is version('1.9', '>')", true],
  ];
  for (const [expression, expected] of cases) {
    it(expression, () => expect(evaluate(expression, s)).toEqual(expected));
  }

  it('what it cannot read is UNKNOWN, and UNKNOWN is never true or false unless the other side decides', () => {
    expect(evaluate('name | some_filter', s)).toBe(UNKNOWN);
    expect(evaluate('some_function()', s)).toBe(UNKNOWN);
    expect(evaluate('{% if on %}', s)).toBe(UNKNOWN);
    expect(condition(['name | some_filter'], s)).toBe(UNKNOWN);
    expect(condition(['name | some_filter', 'off'], s)).toBe(false);
    expect(evaluate('(name | some_filter) or on', s)).toBe(true);
    expect(evaluate('(name | some_filter) and on', s)).toBe(UNKNOWN);
    expect(evaluate('(name | some_filter) and off', s)).toBe(false);
    expect(render('{% if on %}x{% endif %}', s)).toBe(UNKNOWN);
  });

  it('namesIn lists what an expression or template reads', () => {
    expect(namesIn("item.when | bool and lookup('vars', item.name) == ''").sort()).toEqual(['item', 'lookup']);
    expect(namesIn('{{ a_var if b_var else c_var | default(d_var) }}').sort()).toEqual(['a_var', 'b_var', 'c_var', 'd_var']);
  });
});

describe('the committed tables', () => {
  const tables = mdadTables();

  it('name their source and hold the whole validation', () => {
    expect(tables.source.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(tables.source.roles.length).toBeGreaterThanOrEqual(31);
    expect(tables.renames.length).toBeGreaterThanOrEqual(1150);
    expect(tables.prefixes.length).toBeGreaterThanOrEqual(57);
    expect(tables.checks.length).toBeGreaterThan(150);
  });

  it('every name MDAD or its roles refuse is recognised, with the replacement MDAD names', () => {
    for (const row of tables.renames) {
      const [found] = obsoleteIssues({ [row.old]: true });
      expect(found?.kind, row.old).toBe('rejected');
      // A rename whose target was removed later is a removal.
      const final = row.to ? finalName(row.old) : undefined;
      if (final) expect(found!.fix, row.old).toContain(`\`${final}\``);
      else if (row.to) expect(found!.fix, row.old).toMatch(/^Remove it/);
    }
  });

  it('every family MDAD refuses is recognised (a name made from each pattern)', () => {
    for (const family of tables.prefixes) {
      const sample = family.pattern
        .replace(/^\^/, '')
        .replace(/\(([^|)]+)[^)]*\)/, '$1')
        .replace(/\.\+$/, 'x')
        .replace(/\$$/, '');
      expect(obsoleteIssues({ [sample]: true })[0]?.kind, `${family.pattern}: ${sample}`).toBe('rejected');
    }
    for (const name of ['matrix_riot_web_enabled', 'prometheus_node_exporter_container_labels_traefik_enabled']) {
      expect(obsoleteIssues({ [name]: true })[0]?.kind, name).toBe('rejected');
    }
  });

  it('--migrate goes to the final name, through later renames, and removes what is gone', () => {
    expect(finalName('matrix_prometheus_process_default_arguments')).toBe('prometheus_process_extra_arguments_default');
    expect(finalName('matrix_synapse_admin_container_self_build')).toBe('matrix_ketesa_container_image_self_build');
    expect(finalName('matrix_synapse_admin_container_self_build_repo')).toBe('matrix_ketesa_container_image_self_build_repo');
    expect(finalName('exim_relay_docker_image_name_prefix')).toBe('exim_relay_container_image_registry_prefix');
    expect(finalName('exim_relay_docker_image_force_pull')).toBeUndefined();
    expect(finalName('matrix_client_element_e2ee_secure_backup_required')).toBeUndefined();
    expect(finalName('matrix_ketesa_enabled')).toBeUndefined();
    for (const row of tables.renames.filter((r) => r.to)) {
      const final = finalName(row.old);
      if (final) expect(obsoleteIssues({ [final]: true }), `${row.old} → ${final}`).toEqual([]);
    }
  });

  it('our explanations still name checks of the tables', () => {
    for (const key of Object.keys(EXPLAINED)) {
      const [file, when] = key.split('#');
      expect(
        tables.checks.some((c) => c.file === file && c.when.at(-1) === when),
        key,
      ).toBe(true);
    }
  });

  it('configure generates the MAS encryption secret in hex and other required secrets as text; it asks for the rest', () => {
    expect(generatedSecretFormat('matrix_authentication_service_config_secrets_encryption')).toBe('hex32');
    expect(generatedSecretFormat('matrix_bot_buscarron_password')).toBe('alphanumeric64');
    expect(generatedSecretFormat('matrix_sygnal_apps')).toBeUndefined();
  });
});

/** A checkout of two roles, written here: what the generator must read, and one thing only PyYAML reads. */
function writeCheckout(root: string): void {
  const files: Record<string, string> = {
    'setup.yml':
      '- hosts: matrix_servers\n  roles:\n    - custom/matrix-demo\n    - when: demo_installation_enabled | bool\n      role: galaxy/demo\n',
    'requirements.yml': '- src: git+https://github.com/example/ansible-role-demo.git\n  version: v1.0.0-0\n  name: demo\n',
    'group_vars/matrix_servers': 'matrix_demo_enabled: "{{ demo_wanted }}"\ndemo_wanted: yes\ndemo_installation_enabled: true\n',
    'roles/custom/matrix-demo/defaults/main.yml': "matrix_demo_password: ''\nmatrix_demo_mode: \"{{ 'fast'\n}}\"\n",
    'roles/custom/matrix-demo/tasks/main.yml':
      '- block:\n    - when: matrix_demo_enabled | bool\n      ansible.builtin.include_tasks: "{{ role_path }}/tasks/validate_config.yml"\n',
    'roles/custom/matrix-demo/tasks/validate_config.yml': [
      '- name: Renamed',
      '  ansible.builtin.fail:',
      '    msg: rename',
      "  when: \"lookup('ansible.builtin.varnames', ('^' + item.old + '$'), wantlist=True) | length > 0\"",
      '  with_items:',
      "    - {'old': 'matrix_demo_old', 'new': 'matrix_demo_new'}",
      "    - {'old': 'matrix_demo_gone', 'new': '<removed>'}",
      '- name: Family',
      '  ansible.builtin.fail:',
      '    msg: "rename (`matrix_olddemo_*` -> `matrix_demo_*`)"',
      "  when: \"lookup('ansible.builtin.varnames', '^matrix_olddemo_.+', wantlist=True) | length > 0\"",
      '- name: Required',
      '  ansible.builtin.fail:',
      '    msg: required',
      "  when: \"lookup('vars', item, default='') == ''\"",
      '  with_items:',
      '    - matrix_demo_password',
      '- block:',
      '    - name: Mode',
      '      ansible.builtin.fail:',
      '        msg: mode',
      "      when: matrix_demo_mode != 'fast'",
      "  when: matrix_demo_password != ''",
      '',
    ].join('\n'),
    'roles/galaxy/demo/meta/.galaxy_install_info': 'version: v0.9.0-0\n',
    'roles/galaxy/demo/tasks/main.yml': '- ansible.builtin.include_tasks: validate_config.yml\n',
    'roles/galaxy/demo/tasks/validate_config.yml':
      "- ansible.builtin.fail:\n    msg: x\n  when: demo_wanted | bool\n- ansible.builtin.fail:\n    msg: y\n  when: \"lookup('ansible.builtin.varnames', '^demo_old_.+', wantlist=True) | length > 0\"\n",
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const git = (...args: string[]) => execFileSync('git', ['-C', root, ...args], { stdio: 'pipe' });
  git('init', '-q');
  git('add', '.');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.test', 'commit', '-q', '-m', 'demo');
}

describe('tools/mdad-rules.ts', () => {
  it('reads a checkout into the tables: names, families, checks with their conditions, defaults; stale roles keep only their names', () => {
    const root = mkdtempSync(join(tmpdir(), 'mdad-checkout-'));
    try {
      writeCheckout(root);
      const out = join(root, 'rules.json');
      const printed = execFileSync(
        process.execPath,
        ['--import', './scripts/lib/typescript.mjs', 'tools/mdad-rules.ts', root, '--python', venvBin('python'), '--out', out],
        { encoding: 'utf8' },
      );
      expect(printed).toContain('2 renamed or removed names, 2 prefix families, 2 checks');
      expect(printed).toContain('their value checks are left out (their names are kept): demo');
      const tables = JSON.parse(readFileSync(out, 'utf8')) as MdadTables;
      expect(tables.renames.map((r) => [r.old, r.to])).toEqual([
        ['matrix_demo_gone', ''],
        ['matrix_demo_old', 'matrix_demo_new'],
      ]);
      expect(tables.prefixes.map((p) => [p.pattern, p.renameFrom, p.renameTo])).toEqual([
        ['^matrix_olddemo_.+', 'matrix_olddemo_', 'matrix_demo_'],
        ['^demo_old_.+', undefined, undefined],
      ]);
      expect(tables.checks.map((c) => [c.line, c.when, c.outer])).toEqual([
        [12, ['matrix_demo_enabled | bool', "lookup('vars', item, default='') == ''"], 1],
        [19, ['matrix_demo_enabled | bool', "matrix_demo_password != ''", "matrix_demo_mode != 'fast'"], 2],
      ]);
      expect(tables.source.checksLeftOut).toEqual(['demo']);
      // YAML 1.1 as Ansible reads it: `yes` is true, and the quoted string over two lines is read.
      expect(tables.defaults).toMatchObject({ demo_wanted: true, matrix_demo_mode: "{{ 'fast' }}", matrix_demo_password: '' });
      expect(mdadRefusals({}, tables).map((r) => r.variable)).toEqual(['matrix_demo_password']);
      expect(mdadRefusals({ matrix_demo_password: 'p' }, tables)).toEqual([]);
      expect(mdadRefusals({ demo_wanted: false }, tables)).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("update's reading of the new playbook's migration role", () => {
  it('names the settings it renamed or removed, with the new name', () => {
    const text = [
      '- ansible.builtin.fail:',
      '    msg: rename',
      "  when: \"lookup('ansible.builtin.varnames', ('^' + item.old + '$'), wantlist=True) | length > 0\"",
      '  with_items:',
      "    - {'old': 'old_name', 'new': 'new_name'}",
      "    - {'old': 'gone_name', 'new': '<removed>'}",
      '- ansible.builtin.fail:',
      '    msg: "(`fam_*` -> `family_*`)"',
      "  when: \"lookup('ansible.builtin.varnames', '^fam_.+', wantlist=True) | length > 0\"",
    ].join('\n');
    const issues = refusedByMigrationRole({ old_name: 1, gone_name: 2, fam_x: 3, kept: 4 }, text);
    expect(issues.map((i) => [i.variable, i.reason])).toEqual([
      ['old_name', 'the new playbook renamed it to new_name'],
      ['gone_name', 'the new playbook removed it'],
      ['fam_x', 'the new playbook renamed it to family_x'],
    ]);
  });
});

describe("the plan's MDAD issues", () => {
  it('MAS with Synapse registration is explained with the fix configure offers', () => {
    const issues = mdadIssues({
      matrix_domain: 'example.org',
      matrix_authentication_service_enabled: true,
      matrix_authentication_service_config_secrets_encryption: 'ab'.repeat(32),
      matrix_synapse_enable_registration: true,
    });
    const registration = issues.find((i) => i.variable === 'matrix_synapse_enable_registration');
    expect(registration?.reason).toMatch(/^Synapse hands sign-in to the Matrix Authentication Service/);
    expect(registration?.fix).toContain('--registration token');
  });
});
