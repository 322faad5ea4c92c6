// How a check logs in as a Matrix client (turn, rtc, outbound): an access token from the
// environment or a file, or a user whose password comes from MATRIX_PASSWORD or a hidden prompt.
// Never an argument: the command line is visible to every user of the machine.
import { InputError } from './errors.ts';
import { askHidden, readSecretFile } from './prompt.ts';

/** A logged-in client's credentials (never printed). */
export type ClientAuth = { kind: 'token'; token: string } | { kind: 'login'; user: string; password: string };

/** The password from MATRIX_PASSWORD, or asked on the terminal without echo. */
async function readPassword(user: string): Promise<string> {
  const fromEnv = process.env.MATRIX_PASSWORD;
  if (fromEnv) return fromEnv;
  if (!process.stdin.isTTY)
    throw new InputError(`--user ${user}: set MATRIX_PASSWORD, or run on a terminal to be asked (the password is never an argument)`);
  const password = await askHidden(`Password for ${user}: `);
  if (password === '') throw new InputError('no password given');
  return password;
}

/** --user, or --access-token-file, or MATRIX_ACCESS_TOKEN; none of them: undefined. */
export async function authFrom(values: { user?: string; 'access-token-file'?: string }): Promise<ClientAuth | undefined> {
  if (values.user !== undefined && values['access-token-file'] !== undefined)
    throw new InputError('give --user or --access-token-file, not both');
  if (values.user !== undefined) {
    if (values.user.trim() === '') throw new InputError('--user is empty');
    return { kind: 'login', user: values.user, password: await readPassword(values.user) };
  }
  if (values['access-token-file'] !== undefined)
    return { kind: 'token', token: readSecretFile(values['access-token-file'], '--access-token-file') };
  const token = process.env.MATRIX_ACCESS_TOKEN?.trim();
  return token ? { kind: 'token', token } : undefined;
}

/** --homeserver URL: the client API's base URL, without a trailing slash. */
export function parseHomeserver(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    const url = new URL(text);
    if (url.protocol === 'https:' || url.protocol === 'http:') return url.href.replace(/\/+$/, '');
  } catch {
    // reported below
  }
  throw new InputError(`--homeserver "${text}" is not an http(s) URL such as https://matrix.example.org`);
}
