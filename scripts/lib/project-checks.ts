// The project's own checks, run by the stages exactly as a person runs them (checks/<area>.ts
// with --json), before the playbook (preflight) and after it (the after-picture).
// Today that is the DNS check; add a line to CHECKS when another check area exists.
import { join } from 'node:path';
import { renderTable } from '../../checks/core/report.ts';
import type { Report } from '../../checks/core/report.ts';
import { capture } from './commands.ts';
import type { Command } from './commands.ts';

const PROJECT_DIR = join(import.meta.dirname, '..', '..');

/** The check scripts that judge a deployment plan (relative to the project). */
export const CHECKS: readonly string[] = [join('checks', 'dns.ts')];

export interface CheckOptions {
  /** --resolver values (repeatable). */
  resolvers: readonly string[];
  /** --authoritative values (repeatable). */
  authoritative: readonly string[];
  expectIp?: string;
  timeout?: string;
}

/** `node --import tsx checks/<area>.ts <server> --playbook DIR --json …`, from the project folder. */
export function checkCommand(script: string, serverName: string, checkout: string, o: CheckOptions): Command {
  const args = ['--import', 'tsx', script, serverName, '--playbook', checkout, '--json'];
  for (const r of o.resolvers) args.push('--resolver', r);
  for (const a of o.authoritative) args.push('--authoritative', a);
  if (o.expectIp) args.push('--expect-ip', o.expectIp);
  if (o.timeout) args.push('--timeout', o.timeout);
  return { program: process.execPath, args, cwd: PROJECT_DIR };
}

export interface CheckRun {
  report?: Report;
  /** Why there is no report (the check could not run). */
  error?: string;
}

export async function runCheck(command: Command): Promise<CheckRun> {
  const run = await capture(command, undefined, 180_000);
  try {
    return { report: JSON.parse(run.stdout) as Report };
  } catch {
    return { error: (run.stderr || run.error || `exit ${run.code}`).trim() };
  }
}

export function renderCheck(run: CheckRun): string {
  return run.report ? renderTable(run.report) : `could not run: ${run.error}\n`;
}
