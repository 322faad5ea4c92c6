// Ansible INI inventories (inventory/hosts, docs/playbook.md "Inventory"): just enough of Ansible's ini plugin to
// find the [matrix_servers] hosts and their connection settings.
// Supported: [group], [group:vars], [group:children], `host key=value …`, `host:port`, quoting,
// `#`/`;` comment lines and ` # …` trailing comments. Not supported: host ranges (web[01:09]).

import { InputError } from '../core/errors.ts';
import type { InventoryHost } from './types.ts';

export const MATRIX_GROUP = 'matrix_servers';

export interface InventoryGroup {
  hosts: string[];
  children: string[];
  vars: Record<string, string>;
}

export interface ParsedInventory {
  groups: Map<string, InventoryGroup>;
  /** Variables written on host lines, merged over every line naming the host. */
  hostVars: Map<string, Record<string, string>>;
}

/** Splits a line like a POSIX shell: quotes group, backslash escapes, unquoted `#` starts a comment. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if (c === '#' && !inWord) {
      break;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new Error('unclosed quote');
  if (inWord) words.push(word);
  return words;
}

function wordsOf(text: string, lineNo: number): string[] {
  try {
    return splitWords(text);
  } catch (e) {
    throw new InputError(`line ${lineNo}: ${(e as Error).message}`);
  }
}

function group(inv: ParsedInventory, name: string): InventoryGroup {
  let g = inv.groups.get(name);
  if (!g) {
    g = { hosts: [], children: [], vars: {} };
    inv.groups.set(name, g);
  }
  return g;
}

function keyValue(word: string, lineNo: number): [string, string] {
  const eq = word.indexOf('=');
  if (eq <= 0) throw new InputError(`line ${lineNo}: expected key=value, found "${word}"`);
  return [word.slice(0, eq), word.slice(eq + 1)];
}

/** `host:2222` → name and port (IPv6 literals and bare names are left alone). */
function splitHostPort(pattern: string): { name: string; port?: string } {
  const m = /^([^:\s]+):(\d{1,5})$/.exec(pattern);
  return m ? { name: m[1]!, port: m[2]! } : { name: pattern };
}

/** Parses the text of an INI inventory. Throws InputError("line N: …") on malformed lines. */
export function parseInventoryIni(text: string): ParsedInventory {
  const inv: ParsedInventory = { groups: new Map(), hostVars: new Map() };
  let section = 'ungrouped';
  let kind: 'hosts' | 'vars' | 'children' = 'hosts';
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((rawLine, index) => {
    const lineNo = index + 1;
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const header = /^\[([^\]:]+)(?::(vars|children))?\]\s*(?:[#;].*)?$/.exec(line);
    if (header) {
      section = header[1]!.trim();
      kind = (header[2] as 'vars' | 'children' | undefined) ?? 'hosts';
      group(inv, section);
      return;
    }
    if (line.startsWith('[')) throw new InputError(`line ${lineNo}: malformed section header ${line}`);
    const words = wordsOf(line, lineNo);
    if (words.length === 0) return;
    const g = group(inv, section);
    if (kind === 'vars') {
      // Ansible allows `key = value` in :vars sections.
      const joined = /^\s*([^=\s]+)\s*=\s*(.*)$/.exec(line);
      if (!joined) throw new InputError(`line ${lineNo}: expected key=value in [${section}:vars]`);
      const value = wordsOf(joined[2]!, lineNo).join(' ');
      g.vars[joined[1]!] = value;
      return;
    }
    if (kind === 'children') {
      g.children.push(words[0]!);
      return;
    }
    const { name, port } = splitHostPort(words[0]!);
    if (!g.hosts.includes(name)) g.hosts.push(name);
    const vars = inv.hostVars.get(name) ?? {};
    if (port) vars['ansible_port'] = port;
    for (const word of words.slice(1)) {
      const [key, value] = keyValue(word, lineNo);
      vars[key] = value;
    }
    inv.hostVars.set(name, vars);
  });
  return inv;
}

/** Hosts of a group including its children's, each with the variables that apply to it. */
export function groupHosts(inv: ParsedInventory, name: string): Array<{ name: string; vars: Record<string, string> }> {
  const out = new Map<string, Record<string, string>>();
  const allVars = inv.groups.get('all')?.vars ?? {};
  const visit = (groupName: string, inherited: Record<string, string>, seen: Set<string>): void => {
    const g = inv.groups.get(groupName);
    if (!g || seen.has(groupName)) return;
    seen.add(groupName);
    const vars = { ...inherited, ...g.vars };
    for (const host of g.hosts) {
      out.set(host, { ...(out.get(host) ?? {}), ...vars, ...(inv.hostVars.get(host) ?? {}) });
    }
    for (const child of g.children) visit(child, vars, new Set(seen));
  };
  visit(name, allVars, new Set());
  return [...out].map(([host, vars]) => ({ name: host, vars }));
}

const ANSIBLE_TRUE = new Set(['true', 'yes', 'on', '1', 'y', 't']);

function port(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,5}$/.test(value.trim())) return undefined;
  const n = Number(value);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** Maps Ansible connection variables onto InventoryHost (ansible_user wins over ansible_ssh_user). */
export function toInventoryHost(name: string, vars: Readonly<Record<string, string>>): InventoryHost {
  const host: InventoryHost = { name };
  const address = vars['ansible_host'] ?? vars['ansible_ssh_host'];
  const user = vars['ansible_user'] ?? vars['ansible_ssh_user'];
  const sshPort = port(vars['ansible_port'] ?? vars['ansible_ssh_port']);
  const key = vars['ansible_ssh_private_key_file'] ?? vars['ansible_private_key_file'];
  if (address) host.address = address;
  if (user) host.sshUser = user;
  if (sshPort !== undefined) host.sshPort = sshPort;
  if (key) host.sshKey = key;
  if (vars['ansible_become'] !== undefined) host.become = ANSIBLE_TRUE.has(vars['ansible_become'].trim().toLowerCase());
  if (vars['ansible_connection']) host.connection = vars['ansible_connection'];
  return host;
}

/** The hosts of [matrix_servers] (or another group) in an INI inventory's text. */
export function inventoryHosts(text: string, groupName: string = MATRIX_GROUP): InventoryHost[] {
  return groupHosts(parseInventoryIni(text), groupName).map((h) => toInventoryHost(h.name, h.vars));
}
