// The I/O side of the plan: reads vars.yml and an MDAD checkout's inventory, then calls the
// pure planFromVars. Every problem becomes one InputError line that names the file.

import { readInputFile, readOptionalInputFile } from '../core/input-file.ts';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { ScalarTag } from 'yaml';
import { InputError } from '../core/errors.ts';
import { inventoryHosts, MATRIX_GROUP } from './inventory.ts';
import { planFromServerName, planFromVars } from './plan.ts';
import type { PlanOptions } from './plan.ts';
import type { InventoryHost, Plan } from './types.ts';
import type { VaultedValue } from './services.ts';

export interface LoadPlanOptions {
  /** --vars FILE: one vars.yml. */
  vars?: string;
  /** --playbook DIR: an MDAD checkout (inventory/hosts, inventory/host_vars/<host>/vars.yml). */
  playbook?: string;
  /** The server name given on the command line, if any. */
  serverName?: string;
}

export const INVENTORY_FILE = join('inventory', 'hosts');
export const MIGRATION_DEFAULTS_FILE = join('roles', 'custom', 'matrix_playbook_migration', 'defaults', 'main.yml');

/** Ansible Vault strings (`!vault |`) are kept as opaque markers, never decrypted. */
const vaultTag: ScalarTag = {
  tag: '!vault',
  identify: () => false,
  resolve: (): VaultedValue => ({ vaulted: true }),
};

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}

/**
 * Parses YAML the way Ansible reads vars files: YAML 1.1 (yes/no are booleans), duplicate keys
 * allowed (the last wins). Throws InputError naming the file and the line of a syntax error.
 */
