// Running programs: every command a stage runs is a Command, so that --dry-run can print
// exactly what a real run executes. Secrets never go into a Command (docs/architecture.md "Stages").
// zx runs them (https://google.github.io/zx/): its `$` builds the command line with shellQuote,
// the same quoting showCommand prints, so the line a dry run shows is the line bash is given;
// its `which` searches PATH. zx's own logging stays off whatever runs the stage (`zx --verbose`,
// ZX_VERBOSE): the stage prints each command itself, and output goes through its masking.
import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { $, type ProcessPromise, which } from 'zx/core';

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
  const line = `${env}${commandLine(command)}`;
  return command.cwd ? `cd ${shellQuote(command.cwd)} && ${line}` : line;
}

/** The full path of a program found on PATH, or undefined. */
export function onPath(program: string, path = process.env.PATH ?? ''): string | undefined {
  return (path && which.sync(program, { path, nothrow: true })) || undefined;
}

/** A program that cannot be started: a path that is not executable, or a name not on PATH. */
function unstartable(command: Command): boolean {
  if (!command.program.includes('/')) return !onPath(command.program, command.env?.PATH ?? process.env.PATH);
  try {
    accessSync(resolve(command.cwd ?? '.', command.program), constants.X_OK);
    return false;
  } catch {
    return true;
  }
}

/** zx's shell when bash is there (its default), with its strict prefix. */
const BASH = which.sync('bash', { nothrow: true }) ?? undefined;

interface RunOptions {
  input?: string;
  stdin: 'ignore' | 'inherit' | 'pipe';
}

/**
 * The command as a zx process, not started yet (halted): its `cmd` is the line bash runs, built
 * by zx's `$` with shellQuote. Every option is set here, so that zx's command line (--quiet,
 * --verbose, --prefix, --shell …) changes nothing: the stage does the same work however it started.
 */
function zxProcess(command: Command, o: RunOptions = { stdin: 'ignore' }): ProcessPromise {
  const stdin = o.input !== undefined ? 'pipe' : o.stdin;
  return $({
    halt: true,
    cwd: command.cwd ?? process.cwd(),
    env: { ...process.env, ...command.env },
    quote: shellQuote,
    shell: BASH ?? true,
    prefix: BASH ? 'set -euo pipefail;' : '',
    postfix: '',
    preferLocal: false,
    verbose: false,
    quiet: true,
    nothrow: true,
    stdio: [stdin, 'pipe', 'pipe'],
    ...(o.input !== undefined ? { input: o.input } : {}),
  })`${[command.program, ...command.args]}`;
}

/** The line bash runs for the command (without cwd and env, which showCommand adds). */
export function commandLine(command: Command): string {
  return zxProcess(command).cmd;
}

/** Why a finished zx process did not run, if it could not be started (e.g. ENOENT for a missing cwd). */
function startError(exitCode: number | null, message: string): string | undefined {
  if (exitCode === null || exitCode >= 0) return undefined;
  return /\bcode: (\w+)/.exec(message)?.[1] ?? /\b(E[A-Z]+)\b/.exec(message)?.[1] ?? 'ENOENT';
}

/** Runs a command to completion and collects its output; never throws. */
export async function capture(command: Command, input?: string, timeoutMs = 120_000): Promise<Captured> {
  if (unstartable(command)) return { code: null, stdout: '', stderr: '', error: 'ENOENT' };
  const child = zxProcess(command, { stdin: 'ignore', ...(input !== undefined ? { input } : {}) });
  child.run();
  // SIGTERM to the program itself (bash execs a single command): zx's own timeout kills the
  // process tree through ps, which Node 24 flags with a deprecation warning on stderr.
  const timer = setTimeout(() => child.child?.kill('SIGTERM'), timeoutMs);
  // Bytes, decoded once at the end: a character may be cut between two chunks.
  const [stdout, stderr] = [child.stdout, child.stderr].map((output) => {
    const chunks: Buffer[] = [];
    output.on('data', (chunk: Buffer) => chunks.push(chunk));
    return chunks;
  }) as [Buffer[], Buffer[]];
  const out = await child;
  clearTimeout(timer);
  const text = (chunks: Buffer[]): string => Buffer.concat(chunks).toString('utf8');
  const error = startError(out.exitCode, out.message);
  return { code: error ? null : out.exitCode, stdout: text(stdout), stderr: text(stderr), ...(error ? { error } : {}) };
}

/**
 * Runs a command and hands each line of stdout and stderr to onLine as it arrives. stdin is
 * the terminal's, so that a program may ask for a password itself (ansible-playbook -K).
 */
export async function stream(command: Command, onLine: (line: string) => void): Promise<Captured> {
  if (unstartable(command)) return { code: null, stdout: '', stderr: '', error: 'ENOENT' };
  const child = zxProcess(command, { stdin: 'inherit' });
  child.run();
  const closed = [child.stdout, child.stderr].map(
    (output) => new Promise<void>((done) => createInterface({ input: output, crlfDelay: Infinity }).on('line', onLine).on('close', done)),
  );
  const out = await child;
  await Promise.all(closed);
  const error = startError(out.exitCode, out.message);
  return error ? { code: null, stdout: '', stderr: '', error } : { code: out.exitCode, stdout: '', stderr: '' };
}

/**
 * Runs a long step under zx's spinner when stderr is a terminal (never in a pipe, a log or CI,
 * where the output stays exactly the step's own). zx's full module loads only then.
 */
export async function withSpinner<T>(title: string, work: () => Promise<T>): Promise<T> {
  if (!process.stderr.isTTY || process.env.CI) return work();
  const { spinner } = await import('zx');
  return spinner(title, work);
}

// -------------------------------------------------------------------------------------------
// The one executor of a stage's steps

/** A step: an optional note and the commands it runs; `run` runs them (with the stage's checks around them). */
export interface Step {
  /** Shown as `# note` in a dry run, before the commands. */
  note?: string;
  commands: readonly Command[];
  run(commands: readonly Command[]): Promise<void>;
}

/**
 * Either lists the steps (a dry run: each note, then each command as showCommand prints it) or
 * runs them in the same order. The list a dry run prints is thus the order a real run follows.
 */
export async function execute(steps: readonly Step[], dryRun: boolean): Promise<string[]> {
  const shown: string[] = [];
  for (const step of steps) {
    if (dryRun) shown.push(...(step.note ? [`# ${step.note}`] : []), ...step.commands.map(showCommand));
    else await step.run(step.commands);
  }
  return shown;
}
