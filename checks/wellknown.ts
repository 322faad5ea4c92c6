// .well-known check: can servers and clients discover this homeserver through the base domain?
// Fetches /.well-known/matrix/server and /client from every address of the base domain, hop by
// hop, and judges them as peers, browsers and strict clients (Element X) do.
//   npx tsx checks/wellknown.ts example.org --vars inventory/host_vars/matrix.example.org/vars.yml
import { COMMON_HELP, COMMON_OPTIONS, emitReport, isMain, namedResolvers, parseCheckCommand, parseConnectTo, readCaFile, runCommand } from './core/cli.ts';
import type { ConnectTo } from './facts/http.ts';
import { InputError } from './core/errors.ts';
import { loadPlan } from './plan/load.ts';
import type { Plan } from './plan/types.ts';
import type { NamedServer } from './facts/dns.ts';
import { gatherWellKnown } from './probes/wellknown-gather.ts';
import { judgeWellKnown } from './rules/wellknown.ts';

const HELP = `Usage: wellknown.ts <server-name> [options]

Checks /.well-known/matrix/server and /client on the base domain: status, JSON, m.server,
content type, size, redirects, CORS on every hop, the homeserver URL and its /versions, the
same answer on every address, the MatrixRTC focus, and that the copy equals the Matrix host's.

${COMMON_HELP}

Example:
  npx tsx checks/wellknown.ts example.org --vars inventory/host_vars/matrix.example.org/vars.yml`;

export interface WellKnownCheckInput {
  serverName: string;
  plan?: Plan;
  resolvers: NamedServer[];
  timeoutMs: number;
  ca?: string;
  connectTo?: readonly ConnectTo[];
}

export async function runWellKnownCheck(input: WellKnownCheckInput) {
  const facts = await gatherWellKnown({
    serverName: input.serverName,
    matrixHost: input.plan?.matrixHost,
    resolvers: input.resolvers,
    timeoutMs: input.timeoutMs,
    ca: input.ca,
    connectTo: input.connectTo,
  });
  return judgeWellKnown(facts, input.plan);
}

async function main(): Promise<number> {
  const started = new Date();
  const command = parseCheckCommand(process.argv.slice(2), COMMON_OPTIONS, HELP);
  if (!command) return 0;
  const { values, name, configured, timeoutMs } = command;
  if (name?.port !== undefined) throw new InputError(`${name.given} has a port: a server name with a port is not discovered through .well-known (spec step 2)`);
  const plan = configured ? await loadPlan({ vars: values.vars, playbook: values.playbook, serverName: name?.host }) : undefined;
  const serverName = plan?.serverName ?? name!.host;
  const verdict = await runWellKnownCheck({
    serverName,
    plan,
    resolvers: namedResolvers(values.resolver),
    timeoutMs,
    ca: readCaFile(values['ca-file']),
    connectTo: parseConnectTo(values['connect-to']),
  });
  return emitReport({ check: '.well-known', serverName, started, findings: verdict.findings, extra: { clientDiscovery: verdict.clientDiscovery } }, values.json);
}

if (isMain(import.meta.url)) runCommand('wellknown', main);
