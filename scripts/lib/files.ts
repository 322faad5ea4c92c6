// File changes of the stages: computed first (so --dry-run can show them as a diff), then
// written atomically (temp file + rename) with a backup of what they replace (docs/architecture.md "Stages").
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface FileChange {
  path: string;
  /** Current content; undefined for a new file. */
  before?: string;
  after: string;
  mode: number;
  /** Current mode, when the file exists. */
  beforeMode?: number;
}

async function current(path: string): Promise<{ text: string; mode: number } | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { text, mode: info.mode & 0o777 };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** The change that makes `path` hold `after` with `mode`; undefined when it already does. */
export async function fileChange(path: string, after: string, mode: number): Promise<FileChange | undefined> {
  const now = await current(path);
  if (now && now.text === after && now.mode === mode) return undefined;
  return now ? { path, before: now.text, after, mode, beforeMode: now.mode } : { path, after, mode };
}

const octal = (mode: number): string => `0${mode.toString(8)}`;

/** What the change does, as a person reads it: the new file, or a diff. */
export function describeChange(change: FileChange, mask: (text: string) => string = (t) => t): string {
  if (change.before === undefined) {
    const body = mask(change.after)
      .replace(/\n$/, '')
      .split('\n')
      .map((line) => `+ ${line}`)
      .join('\n');
    return `new file ${change.path} (mode ${octal(change.mode)}):\n${body}`;
  }
  const head = `change ${change.path}`;
  const modeNote = change.beforeMode !== change.mode ? ` (mode ${octal(change.beforeMode ?? 0)} → ${octal(change.mode)})` : '';
  if (change.before === change.after) return `${head}${modeNote}: content unchanged`;
  return `${head}${modeNote}:\n${lineDiff(mask(change.before), mask(change.after))}`;
}

/**
 * A unified-style diff of two texts (lines prefixed "- ", "+ ", "  "), with two lines of
 * context around each change and "…" between distant hunks.
 */
export function lineDiff(before: string, after: string, context = 2): string {
  const a = before.replace(/\n$/, '').split('\n');
  const b = after.replace(/\n$/, '').split('\n');
  // Longest common subsequence table, from the end.
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const ops: Array<{ kind: ' ' | '-' | '+'; line: string }> = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i++]! });
      j++;
    } else if (j < b.length && (i >= a.length || lcs[i]![j + 1]! > lcs[i + 1]![j]!)) {
      ops.push({ kind: '+', line: b[j++]! });
    } else {
      ops.push({ kind: '-', line: a[i++]! });
    }
  }
  const near = ops.map((_, k) => ops.slice(Math.max(0, k - context), k + context + 1).some((op) => op.kind !== ' '));
  const out: string[] = [];
  ops.forEach((op, k) => {
    if (near[k]) out.push(`${op.kind} ${op.line}`.trimEnd());
    else if (near[k - 1]) out.push('…');
  });
  return out.join('\n');
}

/** A timestamp for file names: 20261126-101500. */
export function stamp(date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/**
 * Writes the change: the old file is first copied to `<path>.<stamp>.bak` (mode 0600: it may hold
 * secrets; Ansible ignores .bak files in host_vars), then the new content goes to a hidden temp file beside it,
 * is flushed, and renamed over the path. Returns the backup's path, if one was made.
 */
export async function applyChange(change: FileChange): Promise<string | undefined> {
  const dir = dirname(change.path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let backup: string | undefined;
  if (change.before !== undefined && change.before !== change.after) {
    backup = `${change.path}.${stamp()}.bak`;
    await copyFile(change.path, backup);
    await chmod(backup, 0o600);
  }
  const temp = join(dir, `.${basename(change.path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', change.mode);
    try {
      await handle.writeFile(change.after);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(temp, change.mode);
    await rename(temp, change.path);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
  return backup;
}
