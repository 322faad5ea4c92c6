// Reading a file the person named (an option's value, a vars.yml, an inventory): any failure is
// bad input, one line naming the option, the path and why in plain words, never a stack trace.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { InputError } from './errors.ts';

/** "--ca-file ca.pem: file not found": `label` names where the path came from, `hint` what to do. */
export function unreadableFile(path: string, error: unknown, label = '', hint = ''): InputError {
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? `file not found${hint}`
      : code === 'EISDIR'
        ? 'is a directory, expected a file'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : `cannot be read (${code ?? (error as Error).message})`;
  return new InputError(`${label ? `${label} ` : ''}${path}: ${why}`);
}

export async function readInputFile(path: string, label = '', hint = ''): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw unreadableFile(path, error, label, hint);
  }
}

/** The same, where a missing file is no error: undefined. */
export async function readOptionalInputFile(path: string, label = ''): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw unreadableFile(path, error, label);
  }
}

/** For the few places that read while parsing options. */
export function readInputFileSync(path: string, label = ''): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw unreadableFile(path, error, label);
  }
}
