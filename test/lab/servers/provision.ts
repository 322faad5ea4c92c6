// Brings the lab's programs onto this machine, idempotently: Debian packages (when missing and
// running as root) and a Python venv under .lab/ with the pinned requirements. Run once per
// test run (test/global-setup.ts); each step is skipped when already done.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureLivekit } from './livekit.ts';

export const PROJECT_DIR = fileURLToPath(new URL('../../..', import.meta.url));
export const LAB_DIR = join(PROJECT_DIR, '.lab');
export const VENV_DIR = join(LAB_DIR, 'venv');
const REQUIREMENTS = join(PROJECT_DIR, 'test', 'lab', 'servers', 'requirements.txt');

/**
 * Debian packages the lab runs: nginx for TLS and well-known files, coturn, ufw (dry runs only),
 * chromium and a font (the HTML report in a real browser), prometheus with promtool (the exporter scraped,
 * the alert rules tested).
 */
export const DEBIAN_PACKAGES = ['nginx-light', 'coturn', 'ufw', 'openssl', 'chromium', 'fonts-dejavu-core', 'prometheus'];

export function venvBin(program: string): string {
  return join(VENV_DIR, 'bin', program);
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): void {
  const result = spawnSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
  if (result.status !== 0) throw new Error(`lab provisioning: ${command} ${args.join(' ')} exited ${result.status ?? result.signal}`);
}

function missingPackages(packages: string[]): string[] {
  return packages.filter((name) => {
    const status = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    return !status.stdout?.includes('install ok installed');
  });
}

export function ensureDebianPackages(packages = DEBIAN_PACKAGES): void {
  const missing = missingPackages(packages);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`the lab needs Debian packages ${missing.join(' ')}: run as root, or: sudo apt-get install -y ${missing.join(' ')}`);
  }
  // Forbid service starts during the install (policy-rc.d exit 101), so that nginx and coturn do
  // not start system-wide on public addresses; the lab starts its own instances on loopback.
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    run('apt-get', ['update', '-qq']);
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { DEBIAN_FRONTEND: 'noninteractive' });
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
}

/** The venv with the pinned requirements; rebuilt only when requirements.txt changes. */
export function ensureVenv(): void {
  const wanted = createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex');
  const marker = join(VENV_DIR, '.requirements-sha256');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === wanted) return;
  mkdirSync(LAB_DIR, { recursive: true });
  if (!existsSync(venvBin('python'))) run('python3', ['-m', 'venv', VENV_DIR]);
  run(venvBin('python'), ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', '-r', REQUIREMENTS]);
  writeFileSync(marker, wanted);
}

/** Everything, under a lock so that concurrent test runs do not provision twice at once. */
export async function provisionLab(): Promise<void> {
  mkdirSync(LAB_DIR, { recursive: true });
  const lock = join(LAB_DIR, 'provision.lock');
  for (let waited = 0; ; waited += 500) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (waited > 15 * 60_000) throw new Error(`lab provisioning: ${lock} is held for too long; remove it if no run is provisioning`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    ensureDebianPackages();
    ensureVenv();
    // The real LiveKit, built once from the Go module proxy (test/lab/servers/livekit.ts).
    ensureLivekit();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
