// Federation check: how other servers find this one (the spec's discovery, step by step), and
// whether every address they reach answers with a valid certificate, the version endpoint and
// correctly signed server keys.
//   npx tsx checks/federation.ts example.org
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
import { parseServerName } from './core/server-name.ts';
import { loadPlan } from './plan/load.ts';
import type { Plan } from './plan/types.ts';
import { runArea, type RunSettings, type ServerTarget } from './areas/area.ts';
import { federationArea } from './areas/federation.ts';

const HELP = `Usage: federation.ts <server-name> [options]

Resolves the server name as other servers do (IP, explicit port, /.well-known/matrix/server,
SRV _matrix-fed._tcp, the deprecated _matrix._tcp, port 8448), says which step decided, then
for every IPv4 and IPv6 address of the target: TCP, TLS and the certificate (name, chain,
expiry), /_matrix/federation/v1/version and /_matrix/key/v2/server with its signatures.

${COMMON_HELP}

Example:
  npx tsx checks/federation.ts example.org`;

async function main(): Promise<number> {
  const started = new Date();
  const command = parseCheckCommand(process.argv.slice(2), COMMON_OPTIONS, HELP);
  if (!command) return 0;
  const { values, configured, timeoutMs } = command;
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
  return emitReport({ check: 'Federation', serverName: name.given, started, findings }, values.json);
}

if (isMain(import.meta.url)) runCommand('federation', main);
