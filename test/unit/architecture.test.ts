// The layers of docs/architecture.md, kept by reading every import of the project's sources:
// imports point one way (areas → probes and rules → facts and core; stages → areas and plan),
// nothing imports an entry point, and no module reaches itself through its imports.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const SOURCES = ['checks', 'scripts', 'sandbox', 'test', 'tools'];

function tsFiles(dir: string): string[] {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(join(ROOT, dir), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) =>
    e.isDirectory() ? (e.name === 'fixtures' ? [] : tsFiles(join(dir, e.name))) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every relative import and re-export of a file, as project paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s+'([^']+)'|(?:^|\n)\s*import\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g),
  ].map((m) => m[1] ?? m[2] ?? m[3]);
  return specifiers.filter((s) => s.startsWith('.')).map((s) => normalize(join(dirname(file), s)));
}

const files = SOURCES.flatMap(tsFiles);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

/** The layer a file belongs to. */
function layer(file: string): string {
  // The lab's servers (test/lab/servers/) and the benchmark (tools/bench/) are layers of their own.
  if (file.startsWith('test/lab/servers/')) return 'lab';
  if (file.startsWith('tools/bench/')) return 'bench';
  const parts = file.split('/');
  if (parts[0] === 'checks') return parts.length === 2 ? 'check-entry' : `checks/${parts[1]}`;
  if (parts[0] === 'scripts') return parts.length === 2 ? 'stage-entry' : 'scripts/lib';
  return parts[0];
}

// What each layer may import (besides itself). Entry points are imported by nobody.
const ALLOWED: Record<string, string[]> = {
  'checks/core': [],
  'checks/facts': ['checks/core', 'checks/plan'],
  'checks/plan': ['checks/core'],
  'checks/findings': ['checks/core'],
  'checks/rules': ['checks/core', 'checks/facts', 'checks/plan', 'checks/findings'],
  'checks/probes': ['checks/core', 'checks/facts', 'checks/plan'],
  'checks/areas': ['checks/core', 'checks/facts', 'checks/plan', 'checks/findings', 'checks/rules', 'checks/probes'],
  'check-entry': ['checks/core', 'checks/facts', 'checks/plan', 'checks/findings', 'checks/areas'],
  // scripts/lib reaches checks/probes for one thing: the Synapse API calls send through credentialed.ts.
  'scripts/lib': ['checks/core', 'checks/facts', 'checks/plan', 'checks/findings', 'checks/areas', 'checks/rules', 'checks/probes'],
  'stage-entry': ['checks/core', 'checks/facts', 'checks/plan', 'checks/findings', 'checks/areas', 'scripts/lib'],
  lab: ['checks/core', 'checks/facts', 'checks/plan', 'checks/probes', 'sandbox'],
  sandbox: ['checks/core', 'checks/facts', 'checks/plan', 'checks/findings', 'checks/areas', 'checks/probes'],
  bench: [
    'checks/core',
    'checks/facts',
    'checks/plan',
    'checks/findings',
    'checks/areas',
    'checks/probes',
    'checks/rules',
    'lab',
    'sandbox',
    'test',
    'tools',
  ],
  tools: ['checks/core', 'checks/findings', 'checks/plan'],
  test: [
    'checks/core',
    'checks/facts',
    'checks/plan',
    'checks/findings',
    'checks/areas',
    'checks/probes',
    'checks/rules',
    'scripts/lib',
    'lab',
    'sandbox',
    'bench',
    'tools',
  ],
};

describe('architecture', () => {
  it('finds the sources', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(files).toContain('checks/doctor.ts');
  });

  it('imports point one way between layers', () => {
    const wrong = [...graph].flatMap(([file, imports]) =>
      imports
        .filter((target) => layer(target) !== layer(file) && !(ALLOWED[layer(file)] ?? []).includes(layer(target)))
        .map((target) => `${file} → ${target}`),
    );
    expect(wrong).toEqual([]);
  });

  it('nothing imports an entry point (checks/<area>.ts, checks/doctor.ts, scripts/<stage>.ts)', () => {
    const wrong = [...graph].flatMap(([file, imports]) =>
      imports.filter((t) => ['check-entry', 'stage-entry'].includes(layer(t))).map((t) => `${file} → ${t}`),
    );
    expect(wrong).toEqual([]);
  });

  it('every relative import names a file that exists', () => {
    const missing = [...graph].flatMap(([file, imports]) =>
      imports.filter((t) => !graph.has(t) && SOURCES.includes(t.split('/')[0])).map((t) => `${file} → ${t}`),
    );
    expect(missing).toEqual([]);
  });

  it('has no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative('.', f)).join(' → '));
        return;
      }
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) if (graph.has(next)) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
