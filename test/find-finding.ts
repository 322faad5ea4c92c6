// Tests look findings up by id; a missing one fails with the ids that are there.
import type { Finding } from '../checks/core/finding.ts';

export function findingById(findings: readonly Finding[], id: string): Finding {
  const found = findings.find((f) => f.id === id);
  if (!found) throw new Error(`no finding ${id} in ${findings.map((f) => f.id).join(', ')}`);
  return found;
}