export function parseYamlFile(text: string, file: string): unknown {
  const doc = parseDocument(text, { version: '1.1', uniqueKeys: false, customTags: [vaultTag] });
  const error = doc.errors[0];
  if (error) {
    const line = error.linePos?.[0]?.line;
    let message = (error.message.split('\n')[0] ?? '').replace(/\s+at line \d+, column \d+:?$/, '').trim();
    if (error.code === 'MULTIPLE_DOCS') message = 'several YAML documents (a second ---); expected one';
    throw new InputError(`${file}: YAML syntax error${line ? ` at line ${line}` : ''}: ${message}`);
  }
  try {
    return doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    throw new InputError(`${file}: YAML error: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Reads one vars.yml into a mapping that has a matrix_domain. */
export async function readVarsFile(file: string, hint = ''): Promise<Record<string, unknown>> {
  const value = parseYamlFile(await readInputFile(file, '', hint), file);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError(`${file}: expected a mapping of variables, found ${describe(value)}`);
  }
  const vars = value as Record<string, unknown>;
  const domain = vars['matrix_domain'];
  if (typeof domain !== 'string' || domain.trim() === '') {
    throw new InputError(`${file}: matrix_domain is missing or empty`);
  }
  return vars;
}

/** The [matrix_servers] hosts of DIR/inventory/hosts. */
export async function loadInventory(dir: string): Promise<InventoryHost[]> {
  const file = join(dir, INVENTORY_FILE);
  const text = await readInputFile(file);
  let hosts: InventoryHost[];
  try {
    hosts = inventoryHosts(text, MATRIX_GROUP);
  } catch (e) {
    throw new InputError(`${file}: ${(e as Error).message}`);
  }
  if (hosts.length === 0) throw new InputError(`${file}: no host under [${MATRIX_GROUP}]`);
  return hosts;
}

/** matrix_playbook_migration_expected_version from the checkout, or undefined when the file is absent. */
export async function readExpectedMigrationVersion(dir: string): Promise<string | undefined> {
  const file = join(dir, MIGRATION_DEFAULTS_FILE);
  const text = await readOptionalInputFile(file);
  if (text === undefined) return undefined;
  const value = parseYamlFile(text, file);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError(`${file}: expected a mapping, found ${describe(value)}`);
  }
  const version = (value as Record<string, unknown>)['matrix_playbook_migration_expected_version'];
  return typeof version === 'string' && version.trim() !== '' ? version.trim() : undefined;
}

export function hostVarsFile(dir: string, host: string): string {
  return join(dir, 'inventory', 'host_vars', host, 'vars.yml');
}

const HOST_VARS_HINT = ' (the folder under inventory/host_vars/ must be named exactly like the host in inventory/hosts)';

const domainOf = (vars: Record<string, unknown>): string => String(vars['matrix_domain']).trim().toLowerCase().replace(/\.$/, '');

function sameServer(vars: Record<string, unknown>, serverName: string): boolean {
  return domainOf(vars) === serverName.trim().toLowerCase().replace(/\.$/, '');
}

function requireServer(vars: Record<string, unknown>, serverName: string | undefined, file: string): void {
  if (serverName !== undefined && !sameServer(vars, serverName)) {
    throw new InputError(`${file}: matrix_domain is ${domainOf(vars)}, not the server name ${serverName} given on the command line`);
  }
}

/** Picks the inventory host to plan for; with several, the one whose matrix_domain is serverName. */
async function pickHost(
  dir: string,
  hosts: InventoryHost[],
  serverName: string | undefined,
): Promise<{ host: InventoryHost; vars: Record<string, unknown> }> {
  const inventory = join(dir, INVENTORY_FILE);
  if (hosts.length === 1) {
    const host = hosts[0]!;
    const file = hostVarsFile(dir, host.name);
    const vars = await readVarsFile(file, HOST_VARS_HINT);
    requireServer(vars, serverName, file);
    return { host, vars };
  }
  const names = hosts.map((h) => h.name).join(', ');
  if (serverName === undefined) {
    throw new InputError(`${inventory}: several [${MATRIX_GROUP}] hosts (${names}); give the server name to choose one`);
  }
  const seen: string[] = [];
  for (const host of hosts) {
    let vars: Record<string, unknown>;
    try {
      vars = await readVarsFile(hostVarsFile(dir, host.name));
    } catch {
      seen.push(`${host.name} (unreadable vars.yml)`);
      continue;
    }
    if (sameServer(vars, serverName)) return { host, vars };
    seen.push(`${host.name} (${domainOf(vars)})`);
  }
  throw new InputError(`${inventory}: no [${MATRIX_GROUP}] host has matrix_domain ${serverName}; hosts: ${seen.join(', ')}`);
}

/** The host whose host_vars file is `varsFile`, when the checkout's inventory lists it. */
async function hostForVarsFile(dir: string, varsFile: string): Promise<InventoryHost | undefined> {
  let hosts: InventoryHost[];
  try {
    hosts = await loadInventory(dir);
  } catch {
    return undefined;
  }
  const wanted = resolve(varsFile);
  return hosts.find((h) => resolve(hostVarsFile(dir, h.name)) === wanted);
}

/**
 * The deployment plan for the command-line options: --vars FILE, --playbook DIR (both may be
 * given: vars from FILE, migration version and host from DIR), or only a server name.
 */
export async function loadPlan(opts: LoadPlanOptions): Promise<Plan> {
  const options: PlanOptions = {};
  if (opts.vars !== undefined) {
    const vars = await readVarsFile(opts.vars);
    requireServer(vars, opts.serverName, opts.vars);
    if (opts.playbook !== undefined) {
      const expected = await readExpectedMigrationVersion(opts.playbook);
      if (expected) options.expectedMigrationVersion = expected;
      const host = await hostForVarsFile(opts.playbook, opts.vars);
      if (host) options.host = host;
    }
    return planFromVars(vars, options);
  }
  if (opts.playbook !== undefined) {
    const { host, vars } = await pickHost(opts.playbook, await loadInventory(opts.playbook), opts.serverName);
    const expected = await readExpectedMigrationVersion(opts.playbook);
    if (expected) options.expectedMigrationVersion = expected;
    options.host = host;
    return planFromVars(vars, options);
  }
  if (opts.serverName !== undefined) return planFromServerName(opts.serverName);
  throw new InputError('nothing to plan from: give a server name, --vars FILE or --playbook DIR');
}
