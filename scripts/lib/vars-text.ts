// Editing a vars.yml as text: yaml's Document API finds where each top-level variable is, and
// only those characters are replaced, so the person's comments, blank lines, quoting and
// unrelated edits stay exactly as they were (a re-serialised document would reflow them).
import { isMap, parse, parseDocument } from 'yaml';
import type { Node, Pair } from 'yaml';
import { InputError } from '../../checks/core/errors.ts';
import { parseYamlFile } from '../../checks/plan/load.ts';

export type VarValue = string | number | boolean | readonly string[];

interface Located {
  key: string;
  /** Start of the key, end of the value (trailing whitespace excluded). */
  start: number;
  end: number;
  keyEnd: number;
}

/** The variables of a vars.yml text, as Ansible reads them (YAML 1.1, last duplicate wins). */
export function varsOf(text: string, file: string): Record<string, unknown> {
  const value = text.trim() === '' ? {} : parseYamlFile(text, file);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError(`${file}: expected a mapping of variables`);
  }
  return value as Record<string, unknown>;
}

function locate(text: string): Located[] {
  const doc = parseDocument(text, { version: '1.1', uniqueKeys: false });
  if (doc.contents === null) return [];
  if (!isMap(doc.contents) || doc.contents.flow) throw new InputError('vars.yml: expected a block mapping of variables at the top level');
  return doc.contents.items.map((pair: Pair) => {
    const key = pair.key as Node;
    const value = pair.value as Node | null;
    const [start, keyEnd] = key.range!;
    let end = value?.range ? value.range[1] : keyEnd;
    while (end > keyEnd && /\s/.test(text[end - 1]!)) end--;
    return { key: String((key as { value?: unknown }).value), start, end: Math.max(end, keyEnd + 1), keyEnd };
  });
}

const PLAIN = /^[A-Za-z0-9_./@][A-Za-z0-9_./@-]*$/;

/** A value as YAML text: strings are single-quoted unless plainly safe, lists in flow style. */
export function renderValue(value: VarValue): string {
  if (typeof value === 'boolean' || typeof value === 'number') return String(value);
  if (Array.isArray(value)) return `[${value.map((v) => renderValue(v)).join(', ')}]`;
  const text = value as string;
  // Plain only when YAML 1.1 reads it back as the same string (not yes/no, a number, a date…).
  if (PLAIN.test(text) && parse(text, { version: '1.1' }) === text) return text;
  return `'${text.replace(/'/g, "''")}'`;
}

function lineStart(text: string, at: number): number {
  return text.lastIndexOf('\n', at - 1) + 1;
}

function lineEnd(text: string, at: number): number {
  const end = text.indexOf('\n', at);
  return end === -1 ? text.length : end + 1;
}

/** Sets a variable: its last occurrence is rewritten in place, or a line is appended. */
export function setVar(text: string, key: string, value: VarValue): string {
  const found = locate(text)
    .filter((l) => l.key === key)
    .at(-1);
  const line = `${key}: ${renderValue(value)}`;
  if (!found) return `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${line}\n`;
  return text.slice(0, found.start) + line + text.slice(found.end);
}

/**
 * Removes every occurrence of a variable (its whole lines). With a note, a comment line
 * `# <key>: <note>` takes its place, so the reader sees what happened there.
 */
export function removeVar(text: string, key: string, note?: string): string {
  let out = text;
  for (const found of locate(text)
    .filter((l) => l.key === key)
    .reverse()) {
    const from = lineStart(out, found.start);
    const to = lineEnd(out, found.end);
    out = out.slice(0, from) + (note ? `# ${key}: ${note}\n` : '') + out.slice(to);
  }
  return out;
}

/** Renames every occurrence of a variable, keeping its value and comments. */
export function renameVar(text: string, from: string, to: string): string {
  let out = text;
  for (const found of locate(text)
    .filter((l) => l.key === from)
    .reverse()) {
    out = out.slice(0, found.start) + to + out.slice(found.keyEnd);
  }
  return out;
}
