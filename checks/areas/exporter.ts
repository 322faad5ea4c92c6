// A Prometheus exporter for doctor (checks/doctor.ts serve), after blackbox_exporter's
// multi-target pattern (https://github.com/prometheus/blackbox_exporter#prometheus-configuration):
// Prometheus asks GET /probe?target=example.org&area=federation,turn, the exporter runs those
// areas against that server and answers with the findings as metrics. GET /metrics gives the
// exporter's own process metrics (prom-client), GET / a status page; nothing else is served.
//
// - Each probe is bounded by Prometheus's scrape timeout (X-Prometheus-Scrape-Timeout-Seconds,
//   less half a second, as blackbox_exporter's timeout_offset), and answers by then whatever the
//   target does: a target that hangs holds one slot until its own areas give up, never a scrape.
// - At most --concurrency runs at once; a scrape of a target that is already being probed with
//   the same areas waits for that run instead of starting another, and a result is reused for
//   --cache-seconds (two Prometheus servers of an HA pair probe once).
// - Secrets belong to the servers of --inventory (credentials.ts: --credentials FILE or
//   doctor-credentials.yml beside it; the environment's tokens only for an inventory of one
//   server), never to a target named by the query string, which takes only target and area.
//   Other targets are probed without any secret.
// - Targets of the exporter's own networks are refused before any connection (probe-target.ts)
//   unless --allow-private.
// - It listens on loopback unless --listen says otherwise.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { ParseArgsConfig } from 'node:util';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { COMMON_OPTIONS, namedResolvers, parseCommandLine, parseConnectTo, parseResolvers, parseTimeout, readCaFile } from '../core/cli.ts';
import { InputError } from '../core/errors.ts';
import type { Finding, Status } from '../core/finding.ts';
import { formatEndpoint } from '../core/net.ts';
import { isIP } from 'node:net';
import { escapeHtml } from '../core/report-html.ts';
import { parseServerName } from '../core/server-name.ts';
import type { RunSettings, ServerTarget } from './area.ts';
import { diagnose, type ServerResult } from './diagnose.ts';
import { fleetCredentials, withCredentials } from './credentials.ts';
import { fleetTargets } from './fleet.ts';
import { ownNetworkGuard, refusedTarget, targetRefusal } from './probe-target.ts';
import { AREA_IDS, selectAreas } from './registry.ts';

export const DEFAULT_LISTEN = '127.0.0.1:9869';

const HELP = `Usage: doctor.ts serve [--listen ADDR:PORT] [options]

A Prometheus exporter, as blackbox_exporter: Prometheus scrapes
  /probe?target=example.org&area=federation,turn   the findings of those areas (all when no area)
  /metrics                                          the exporter's own process metrics
  /                                                 a status page

  --listen ADDR:PORT     where to listen (default ${DEFAULT_LISTEN}: loopback only)
  --inventory FILE       an MDAD inventory: its servers are probed with their plans (host_vars)
  --credentials FILE     the inventory's servers' tokens (server: {access_token, admin_token}),
                         mode 600; default doctor-credentials.yml beside --inventory
  --allow-private        also probe targets that are or resolve to loopback, private,
                         link-local, CGNAT or this machine's addresses (refused by default)
  --concurrency N        probes running at once (default 8)
  --cache-seconds N      reuse a probe's result this long (default 5; 0: never)
  --authoritative IP[:PORT] the DNS source to ask instead of the zones' nameservers
  --resolver IP[:PORT]   send every name lookup to this server (repeatable)
  --ca-file FILE         also trust this CA (PEM) for TLS
  --connect-to HOST:PORT:ADDR:PORT  connect there for HOST:PORT whatever DNS says (repeatable)
  --timeout SECONDS      per-probe timeout (default 5; less when the scrape timeout is short)
  -h, --help             this help

Exit codes: 0 stopped by SIGTERM or SIGINT, 3 could not start (one line on stderr).

Tokens are used only for the servers of --inventory, each with its own (the environment's
MATRIX_ACCESS_TOKEN only when the inventory has one server); any other target is probed without
a secret. The turn area uses the TURN secret of the inventory's vars.yml. Nothing secret is read
from the query string.
Prometheus's scrape timeout (X-Prometheus-Scrape-Timeout-Seconds) bounds every probe.`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  listen: { type: 'string', default: DEFAULT_LISTEN },
  inventory: { type: 'string' },
  concurrency: { type: 'string', default: '8' },
  'cache-seconds': { type: 'string', default: '5' },
  authoritative: { type: 'string', multiple: true, default: [] as string[] },
  credentials: { type: 'string' },
  'allow-private': { type: 'boolean', default: false },
} satisfies ParseArgsConfig['options'];

