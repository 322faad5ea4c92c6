// Benchmark of start-up, process start to exit, as a person meets it: `--help` of every command,
// the federation check against the lab's real nginx and Synapse, and `npm start`; next to
// `node -e 0`, the floor no command can go below. Targets on Node 24 (the reference runtime):
// the federation check ≤ 250 ms, --help ≤ 120 ms, npm start ≤ 1 s. The same figures on the oldest
// Node the README promises (Node 20 with tsx) are printed, without a target.
// Each figure is the median of several runs after one warm-up run, which fills Node's module
// compile cache as a person's first run does; the first start without the cache is printed too.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_DIR } from '../lab/provision.ts';
import { startFederationLab } from '../test/lab/federation-lab.ts';
import type { Figure } from './figure.ts';

const RUNS = 7;
const CHECKS = ['dns', 'wellknown', 'federation', 'turn', 'outbound', 'doctor'].map((c) => `checks/${c}.ts`);
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

export async function startupCases(): Promise<Figure[]> {
  const all = runtimes();
  const figures: Figure[] = [];
  for (const rt of all) {
    const node = (args: string[], env?: NodeJS.ProcessEnv, ok?: number[]): Run => ({
      program: rt.node,
      args: [...rt.hook, ...args],
      ...(env ? { env } : {}),
      ...(ok ? { ok } : {}),
    });
    figures.push(figure(rt, `node -e 0 (the floor), median of ${RUNS}`, timed({ program: rt.node, args: ['-e', '0'] })));
    const helps = [...CHECKS, ...STAGES].map((script) => {
      try {
        return { script, value: timed(node([script, '--help'])) };
      } catch (error) {
        console.error(`bench: ${(error as Error).message}`);
        return { script, value: Number.POSITIVE_INFINITY };
      }
    });
    const slowest = helps.reduce((a, b) => (b.value > a.value ? b : a));
    for (const { script, value } of helps) figures.push(figure(rt, `${script} --help, median of ${RUNS}`, value, 120));
    console.error(`bench: ${rt.label}: --help ${helps.map((h) => `${h.script} ${ms(h.value)}`).join(', ')}`);
    figures.push(figure(rt, `--help, slowest of ${helps.length} commands (${slowest.script})`, slowest.value, 120));
    const cold = median(
      Array.from({ length: 3 }, () => timeOnce(node(['checks/federation.ts', '--help'], { NODE_DISABLE_COMPILE_CACHE: '1' }))),
    );
    figures.push(figure(rt, 'checks/federation.ts --help without the compile cache (a first start), median of 3', cold));
  }

  // The federation check against the lab: a server with two addresses on the real nginx and Synapse.
  const lab = await startFederationLab();
  try {
    await lab.use('two-addresses');
    for (const rt of all) {
      const args = [
        ...rt.hook,
        'checks/federation.ts',
        'example.test',
        '--resolver',
        lab.resolver,
        '--ca-file',
        lab.caFile,
        '--timeout',
        '5',
        '--json',
      ];
      // Timed to its exit whatever the report says (bench/federation.ts checks the findings); the
      // part that is start-up is the wall time less the check's own durationMs from its report.
      const walls: number[] = [];
      const overheads: number[] = [];
      const statuses = new Set<string>();
      for (let i = 0; i <= RUNS; i++) {
        const started = performance.now();
        // Not spawnSync: the lab's resolver answers from this very process, so its event loop must run.
        const result = await promisify(execFile)(rt.node, args, { cwd: PROJECT_DIR, encoding: 'utf8', timeout: 120_000 }).catch(
          (error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }),
        );
        const wall = performance.now() - started;
        const report = JSON.parse(result.stdout) as { durationMs: number; findings: { id: string; status: string }[] };
        if (i === 0) continue; // the warm-up run fills the compile cache
        walls.push(wall);
        overheads.push(wall - report.durationMs);
        for (const f of report.findings) if (f.status === 'fail') statuses.add(f.id);
      }
      const failed = statuses.size ? ` (failed: ${[...statuses].join(', ')})` : '';
      figures.push(figure(rt, `checks/federation.ts example.test (lab, 2 addresses), median of ${RUNS}${failed}`, median(walls), 250));
      figures.push(figure(rt, "checks/federation.ts: the start-up part (wall time less the report's durationMs)", median(overheads)));
    }
  } finally {
    await lab.stop();
  }

  // npm start: npm itself, then the sandbox's servers and doctor's four areas against them.
  for (const rt of all) {
    const env = { PATH: `${dirname(rt.node)}${delimiter}${process.env.PATH ?? ''}` };
    figures.push(
      figure(rt, 'npm start (the sandbox), median of 3', timed({ program: 'npm', args: ['start', '--silent'], env, ok: [0, 1] }, 3), 1000),
    );
  }
  return figures;
}
