// register.ts against the lab's real Synapse (shared-secret registration, login, registration
// tokens that a new person then signs up with), and through the stand-in playbook's
// register-user tag with the real ansible-playbook.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planFromVars } from '../../checks/plan/plan.ts';
import { createStandin } from '../lab/servers/standin.ts';
import type { Standin } from '../lab/servers/standin.ts';
import { freePort } from '../lab/servers/ports.ts';
import { clientCall, startSynapse } from '../lab/servers/synapse.ts';
import type { RunningSynapse } from '../lab/servers/synapse.ts';
import { rolesCommands } from '../../scripts/lib/checkout.ts';
import { capture } from '../../scripts/lib/commands.ts';
import { varsOf } from '../../scripts/lib/vars-text.ts';
import { runStage, snapshot } from './helpers.ts';

const DOMAIN = 'example.test';
const ALICE_PASSWORD = 'correct horse battery staple';
let standin: Standin;
let synapse: RunningSynapse;

async function configured(...args: string[]): Promise<Standin> {
  const s = createStandin();
  const run = await runStage('configure', ['--playbook', s.checkout, '--domain', DOMAIN, '--local', ...args], s.env);
  expect(run.code, run.stderr).toBe(0);
  return s;
}

beforeAll(async () => {
  standin = await configured('--registration', 'token');
  const vars = varsOf(readFileSync(join(standin.checkout, 'inventory', 'host_vars', `matrix.${DOMAIN}`, 'vars.yml'), 'utf8'), 'vars.yml');
  // Synapse gets the secret MDAD would derive from the generated generic secret.
  synapse = await startSynapse({
    serverName: DOMAIN,
    registrationSharedSecret: planFromVars(vars).secrets.registrationSharedSecret,
    config: { enable_registration: true, registration_requires_token: true },
  });
});
afterAll(async () => {
  await synapse?.stop();
  standin?.cleanup();
});

const register = (args: string[], env: Record<string, string> = {}, s: Standin = standin) =>
  runStage('register', ['--playbook', s.checkout, ...args], { ...s.env, ...env });

