#!/usr/bin/env node
// register: users and invitations. A user is registered through the playbook's register-user
// tag (the guide's way, with the password in a 0600 extra-vars file), or straight through
// Synapse's shared-secret registration API with --homeserver. Invitations are Synapse
// registration tokens, which replace the removed generate-matrix-registration-token tag
// (docs/playbook.md "Registering users").
//   npx tsx scripts/register.ts user alice --admin
//   npx tsx scripts/register.ts token create --uses 1 --expires 2026-12-31 --admin-user alice
import module from 'node:module';
import type { ParseArgsConfig } from 'node:util';
import type { HostPlan } from './lib/checkout.ts';
import type { RegistrationToken } from './lib/synapse-api.ts';
import type { parseCommandLine } from './lib/cli.ts';

// Start-up: Node's module compile cache first (Node 22.1 and newer; docs/runtimes.md), then
// the modules, so that from the second start on none of them is compiled again.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { answerEarly, STAGE_HELP, STAGE_OPTIONS } = await import('./lib/stage-start.ts');

const HELP = `Usage: register.ts user NAME [--admin] [options]
       register.ts token create [--uses N|unlimited] [--expires YYYY-MM-DD] [options]
       register.ts token list [options]
       register.ts token delete TOKEN [options]

user: registers @NAME:<your domain>. The password comes from --password-file FILE, the
MATRIX_PASSWORD environment variable, or a prompt; it is never put on a command line or in
the log. By default the playbook's register-user tag does it on the server; with
--homeserver URL it goes straight to Synapse's shared-secret registration API (the secret
is derived from vars.yml, or taken from MATRIX_REGISTRATION_SHARED_SECRET).

token: invitations. Needs vars.yml with token sign-up on (configure.ts --registration token)
and Synapse's admin API reachable, and an admin's access token: MATRIX_ACCESS_TOKEN, or a
login with --admin-user NAME (password from MATRIX_PASSWORD, --password-file or a prompt).

  --admin                the new user is a server admin
  --password-file FILE   read the password from the first line of FILE
  --homeserver URL       talk to Synapse here (default: https://matrix.<domain>)
  --domain DOMAIN        which server of the inventory, when it has several
  --admin-user NAME      log in as this admin for token commands
  --uses N|unlimited     how many sign-ups a token allows (default 1)
  --expires YYYY-MM-DD   the token is valid until the end of that day (UTC)
  -K, --ask-become-pass  ask for the sudo password (user registration through Ansible)
  --log FILE             the full log of the Ansible run
${STAGE_HELP}

Examples:
  npx tsx scripts/register.ts user alice --admin
  MATRIX_PASSWORD=… npx tsx scripts/register.ts token create --uses 1 --expires 2026-12-31 --admin-user alice`;

const OPTIONS = {
  ...STAGE_OPTIONS,
  admin: { type: 'boolean', default: false },
  'password-file': { type: 'string' },
  homeserver: { type: 'string' },
  domain: { type: 'string' },
  'admin-user': { type: 'string' },
  uses: { type: 'string' },
  expires: { type: 'string' },
  'ask-become-pass': { type: 'boolean', short: 'K', default: false },
  log: { type: 'string' },
} satisfies ParseArgsConfig['options'];

// --help and bad options answer here, before the modules the run needs load.
await answerEarly('register', import.meta.url, OPTIONS, HELP, (args) => deletedToken(args).argv);
const { InputError } = await import('../checks/core/errors.ts');
const { readVars } = await import('../checks/plan/services.ts');
const { defaultLogFile, playbookCommand, runStep } = await import('./lib/ansible.ts');
const { positiveInt, requireCheckout, runStage, stageArgv, stageCommandLine, StageFailure } = await import('./lib/cli.ts');
const { loadHostPlans, pickHost } = await import('./lib/checkout.ts');
const { showCommand } = await import('./lib/commands.ts');
const { stamp } = await import('./lib/files.ts');
const { readPassword } = await import('./lib/prompt.ts');
const { masker, MASK, secretsOf, withPrivateFile } = await import('./lib/secrets.ts');
const { adminApiReachable, createToken, deleteToken, listTokens, login, logout, parseLocalpart, registerWithSharedSecret } = await import(
  './lib/synapse-api.ts'
);

type Values = ReturnType<typeof parseCommandLine<typeof OPTIONS>>['values'];

function homeserverUrl(values: Values, host: HostPlan): string {
  if (values.homeserver !== undefined) {
    if (!/^https?:\/\/[^/\s]+\/?$/.test(values.homeserver))
      throw new InputError(`--homeserver "${values.homeserver}" is not a URL like https://matrix.example.org`);
    return values.homeserver.replace(/\/$/, '');
  }
  const base = (host.plan.wellKnown.client['m.homeserver'] as { base_url?: string } | undefined)?.base_url;
  return base ?? `https://${host.plan.matrixHost}`;
}

// ---------------------------------------------------------------------------------------------
// Users

