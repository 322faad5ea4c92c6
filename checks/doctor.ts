// doctor: every check area in one run, for one server or a fleet. Areas run concurrently and
// share their probes (each DNS answer and HTTP response is gathered once per run); a crash or
// hang in one area becomes a finding and never stops the others or the other servers.
//   npx tsx checks/doctor.ts example.org --vars inventory/host_vars/matrix.example.org/vars.yml
//   npx tsx checks/doctor.ts --inventory inventory/hosts --json
import module from 'node:module';
import type { ParseArgsConfig } from 'node:util';
import type { RunSettings } from './areas/area.ts';

// Start-up: Node's module compile cache first (Node 22.1 and newer; docs/runtimes.md), then
// the modules, so that from the second start on none of them is compiled again.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { COMMON_HELP, COMMON_OPTIONS, answerHelpEarly } = await import('./core/check-start.ts');

const HELP = `Usage: doctor.ts <server-name> [options]
       doctor.ts --inventory inventory/hosts | --list FILE [options]

Runs every check area at once (dns, wellknown, federation, turn, rtc, outbound) and prints one
report: root causes first, each with its fix, grouped by area.

  --only AREA,…          run only these areas
  --skip AREA,…          run all but these areas
  --expect-ip IPV4[,IPV6] the server's public address(es)
  --authoritative IP[:PORT] the DNS source to ask instead of the zone's nameservers
  --format table|json|prom|html  the report as a table (default), JSON (= --json), Prometheus
                         text or one self-contained HTML page to share (with --output)
  --output FILE          write the report to FILE instead of stdout
  --credentials FILE     each server's tokens (server: {access_token, admin_token}),
                         mode 600; a fleet run reads doctor-credentials.yml beside
                         --inventory without it
  --redact               replace names, addresses, user and room ids and tokens with placeholders
  --inventory FILE       every host of an MDAD inventory (its plan from host_vars beside it)
  --list FILE            one server name a line
  --concurrency N        servers checked at once in a fleet run (default 16)
  --verbose              list every passed check too (default: counted on one line per area)
  --remote NAME          a server the outbound area tests federation with (repeatable;
                         default matrix.org, mozilla.org, kde.org)
  --canary ROOM          the outbound area sends one "!ping" into ROOM (a room where an echo
                         bot answers, e.g. '#ping:maunium.net') and waits for the reply; one
                         server only, with MATRIX_ACCESS_TOKEN (checks/outbound.ts --help)
  --canary-wait SECONDS  how long the join and, again, the reply may take (default 30)
${COMMON_HELP}

The report opens with the root causes, each with its fix and the findings that follow from it;
the exit code follows the worst of them (JSON and Prometheus keep every finding, with causedBy).
Time bound: the areas run at once, each within 2 x --timeout + 1 s (federation: discovery, then
the targets) except rtc, which follows a call step by step within --timeout x 14, so one server
takes at most about 2 x --timeout + 1 s, or --timeout x 14 when rtc runs with a token, or
2 x --canary-wait + 6 x --timeout + 1 s with --canary.

With MATRIX_ACCESS_TOKEN set in the environment, the turn, rtc and outbound areas act as that
user (turn otherwise takes coturn's settings from --vars/--playbook); with MATRIX_ADMIN_TOKEN,
outbound also reads Synapse's federation backoff. Tokens are never arguments, belong to the one
server named (a fleet takes --credentials), and go only to its homeserver over verified TLS.

doctor.ts serve --listen ADDR:PORT runs a Prometheus exporter (serve --help).

Examples:
  npx tsx checks/doctor.ts example.org --format html --output report.html --redact
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
  output: { type: 'string' },
  credentials: { type: 'string' },
  redact: { type: 'boolean', default: false },
  verbose: { type: 'boolean', default: false },
  remote: { type: 'string', multiple: true, default: [] as string[] },
  canary: { type: 'string' },
  'canary-wait': { type: 'string' },
} satisfies ParseArgsConfig['options'];

if (process.argv[2] !== 'serve') await answerHelpEarly(import.meta.url, OPTIONS, HELP);
const { isMain, namedResolvers, parseCommandLine, parseConnectTo, parseResolvers, parseTimeout, readCaFile, runCommand } = await import(
  './core/cli.ts'
);
const { recordFindings } = await import('./core/catalogue.ts');
const { InputError } = await import('./core/errors.ts');
const { renderJson, setVerbose, useColour } = await import('./core/report.ts');
const { parseServerName } = await import('./core/server-name.ts');

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
  if (process.argv[2] === 'serve') return (await import('./areas/exporter.ts')).serveMain(process.argv.slice(3));
  const { values, positionals } = parseCommandLine(process.argv.slice(2), OPTIONS);
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const format = values.json ? 'json' : (values.format ?? 'table');
  // What the run needs loads only now, not for --help or bad input.
  const [
    { diagnose },
    { inventoryAddress, parseExpectIp },
    { fleetTargets, mapBounded },
    { selectAreas },
    { renderDoctorTable, renderFleetTable, renderPrometheus },
    { loadPlan },
    { sharedOutput, settingsSecrets },
    { parseCanary, parseRemotes },
    { environmentCredentials, fleetCredentials, readCredentials, withCredentials },
  ] = await Promise.all([
    import('./areas/diagnose.ts'),
    import('./areas/dns.ts'),
    import('./areas/fleet.ts'),
    import('./areas/registry.ts'),
    import('./core/doctor-report.ts'),
    import('./plan/load.ts'),
    import('./areas/shared-report.ts'),
    import('./areas/outbound.ts'),
    import('./areas/credentials.ts'),
  ]);
  setVerbose(values.verbose);
  if (!['table', 'json', 'prom', 'html'].includes(format))
    throw new InputError(`--format must be table, json or prom, or html for a page to share; not "${format}"`);
  // Checked now, made again below once the servers' own tokens are known.
  sharedOutput(values, []);
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
    ...(values.remote.length ? { remotes: parseRemotes(values.remote) } : {}),
  };
  const canary = parseCanary(values.canary, values['canary-wait']);
  const fleet = values.inventory !== undefined || values.list !== undefined;
  // One ping per run: a fleet would send one per server into the same room.
  if (canary && fleet) throw new InputError('--canary checks one server: give a server name, not --inventory/--list');
  if (canary) settings.canary = canary;
  if (fleet) {
    if (positionals.length > 0 || values.vars || values.playbook)
      throw new InputError('a fleet run (--inventory/--list) takes no server name, --vars or --playbook');
    const listed = await fleetTargets(values);
    const credentials = await fleetCredentials(listed, values, 'a fleet run');
    const targets = listed.map((t) => withCredentials(t, credentials));
    const output = sharedOutput(values, settingsSecrets(credentials.values()));
    let finished = 0;
    const stop = progress(() => `doctor: ${finished}/${targets.length} servers`);
    const results = await mapBounded(
      targets,
      concurrency,
      (target) => diagnose(target, { ...settings, bulk: true }),
      (done) => (finished = done),
    );
    stop();
    for (const { report } of results) recordFindings(report.findings);
    const shared = output.prepare(results, undefined, true);
    if (shared) return shared.write(format, useColour(process.stdout));
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
  const own =
    values.credentials !== undefined
      ? ((await readCredentials(values.credentials, '--credentials')).get(name.host.toLowerCase()) ?? {})
      : environmentCredentials();
  const output = sharedOutput(values, settingsSecrets([own]));
  const stop = progress(() => 'doctor: checking');
  const result = await diagnose({ name, plan, expected, credentials: own }, settings);
  stop();
  recordFindings(result.report.findings);
  const shared = output.prepare([result], plan);
  if (shared) return shared.write(format, useColour(process.stdout));
  if (format === 'json') process.stdout.write(renderJson(result.report));
  else if (format === 'prom') process.stdout.write(renderPrometheus([result.report]));
  else process.stdout.write(renderDoctorTable(result.report, result.areas, useColour(process.stdout)));
  return result.report.exitCode;
}

if (isMain(import.meta.url)) runCommand('doctor', main);
