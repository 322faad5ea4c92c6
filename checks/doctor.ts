// doctor: every check area in one run, for one server or a fleet. Areas run concurrently and
// share their probes (each DNS answer and HTTP response is gathered once per run); a crash or
// hang in one area becomes a finding and never stops the others or the other servers.
//   npx tsx checks/doctor.ts example.org --vars inventory/host_vars/matrix.example.org/vars.yml
//   npx tsx checks/doctor.ts --inventory inventory/hosts --json
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { COMMON_HELP, COMMON_OPTIONS, isMain, namedResolvers, parseCommandLine, parseConnectTo, parseResolvers, parseTimeout, readCaFile, runCommand } from './core/cli.ts';
import type { Endpoint } from './core/net.ts';
import { InputError } from './core/errors.ts';
import type { Finding } from './core/finding.ts';
import { buildReport, renderJson, useColour, type Report } from './core/report.ts';
import { renderDoctorTable, renderFleetTable, renderPrometheus } from './core/doctor-report.ts';
import { parseServerName, type ServerName } from './core/server-name.ts';
import { loadPlan } from './plan/load.ts';
import { planFromServerName } from './plan/plan.ts';
import { inventoryHosts } from './plan/inventory.ts';
import type { Plan } from './plan/types.ts';
import type { NamedServer } from './facts/dns.ts';
import type { ConnectTo } from './facts/http.ts';
import { withRunCache } from './probes/run-cache.ts';
import { inventoryAddress, parseExpectIp, runDnsCheck } from './dns.ts';
import { runWellKnownCheck } from './wellknown.ts';
import { runFederationCheck } from './federation.ts';
import { planInput, planSecret, runTurnCheck } from './turn.ts';
import type { ExpectedAddresses } from './facts/dns.ts';

const HELP = `Usage: doctor.ts <server-name> [options]
       doctor.ts --inventory inventory/hosts | --list FILE [options]

Runs every check area at once (dns, wellknown, federation, turn) and prints one report:
failures first, each with its fix, grouped by area.

  --only AREA,…          run only these areas
  --skip AREA,…          run all but these areas
  --expect-ip IPV4[,IPV6] the server's public address(es)
  --authoritative IP[:PORT] the DNS source to ask instead of the zone's nameservers
  --format table|json|prom  the report as a table (default), JSON (= --json) or Prometheus text
  --inventory FILE       every host of an MDAD inventory (its plan from host_vars beside it)
  --list FILE            one server name a line
  --concurrency N        servers checked at once in a fleet run (default 16)
${COMMON_HELP}

The turn area probes TURN as a logged-in client when MATRIX_ACCESS_TOKEN is set in the
environment, else from the coturn settings of --vars/--playbook.

Examples:
  npx tsx checks/doctor.ts example.org --vars inventory/host_vars/matrix.example.org/vars.yml
  npx tsx checks/doctor.ts --inventory inventory/hosts --format prom > /var/lib/node_exporter/matrix.prom`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  only: { type: 'string' },
  skip: { type: 'string' },
  'expect-ip': { type: 'string' },
  authoritative: { type: 'string', multiple: true, default: [] as string[] },
  format: { type: 'string' },
  inventory: { type: 'string' },
  list: { type: 'string' },
  concurrency: { type: 'string', default: '16' },
} satisfies ParseArgsConfig['options'];

export interface ServerTarget {
  name: Pick<ServerName, 'host' | 'port' | 'isIpLiteral'> & { given: string };
  plan?: Plan;
  expected: ExpectedAddresses;
  /** In a fleet: why this server's configuration or name could not be read (nothing is probed). */
  unreadable?: string;
}

export interface RunSettings {
  resolvers: NamedServer[];
  timeoutMs: number;
  ca?: string;
  connectTo?: readonly ConnectTo[];
  /** For the DNS area: ask these as the source instead of the zone's nameservers. */
  authoritative?: Endpoint[];
  areas: readonly string[];
}

type Area = (target: ServerTarget, settings: RunSettings) => Promise<Finding[]>;

