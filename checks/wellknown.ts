// .well-known check: can servers and clients discover this homeserver through the base domain?
// Fetches /.well-known/matrix/server and /client from every address of the base domain, hop by
// hop, and judges them as peers, browsers and strict clients (Element X) do.
//   npx tsx checks/wellknown.ts example.org --vars inventory/host_vars/matrix.example.org/vars.yml
import { isIP } from 'node:net';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  emitReport,
  isMain,
  namedResolvers,
  parseCheckCommand,
  parseConnectTo,
  readCaFile,
  runCommand,
} from './core/cli.ts';
import { InputError } from './core/errors.ts';
import { loadPlan } from './plan/load.ts';
import type { RunSettings, ServerTarget } from './areas/area.ts';
import { wellknownArea } from './areas/wellknown.ts';

const HELP = `Usage: wellknown.ts <server-name> [options]

Checks /.well-known/matrix/server and /client on the base domain: status, JSON, m.server,
content type, size, redirects, CORS on every hop, the homeserver URL and its /versions, the
same answer on every address, the MatrixRTC focus, and that the copy equals the Matrix host's.

${COMMON_HELP}

Example:
  npx tsx checks/wellknown.ts example.org --vars inventory/host_vars/matrix.example.org/vars.yml`;

async function main(): Promise<number> {
  const started = new Date();
  const command = parseCheckCommand(process.argv.slice(2), COMMON_OPTIONS, HELP);
  if (!command) return 0;
  const { values, name, configured, timeoutMs } = command;
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
    { check: '.well-known', serverName, started, findings: verdict.findings, extra: { clientDiscovery: verdict.clientDiscovery } },
    values.json,
  );
}

if (isMain(import.meta.url)) runCommand('wellknown', main);