/** blackbox_exporter's timeout_offset: the answer must reach Prometheus before its deadline. */
const TIMEOUT_OFFSET_MS = 500;
/** Without the header (a person with curl): as long as the areas may take with the default timeout. */
const DEFAULT_BUDGET_MS = 15_000;
const STATUS_VALUE: Record<Status, number> = { pass: 0, info: 0, skip: 0, warn: 1, fail: 2 };

export interface ExporterOptions {
  settings: Omit<RunSettings, 'areas'>;
  concurrency: number;
  cacheMs: number;
  /** Servers with a plan (from an inventory), by server name, each with its own tokens if any. */
  known?: ReadonlyMap<string, ServerTarget>;
  /** Probe targets of private and loopback networks too (default: refused). */
  allowPrivate?: boolean;
}

export interface ProbeQuery {
  target: string;
  areas: string[];
}

/** The query of /probe: target and area only; anything else is a bad request (one line). */
export function parseProbeQuery(search: URLSearchParams): ProbeQuery {
  for (const key of new Set(search.keys())) {
    if (key !== 'target' && key !== 'area') throw new InputError(`unknown parameter "${key}" (allowed: target, area)`);
  }
  const targets = search.getAll('target');
  if (targets.length !== 1) throw new InputError(targets.length ? 'give one target' : 'target is missing, e.g. /probe?target=example.org');
  const name = parseServerName(targets[0]);
  const area = search.getAll('area').join(',');
  const areas = area.trim() === '' ? [...AREA_IDS] : selectAreas(area, undefined, { only: 'area', skip: 'area' });
  return { target: name.given, areas };
}

function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The probe's answer in Prometheus text format 0.0.4. */
export function probeMetrics(result: ServerResult | undefined, durationMs: number, timedOut: boolean): string {
  const lines: string[] = [];
  const gauge = (name: string, help: string, rows: [string, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, ...rows.map(([labels, v]) => `${name}${labels} ${v}`));
  };
  const success = result && !timedOut && result.report.exitCode < 2 ? 1 : 0;
  gauge('probe_success', 'Whether the server passed: 1 when no finding failed (warnings allowed) and the probe finished in time.', [
    ['', success],
  ]);
  gauge('probe_duration_seconds', 'How long the probe took.', [['', Number((durationMs / 1000).toFixed(3))]]);
  gauge('matrix_doctor_probe_timed_out', 'Whether the probe was cut short by the scrape timeout.', [['', timedOut ? 1 : 0]]);
  if (result) {
    const entries = Object.entries(result.areas);
    gauge(
      'matrix_doctor_area_duration_seconds',
      'How long each area took.',
      entries.map(([area, r]) => [`{area="${label(area)}"}`, Number((r.durationMs / 1000).toFixed(3))]),
    );
    const rows: [string, number][] = [];
    const days: [string, number][] = [];
    for (const [area, r] of entries) {
      for (const f of r.findings) {
        rows.push([`{id="${label(f.id)}",area="${label(area)}",status="${f.status}"}`, STATUS_VALUE[f.status]]);
        const left = (f.evidence as { daysLeft?: unknown } | undefined)?.daysLeft;
        if (typeof left === 'number') days.push([`{id="${label(f.id)}",area="${label(area)}"}`, left]);
      }
    }
    gauge('matrix_doctor_finding_status', 'Each finding: 0 pass (or info, skip), 1 warning, 2 failure; its status as a label.', rows);
    gauge(
      'matrix_doctor_findings',
      'Findings of the probe, by status.',
      (['fail', 'warn', 'skip', 'info', 'pass'] as Status[]).map((s) => [`{status="${s}"}`, result.report.summary[s]]),
    );
    if (days.length) gauge('matrix_doctor_certificate_days_left', 'Days until a certificate the probe saw expires.', days);
  }
  return `${lines.join('\n')}\n`;
}

