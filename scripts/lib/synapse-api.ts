// Synapse's admin endpoints the register stage uses (docs/playbook.md "Registering users"): shared-secret
// registration (nonce + HMAC-SHA1), password login, and registration tokens, which replace
// the playbook's removed matrix-registration (docs/playbook.md "Removed and renamed variables").
import { createHmac } from 'node:crypto';
import { InputError } from '../../checks/core/errors.ts';
import type { HttpOutcome, SecretKind } from '../../checks/facts/http.ts';
import { credentialFor, notResolved, passwordLogin, type Placement, sendWithCredential } from '../../checks/probes/credentialed.ts';
import { httpRequest, type HttpOptions } from '../../checks/probes/http.ts';
import { systemAddress } from '../../checks/probes/resolve.ts';
import { withheldFix } from '../../checks/rules/credentials.ts';
import { StageFailure } from './cli.ts';

// ---------------------------------------------------------------------------------------------
// User ids

/** Matrix spec "User Identifiers": the localpart grammar, lower case only. */
const LOCALPART = /^[a-z0-9._=\-/+]+$/;

/**
 * The localpart of a user on this server, from "alice", "@alice" or "@alice:example.org".
 * Throws InputError with the reason when the spec's grammar or Synapse's rules refuse it.
 */
export function parseLocalpart(input: string, serverName: string): string {
  const given = input.trim();
  const m = /^@?([^:]*)(?::(.+))?$/.exec(given);
  const local = m?.[1] ?? '';
  if (m?.[2] !== undefined && m[2] !== serverName) {
    throw new InputError(`"${given}" belongs to ${m[2]}; this server is ${serverName}`);
  }
  if (local === '') throw new InputError('the user name is empty');
  if (local !== local.toLowerCase() && LOCALPART.test(local.toLowerCase())) {
    throw new InputError(`"${local}": Matrix user names are lower case; use ${local.toLowerCase()}`);
  }
  if (!LOCALPART.test(local)) {
    throw new InputError(`"${local}": a Matrix user name may contain only a-z, 0-9 and . _ = - / +`);
  }
  // Synapse reserves names starting with "_" for bridges and all-digit names for guests.
  if (local.startsWith('_')) throw new InputError(`"${local}": names starting with _ are reserved for bridges and bots`);
  if (/^\d+$/.test(local)) throw new InputError(`"${local}": all-digit names are reserved for guest users`);
  if (`@${local}:${serverName}`.length > 255) throw new InputError(`"@${local}:${serverName}" is longer than 255 characters`);
  return local;
}

// ---------------------------------------------------------------------------------------------
// HTTP

interface MatrixError {
  errcode?: string;
  error?: string;
}

/** A secret for this homeserver: sent only through credentialed.ts, to its origin, over verified TLS (or HTTP on loopback). */
interface Secret {
  kind: SecretKind;
  value: string;
  place?: Placement;
}

const TIMEOUT_MS = 20_000;

async function call<T>(
  method: HttpOptions['method'] & string,
  url: string,
  body?: unknown,
  secret?: Secret,
): Promise<{ status: number; json: T & MatrixError }> {
  const outcome = secret
    ? await sendWithCredential(url, credentialFor(secret.kind, secret.value, url, 'the homeserver the stage was given'), {
        method,
        timeoutMs: TIMEOUT_MS,
        ownServer: true,
        ...(secret.place ? { place: secret.place } : {}),
        json: body,
      })
    : await sendPlain(method, url, body);
  if (!outcome.ok) {
    if (outcome.withheld) throw new StageFailure(`${method} ${url}: ${outcome.message}; ${withheldFix(outcome.withheld)}`);
    throw new StageFailure(`${method} ${url}: no answer (${outcome.code ?? outcome.message})`);
  }
  let json: T & MatrixError;
  try {
    json = (outcome.body ? JSON.parse(outcome.body) : {}) as T & MatrixError;
  } catch {
    json = { error: outcome.body.slice(0, 200) } as T & MatrixError;
  }
  return { status: outcome.status, json };
}

