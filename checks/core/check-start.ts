// The first part of every check's command line (docs/architecture.md "Command-line contract"),
// light on purpose: the shared options and help, whether the module is the one being run, and
// --help answered before the check loads what its run needs (its areas, the report, the catalogue).
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ParseArgsConfig } from 'node:util';
import { parseCommandLine } from './command-line.ts';

/** The options of every check; the DNS check, which connects to no host, has these alone. */
export const OPTIONS_WITHOUT_CONNECT_TO = {
  vars: { type: 'string' },
  playbook: { type: 'string' },
  json: { type: 'boolean', default: false },
  resolver: { type: 'string', multiple: true, default: [] as string[] },
  'ca-file': { type: 'string' },
  timeout: { type: 'string', default: '5' },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options'];

export const COMMON_OPTIONS = {
  ...OPTIONS_WITHOUT_CONNECT_TO,
  'connect-to': { type: 'string', multiple: true, default: [] as string[] },
} as const satisfies ParseArgsConfig['options'];

const helpOf = (connectTo: boolean) => `  --vars FILE          read the deployment plan from an MDAD vars.yml
  --playbook DIR       read it from an MDAD checkout (inventory/hosts + host_vars)
  --resolver IP[:PORT] send every name lookup to this server (repeatable)
  --ca-file FILE       also trust this CA (PEM) for TLS
${
  connectTo
    ? `  --connect-to HOST:PORT:ADDR:PORT
                       connect there for HOST:PORT whatever DNS says, e.g. to test a
                       new server before the DNS switch (repeatable; as curl's option)
`
    : ''
}  --timeout SECONDS    per-probe timeout (default 5)
  --json               print the report as JSON on stdout, nothing else
  -h, --help           this help

Exit codes: 0 all passed, 1 a warning, 2 a failure, 3 could not run.`;

export const COMMON_HELP = helpOf(true);
export const HELP_WITHOUT_CONNECT_TO = helpOf(false);

/** The path with its links resolved; undefined when it does not exist. */
export function realPath(path: string): string | undefined {
  try {
    return realpathSync(resolve(path));
  } catch {
    return undefined;
  }
}

/**
 * True when the module is the script being run, not imported (e.g. by the benchmark): also
 * through a link to it (a package's bin) or a command that names it in argv[1].
 */
export function isMain(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && realPath(process.argv[1]) === realPath(fileURLToPath(moduleUrl));
}

/**
 * When the check is the script being run with --help (and valid options): its help on stdout and
 * exit 0, as its main would print it, without loading the rest. Anything else returns, and the
 * main parses the same options again (bad input is its to answer).
 */
export async function answerHelpEarly(moduleUrl: string, options: ParseArgsConfig['options'], help: string): Promise<void> {
  if (!isMain(moduleUrl)) return;
  try {
    if (!(parseCommandLine(process.argv.slice(2), options).values as { help?: boolean }).help) return;
  } catch {
    return;
  }
  process.stdout.on('error', () => undefined);
  await new Promise<never>(() => process.stdout.write(`${help}\n`, () => process.exit(0)));
}
