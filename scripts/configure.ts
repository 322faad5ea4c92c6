#!/usr/bin/env node
// configure: writes the checkout's inventory/hosts and inventory/host_vars/matrix.<domain>/vars.yml
// for one server (the guide's "copy examples/vars.yml and fill in ten secrets" step), or
// migrates a tutorial-era vars.yml to what the current playbook accepts.
//   npx tsx scripts/configure.ts --domain example.org --ip 203.0.113.10 --enable element,ketesa
import module from 'node:module';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import type { Edit, MigrationStep } from './lib/configure-vars.ts';
import type { FileChange } from './lib/files.ts';
import type { HostSettings } from './lib/inventory-text.ts';
import type { parseCommandLine } from './lib/cli.ts';

// Start-up: Node's module compile cache first (Node 22.1 and newer; docs/runtimes.md), then
// the modules, so that from the second start on none of them is compiled again.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { answerEarly, STAGE_HELP, STAGE_OPTIONS } = await import('./lib/stage-start.ts');
const { SWITCHABLE } = await import('./lib/switchable.ts');

const HELP = `Usage: configure.ts --domain DOMAIN (--ip ADDRESS | --local) [options]
       configure.ts --migrate FILE [--ip ADDRESS | --local] [options]

Writes inventory/hosts and inventory/host_vars/matrix.DOMAIN/vars.yml in the playbook
checkout. Secrets are generated once and kept on every later run; the migration version
comes from the checkout. Running it again with the same options changes nothing; a change
is shown as a diff, the old file is kept as a .bak, and your own lines and comments stay.

  --domain DOMAIN        the base domain: user ids become @alice:DOMAIN
  --ip ADDRESS           the server's address for SSH (ansible_host)
  --local                the playbook runs on the server itself (ansible_connection=local)
  --ssh-user USER        SSH login (default root; another user gets sudo via ansible_become)
  --ssh-port PORT        SSH port, if not 22
  --ssh-key FILE         SSH private key to use
  --enable a,b           switch services on, by id (repeatable)
  --disable a,b          switch services off, by id (repeatable)
  --registration MODE    token: sign-up only with a registration token; closed: no sign-up
  --migrate FILE         read a tutorial-era vars.yml, list what the playbook now rejects
                         or ignores with its replacement, and write the migrated file
${STAGE_HELP}

Services: ${SWITCHABLE.map((d) => d.id).join(', ')}
(base-domain: serve example.org's well-known files from this server; federation: on by default)

Example:
  npx tsx scripts/configure.ts --domain example.org --ip 203.0.113.10 --enable element,ketesa,coturn`;

const OPTIONS = {
  ...STAGE_OPTIONS,
  domain: { type: 'string' },
  ip: { type: 'string' },
  local: { type: 'boolean', default: false },
  'ssh-user': { type: 'string' },
  'ssh-port': { type: 'string' },
  'ssh-key': { type: 'string' },
  enable: { type: 'string', multiple: true, default: [] as string[] },
  disable: { type: 'string', multiple: true, default: [] as string[] },
  registration: { type: 'string' },
  migrate: { type: 'string' },
} satisfies ParseArgsConfig['options'];

// --help and bad options answer here, before the modules the run needs load.
await answerEarly('configure', import.meta.url, OPTIONS, HELP);
const { InputError } = await import('../checks/core/errors.ts');
const { readInputFile, readOptionalInputFile } = await import('../checks/core/input-file.ts');
const { hostVarsFile, INVENTORY_FILE } = await import('../checks/plan/load.ts');
const { planFromVars } = await import('../checks/plan/plan.ts');
const { listOption, positiveInt, requireCheckout, runStage, stageCommandLine } = await import('./lib/cli.ts');
const { requireExpectedVersion } = await import('./lib/checkout.ts');
const { TEMPLATE_DIR } = await import('./lib/templates.ts');
const {
  applyMigration,
  applyRegistration,
  applyRequiredSecrets,
  applySwitches,
  applyTurnAddress,
  ensureBasics,
  migrationSteps,
  serviceSwitches,
  validDomain,
} = await import('./lib/configure-vars.ts');
const { mdadIssues } = await import('../checks/plan/mdad-issues.ts');
const { applyChange, describeChange, fileChange } = await import('./lib/files.ts');
const { hasHost, upsertHost } = await import('./lib/inventory-text.ts');
const { masker, secretsOf } = await import('./lib/secrets.ts');
const { varsOf } = await import('./lib/vars-text.ts');

