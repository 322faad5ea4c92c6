#!/usr/bin/env node
// remove: the guide's last step, `sh /matrix/bin/remove-all`, done safely: after the exact
// confirmation phrase, optionally after a backup, through Ansible with become (the script is
// bash and must run as root, docs/playbook.md "remove-all").
//   npx tsx scripts/remove.ts --playbook ./matrix-docker-ansible-deploy --backup ./matrix-backup
import module from 'node:module';
import { readdirSync, statSync } from 'node:fs';
import { chmod, mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';

// Start-up: Node's module compile cache first (Node 22.1 and newer; docs/runtimes.md), then
// the modules, so that from the second start on none of them is compiled again.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { answerEarly, STAGE_HELP, STAGE_OPTIONS } = await import('./lib/stage-start.ts');
const { CONFIRMATION } = await import('./lib/remove-all.ts');

const HELP = `Usage: remove.ts [--playbook DIR] [--backup DIR] [--yes-really-remove-everything]

Removes the Matrix server of the checkout's inventory for good: runs the playbook's
/matrix/bin/remove-all on it (through Ansible, as root), which stops and deletes every
matrix-* service, deletes /matrix (database, media, keys) and runs "docker system prune -af":
that deletes ALL unused Docker images, containers and networks on the host, also those of
other programs. It does not touch Docker itself, the firewall or your DNS records.

Before it runs you type "${CONFIRMATION}" (or pass
--yes-really-remove-everything).

  --backup DIR           first copy the Postgres dump, the Synapse configuration and its
                         signing key into DIR (must be new or empty); nothing is removed if
                         that fails
  --yes-really-remove-everything   do not ask
  --domain DOMAIN        which server of the inventory, when it has several
  -K, --ask-become-pass  ask for the sudo password
  --log FILE             the full log
${STAGE_HELP}

Example:
  npx tsx scripts/remove.ts --playbook ./matrix-docker-ansible-deploy --backup ./matrix-backup`;

const OPTIONS = {
  ...STAGE_OPTIONS,
  backup: { type: 'string' },
  'yes-really-remove-everything': { type: 'boolean', default: false },
  domain: { type: 'string' },
  'ask-become-pass': { type: 'boolean', short: 'K', default: false },
  log: { type: 'string' },
} satisfies ParseArgsConfig['options'];

// --help and bad options answer here, before the modules the run needs load.
await answerEarly('remove', import.meta.url, OPTIONS, HELP);
const { InputError } = await import('../checks/core/errors.ts');
const { defaultLogFile, playbookCommand, runStep } = await import('./lib/ansible.ts');
const { requireCheckout, runStage, stageCommandLine, StageFailure } = await import('./lib/cli.ts');
const { loadHostPlans, pickHost } = await import('./lib/checkout.ts');
const { showCommand } = await import('./lib/commands.ts');
const { stamp } = await import('./lib/files.ts');
const { askLine } = await import('./lib/prompt.ts');
const { masker, secretsOf } = await import('./lib/secrets.ts');

const PLAYBOOKS = join(import.meta.dirname, 'lib', 'playbooks');

/** The backup folder must be new or empty: a backup never overwrites another. */
function backupDir(dir: string | undefined): string | undefined {
  if (dir === undefined) return undefined;
  const full = resolve(dir);
  try {
    if (!statSync(full).isDirectory()) throw new InputError(`--backup ${dir}: not a directory`);
    if (readdirSync(full).length > 0) throw new InputError(`--backup ${dir}: not empty; give a new or empty folder`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return full;
}

/** Makes every backed-up file private (the signing key and the dump are secrets). */
async function lockDown(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    await chmod(path, entry.isDirectory() ? 0o700 : 0o600);
    if (entry.isFile()) files.push(path);
  }
  await chmod(dir, 0o700);
  return files.sort();
}

async function main(): Promise<number> {
  const { values } = stageCommandLine(OPTIONS, HELP);
  if (values.help) return 0;
  const checkout = requireCheckout(values.playbook);
  const host = pickHost(await loadHostPlans(checkout), values.domain);
  const backup = backupDir(values.backup);
  const target = host.host.name;
  const become = values['ask-become-pass'];
  const backupRun =
    backup &&
    playbookCommand({
      checkout,
      playbook: join(PLAYBOOKS, 'backup.yml'),
      limit: target,
      extraVars: { backup_dir: backup },
      askBecomePass: become,
    });
  const removeRun = playbookCommand({
    checkout,
    playbook: join(PLAYBOOKS, 'remove.yml'),
    limit: target,
    extraVars: { remove_all_confirmation: CONFIRMATION },
    askBecomePass: become,
  });

  // 1. Say plainly what happens.
  process.stdout.write(
    `This removes the Matrix server ${target}${host.host.address ? ` (${host.host.address})` : ''} for good:\n` +
      '  - every matrix-* service is stopped and deleted, and /matrix with all data: database, media, signing key;\n' +
      '  - "docker system prune -af" deletes ALL unused Docker images, containers and networks on that host,\n' +
      '    also those of other programs.\n' +
      '  Leave the rooms on other servers first if you want them to know; DNS records and the firewall stay as they are.\n',
  );
  if (!backup)
    process.stdout.write('  No backup: --backup DIR would first copy the Postgres dump, the Synapse configuration and signing key.\n');
  if (values['dry-run']) {
    const steps = [...(backupRun ? [backupRun] : []), removeRun].map((c) => `  ${showCommand(c)}`);
    process.stdout.write(`Would run, after the confirmation:\n${steps.join('\n')}\nDry run: nothing was changed.\n`);
    return 0;
  }

  // 2. The confirmation: the exact phrase, typed (or piped), or the flag.
  if (!values['yes-really-remove-everything']) {
    const answer = await askLine(`Type "${CONFIRMATION}" to continue:\n> `);
    if (answer.trim() !== CONFIRMATION) throw new InputError('not confirmed; nothing was removed');
  }
  const ctx = { logFile: values.log ?? defaultLogFile(checkout, 'remove', stamp()), mask: masker(secretsOf(host.vars, host.plan)) };

  // 3. The backup, and nothing removed unless it worked.
  if (backup && backupRun) {
    await mkdir(backup, { recursive: true, mode: 0o700 });
    await runStep(backupRun, `Backing up ${target} into ${backup}`, ctx);
    const files = await lockDown(backup);
    if (!files.some((f) => f.endsWith('.signing.key')))
      throw new StageFailure(`the backup in ${backup} has no signing key; nothing was removed`);
    process.stdout.write(`Backed up (mode 0600):\n${files.map((f) => `  ${f}`).join('\n')}\n`);
  }

  // 4. remove-all, as root, through Ansible.
  await runStep(removeRun, `Removing ${target}`, ctx);
  process.stdout.write(`Removed the Matrix server ${target}. Full log: ${ctx.logFile}\n`);
  return 0;
}

runStage('remove', import.meta.url, main);
