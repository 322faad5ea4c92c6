// Rendering findings as a table, JSON or Prometheus text, and choosing the exit code
// (monitoring-plugin convention, docs/architecture.md "Command-line contract": 0 pass, 1 warning, 2 failure, 3 could not run).
import { TextTable, type TableRow } from './text-table.ts';
import { STATUS_ORDER, type Finding, type Status } from './finding.ts';

export interface Report {
  check: string;
  serverName: string;
  startedAt: string;
  durationMs: number;
  summary: Record<Status, number>;
  exitCode: number;
  findings: Finding[];
  /** Check-specific extras (e.g. the zone snippet of the DNS check). */
  extra?: Record<string, unknown>;
}

export function exitCodeFor(findings: readonly Finding[]): number {
  if (findings.some((f) => f.status === 'fail')) return 2;
  if (findings.some((f) => f.status === 'warn')) return 1;
  return 0;
}

export function buildReport(
  check: string,
  serverName: string,
  started: Date,
  findings: Finding[],
  extra?: Record<string, unknown>,
): Report {
  const summary = { pass: 0, warn: 0, fail: 0, skip: 0, info: 0 };
  for (const f of findings) summary[f.status]++;
  const ordered = [...findings].sort((a, b) => STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status));
  return {
    check,
    serverName,
    startedAt: started.toISOString(),
    durationMs: Date.now() - started.getTime(),
    summary,
    exitCode: exitCodeFor(findings),
    findings: ordered,
    ...(extra ? { extra } : {}),
  };
}

export function renderJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

export const WIDTH = 100;
const TITLE_WIDTH = 42;
const RESULT_WIDTH = WIDTH - 6 - TITLE_WIDTH - 4;
const LABEL: Record<Status, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP', info: 'INFO' };
const COLOUR: Record<Status, string> = { pass: '32', warn: '33', fail: '31', skip: '90', info: '36' };

/** Colour only for a terminal that wants it (NO_COLOR, https://no-color.org). */
export function useColour(stream: NodeJS.WriteStream): boolean {
  return Boolean(stream.isTTY) && !('NO_COLOR' in process.env) && process.env.TERM !== 'dumb';
}

export function findingsTable(): TextTable {
  return new TextTable({ head: ['', 'check', 'result'], colWidths: [6, TITLE_WIDTH, RESULT_WIDTH], compact: false });
}

export function statusLabel(status: Status, colour: boolean): string {
  return colour ? `\u001b[${COLOUR[status]}m${LABEL[status]}\u001b[0m` : LABEL[status];
}

/** A finding as a table row: status, title with its id, detail with the fix. */
export function findingRow(f: Finding, colour: boolean): string[] {
  const lines = [f.detail ?? ''];
  if (f.fix && (f.status === 'warn' || f.status === 'fail')) lines.push(`fix: ${f.fix}`);
  return [
    statusLabel(f.status, colour),
    `${f.title}\n${breakLong(`(${f.id})`, TITLE_WIDTH - 2)}`,
    breakLongWords(lines.filter(Boolean).join('\n'), RESULT_WIDTH - 2),
  ];
}

/** How the terminal report is drawn: `verbose` lists every pass instead of counting them. */
export const renderOptions = { verbose: false };

/** Set by the entry points from --verbose. */
export function setVerbose(verbose: boolean | undefined): void {
  renderOptions.verbose = Boolean(verbose);
}

/** A finding's chain of causes followed to its end (itself when it has no cause). */
export function rootCauseOf(f: Finding, findings: readonly Finding[]): Finding {
  const byId = new Map(findings.map((g) => [g.id, g]));
  let current = f;
  const seen = new Set<string>();
  while (current.causedBy && !seen.has(current.id)) {
    seen.add(current.id);
    const next = byId.get(current.causedBy);
    if (!next) break;
    current = next;
  }
  return current;
}

export interface CauseGroup {
  root: Finding;
  consequences: Finding[];
  /** The worst status in the group: the root's own or a consequence's. */
  worst: Status;
}

