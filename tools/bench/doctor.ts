// Benchmark cases of doctor (issue 7): latency, dead target, fleet and start-up.
//
// - latency: healthy lab servers (tools/bench/lab-fleet.ts: nginx, static JSON, dns2) reached through
//   a delaying relay (tools/bench/delay-relay.ts, 25 ms each way: a 50 ms round trip on every DNS
//   query and TCP connection the checks make). doctor on one server as it runs (areas at once,
//   probes at once) against the same run with the relay letting one probe through at a time;
//   and, as `--concurrency` does today, a fleet of 8 such servers at 16 at once against 1.
// - dead target: every address of the server (base domain, Matrix host and the zone's
//   nameserver) drops every packet (tools/bench/dead-hosts.ts); `checks/doctor.ts --timeout 2` as a
//   process must end within 2 × --timeout + 1 s (5 s), every failure saying it timed out.
// - fleet: 200 lab servers (a zone each on the lab DNS, one nginx choosing each server's
//   certificate by SNI); doctor over all of them in a process of its own: servers per second
//   and that process's peak RSS. Also the same with --ca-file, on fewer servers.
// - start-up: `--help` of a check and of a stage as processes, median of 7.
//
// Every doctor run is a process of its own (tools/bench/doctor-child.ts, or the CLI itself); the lab's
// DNS servers run here, nginx and the relay in their own processes. The timed runs trust the lab
// CA through NODE_EXTRA_CA_CERTS, i.e. through Node's own store, the path a public CA takes in
// real use; --ca-file is timed apart. Servers listen on loopback addresses only; the dead target
// uses a network namespace of the benchmark's own when `ip` and `iptables` work.
import { spawn, spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startDnsServer, type LabRecord, type RunningDnsServer } from '../../sandbox/dns-server.ts';
import { PROJECT_DIR } from '../../test/lab/servers/provision.ts';
import { startDeadHosts, type DeadHosts } from './dead-hosts.ts';
import { startRelayProcess, type RelayProcess, type RelayRoute } from './delay-relay.ts';
import type { DoctorJob, DoctorJobResult, DoctorRun } from './doctor-child.ts';
import type { Figure } from './figure.ts';
import { startFleetLab, type FleetLab } from './lab-fleet.ts';
import type { Report } from '../../checks/core/report.ts';

const CHILD = fileURLToPath(new URL('./doctor-child.ts', import.meta.url));

/** One way: a 50 ms round trip. */
const ONE_WAY_MS = 25;
const LATENCY_RUNS = 5;
const SERIAL_RUNS = 3;
const LATENCY_FLEET = 8;
const FLEET_SIZE = 200;
const CA_FILE_SERVERS = 30;
const DEAD_TIMEOUT_S = 2;
const STARTUP_RUNS = 7;
/** The areas the latency and fleet cases time (the dead target runs doctor's default areas). */
const AREAS = ['dns', 'wellknown', 'federation'];

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Runs a job in tools/bench/doctor-child.ts; the lab CA through NODE_EXTRA_CA_CERTS unless the job passes it as --ca-file does. */
function runChild(job: DoctorJob, caFile: string): Promise<DoctorJobResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', './scripts/lib/typescript.mjs', CHILD, JSON.stringify(job)], {
      cwd: PROJECT_DIR,
      env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    // Bounded: no job here takes ten minutes.
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`doctor child exited ${code ?? signal}: ${stderr.trim().slice(-2000)}`));
      try {
        resolve(JSON.parse(stdout) as DoctorJobResult);
      } catch {
        reject(new Error(`doctor child printed no result: ${stdout.slice(0, 500)} ${stderr.slice(-1000)}`));
      }
    });
  });
}

