// Regenerates checks/plan/mdad-rules.json, the project's copy of the rules MDAD's own validation
// applies to a vars.yml, from an MDAD checkout whose roles/galaxy/ holds the roles its
// requirements.yml pins (`just roles`, or `ansible-galaxy install -r requirements.yml -p roles/galaxy/ --force`):
//   npm run mdad-rules -- ~/matrix-docker-ansible-deploy [--python PYTHON] [--out FILE]
// What it reads (docs/playbook.md "MDAD's validation as data"):
//   - setup.yml: the roles the playbook runs, and the condition each one runs under;
//   - each role's tasks/main.yml and the task files it includes: every `fail` task in a
//     validate_config file, with the conditions of the blocks and includes around it;
//   - the renamed-variable lists and the prefix families among those tasks (as names, not text);
//   - group_vars/matrix_servers over the roles' defaults/main.yml: the defaults of every variable
//     those conditions read, directly or through other defaults.
// It writes data only (names, conditions as MDAD writes them, file and line); no task text.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { namesIn } from '../checks/plan/jinja.ts';
import type { MdadCheck, MdadTables } from '../checks/plan/mdad.ts';
import { classifyTasks, conditions, unmarked, walkTasks } from '../checks/plan/mdad-extract.ts';
import type { TaskWalk } from '../checks/plan/mdad-extract.ts';

const MAGIC =
  /^(ansible_|inventory_|hostvars$|groups$|group_names$|role_path$|playbook_dir$|item$|omit$|lookup$|query$|range$|not$|and$|or$|is$|in$|if$|else$|true$|false$|none$)/i;

function fail(message: string): never {
  process.stderr.write(`mdad-rules: ${message}\n`);
  process.exit(2);
}

let args: ReturnType<typeof parseCommandLine>;
function parseCommandLine() {
  return parseArgs({ allowPositionals: true, options: { python: { type: 'string' }, out: { type: 'string' } } });
}
try {
  args = parseCommandLine();
} catch (error) {
  fail((error as Error).message);
}
const [given] = args.positionals;
if (!given || args.positionals.length > 1) fail('give the MDAD checkout: npm run mdad-rules -- DIR [--python PYTHON] [--out FILE]');
const checkout = resolve(given);
if (!existsSync(join(checkout, 'setup.yml'))) fail(`${checkout}: no setup.yml (not an MDAD checkout)`);
// The YAML is read by PyYAML, as Ansible reads it (tools/mdad-yaml.py); ansible-core brings PyYAML.
const python = args.values.python ?? 'python3';
const OUTPUT = resolve(args.values.out ?? join(import.meta.dirname, '..', 'checks', 'plan', 'mdad-rules.json'));

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

const readYaml = (file: string): unknown => unmarked(loadedYaml[file]);

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

const walk: TaskWalk = { tasks: [], facts: new Map() };

/** A task file and the ones it includes; the fail tasks are taken from the validate files only. */
function readTaskFile(file: string, roleDir: string, outer: string[], seen: Set<string>): void {
  if (seen.has(file) || !Object.hasOwn(loadedYaml, file)) return;
  seen.add(file);
  const into: TaskWalk = isValidateFile(file) ? walk : { tasks: [], facts: new Map() };
  walkTasks(loadedYaml[file], relative(checkout, file), outer, into, (path, around) => {
    const resolved = path.replace(/\{\{\s*role_path\s*\}\}/, roleDir);
    if (!resolved.includes('{{')) readTaskFile(resolved.startsWith('/') ? resolved : join(dirname(file), resolved), roleDir, around, seen);
  });
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
const classified = classifyTasks(walk);
const { renames, prefixes } = classified;
// A role the checkout holds at another version than the pin may judge values differently
// (variables renamed since): its names are kept, its value checks are left out.
const checks: MdadCheck[] = classified.checks.filter((check) => {
  const role = /^roles\/galaxy\/([^/]+)\//.exec(check.file)?.[1];
  if (role && unpinnedRoles.has(role)) leftOut.add(role);
  return !(role && unpinnedRoles.has(role));
});

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
// Written whole or not at all.
writeFileSync(`${OUTPUT}.tmp`, `{\n${body.join(',\n')}\n}\n`);
renameSync(`${OUTPUT}.tmp`, OUTPUT);
const unpinned = tables.source.roles.filter((r) => r.used !== r.pinned);
process.stdout.write(
  `${relative(process.cwd(), OUTPUT)}: ${renames.length} renamed or removed names, ${prefixes.length} prefix families, ` +
    `${checks.length} checks, ${Object.keys(defaults).length} defaults from ${walk.tasks.length} fail tasks in ${readdirSync(join(checkout, 'roles', 'galaxy')).length} galaxy roles and the custom ones\n`,
);
if (unpinned.length) {
  process.stdout.write(
    `roles not at their pinned version: ${unpinned.map((r) => `${r.name} ${r.used} (pinned ${r.pinned})`).join(', ')}\n`,
  );
  process.stdout.write(`their value checks are left out (their names are kept): ${[...leftOut].sort().join(', ') || 'none had any'}\n`);
}