async function registerUser(values: Values, host: HostPlan, checkout: string, name: string): Promise<number> {
  const user = parseLocalpart(name, host.plan.serverName);
  const userId = `@${user}:${host.plan.serverName}`;
  const admin = values.admin;
  const password = await readPassword({ file: values['password-file'], purpose: userId, confirm: true, prompt: !values['dry-run'] });

  if (values.homeserver !== undefined) {
    const url = homeserverUrl(values, host);
    const secret = process.env.MATRIX_REGISTRATION_SHARED_SECRET || host.plan.secrets.registrationSharedSecret;
    if (!secret) {
      throw new InputError(
        `the registration shared secret is unknown (vars.yml has no usable matrix_homeserver_generic_secret_key); set MATRIX_REGISTRATION_SHARED_SECRET`,
      );
    }
    if (values['dry-run']) {
      process.stdout.write(
        `Would send: GET ${url}/_synapse/admin/v1/register, then POST it with ${user}, the password and ${admin ? 'admin' : 'notadmin'} signed with the registration shared secret (HMAC-SHA1)\nDry run: nothing was changed.\n`,
      );
      return 0;
    }
    const registered = await registerWithSharedSecret(url, secret, user, password!, admin);
    process.stdout.write(`Registered ${registered}${admin ? ' (server admin)' : ''} at ${url}\n`);
    return 0;
  }

  const extraVarsFile = '<a 0600 file in a private temporary folder, removed afterwards>';
  const command = (file: string) =>
    playbookCommand({
      checkout,
      tags: ['register-user'],
      extraVarsFiles: [file],
      limit: host.host.name,
      askBecomePass: values['ask-become-pass'],
    });
  if (values['dry-run']) {
    process.stdout.write(
      `Would write ${extraVarsFile}: {"username": "${user}", "password": "${MASK}", "admin": "${admin ? 'yes' : 'no'}"}\nWould run:\n  ${showCommand(command(extraVarsFile))}\nDry run: nothing was changed.\n`,
    );
    return 0;
  }
  const ctx = {
    logFile: values.log ?? defaultLogFile(checkout, 'register', stamp()),
    mask: masker([password!, ...secretsOf(host.vars, host.plan)]),
  };
  const extraVars = JSON.stringify({ username: user, password, admin: admin ? 'yes' : 'no' });
  await withPrivateFile('register-user.json', extraVars, (file) => runStep(command(file), `Registering ${userId}`, ctx));
  process.stdout.write(`Registered ${userId}${admin ? ' (server admin)' : ''}. Full log: ${ctx.logFile}\n`);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Registration tokens

/** The vars.yml lines token sign-up needs that are missing (docs/playbook.md "Registering users"). */
function missingTokenSettings(vars: Record<string, unknown>): string[] {
  const v = readVars(vars);
  return ['matrix_synapse_enable_registration', 'matrix_synapse_registration_requires_token']
    .filter((name) => !v.bool(name, false))
    .map((name) => `${name}: true`);
}

/** The admin API is public only with this label, or with Ketesa or Element Admin (docs/playbook.md "Registering users"). */
function adminApiExposed(host: HostPlan): boolean {
  const on = (id: string): boolean => host.plan.services.some((s) => s.id === id && s.enabled);
  return (
    readVars(host.vars).bool('matrix_synapse_container_labels_public_client_synapse_admin_api_enabled', false) ||
    on('ketesa') ||
    on('element-admin')
  );
}

function parseUses(text: string | undefined): number | null {
  if (text === undefined) return 1;
  if (text === 'unlimited') return null;
  return positiveInt(text, '--uses');
}

/** The end of the given day (UTC) in Unix milliseconds; null without --expires. */
function parseExpiry(text: string | undefined, now = Date.now()): number | null {
  if (text === undefined) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const day = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
  if (!m || !day || day.getUTCDate() !== Number(m[3]) || day.getUTCMonth() !== Number(m[2]) - 1) {
    throw new InputError(`--expires "${text}" is not a date like 2026-12-31`);
  }
  const end = day.getTime() + 24 * 3600 * 1000;
  if (end <= now) throw new InputError(`--expires ${text} is in the past`);
  return end;
}

function describeToken(t: RegistrationToken): string {
  const uses = t.uses_allowed === null ? 'unlimited uses' : `${t.completed} of ${t.uses_allowed} used`;
  const expiry =
    t.expiry_time === null ? 'never expires' : `valid until ${new Date(t.expiry_time).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `${t.token}  ${uses}${t.pending ? `, ${t.pending} pending` : ''}, ${expiry}`;
}

async function adminAccessToken(values: Values, url: string, host: HostPlan): Promise<{ token: string; ours: boolean }> {
  if (process.env.MATRIX_ACCESS_TOKEN) return { token: process.env.MATRIX_ACCESS_TOKEN, ours: false };
  const admin = parseLocalpart(values['admin-user']!, host.plan.serverName);
  const password = await readPassword({ file: values['password-file'], purpose: `@${admin}:${host.plan.serverName}`, prompt: true });
  return { token: await login(url, admin, password!), ours: true };
}

async function tokens(values: Values, host: HostPlan, args: string[]): Promise<number> {
  const [action, token, ...extra] = args;
  if (!['create', 'list', 'delete'].includes(action ?? '')) throw new InputError('token needs create, list or delete');
  if (extra.length || (action === 'delete') !== (token !== undefined)) {
    throw new InputError(action === 'delete' ? 'token delete needs exactly one TOKEN' : `token ${action} takes no further arguments`);
  }
  const uses = parseUses(values.uses);
  const expiry = parseExpiry(values.expires);
  const url = homeserverUrl(values, host);
  if (!process.env.MATRIX_ACCESS_TOKEN && values['admin-user'] === undefined) {
    throw new InputError('an admin access token is needed: set MATRIX_ACCESS_TOKEN, or give --admin-user NAME to log in');
  }

  // Checks first: invitations are useless while vars.yml keeps sign-up closed.
  if (host.plan.services.some((s) => s.id === 'matrix-authentication-service' && s.enabled)) {
    throw new StageFailure(
      "registration tokens are managed by the Matrix Authentication Service on this server; Synapse's token API is off",
    );
  }
  const missing = action === 'create' ? missingTokenSettings(host.vars) : [];
  if (missing.length) {
    throw new StageFailure(
      `${host.varsFile} does not allow sign-up with a token. Add these lines (or run configure.ts --registration token), then install.ts:\n  ${missing.join('\n  ')}`,
    );
  }
  const endpoint = `${url}/_synapse/admin/v1/registration_tokens`;
  if (values['dry-run']) {
    const request =
      action === 'create'
        ? `POST ${endpoint}/new {"uses_allowed": ${uses}, "expiry_time": ${expiry}}`
        : action === 'list'
          ? `GET ${endpoint}`
          : `DELETE ${endpoint}/${token}`;
    process.stdout.write(
      `Would check ${url}/_synapse/admin/v1/server_version, log in if needed, then send: ${request}\nDry run: nothing was changed.\n`,
    );
    return 0;
  }
  const reachable = await adminApiReachable(url);
  if (!reachable.ok) {
    const hint = adminApiExposed(host)
      ? 'check that the server is up and the URL is right (--homeserver)'
      : `add this line to ${host.varsFile} (or enable Ketesa), then run install.ts:\n  matrix_synapse_container_labels_public_client_synapse_admin_api_enabled: true`;
    throw new StageFailure(`Synapse's admin API is not reachable (${reachable.detail}); ${hint}`);
  }

  const access = await adminAccessToken(values, url, host);
  try {
    if (action === 'create') {
      const created = await createToken(url, access.token, uses, expiry);
      process.stdout.write(`Created registration token: ${describeToken(created)}\n`);
      const element = host.plan.services.some((s) => s.id === 'element' && s.enabled);
      const signUp = element ? `https://${host.plan.elementHost}/#/register` : `any Matrix client, server ${host.plan.serverName}`;
      process.stdout.write(`Invite: sign up at ${signUp} and enter the registration token ${created.token} when asked.\n`);
    } else if (action === 'list') {
      const all = await listTokens(url, access.token);
      process.stdout.write(all.length ? `${all.map(describeToken).join('\n')}\n` : 'No registration tokens.\n');
    } else {
      await deleteToken(url, access.token, token!);
      process.stdout.write(`Deleted registration token ${token}\n`);
    }
  } finally {
    if (access.ours) await logout(url, access.token);
  }
  return 0;
}

