// One server, every chosen area at once: the areas run concurrently and share their probes
// (each DNS answer and HTTP response is gathered once per run); a crash or hang in one area
// becomes a finding and never stops the others.
import { emit } from '../core/catalogue.ts';
import type { Finding } from '../core/finding.ts';
import { buildReport, type Report } from '../core/report.ts';
import { DOCTOR } from '../findings/doctor.ts';
import { withRunCache } from '../probes/run-cache.ts';
import { linkCauses, settleAcrossAreas } from '../rules/causes.ts';
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
export async function diagnose(
  target: ServerTarget,
  runSettings: RunSettings,
  registry: readonly AnyArea[] = AREAS,
): Promise<ServerResult> {
  const started = new Date();
  // A server of a fleet or the exporter acts with its own tokens only.
  const settings = target.credentials ? { ...runSettings, ...target.credentials } : runSettings;
  if (target.unreadable) {
    const findings = [
      emit(DOCTOR.configUnreadable, 'fail', {
        detail: target.unreadable,
        fix: 'Correct the inventory entry, its host_vars/…/vars.yml or the list line, then run again',
      }),
    ];
    return { report: buildReport('doctor', target.name.given, started, findings), areas: { config: { findings, durationMs: 0 } } };
  }
  const { result, hits, misses } = await withRunCache(
    () =>
      Promise.all(
        settings.areas.map(async (id) => {
          const area = registry.find((a) => a.id === id)!;
          const t0 = performance.now();
          const budget = area.budgetMs?.(settings) ?? settings.timeoutMs * 2 + 1000;
          const findings = await guarded(id, async () => (await runArea(area, target, settings)).findings, budget);
          return [id, { findings, durationMs: Math.round(performance.now() - t0) }] as const;
        }),
      ),
    settings.guard,
    settings.privateNamesAllowed,
  );
  const ids = new Set(result.flatMap(([, r]) => r.findings.map((f) => f.id)));
  // Root causes are linked across areas once all are judged (a DNS record explains a TURN failure).
  const kept = result.map(([area, r]) => [area, { ...r, findings: withoutRepeats(r.findings, ids) }] as const);
  const linked = linkCauses(settleAcrossAreas(kept.flatMap(([, r]) => r.findings)));
  let at = 0;
  const areas = Object.fromEntries(kept.map(([area, r]) => [area, { ...r, findings: linked.slice(at, (at += r.findings.length)) }]));
  const findings = Object.values(areas).flatMap((r) => r.findings);
  const report = buildReport('doctor', target.name.given, started, findings, {
    areas: Object.fromEntries(result.map(([a, r]) => [a, { durationMs: r.durationMs, findings: r.findings.length }])),
    // How many probes the areas shared instead of repeating.
    probes: { sent: misses, shared: hits },
  });
  return { report, areas };
}

// Judgements two areas make alike: a finding matching the left is dropped when the run has one of
// the findings on the right, which make the same judgement or go further (the turn area's quick
// MatrixRTC probes against the rtc area's whole call path).
const SAME_JUDGEMENT: readonly [RegExp, readonly string[]][] = [
  [/^turn\.rtc\.foci$/, ['wellknown.client.rtc_foci', 'rtc.discovery.wellknown']],
  [/^turn\.rtc\.jwt-service(-\d+)?$/, ['rtc.jwt.get-token', 'rtc.jwt.sfu-get']],
  [/^turn\.rtc\.livekit-tcp$/, ['rtc.livekit.media-tcp']],
];

function withoutRepeats(findings: Finding[], ids: Set<string>): Finding[] {
  return findings.filter((f) => !SAME_JUDGEMENT.some(([dropped, kept]) => dropped.test(f.id) && kept.some((id) => ids.has(id))));
}

async function guarded(area: string, work: () => Promise<Finding[]>, budgetMs: number): Promise<Finding[]> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<Finding[]>((resolve) => {
    timer = setTimeout(
      () =>
        resolve([
          emit(
            DOCTOR.areaUnfinished,
            // Never a skip: a step that could not finish must not leave the exit code at 0.
            'fail',
            {
              detail: `Did not finish within ${budgetMs} ms and was abandoned, so nothing is known about it; the other areas are unaffected`,
              fix: `Run the area alone with a longer timeout to see which step hangs: npx tsx checks/${area}.ts <server-name> --timeout 15`,
            },
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
