// Rendering findings as a table, JSON or Prometheus text, and choosing the exit code
// (monitoring-plugin convention, docs/architecture.md "Command-line contract": 0 pass, 1 warning, 2 failure, 3 could not run).
import Table from 'cli-table3';
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

export function findingsTable(): Table.Table {
  return new Table({
    head: ['', 'check', 'result'],
    colWidths: [6, TITLE_WIDTH, RESULT_WIDTH],
    wordWrap: true,
    style: { head: [], border: [], compact: false },
  }) as Table.Table;
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

export function renderTable(report: Report, colour = false): string {
  const table = findingsTable();
  for (const f of report.findings) table.push(findingRow(f, colour));
  return `${report.check} for ${report.serverName}\n${table.toString()}\n${summaryLine(report)}\n`;
}

/** Ids have no spaces to wrap at; the table would cut them, so break them by hand. */
function breakLong(text: string, width: number): string {
  return text.match(new RegExp(`.{1,${width}}`, 'g'))?.join('\n') ?? text;
}

/** URLs and other long words would be cut by the table: break them across lines instead. */
function breakLongWords(text: string, width: number): string {
  return text.replace(new RegExp(`\\S{${width + 1},}`, 'g'), (word) => breakLong(word, width));
}

export function summaryLine(report: Report): string {
  const s = report.summary;
  const parts = [`${s.fail} failed`, `${s.warn} warnings`, `${s.pass} passed`];
  if (s.info) parts.push(`${s.info} info`);
  if (s.skip) parts.push(`${s.skip} skipped`);
  return `${parts.join(', ')} in ${(report.durationMs / 1000).toFixed(1)} s; exit ${report.exitCode}`;
}
