// The finding catalogue's machinery: every finding the project can emit is declared once, with
// its id (or id pattern), area, pass and failure titles and what it means; rules emit through
// these declarations (docs/architecture.md "A finding"). docs/findings.md is generated from the
// declarations in checks/findings/.
import { appendFileSync } from 'node:fs';
import { idPart, type Finding, type Status } from './finding.ts';

export interface FindingSpec {
  /** Dotted and stable; `{name}` parts are filled in when emitted (with idPart). */
  readonly id: string;
  readonly area: string;
  /** The title of a pass, and of info and skip findings; `{name}` parts as in the id, unaltered. */
  readonly pass: string;
  /** The title of a warning or a failure. */
  readonly fail: string;
  /** What the finding means and why it matters, for docs/findings.md. */
  readonly about: string;
}

export type FindingDeclaration = Omit<FindingSpec, 'area'>;

/** Declares an area's findings: `declareFindings('dns', { serverAddress: { id: 'dns.server.address', … } })`. */
export function declareFindings<const K extends string>(area: string, declarations: Record<K, FindingDeclaration>): Record<K, FindingSpec> {
  const specs = {} as Record<K, FindingSpec>;
  for (const key of Object.keys(declarations) as K[]) {
    const spec = { ...declarations[key], area };
    if (!spec.id.startsWith(`${area}.`)) throw new Error(`finding ${spec.id} is declared in area ${area}`);
    specs[key] = spec;
  }
  return specs;
}

export interface Emitted {
  detail?: string;
  fix?: string;
  evidence?: Record<string, unknown>;
}

/**
 * A finding of a declared kind. `subject` fills the `{name}` parts: the id gets idPart(value),
 * the titles the value as it is.
 */
export function emit(spec: FindingSpec, status: Status, emitted: Emitted = {}, subject: Record<string, string | number> = {}): Finding {
  const id = fill(spec.id, subject, (value) => idPart(value));
  const title = fill(status === 'warn' || status === 'fail' ? spec.fail : spec.pass, subject, (value) => value);
  record(id);
  return {
    id,
    status,
    title,
    ...(emitted.detail !== undefined ? { detail: emitted.detail } : {}),
    ...(emitted.fix !== undefined ? { fix: emitted.fix } : {}),
    ...(emitted.evidence !== undefined ? { evidence: emitted.evidence } : {}),
  };
}

function fill(template: string, subject: Record<string, string | number>, form: (value: string) => string): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = subject[name];
    if (value === undefined) throw new Error(`finding template "${template}" needs {${name}}`);
    return form(String(value));
  });
}

/** The pattern an id of this declaration matches (`{name}` parts stand for one id part or more). */
export function idPattern(spec: Pick<FindingSpec, 'id'>): RegExp {
  const parts = spec.id.split(/\{\w+\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('[a-z0-9_-]+')}$`);
}

/** The declaration an emitted id belongs to, if any. */
export function specOf(id: string, specs: readonly FindingSpec[]): FindingSpec | undefined {
  return specs.find((spec) => spec.id === id) ?? specs.find((spec) => spec.id.includes('{') && idPattern(spec).test(id));
}

/** Where a declaration is explained in docs/findings.md. */
export function docsAnchor(spec: Pick<FindingSpec, 'id'>): string {
  return spec.id
    .toLowerCase()
    .replace(/[{}]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/**
 * The test suite's recorder (test/run.ts): with FINDINGS_RECORD set, every emitted id and every
 * id that reaches a report is appended to that file, from this process and the commands it runs.
 */
export function record(id: string): void {
  const file = process.env.FINDINGS_RECORD;
  if (file) appendFileSync(file, `${id}\n`);
}

/** Records the ids of findings a command prints, however they were made. */
export function recordFindings(findings: readonly Pick<Finding, 'id'>[]): void {
  const file = process.env.FINDINGS_RECORD;
  if (file && findings.length) appendFileSync(file, findings.map((f) => `${f.id}\n`).join(''));
}
