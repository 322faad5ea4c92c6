// What HTTP probes saw, as plain data: a response or where and why the request failed, the TLS
// handshake with the peer's chain, and the hops of a redirect chain.

export interface CertificateFact {
  /** DER, base64: lets rules verify signatures (e.g. against an issuer fetched from AIA). */
  raw: string;
  /** The leaf's "CA Issuers" URLs (Authority Information Access), where its issuer can be fetched. */
  caIssuers: string[];
  subject: string;
  issuer: string;
  sans: string[];
  validFrom: string;
  validTo: string;
  fingerprint256: string;
  selfIssued: boolean;
}

export interface TlsFact {
  protocol: string | null;
  cipher: string;
  /** Verified against the trusted CAs and the expected name. */
  authorized: boolean;
  /** OpenSSL/Node code when not authorized: CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID, … */
  authorizationError?: string;
  /**
   * Leaf first, then its issuers as Node linked them: from what the server sent, completed from
   * the trusted store. A lone leaf whose issuer is not in it means nobody could find the issuer.
   */
  chain: CertificateFact[];
}

export type HttpPhase = 'tcp' | 'tls' | 'http';

/**
 * The User-Agent Synapse sends on every federation request and on its /.well-known/matrix/server
 * lookup: `hs.version_string`, which is f"Synapse/{SYNAPSE_VERSION}" (element-hq/synapse
 * synapse/server.py; sent by synapse/http/matrixfederationclient.py as
 * `headers_dict[b"User-Agent"] = [self.version_string_bytes]` and by
 * synapse/http/federation/well_known_resolver.py). The version is the one the lab runs
 * (test/lab/servers/requirements.txt, matrix-synapse 1.163.2).
 */
export const SYNAPSE_USER_AGENT = 'Synapse/1.163.2';
/** What a web client (Element Web in Firefox) sends: the client well-known, /versions, and the browser retry. */
export const BROWSER_USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0';
/** Requests that stand for neither a homeserver nor a client. */
export const TOOLKIT_USER_AGENT = 'matrix-selfhost-toolkit';

/** A status that makes a homeserver's request fail, and so is worth asking again as a browser. */
export function refused(status: number): boolean {
  return status >= 400 && status <= 599;
}

export interface HttpSuccess {
  ok: true;
  url: string;
  address: string;
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The body was longer than the cap and was cut. */
  truncated: boolean;
  tls?: TlsFact;
  elapsedMs: number;
}

export interface HttpFailure {
  ok: false;
  url: string;
  address: string;
  /** Where it failed: TCP connect, TLS handshake, or the HTTP exchange. */
  phase: HttpPhase;
  error: 'timeout' | 'refused' | 'unreachable' | 'reset' | 'tls' | 'protocol' | 'withheld';
  code?: string;
  message: string;
  tls?: TlsFact;
  elapsedMs: number;
  /** A request with a secret that was not sent (error 'withheld'): which rule held. */
  withheld?: Withheld;
}

/** The kinds of secret a check or stage sends, each only to the origin it belongs to (docs/security.md). */
export type SecretKind = 'access token' | 'admin token' | 'password' | 'OpenID token' | 'LiveKit token';

/**
 * Why a request that carries a secret was not sent (docs/security.md "The one rule"):
 * - origin: the URL is not the origin the secret belongs to;
 * - tls: the TLS connection did not verify (chain and name), so nothing went out on it;
 * - plain-http: plain HTTP to an address other than loopback;
 * - redirect: the answer redirected to another origin, which was not followed with the secret.
 */
export interface Withheld {
  rule: 'origin' | 'tls' | 'plain-http' | 'redirect';
  kind: SecretKind;
  /** The URL the secret was not sent to (for a redirect: where it pointed). */
  url: string;
  /** The origin the secret belongs to, and where that came from (--homeserver, a well-known, …). */
  origin: string;
  from: string;
  /** For tls: the verification error (CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID, …). */
  tlsError?: string;
}

/** The one-line reason a secret was not sent (it never holds the secret). */
export function withheldMessage(w: Withheld): string {
  const whose = `the ${w.kind} belongs to ${w.origin} (${w.from})`;
  switch (w.rule) {
    case 'origin':
      return `not sent to ${w.url}: ${whose}, another origin`;
    case 'tls':
      return `not sent to ${w.url}: its certificate does not verify (${w.tlsError ?? 'not trusted'}), so no ${w.kind} went over that connection`;
    case 'plain-http':
      return `not sent to ${w.url}: plain HTTP carries no ${w.kind} beyond this machine`;
    case 'redirect':
      return `not sent to ${w.url}: the answer redirected there, and ${whose}`;
  }
}

export type HttpOutcome = HttpSuccess | HttpFailure;

export interface Hop {
  url: string;
  outcome: HttpOutcome;
}

export interface FetchChain {
  hops: Hop[];
  /** The last response, when it is not a redirect. */
  final?: HttpSuccess;
  problem?: 'loop' | 'too-many-redirects' | 'bad-location' | 'unresolvable' | 'failed';
  detail?: string;
  /** The User-Agent the chain was requested with. */
  userAgent?: string;
  /** The same request repeated once with a browser's User-Agent, after a 4xx or 5xx answer. */
  asBrowser?: FetchChain;
}

/**
 * When a site answers a homeserver's User-Agent with an error but a browser with success, it
 * treats homeservers differently (a WAF, a bot protection, a hosting provider's rule).
 */
export function userAgentDiscrimination(
  asHomeserver: HttpOutcome | undefined,
  asBrowser: HttpOutcome | undefined,
): { homeserverStatus: number; browserStatus: number } | undefined {
  if (!asHomeserver?.ok || !asBrowser?.ok) return undefined;
  if (!refused(asHomeserver.status) || refused(asBrowser.status)) return undefined;
  return { homeserverStatus: asHomeserver.status, browserStatus: asBrowser.status };
}

/** The first hop whose certificate does not verify: clients and servers would stop there. */
export function untrustedHop(chain: FetchChain): { url: string; error: string } | undefined {
  for (const hop of chain.hops) {
    const tls = hop.outcome.tls;
    if (tls && !tls.authorized) return { url: hop.url, error: tls.authorizationError ?? 'untrusted certificate' };
  }
  return undefined;
}
