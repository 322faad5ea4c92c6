// MatrixRTC check: the whole path of an Element Call / Element X call, as a calling client takes
// it, against the real LiveKit stack (docs/turn.md "MatrixRTC and LiveKit").
//   MATRIX_ACCESS_TOKEN=… npx tsx checks/rtc.ts example.org
// Secrets never come from the command line: the access token and the password come from the
// environment, a file or a prompt; the OpenID token and the LiveKit token are never printed.
import module from 'node:module';
import { isIP } from 'node:net';
import type { ParseArgsConfig } from 'node:util';
import type { RunSettings, ServerTarget } from './areas/area.ts';

// Start-up: Node's module compile cache first (Node 22.1 and newer; docs/runtimes.md), then
// the modules, so that from the second start on none of them is compiled again.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { COMMON_HELP, COMMON_OPTIONS, answerHelpEarly } = await import('./core/check-start.ts');
const { RTC_STEPS } = await import('./facts/rtc.ts');

const HELP = `Usage: rtc.ts <server-name> [options]

Follows a MatrixRTC call (Element Call, Element X group calls) end to end, as a client does:
  1. discovery: org.matrix.msc4143.rtc_foci in the client well-known (what Element Call inside
     Element Web reads) and the MSC4143 transports API (standalone Element Call, current
     Element X), and whether they agree;
  2. an OpenID token for the user, then the LiveKit JWT service: Element Call's CORS preflight,
     POST /get_token and the legacy POST /sfu/get, the LiveKit token's claims (the token itself
     is never printed), and the homeserver's federation userinfo the service validates with;
  3. LiveKit's signalling (wss://…/rtc, the join response decoded: version, ICE servers);
  4. the media path: a real WebRTC peer completes ICE and DTLS with LiveKit over UDP and over
     TCP, which tells a wrong advertised address, UDP blocked and nothing at all apart;
  5. clean-up: the test participants leave a room of their own; a --user session logs out.

The user (steps 2-5 need one):
  MATRIX_ACCESS_TOKEN=…            an access token from the environment, or
  --access-token-file FILE         the token in a file, or
  --user NAME                      log in (password from MATRIX_PASSWORD or a prompt), log out after
  Secrets are never accepted as arguments: the command line is visible to everyone.

  --homeserver URL          the client API base URL (default: from the client well-known)
${COMMON_HELP}

--connect-to applies to every hop: the well-known, the homeserver, the JWT service, the
federation endpoint, LiveKit's WebSocket, and the media candidates (ADDR:PORT of a candidate as
HOST:PORT, e.g. --connect-to 203.0.113.10:7882:192.0.2.7:7882).

Each step waits at most --timeout; the whole check ends within --timeout × ${RTC_STEPS} steps
(${5 * RTC_STEPS} s with the default 5).

Example:
  MATRIX_ACCESS_TOKEN=syt_… npx tsx checks/rtc.ts example.org`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  homeserver: { type: 'string' },
  user: { type: 'string' },
  'access-token-file': { type: 'string' },
} satisfies ParseArgsConfig['options'];

await answerHelpEarly(import.meta.url, OPTIONS, HELP);
const { emitReport, isMain, namedResolvers, parseCheckCommand, parseConnectTo, readCaFile, runCommand } = await import('./core/cli.ts');
const { authFrom, parseHomeserver } = await import('./core/client-auth.ts');

async function main(): Promise<number> {
  const started = new Date();
  const command = parseCheckCommand(process.argv.slice(2), OPTIONS, HELP);
  if (!command) return 0;
  // What the run needs loads only now, not for --help or bad input.
  const [{ loadPlan }, { runArea }, { rtcAreaWith }] = await Promise.all([
    import('./plan/load.ts'),
    import('./areas/area.ts'),
    import('./areas/rtc.ts'),
  ]);
  const { values, name, configured, timeoutMs } = command;
  const resolvers = namedResolvers(values.resolver);
  const ca = readCaFile(values['ca-file']);
  const homeserver = parseHomeserver(values.homeserver);
  const connectTo = parseConnectTo(values['connect-to']);
  const plan = configured ? await loadPlan({ vars: values.vars, playbook: values.playbook, serverName: name?.host }) : undefined;
  const auth = await authFrom(values);
  const serverName = plan?.serverName ?? name!.host;
  const target: ServerTarget = {
    name: { given: serverName, host: serverName, port: name?.port, isIpLiteral: isIP(serverName) !== 0 },
    ...(plan ? { plan } : {}),
    expected: {},
  };
  const settings: RunSettings = {
    resolvers,
    timeoutMs,
    ...(ca ? { ca } : {}),
    connectTo,
    ...(auth ? { auth } : {}),
    areas: ['rtc'],
  };
  const { findings } = await runArea(rtcAreaWith(homeserver ? { homeserver } : {}), target, settings);
  return emitReport({ check: 'MatrixRTC', serverName, started, findings }, values.json);
}

if (isMain(import.meta.url)) runCommand('rtc', main);
