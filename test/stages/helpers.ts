// Helpers of the stage tests: run a stage as a real process (with input on stdin when a
// person would type it), and take a picture of a folder to prove that nothing changed.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface StageRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The process arguments, for secret checks. */
  argv: string[];
}

export function runStage(stage: string, args: string[], env: Record<string, string> = {}, input?: string): Promise<StageRun> {
  const argv = ['--import', 'tsx', `scripts/${stage}.ts`, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, {
      env: { ...process.env, NO_COLOR: '1', ...env },
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
