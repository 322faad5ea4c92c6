// Runs a check or stage script as a real process, the way a person would.
import { type ChildProcess, spawn } from 'node:child_process';
import type { Finding } from '../../checks/core/finding.ts';
import type { Report } from '../../checks/core/report.ts';
import { findingById } from '../find-finding.ts';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
}

export function runCli(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', './scripts/lib/typescript.mjs', script, ...args], {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    // Decoded as a stream: a character split between two reads stays whole.
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, wallMs: performance.now() - started }));
  });
}

export interface ReportRun extends CliResult {
  report: Report;
  ids: string[];
  byId(id: string): Finding;
}

/** Runs a check given --json and reads the report it printed (stdout holds the report alone). */
export async function runReport(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<ReportRun> {
  const run = await runCli(script, args, env);
  const report = JSON.parse(run.stdout) as Report;
  return { ...run, report, ids: report.findings.map((f) => f.id), byId: (id) => findingById(report.findings, id) };
}

/** Starts `doctor.ts serve` and returns its base URL from the line it prints. */
export async function startExporter(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'checks/doctor.ts', 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  const url = await new Promise<string>((done, fail) => {
    let text = '';
    const timer = setTimeout(() => fail(new Error(`exporter did not start: ${text}`)), 30_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      text += chunk;
      const match = /listening on (http:\/\/\S+?)\/ /.exec(text);
      if (match) {
        clearTimeout(timer);
        done(match[1]!);
      }
    });
    child.once('exit', (code) => fail(new Error(`exporter exited ${code}: ${text}`)));
  });
  return { child, url };
}
