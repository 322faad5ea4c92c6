// Regenerates checks/plan/mdad-rules.json, the project's copy of the rules MDAD's own validation
// applies to a vars.yml, from an MDAD checkout whose roles/galaxy/ holds the roles its
// requirements.yml pins (`just roles`, or `ansible-galaxy install -r requirements.yml -p roles/galaxy/ --force`):
//   npm run mdad-rules -- ~/matrix-docker-ansible-deploy
// What it reads (docs/playbook.md "MDAD's validation as data"):
//   - setup.yml: the roles the playbook runs, and the condition each one runs under;
//   - each role's tasks/main.yml and the task files it includes: every `fail` task in a
//     validate_config file, with the conditions of the blocks and includes around it;
//   - the renamed-variable lists and the prefix families among those tasks (as names, not text);
//   - group_vars/matrix_servers over the roles' defaults/main.yml: the defaults of every variable
//     those conditions read, directly or through other defaults.
// It writes data only (names, conditions as MDAD writes them, file and line); no task text.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { namesIn } from '../checks/plan/jinja.ts';
import type { MdadCheck, MdadRename, MdadTables } from '../checks/plan/mdad.ts';

const OUTPUT = join(import.meta.dirname, '..', 'checks', 'plan', 'mdad-rules.json');
const MAGIC =
  /^(ansible_|inventory_|hostvars$|groups$|group_names$|role_path$|playbook_dir$|item$|omit$|lookup$|query$|range$|not$|and$|or$|is$|in$|if$|else$|true$|false$|none$)/i;

function fail(message: string): never {
  process.stderr.write(`mdad-rules: ${message}\n`);
  process.exit(2);
}

const checkout = resolve(process.argv[2] ?? fail('give the MDAD checkout: npm run mdad-rules -- DIR [PYTHON]'));
if (!existsSync(join(checkout, 'setup.yml'))) fail(`${checkout}: no setup.yml (not an MDAD checkout)`);
// The YAML is read by PyYAML, as Ansible reads it (tools/mdad-yaml.py); ansible-core brings PyYAML.
const python = process.argv[3] ?? 'python3';

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name) && /\/(tasks|defaults|vars)(\/|$)/.test(join(e.parentPath, e.name)))
    .map((e) => join(e.parentPath, e.name));
}

