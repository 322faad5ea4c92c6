// The MDAD checkout: its migration defaults (docs/playbook.md "Migration version"), its roles
// (docs/playbook.md "Tags and commands"), pulling it
// without losing local edits (what `just update` does), and the plans of its inventory hosts.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../checks/core/errors.ts';
import {
  hostVarsFile,
  loadInventory,
  MIGRATION_DEFAULTS_FILE,
  parseYamlFile,
  readExpectedMigrationVersion,
  readVarsFile,
} from '../../checks/plan/load.ts';
import { planFromVars } from '../../checks/plan/plan.ts';
import type { InventoryHost, Plan } from '../../checks/plan/types.ts';
import { onPath } from './commands.ts';
import type { Command } from './commands.ts';

export interface BreakingChange {
  version: string;
  summary: string;
  changelogUrl?: string;
}

export interface MigrationDefaults {
  expected?: string;
  breakingChanges: BreakingChange[];
}

/** Expected version and breaking-changes list from the text of the migration role's defaults. */
export function parseMigrationDefaults(text: string, file: string): MigrationDefaults {
  const value = parseYamlFile(text, file) as Record<string, unknown> | null;
  const expected = value?.['matrix_playbook_migration_expected_version'];
  const list = value?.['matrix_playbook_migration_breaking_changes'];
  const breakingChanges = (Array.isArray(list) ? list : [])
    .filter((item): item is Record<string, unknown> => typeof item === 'object' && item !== null && typeof item['version'] === 'string')
    .map((item) => {
      const change: BreakingChange = { version: String(item['version']), summary: String(item['summary'] ?? '') };
      if (typeof item['changelog_url'] === 'string') change.changelogUrl = item['changelog_url'];
      return change;
    });
  const out: MigrationDefaults = { breakingChanges };
  if (typeof expected === 'string' && expected.trim() !== '') out.expected = expected.trim();
  return out;
}

/**
 * The entries newer than the acknowledged version, up to the target, oldest first. MDAD
 * compares the versions as strings (the vYYYY.MM.DD.N format sorts by date).
 */
export function breakingChangesBetween(changes: readonly BreakingChange[], acknowledged: string, target: string): BreakingChange[] {
  return changes.filter((c) => c.version > acknowledged && c.version <= target).sort((a, b) => (a.version < b.version ? -1 : 1));
}

/** The expected version of the checkout; a checkout without it is not one this project can drive. */
export async function requireExpectedVersion(checkout: string): Promise<string> {
  const expected = await readExpectedMigrationVersion(checkout);
  if (!expected) {
    throw new InputError(
      `${join(checkout, MIGRATION_DEFAULTS_FILE)}: no matrix_playbook_migration_expected_version; the checkout is too old or incomplete (update it with git pull)`,
    );
  }
  return expected;
}

export interface HostPlan {
  host: InventoryHost;
  varsFile: string;
  vars: Record<string, unknown>;
  plan: Plan;
}

/** Every [matrix_servers] host of the checkout with its vars.yml and plan. */
export async function loadHostPlans(checkout: string): Promise<HostPlan[]> {
  const expected = await readExpectedMigrationVersion(checkout);
  const hosts = await loadInventory(checkout);
  const out: HostPlan[] = [];
  for (const host of hosts) {
    const varsFile = hostVarsFile(checkout, host.name);
    const vars = await readVarsFile(varsFile, ' (run scripts/configure.ts first)');
    out.push({ host, varsFile, vars, plan: planFromVars(vars, expected ? { host, expectedMigrationVersion: expected } : { host }) });
  }
  return out;
}

/** The host to act on: the only one, or the one whose server name is --domain. */
export function pickHost(hosts: readonly HostPlan[], domain: string | undefined): HostPlan {
  const names = hosts.map((h) => h.plan.serverName).join(', ');
  if (domain === undefined) {
    if (hosts.length === 1) return hosts[0]!;
    throw new InputError(`the inventory has several servers (${names}); choose one with --domain`);
  }
  const host = hosts.find((h) => h.plan.serverName === domain);
  if (!host) throw new InputError(`--domain ${domain}: not in the inventory (${names})`);
  return host;
}

/** Commands that fetch the roles pinned in requirements.yml (what `just roles` does). */
export function rolesCommands(checkout: string): Command[] {
  if (onPath('agru')) return [{ program: 'agru', args: ['-no-tui'], cwd: checkout }];
  return [
    { program: 'rm', args: ['-rf', 'roles/galaxy'], cwd: checkout },
    { program: 'ansible-galaxy', args: ['install', '-r', 'requirements.yml', '-p', 'roles/galaxy/', '--force'], cwd: checkout },
  ];
}

export function isGitCheckout(dir: string): boolean {
  return existsSync(join(dir, '.git'));
}

export const git = (checkout: string, ...args: string[]): Command => ({ program: 'git', args: ['-C', checkout, ...args] });