function assertHealthy(label: string, runs: DoctorRun[]): void {
  for (const run of runs) {
    const failing = run.statuses.fail + run.statuses.warn + run.statuses.skip;
    if (failing > 0) throw new Error(`${label}: the lab servers should be healthy, but: ${run.problems.join('; ')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// latency

/** Behind the relay (what DNS gives), the servers (where they listen). */
const LATENCY = {
  front: { base: '127.0.91.1', matrix: '127.0.91.2', resolver: '127.0.91.53', nameserver: '127.0.91.54' },
  back: { base: '127.0.90.1', matrix: '127.0.90.2', resolver: '127.0.90.53', nameserver: '127.0.90.54' },
};

export async function latencyCase(): Promise<Figure[]> {
  const { front, back } = LATENCY;
  let lab: FleetLab | undefined;
  let relay: RelayProcess | undefined;
  try {
    lab = await startFleetLab({
      count: LATENCY_FLEET,
      domain: 'latency.test',
      listen: { base: back.base, matrix: back.matrix },
      dns: { resolver: { host: back.resolver, port: 0 }, authoritative: { host: back.nameserver, port: 0 } },
      records: { base: front.base, matrix: front.matrix, nameserver: front.nameserver },
    });
    const routes: RelayRoute[] = [
      { protocol: 'tcp', listen: { host: front.base, port: 443 }, upstream: { host: back.base, port: 443 } },
      { protocol: 'tcp', listen: { host: front.matrix, port: 443 }, upstream: { host: back.matrix, port: 443 } },
      { protocol: 'tcp', listen: { host: front.matrix, port: 8448 }, upstream: { host: back.matrix, port: 8448 } },
    ];
    for (const [at, to] of [
      [front.resolver, lab.resolver],
      [front.nameserver, lab.authoritative],
    ] as const) {
      for (const protocol of ['udp', 'tcp'] as const) routes.push({ protocol, listen: { host: at, port: 53 }, upstream: to });
    }
    relay = await startRelayProcess(routes, ONE_WAY_MS);
    // A timeout no probe reaches even one at a time, so both runs do exactly the same work.
    const base = { resolver: { host: front.resolver, port: 53 }, timeoutMs: 60_000, warmup: lab.names[1], areas: AREAS };
    const one = { ...base, names: [lab.names[0]], concurrency: 1 };

    await relay.setSerial(false);
    const before = await relay.stats();
    const concurrent = await runChild({ ...one, runs: LATENCY_RUNS }, lab.caFile);
    const during = await relay.stats();
    await relay.setSerial(true);
    const serial = await runChild({ ...one, runs: SERIAL_RUNS }, lab.caFile);
    await relay.setSerial(false);
    assertHealthy('latency, doctor at its concurrency', concurrent.runs);
    assertHealthy('latency, probes one at a time', serial.runs);
    const same = (a: DoctorRun, b: DoctorRun) => a.firstServer.join('\n') === b.firstServer.join('\n') && a.probes.sent === b.probes.sent;
    if (![...concurrent.runs, ...serial.runs].every((run) => same(run, concurrent.runs[0]))) {
      throw new Error('latency: the concurrent and the one-at-a-time runs did not do the same work (findings or probe counts differ)');
    }
    // What one run sends through the relay (the warm-up run is one more run of the same work).
    const perRun = (n: number, m: number) => ((n - m) / (LATENCY_RUNS + 1)).toFixed(0);
    const connections = perRun(during.tcpConnections, before.tcpConnections);
    const queries = perRun(during.udpQueries, before.udpQueries);

    const fleetConcurrent = await runChild({ ...base, names: lab.names, concurrency: 16, runs: 1 }, lab.caFile);
    const fleetOneByOne = await runChild({ ...base, names: lab.names, concurrency: 1, runs: 1 }, lab.caFile);
    assertHealthy('latency fleet, --concurrency 16', fleetConcurrent.runs);
    assertHealthy('latency fleet, --concurrency 1', fleetOneByOne.runs);

    const fast = median(concurrent.runs.map((r) => r.elapsedMs));
    const slow = median(serial.runs.map((r) => r.elapsedMs));
    const ratio = slow / fast;
    const fleetRatio = fleetOneByOne.runs[0].elapsedMs / fleetConcurrent.runs[0].elapsedMs;
    const { sent, shared } = concurrent.runs[0].probes;
    return [
      {
        name: `doctor, 1 server, 50 ms RTT: probes one at a time ${seconds(slow)} ÷ at once ${seconds(fast)} (${sent} probes: ${connections} TCP, ${queries} UDP; ${shared} shared)`,
        value: `${ratio.toFixed(1)}×`,
        target: '≥ 4×',
        met: ratio >= 4,
      },
      {
        name: `doctor, ${LATENCY_FLEET} servers, 50 ms RTT: --concurrency 1 ${seconds(fleetOneByOne.runs[0].elapsedMs)} ÷ 16 ${seconds(fleetConcurrent.runs[0].elapsedMs)}`,
        value: `${fleetRatio.toFixed(1)}×`,
        target: '≥ 4×',
        met: fleetRatio >= 4,
      },
    ];
  } finally {
    await relay?.stop();
    await lab?.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// dead target

const DEAD_NAME = 'dead.test';
const DEAD_RESOLVER = '127.0.93.53';

function deadZone(addresses: string[]): LabRecord[] {
  const [base, matrix, nameserver] = addresses;
  return [
    { name: DEAD_NAME, type: 'SOA', value: `ns1.${DEAD_NAME} hostmaster.${DEAD_NAME} 2026010101 3600 600 86400 300` },
    { name: DEAD_NAME, type: 'NS', value: `ns1.${DEAD_NAME}` },
    { name: `ns1.${DEAD_NAME}`, type: 'A', value: nameserver },
    { name: DEAD_NAME, type: 'A', value: base },
    { name: `matrix.${DEAD_NAME}`, type: 'A', value: matrix },
    { name: `element.${DEAD_NAME}`, type: 'CNAME', value: `matrix.${DEAD_NAME}` },
  ];
}

function runCli(script: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; elapsedMs: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', './scripts/lib/typescript.mjs', script, ...args], {
      cwd: PROJECT_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, elapsedMs: performance.now() - started });
    });
  });
}

/** Words a finding uses when a probe got no answer in time. */
const TIMED_OUT = /timeout|timed out/i;

export async function deadTargetCase(): Promise<Figure[]> {
  let dead: DeadHosts | undefined;
  let resolver: RunningDnsServer | undefined;
  try {
    dead = await startDeadHosts(3);
    if (dead.note) console.error(`dead target: ${dead.note}; using ${dead.method}`);
    resolver = await startDnsServer({
      address: DEAD_RESOLVER,
      zones: [{ origin: DEAD_NAME, records: deadZone(dead.addresses) }],
      role: 'resolver',
    });
    const run = await runCli('checks/doctor.ts', [
      DEAD_NAME,
      '--resolver',
      `${resolver.address}:${resolver.port}`,
      '--timeout',
      String(DEAD_TIMEOUT_S),
      // outbound's default remotes are public servers the closed lab cannot resolve: it tests
      // federation with the dead target itself, so that every one of its probes meets the drop too.
      '--remote',
      DEAD_NAME,
      '--json',
    ]);
    let report: Report;
    try {
      report = JSON.parse(run.stdout);
    } catch {
      throw new Error(`dead target: doctor printed no JSON report (exit ${run.code}): ${run.stderr.trim().slice(0, 500)}`);
    }
    // The lab resolver is alive (the checks need it to find the dead addresses), so what is
    // judged from its answers alone may pass: the resolver itself, the zone's delegation, and
    // CAA (judged through resolvers when the source does not answer). Nothing else may.
    const fromResolver = (id: string) => id.startsWith('dns.resolver.') || id === 'dns.zone.nameservers' || id === 'dns.caa.letsencrypt';
    const passed = report.findings.filter((f) => f.status === 'pass' && !fromResolver(f.id));
    const failures = report.findings.filter((f) => f.status === 'fail' || f.status === 'warn');
    const silent = failures.filter((f) => !TIMED_OUT.test(`${f.title} ${f.detail ?? ''}`));
    // A skip is "could not be judged": listed when its reason does not name the timeout.
    const vague = report.findings.filter((f) => f.status === 'skip' && !TIMED_OUT.test(`${f.title} ${f.detail ?? ''}`));
    const problems: string[] = [];
    if (passed.length > 0) problems.push(`passed although nothing answers: ${passed.map((f) => f.id).join(', ')}`);
    if (failures.length === 0) problems.push('no failure reported');
    if (silent.length > 0)
      problems.push(`failures that do not say they timed out: ${silent.map((f) => `${f.id} (${f.detail})`).join('; ')}`);
    if (vague.length > 0)
      console.error(`dead target: skipped without naming the timeout: ${vague.map((f) => `${f.id} (${f.detail})`).join('; ')}`);
    // doctor's stated bound (its --help): each area within 2 x --timeout + 1 s, since federation
    // probes the fallback target within a --timeout of its own after discovery timed out, as a
    // homeserver would (issue 11).
    const limitMs = (2 * DEAD_TIMEOUT_S + 1) * 1000;
    const figures: Figure[] = [
      {
        name: `doctor --timeout ${DEAD_TIMEOUT_S}, every address drops packets (${dead.method}): process start to exit (checks ${seconds(report.durationMs)})`,
        value: seconds(run.elapsedMs),
        target: `< ${limitMs / 1000} s`,
        met: run.elapsedMs < limitMs,
      },
      {
        name: `doctor, dead target: all ${failures.length} failures say timed out; no pass but ${report.findings.filter((f) => f.status === 'pass').length} from the live resolver`,
        value: problems.length === 0 ? 'yes' : 'no',
        target: 'yes',
        met: problems.length === 0,
      },
    ];
    if (problems.length > 0) console.error(`dead target: ${problems.join('\n')}`);
    return figures;
  } finally {
    await resolver?.close();
    await dead?.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// fleet

const FLEET = { base: '127.0.92.1', matrix: '127.0.92.2', resolver: '127.0.92.53', nameserver: '127.0.92.54' };

export async function fleetCase(): Promise<Figure[]> {
  let lab: FleetLab | undefined;
  try {
    lab = await startFleetLab({
      count: FLEET_SIZE,
      domain: 'fleet.test',
      listen: { base: FLEET.base, matrix: FLEET.matrix },
      // The nameserver on port 53, where the glue sends the DNS check.
      dns: { resolver: { host: FLEET.resolver, port: 0 }, authoritative: { host: FLEET.nameserver, port: 53 } },
    });
    const job: DoctorJob = {
      names: lab.names,
      resolver: lab.resolver,
      timeoutMs: 5000,
      concurrency: 16,
      runs: 1,
      warmup: lab.names[0],
      areas: AREAS,
    };
    const result = await runChild(job, lab.caFile);
    assertHealthy('fleet', result.runs);
    const run = result.runs[0];
    const rate = FLEET_SIZE / (run.elapsedMs / 1000);
    const cpuPerServer = result.cpuMs / FLEET_SIZE;
    // The same with the lab CA given as --ca-file gives it, instead of through Node's own store
    // (NODE_EXTRA_CA_CERTS, the path a public CA takes): fewer servers, it is much slower.
    // Its own CPU makes probes miss their deadline there: healthy servers get failures, counted.
    const withCaFile = await runChild({ ...job, names: lab.names.slice(0, CA_FILE_SERVERS), caFile: lab.caFile }, lab.caFile);
    const caFileRate = CA_FILE_SERVERS / (withCaFile.runs[0].elapsedMs / 1000);
    const falseFailures = withCaFile.runs[0].serversWithProblems;
    return [
      {
        name: `doctor, ${FLEET_SIZE} lab servers, 16 at once (${seconds(run.elapsedMs)}; a server: ${cpuPerServer.toFixed(0)} ms CPU, ${(run.probes.sent / FLEET_SIZE).toFixed(0)} probes)`,
        value: `${rate.toFixed(1)}/s`,
        target: '≥ 50/s',
        met: rate >= 50,
      },
      {
        name: `doctor, ${FLEET_SIZE} lab servers: peak RSS of its process`,
        value: `${result.maxRssMb.toFixed(0)} MB`,
        target: '< 250 MB',
        met: result.maxRssMb < 250,
      },
      {
        name: `the same with --ca-file, ${CA_FILE_SERVERS} servers (a server: ${(withCaFile.cpuMs / CA_FILE_SERVERS).toFixed(0)} ms CPU; ${falseFailures} of ${CA_FILE_SERVERS} falsely failing)`,
        value: `${caFileRate.toFixed(1)}/s`,
        target: 'printed',
        met: true,
      },
    ];
  } finally {
    await lab?.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// start-up

export function startupCase(): Figure[] {
  const measure = (script: string) => {
    const times: number[] = [];
    for (let i = 0; i < STARTUP_RUNS; i++) {
      const started = performance.now();
      const result = spawnSync(process.execPath, ['--import', './scripts/lib/typescript.mjs', script, '--help'], {
        cwd: PROJECT_DIR,
        encoding: 'utf8',
        timeout: 60_000,
      });
      times.push(performance.now() - started);
      if (result.status !== 0 || !/^Usage/m.test(result.stdout))
        throw new Error(`${script} --help: exit ${result.status}, ${result.stderr.trim().slice(0, 300)}`);
    }
    return median(times);
  };
  return [
    {
      name: `start-up: checks/dns.ts --help (a check), median of ${STARTUP_RUNS}`,
      value: `${measure('checks/dns.ts').toFixed(0)} ms`,
      target: 'printed',
      met: true,
    },
    {
      name: `start-up: scripts/configure.ts --help (a stage), median of ${STARTUP_RUNS}`,
      value: `${measure('scripts/configure.ts').toFixed(0)} ms`,
      target: 'printed',
      met: true,
    },
  ];
}

// ---------------------------------------------------------------------------------------------

export async function doctorCases(): Promise<Figure[]> {
  const load = loadavg()[0];
  const figures = [...(await latencyCase()), ...(await deadTargetCase()), ...(await fleetCase()), ...startupCase()];
  figures.push({
    name: `load average (1 min) before the doctor cases, ${cpus().length} CPUs`,
    value: load.toFixed(1),
    target: 'printed',
    met: true,
  });
  return figures;
}
