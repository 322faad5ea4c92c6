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
  error: 'timeout' | 'refused' | 'unreachable' | 'reset' | 'tls' | 'protocol';
  code?: string;
  message: string;
  tls?: TlsFact;
  elapsedMs: number;
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
}

/** The first hop whose certificate does not verify: clients and servers would stop there. */
export function untrustedHop(chain: FetchChain): { url: string; error: string } | undefined {
  for (const hop of chain.hops) {
    const tls = hop.outcome.tls;
    if (tls && !tls.authorized) return { url: hop.url, error: tls.authorizationError ?? 'untrusted certificate' };
  }
  return undefined;
}
