// The command line every stage shares (docs/architecture.md "Stages"): --playbook, --dry-run,
// --help, and the exit codes 0 done, 2 failed, 3 bad input.
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { InputError } from '../../checks/core/errors.ts';

import { parseCommandLine, runMain } from '../../checks/core/cli.ts';

export { isMain, parseCommandLine } from '../../checks/core/cli.ts';

export const DEFAULT_CHECKOUT = './matrix-docker-ansible-deploy';

export const STAGE_OPTIONS = {
  playbook: { type: 'string', default: DEFAULT_CHECKOUT },
  'dry-run': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options'];

export const STAGE_HELP = `  --playbook DIR   the matrix-docker-ansible-deploy checkout (default ${DEFAULT_CHECKOUT})
  --dry-run        print the commands and file changes, change nothing
  -h, --help       this help

Exit codes: 0 done, 2 failed, 3 bad input (nothing was changed).`;

/** The stage's command line; with --help the help is printed (the caller then returns 0). */
export function stageCommandLine<O extends ParseArgsConfig['options'] & typeof STAGE_OPTIONS>(
  options: O,
  help: string,
  argv = process.argv.slice(2),
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
 * Runs a stage's main function: bad input is one line on stderr and exit 3; a failed step
 * (StageFailure) or any other fault is its message and exit 2.
 */
export function runStage(name: string, main: () => Promise<number>): void {
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