interface RecentProbe {
  at: string;
  target: string;
  areas: string;
  success: number;
  ms: number;
  worst?: string;
}

export interface Exporter {
  handle(request: IncomingMessage, response: ServerResponse): void;
  registry: Registry;
  /** Runs in flight or waiting for a slot. */
  pending(): number;
}

/**
 * What keeps the exporter's memory flat under steady probing (docs/monitoring.md "Memory"): a
 * young generation of 8 MB instead of the up to 128 MB V8 commits on a large machine, an old
 * generation allowed to grow 20 % past what survived its last full collection (V8's own factor
 * goes up to 4 on a machine with much memory, and the heap it commits follows), and glibc's
 * allocator held to two arenas with fixed trim and mmap thresholds. All must be set when Node
 * starts, so serve can only say which are missing.
 */
export const MEMORY_SETTINGS = {
  v8: ['--max-semi-space-size=4', '--heap-growing-percent=20'],
  env: { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '131072' },
} as const;

/** The memory settings this process was started without. */
export function missingMemorySettings(execArgv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const flags = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)];
  const missing: string[] = MEMORY_SETTINGS.v8.filter((setting) => !flags.some((f) => f.startsWith(setting.split('=')[0])));
  for (const [name, value] of Object.entries(MEMORY_SETTINGS.env)) if (env[name] === undefined) missing.push(`${name}=${value}`);
  return missing;
}

