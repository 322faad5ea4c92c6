// The exporter under Prometheus's load: `checks/doctor.ts serve` pinned to 2 cores (taskset),
// 200 lab servers (tools/bench/lab-fleet.ts: real nginx and dns2 on 127.16.5.x), each scraped every
// 15 s for 5 minutes as Prometheus does (targets spread over the interval, the
// X-Prometheus-Scrape-Timeout-Seconds header, 10 s timeout). Measured: scrapes past their
// timeout (none allowed), the exporter's CPU share of its 2 cores, its peak and final RSS, and
// the final RSS against the RSS after the first round (at most 1.1 times: memory must not grow).
// The memory curve (first round, every minute, end) is printed on stderr, RSS beside the V8 heap
// and the memory outside it as the exporter's own /metrics report them, so that a growth can be
// told apart: JS objects (heap used), V8's reserve (heap total), Buffers and native objects that
// V8 knows of (external), and the rest (TLS, sockets, the allocator).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { MEMORY_SETTINGS } from '../../checks/areas/exporter.ts';
import { stopProcess } from '../../test/lab/servers/process.ts';
import type { Figure } from './figure.ts';
import { startFleetLab } from './lab-fleet.ts';

const TARGETS = 200;
const INTERVAL_MS = 15_000;
/** 5 minutes, or what BENCH_EXPORTER_SECONDS says (`npm run bench -- exporter --long` sets 1800); read when the case runs. */
const durationMs = () => Number(process.env.BENCH_EXPORTER_SECONDS ?? 300) * 1000;
const TIMEOUT_S = 10;
const CORES = '0,1';
const AREAS = 'dns,wellknown,federation';
const AT = { base: '127.16.5.1', matrix: '127.16.5.2', resolver: '127.16.5.3', nameserver: '127.16.5.4', exporter: '127.16.5.10' };

