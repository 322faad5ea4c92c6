// What the TURN and MatrixRTC gatherers saw: the client well-known, the homeserver's TURN answer,
// every TURN URI probed on the wire (STUN and TURN exchanges, relay, release), the LiveKit JWT
// service and LiveKit's TCP port. The facts hold no secret.
import type { Withheld } from './http.ts';
import type { TurnPlan, UriParse } from './turn-config.ts';
import type { AddressLookup } from './dns.ts';

export type UriSource = 'homeserver' | 'plan' | 'turn-uri' | 'none';

export type CredentialSource = 'homeserver' | 'plan' | 'turn-secret' | 'none';

export const CREDENTIAL_LABEL: Record<CredentialSource, string> = {
  homeserver: "the homeserver's TURN credentials (Synapse's turn_shared_secret)",
  plan: 'the static auth secret MDAD derives from your vars.yml',
  'turn-secret': 'the secret from TURN_SECRET / --turn-secret-file',
  none: 'no credentials',
};

export interface WellKnownClientFact {
  url: string;
  status?: number;
  failure?: string;
  /** The body is a JSON object. */
  json: boolean;
  baseUrl?: string;
  /** The served org.matrix.msc4143.rtc_foci value, as is. */
  foci?: unknown;
}

export interface UriFact {
  parse: UriParse;
  lookup?: AddressLookup;
  /** Why it was not probed (e.g. TURN over DTLS). */
  skipped?: string;
  probe?: TurnProbeFacts;
}

export interface TurnFacts {
  serverName: string;
  plan?: TurnPlan;
  timeoutMs: number;
  wellKnown: WellKnownClientFact;
  homeserver?: { baseUrl?: string; from?: '--homeserver' | 'well-known' | 'plan'; problem?: string; plainHttp?: boolean };
  auth: 'token' | 'login' | 'none';
  /** GET /_matrix/client/versions before any secret is sent. */
  api?: ApiCallFact;
  login?: ApiCallFact & { userId?: string };
  turnServer?: TurnServerFact;
  logout?: ApiCallFact;
  source: { uris: UriSource; credentials: CredentialSource; alternative?: CredentialSource; ignoredTurnUris: number };
  /** The server's addresses the URI hosts should resolve to. */
  server: { addresses: string[]; from: string; strict: boolean };
  uris: UriFact[];
  rtc: {
    jwt: { url: string; fact: ApiCallFact }[];
    tcp?: { host: string; port: number; address?: string; outcome?: { ok: true; elapsedMs: number } | ChannelFailure };
  };
}

export interface TurnTarget {
  /** The URI as configured, e.g. turns:matrix.example.org?transport=tcp */
  uri: string;
  scheme: 'turn' | 'turns';
  /** The URI's transport; turns: over tcp is TLS. */
  transport: 'udp' | 'tcp';
  host: string;
  port: number;
  /** The address the host resolved to, which the probe connects to. */
  address: string;
  /** --connect-to: where the probe connects instead of address:port. */
  via?: { address: string; port: number };
}

export interface TurnCredentials {
  username: string;
  password: string;
}

/** One request and its answer (or why there was none). */
export type Exchange =
  | {
      ok: true;
      cls: 'success' | 'error';
      error?: { code: number; reason: string };
      fingerprint: Verification;
      /** Checked on answers to authenticated requests only. */
      integrity: Verification | 'not-checked';
      elapsedMs: number;
      sent: number;
    }
  | { ok: false; error: TransactionError; message: string; elapsedMs: number; sent: number; discarded: string[] };

export type RoundTripFact =
  | { attempted: true; ok: true; elapsedMs: number; bytes: number; relayedA: TransportAddress; relayedB: TransportAddress }
  | { attempted: true; ok: false; step: string; message: string; elapsedMs: number; exchange?: Exchange }
  | { attempted: false; reason: string };

export interface TurnProbeFacts {
  target: TurnTarget;
  connection: { ok: true; elapsedMs: number; tls?: TlsSummary } | ChannelFailure;
  binding?: Exchange & { mapped?: TransportAddress; software?: string };
  challenge?: Exchange & { realm?: string; hasNonce: boolean };
  allocate?: Exchange & { relayed?: TransportAddress; mapped?: TransportAddress; lifetime?: number; staleNonceRetries: number };
  alternative?: { label: string; accepted: boolean; code?: number; message: string };
  roundTrip?: RoundTripFact;
  release: { allocations: number; released: number; failures: string[] };
  elapsedMs: number;
}

/** One API call as a fact: where it went and how it ended, never the body. */
export interface ApiCallFact {
  url: string;
  address?: string;
  /** HTTP status, when a response came. */
  status?: number;
  /** Matrix error code of the body, e.g. M_FORBIDDEN. */
  errcode?: string;
  /** A network, TLS or resolution failure. */
  failure?: string;
  /** The certificate did not verify (the call was still made when it carried no secret). */
  tlsError?: string;
  /** The call carried a secret and was not sent: which rule held (checks/probes/credentialed.ts). */
  withheld?: Withheld;
  elapsedMs: number;
}

export interface TurnServerFact extends ApiCallFact {
  /** The body was a JSON object (Synapse answers {} when TURN is not configured). */
  json: boolean;
  uris: string[];
  /** Entries of `uris` that are not strings. */
  badUris: number;
  ttl?: number;
  hasUsername: boolean;
  hasPassword: boolean;
}

export type TransportName = 'udp' | 'tcp' | 'tls';

export interface TlsSummary {
  protocol: string | null;
  /** Chain verified against the trusted CAs and the name checked. */
  authorized: boolean;
  authorizationError?: string;
  subject?: string;
  issuer?: string;
  sans: string[];
  validTo?: string;
}

export type NetError = 'timeout' | 'refused' | 'unreachable' | 'reset' | 'tls';

export interface ChannelFailure {
  ok: false;
  error: NetError;
  message: string;
  tls?: TlsSummary;
  elapsedMs: number;
}

/** timeout: nothing came back; refused: ICMP port unreachable (UDP) ; closed: the stream ended; malformed: not STUN. */
export type TransactionError = 'timeout' | 'refused' | 'closed' | 'malformed';

export interface TransportAddress {
  family: 4 | 6;
  address: string;
  port: number;
}

export type Verification = 'valid' | 'invalid' | 'absent';
