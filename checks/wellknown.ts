// .well-known check: can servers and clients discover this homeserver through the base domain?
// Fetches /.well-known/matrix/server and /client from every address of the base domain, hop by
// hop, and judges them as peers, browsers and strict clients (Element X) do.
//   npx tsx checks/wellknown.ts example.org --vars inventory/host_vars/matrix.example.org/vars.yml
import module from 'node:module';
import type { ParseArgsConfig } from 'node:util';
import { isIP } from 'node:net';
import type { RunSettings, ServerTarget } from './areas/area.ts';

// Start-up: Node's module compile cache first (Node 22.1 and newer; docs/runtimes.md), then
// the modules, so that from the second start on none of them is compiled again.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { COMMON_HELP, COMMON_OPTIONS, answerHelpEarly } = await import('./core/check-start.ts');

const HELP = `Usage: wellknown.ts <server-name> [options]

Checks /.well-known/matrix/server and /client on the base domain: status, JSON, m.server,
content type, size, redirects, CORS on every hop, the homeserver URL and its /versions, the
same answer on every address, the MatrixRTC focus, and that the copy equals the Matrix host's.

The server file is requested as Synapse requests it (User-Agent Synapse/<version>, asked again as
a browser after a 4xx or 5xx), the client documents as a web client does (a browser's
User-Agent and an Origin header). Time bound: every request of a run shares one --timeout.

  --verbose            list every passed check too (default: counted on one line)
${COMMON_HELP}

Example:
  npx tsx checks/wellknown.ts example.org --vars inventory/host_vars/matrix.example.org/vars.yml`;

const OPTIONS = { ...COMMON_OPTIONS, verbose: { type: 'boolean' } } satisfies ParseArgsConfig['options'];

await answerHelpEarly(import.meta.url, OPTIONS, HELP);
const { emitReport, isMain, namedResolvers, parseCheckCommand, parseConnectTo, readCaFile, runCommand } = await import('./core/cli.ts');
const { InputError } = await import('./core/errors.ts');
const { setVerbose } = await import('./core/report.ts');

async function main(): Promise<number> {
  const started = new Date();
  const command = parseCheckCommand(process.argv.slice(2), OPTIONS, HELP);
  if (!command) return 0;
  // What the run needs loads only now, not for --help or bad input.
  const [{ loadPlan }, { wellknownArea }, { linkCauses }] = await Promise.all([
    import('./plan/load.ts'),
    import('./areas/wellknown.ts'),
    import('./areas/area.ts'),
  ]);
  const { values, name, configured, timeoutMs } = command;
  setVerbose(values.verbose);
  if (name?.port !== undefined)
    throw new InputError(`${name.given} has a port: a server name with a port is not discovered through .well-known (spec step 2)`);
  const plan = configured ? await loadPlan({ vars: values.vars, playbook: values.playbook, serverName: name?.host }) : undefined;
  const serverName = plan?.serverName ?? name!.host;
  const target: ServerTarget = {
    name: name ?? { given: serverName, host: serverName, isIpLiteral: isIP(serverName) !== 0 },
    plan,
    expected: {},
  };
  const settings: RunSettings = {
    resolvers: namedResolvers(values.resolver),
    timeoutMs,
    ca: readCaFile(values['ca-file']),
    connectTo: parseConnectTo(values['connect-to']),
    areas: [wellknownArea.id],
  };
  // Not runArea: this command has always checked an IP-literal name too (doctor skips it), and
  // it prints the client discovery verdict besides the findings.
  const verdict = wellknownArea.judge(await wellknownArea.gather(target, settings), target, settings);
  return emitReport(
    {
      check: '.well-known',
      serverName,
      started,
      findings: linkCauses(verdict.findings),
      extra: { clientDiscovery: verdict.clientDiscovery },
    },
    values.json,
  );
}

if (isMain(import.meta.url)) runCommand('wellknown', main);