/**
 * The failures and warnings to fix, root causes first: each finding without a cause that is a
 * failure or warning or explains another, with what follows from it. Worst groups first.
 */
export function causeGroups(findings: readonly Finding[]): CauseGroup[] {
  const groups = new Map<string, CauseGroup>();
  for (const f of findings) {
    if (f.causedBy) continue;
    groups.set(f.id, { root: f, consequences: [], worst: f.status });
  }
  for (const f of findings) {
    if (!f.causedBy) continue;
    const group = groups.get(rootCauseOf(f, findings).id);
    if (!group) continue;
    group.consequences.push(f);
    if (STATUS_ORDER.indexOf(f.status) < STATUS_ORDER.indexOf(group.worst)) group.worst = f.status;
  }
  return [...groups.values()]
    .filter((g) => g.worst === 'fail' || g.worst === 'warn')
    .sort((a, b) => STATUS_ORDER.indexOf(a.worst) - STATUS_ORDER.indexOf(b.worst));
}

/** The rows of the root causes, each followed by one row listing its consequences. */
export function causeRows(groups: readonly CauseGroup[], colour: boolean): TableRow[] {
  const rows: TableRow[] = [];
  for (const g of groups) {
    rows.push(findingRow(g.root, colour));
    if (g.consequences.length === 0) continue;
    const lines = g.consequences.map((c) => `  ${LABEL[c.status]} ${c.title} (${c.id})`);
    const head = `↳ ${g.consequences.length === 1 ? 'this follows' : `${g.consequences.length} findings follow`} from ${g.root.id}; the fix above is theirs too:`;
    rows.push([{ colSpan: 3, content: breakLongWords([head, ...lines].join('\n'), WIDTH - 4) }]);
  }
  return rows;
}

export function renderTable(report: Report, colour = false): string {
  const table = findingsTable();
  const groups = causeGroups(report.findings);
  const shown = new Set(groups.flatMap((g) => [g.root.id, ...g.consequences.map((c) => c.id)]));
  if (groups.length) table.push([{ colSpan: 3, content: ROOT_HEADING }]);
  table.push(...causeRows(groups, colour));
  const quiet = (f: Finding) => f.status === 'pass' || f.status === 'info';
  const rest = report.findings.filter((f) => !shown.has(f.id) && (renderOptions.verbose || !quiet(f)));
  for (const f of rest) table.push(findingRow(f, colour));
  const passed = report.findings.filter((f) => f.status === 'pass').length;
  const info = report.findings.filter((f) => f.status === 'info').length;
  if (!renderOptions.verbose && passed + info > 0) table.push([{ colSpan: 3, content: passedLine(passed, info) }]);
  return `${report.check} for ${report.serverName}\n${table.toString()}\n${summaryLine(report)}\n`;
}

export const ROOT_HEADING = 'Root causes, each with its fix (what follows from each is listed under it):';

export function passedLine(passed: number, info = 0): string {
  return `${passed} passed${info ? `, ${info} info` : ''} (--verbose lists them)`;
}

/** Ids have no spaces to wrap at; the table would cut them, so break them by hand. */
export function breakLong(text: string, width: number): string {
  return text.match(new RegExp(`.{1,${width}}`, 'g'))?.join('\n') ?? text;
}

/** URLs and other long words would be cut by the table: break them across lines instead. */
export function breakLongWords(text: string, width: number): string {
  return text.replace(new RegExp(`\\S{${width + 1},}`, 'g'), (word) => breakLong(word, width));
}

export function summaryLine(report: Report): string {
  const s = report.summary;
  const parts = [`${s.fail} failed`, `${s.warn} warnings`, `${s.pass} passed`];
  if (s.info) parts.push(`${s.info} info`);
  if (s.skip) parts.push(`${s.skip} skipped`);
  return `${parts.join(', ')} in ${(report.durationMs / 1000).toFixed(1)} s; exit ${report.exitCode}`;
}