type Values = ReturnType<typeof parseCommandLine<typeof OPTIONS>>['values'];

const DNS_HOST = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** The host line's settings from the options (only what was given). */
function hostSettings(values: Values): HostSettings {
  const s: HostSettings = {};
  if (values.local && values.ip !== undefined) throw new InputError('give either --ip or --local, not both');
  if (values.local) s.local = true;
  if (values.ip !== undefined) {
    if (!isIP(values.ip) && !DNS_HOST.test(values.ip)) throw new InputError(`--ip "${values.ip}" is not an IP address or host name`);
    s.address = values.ip;
  }
  if (values['ssh-user'] !== undefined) {
    if (!/^[a-z_][a-z0-9_.-]*$/i.test(values['ssh-user'])) throw new InputError(`--ssh-user "${values['ssh-user']}" is not a user name`);
    s.sshUser = values['ssh-user'];
  }
  if (values['ssh-port'] !== undefined) s.sshPort = positiveInt(values['ssh-port'], '--ssh-port', 65535);
  if (values['ssh-key'] !== undefined) {
    const key = values['ssh-key'];
    if (!existsSync(key.replace(/^~(?=\/)/, homedir()))) throw new InputError(`--ssh-key ${key}: no such file`);
    s.sshKey = key;
  }
  // A login other than root needs sudo (docs/playbook.md "Inventory"); so does --local when not run as root.
  const user = s.sshUser ?? 'root';
  if (user !== 'root' || (s.local && process.getuid?.() !== 0)) s.become = true;
  return s;
}

function registrationMode(value: string | undefined): 'token' | 'closed' | undefined {
  if (value === undefined || value === 'token' || value === 'closed') return value;
  throw new InputError(`--registration must be token or closed, got "${value}"`);
}

function printMigration(file: string, steps: readonly MigrationStep[]): void {
  if (steps.length === 0) {
    process.stdout.write(`${file}: no variable that the current playbook rejects or ignores\n`);
    return;
  }
  process.stdout.write(`${file}: ${steps.length} variable(s) the current playbook rejects or ignores:\n`);
  for (const step of steps) {
    process.stdout.write(`  ${step.variable} (${step.kind}): ${step.reason}\n    → ${step.fix}\n`);
  }
}

