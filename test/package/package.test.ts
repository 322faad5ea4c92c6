// The package as a person gets it: `npm run build`, `npm pack`, and `npm install` of the tarball
// into an empty folder with no network and an empty npm cache. Then every command of it, started
// through its bin link (or `npx zx <package>/scripts/<stage>.mjs`), must answer exactly as the
// TypeScript sources do: help, bad input, configure (the package's templates and MDAD tables),
// and the checks against the federation lab's real nginx and Synapse. A file the bundle leaves
// out, or one the package does not ship, fails here. Runs on whichever Node runs the suite (CI:
// 24 and the oldest in "engines"), so the built files are proven to need no type stripping.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStandin, type Standin } from '../lab/servers/standin.ts';
import { CHECKS, PACKAGE_BINS, STAGES } from '../../tools/package-commands.ts';
import { type FederationLab, LAB, startFederationLab } from '../lab/federation-lab.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const TS_LOADER = ['--import', './scripts/lib/typescript.mjs'];
/** The test's own Node first on PATH, for the bins' `#!/usr/bin/env node` and for npm. */
const PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

function run(program: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: options.cwd ?? process.cwd(),
      env: { ...process.env, NO_COLOR: '1', PATH, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let work: string;
let installed: string;
let packedFiles: string[];
const bin = (name: string) => join(installed, 'node_modules', '.bin', name);
const sourceOf = (file: string) => file.replace(/\.mjs$/, '.ts');

/** Every command: the bin, the name after it, and the built file (relative to the package root). */
const COMMANDS = Object.entries(PACKAGE_BINS).flatMap(([name, files]) =>
  Object.entries(files).map(([command, file]) => ({ bin: name, args: name === 'matrix-doctor' ? [] : [command], file })),
);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'package-'));
  const built = await run(process.execPath, [...TS_LOADER, 'tools/build.ts']);
  expect(built.code, built.stderr).toBe(0);
  const packed = await run('npm', ['pack', './dist', '--json', '--pack-destination', work]);
  expect(packed.code, packed.stderr).toBe(0);
  const [manifest] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  packedFiles = manifest!.files.map((f) => f.path).sort();
  installed = join(work, 'installed');
  mkdirSync(installed);
  const install = await run(
    'npm',
    ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', join(work, manifest!.filename)],
    { cwd: installed, env: { npm_config_cache: join(work, 'empty-cache'), npm_config_registry: 'http://127.0.0.1:9/' } },
  );
  expect(install.code, install.stderr).toBe(0);
}, 180_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the package', () => {
  it('holds the built commands and the files they read, and nothing of the sources or the lab', () => {
    const commands = [...[...CHECKS, 'doctor'].map((c) => `checks/${c}.mjs`), ...STAGES.map((s) => `scripts/${s}.mjs`)];
    for (const file of [...commands, 'checks/plan/mdad-rules.json', 'templates/vars.yml', 'templates/hosts', 'package.json', 'README.md'])
      expect(packedFiles).toContain(file);
    for (const name of Object.keys(PACKAGE_BINS)) expect(packedFiles).toContain(`bin/${name}.mjs`);
    expect(packedFiles.filter((f) => f.endsWith('.ts') || /^(lab|test|bench|tools|sandbox|docs|node_modules)\//.test(f))).toEqual([]);
    expect(readdirSync(join(installed, 'node_modules'))).toEqual(['.bin', '.package-lock.json', 'matrix-selfhost-toolkit']);
  });

  it.each(COMMANDS)('$bin $args: --help and bad input answer as the sources do', async ({ bin: name, args, file }) => {
    // A bare --help or -h is answered by the bin itself (tools/build.ts), the others by the built file.
    const exits = { '--help': 0, '-h': 0, '--no-such-option --help': 3, '--no-such-option': 3, '--dry-run --json --help': undefined };
    for (const [extra, code] of Object.entries(exits)) {
      const source = await run(process.execPath, [...TS_LOADER, sourceOf(file), ...extra.split(' ')]);
      const built = await run(bin(name), [...args, ...extra.split(' ')]);
      expect(built).toEqual(source);
      if (code !== undefined) expect(source.code).toBe(code);
    }
  });

  it('a bin without a command, or with an unknown one, names its commands (exit 3)', async () => {
    const none = await run(bin('matrix-selfhost'), []);
    expect(none.code).toBe(3);
    expect(none.stderr).toContain(`Commands: ${STAGES.join(', ')}`);
    const unknown = await run(bin('matrix-check'), ['federatoin']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr.split('\n')[0]).toBe('matrix-check: unknown command "federatoin"');
  });

  it('npx zx <package>/scripts/<stage>.mjs runs the stage as the sources run', async () => {
    const script = join(installed, 'node_modules', 'matrix-selfhost-toolkit', 'scripts', 'install.mjs');
    const built = await run('npx', ['--no-install', 'zx', script, '--help']);
    const source = await run(process.execPath, [...TS_LOADER, 'scripts/install.ts', '--help']);
    expect(built).toEqual(source);
    expect(built.stdout).toContain('Usage: install.ts');
  });
});

