#!/usr/bin/env node
// update: the guide's "git pull, then run the playbook again", done today's way
// (docs/playbook.md "Migration version", "Tags and commands"):
// fetch the playbook, show the breaking changes between the version this server acknowledged
// and the one the new playbook expects, and only after `--acknowledge VERSION` pull (keeping
// local edits, like `just update`), raise matrix_playbook_migration_validated_version and install.
//   npx tsx scripts/update.ts --playbook ./matrix-docker-ansible-deploy --acknowledge v2026.05.18.0
import module from 'node:module';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import type { BreakingChange } from './lib/checkout.ts';
import type { Command } from './lib/commands.ts';
import type { Install } from './lib/install-run.ts';

// Start-up: Node's module compile cache first (Node 22.1 and newer; docs/runtimes.md), then
// the modules, so that from the second start on none of them is compiled again.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { answerEarly, STAGE_HELP } = await import('./lib/stage-start.ts');
const { INSTALL_HELP, INSTALL_OPTIONS } = await import('./lib/install-options.ts');

const HELP = `Usage: update.ts [--playbook DIR] [--acknowledge VERSION] [install options]

Updates the playbook checkout and the server:
  1. git fetch; stops if vars.yml has a name the new playbook refuses (renamed or removed
     in its migration role), then the breaking changes between the version in vars.yml
     (matrix_playbook_migration_validated_version) and the one the new playbook expects
  2. stops there until you have read them and pass --acknowledge with that version
  3. git pull, keeping your local edits (git stash / pull / stash pop)
  4. raises matrix_playbook_migration_validated_version in vars.yml (diff, backup)
  5. install: roles, playbook, self-check and checks (see install.ts --help)

  --acknowledge VERSION  you have read the breaking changes up to VERSION
${INSTALL_HELP}
${STAGE_HELP}

Example:
  npx tsx scripts/update.ts --playbook ./matrix-docker-ansible-deploy
  npx tsx scripts/update.ts --playbook ./matrix-docker-ansible-deploy --acknowledge v2026.05.18.0`;

const OPTIONS = {
  ...INSTALL_OPTIONS,
  acknowledge: { type: 'string' },
} satisfies ParseArgsConfig['options'];

// --help and bad options answer here, before the modules the run needs load.
await answerEarly('update', import.meta.url, OPTIONS, HELP);
const { InputError } = await import('../checks/core/errors.ts');
const { MIGRATION_DEFAULTS_FILE } = await import('../checks/plan/load.ts');
const { MIGRATION_VALIDATION_FILE, refusedByMigrationRole } = await import('../checks/plan/mdad-issues.ts');
const { runStage, stageCommandLine, StageFailure } = await import('./lib/cli.ts');
const { breakingChangesBetween, git, isGitCheckout, parseMigrationDefaults } = await import('./lib/checkout.ts');
const { capture, showCommand, withSpinner } = await import('./lib/commands.ts');
const { applyChange, describeChange, fileChange } = await import('./lib/files.ts');
const { setVar } = await import('./lib/vars-text.ts');
const { masker, secretsOf } = await import('./lib/secrets.ts');
const { parse: parseYaml } = await import('yaml');
const { prepareInstall, runInstall } = await import('./lib/install-run.ts');

const VALIDATED = 'matrix_playbook_migration_validated_version';

/** Runs a git command that must succeed, showing it first. */
async function gitStep(command: Command, what: string): Promise<string> {
  process.stdout.write(`  $ ${showCommand(command)}\n`);
  const run = await withSpinner(what, () => capture(command));
  if (run.code !== 0) throw new StageFailure(`${what} failed: ${(run.stderr || run.error || '').trim()}`);
  return run.stdout;
}

/** The hosts whose acknowledged version is behind `target`, with the changes each has not seen. */
function behind(
  install: Install,
  changes: readonly BreakingChange[],
  target: string,
): Array<{ varsFile: string; acknowledged: string; unseen: BreakingChange[] }> {
  return install.hosts
    .map((h) => ({ varsFile: h.varsFile, acknowledged: String(h.vars[VALIDATED] ?? '') }))
    .filter((h) => h.acknowledged < target)
    .map((h) => ({ ...h, unseen: breakingChangesBetween(changes, h.acknowledged, target) }));
}

function printChanges(list: readonly BreakingChange[]): void {
  for (const c of list) process.stdout.write(`  ${c.version}: ${c.summary}${c.changelogUrl ? `\n    ${c.changelogUrl}` : ''}\n`);
}

/** git stash (if tracked files were edited), git pull --ff-only, git stash pop. */
async function pullKeepingChanges(checkout: string): Promise<void> {
  const dirty = (await gitStep(git(checkout, 'status', '--porcelain', '--untracked-files=no'), 'git status')).trim() !== '';
  if (dirty) await gitStep(git(checkout, 'stash', 'push', '-q', '-m', 'local edits kept by scripts/update.ts'), 'git stash');
  try {
    await gitStep(git(checkout, 'pull', '--ff-only', '-q'), 'git pull');
  } finally {
    if (dirty) {
      await gitStep(git(checkout, 'stash', 'pop', '-q'), 'git stash pop').catch((e: Error) => {
        throw new StageFailure(
          `${e.message}\nYour local edits conflict with the update; they are kept in the stash (git -C ${checkout} stash list). Resolve them, then run update again.`,
        );
      });
    }
  }
}

