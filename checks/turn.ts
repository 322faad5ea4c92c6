// TURN and MatrixRTC check: probes the TURN servers a calling client is handed, on the wire
// (STUN Binding, TURN Allocate with REST credentials, relayed data, release), and the MatrixRTC
// focus (LiveKit JWT service, LiveKit's TCP port).
//   MATRIX_ACCESS_TOKEN=… npx tsx checks/turn.ts example.org --vars inventory/host_vars/matrix.example.org/vars.yml
// Secrets never come from the command line (it is visible to every user of the machine and
// kept in shell history): the access token, the password and the TURN secret come from the
// environment, a file, or a prompt.
import module from 'node:module';
import type { ParseArgsConfig } from 'node:util';
import { isIP } from 'node:net';
import type { RunSettings, ServerTarget } from './areas/area.ts';

// Start-up: Node's module compile cache first (Node 22.1 and newer; docs/runtimes.md), then
// the modules, so that from the second start on none of them is compiled again.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { COMMON_HELP, COMMON_OPTIONS, answerHelpEarly } = await import('./core/check-start.ts');

const HELP = `Usage: turn.ts <server-name> [options]

Probes the TURN servers calls use, the way a calling client does: STUN Binding, TURN Allocate
with REST credentials (401 challenge, then the signed request; FINGERPRINT and MESSAGE-INTEGRITY
of the answers verified), the relayed address, data through the relay between two allocations,
the certificate of turns:, and the release of everything allocated. Then MatrixRTC: the LiveKit
focus of the client well-known, its JWT service and LiveKit's TCP port.

Where the TURN configuration comes from, in this order:
  1. the homeserver (GET /_matrix/client/v3/voip/turnServer), as a logged-in client:
       MATRIX_ACCESS_TOKEN=…            an access token from the environment, or
       --access-token-file FILE         the token in a file, or
       --user NAME                      log in (password from MATRIX_PASSWORD or a prompt), log out after
  2. the plan (--vars/--playbook): coturn's host, ports and the static auth secret MDAD derives
  3. --turn-uri URI (repeatable), e.g. turn:turn.example.org?transport=udp
  The TURN secret for 2 and 3 comes from the plan, or TURN_SECRET, or --turn-secret-file FILE.
  Secrets are never accepted as arguments: the command line is visible to everyone.

  --homeserver URL          the client API base URL (default: from the client well-known)
  --expect-ip IPV4[,IPV6]   the server's public address(es) the TURN hosts must resolve to
  --verbose            list every passed check too (default: counted on one line)
${COMMON_HELP}

Example:
  MATRIX_ACCESS_TOKEN=syt_… npx tsx checks/turn.ts example.org --vars inventory/host_vars/matrix.example.org/vars.yml`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  homeserver: { type: 'string' },
  user: { type: 'string' },
  'access-token-file': { type: 'string' },
  'turn-uri': { type: 'string', multiple: true, default: [] as string[] },
  'turn-secret-file': { type: 'string' },
  'expect-ip': { type: 'string' },
  verbose: { type: 'boolean' },
} satisfies ParseArgsConfig['options'];

await answerHelpEarly(import.meta.url, OPTIONS, HELP);
const { emitReport, isMain, namedResolvers, parseCheckCommand, parseConnectTo, readCaFile, runCommand } = await import('./core/cli.ts');
const { InputError } = await import('./core/errors.ts');
const { authFrom, parseHomeserver } = await import('./core/client-auth.ts');
const { readSecretFile } = await import('./core/prompt.ts');
const { setVerbose } = await import('./core/report.ts');

async function main(): Promise<number> {
  const started = new Date();
  const command = parseCheckCommand(process.argv.slice(2), OPTIONS, HELP);
  if (!command) return 0;
  // What the run needs loads only now, not for --help or bad input.
  const [{ loadPlan }, { parseTurnUri }, { linkCauses, runArea }, { turnAreaWith }, { parseExpectIp }] = await Promise.all([
    import('./plan/load.ts'),
    import('./facts/turn-config.ts'),
    import('./areas/area.ts'),
    import('./areas/turn.ts'),
    import('./areas/dns.ts'),
  ]);
  const { values, name, configured, timeoutMs } = command;
  for (const uri of values['turn-uri']) {
    const parsed = parseTurnUri(uri);
    if (!parsed.ok) throw new InputError(`--turn-uri "${uri}": ${parsed.problem}`);
  }
  const resolvers = namedResolvers(values.resolver);
  const ca = readCaFile(values['ca-file']);
  const homeserver = parseHomeserver(values.homeserver);
  const expect = values['expect-ip'] ? parseExpectIp(values['expect-ip']) : undefined;
  const plan = configured ? await loadPlan({ vars: values.vars, playbook: values.playbook, serverName: name?.host }) : undefined;
  const explicitSecret =
    values['turn-secret-file'] !== undefined
      ? readSecretFile(values['turn-secret-file'], '--turn-secret-file')
      : process.env.TURN_SECRET || undefined;
  const auth = await authFrom(values);
  const serverName = plan?.serverName ?? name!.host;

  const target: ServerTarget = {
    name: { given: serverName, host: serverName, port: name?.port, isIpLiteral: isIP(serverName) !== 0 },
    ...(plan ? { plan } : {}),
    expected: expect ?? {},
  };
  const settings: RunSettings = {
    resolvers,
    timeoutMs,
    ...(ca ? { ca } : {}),
    connectTo: parseConnectTo(values['connect-to']),
    ...(auth ? { auth } : {}),
    areas: ['turn'],
  };
  const area = turnAreaWith({
    ...(homeserver ? { homeserver } : {}),
    turnUris: values['turn-uri'],
    ...(explicitSecret ? { explicitSecret } : {}),
  });
  const { findings } = await runArea(area, target, settings);
  setVerbose(values.verbose);
  return emitReport({ check: 'TURN and MatrixRTC', serverName, started, findings: linkCauses(findings) }, values.json);
}

if (isMain(import.meta.url)) runCommand('turn', main);
