// Reading a file the person named (an option's value): any failure is bad input, one line
// naming the option, the path and why (ENOENT, EACCES, …), never a stack trace.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { InputError } from './errors.ts';

function unreadable(label: string, path: string, error: unknown): InputError {
  return new InputError(`${label} ${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
}

/** The file's text; `label` names where the path came from (e.g. "--ca-file"). */
export async function readInputFile(path: string, label: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw unreadable(label, path, error);
  }
}

/** The same, for the few places that read while parsing options. */
export function readInputFileSync(path: string, label: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw unreadable(label, path, error);
  }
}