const files = [
  join(checkout, 'setup.yml'),
  join(checkout, 'requirements.yml'),
  join(checkout, 'group_vars', 'matrix_servers'),
  ...yamlFiles(join(checkout, 'roles', 'custom')),
  ...yamlFiles(join(checkout, 'roles', 'galaxy')),
  ...readdirSync(join(checkout, 'roles', 'galaxy'))
    .map((role) => join(checkout, 'roles', 'galaxy', role, 'meta', '.galaxy_install_info'))
    .filter(existsSync),
];
let loadedYaml: Record<string, unknown>;
try {
  const json = execFileSync(python, [join(import.meta.dirname, 'mdad-yaml.py'), ...files], {
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
  loadedYaml = JSON.parse(json) as Record<string, unknown>;
} catch (error) {
  fail(`${python} could not read the YAML (it needs PyYAML, which ansible-core brings): ${(error as Error).message.split('\n')[0]}`);
}

/** A file's data without the "__line__" marks. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => k !== '__line__')
        .map(([k, v]) => [k, plain(v)]),
    );
  }
  return value;
}
const readYaml = (file: string): unknown => plain(loadedYaml[file]);
const asList = (value: unknown): unknown[] => (value === undefined || value === null ? [] : Array.isArray(value) ? value : [value]);

// ---------------------------------------------------------------------------------------------
// Source: the commit and the role versions

function gitLine(args: string[]): string {
  try {
    return execFileSync('git', ['-C', checkout, ...args], { encoding: 'utf8' }).trim();
  } catch {
    return fail(`${checkout} is not a git checkout (the tables name the commit they came from)`);
  }
}

interface Requirement {
  name: string;
  src: string;
  version: string;
}
const requirements = (readYaml(join(checkout, 'requirements.yml')) as Requirement[]).map((r) => ({ ...r, name: String(r.name) }));

function installedVersion(name: string): string {
  const info = join(checkout, 'roles', 'galaxy', name, 'meta', '.galaxy_install_info');
  if (!existsSync(join(checkout, 'roles', 'galaxy', name))) fail(`roles/galaxy/${name} is missing: run \`just roles\` in the checkout`);
  if (!Object.hasOwn(loadedYaml, info)) return 'unknown';
  return String((readYaml(info) as { version?: unknown }).version ?? 'unknown');
}

// ---------------------------------------------------------------------------------------------
// Tasks: every fail task of the validate files, with the conditions around it

interface FailTask {
  file: string;
  line: number;
  when: string[];
  /** How many of `when` come from around the task (the role, its includes and blocks). */
  outer: number;
  items?: unknown;
  loopVar?: string;
  message: string;
}

const failTasks: FailTask[] = [];
/** Facts the validate files set before they fail on them (the prefix families read through one). */
const facts = new Map<string, string>();

function conditions(when: unknown): string[] {
  return asList(when).map(String);
}

function readTaskFile(file: string, roleDir: string, outer: string[], seen: Set<string>): void {
  if (seen.has(file) || !Object.hasOwn(loadedYaml, file)) return;
  seen.add(file);
  const collect = isValidateFile(file);
  const visit = (list: unknown, around: string[]): void => {
    if (!Array.isArray(list)) return;
    for (const marked of list) {
      if (!marked || typeof marked !== 'object') continue;
      const line = (marked as { __line__?: number }).__line__ ?? 0;
      const task = plain(marked) as Record<string, unknown>;
      const here = [...around, ...conditions(task['when'])];
      for (const key of ['block', 'rescue', 'always']) visit((marked as Record<string, unknown>)[key], here);
      const include =
        task['ansible.builtin.include_tasks'] ?? task['ansible.builtin.import_tasks'] ?? task['include_tasks'] ?? task['import_tasks'];
      const includePath = typeof include === 'string' ? include : (include as { file?: string } | undefined)?.file;
      if (typeof includePath === 'string' && task['loop'] === undefined && task['with_items'] === undefined) {
        const path = includePath.replace(/\{\{\s*role_path\s*\}\}/, roleDir);
        if (!path.includes('{{')) readTaskFile(path.startsWith('/') ? path : join(dirname(file), path), roleDir, here, seen);
      }
      const setFact = task['ansible.builtin.set_fact'] ?? task['set_fact'];
      if (collect && setFact && typeof setFact === 'object') {
        for (const [name, value] of Object.entries(setFact)) if (typeof value === 'string') facts.set(name, value);
      }
      const action = task['ansible.builtin.fail'] ?? task['fail'];
      if (collect && action !== undefined) {
        const loopVar = (task['loop_control'] as { loop_var?: string } | undefined)?.loop_var;
        const items = task['with_items'] ?? task['loop'];
        failTasks.push({
          file: relative(checkout, file),
          line,
          when: here,
          outer: around.length,
          ...(items !== undefined ? { items } : {}),
          ...(loopVar ? { loopVar } : {}),
          message: String((action as { msg?: unknown } | null)?.msg ?? ''),
        });
      }
    }
  };
  visit(loadedYaml[file], outer);
}

function isValidateFile(file: string): boolean {
  return /validate/.test(file.split('/').pop() ?? '');
}

// setup.yml lists a role as a name, or as { role, when }.
type PlaybookRole = string | { role: string; when?: unknown };
const playbook = readYaml(join(checkout, 'setup.yml')) as Array<{ roles?: PlaybookRole[] }>;
const roleDirs: string[] = [];
for (const play of playbook) {
  for (const listed of play.roles ?? []) {
    const entry = typeof listed === 'string' ? { role: listed } : listed;
    const roleDir = join(checkout, 'roles', entry.role);
    roleDirs.push(roleDir);
    readTaskFile(join(roleDir, 'tasks', 'main.yml'), roleDir, conditions('when' in entry ? entry.when : undefined), new Set());
  }
}

// ---------------------------------------------------------------------------------------------
// Classifying the tasks: renamed names, prefix families, and the checks that judge values

const unpinnedRoles = new Set(requirements.filter((r) => installedVersion(r.name) !== String(r.version)).map((r) => r.name));
const leftOut = new Set<string>();
const VARIABLE = /^[a-z_][a-z0-9_]*$/;
const NAME_IN_TEXT = /\b[a-z][a-zA-Z0-9]*(?:_[a-zA-Z0-9]+)+\b/g;
const renames: MdadRename[] = [];
const prefixes: MdadTables['prefixes'] = [];
const checks: MdadCheck[] = [];

for (const task of failTasks) {
  const own = task.when.join(' and ');
  const joined = [own, ...namesIn(own).flatMap((n) => facts.get(n) ?? [])].join(' and ');
  const items = Array.isArray(task.items) ? task.items : undefined;
  if (/varnames/.test(joined) && /item\.old/.test(joined) && items) {
    for (const entry of items as Array<{ old?: unknown; new?: unknown } | null>) {
      if (!entry || typeof entry.old !== 'string') continue;
      const target = String(entry.new ?? '').trim();
      if (VARIABLE.test(target)) renames.push({ old: entry.old, to: target, file: task.file });
      else renames.push({ old: entry.old, to: '', see: [...new Set(target.match(NAME_IN_TEXT) ?? [])], file: task.file });
      // (`see` keeps only names MDAD defines: the text may also name modules and programs.)
    }
    continue;
  }
  const family = /varnames['"]?\s*,\s*'(\^[^']+)'/.exec(joined);
  if (family && !items) {
    // The message names a whole-family rename as (`old_*` -> `new_*`); that pair is a fact, kept.
    const rename = /`([a-z0-9_]+)\*?` -> `([a-z0-9_]+)\*?`/.exec(task.message);
    const pattern = family[1]!;
    prefixes.push({
      pattern,
      ...(rename && pattern.startsWith(`^${rename[1]}`) ? { renameFrom: rename[1]!, renameTo: rename[2]! } : {}),
      file: task.file,
      line: task.line,
    });
    continue;
  }
  // A role the checkout holds at another version than the pin may judge values differently
  // (variables renamed since): its names are kept, its value checks are left out.
  const role = /^roles\/galaxy\/([^/]+)\//.exec(task.file)?.[1];
  if (role && unpinnedRoles.has(role)) {
    leftOut.add(role);
    continue;
  }
  checks.push({
    file: task.file,
    line: task.line,
    when: task.when,
    outer: task.outer,
    ...(task.items !== undefined ? { items: task.items } : {}),
    ...(task.loopVar ? { loopVar: task.loopVar } : {}),
  });
}

// ---------------------------------------------------------------------------------------------
// Defaults: group_vars over role defaults, for every name the checks read (transitively)

const layers: Record<string, unknown> = {};
for (const roleDir of roleDirs) {
  for (const file of [join(roleDir, 'defaults', 'main.yml'), join(roleDir, 'vars', 'main.yml')]) {
    Object.assign(layers, readYaml(file) ?? {});
  }
}
Object.assign(layers, readYaml(join(checkout, 'group_vars', 'matrix_servers')) ?? {});

function namesOfValue(value: unknown, out: Set<string>): void {
  if (typeof value === 'string') for (const name of namesIn(value)) out.add(name);
  else if (Array.isArray(value)) for (const v of value) namesOfValue(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) namesOfValue(v, out);
}

const wanted = new Set<string>();
for (const check of checks) {
  for (const when of check.when) for (const name of namesIn(when)) wanted.add(name);
  namesOfValue(check.items, wanted);
  // Required-variable lists name their variables as item strings.
  if (Array.isArray(check.items)) {
    for (const item of check.items) {
      if (typeof item === 'string' && VARIABLE.test(item)) wanted.add(item);
      const name = (item as { name?: unknown } | null)?.name;
      if (typeof name === 'string' && VARIABLE.test(name)) wanted.add(name);
    }
  }
}
const defaults: Record<string, unknown> = {};
const queue = [...wanted];
while (queue.length > 0) {
  const name = queue.pop()!;
  if (Object.hasOwn(defaults, name) || MAGIC.test(name) || !Object.hasOwn(layers, name)) continue;
  defaults[name] = layers[name];
  const more = new Set<string>();
  namesOfValue(layers[name], more);
  queue.push(...more);
}

// ---------------------------------------------------------------------------------------------
// Output

for (const row of renames) if (row.see) row.see = row.see.filter((name) => Object.hasOwn(layers, name));

const tables: MdadTables = {
  source: {
    repository: 'https://github.com/spantaleev/matrix-docker-ansible-deploy',
    commit: gitLine(['rev-parse', 'HEAD']),
    date: gitLine(['log', '-1', '--format=%cs']),
    roles: requirements.map((r) => ({ name: r.name, src: r.src, pinned: String(r.version), used: installedVersion(r.name) })),
    checksLeftOut: [...leftOut].sort(),
  },
  renames: renames.sort((a, b) => a.old.localeCompare(b.old)),
  prefixes,
  checks,
  defaults: Object.fromEntries(Object.entries(defaults).sort(([a], [b]) => a.localeCompare(b))),
};

// One entry per line, so that a newer MDAD shows as a readable diff.
const lines = (key: keyof MdadTables, entries: readonly unknown[]): string =>
  `"${key}": [\n${entries.map((e) => JSON.stringify(e)).join(',\n')}\n]`;
const body = [
  `"generatedBy": ${JSON.stringify('tools/mdad-rules.ts (npm run mdad-rules -- MDAD_CHECKOUT); do not edit by hand')}`,
  `"source": ${JSON.stringify(tables.source)}`,
  lines('renames', tables.renames),
  lines('prefixes', tables.prefixes),
  lines('checks', tables.checks),
  `"defaults": {\n${Object.entries(tables.defaults)
    .map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`)
    .join(',\n')}\n}`,
];
writeFileSync(OUTPUT, `{\n${body.join(',\n')}\n}\n`);
const unpinned = tables.source.roles.filter((r) => r.used !== r.pinned);
process.stdout.write(
  `${relative(process.cwd(), OUTPUT)}: ${renames.length} renamed or removed names, ${prefixes.length} prefix families, ` +
    `${checks.length} checks, ${Object.keys(defaults).length} defaults from ${failTasks.length} fail tasks in ${readdirSync(join(checkout, 'roles', 'galaxy')).length} galaxy roles and the custom ones\n`,
);
if (unpinned.length) {
  process.stdout.write(
    `roles not at their pinned version: ${unpinned.map((r) => `${r.name} ${r.used} (pinned ${r.pinned})`).join(', ')}\n`,
  );
  process.stdout.write(`their value checks are left out (their names are kept): ${[...leftOut].sort().join(', ') || 'none had any'}\n`);
}
