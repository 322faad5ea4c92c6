// Benchmark of start-up, process start to exit, as a person meets it: `--help` of every command,
// the federation check against the lab's real nginx and Synapse, and `npm start`; next to
// `node -e 0`, the floor no command can go below, measured in the same run. The commands run
// twice: from the TypeScript sources and from the built package (`npm run build`, its bins).
// Targets on Node 24 (the reference runtime), for the package: every --help ≤ 1.5 × node -e 0;
// the federation check ≤ 120 ms with its start-up part (wall time less the report's durationMs)
// ≤ 50 ms (the Go federation tester is not built in the lab, so the issue's absolute targets
// apply); npm start ≤ 500 ms. The sources' figures, and all of the oldest Node the README promises
// (Node 20: the sources with tsx), are printed without a target.
// Each figure is the median of several runs after one warm-up run, which fills Node's module
// compile cache as a person's first run does; the first start without the cache is printed too.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_DIR } from '../../test/lab/servers/provision.ts';
import { startFederationLab } from '../../test/lab/federation-lab.ts';
import { PACKAGE_BINS } from '../package-commands.ts';
import type { Figure } from './figure.ts';

const RUNS = 7;
const CHECKS = ['dns', 'wellknown', 'federation', 'turn', 'rtc', 'outbound', 'doctor'].map((c) => `checks/${c}.ts`);
const STAGES = ['prepare', 'configure', 'install', 'update', 'register', 'remove', 'firewall', 'wellknown'].map((s) => `scripts/${s}.ts`);

interface Runtime {
  label: string;
  node: string;
  /** tsx's hooks where Node cannot run TypeScript itself. */
  hook: string[];
  /** Targets apply (Node 24). */
  reference: boolean;
}

/** node-<os>-<arch>@spec from the npm registry, unpacked under .lab/node/ as .ci/run does. */
function nodeFromRegistry(spec: string): string {
  const dir = join(PROJECT_DIR, '.lab', 'node', spec);
  const node = join(dir, 'package', 'bin', 'node');
  if (existsSync(node)) return node;
  const arch = { x64: 'x64', arm64: 'arm64' }[process.arch as string];
  if (!arch || (process.platform !== 'linux' && process.platform !== 'darwin'))
    throw new Error(`no Node package for ${process.platform} ${process.arch}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const pack = spawnSync('npm', ['pack', `node-${process.platform}-${arch}@${spec}`, '--pack-destination', dir, '--silent'], {
    encoding: 'utf8',
  });
  if (pack.status !== 0) throw new Error(`npm pack node@${spec}: ${pack.stderr.trim()}`);
  const untar = spawnSync('tar', ['-xzf', join(dir, pack.stdout.trim()), '-C', dir]);
  if (untar.status !== 0 || !existsSync(node)) throw new Error(`unpacking Node ${spec} failed`);
  return node;
}

function runtimes(): Runtime[] {
  const engines = JSON.parse(readFileSync(join(PROJECT_DIR, 'package.json'), 'utf8')).engines.node as string;
  const oldest = engines.replace(/^>=\s*/, '');
  const version = (node: string) => spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const reference = nodeFromRegistry('24');
  const old = nodeFromRegistry(oldest);
  return [
    { label: `Node ${version(reference)}`, node: reference, hook: [], reference: true },
    { label: `Node ${version(old)} (tsx)`, node: old, hook: ['--import', 'tsx'], reference: false },
  ];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

interface Run {
  program: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Exit codes that mean the command did its work. */
  ok?: number[];
}

/** Wall time of one run, process start to exit. */
function timeOnce(run: Run): number {
  const started = performance.now();
  const result = spawnSync(run.program, run.args, {
    cwd: PROJECT_DIR,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, NO_COLOR: '1', ...run.env },
  });
  const ms = performance.now() - started;
  if (!(run.ok ?? [0]).includes(result.status ?? -1)) {
    throw new Error(`${run.program} ${run.args.join(' ')}: exit ${result.status}, ${result.stderr.trim().slice(0, 300)}`);
  }
  return ms;
}

/** Median of RUNS after one warm-up run (which fills the compile cache). */
function timed(run: Run, runs = RUNS): number {
  timeOnce(run);
  return median(Array.from({ length: runs }, () => timeOnce(run)));
}

const ms = (value: number) => `${value.toFixed(0)} ms`;

function figure(rt: Runtime, name: string, value: number, limit?: number): Figure {
  const target = rt.reference && limit !== undefined ? `≤ ${limit} ms` : 'printed';
  return { name: `start-up, ${rt.label}: ${name}`, value: ms(value), target, met: target === 'printed' || value <= limit! };
}

/** A figure judged as a ratio to the floor measured in the same run. */
function ratioFigure(rt: Runtime, name: string, value: number, floor: number, ratio: number): Figure {
  const target = rt.reference ? `≤ ${ratio} × node -e 0 (${ms(floor * ratio)})` : 'printed';
  return {
    name: `start-up, ${rt.label}: ${name}`,
    value: `${ms(value)} (${(value / floor).toFixed(2)} ×)`,
    target,
    met: !rt.reference || value <= floor * ratio,
  };
}

/** Each command of the package as a person starts it: its bin, and the name after it. */
const PACKAGE_COMMANDS = Object.entries(PACKAGE_BINS).flatMap(([bin, files]) =>
  Object.keys(files).map((command) => ({
    label: bin === 'matrix-doctor' ? bin : `${bin} ${command}`,
    bin,
    args: bin === 'matrix-doctor' ? [] : [command],
  })),
);
const binPath = (bin: string) => join(PROJECT_DIR, 'dist', 'bin', `${bin}.mjs`);

/** The package in dist/, built from this tree. */
function buildPackage(node: string): void {
  const build = spawnSync(node, ['--import', './scripts/lib/typescript.mjs', 'tools/build.ts'], { cwd: PROJECT_DIR, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed: ${build.stderr.trim()}`);
}

