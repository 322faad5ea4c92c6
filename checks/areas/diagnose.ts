// One server, every chosen area at once: the areas run concurrently and share their probes
// (each DNS answer and HTTP response is gathered once per run); a crash or hang in one area
// becomes a finding and never stops the others.
import { emit } from '../core/catalogue.ts';
import type { Finding } from '../core/finding.ts';
import { buildReport, type Report } from '../core/report.ts';
import { DOCTOR } from '../findings/doctor.ts';
import { withRunCache } from '../probes/run-cache.ts';
import { type AnyArea, type RunSettings, runArea, type ServerTarget } from './area.ts';
import { AREAS } from './registry.ts';

export interface ServerResult {
  report: Report;
  areas: Record<string, { findings: Finding[]; durationMs: number }>;
}

/**
 * The areas settings.areas names (looked up in `registry`), concurrently, each bounded by the
 * timeout plus a margin; a throw or hang is a finding.
 */
export async function diagnose(target: ServerTarget, settings: RunSettings, registry: readonly AnyArea[] = AREAS): Promise<ServerResult> {
  const started = new Date();
  if (target.unreadable) {
    const findings = [
      emit(DOCTOR.configUnreadable, 'fail', {
        detail: target.unreadable,
        fix: 'Correct the inventory entry, its host_vars/…/vars.yml or the list line, then run again',
      }),
    ];
    return { report: buildReport('doctor', target.name.given, started, findings), areas: { config: { findings, durationMs: 0 } } };
  }
  const areaBudget = settings.timeoutMs * 2 + 1000;
  const { result, hits, misses } = await withRunCache(() =>
    Promise.all(
      settings.areas.map(async (area) => {
        const t0 = performance.now();
        const findings = await guarded(
          area,
          async () => (await runArea(registry.find((a) => a.id === area)!, target, settings)).findings,
          areaBudget,
        );
        return [area, { findings, durationMs: Math.round(performance.now() - t0) }] as const;
      }),
    ),
  );
  const ids = new Set(result.flatMap(([, r]) => r.findings.map((f) => f.id)));
  const areas = Object.fromEntries(result.map(([area, r]) => [area, { ...r, findings: withoutRepeats(r.findings, ids) }]));
  const findings = Object.values(areas).flatMap((r) => r.findings);
  const report = buildReport('doctor', target.name.given, started, findings, {
    areas: Object.fromEntries(result.map(([a, r]) => [a, { durationMs: r.durationMs, findings: r.findings.length }])),
    // How many probes the areas shared instead of repeating.
    probes: { sent: misses, shared: hits },
  });
  return { report, areas };
}

// Judgements two areas make alike: when both ran, the report keeps the first and drops the second.
const SAME_JUDGEMENT: Record<string, string> = { 'turn.rtc.foci': 'wellknown.client.rtc_foci' };

function withoutRepeats(findings: Finding[], ids: Set<string>): Finding[] {
  return findings.filter((f) => !(SAME_JUDGEMENT[f.id] && ids.has(SAME_JUDGEMENT[f.id])));
}

async function guarded(area: string, work: () => Promise<Finding[]>, budgetMs: number): Promise<Finding[]> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<Finding[]>((resolve) => {
    timer = setTimeout(
      () =>
        resolve([
          emit(
            DOCTOR.areaUnfinished,
            'skip',
            { detail: `Did not finish within ${budgetMs} ms and was abandoned; the other areas are unaffected` },
            { area },
          ),
        ]),
      budgetMs,
    );
  });
  try {
    return await Promise.race([work(), hang]);
  } catch (error) {
    // A bug in a check must not hide the other areas' results: report it as a finding.
    return [emit(DOCTOR.areaCrashed, 'skip', { detail: `Could not run: ${(error as Error).message}` }, { area })];
  } finally {
    clearTimeout(timer);
  }
}
