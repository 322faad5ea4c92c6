// The command line every stage shares (docs/architecture.md "Stages"): --playbook, --dry-run,
// --help, and the exit codes 0 done, 2 failed, 3 bad input.
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { InputError } from '../../checks/core/errors.ts';
import { setStageArgv, type STAGE_OPTIONS, stageArgv, startedArgs } from './stage-start.ts';

import { parseCommandLine, runMain } from '../../checks/core/cli.ts';

export { parseCommandLine } from '../../checks/core/cli.ts';

export { DEFAULT_CHECKOUT, STAGE_HELP, STAGE_OPTIONS, stageArgv, startedArgs } from './stage-start.ts';

/** The stage's command line; with --help the help is printed (the caller then returns 0). */
export function stageCommandLine<O extends ParseArgsConfig['options'] & typeof STAGE_OPTIONS>(
  options: O,
  help: string,
  argv = stageArgv(),
) {
  const parsed = parseCommandLine(argv, options);
  if ((parsed.values as { help?: boolean }).help) process.stdout.write(`${help}\n`);
  return parsed;
}

/** A step failed: its message is printed as is (no stack trace) and the stage exits 2. */
export class StageFailure extends Error {
  override name = 'StageFailure';
}

/**
 * Starts a stage: its main function runs with its own arguments however it was started; bad
 * input is one line on stderr and exit 3; a failed step (StageFailure) or any other fault is its
 * message and exit 2. A stage that cannot tell how it was started says so and exits 3, without
 * doing anything: it never ends silently with 0.
 */
export function runStage(name: string, moduleUrl: string, main: () => Promise<number>): void {
  const args = startedArgs(moduleUrl);
  if (args === undefined) {
    const runner = process.argv.slice(0, 2).join(' ');
    process.stderr.write(
      `${name}: cannot tell how this stage was started (by ${runner || 'an unknown runner'}), so it does nothing; ` +
        `run it as: npx zx scripts/${name}.ts …, ./scripts/${name}.ts … or node scripts/${name}.ts …\n`,
    );
    process.exitCode = 3;
    return;
  }
  setStageArgv(args);
  runMain(name, main, (error) => ({
    expected: error instanceof InputError || error instanceof StageFailure,
    label: 'failed',
    code: error instanceof InputError ? 3 : 2,
  }));
}

/** The checkout given with --playbook, which must exist and hold MDAD's setup.yml. */
export function requireCheckout(dir: string): string {
  const full = resolve(dir);
  if (!existsSync(full) || !statSync(full).isDirectory()) {
    throw new InputError(
      `--playbook ${dir}: no such directory; get the playbook with: npx tsx scripts/prepare.ts --playbook ${dir} --apply`,
    );
  }
  if (!existsSync(join(full, 'setup.yml'))) {
    throw new InputError(`--playbook ${dir}: not a matrix-docker-ansible-deploy checkout (no setup.yml in it)`);
  }
  return full;
}

/** Comma-separated list option (repeatable): "a,b" "c" → [a, b, c]. */
export function listOption(values: readonly string[] | string | undefined): string[] {
  const all = values === undefined ? [] : typeof values === 'string' ? [values] : values;
  return all
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
}

export function positiveInt(text: string, option: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) {
    throw new InputError(`${option} must be a whole number from 1 to ${max}, got "${text}"`);
  }
  return Number(text);
}
