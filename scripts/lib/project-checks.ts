// The project's own checks, run by the stages exactly as a person runs them (--json), before
// the playbook (the DNS check: the records must be right before certificates are requested)
// and after it (doctor: every check area, as the after-picture).
import { join } from 'node:path';
import { PACKAGE_ROOT, RUNNING_BUILT } from '../../checks/core/package-files.ts';
import { renderTable } from '../../checks/core/report.ts';
import type { Report } from '../../checks/core/report.ts';
import { capture, withSpinner } from './commands.ts';
import type { Command } from './commands.ts';

// The sources run with tsx's hooks (Node 20 cannot strip types); the package's built files run as they are.
const EXTENSION = RUNNING_BUILT ? 'mjs' : 'ts';
const LOADER = RUNNING_BUILT ? [] : ['--import', 'tsx'];

export const PREFLIGHT_CHECK = join('checks', `dns.${EXTENSION}`);
export const AFTER_CHECK = join('checks', `doctor.${EXTENSION}`);

export interface CheckOptions {
  /** --resolver values (repeatable). */
  resolvers: readonly string[];
  /** --authoritative values (repeatable). */
  authoritative: readonly string[];
  expectIp?: string;
  timeout?: string;
}

/** `node --import tsx checks/<script>.ts <server> --playbook DIR --json …` (the package: `node checks/<script>.mjs …`), from the project folder. */
export function checkCommand(
  script: string,
  serverName: string,
  checkout: string,
  o: CheckOptions,
  extra: readonly string[] = [],
): Command {
  const args = [...LOADER, script, serverName, '--playbook', checkout, '--json', ...extra];
  for (const r of o.resolvers) args.push('--resolver', r);
  for (const a of o.authoritative) args.push('--authoritative', a);
  if (o.expectIp) args.push('--expect-ip', o.expectIp);
  if (o.timeout) args.push('--timeout', o.timeout);
  return { program: process.execPath, args, cwd: PACKAGE_ROOT };
}

interface CheckRun {
  report?: Report;
  /** Why there is no report (the check could not run). */
  error?: string;
}

export async function runCheck(command: Command): Promise<CheckRun> {
  const run = await withSpinner(`running ${command.args.find((arg) => arg.startsWith('checks')) ?? 'the check'}`, () =>
    capture(command, undefined, 180_000),
  );
  try {
    return { report: JSON.parse(run.stdout) as Report };
  } catch {
    return { error: (run.stderr || run.error || `exit ${run.code}`).trim() };
  }
}

export function renderCheck(run: CheckRun): string {
  return run.report ? renderTable(run.report) : `could not run: ${run.error}\n`;
}
