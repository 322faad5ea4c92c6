// Reading MDAD's validate_config task files into the tables' shape (mdad.ts): the fail tasks
// with the conditions around them, then the renamed names, the refused families and the checks
// that judge values. Shared by tools/mdad-rules.ts (a whole checkout) and update.ts (the
// migration role of the playbook version it is about to pull).
import { namesIn } from './jinja.ts';
import type { MdadCheck, MdadPrefix, MdadRename } from './mdad.ts';

/** A fail task as the tables keep a check, with its message (read for family renames only). */
export interface FailTask extends MdadCheck {
  message: string;
}

export interface TaskWalk {
  tasks: FailTask[];
  /** Facts a validate file sets before failing on them (the prefix families read through one). */
  facts: Map<string, string>;
}

/** Data without the "__line__" marks of tools/mdad-yaml.py. */
export function unmarked(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unmarked);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => k !== '__line__')
        .map(([k, v]) => [k, unmarked(v)]),
    );
  }
  return value;
}

const asList = (value: unknown): unknown[] => (value === undefined || value === null ? [] : Array.isArray(value) ? value : [value]);
/** A `when` (one condition or a list) as the list of its conditions. */
export const conditions = (when: unknown): string[] => asList(when).map(String);
const task = (marked: object): Record<string, unknown> => marked as Record<string, unknown>;

/**
 * The fail tasks of one parsed task file (a list of tasks, blocks nested), each with the
 * conditions around it; `include` is called for each static include with the conditions it runs
 * under. A task's line is its "__line__" mark when the reader added one (tools/mdad-yaml.py).
 */
export function walkTasks(
  list: unknown,
  file: string,
  outer: readonly string[],
  walk: TaskWalk,
  include?: (path: string, conditions: string[]) => void,
): void {
  if (!Array.isArray(list)) return;
  for (const marked of list) {
    if (!marked || typeof marked !== 'object') continue;
    const t = task(marked);
    const here = [...outer, ...conditions(t['when'])];
    for (const key of ['block', 'rescue', 'always']) walkTasks(t[key], file, here, walk, include);
    const included = t['ansible.builtin.include_tasks'] ?? t['ansible.builtin.import_tasks'] ?? t['include_tasks'] ?? t['import_tasks'];
    const includePath = typeof included === 'string' ? included : (included as { file?: unknown } | undefined)?.file;
    if (include && typeof includePath === 'string' && t['loop'] === undefined && t['with_items'] === undefined) include(includePath, here);
    const setFact = t['ansible.builtin.set_fact'] ?? t['set_fact'];
    if (setFact && typeof setFact === 'object') {
      for (const [name, value] of Object.entries(setFact)) if (typeof value === 'string') walk.facts.set(name, value);
    }
    const action = t['ansible.builtin.fail'] ?? t['fail'];
    if (action === undefined) continue;
    const items = unmarked(t['with_items'] ?? t['loop']);
    const loopVar = (t['loop_control'] as { loop_var?: unknown } | undefined)?.loop_var;
    walk.tasks.push({
      file,
      line: typeof t['__line__'] === 'number' ? t['__line__'] : 0,
      when: here,
      outer: outer.length,
      ...(items !== undefined ? { items } : {}),
      ...(typeof loopVar === 'string' ? { loopVar } : {}),
      message: String((action as { msg?: unknown } | null)?.msg ?? ''),
    });
  }
}

const VARIABLE = /^[a-z_][a-z0-9_]*$/;
const NAME_IN_TEXT = /\b[a-z][a-zA-Z0-9]*(?:_[a-zA-Z0-9]+)+\b/g;

export interface ClassifiedTasks {
  renames: MdadRename[];
  prefixes: MdadPrefix[];
  checks: MdadCheck[];
}

/** The renamed names and refused families among the tasks, and the other checks. */
export function classifyTasks(walk: TaskWalk): ClassifiedTasks {
  const out: ClassifiedTasks = { renames: [], prefixes: [], checks: [] };
  for (const t of walk.tasks) {
    const own = t.when.join(' and ');
    const joined = [own, ...namesIn(own).flatMap((n) => walk.facts.get(n) ?? [])].join(' and ');
    const items = Array.isArray(t.items) ? t.items : undefined;
    if (/varnames/.test(joined) && /item\.old/.test(joined) && items) {
      for (const entry of items as Array<{ old?: unknown; new?: unknown } | null>) {
        if (!entry || typeof entry.old !== 'string') continue;
        const target = String(entry.new ?? '').trim();
        if (VARIABLE.test(target)) out.renames.push({ old: entry.old, to: target, file: t.file });
        else out.renames.push({ old: entry.old, to: '', see: [...new Set(target.match(NAME_IN_TEXT) ?? [])], file: t.file });
      }
      continue;
    }
    const family = /varnames['"]?\s*,\s*'(\^[^']+)'/.exec(joined);
    if (family && !items) {
      // The message names a whole-family rename as (`old_*` -> `new_*`); that pair is a fact, kept.
      const rename = /`([a-z0-9_]+)\*?` -> `([a-z0-9_]+)\*?`/.exec(t.message);
      const pattern = family[1]!;
      out.prefixes.push({
        pattern,
        ...(rename && pattern.startsWith(`^${rename[1]}`) ? { renameFrom: rename[1]!, renameTo: rename[2]! } : {}),
        file: t.file,
        line: t.line,
      });
      continue;
    }
    out.checks.push({
      file: t.file,
      line: t.line,
      when: t.when,
      outer: t.outer,
      ...(t.items !== undefined ? { items: t.items } : {}),
      ...(t.loopVar ? { loopVar: t.loopVar } : {}),
    });
  }
  return out;
}
