// The referee for the project's reading of MDAD's validation (checks/plan/jinja.ts, mdad.ts):
// the committed checks of checks/plan/mdad-rules.json judged by the lab's real ansible-core
// (test/lab/servers/mdad-referee.py: Ansible's own Templar, loops and conditionals), with MDAD's defaults
// under each configuration's variables, the precedence MDAD has (role defaults and group_vars
// under the user's vars.yml).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { MdadTables } from '../../../checks/plan/mdad.ts';
import { venvBin } from './provision.ts';

export interface RefereeVerdict {
  /** "check index#item index" (item index -1 for a check without a loop) that Ansible refused. */
  fired: Set<string>;
  /** Checks Ansible could not evaluate (an undefined name, a filter it refused), with its error. */
  errors: Map<number, string>;
}

export async function ansibleVerdicts(
  tables: MdadTables,
  configurations: Readonly<Record<string, Record<string, unknown>>>,
): Promise<Map<string, RefereeVerdict>> {
  const dir = mkdtempSync(join(tmpdir(), 'mdad-referee-'));
  try {
    const file = (name: string, value: unknown): string => {
      const path = join(dir, name);
      writeFileSync(path, stringify(value, { lineWidth: 0 }));
      return path;
    };
    const spec = {
      defaults: file('defaults.yml', tables.defaults),
      checks: file('checks.yml', tables.checks),
      configs: Object.fromEntries(Object.entries(configurations).map(([name, vars], i) => [name, file(`host${i}.yml`, vars)])),
    };
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = execFile(
        venvBin('python'),
        [join(import.meta.dirname, 'mdad-referee.py')],
        { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ANSIBLE_NOCOLOR: '1' } },
        (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
      );
      child.stdin!.end(JSON.stringify(spec));
    });
    const parsed = JSON.parse(stdout) as Record<string, { fired: string[]; errors: Array<[number, string]> }>;
    return new Map(Object.entries(parsed).map(([name, v]) => [name, { fired: new Set(v.fired), errors: new Map(v.errors) }]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
