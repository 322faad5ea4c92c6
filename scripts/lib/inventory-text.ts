// Editing inventory/hosts as text: the host's line under [matrix_servers] is added or its
// settings updated in place; every other line (comments, other hosts, other groups) stays.
// Variable names follow MDAD's examples/hosts and the guide (docs/playbook.md "Inventory").
import { MATRIX_GROUP, splitWords } from '../../checks/plan/inventory.ts';

export interface HostSettings {
  /** ansible_host: IP or DNS name used for SSH. */
  address?: string;
  sshUser?: string;
  sshPort?: number;
  sshKey?: string;
  /** The playbook runs on the server itself (ansible_connection=local). */
  local?: boolean;
  /** ansible_become=true ansible_become_user=root, for a login other than root. */
  become?: boolean;
}

function quoteValue(value: string): string {
  return /^[^\s"'#\\]+$/.test(value) ? value : `"${value.replace(/(["\\])/g, '\\$1')}"`;
}

/** Sets `name` in the list of key=value pairs, or the first of `aliases` already there. */
function put(pairs: Array<[string, string]>, value: string, name: string, ...aliases: string[]): void {
  const existing = pairs.find(([key]) => key === name || aliases.includes(key));
  if (existing) existing[1] = value;
  else pairs.push([name, value]);
}

function applySettings(pairs: Array<[string, string]>, s: HostSettings): void {
  if (s.local) put(pairs, 'local', 'ansible_connection');
  if (s.address !== undefined) {
    put(pairs, s.address, 'ansible_host', 'ansible_ssh_host');
    if (!s.local) {
      const index = pairs.findIndex(([key, value]) => key === 'ansible_connection' && value === 'local');
      if (index >= 0) pairs.splice(index, 1);
    }
  }
  if (s.sshUser !== undefined) put(pairs, s.sshUser, 'ansible_ssh_user', 'ansible_user');
  if (s.sshPort !== undefined) put(pairs, String(s.sshPort), 'ansible_port', 'ansible_ssh_port');
  if (s.sshKey !== undefined) put(pairs, s.sshKey, 'ansible_ssh_private_key_file', 'ansible_private_key_file');
  if (s.become) {
    put(pairs, 'true', 'ansible_become');
    put(pairs, 'root', 'ansible_become_user');
  }
}

function renderLine(name: string, pairs: ReadonlyArray<[string, string]>): string {
  return [name, ...pairs.map(([key, value]) => `${key}=${quoteValue(value)}`)].join(' ');
}

function parsePairs(words: readonly string[]): Array<[string, string]> {
  return words.map((word): [string, string] => {
    const eq = word.indexOf('=');
    return eq > 0 ? [word.slice(0, eq), word.slice(eq + 1)] : [word, ''];
  });
}

/** Whether the inventory text has the host under [matrix_servers]. */
export function hasHost(text: string, name: string): boolean {
  return findHost(text.split('\n'), name).line >= 0;
}

function findHost(lines: readonly string[], name: string): { section: number; line: number; lastHost: number } {
  let section = -1;
  let line = -1;
  let lastHost = -1;
  let inGroup = false;
  lines.forEach((raw, index) => {
    const trimmed = raw.trim();
    const header = /^\[([^\]]+)\]/.exec(trimmed);
    if (header) {
      inGroup = header[1]!.trim() === MATRIX_GROUP;
      if (inGroup) section = index;
      return;
    }
    if (!inGroup || trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) return;
    lastHost = index;
    const first = splitWords(trimmed)[0]?.replace(/:\d+$/, '');
    if (first === name) line = index;
  });
  return { section, line, lastHost };
}

/** The inventory text with the host's line added or updated. */
export function upsertHost(text: string, name: string, settings: HostSettings): string {
  const lines = text.split('\n');
  const found = findHost(lines, name);
  if (found.line >= 0) {
    const words = splitWords(lines[found.line]!.trim());
    const pairs = parsePairs(words.slice(1));
    applySettings(pairs, settings);
    const updated = renderLine(words[0]!, pairs);
    // Keep the line as written when nothing changes (quoting, spacing, trailing comment).
    if (updated !== renderLine(words[0]!, parsePairs(words.slice(1)))) lines[found.line] = updated;
    return lines.join('\n');
  }
  const pairs: Array<[string, string]> = [];
  applySettings(pairs, settings);
  const line = renderLine(name, pairs);
  if (found.section < 0) return `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}[${MATRIX_GROUP}]\n${line}\n`;
  lines.splice(Math.max(found.section, found.lastHost) + 1, 0, line);
  return lines.join('\n');
}
