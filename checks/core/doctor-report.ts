// doctor's renderings: one table grouped by area (failures first in each), the fleet summary,
// and Prometheus text for a node_exporter textfile collector.
import { TextTable } from './text-table.ts';
import { STATUS_ORDER, worstStatus, type Finding, type Status } from './finding.ts';
import {
  causeGroups,
  causeRows,
  findingRow,
  findingsTable,
  ROOT_HEADING,
  renderOptions,
  statusLabel,
  summaryLine,
  WIDTH,
  type Report,
} from './report.ts';

/** Counted on the area's line unless --verbose. */
const QUIET: readonly Status[] = ['pass', 'info'];

const byStatus = (a: Finding, b: Finding) => STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status);

export function renderDoctorTable(report: Report, areas: Record<string, { findings: Finding[] }>, colour = false): string {
  const table = findingsTable();
  // Root causes first, across areas, each with its consequences under it and one fix.
  const groups = causeGroups(report.findings);
  const shown = new Set(groups.flatMap((g) => [g.root.id, ...g.consequences.map((c) => c.id)]));
  if (groups.length) table.push([{ colSpan: 3, content: ROOT_HEADING }]);
  table.push(...causeRows(groups, colour));
  // Then each area: its counts, and what was not shown above (passes only with --verbose).
  const ordered = Object.entries(areas).sort(
    ([, a], [, b]) => STATUS_ORDER.indexOf(worstStatus(a.findings)) - STATUS_ORDER.indexOf(worstStatus(b.findings)),
  );
  for (const [area, { findings }] of ordered) {
    const counts = STATUS_ORDER.map((s) => [s, findings.filter((f) => f.status === s).length] as const).filter(([, n]) => n > 0);
    const rest = findings.filter((f) => !shown.has(f.id) && (renderOptions.verbose || !QUIET.includes(f.status)));
    const passesHidden = !renderOptions.verbose && findings.some((f) => QUIET.includes(f.status));
    table.push([
      {
        colSpan: 3,
        content: `${area}: ${counts.map(([s, n]) => `${n} ${s}`).join(', ')}${passesHidden ? ' (--verbose lists passes and info)' : ''}`,
      },
    ]);
    for (const f of [...rest].sort(byStatus)) table.push(findingRow(f, colour));
  }
  return `doctor for ${report.serverName}\n${table.toString()}\n${summaryLine(report)}\n`;
}

/** One row a server: counts and the worst finding, so a hundred servers fit on a screen. */
export function renderFleetTable(reports: Report[], colour = false): string {
  const table = new TextTable({
    head: ['', 'server', 'pass', 'warn', 'fail', 'worst finding'],
    colWidths: [6, 28, 6, 6, 6, WIDTH - 6 - 28 - 18 - 7],
    compact: true,
  });
  for (const report of [...reports].sort((a, b) => b.exitCode - a.exitCode || a.serverName.localeCompare(b.serverName))) {
    const worst = [...report.findings].sort(byStatus)[0];
    const status: Status = worst && (worst.status === 'fail' || worst.status === 'warn') ? worst.status : 'pass';
    const note = status === 'pass' ? '' : `${worst.title} (${worst.id})`;
    table.push([statusLabel(status, colour), report.serverName, report.summary.pass, report.summary.warn, report.summary.fail, note]);
  }
  const failing = reports.filter((r) => r.exitCode === 2).length;
  const warning = reports.filter((r) => r.exitCode === 1).length;
  return `doctor for ${reports.length} servers\n${table.toString()}\n${failing} failing, ${warning} with warnings, ${reports.length - failing - warning} passing\n`;
}

const STATUS_VALUE: Record<Status, number> = { pass: 0, info: 0, skip: 0, warn: 1, fail: 2 };

function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Prometheus text exposition format 0.0.4: gauges per status and per finding, and the duration. */
export function renderPrometheus(reports: Report[]): string {
  const lines = [
    '# HELP matrix_doctor_findings Findings of the last doctor run, by status.',
    '# TYPE matrix_doctor_findings gauge',
    ...reports.flatMap((r) =>
      STATUS_ORDER.map((s) => `matrix_doctor_findings{server="${label(r.serverName)}",status="${s}"} ${r.summary[s]}`),
    ),
    '# HELP matrix_doctor_check_status Status of each check: 0 pass (or info, skip), 1 warning, 2 failure.',
    '# TYPE matrix_doctor_check_status gauge',
    ...reports.flatMap((r) =>
      r.findings.map(
        (f) =>
          `matrix_doctor_check_status{server="${label(r.serverName)}",id="${label(f.id)}",status="${f.status}"${f.causedBy ? `,caused_by="${label(f.causedBy)}"` : ''}} ${STATUS_VALUE[f.status]}`,
      ),
    ),
    "# HELP matrix_doctor_exit_code The run's exit code: 0 pass, 1 warning, 2 failure.",
    '# TYPE matrix_doctor_exit_code gauge',
    ...reports.map((r) => `matrix_doctor_exit_code{server="${label(r.serverName)}"} ${r.exitCode}`),
    '# HELP matrix_doctor_duration_seconds How long the run took.',
    '# TYPE matrix_doctor_duration_seconds gauge',
    ...reports.map((r) => `matrix_doctor_duration_seconds{server="${label(r.serverName)}"} ${(r.durationMs / 1000).toFixed(3)}`),
  ];
  return `${lines.join('\n')}\n`;
}