/** A request without a secret, to the address the system resolver gives. */
async function sendPlain(method: HttpOptions['method'] & string, url: string, body: unknown): Promise<HttpOutcome> {
  const address = await systemAddress(new URL(url).hostname);
  if (!address) return notResolved(url, performance.now());
  return httpRequest(url, {
    address,
    method,
    timeoutMs: TIMEOUT_MS,
    ownServer: true,
    headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

async function expectOk<T>(method: HttpOptions['method'] & string, url: string, body?: unknown, secret?: Secret): Promise<T> {
  const { status, json } = await call<T>(method, url, body, secret);
  if (status < 200 || status > 299) {
    throw new StageFailure(`${method} ${url}: ${status}${json.errcode ? ` ${json.errcode}` : ''}${json.error ? `: ${json.error}` : ''}`);
  }
  return json;
}

const base = (url: string): string => url.replace(/\/+$/, '');

/** An admin's access token, in the Authorization header. */
const bearer = (accessToken: string): Secret => ({ kind: 'admin token', value: accessToken });

// ---------------------------------------------------------------------------------------------
// Registration with the shared secret

/** HMAC-SHA1 over nonce NUL user NUL password NUL admin|notadmin, hex (Synapse admin API). */
export function registrationMac(secret: string, nonce: string, user: string, password: string, admin: boolean): string {
  return createHmac('sha1', secret)
    .update(nonce)
    .update('\0')
    .update(user)
    .update('\0')
    .update(password)
    .update('\0')
    .update(admin ? 'admin' : 'notadmin')
    .digest('hex');
}

export async function registerWithSharedSecret(
  homeserver: string,
  secret: string,
  user: string,
  password: string,
  admin: boolean,
): Promise<string> {
  const url = `${base(homeserver)}/_synapse/admin/v1/register`;
  const { nonce } = await expectOk<{ nonce?: unknown }>('GET', url);
  if (typeof nonce !== 'string') throw new StageFailure(`GET ${url}: the answer has no nonce; is this Synapse's admin API?`);
  const mac = registrationMac(secret, nonce, user, password, admin);
  const { user_id: userId } = await expectOk<{ user_id: string }>('POST', url, undefined, {
    kind: 'password',
    value: password,
    place: { in: 'body', json: (value) => ({ nonce, username: user, password: value, admin, mac }) },
  });
  return userId;
}

// ---------------------------------------------------------------------------------------------
// Logging in (for an admin access token)

export async function login(homeserver: string, user: string, password: string): Promise<string> {
  const { access_token: token } = await expectOk<{ access_token: string }>(
    'POST',
    `${base(homeserver)}/_matrix/client/v3/login`,
    undefined,
    {
      kind: 'password',
      value: password,
      place: passwordLogin(user, 'scripts/register.ts'),
    },
  );
  return token;
}

export async function logout(homeserver: string, accessToken: string): Promise<void> {
  await call('POST', `${base(homeserver)}/_matrix/client/v3/logout`, {}, bearer(accessToken));
}

/** Whether the admin API answers at all (server_version needs no access token). */
export async function adminApiReachable(homeserver: string): Promise<{ ok: boolean; detail: string }> {
  const url = `${base(homeserver)}/_synapse/admin/v1/server_version`;
  try {
    const { status, json } = await call<{ server_version?: string }>('GET', url);
    return status === 200
      ? { ok: true, detail: `Synapse ${json.server_version ?? ''}`.trim() }
      : { ok: false, detail: `${url} answered ${status}` };
  } catch (e) {
    return { ok: false, detail: (e as Error).message };
  }
}

// ---------------------------------------------------------------------------------------------
// Registration tokens

export interface RegistrationToken {
  token: string;
  uses_allowed: number | null;
  pending: number;
  completed: number;
  expiry_time: number | null;
}

const tokensUrl = (homeserver: string): string => `${base(homeserver)}/_synapse/admin/v1/registration_tokens`;

export function createToken(
  homeserver: string,
  accessToken: string,
  usesAllowed: number | null,
  expiryTime: number | null,
): Promise<RegistrationToken> {
  return expectOk<RegistrationToken>(
    'POST',
    `${tokensUrl(homeserver)}/new`,
    { uses_allowed: usesAllowed, expiry_time: expiryTime },
    bearer(accessToken),
  );
}

export async function listTokens(homeserver: string, accessToken: string): Promise<RegistrationToken[]> {
  return (await expectOk<{ registration_tokens: RegistrationToken[] }>('GET', tokensUrl(homeserver), undefined, bearer(accessToken)))
    .registration_tokens;
}

export async function deleteToken(homeserver: string, accessToken: string, token: string): Promise<void> {
  await expectOk('DELETE', `${tokensUrl(homeserver)}/${encodeURIComponent(token)}`, undefined, bearer(accessToken));
}
