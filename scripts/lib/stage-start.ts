// The first part of every stage's command line (docs/architecture.md "Stages"), light on purpose:
// the shared options and help, how the stage was started, and the early answer to --help and bad
// options, given before the stage loads what its run needs (zx, yaml, the plan, Ansible helpers).
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ParseArgsConfig } from 'node:util';
import { realPath } from '../../checks/core/check-start.ts';
import { parseCommandLine } from '../../checks/core/command-line.ts';

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

// -------------------------------------------------------------------------------------------
// How a stage was started: `node scripts/<stage>.ts …` (also `npx tsx …`), `./scripts/<stage>.ts …`
// (the shebang runs node) or `npx zx scripts/<stage>.ts …` (zx's command line imports the file).

/** The stage's own arguments, once runStage has found how it was started. */
let ownArgv: string[] | undefined;

/** The stage's arguments (after the script's path, whoever ran it). */
export function stageArgv(): string[] {
  return ownArgv ?? process.argv.slice(2);
}

export function setStageArgv(args: string[]): void {
  ownArgv = args;
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
 * --help and bad options, answered before the stage loads its modules: the help on stdout and
 * exit 0, or the one-line message and exit 3, exactly as the stage's main would (it parses the
 * same options again). Returns when the stage is to run, or when it cannot tell how it was
 * started (runStage then says so).
 */
export async function answerEarly(
  name: string,
  moduleUrl: string,
  options: ParseArgsConfig['options'] & typeof STAGE_OPTIONS,
  help: string,
  argvOf: (args: string[]) => string[] = (args) => args,
): Promise<void> {
  const args = startedArgs(moduleUrl);
  if (args === undefined) return;
  let code: number;
  try {
    if (!parseCommandLine(argvOf(args), options).values.help) return;
    process.stdout.write(`${help}\n`);
    code = 0;
  } catch (error) {
    process.stderr.write(`${name}: ${(error as Error).message}\n`);
    code = 3;
  }
  // As runMain ends: once stdout is flushed, and never on to the stage's modules.
  process.stdout.on('error', () => undefined);
  await new Promise<never>(() => process.stdout.write('', () => process.exit(code)));
}
