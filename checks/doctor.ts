// doctor: every check area in one run, for one server or a fleet. Areas run concurrently and
// share their probes (each DNS answer and HTTP response is gathered once per run); a crash or
// hang in one area becomes a finding and never stops the others or the other servers.
//   npx tsx checks/doctor.ts example.org --vars inventory/host_vars/matrix.example.org/vars.yml
//   npx tsx checks/doctor.ts --inventory inventory/hosts --json
import type { ParseArgsConfig } from 'node:util';
import type { RunSettings } from './areas/area.ts';
import { diagnose } from './areas/diagnose.ts';
import { inventoryAddress, parseExpectIp } from './areas/dns.ts';
import { fleetTargets, mapBounded } from './areas/fleet.ts';
import { selectAreas } from './areas/registry.ts';
import { recordFindings } from './core/catalogue.ts';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  isMain,
  namedResolvers,
  parseCommandLine,
  parseConnectTo,
  parseResolvers,
  parseTimeout,
  readCaFile,
  runCommand,
} from './core/cli.ts';
import { renderDoctorTable, renderFleetTable, renderPrometheus } from './core/doctor-report.ts';
import { InputError } from './core/errors.ts';
import { renderJson, useColour } from './core/report.ts';
import { parseServerName } from './core/server-name.ts';
import { loadPlan } from './plan/load.ts';

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

/** The turn area probes as a logged-in client when MATRIX_ACCESS_TOKEN is set. */
function clientAuth(): Pick<RunSettings, 'auth'> {
  const token = process.env.MATRIX_ACCESS_TOKEN?.trim();
  return token ? { auth: { kind: 'token', token } } : {};
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
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000)
    throw new InputError(`--concurrency must be a whole number from 1 to 1000, not "${values.concurrency}"`);
  const settings: RunSettings = {
    resolvers: namedResolvers(values.resolver),
    timeoutMs: parseTimeout(values.timeout),
    ca: readCaFile(values['ca-file']),
    connectTo: parseConnectTo(values['connect-to']),
    authoritative: values.authoritative.length ? parseResolvers(values.authoritative) : undefined,
    areas: selectAreas(values.only, values.skip),
    ...clientAuth(),
  };
  const fleet = values.inventory !== undefined || values.list !== undefined;
  if (fleet) {
    if (positionals.length > 0 || values.vars || values.playbook)
      throw new InputError('a fleet run (--inventory/--list) takes no server name, --vars or --playbook');
    const targets = await fleetTargets(values);
    let finished = 0;
    const stop = progress(() => `doctor: ${finished}/${targets.length} servers`);
    const results = await mapBounded(
      targets,
      concurrency,
      (target) => diagnose(target, settings),
      (done) => (finished = done),
    );
    stop();
    for (const { report } of results) recordFindings(report.findings);
    if (format === 'json') process.stdout.write(results.map((r) => JSON.stringify(r.report)).join('\n') + '\n');
    else if (format === 'prom') process.stdout.write(renderPrometheus(results.map((r) => r.report)));
    else
      process.stdout.write(
        renderFleetTable(
          results.map((r) => r.report),
          useColour(process.stdout),
        ),
      );
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
  recordFindings(result.report.findings);
  if (format === 'json') process.stdout.write(renderJson(result.report));
  else if (format === 'prom') process.stdout.write(renderPrometheus([result.report]));
  else process.stdout.write(renderDoctorTable(result.report, result.areas, useColour(process.stdout)));
  return result.report.exitCode;
}

if (isMain(import.meta.url)) runCommand('doctor', main);