export function createExporter(options: ExporterOptions): Exporter {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const probes = new Counter({
    name: 'matrix_doctor_exporter_probes_total',
    help: 'Probes answered, by result (success, failure, timeout, bad_request).',
    labelNames: ['result'],
    registers: [registry],
  });
  const probeSeconds = new Histogram({
    name: 'matrix_doctor_exporter_probe_duration_seconds',
    help: 'How long probes took to answer.',
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const running = new Gauge({ name: 'matrix_doctor_exporter_runs_in_flight', help: 'Area runs in flight.', registers: [registry] });
  const waiting = new Gauge({ name: 'matrix_doctor_exporter_runs_waiting', help: 'Runs waiting for a slot.', registers: [registry] });
  const shared = new Counter({
    name: 'matrix_doctor_exporter_shared_total',
    help: 'Probes answered from a run already in flight or a recent result instead of a new run.',
    registers: [registry],
  });

  // Bounded concurrency: a queue of waiting runs, each started when a slot frees.
  let active = 0;
  const queue: (() => void)[] = [];
  const acquire = () =>
    new Promise<void>((resolve) => {
      if (active < options.concurrency) {
        active++;
        resolve();
      } else queue.push(resolve);
      waiting.set(queue.length);
    });
  const release = () => {
    const next = queue.shift();
    waiting.set(queue.length);
    if (next) next();
    else active--;
  };

  // Shared between scrapes: the run in flight for a (target, areas), and recent results.
  const inFlight = new Map<string, Promise<ServerResult>>();
  const recentResults = new Map<string, { at: number; result: ServerResult }>();
  const recent: RecentProbe[] = [];
  const MAX_CACHED = 10_000;

  const run = (query: ProbeQuery, timeoutMs: number): Promise<ServerResult> => {
    const key = `${query.target}\u0000${query.areas.join(',')}`;
    const cached = recentResults.get(key);
    if (cached && Date.now() - cached.at < options.cacheMs) {
      shared.inc();
      return Promise.resolve(cached.result);
    }
    const existing = inFlight.get(key);
    if (existing) {
      shared.inc();
      return existing;
    }
    const target: ServerTarget = options.known?.get(query.target) ?? { name: parseServerName(query.target), expected: {} };
    const work = (async () => {
      await acquire();
      running.inc();
      try {
        const started = new Date();
        const refusal = options.allowPrivate ? undefined : await targetRefusal(target.name, options.settings.resolvers, timeoutMs);
        if (refusal) return refusedTarget(target, refusal, started);
        const guard = options.allowPrivate ? { privateNamesAllowed: true } : { guard: ownNetworkGuard() };
        return await diagnose(target, { ...options.settings, timeoutMs, areas: query.areas, bulk: true, ...guard });
      } finally {
        running.dec();
        release();
      }
    })();
    inFlight.set(key, work);
    work
      .then(
        (result) => {
          if (options.cacheMs <= 0) return;
          const now = Date.now();
          for (const [k, v] of recentResults)
            if (now - v.at >= options.cacheMs || recentResults.size >= MAX_CACHED) recentResults.delete(k);
          recentResults.set(key, { at: now, result });
        },
        () => {},
      )
      .finally(() => inFlight.delete(key));
    return work;
  };

  const probe = async (request: IncomingMessage, response: ServerResponse, search: URLSearchParams) => {
    const started = performance.now();
    let query: ProbeQuery;
    try {
      query = parseProbeQuery(search);
    } catch (error) {
      probes.inc({ result: 'bad_request' });
      return answer(response, 400, 'text/plain; charset=utf-8', `${oneLine(error)}\n`);
    }
    const header = Number(request.headers['x-prometheus-scrape-timeout-seconds']);
    const budgetMs = Number.isFinite(header) && header > 0 ? header * 1000 - TIMEOUT_OFFSET_MS : DEFAULT_BUDGET_MS;
    // diagnose bounds each area by twice the per-probe timeout plus a second.
    const timeoutMs = Math.max(100, Math.min(options.settings.timeoutMs, Math.floor((budgetMs - 1000 - 200) / 2)));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), Math.max(0, budgetMs - 50));
    });
    let result: ServerResult | undefined;
    try {
      result = await Promise.race([run(query, timeoutMs), deadline]);
    } catch {
      result = undefined;
    } finally {
      clearTimeout(timer);
    }
    const durationMs = performance.now() - started;
    const timedOut = result === undefined;
    const body = probeMetrics(result, durationMs, timedOut);
    const success = !timedOut && result!.report.exitCode < 2;
    probes.inc({ result: timedOut ? 'timeout' : success ? 'success' : 'failure' });
    probeSeconds.observe(durationMs / 1000);
    const worst = result?.report.findings.find((f: Finding) => f.status === 'fail' || f.status === 'warn');
    recent.unshift({
      at: new Date().toISOString(),
      target: query.target,
      areas: query.areas.join(','),
      success: success ? 1 : 0,
      ms: Math.round(durationMs),
      worst: timedOut ? 'timed out' : worst ? `${worst.status} ${worst.id}` : undefined,
    });
    recent.length = Math.min(recent.length, 20);
    answer(response, 200, 'text/plain; version=0.0.4; charset=utf-8', body);
  };

  const status = () => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>matrix doctor exporter</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:auto;padding:1rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #8884;padding:.2rem .4rem;text-align:left;overflow-wrap:anywhere}</style>