async function main(): Promise<number> {
  const { values } = stageCommandLine(OPTIONS, HELP);
  if (values.help) return 0;

  // 1. Input: the checkout, the domain, the host and the settings asked for.
  const checkout = requireCheckout(values.playbook);
  const expectedVersion = await requireExpectedVersion(checkout);
  const switches = serviceSwitches(listOption(values.enable), listOption(values.disable));
  const registration = registrationMode(values.registration);
  const settings = hostSettings(values);
  const migrateFrom = values.migrate === undefined ? undefined : resolve(values.migrate);
  const migrateText = migrateFrom === undefined ? undefined : await readInputFile(migrateFrom, '--migrate');
  const migrateVars = migrateText === undefined ? undefined : varsOf(migrateText, values.migrate!);
  const givenDomain = values.domain ?? (typeof migrateVars?.['matrix_domain'] === 'string' ? migrateVars['matrix_domain'] : undefined);
  if (givenDomain === undefined) throw new InputError('give --domain DOMAIN (the base domain, e.g. example.org)');
  const domain = validDomain(givenDomain);
  const host = `matrix.${domain}`;
  const hostsPath = join(checkout, INVENTORY_FILE);
  const varsPath = hostVarsFile(checkout, host);

  // 2. The vars.yml text to start from: the existing file, the file to migrate, or the template.
  const existingVars = await readOptionalInputFile(varsPath);
  if (migrateFrom !== undefined && existingVars !== undefined && migrateFrom !== varsPath) {
    throw new InputError(`${varsPath} exists already; migrate that file in place: --migrate ${varsPath}`);
  }
  let text = migrateText ?? existingVars ?? (await readFile(join(TEMPLATE_DIR, 'vars.yml'), 'utf8'));
  const before = varsOf(text, varsPath);
  const edits: Edit[] = [];
  let steps: MigrationStep[] = [];
  if (migrateVars) {
    steps = migrationSteps(migrateVars);
    text = applyMigration(text, varsPath, steps, edits);
  }
  text = ensureBasics(text, varsPath, { domain, expectedVersion, replacePlaceholders: migrateVars !== undefined }, edits);
  text = applySwitches(text, varsPath, switches, edits);
  if (registration) text = applyRegistration(text, varsPath, registration, edits);
  if (settings.address && isIP(settings.address)) text = applyTurnAddress(text, varsPath, settings.address, edits);
  text = applyRequiredSecrets(text, varsPath, edits);
  refuseNewRefusals(before, varsOf(text, varsPath));

  // 3. The inventory: the host's line added or updated.
  const existingHosts = (await readOptionalInputFile(hostsPath)) ?? (await readFile(join(TEMPLATE_DIR, 'hosts'), 'utf8'));
  if (!hasHost(existingHosts, host) && settings.address === undefined && !settings.local) {
    throw new InputError(`${host} is not in ${INVENTORY_FILE} yet: give --ip ADDRESS (or --local when running on the server itself)`);
  }
  const hostsText = upsertHost(existingHosts, host, settings);

  // 4. Show, then write (atomically, with a backup), unless this is a dry run.
  const after = varsOf(text, varsPath);
  const mask = masker([...secretsOf(before), ...secretsOf(after)]);
  if (migrateFrom) printMigration(values.migrate!, steps);
  const changes = [await fileChange(hostsPath, hostsText, 0o600), await fileChange(varsPath, text, 0o600)].filter(
    (c): c is FileChange => c !== undefined,
  );
  if (changes.length === 0) {
    process.stdout.write(`Nothing to change: ${INVENTORY_FILE} and ${varsPath} are up to date.\n`);
  } else {
    for (const edit of edits) process.stdout.write(`  ${edit.variable}: ${edit.note}\n`);
    for (const change of changes) process.stdout.write(`${describeChange(change, mask)}\n`);
  }
  if (values['dry-run']) {
    process.stdout.write('Dry run: nothing was written.\n');
    return 0;
  }
  for (const change of changes) {
    const backup = await applyChange(change);
    process.stdout.write(`wrote ${change.path} (mode 0600)${backup ? `; the previous version is in ${backup}` : ''}\n`);
  }
  printRemainingIssues(after, expectedVersion);
  return 0;
}

/**
 * MDAD's own validation must not refuse what these options wrote: a refusal the file did not
 * have before is one line (exit 3), and nothing is written.
 */
function refuseNewRefusals(before: Record<string, unknown>, after: Record<string, unknown>): void {
  const earlier = new Set(mdadIssues(before).map((issue) => issue.variable));
  const [first, ...more] = mdadIssues(after).filter((issue) => !earlier.has(issue.variable));
  if (!first) return;
  const also = more.length ? ` (also: ${more.map((issue) => issue.variable).join(', ')})` : '';
  throw new InputError(`MDAD would refuse ${first.variable}${also}: ${first.reason}. ${first.fix} Nothing was written.`);
}

/** What the playbook would still stop on, so the person is not surprised by install. */
function printRemainingIssues(vars: Record<string, unknown>, expectedVersion: string): void {
  const issues = planFromVars(vars, { expectedMigrationVersion: expectedVersion }).issues;
  if (issues.length === 0) return;
  process.stdout.write('Still to fix by hand before install:\n');
  for (const issue of issues) process.stdout.write(`  ${issue.variable}: ${issue.reason}\n    → ${issue.fix}\n`);
}

runStage('configure', import.meta.url, main);
