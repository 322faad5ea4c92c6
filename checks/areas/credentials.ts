// Whose tokens go where (docs/security.md "Scoped credentials"): MATRIX_ACCESS_TOKEN and
// MATRIX_ADMIN_TOKEN belong to the one server named on the command line. A fleet run and the
// exporter take each server's tokens from a credentials file instead: --credentials FILE, or
// doctor-credentials.yml beside the inventory, readable by its owner only (0600):
//
//   example.org:
//     access_token: syt_…
//     admin_token: syt_…
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { InputError } from '../core/errors.ts';
import { readInputFile } from '../core/input-file.ts';
import type { RunSettings, ServerTarget } from './area.ts';

/** The file a fleet run and the exporter read beside --inventory when no --credentials is given. */
export const CREDENTIALS_FILE = 'doctor-credentials.yml';

/** One server's tokens, as RunSettings carries them. */
export type ServerCredentials = Pick<RunSettings, 'auth' | 'adminToken'>;

/** The tokens of the environment, for the one server of a run; none: {}. */
export function environmentCredentials(): ServerCredentials {
  const token = process.env.MATRIX_ACCESS_TOKEN?.trim();
  const admin = process.env.MATRIX_ADMIN_TOKEN?.trim();
  return { ...(token ? { auth: { kind: 'token', token } } : {}), ...(admin ? { adminToken: admin } : {}) };
}

/** server name → its tokens, from a file only its owner can read. */
export async function readCredentials(path: string, label: string): Promise<Map<string, ServerCredentials>> {
  const text = await readInputFile(path, label);
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077)
    throw new InputError(`${label} ${path}: readable by others (mode ${mode.toString(8)}); it holds tokens: chmod 600 ${path}`);
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    throw new InputError(`${label} ${path}: not YAML (${(error as Error).message.split('\n')[0]})`);
  }
  if (doc === null || doc === undefined) return new Map();
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new InputError(`${label} ${path}: expected server names, each with access_token and/or admin_token`);
  const servers = new Map<string, ServerCredentials>();
  for (const [server, entry] of Object.entries(doc as Record<string, unknown>)) {
    const fields = entry && typeof entry === 'object' && !Array.isArray(entry) ? (entry as Record<string, unknown>) : undefined;
    const unknown = fields ? Object.keys(fields).filter((k) => k !== 'access_token' && k !== 'admin_token') : [];
    const bad = ['access_token', 'admin_token'].filter((k) => fields?.[k] !== undefined && typeof fields[k] !== 'string');
    if (!fields || unknown.length || bad.length)
      throw new InputError(
        `${label} ${path}: ${server}: give access_token and/or admin_token as strings${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}`,
      );
    const token = (fields.access_token as string | undefined)?.trim();
    const admin = (fields.admin_token as string | undefined)?.trim();
    servers.set(server.toLowerCase(), { ...(token ? { auth: { kind: 'token', token } } : {}), ...(admin ? { adminToken: admin } : {}) });
  }
  return servers;
}

/**
 * The tokens of a run over several servers (a fleet, the exporter), by server name: --credentials,
 * else the file beside the inventory when it exists. The environment's tokens only when the
 * inventory has exactly one server; otherwise they are refused, never spread over every server.
 */
export async function fleetCredentials(
  targets: readonly ServerTarget[],
  from: { credentials?: string; inventory?: string },
  command: string,
): Promise<Map<string, ServerCredentials>> {
  const env = environmentCredentials();
  const fromEnv = Object.keys(env).length > 0;
  const named = from.credentials ?? (from.inventory ? join(dirname(from.inventory), CREDENTIALS_FILE) : undefined);
  const file =
    named && (from.credentials !== undefined || exists(named))
      ? await readCredentials(named, from.credentials !== undefined ? '--credentials' : 'credentials')
      : undefined;
  if (fromEnv) {
    const only = targets.length === 1 && from.inventory !== undefined ? targets[0] : undefined;
    if (!only || file)
      throw new InputError(
        `${command}: MATRIX_ACCESS_TOKEN and MATRIX_ADMIN_TOKEN belong to one server; give each server's tokens in --credentials FILE (or ${CREDENTIALS_FILE} beside the inventory, mode 600)`,
      );
    return new Map([[only.name.host.toLowerCase(), env]]);
  }
  return file ?? new Map();
}

function exists(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The target with its own tokens, if the run has any for it. */
export function withCredentials(target: ServerTarget, credentials: ReadonlyMap<string, ServerCredentials>): ServerTarget {
  const own = credentials.get(target.name.host.toLowerCase());
  return own ? { ...target, credentials: own } : target;
}