describe('the package against the stand-in checkout', () => {
  let standin: Standin;
  beforeAll(() => {
    standin = createStandin();
  });

  it("configure --migrate --dry-run: the package's templates and MDAD tables give the same plan", async () => {
    const old = join(standin.root, 'tutorial-vars.yml');
    copyFileSync('test/fixtures/tutorial-2024-vars.yml', old);
    const args = ['--playbook', standin.checkout, '--migrate', old, '--ip', '203.0.113.11', '--dry-run'];
    const source = await run(process.execPath, [...TS_LOADER, 'scripts/configure.ts', ...args], { env: standin.env });
    const built = await run(bin('matrix-selfhost'), ['configure', ...args], { env: standin.env });
    expect(built).toEqual(source);
    expect(source.code).toBe(0);
    expect(source.stdout).toContain('variable(s) the current playbook rejects or ignores');
  });

  it('configure refusing what MDAD refuses: the same line and exit 3', async () => {
    const args = ['--playbook', standin.checkout, '--domain', 'example.test', '--enable', 'sygnal', '--local', '--dry-run'];
    const source = await run(process.execPath, [...TS_LOADER, 'scripts/configure.ts', ...args], { env: standin.env });
    const built = await run(bin('matrix-selfhost'), ['configure', ...args], { env: standin.env });
    expect(built).toEqual(source);
    expect(source.code).toBe(3);
  });
});

describe('the package against the federation lab', () => {
  let lab: FederationLab;
  beforeAll(async () => {
    lab = await startFederationLab();
    await lab.use('two-addresses');
  });
  afterAll(async () => lab?.stop());

  /** A report's own duration is the one thing two runs cannot share. */
  const withoutDuration = (result: Run): Run => ({ ...result, stdout: result.stdout.replace(/ in \d+\.\d s; exit /g, ' in N s; exit ') });

  it.each([
    ['matrix-check', ['dns'], 'checks/dns.ts'],
    ['matrix-check', ['wellknown'], 'checks/wellknown.ts'],
    ['matrix-check', ['federation'], 'checks/federation.ts'],
    ['matrix-doctor', [], 'checks/doctor.ts'],
  ] as const)('%s %s on the two-address domain: the same report', async (name, command, source) => {
    const args = [LAB.serverName, '--resolver', lab.resolver, '--ca-file', lab.caFile, '--timeout', '3'];
    const extra = name === 'matrix-doctor' ? ['--only', 'dns,wellknown,federation'] : [];
    const fromSource = withoutDuration(await run(process.execPath, [...TS_LOADER, source, ...args, ...extra]));
    const fromPackage = withoutDuration(await run(bin(name), [...command, ...args, ...extra]));
    expect(fromPackage).toEqual(fromSource);
    expect(fromSource.stdout).toContain(LAB.serverName);
  });
});
