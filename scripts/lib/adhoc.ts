// Ad-hoc Ansible (`ansible HOST -m MODULE -a ARGS`) with the project's inventory: how a stage
// runs one module on a server, with the inventory's ssh user, port, key and become settings
// (docs/architecture.md "Stages": remote work goes through Ansible).
import { INVENTORY } from './ansible.ts';
import { stream } from './commands.ts';
import type { Command } from './commands.ts';

export interface AdhocOptions {
  checkout: string;
  /** The inventory host (or pattern). */
  host: string;
  module: string;
  /** The module's arguments, passed as JSON: no key=value parsing of the text, nothing to quote twice. */
  args: Readonly<Record<string, unknown>>;
  become?: boolean;
  askBecomePass?: boolean;
}

export function adhocCommand(o: AdhocOptions): Command {
  const become = [...(o.become ? ['--become'] : []), ...(o.askBecomePass ? ['--ask-become-pass'] : [])];
  return {
    program: 'ansible',
    args: ['-i', INVENTORY, o.host, ...become, '-m', o.module, '-a', JSON.stringify(o.args)],
    cwd: o.checkout,
    env: { ANSIBLE_NOCOLOR: '1' },
  };
}

/** A shell script run on the host as root; `set -e` stops it at the first failing line. */
export function rootScript(o: Omit<AdhocOptions, 'module' | 'args' | 'become'>, script: string): Command {
  return adhocCommand({ ...o, module: 'ansible.builtin.shell', args: { cmd: `set -e\n${script}` }, become: true });
}

export interface AdhocRun {
  ok: boolean;
  code: number | null;
  /** Everything Ansible printed (stdout and stderr lines as they came). */
  output: string;
  /** Why the program could not be started, if so. */
  error?: string;
}

/** Runs an ad-hoc command and keeps its output; the terminal stays the program's (for -K). */
export async function runAdhoc(command: Command): Promise<AdhocRun> {
  const lines: string[] = [];
  const result = await stream(command, (line) => lines.push(line));
  const run: AdhocRun = { ok: result.code === 0, code: result.code, output: lines.join('\n') };
  if (result.error) run.error = result.error;
  return run;
}