export async function startupCases(): Promise<Figure[]> {
  const all = runtimes();
  buildPackage(all[0]!.node);
  const figures: Figure[] = [];
  for (const rt of all) {
    const node = (args: string[], env?: NodeJS.ProcessEnv, ok?: number[]): Run => ({
      program: rt.node,
      args: [...rt.hook, ...args],
      ...(env ? { env } : {}),
      ...(ok ? { ok } : {}),
    });
    const floor = timed({ program: rt.node, args: ['-e', '0'] });
    figures.push(figure(rt, `node -e 0 (the floor), median of ${RUNS}`, floor));
    const helps = [...CHECKS, ...STAGES].map((script) => {
      try {
        return { script, value: timed(node([script, '--help'])) };
      } catch (error) {
        console.error(`bench: ${(error as Error).message}`);
        return { script, value: Number.POSITIVE_INFINITY };
      }
    });
    const slowest = helps.reduce((a, b) => (b.value > a.value ? b : a));
    for (const { script, value } of helps) figures.push(figure(rt, `${script} --help (the sources), median of ${RUNS}`, value));
    console.error(`bench: ${rt.label}: --help ${helps.map((h) => `${h.script} ${ms(h.value)}`).join(', ')}`);
    figures.push(figure(rt, `--help from the sources, slowest of ${helps.length} commands (${slowest.script})`, slowest.value));
    const built = PACKAGE_COMMANDS.map(({ label, bin, args }) => ({
      label,
      value: timed({ program: rt.node, args: [binPath(bin), ...args, '--help'] }),
    }));
    for (const { label, value } of built)
      figures.push(ratioFigure(rt, `${label} --help (the package), median of ${RUNS}`, value, floor, 1.5));
    const slowestBuilt = built.reduce((a, b) => (b.value > a.value ? b : a));
    figures.push(
      ratioFigure(
        rt,
        `--help from the package, slowest of ${built.length} commands (${slowestBuilt.label})`,
        slowestBuilt.value,
        floor,
        1.5,
      ),
    );
    const direct = timed({ program: rt.node, args: [join(PROJECT_DIR, 'dist', 'checks', 'doctor.mjs'), '--help'] });
    figures.push(figure(rt, `node dist/checks/doctor.mjs --help (the built file itself, not its bin), median of ${RUNS}`, direct));
    const cold = median(
      Array.from({ length: 3 }, () => timeOnce(node(['checks/federation.ts', '--help'], { NODE_DISABLE_COMPILE_CACHE: '1' }))),
    );
    figures.push(figure(rt, 'checks/federation.ts --help without the compile cache (a first start), median of 3', cold));
  }

  // The federation check against the lab: a server with two addresses on the real nginx and Synapse.
  const lab = await startFederationLab();
  try {
    await lab.use('two-addresses');
    const check = ['example.test', '--resolver', lab.resolver, '--ca-file', lab.caFile, '--timeout', '5', '--json'];
    for (const rt of all) {
      const fromSources = await federationRuns(rt.node, [...rt.hook, 'checks/federation.ts', ...check]);
      figures.push(
        figure(
          rt,
          `checks/federation.ts example.test (lab, 2 addresses; the sources), median of ${RUNS}${fromSources.failed}`,
          fromSources.wall,
        ),
      );
      figures.push(
        figure(rt, "checks/federation.ts (the sources): the start-up part (wall time less the report's durationMs)", fromSources.startup),
      );
      const fromPackage = await federationRuns(rt.node, [binPath('matrix-check'), 'federation', ...check]);
      figures.push(
        figure(rt, `matrix-check federation example.test (the package), median of ${RUNS}${fromPackage.failed}`, fromPackage.wall, 120),
      );
      figures.push(figure(rt, 'matrix-check federation (the package): the start-up part', fromPackage.startup, 50));
    }
  } finally {
    await lab.stop();
  }

  // npm start: npm itself, then the sandbox's servers and doctor's four areas against them.
  for (const rt of all) {
    const env = { PATH: `${dirname(rt.node)}${delimiter}${process.env.PATH ?? ''}` };
    figures.push(
      figure(rt, 'npm start (the sandbox), median of 3', timed({ program: 'npm', args: ['start', '--silent'], env, ok: [0, 1] }, 3), 500),
    );
  }
  return figures;
}

/**
 * The federation check's wall time, process start to exit, whatever the report says
 * (tools/bench/federation.ts checks the findings), and the part that is start-up: the wall time less
 * the check's own durationMs from its report. Medians of RUNS after one warm-up run.
 */
async function federationRuns(program: string, args: string[]): Promise<{ wall: number; startup: number; failed: string }> {
  const walls: number[] = [];
  const overheads: number[] = [];
  const statuses = new Set<string>();
  for (let i = 0; i <= RUNS; i++) {
    const started = performance.now();
    // Not spawnSync: the lab's resolver answers from this very process, so its event loop must run.
    const result = await promisify(execFile)(program, args, { cwd: PROJECT_DIR, encoding: 'utf8', timeout: 120_000 }).catch(
      (error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }),
    );
    const wall = performance.now() - started;
    const report = JSON.parse(result.stdout) as { durationMs: number; findings: { id: string; status: string }[] };
    if (i === 0) continue; // the warm-up run fills the compile cache
    walls.push(wall);
    overheads.push(wall - report.durationMs);
    for (const f of report.findings) if (f.status === 'fail') statuses.add(f.id);
  }
  return { wall: median(walls), startup: median(overheads), failed: statuses.size ? ` (failed: ${[...statuses].join(', ')})` : '' };
}