export const AREAS: Record<string, Area> = {
  dns: async (target, s) => {
    if (target.name.isIpLiteral) return [{ id: 'dns.name.ip', status: 'skip', title: 'DNS', detail: 'The server name is an IP address: no DNS records to check' }];
    const plan = target.plan ?? planFromServerName(target.name.host);
    return (await runDnsCheck({ plan, expected: target.expected, resolvers: s.resolvers, authoritative: s.authoritative, timeoutMs: s.timeoutMs })).findings;
  },
  wellknown: async (target, s) => {
    if (target.name.isIpLiteral || target.name.port !== undefined) {
      return [{ id: 'wellknown.skipped', status: 'skip', title: '.well-known', detail: 'A server name with an IP or a port is not discovered through .well-known' }];
    }
    return (await runWellKnownCheck({ serverName: target.name.host, plan: target.plan, resolvers: s.resolvers, timeoutMs: s.timeoutMs, ca: s.ca, connectTo: s.connectTo })).findings;
  },
  federation: (target, s) => runFederationCheck({ name: target.name, resolvers: s.resolvers, timeoutMs: s.timeoutMs, ca: s.ca, connectTo: s.connectTo }),
  // As a logged-in client when MATRIX_ACCESS_TOKEN is set, else from the plan's coturn settings.
  turn: async (target, s) => {
    const token = process.env.MATRIX_ACCESS_TOKEN?.trim();
    const addresses = [target.expected.ipv4, target.expected.ipv6].filter((a): a is string => a !== undefined);
    const { findings } = await runTurnCheck({
      serverName: target.name.host,
      ...planInput(target.plan),
      resolvers: s.resolvers,
      timeoutMs: s.timeoutMs,
      ...(s.ca ? { ca: s.ca } : {}),
      connectTo: s.connectTo,
      ...(token ? { auth: { kind: 'token', token } } : {}),
      turnUris: [],
      secrets: planSecret(target.plan),
      ...(addresses.length ? { expected: { addresses, from: target.expected.from ?? '--expect-ip' } } : {}),
    });
    return findings;
  },
};

export interface ServerResult {
  report: Report;
  areas: Record<string, { findings: Finding[]; durationMs: number }>;
}

/** Areas concurrently, each bounded by the timeout plus a margin; a throw or hang is a finding. */
export async function diagnose(target: ServerTarget, settings: RunSettings): Promise<ServerResult> {
  const started = new Date();
  if (target.unreadable) {
    const findings: Finding[] = [
      { id: 'doctor.config.unreadable', status: 'fail', title: 'Configuration of this server', detail: target.unreadable, fix: 'Correct the inventory entry, its host_vars/…/vars.yml or the list line, then run again' },
    ];
    return { report: buildReport('doctor', target.name.given, started, findings), areas: { config: { findings, durationMs: 0 } } };
  }
  const areaBudget = settings.timeoutMs * 2 + 1000;
  const { result, hits, misses } = await withRunCache(() =>
    Promise.all(
      settings.areas.map(async (area) => {
        const t0 = performance.now();
        const findings = await guarded(area, () => AREAS[area](target, settings), areaBudget);
        return [area, { findings, durationMs: Math.round(performance.now() - t0) }] as const;
      }),
    ),
  );
  const ids = new Set(result.flatMap(([, r]) => r.findings.map((f) => f.id)));
  const areas = Object.fromEntries(result.map(([area, r]) => [area, { ...r, findings: withoutRepeats(r.findings, ids) }]));
  const findings = Object.values(areas).flatMap((r) => r.findings);
  const report = buildReport('doctor', target.name.given, started, findings, {
    areas: Object.fromEntries(result.map(([a, r]) => [a, { durationMs: r.durationMs, findings: r.findings.length }])),
    // How many probes the areas shared instead of repeating.
    probes: { sent: misses, shared: hits },
  });
  return { report, areas };
}

// Judgements two areas make alike: when both ran, the report keeps the first and drops the second.
const SAME_JUDGEMENT: Record<string, string> = { 'turn.rtc.foci': 'wellknown.client.rtc_foci' };

function withoutRepeats(findings: Finding[], ids: Set<string>): Finding[] {
  return findings.filter((f) => !(SAME_JUDGEMENT[f.id] && ids.has(SAME_JUDGEMENT[f.id])));
}

async function guarded(area: string, work: () => Promise<Finding[]>, budgetMs: number): Promise<Finding[]> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<Finding[]>((resolve) => {
    timer = setTimeout(
      () => resolve([{ id: `doctor.${area}.unfinished`, status: 'skip', title: `${area} check`, detail: `Did not finish within ${budgetMs} ms and was abandoned; the other areas are unaffected` }]),
      budgetMs,
    );
  });
  try {
    return await Promise.race([work(), hang]);
  } catch (error) {
    // A bug in a check must not hide the other areas' results: report it as a finding.
    return [{ id: `doctor.${area}.crashed`, status: 'skip', title: `${area} check`, detail: `Could not run: ${(error as Error).message}` }];
  } finally {
    clearTimeout(timer);
  }
}

function selectAreas(only: string | undefined, skip: string | undefined): string[] {
  const known = Object.keys(AREAS);
  const parse = (text: string, option: string) => {
    const names = text.split(',').map((a) => a.trim()).filter(Boolean);
    const unknown = names.filter((n) => !known.includes(n));
    if (unknown.length) throw new InputError(`${option}: unknown area ${unknown.join(', ')} (areas: ${known.join(', ')})`);
    return names;
  };
  const chosen = only ? parse(only, '--only') : known;
  const skipped = skip ? parse(skip, '--skip') : [];
  const areas = chosen.filter((a) => !skipped.includes(a));
  if (areas.length === 0) throw new InputError('no area left to run');
  return areas;
}