async function raiseValidatedVersion(varsFiles: readonly string[], version: string): Promise<void> {
  for (const file of varsFiles) {
    const text = await readFile(file, 'utf8');
    const change = await fileChange(file, setVar(text, VALIDATED, version), 0o600);
    if (!change) continue;
    // Only this line changes, but the diff's context lines may hold a secret: masked as configure masks.
    const vars = (parseYaml(text) ?? {}) as Record<string, unknown>;
    process.stdout.write(`${describeChange(change, masker(secretsOf(vars)))}\n`);
    const backup = await applyChange(change);
    process.stdout.write(`wrote ${file}${backup ? `; the previous version is in ${backup}` : ''}\n`);
  }
}

/**
 * Before pulling: each vars.yml against the renamed and removed names of the playbook about to
 * be pulled (its migration role), so that the pull never leaves a server on a playbook that
 * refuses its settings.
 */
async function refuseWhatTheNewPlaybookRefuses(install: Install, checkout: string): Promise<void> {
  const text = await gitStep(git(checkout, 'show', `@{u}:${MIGRATION_VALIDATION_FILE}`), "reading the new playbook's renamed variables");
  const refused = install.hosts.flatMap((h) => refusedByMigrationRole(h.vars, text).map((issue) => ({ ...issue, file: h.varsFile })));
  if (refused.length === 0) return;
  const lines = refused.map((i) => `  ${i.file}: ${i.variable}: ${i.reason}\n    → ${i.fix}`);
  throw new StageFailure(
    `stopped before changing anything: the new playbook refuses these settings:\n${lines.join('\n')}\nChange them, then run update again.`,
  );
}

async function main(): Promise<number> {
  const { values } = stageCommandLine(OPTIONS, HELP);
  if (values.help) return 0;
  const install = await prepareInstall(values, 'update');
  const { checkout } = install;
  if (!isGitCheckout(checkout))
    throw new InputError(`--playbook ${values.playbook}: not a git checkout; update needs one made with git clone`);

  if (values['dry-run']) {
    process.stdout.write(
      [
        'Would run:',
        `  ${showCommand(git(checkout, 'fetch', '-q'))}`,
        `  ${showCommand(git(checkout, 'show', `@{u}:${MIGRATION_VALIDATION_FILE}`))}   # stop if vars.yml has a name it refuses`,
        `  # show the breaking changes in @{u}:${MIGRATION_DEFAULTS_FILE} newer than ${VALIDATED}; stop unless acknowledged`,
        `  ${showCommand(git(checkout, 'stash', 'push', '-q', '-m', 'local edits kept by scripts/update.ts'))}   # only with local edits`,
        `  ${showCommand(git(checkout, 'pull', '--ff-only', '-q'))}`,
        `  ${showCommand(git(checkout, 'stash', 'pop', '-q'))}   # only with local edits`,
        `  # raise ${VALIDATED} in ${install.hosts.map((h) => h.varsFile).join(', ')} to the acknowledged version`,
        '',
      ].join('\n'),
    );
    return runInstall(install);
  }

  // 1. What the update brings, read from the fetched branch before anything changes here.
  process.stdout.write('Fetching the playbook\n');
  await gitStep(git(checkout, 'fetch', '-q'), 'git fetch');
  const upstreamDefaults = await gitStep(git(checkout, 'show', `@{u}:${MIGRATION_DEFAULTS_FILE}`), 'reading the new migration defaults');
  const incoming = parseMigrationDefaults(upstreamDefaults, `@{u}:${MIGRATION_DEFAULTS_FILE}`);
  if (!incoming.expected)
    throw new StageFailure(`the new playbook has no matrix_playbook_migration_expected_version in ${MIGRATION_DEFAULTS_FILE}`);
  const target = incoming.expected;
  const late = behind(install, incoming.breakingChanges, target);
  await refuseWhatTheNewPlaybookRefuses(install, checkout);

  // 2. Breaking changes are acknowledged explicitly, with the exact version.
  if (late.length) {
    process.stdout.write(
      `The updated playbook expects ${VALIDATED} ${target}. Breaking changes since the version this server acknowledged:\n`,
    );
    printChanges([...new Map(late.flatMap((h) => h.unseen).map((c) => [c.version, c])).values()]);
    if (values.acknowledge === undefined) {
      throw new StageFailure(
        `stopped before changing anything: read the changes above, adapt vars.yml where they ask, then run:\n  npx tsx scripts/update.ts --playbook ${values.playbook} --acknowledge ${target}`,
      );
    }
    if (values.acknowledge !== target) {
      throw new InputError(`--acknowledge ${values.acknowledge} does not match the version this update brings (${target})`);
    }
  } else if (values.acknowledge !== undefined && values.acknowledge !== target) {
    throw new InputError(`--acknowledge ${values.acknowledge}: nothing to acknowledge, the playbook expects ${target} and vars.yml has it`);
  }

  // 3. Pull, keeping local edits; 4. raise the acknowledged version.
  process.stdout.write('Updating the checkout\n');
  await pullKeepingChanges(checkout);
  const expectedNow = parseMigrationDefaults(
    await readFile(join(checkout, MIGRATION_DEFAULTS_FILE), 'utf8'),
    MIGRATION_DEFAULTS_FILE,
  ).expected;
  if (expectedNow !== target)
    throw new StageFailure(`after the pull the checkout expects ${expectedNow ?? 'no version'}, not ${target}; run update again`);
  if (late.length)
    await raiseValidatedVersion(
      late.map((h) => h.varsFile),
      target,
    );

  // 5. Install with the updated playbook and settings.
  return runInstall(await prepareInstall({ ...values, log: install.ctx.logFile }, 'update'));
}

runStage('update', import.meta.url, main);
