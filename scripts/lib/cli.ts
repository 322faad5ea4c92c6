// The command line every stage shares (docs/architecture.md "Stages"): --playbook, --dry-run,
// --help, and the exit codes 0 done, 2 failed, 3 bad input.
import { existsSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ParseArgsConfig } from 'node:util';
import { InputError } from '../../checks/core/errors.ts';

import { parseCommandLine, runMain } from '../../checks/core/cli.ts';

export { parseCommandLine } from '../../checks/core/cli.ts';

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

// -------------------------------------------------------------------------------------------
// How a stage was started: `node scripts/<stage>.ts …` (also `npx tsx …`), `./scripts/<stage>.ts …`
// (the shebang runs node) or `npx zx scripts/<stage>.ts …` (zx's command line imports the file).

/** The stage's own arguments, once runStage has found how it was started. */
let ownArgv: string[] | undefined;

/** The stage's arguments (after the script's path, whoever ran it). */
export function stageArgv(): string[] {
  return ownArgv ?? process.argv.slice(2);
}

function realPath(path: string): string | undefined {
  try {
    return realpathSync(resolve(path));
  } catch {
    return undefined;
  }
}

/** zx's command line (node_modules/zx/build/cli.js, or the .bin/zx link to it). */
function isZxCli(path: string): boolean {
  return basename(dirname(path)) === 'build' && /^cli\.[cm]?js$/.test(basename(path)) && basename(dirname(dirname(path))) === 'zx';
}

/**
 * The arguments of the stage in `moduleUrl` when it is the script being run: by node (argv[1] is
 * the file) or by zx (argv[1] is zx's command line, and the file follows zx's own options).
 * undefined when the file was imported by something else.
 */
export function startedArgs(moduleUrl: string, argv = process.argv): string[] | undefined {
  const self = realPath(fileURLToPath(moduleUrl));
  if (!self || argv[1] === undefined) return undefined;
  const runner = realPath(argv[1]);
  if (runner === self) return argv.slice(2);
  if (runner && isZxCli(runner)) {
    const at = argv.findIndex(
      (arg, i) => i >= 2 && !arg.startsWith('-') && realPath(arg.startsWith('file:') ? fileURLToPath(arg) : arg) === self,
    );
    if (at >= 0) return argv.slice(at + 1);
  }
  return undefined;
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
  ownArgv = args;
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
