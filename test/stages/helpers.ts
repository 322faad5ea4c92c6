// Helpers of the stage tests: run a stage as a real process (with input on stdin when a
// person would type it), and take a picture of a folder to prove that nothing changed.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';

export interface StageRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The process arguments, for secret checks. */
  argv: string[];
}

/** How a stage is started: `node scripts/<stage>.ts`, `./scripts/<stage>.ts` (its shebang) or `npx zx scripts/<stage>.ts`. */
export type Runner = 'node' | 'shebang' | 'zx';
export const RUNNERS: readonly Runner[] = ['node', 'shebang', 'zx'];

/**
 * Node's own TypeScript where it has it (22.18 and newer); before that, tsx's hooks, which the
 * README asks for there (`npx tsx …`, or NODE_OPTIONS=--import=tsx for the shebang and zx).
 */
export const TS_HOOK: readonly string[] = (process.features as { typescript?: string | false }).typescript ? [] : ['--import', 'tsx'];

let nodeDir: string | undefined;
/** A folder holding only `node`, a link to the Node running the tests. */
function nodeAlone(): string {
  if (!nodeDir) {
    nodeDir = mkdtempSync(join(tmpdir(), 'stage-node-'));
    symlinkSync(process.execPath, join(nodeDir, 'node'));
    process.once('exit', () => rmSync(nodeDir!, { recursive: true, force: true }));
  }
  return nodeDir;
}

/** The program, arguments and extra environment that start a stage the given way, with this test's Node. */
export function stageLaunch(stage: string, args: string[], runner: Runner, env: Record<string, string> = {}) {
  const script = `scripts/${stage}.ts`;
  if (runner === 'node') return { program: process.execPath, argv: [...TS_HOOK, script, ...args], env };
  // The shebang (`#!/usr/bin/env node`) and npx find node on PATH: this test's Node first, alone
  // in its folder (its own folder may hold other programs, /usr/bin's python3 for one).
  const path = `${nodeAlone()}${delimiter}${env.PATH ?? process.env.PATH ?? ''}`;
  const nodeOptions = [process.env.NODE_OPTIONS, ...(TS_HOOK.length ? [`--import=${TS_HOOK[1]}`] : [])].filter(Boolean).join(' ');
  const runnerEnv = { ...env, PATH: path, ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) };
  if (runner === 'shebang') return { program: `./${script}`, argv: args, env: runnerEnv };
  return { program: 'npx', argv: ['--no-install', 'zx', script, ...args], env: runnerEnv };
}

export function runStage(
  stage: string,
  args: string[],
  env: Record<string, string> = {},
  input?: string,
  runner: Runner = 'node',
): Promise<StageRun> {
  const launch = stageLaunch(stage, args, runner, env);
  const argv = [launch.program, ...launch.argv];
  return new Promise((resolve, reject) => {
    const child = spawn(launch.program, launch.argv, {
      env: { ...process.env, NO_COLOR: '1', ...launch.env },
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, argv }));
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Every file and folder below dir (except .git) with its mode and content hash. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (path: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      if (entry.name === '.git') continue;
      const full = join(path, entry.name);
      const mode = (statSync(full).mode & 0o777).toString(8);
      if (entry.isDirectory()) {
        out[`${relative(dir, full)}/`] = mode;
        walk(full);
      } else {
        out[relative(dir, full)] = `${mode} ${createHash('sha256').update(readFileSync(full)).digest('hex')}`;
      }
    }
  };
  walk(dir);
  return out;
}

export const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8);
