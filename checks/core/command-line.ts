// Strict option parsing for every command (docs/architecture.md "Command-line contract"), in a
// module with no imports beyond node:util, so that --help and bad input answer before a
// command loads what its run needs.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InputError } from './errors.ts';

/** The options and positionals; unknown options and missing values are bad input (one line). */
export function parseCommandLine<O extends ParseArgsConfig['options']>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    // node:util's messages are already one line, e.g. "Unknown option '--foo'".
    throw new InputError(((error as Error).message.split('\n')[0] ?? 'bad arguments').replace(/\. To specify.*$/, ''));
  }
}
