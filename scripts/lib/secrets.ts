// Secrets: generated once (like `pwgen -s 64 1`, docs/playbook.md "Controller and server prerequisites"), handed to programs only through
// 0600 files, and masked wherever text is shown or logged (docs/architecture.md "Stages").
import { randomInt } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Plan } from '../../checks/plan/types.ts';
import { SECRET_VARIABLE } from '../../checks/plan/secrets.ts';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Random letters and digits from a cryptographic source. */
export function randomSecret(length = 64): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

export const MASK = '********';

/** Every secret value in a vars.yml and the plan derived from it. */
export function secretsOf(vars: Readonly<Record<string, unknown>>, plan?: Plan): string[] {
  const found = Object.entries(vars)
    .filter(([name, value]) => SECRET_VARIABLE.test(name) && typeof value === 'string')
    .map(([, value]) => value as string);
  if (plan) found.push(...Object.values(plan.secrets).filter((v): v is string => typeof v === 'string'));
  return found;
}

/** A function that replaces every known secret in a text with MASK. */
export function masker(secrets: Iterable<string>): (text: string) => string {
  // Longest first, so that a secret containing another is masked whole; very short values
  // ("no", "") would mask ordinary words and are not secrets anyway.
  const list = [...new Set(secrets)].filter((s) => s.length >= 6).sort((a, b) => b.length - a.length);
  return (text) => list.reduce((out, secret) => out.split(secret).join(MASK), text);
}

/**
 * Calls fn with the path of a 0600 file holding `content` in a fresh 0700 directory, and
 * removes both afterwards, whatever happens.
 */
export async function withPrivateFile<T>(name: string, content: string, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'matrix-stage-'));
  try {
    const path = join(dir, name);
    await writeFile(path, content, { mode: 0o600 });
    return await fn(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
