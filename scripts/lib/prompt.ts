// Passwords and confirmations from the person: a password comes from a file, the
// MATRIX_PASSWORD environment variable or a prompt without echo, never from the command line.
import { createInterface } from 'node:readline';
import { InputError } from '../../checks/core/errors.ts';
import { readInputFile } from '../../checks/core/input-file.ts';
import { askHidden } from '../../checks/core/prompt.ts';

const MIN_PASSWORD_LENGTH = 8;

export interface PasswordSource {
  /** --password-file FILE: its first line. */
  file?: string;
  /** What the password is for, in the prompt. */
  purpose: string;
  /** Ask twice when typed (a new password). */
  confirm?: boolean;
  /** May a terminal prompt be used (not in --dry-run). */
  prompt?: boolean;
}

/** The password, checked for length; undefined when none is available and prompting is off. */
export async function readPassword(source: PasswordSource): Promise<string | undefined> {
  let password: string | undefined;
  if (source.file !== undefined) {
    password = (await readInputFile(source.file, '--password-file')).split(/\r?\n/)[0] ?? '';
  } else if (process.env.MATRIX_PASSWORD !== undefined) {
    password = process.env.MATRIX_PASSWORD;
  } else if (source.prompt && process.stdin.isTTY) {
    password = await askHidden(`Password for ${source.purpose}: `);
    if (source.confirm && (await askHidden('Again: ')) !== password) throw new InputError('the two passwords differ');
  } else if (source.prompt) {
    throw new InputError(`no password for ${source.purpose}: set MATRIX_PASSWORD, use --password-file FILE, or run on a terminal`);
  } else {
    return undefined;
  }
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    throw new InputError(`the password for ${source.purpose} is shorter than ${MIN_PASSWORD_LENGTH} characters`);
  }
  return password;
}

/** One line typed by the person (or piped in); '' at end of input. */
export function askLine(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: Boolean(process.stdin.isTTY) });
    let answered = false;
    rl.question(question, (answer) => {
      answered = true;
      rl.close();
      resolve(answer);
    });
    rl.on('close', () => {
      if (!answered) resolve('');
    });
  });
}
