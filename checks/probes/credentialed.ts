// The one way a secret leaves this process over HTTP (docs/security.md "The one rule"). A request
// that carries an access token, an admin token, a password or an OpenID token goes out only when
//   (a) its origin is the origin the secret belongs to (the homeserver named by --homeserver,
//       discovered from the named server's verified client well-known, or the inventory's), and
//   (b) its connection verified (chain and name, against Node's roots plus --ca-file), or it is
//       plain HTTP to loopback.
// A redirect is followed with the secret only within that origin. Otherwise nothing is sent and
// the outcome says which rule held (HttpFailure.withheld). No other module sets an Authorization
// header or puts a secret in a URL or body: test/unit/credentials.test.ts fails when one does.
import { isIP } from 'node:net';
import { type HttpFailure, type HttpOutcome, type SecretKind, type Withheld, withheldMessage } from '../facts/http.ts';
import { addressScope } from '../facts/turn-config.ts';
import { httpRequest, type HttpOptions } from './http.ts';
import { systemAddress } from './resolve.ts';

/** A secret, and the one origin it may be sent to. */
export interface Credential {
  kind: SecretKind;
  /** Secret: never in a fact, a message or a report. */
  value: string;
  /** scheme://host[:port] of the server it belongs to. */
  origin: string;
  /** Where that origin came from, for a refusal's message: "--homeserver", "the client well-known of example.org", … */
  from: string;
}

/** The credential for `kind` with the origin of `baseUrl` (the homeserver's client API, a JWT service). */
export function credentialFor(kind: SecretKind, value: string, baseUrl: string, from: string): Credential {
  return { kind, value, origin: new URL(baseUrl).origin, from };
}

/** Where the secret goes in the request. */
export type Placement = { in: 'bearer' } | { in: 'query'; name: string } | { in: 'body'; json: (secret: string) => unknown };

export interface CredentialedOptions extends Omit<HttpOptions, 'address' | 'headers' | 'body' | 'trusted'> {
  /** The address to connect to; default: the system's lookup of the URL's host (stages). */
  address?: string;
  /** Headers without the secret. */
  headers?: Record<string, string>;
  /** The secret in the Authorization header (default), a query parameter, or a JSON body built around it. */
  place?: Placement;
  /** A JSON body that holds no secret (with place bearer or query). */
  json?: unknown;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

/** Plain HTTP carries a secret only to this machine: a loopback name or literal connected on a loopback address. */
export function plainHttpAllowed(url: string, address: string | undefined): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  const named = host === 'localhost' || (isIP(host) !== 0 && addressScope(host) === 'loopback');
  return named && (address === undefined || addressScope(address) === 'loopback');
}

/** Sends `url` with the credential when the rule allows it; otherwise a failure that says which rule held. */
export async function sendWithCredential(url: string, credential: Credential, options: CredentialedOptions): Promise<HttpOutcome> {
  const started = performance.now();
  let target = url;
  let method = options.method ?? 'GET';
  let withBody = true;
  for (let hop = 0; ; hop++) {
    // The origin rule, before any connection; then plain HTTP only to this machine.
    if (new URL(target).origin !== new URL(credential.origin).origin)
      return withheld(target, options.address ?? '', { rule: 'origin', ...about(credential) }, started);
    const address = options.address ?? (await systemAddress(new URL(target).hostname));
    if (!address) return notResolved(target, started);
    if (new URL(target).protocol !== 'https:' && !plainHttpAllowed(target, address))
      return withheld(target, address, { rule: 'plain-http', ...about(credential) }, started);
    const outcome = await httpRequest(placed(target, credential, options.place), {
      ...options,
      address,
      method,
      trusted: true,
      timeoutMs: Math.max(1, options.timeoutMs - (performance.now() - started)),
      headers: headersFor(credential, options, withBody),
      ...bodyFor(credential, options, withBody),
    });
    // The URL with a query secret is never what a fact shows.
    const shown = { ...outcome, url: target, ...(outcome.ok ? {} : { message: outcome.message.split(credential.value).join('…') }) };
    if (!outcome.ok && outcome.error === 'tls' && outcome.tls && !outcome.tls.authorized)
      return withheld(target, address, { rule: 'tls', ...about(credential), tlsError: outcome.tls.authorizationError }, started, outcome);
    if (!outcome.ok || !REDIRECTS.has(outcome.status) || !outcome.headers.location || hop === MAX_REDIRECTS) return shown;
    const next = new URL(outcome.headers.location, target).href;
    if (new URL(next).origin !== credential.origin)
      return withheld(next, address, { rule: 'redirect', ...about(credential) }, started, outcome);
    // As browsers do: 307 and 308 repeat the request, the others become a GET without a body.
    if (outcome.status !== 307 && outcome.status !== 308) {
      method = 'GET';
      withBody = false;
    }
    target = next;
  }
}

