// The measured process of the doctor benchmark: runs doctor's own diagnose() over the servers of
// a job with mapBounded, as `checks/doctor.ts --list` does, and prints one JSON line with each
// run's time, the findings' statuses and the process's peak RSS. A process of its own, so that
// its memory and event loop are not the benchmark driver's (which runs the lab's DNS servers).
//   node --import tsx tools/bench/doctor-child.ts '<job as JSON>'
import { readFileSync } from 'node:fs';
import type { RunSettings } from '../../checks/areas/area.ts';
import { diagnose } from '../../checks/areas/diagnose.ts';
import { mapBounded } from '../../checks/areas/fleet.ts';
import { AREA_IDS } from '../../checks/areas/registry.ts';
import { parseServerName } from '../../checks/core/server-name.ts';
import type { Status as FindingStatus } from '../../checks/core/finding.ts';

export interface DoctorJob {
  names: string[];
  resolver: { host: string; port: number };
  timeoutMs: number;
  /** Servers checked at once (doctor's --concurrency, default 16). */
  concurrency: number;
  runs: number;
  /** A server checked once before the measured runs (modules loaded, code compiled). */
  warmup?: string;
  /** Trust this CA as --ca-file does (else the lab CA comes through NODE_EXTRA_CA_CERTS). */
  caFile?: string;
  areas?: string[];
}

export interface DoctorRun {
  elapsedMs: number;
  statuses: Record<FindingStatus, number>;
  /** "server id status" of every finding that is neither pass nor info (at most 20). */
  problems: string[];
  /** Servers with a finding that is neither pass nor info. */
  serversWithProblems: number;
  /** Sorted "id status" of the first server's findings: equal runs did the same work. */
  firstServer: string[];
  /** Probes sent and shared, summed over the servers (doctor's run cache). */
  probes: { sent: number; shared: number };
}

export interface DoctorJobResult {
  runs: DoctorRun[];
  maxRssMb: number;
  cpuMs: number;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as DoctorJob;
  const settings: RunSettings = {
    resolvers: [{ label: `${job.resolver.host}:${job.resolver.port}`, endpoint: job.resolver }],
    timeoutMs: job.timeoutMs,
    ca: job.caFile ? readFileSync(job.caFile, 'utf8') : undefined,
    areas: job.areas ?? AREA_IDS,
    // As doctor's fleet runs: the lab fleet's static servers are no homeservers to upload to.
    bulk: true,
  };
  const target = (name: string) => ({ name: parseServerName(name), expected: {} });
  if (job.warmup) await diagnose(target(job.warmup), settings);
  const cpu = process.cpuUsage();
  const runs: DoctorRun[] = [];
  for (let i = 0; i < job.runs; i++) {
    const started = performance.now();
    const results = await mapBounded(job.names, job.concurrency, (name) => diagnose(target(name), settings));
    const elapsedMs = performance.now() - started;
    const statuses: Record<FindingStatus, number> = { pass: 0, warn: 0, fail: 0, skip: 0, info: 0 };
    const problems: string[] = [];
    const probes = { sent: 0, shared: 0 };
    let serversWithProblems = 0;
    for (const { report } of results) {
      if (report.findings.some((f) => f.status !== 'pass' && f.status !== 'info')) serversWithProblems++;
      for (const f of report.findings) {
        statuses[f.status]++;
        if (f.status !== 'pass' && f.status !== 'info' && problems.length < 20)
          problems.push(`${report.serverName} ${f.id} ${f.status}: ${f.detail}`);
      }
      const sent = (report.extra as { probes?: { sent: number; shared: number } } | undefined)?.probes;
      probes.sent += sent?.sent ?? 0;
      probes.shared += sent?.shared ?? 0;
    }
    const firstServer = results[0].report.findings.map((f) => `${f.id} ${f.status}`).sort();
    runs.push({ elapsedMs, statuses, problems, serversWithProblems, firstServer, probes });
  }
  const used = process.cpuUsage(cpu);
  const result: DoctorJobResult = { runs, maxRssMb: process.resourceUsage().maxRSS / 1024, cpuMs: (used.user + used.system) / 1000 };
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

main().catch((error: unknown) => {
  process.stderr.write(`doctor-child: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
