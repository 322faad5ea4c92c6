// Outbound federation check: can the homeserver reach other servers, seen from the server itself.
//   npx tsx checks/outbound.ts example.org
//   MATRIX_ACCESS_TOKEN=… MATRIX_ADMIN_TOKEN=… npx tsx checks/outbound.ts example.org --playbook . --remote matrix.org
// Tokens never come from the command line: the environment, a file or nothing.
import module from 'node:module';
import { resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import type { RunSettings, ServerTarget } from './areas/area.ts';

// Start-up: Node's module compile cache first (Node 22.1 and newer; docs/runtimes.md), then
// the modules, so that from the second start on none of them is compiled again.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { COMMON_HELP, COMMON_OPTIONS, answerHelpEarly } = await import('./core/check-start.ts');
const { DEFAULT_REMOTES } = await import('./facts/outbound.ts');

const HELP = `Usage: outbound.ts <server-name> [options]

Whether the homeserver itself reaches other servers ("I can't join #room:matrix.org"):
  - without credentials: its notary (POST /_matrix/key/v2/query) must fetch each remote's keys,
    and each remote's notary this server's keys (inbound, side by side);
  - with a user's token (MATRIX_ACCESS_TOKEN or --access-token-file): a remote room alias and a
    remote profile through the client API, timed, with Synapse's errors mapped to causes;
  - with an admin token (MATRIX_ADMIN_TOKEN or --admin-token-file): the federation destinations
    in backoff, and the reset command (run only with --apply);
  - with --playbook: through the inventory (Ansible ad-hoc), DNS and HTTPS to each remote from the
    host and from inside the Synapse container (docker exec matrix-synapse), and the clock offset.

  --remote NAME            a server to test against (repeatable; default ${DEFAULT_REMOTES.join(', ')})
  --homeserver URL         the client API base URL (default: from the client well-known)
  --access-token-file FILE a user's access token in a file
  --admin-token-file FILE  an admin's access token in a file
  --apply                  reset the destinations in backoff (nothing is written without it)
  --canary ROOM            with a user's token: send one "!ping" into ROOM, a room on another
                           server where an echo bot answers (e.g. '#ping:maunium.net'), and wait
                           for its reply: both directions confirmed, each with its latency; a
                           room joined for it is left again
  --canary-wait SECONDS    how long the join and, again, the reply may take (default 30)
${COMMON_HELP}

Time bound: within 2 x --timeout + 1 s; with --canary, 2 x --canary-wait + 6 x --timeout + 1 s.`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  remote: { type: 'string', multiple: true, default: [] as string[] },
  homeserver: { type: 'string' },
  'access-token-file': { type: 'string' },
  'admin-token-file': { type: 'string' },
  apply: { type: 'boolean', default: false },
  canary: { type: 'string' },
  'canary-wait': { type: 'string' },
} satisfies ParseArgsConfig['options'];

await answerHelpEarly(import.meta.url, OPTIONS, HELP);
const { emitReport, isMain, namedResolvers, parseCheckCommand, parseConnectTo, readCaFile, runCommand } = await import('./core/cli.ts');
const { InputError } = await import('./core/errors.ts');
const { readSecretFile } = await import('./core/prompt.ts');
const { parseHomeserver } = await import('./core/client-auth.ts');
const { parseServerName } = await import('./core/server-name.ts');

function secret(file: string | undefined, option: string, env: string): string | undefined {
  if (file !== undefined) return readSecretFile(file, option);
  return process.env[env]?.trim() || undefined;
}

async function main(): Promise<number> {
  const started = new Date();
  const command = parseCheckCommand(process.argv.slice(2), OPTIONS, HELP);
  if (!command) return 0;
  // What the run needs loads only now, not for --help or bad input.
  const [{ INVENTORY_FILE, loadPlan }, { runArea }, { outboundAreaWith, parseCanary, parseRemotes }] = await Promise.all([
    import('./plan/load.ts'),
    import('./areas/area.ts'),
    import('./areas/outbound.ts'),
  ]);
  const { values, configured, timeoutMs } = command;
  let { name } = command;
  const remotes = parseRemotes(values.remote);
  const canary = parseCanary(values.canary, values['canary-wait']);
  const plan = configured ? await loadPlan({ vars: values.vars, playbook: values.playbook, serverName: name?.host }) : undefined;
  if (plan) name ??= parseServerName(plan.serverName, { allowMatrixPrefix: true });
  if (!name) throw new InputError('give the server name (e.g. example.org), or --vars/--playbook');
  const userToken = secret(values['access-token-file'], '--access-token-file', 'MATRIX_ACCESS_TOKEN');
  const adminToken = secret(values['admin-token-file'], '--admin-token-file', 'MATRIX_ADMIN_TOKEN');
  const homeserver = parseHomeserver(values.homeserver);
  const inventory =
    values.playbook !== undefined && plan?.host
      ? { file: resolve(values.playbook, INVENTORY_FILE), host: plan.host.name, cwd: resolve(values.playbook) }
      : undefined;
  const target: ServerTarget = { name, ...(plan ? { plan } : {}), expected: {} };
  const settings: RunSettings = {
    resolvers: namedResolvers(values.resolver),
    timeoutMs,
    ca: readCaFile(values['ca-file']),
    connectTo: parseConnectTo(values['connect-to']),
    ...(userToken ? { auth: { kind: 'token', token: userToken } } : {}),
    areas: ['outbound'],
  };
  const area = outboundAreaWith({
    ...(remotes.length ? { remotes } : {}),
    ...(homeserver ? { homeserver } : {}),
    ...(adminToken ? { adminToken } : {}),
    apply: values.apply,
    ...(inventory ? { inventory } : {}),
    ...(canary ? { canary } : {}),
  });
  const { findings } = await runArea(area, target, settings);
  return emitReport({ check: 'Outbound federation', serverName: name.given, started, findings }, values.json);
}

if (isMain(import.meta.url)) runCommand('outbound', main);