async function login(user: string, password: string): Promise<Response> {
  return fetch(`${synapse.url}/_matrix/client/v3/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user }, password }),
  });
}

/** Signs up through the client API's interactive auth, answering each stage of the first flow. */
async function signUp(username: string, password: string, token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = `${synapse.url}/_matrix/client/v3/register`;
  const post = async (auth?: Record<string, unknown>) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password, ...(auth ? { auth } : {}) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  let reply = await post();
  for (let round = 0; reply.status === 401 && round < 4; round++) {
    const session = reply.body['session'];
    const stages = (reply.body['flows'] as Array<{ stages: string[] }>)[0]!.stages;
    const next = stages.find((s) => !((reply.body['completed'] as string[] | undefined) ?? []).includes(s));
    reply = await post(next === 'm.login.registration_token' ? { type: next, token, session } : { type: next, session });
  }
  return reply;
}

describe('register.ts user, straight to Synapse', () => {
  it('registers an admin with the shared secret derived from vars.yml; the user can log in', async () => {
    const run = await register(['user', 'alice', '--admin', '--homeserver', synapse.url], { MATRIX_PASSWORD: ALICE_PASSWORD });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`Registered @alice:${DOMAIN} (server admin) at ${synapse.url}\n`);
    expect(run.argv.join(' ')).not.toContain(ALICE_PASSWORD);
    const response = await login('alice', ALICE_PASSWORD);
    expect(response.status).toBe(200);
    const { access_token: token } = (await response.json()) as { access_token: string };
    const user = await clientCall(synapse, token, 'GET', `/_synapse/admin/v2/users/@alice:${DOMAIN}`);
    expect((JSON.parse(user.body) as { admin: boolean }).admin).toBe(true);
  });

  it("a taken name is a failure with Synapse's reason", async () => {
    const run = await register(['user', 'alice', '--homeserver', synapse.url], { MATRIX_PASSWORD: 'another password' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/register: POST .*\/_synapse\/admin\/v1\/register: 400 M_USER_IN_USE/);
  });
});

describe('register.ts token', () => {
  const asAlice = { MATRIX_PASSWORD: ALICE_PASSWORD };
  const tokenArgs = (...args: string[]) => ['token', ...args, '--homeserver', synapse.url, '--admin-user', 'alice'];

  it('creates a one-time token a new person signs up with; list shows its use; delete removes it', async () => {
    const created = await register(tokenArgs('create', '--uses', '1', '--expires', '2099-12-31'), asAlice);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const token = /Created registration token: (\S+)\s+0 of 1 used, valid until 2100-01-01 00:00 UTC/.exec(created.stdout)?.[1];
    expect(token, created.stdout).toBeDefined();
    expect(created.stdout).toContain(
      `Invite: sign up at https://element.${DOMAIN}/#/register and enter the registration token ${token} when asked.`,
    );

    const signedUp = await signUp('dave', 'dave password 123', token!);
    expect(signedUp.status, JSON.stringify(signedUp.body)).toBe(200);
    expect(signedUp.body['user_id']).toBe(`@dave:${DOMAIN}`);
    expect((await login('dave', 'dave password 123')).status).toBe(200);
    // One use only.
    expect((await signUp('erin', 'erin password 123', token!)).status).not.toBe(200);

    const listed = await register(tokenArgs('list'), asAlice);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`${token}  1 of 1 used, valid until 2100-01-01 00:00 UTC`);

    const deleted = await register(tokenArgs('delete', token!), asAlice);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toBe(`Deleted registration token ${token}\n`);
    expect((await register(tokenArgs('list'), asAlice)).stdout).not.toContain(token!);
    const again = await register(tokenArgs('delete', token!), asAlice);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/404 M_NOT_FOUND/);
  });

  it('deletes a token that starts with a dash (Synapse draws tokens from letters, digits and ._~-)', async () => {
    const { access_token: admin } = (await (await login('alice', ALICE_PASSWORD)).json()) as { access_token: string };
    for (const token of ['-dash-first', '--two-dashes']) {
      const made = await clientCall(synapse, admin, 'POST', '/_synapse/admin/v1/registration_tokens/new', { token });
      expect(made.status).toBe(200);
    }
    const deleted = await register(tokenArgs('delete', '-dash-first'), asAlice);
    expect(deleted.stderr).toBe('');
    expect(deleted.stdout).toBe('Deleted registration token -dash-first\n');
    // One that starts with '--' goes after '--', as usual.
    const twoDashes = await register(
      ['token', 'delete', '--homeserver', synapse.url, '--admin-user', 'alice', '--', '--two-dashes'],
      asAlice,
    );
    expect(twoDashes.stdout).toBe('Deleted registration token --two-dashes\n');
    const listed = await register(tokenArgs('list'), asAlice);
    expect(listed.stdout).not.toContain('dash');
  });

  it('takes an admin access token from MATRIX_ACCESS_TOKEN instead of logging in', async () => {
    const { access_token: token } = (await (await login('alice', ALICE_PASSWORD)).json()) as { access_token: string };
    const created = await runStage(
      'register',
      ['--playbook', standin.checkout, 'token', 'create', '--uses', 'unlimited', '--homeserver', synapse.url],
      { ...standin.env, MATRIX_ACCESS_TOKEN: token },
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/Created registration token: \S+\s+unlimited uses, never expires/);
    expect(created.argv.join(' ')).not.toContain(token);
  });

  it('says which vars.yml lines to add when token sign-up is off, and when the admin API is not reachable', async () => {
    const closed = await configured();
    try {
      const run = await register(tokenArgs('create'), asAlice, closed);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(
        'does not allow sign-up with a token. Add these lines (or run configure.ts --registration token), then install.ts:',
      );
      expect(run.stderr).toContain('  matrix_synapse_enable_registration: true\n  matrix_synapse_registration_requires_token: true');
      const port = await freePort();
      const unreachable = await register(
        ['token', 'list', '--homeserver', `http://127.0.0.1:${port}`, '--admin-user', 'alice'],
        asAlice,
        closed,
      );
      expect(unreachable.code).toBe(2);
      expect(unreachable.stderr).toContain("Synapse's admin API is not reachable");
      expect(unreachable.stderr).toContain('matrix_synapse_container_labels_public_client_synapse_admin_api_enabled: true');
    } finally {
      closed.cleanup();
    }
  });
});

