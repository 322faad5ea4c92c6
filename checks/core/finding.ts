// A finding is what a rule concludes from gathered facts (see docs/architecture.md "A finding").
// Ids are dotted and stable: area.subject.aspect. Every warn and fail carries a fix.

export type Status = 'pass' | 'warn' | 'fail' | 'skip' | 'info';

export interface Finding {
  id: string;
  status: Status;
  title: string;
  detail?: string;
  fix?: string;
  evidence?: Record<string, unknown>;
  /** The id of the finding that causes this one (its root cause), when it has one. */
  causedBy?: string;
}

export const STATUS_ORDER: readonly Status[] = ['fail', 'warn', 'skip', 'info', 'pass'];

/** Ids are dotted, so a subject with dots or other signs (a host, an address) is written with underscores. */
export function idPart(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

export function worstStatus(findings: readonly Finding[]): Status {
  for (const status of STATUS_ORDER) {
    if (findings.some((f) => f.status === status)) return status;
  }
  return 'pass';
}