/** The servers of a fleet run: an MDAD inventory (plans from host_vars) or a plain list. */
async function fleetTargets(values: { inventory?: string; list?: string }): Promise<ServerTarget[]> {
  const read = async (file: string, option: string) => {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      throw new InputError(`${option} ${file}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
  };
  if (values.inventory) {
    const hosts = inventoryHosts(await read(values.inventory, '--inventory'));
    if (hosts.length === 0) throw new InputError(`--inventory ${values.inventory}: no host in [matrix_servers]`);
    const playbook = dirname(dirname(values.inventory));
    return Promise.all(
      hosts.map(async (host) => {
        try {
          const plan = await loadPlan({ vars: join(dirname(values.inventory!), 'host_vars', host.name, 'vars.yml'), playbook });
          return { name: parseServerName(plan.serverName, { allowMatrixPrefix: true }), plan, expected: inventoryAddress(plan) };
        } catch (error) {
          return unreadable(host.name, error);
        }
      }),
    );
  }
  const names = (await read(values.list!, '--list')).split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
  if (names.length === 0) throw new InputError(`--list ${values.list}: no server name in it`);
  return names.map((line) => {
    try {
      return { name: parseServerName(line), expected: {} };
    } catch (error) {
      return unreadable(line, error);
    }
  });
}

/** One server's unreadable entry is that server's failure, not the fleet's. */
function unreadable(given: string, error: unknown): ServerTarget {
  if (!(error instanceof InputError)) throw error;
  return { name: { given, host: given, isIpLiteral: false }, expected: {}, unreadable: error.message };
}

/** At most `limit` at once, results in input order. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>, onDone?: (done: number) => void): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
      onDone?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A progress line on stderr while a run takes longer than a second, only on a terminal. */
function progress(label: () => string): () => void {
  if (!process.stderr.isTTY) return () => {};
  const started = Date.now();
  const timer = setInterval(() => {
    if (Date.now() - started > 1000) process.stderr.write(`\r${label()}, ${((Date.now() - started) / 1000).toFixed(1)} s `);
  }, 200);
  return () => {
    clearInterval(timer);
    if (Date.now() - started > 1000) process.stderr.write('\r\u001b[K');
  };
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine(process.argv.slice(2), OPTIONS);
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const format = values.json ? 'json' : (values.format ?? 'table');
  if (!['table', 'json', 'prom'].includes(format)) throw new InputError(`--format must be table, json or prom, not "${format}"`);
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000) throw new InputError(`--concurrency must be a whole number from 1 to 1000, not "${values.concurrency}"`);
  const settings: RunSettings = {
    resolvers: namedResolvers(values.resolver),
    timeoutMs: parseTimeout(values.timeout),
    ca: readCaFile(values['ca-file']),
    connectTo: parseConnectTo(values['connect-to']),
    authoritative: values.authoritative.length ? parseResolvers(values.authoritative) : undefined,
    areas: selectAreas(values.only, values.skip),
  };
  const fleet = values.inventory !== undefined || values.list !== undefined;
  if (fleet) {
    if (positionals.length > 0 || values.vars || values.playbook) throw new InputError('a fleet run (--inventory/--list) takes no server name, --vars or --playbook');
    const targets = await fleetTargets(values);
    let finished = 0;
    const stop = progress(() => `doctor: ${finished}/${targets.length} servers`);
    const results = await mapBounded(targets, concurrency, (target) => diagnose(target, settings), (done) => (finished = done));
    stop();
    if (format === 'json') process.stdout.write(results.map((r) => JSON.stringify(r.report)).join('\n') + '\n');
    else if (format === 'prom') process.stdout.write(renderPrometheus(results.map((r) => r.report)));
    else process.stdout.write(renderFleetTable(results.map((r) => r.report), useColour(process.stdout)));
    return Math.max(...results.map((r) => r.report.exitCode));
  }
  if (positionals.length > 1) throw new InputError(`one server name expected, got ${positionals.length}: ${positionals.join(' ')}`);
  const configured = values.vars !== undefined || values.playbook !== undefined;
  let name = positionals[0] === undefined ? undefined : parseServerName(positionals[0], { allowMatrixPrefix: configured });
  const plan = configured ? await loadPlan({ vars: values.vars, playbook: values.playbook, serverName: name?.host }) : undefined;
  if (plan) name ??= parseServerName(plan.serverName, { allowMatrixPrefix: true });
  if (!name) throw new InputError('give the server name (e.g. example.org), or --vars/--playbook, or --inventory/--list');
  const expected = values['expect-ip'] ? parseExpectIp(values['expect-ip']) : plan ? inventoryAddress(plan) : {};
  const stop = progress(() => 'doctor: checking');
  const result = await diagnose({ name, plan, expected }, settings);
  stop();
  if (format === 'json') process.stdout.write(renderJson(result.report));
  else if (format === 'prom') process.stdout.write(renderPrometheus([result.report]));
  else process.stdout.write(renderDoctorTable(result.report, result.areas, useColour(process.stdout)));
  return result.report.exitCode;
}

if (isMain(import.meta.url)) runCommand('doctor', main);