/**
 * A WebSocket URL with the credential in its query, as livekit-client sends LiveKit's token (a
 * browser WebSocket has no headers), or why it may not go: another origin, or plain ws:
 * beyond loopback. The caller connects with TLS verification on (node:tls's default), so the
 * upgrade request carrying it is written only on a verified connection.
 */
export function websocketWithCredential(
  url: string,
  credential: Credential,
  name: string,
  address: string,
): { url: string } | { withheld: Withheld } {
  const target = new URL(url);
  if (target.origin !== new URL(credential.origin).origin) return { withheld: { rule: 'origin', url, ...about(credential) } };
  if (target.protocol !== 'wss:' && !plainHttpAllowed(url.replace(/^ws/, 'http'), address))
    return { withheld: { rule: 'plain-http', url, ...about(credential) } };
  target.searchParams.set(name, credential.value);
  return { url: target.href };
}

/** A password login (m.login.password, m.id.user), the password placed in its body. */
export function passwordLogin(user: string, device: string): Placement {
  return {
    in: 'body',
    json: (password) => ({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user },
      password,
      initial_device_display_name: device,
    }),
  };
}

function about(credential: Credential): Pick<Withheld, 'kind' | 'origin' | 'from'> {
  return { kind: credential.kind, origin: credential.origin, from: credential.from };
}

function placed(url: string, credential: Credential, place: Placement = { in: 'bearer' }): string {
  if (place.in !== 'query') return url;
  const withSecret = new URL(url);
  withSecret.searchParams.set(place.name, credential.value);
  return withSecret.href;
}

function headersFor(credential: Credential, options: CredentialedOptions, withBody: boolean): Record<string, string> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if ((options.place ?? { in: 'bearer' }).in === 'bearer') headers.authorization = `Bearer ${credential.value}`;
  if (withBody && (options.json !== undefined || options.place?.in === 'body')) headers['content-type'] = 'application/json';
  return headers;
}

function bodyFor(credential: Credential, options: CredentialedOptions, withBody: boolean): { body?: string } {
  if (!withBody) return {};
  if (options.place?.in === 'body') return { body: JSON.stringify(options.place.json(credential.value)) };
  return options.json !== undefined ? { body: JSON.stringify(options.json) } : {};
}

function withheld(url: string, address: string, rest: Omit<Withheld, 'url'>, started: number, seen?: HttpOutcome): HttpFailure {
  const w: Withheld = { url, ...rest };
  return {
    ok: false,
    url,
    address,
    phase: rest.rule === 'tls' ? 'tls' : 'http',
    error: 'withheld',
    message: withheldMessage(w),
    ...(seen?.tls ? { tls: seen.tls } : {}),
    elapsedMs: Math.round(performance.now() - started),
    withheld: w,
  };
}

/** The failure of a request whose host the resolver did not find. */
export function notResolved(url: string, started: number): HttpFailure {
  return {
    ok: false,
    url,
    address: '',
    phase: 'tcp',
    error: 'unreachable',
    message: `${new URL(url).hostname} does not resolve`,
    elapsedMs: Math.round(performance.now() - started),
  };
}