/** utime + stime of a process in seconds (proc(5): fields 14 and 15, in clock ticks). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  return (Number(fields[11]) + Number(fields[12])) / ticks;
}

/** The exporter's memory as its /metrics tells it (prom-client's default metrics), in MB. */
async function memoryOf(url: string, agent: Agent): Promise<Record<string, number>> {
  const text = await (await request(`${url}/metrics`, { dispatcher: agent })).body.text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN) / 2 ** 20;
  const space = (name: string) =>
    Number(new RegExp(`^nodejs_heap_space_size_total_bytes\\{space="${name}"\\} (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN) / 2 ** 20;
  return {
    rss: value('process_resident_memory_bytes'),
    heapUsed: value('nodejs_heap_size_used_bytes'),
    heapTotal: value('nodejs_heap_size_total_bytes'),
    newSpace: space('new'),
    oldSpace: space('old'),
    external: value('nodejs_external_memory_bytes'),
  };
}

/** A line of /proc/PID/status (proc(5)) in MB: VmRSS, and its parts RssAnon (the process's own memory) and RssFile (pages of the node binary and other mapped files). */
function statusMb(pid: number, field: 'VmRSS' | 'RssAnon' | 'RssFile'): number {
  const kb = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

const rssMb = (pid: number) => statusMb(pid, 'VmRSS');

async function startExporter(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  // taskset pins the exporter (node and its threads) to two cores, whatever the machine has. It
  // starts with the memory settings the README's `npm run serve` gives it.
  const node = [process.execPath, ...MEMORY_SETTINGS.v8, '--import', 'tsx', 'checks/doctor.ts', 'serve'];
  const child = spawn('taskset', ['-c', CORES, ...node, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...MEMORY_SETTINGS.env },
  });
  const url = await new Promise<string>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`exporter did not start: ${text}`)), 30_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      text += chunk;
      const match = /listening on (http:\/\/\S+?)\/ /.exec(text);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`exporter exited ${code}: ${text}`)));
  });
  return { child, url };
}

export async function exporterCase(): Promise<Figure[]> {
  const DURATION_MS = durationMs();
  const lab = await startFleetLab({
    count: TARGETS,
    domain: 'watch.test',
    listen: { base: AT.base, matrix: AT.matrix },
    dns: { resolver: { host: AT.resolver, port: 53 }, authoritative: { host: AT.nameserver, port: 53 } },
  });
  let exporter: ChildProcess | undefined;
  try {
    // The lab's servers resolve to loopback addresses, which the exporter refuses without --allow-private.
    const started = await startExporter([
      '--allow-private',
      '--listen',
      `${AT.exporter}:0`,
      '--resolver',
      AT.resolver,
      '--ca-file',
      lab.caFile,
    ]);
    exporter = started.child;
    const pid = exporter.pid!;
    // Prometheus keeps one connection per target; an agent with as many does the same.
    const agent = new Agent({ connections: TARGETS, keepAliveTimeout: 60_000 });
    const scrapes: { ms: number; success: boolean; status: number }[] = [];
    let peak = 0;
    let afterFirstRound = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 1000);
    const curve = async (label: string) => {
      const m = await memoryOf(started.url, agent).catch(() => undefined);
      const parts = m ? Object.entries(m).map(([k, v]) => `${k} ${v.toFixed(0)}`) : ['metrics unavailable'];
      parts.push(`rssAnon ${statusMb(pid, 'RssAnon').toFixed(0)}`, `rssFile ${statusMb(pid, 'RssFile').toFixed(0)}`);
      console.error(`exporter memory, ${label}: ${parts.join(', ')} MB`);
    };
    const minutes = setInterval(() => void curve(`${Math.round((performance.now() - t0) / 60_000)} min`), 60_000);
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    const scrape = async (target: string) => {
      const begun = performance.now();
      try {
        const answer = await request(`${started.url}/probe?target=${target}&area=${AREAS}`, {
          dispatcher: agent,
          headers: { 'x-prometheus-scrape-timeout-seconds': String(TIMEOUT_S) },
          headersTimeout: TIMEOUT_S * 1000,
          bodyTimeout: TIMEOUT_S * 1000,
        });
        const body = await answer.body.text();
        scrapes.push({ ms: performance.now() - begun, success: /^probe_success 1$/m.test(body), status: answer.statusCode });
        if (scrapes.length === TARGETS) {
          afterFirstRound = rssMb(pid);
          void curve('after the first round');
        }
      } catch {
        scrapes.push({ ms: performance.now() - begun, success: false, status: 0 });
      }
    };
    // Each target has its own offset in the interval, as Prometheus spreads them.
    const rounds = Math.floor(DURATION_MS / INTERVAL_MS);
    const pending: Promise<void>[] = [];
    for (let round = 0; round < rounds; round++) {
      lab.names.forEach((name, i) => {
        const at = round * INTERVAL_MS + (i * INTERVAL_MS) / TARGETS;
        setTimeout(() => pending.push(scrape(name)), at);
      });
    }
    await new Promise((resolve) => setTimeout(resolve, rounds * INTERVAL_MS + 1000));
    await Promise.all(pending);
    const wallS = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(pid) - cpu0;
    clearInterval(sampler);
    clearInterval(minutes);
    await curve('end');
    const final = rssMb(pid);
    peak = Math.max(peak, final);
    agent.close();
    const late = scrapes.filter((s) => s.ms > TIMEOUT_S * 1000 || s.status !== 200).length;
    const failed = scrapes.filter((s) => !s.success).length;
    const sorted = scrapes.map((s) => s.ms).sort((a, b) => a - b);
    const p99 = sorted[Math.floor(sorted.length * 0.99)] ?? 0;
    const share = (cpu / wallS / 2) * 100;
    return [
      {
        name: `exporter, ${TARGETS} lab servers every ${INTERVAL_MS / 1000} s for ${(DURATION_MS / 60_000).toFixed(0)} min on 2 cores: scrapes past the ${TIMEOUT_S} s timeout (of ${scrapes.length}; p99 ${p99.toFixed(0)} ms; ${failed} not passing)`,
        value: String(late),
        target: '0',
        met: late === 0 && scrapes.length === rounds * TARGETS && failed === 0,
      },
      { name: 'exporter, CPU share of its 2 cores', value: `${share.toFixed(0)} %`, target: 'printed', met: true },
      { name: 'exporter, peak RSS', value: `${peak.toFixed(0)} MB`, target: 'printed', met: true },
      {
        name: `exporter, final RSS against the RSS after the first round (${afterFirstRound.toFixed(0)} MB)`,
        value: `${final.toFixed(0)} MB`,
        target: `≤ ${(afterFirstRound * 1.1).toFixed(0)} MB`,
        met: final <= afterFirstRound * 1.1,
      },
    ];
  } finally {
    if (exporter) await stopProcess(exporter);
    await lab.stop();
  }
}
