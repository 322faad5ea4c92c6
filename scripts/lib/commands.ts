// Running programs: every command a stage runs is a Command, so that --dry-run can print
// exactly what a real run executes. Secrets never go into a Command (docs/architecture.md "Stages").
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';

export interface Command {
  program: string;
  args: readonly string[];
  /** Working directory; shown as `cd DIR &&`. */
  cwd?: string;
  /** Extra environment, shown before the program (never secrets). */
  env?: Readonly<Record<string, string>>;
}

export interface Captured {
  /** Exit code; null when the program could not be started or was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Why it could not be started (e.g. ENOENT), if so. */
  error?: string;
}

/** Quotes a word for a POSIX shell, only when needed. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command as a person would type it. */
export function showCommand(command: Command): string {
  const env = Object.entries(command.env ?? {})
    .map(([k, v]) => `${k}=${shellQuote(v)} `)
    .join('');
  const line = `${env}${[command.program, ...command.args].map(shellQuote).join(' ')}`;
  return command.cwd ? `cd ${shellQuote(command.cwd)} && ${line}` : line;
}

/** The full path of a program found on PATH, or undefined. */
export function onPath(program: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function spawnCommand(command: Command, stdin: 'ignore' | 'inherit' | 'pipe'): ChildProcessByStdio<Writable | null, Readable, Readable> {
  const options = { cwd: command.cwd, env: { ...process.env, ...command.env } };
  return stdin === 'pipe'
    ? spawn(command.program, [...command.args], { ...options, stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(command.program, [...command.args], { ...options, stdio: [stdin, 'pipe', 'pipe'] });
}

/** Runs a command to completion and collects its output; never throws. */
export function capture(command: Command, input?: string, timeoutMs = 120_000): Promise<Captured> {
  return new Promise((resolve) => {
    const child = spawnCommand(command, input === undefined ? 'ignore' : 'pipe');
    // Bytes, decoded once at the end: a character may be cut between two chunks.
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const text = (chunks: Buffer[]): string => Buffer.concat(chunks).toString('utf8');
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, stdout: text(stdout), stderr: text(stderr), error: (error as NodeJS.ErrnoException).code ?? error.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: text(stdout), stderr: text(stderr) });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/**
 * Runs a command and hands each line of stdout and stderr to onLine as it arrives. stdin is
 * the terminal's, so that a program may ask for a password itself (ansible-playbook -K).
 */
export function stream(command: Command, onLine: (line: string) => void): Promise<Captured> {
  return new Promise((resolve) => {
    const child = spawnCommand(command, 'inherit');
    let pending = 3;
    let code: number | null = null;
    const done = (): void => {
      if (--pending === 0) resolve({ code, stdout: '', stderr: '' });
    };
    for (const output of [child.stdout, child.stderr]) {
      createInterface({ input: output, crlfDelay: Infinity }).on('line', onLine).on('close', done);
    }
    child.on('error', (error) =>
      resolve({ code: null, stdout: '', stderr: '', error: (error as NodeJS.ErrnoException).code ?? error.message }),
    );
    child.on('exit', (exitCode) => {
      code = exitCode;
      done();
    });
  });
}
