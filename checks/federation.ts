// Federation check: how other servers find this one (the spec's discovery, step by step), and
// whether every address they reach answers with a valid certificate, the version endpoint and
// correctly signed server keys.
//   npx tsx checks/federation.ts example.org
import module from 'node:module';
import type { ParseArgsConfig } from 'node:util';
import type { Plan } from './plan/types.ts';
import type { RunSettings, ServerTarget } from './areas/area.ts';

// Start-up: Node's module compile cache first (Node 22.1 and newer; docs/runtimes.md), then
// the modules, so that from the second start on none of them is compiled again.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { COMMON_HELP, COMMON_OPTIONS, answerHelpEarly } = await import('./core/check-start.ts');

const HELP = `Usage: federation.ts <server-name> [options]

Resolves the server name as other servers do (IP, explicit port, /.well-known/matrix/server,
SRV _matrix-fed._tcp, the deprecated _matrix._tcp, port 8448), says which step decided, then
for every IPv4 and IPv6 address of the target: TCP, TLS and the certificate (name, chain,
expiry), /_matrix/federation/v1/version and /_matrix/key/v2/server with its signatures; then
the inbound paths other servers use: one 3.2 MiB PUT /_matrix/federation/v1/send (a transaction
as busy rooms send, with a malformed X-Matrix header that Synapse refuses once it has read it
whole: a proxy's 413 shows a body limit, a missing-header answer a proxy stripping Authorization) and media over federation.

Requests are made as Synapse makes them (User-Agent Synapse/<version>, the Host header and SNI
the spec prescribes); one refused with a 4xx or 5xx is asked again as a browser, to tell a WAF
from the homeserver. Time bound: discovery takes at most --timeout, the targets then at most
--timeout more, so a run ends within about 2 x --timeout + 1 s.

  --verbose            list every passed check too (default: counted on one line)
${COMMON_HELP}

Example:
  npx tsx checks/federation.ts example.org`;

const OPTIONS = { ...COMMON_OPTIONS, verbose: { type: 'boolean' } } satisfies ParseArgsConfig['options'];

await answerHelpEarly(import.meta.url, OPTIONS, HELP);
const { emitReport, isMain, namedResolvers, parseCheckCommand, parseConnectTo, readCaFile, runCommand } = await import('./core/cli.ts');
const { InputError } = await import('./core/errors.ts');
const { parseServerName } = await import('./core/server-name.ts');
const { setVerbose } = await import('./core/report.ts');

async function main(): Promise<number> {
  const started = new Date();
  const command = parseCheckCommand(process.argv.slice(2), OPTIONS, HELP);
  if (!command) return 0;
  // What the run needs loads only now, not for --help or bad input.
  const [{ loadPlan }, { linkCauses, runArea }, { federationArea }] = await Promise.all([
    import('./plan/load.ts'),
    import('./areas/area.ts'),
    import('./areas/federation.ts'),
  ]);
  const { values, configured, timeoutMs } = command;
  setVerbose(values.verbose);
  let { name } = command;
  let plan: Plan | undefined;
  if (configured) {
    plan = await loadPlan({ vars: values.vars, playbook: values.playbook, serverName: name?.host });
    name ??= parseServerName(plan.serverName, { allowMatrixPrefix: true });
  }
  if (!name) throw new InputError('give the server name (e.g. example.org), or --vars/--playbook');
  const ca = readCaFile(values['ca-file']);
  const connectTo = parseConnectTo(values['connect-to']);
  const target: ServerTarget = { name, plan, expected: {} };
  const settings: RunSettings = { resolvers: namedResolvers(values.resolver), timeoutMs, ca, connectTo, areas: [federationArea.id] };
  const { findings } = await runArea(federationArea, target, settings);
  return emitReport({ check: 'Federation', serverName: name.given, started, findings: linkCauses(findings) }, values.json);
}

if (isMain(import.meta.url)) runCommand('federation', main);