</head><body>
<h1>matrix doctor exporter</h1>
<p><a href="/metrics">/metrics</a> · probe a server: <code>/probe?target=example.org&amp;area=${escapeHtml(AREA_IDS.join(','))}</code></p>
<p>${active} running, ${queue.length} waiting, at most ${options.concurrency} at once.</p>
<h2>Recent probes</h2>
<table><tr><th>when</th><th>target</th><th>areas</th><th>success</th><th>ms</th><th>worst finding</th></tr>
${recent.map((r) => `<tr><td>${escapeHtml(r.at)}</td><td>${escapeHtml(r.target)}</td><td>${escapeHtml(r.areas)}</td><td>${r.success}</td><td>${r.ms}</td><td>${escapeHtml(r.worst ?? '')}</td></tr>`).join('\n')}
</table></body></html>
`;

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://exporter');
    } catch {
      return answer(response, 400, 'text/plain; charset=utf-8', 'bad request line\n');
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return answer(response, 405, 'text/plain; charset=utf-8', `method ${request.method} not allowed\n`);
    }
    const fail = (error: unknown) => {
      if (!response.headersSent) answer(response, 500, 'text/plain; charset=utf-8', `${oneLine(error)}\n`);
      else response.destroy();
    };
    if (url.pathname === '/probe') probe(request, response, url.searchParams).catch(fail);
    else if (url.pathname === '/metrics') registry.metrics().then((text) => answer(response, 200, registry.contentType, text), fail);
    else if (url.pathname === '/') answer(response, 200, 'text/html; charset=utf-8', status());
    else answer(response, 404, 'text/plain; charset=utf-8', 'not found: the paths are /probe, /metrics and /\n');
  };

  return { handle, registry, pending: () => active + queue.length };
}

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}

function answer(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}

export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+|localhost)):(\d{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (!host || (host !== 'localhost' && isIP(host) === 0) || port > 65535)
    throw new InputError(`--listen "${text}" is not ADDRESS:PORT (e.g. ${DEFAULT_LISTEN}, [::1]:9869)`);
  return { host, port };
}

function wholeNumber(text: string, option: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new InputError(`${option} must be a whole number from ${min} to ${max}, not "${text}"`);
  return n;
}

/** `doctor.ts serve`: runs until SIGINT or SIGTERM, then exits 0. */
export async function serveMain(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (positionals.length) throw new InputError(`serve takes no server name (Prometheus names the target): ${positionals.join(' ')}`);
  if (values.json || values.vars || values.playbook)
    throw new InputError('serve takes no --json, --vars or --playbook: give the servers with plans as --inventory');
  const listen = parseListen(values.listen);
  if (values.credentials !== undefined && values.inventory === undefined)
    throw new InputError('serve uses --credentials only for the servers of --inventory: give the inventory too');
  const servers = values.inventory ? (await fleetTargets({ inventory: values.inventory })).filter((t) => !t.unreadable) : [];
  const credentials = await fleetCredentials(servers, values, 'serve');
  const outside = [...credentials.keys()].filter((name) => !servers.some((t) => t.name.host.toLowerCase() === name));
  if (outside.length)
    throw new InputError(
      `--credentials: ${outside.join(', ')} not in --inventory; the exporter sends tokens only to the inventory's servers`,
    );
  const known = values.inventory ? new Map(servers.map((t) => [t.name.given, withCredentials(t, credentials)] as const)) : undefined;
  const exporter = createExporter({
    settings: {
      resolvers: namedResolvers(values.resolver),
      timeoutMs: parseTimeout(values.timeout),
      ca: readCaFile(values['ca-file']),
      connectTo: parseConnectTo(values['connect-to']),
      authoritative: values.authoritative.length ? parseResolvers(values.authoritative) : undefined,
    },
    concurrency: wholeNumber(values.concurrency, '--concurrency', 1, 1000),
    cacheMs: wholeNumber(values['cache-seconds'], '--cache-seconds', 0, 3600) * 1000,
    known,
    allowPrivate: values['allow-private'],
  });
  const server = createServer(exporter.handle);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new InputError(`--listen ${values.listen}: ${error.code === 'EADDRINUSE' ? 'address in use' : (error.code ?? error.message)}`),
      ),
    );
    server.listen(listen.port, listen.host, resolve);
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? formatEndpoint({ host: address.address, port: address.port }) : values.listen;
  process.stderr.write(`doctor serve: listening on http://${bound}/ (/probe, /metrics)\n`);
  const missing = missingMemorySettings(process.execArgv, process.env);
  if (missing.length)
    process.stderr.write(
      `doctor serve: started without ${missing.join(' ')}: its memory will grow under steady probing (docs/monitoring.md, "Memory")\n`,
    );
  return new Promise<number>((resolve) => {
    const stop = () => {
      server.close(() => resolve(0));
      server.closeAllConnections();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