describe("register.ts user through the playbook's register-user tag", () => {
  it('explains roles that were never fetched', async () => {
    const run = await register(['user', 'carol'], { MATRIX_PASSWORD: 'carol password 1' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Why: the role galaxy/standin_base is missing');
    expect(run.stderr).toContain('Next: fetch the roles again');
  });

  it('hands the password to Ansible in a 0600 extra-vars file that is removed afterwards', async () => {
    // The roles, fetched the way install.ts fetches them.
    for (const command of rolesCommands(standin.checkout)) {
      const fetched = await capture({ ...command, env: standin.env });
      expect(fetched.code, fetched.stderr).toBe(0);
    }

    const password = 'carol password 1';
    const run = await register(['user', '@carol:example.test', '--admin'], { MATRIX_PASSWORD: password });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Registered @carol:${DOMAIN} (server admin).`);
    const record = standin.records().find((r) => r.tag === 'register-user')!;
    expect(record).toMatchObject({ username: 'carol', admin: 'yes', matrix_domain: DOMAIN });
    expect(record.password_sha256).toBe(createHash('sha256').update(password).digest('hex'));
    const file = /--extra-vars=@(\S+register-user\.json)/.exec(record.argv)?.[1];
    expect(file, record.argv).toBeDefined();
    expect(existsSync(file!)).toBe(false);
    expect(record.argv).not.toContain(password);
    const log = readFileSync(/Full log: (\S+)/.exec(run.stdout)![1]!, 'utf8');
    expect(log).toContain('/matrix/synapse/bin/register-user carol ******** 1');
    expect(log).not.toContain(password);
    expect(run.stdout).not.toContain(password);
  });

  it('--dry-run prints the command and changes nothing', async () => {
    const before = snapshot(standin.root);
    const run = await register(['user', 'frank', '--dry-run'], { MATRIX_PASSWORD: 'frank password' });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('"password": "********"');
    expect(run.stdout).toMatch(
      /ansible-playbook -i inventory\/hosts setup\.yml --tags=register-user --limit=matrix\.example\.test '--extra-vars=@<a 0600 file/,
    );
    expect(run.stdout).not.toContain('frank password');
    expect(snapshot(standin.root)).toEqual(before);
  });
});

describe('register.ts --dry-run against Synapse', () => {
  it('prints the requests and sends nothing', async () => {
    const listBefore = await register(['token', 'list', '--homeserver', synapse.url, '--admin-user', 'alice'], {
      MATRIX_PASSWORD: ALICE_PASSWORD,
    });
    const user = await register(['user', 'grace', '--homeserver', synapse.url, '--dry-run'], { MATRIX_PASSWORD: 'grace password' });
    expect(user.code).toBe(0);
    expect(user.stdout).toContain(`Would send: GET ${synapse.url}/_synapse/admin/v1/register, then POST it with grace`);
    expect(user.stdout).not.toContain('grace password');
    expect((await login('grace', 'grace password')).status).toBe(403);
    const token = await register([
      'token',
      'create',
      '--uses',
      '2',
      '--expires',
      '2099-01-31',
      '--homeserver',
      synapse.url,
      '--admin-user',
      'alice',
      '--dry-run',
    ]);
    expect(token.code).toBe(0);
    expect(token.stdout).toContain(
      `POST ${synapse.url}/_synapse/admin/v1/registration_tokens/new {"uses_allowed": 2, "expiry_time": ${Date.UTC(2099, 1, 1)}}`,
    );
    const listAfter = await register(['token', 'list', '--homeserver', synapse.url, '--admin-user', 'alice'], {
      MATRIX_PASSWORD: ALICE_PASSWORD,
    });
    expect(listAfter.stdout).toBe(listBefore.stdout);
  });
});

describe('register.ts bad input', () => {
  it('is one line, exit 3, and nothing is written or sent', async () => {
    const before = snapshot(standin.root);
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['user', 'Alice'], { MATRIX_PASSWORD: 'long enough' }, /Matrix user names are lower case; use alice/],
      [['user', 'al ice'], { MATRIX_PASSWORD: 'long enough' }, /may contain only a-z/],
      [['user', '@bob:other.org'], { MATRIX_PASSWORD: 'long enough' }, /belongs to other\.org/],
      [['user', '_bot'], { MATRIX_PASSWORD: 'long enough' }, /reserved for bridges/],
      [['user', 'bob'], { MATRIX_PASSWORD: 'short' }, /shorter than 8 characters/],
      [['user', 'bob'], {}, /no password for @bob:example\.test: set MATRIX_PASSWORD/],
      [['user'], {}, /user needs exactly one NAME/],
      [['token', 'create', '--expires', '2020-01-01', '--admin-user', 'alice'], {}, /is in the past/],
      [['token', 'create', '--expires', '2026-02-30', '--admin-user', 'alice'], {}, /not a date like 2026-12-31/],
      [['token', 'create', '--uses', '0', '--admin-user', 'alice'], {}, /--uses must be a whole number/],
      [['token', 'create'], {}, /an admin access token is needed/],
      [['token', 'delete'], {}, /token delete needs exactly one TOKEN/],
      [['token', 'make'], {}, /token needs create, list or delete/],
      [['invite'], {}, /say what to register/],
    ];
    for (const [args, env, message] of cases) {
      const run = await register(args, env);
      expect(run.code, args.join(' ')).toBe(3);
      expect(run.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(run.stderr, args.join(' ')).toMatch(message);
    }
    expect(snapshot(standin.root)).toEqual(before);
  });
});