/**
 * The TOKEN of `token delete TOKEN`, taken out before the options are read: Synapse's tokens are
 * drawn from letters, digits and `._~-`, so one may start with '-' and would read as an option.
 * One that starts with '--' is given after `--`, as usual.
 */
function deletedToken(argv: string[]): { argv: string[]; token?: string } {
  const at = argv.findIndex((arg, i) => arg === 'delete' && argv[i - 1] === 'token');
  if (at < 0 || argv[at + 1] === undefined || argv[at + 1]!.startsWith('--')) return { argv };
  return { argv: [...argv.slice(0, at + 1), ...argv.slice(at + 2)], token: argv[at + 1] };
}

async function main(): Promise<number> {
  const { argv, token } = deletedToken(stageArgv());
  const { values, positionals } = stageCommandLine(OPTIONS, HELP, argv);
  if (values.help) return 0;
  const [what, ...rest] = token === undefined ? positionals : [...positionals.slice(0, 2), token, ...positionals.slice(2)];
  if (what !== 'user' && what !== 'token') throw new InputError('say what to register: user NAME, or token create|list|delete');
  if (what === 'user' && rest.length !== 1) throw new InputError('user needs exactly one NAME');
  const checkout = requireCheckout(values.playbook);
  const host = pickHost(await loadHostPlans(checkout), values.domain);
  return what === 'user' ? registerUser(values, host, checkout, rest[0]!) : tokens(values, host, rest);
}

runStage('register', import.meta.url, main);
