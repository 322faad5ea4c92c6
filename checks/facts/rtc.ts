// What the rtc gatherer saw along the whole MatrixRTC path a call takes (docs/turn.md
// "MatrixRTC and LiveKit"): discovery of the LiveKit focus (client well-known and the MSC4143
// transports API), the OpenID token, the JWT service (CORS preflight, POST /get_token and
// /sfu/get), the homeserver's federation userinfo the JWT service asks, LiveKit's signalling over
// WebSocket, ICE and DTLS with LiveKit over UDP and over TCP, and the clean-up. The facts hold
// no secret: no access token, no OpenID token, no LiveKit token (only its claims).
import type { Withheld } from './http.ts';
import type { TurnPlan } from './turn-config.ts';
import type { ApiCallFact, WellKnownClientFact } from './turn.ts';

export const FOCI_KEY = 'org.matrix.msc4143.rtc_foci';
export const TRANSPORTS_PATH = '_matrix/client/unstable/org.matrix.msc4143/rtc/transports';
/** Where MDAD serves the LiveKit JWT service on the Matrix host (matrix_livekit_jwt_service_public_url; docs/turn.md "MatrixRTC and LiveKit"). */
export const MDAD_JWT_SERVICE_PATH = '/livekit-jwt-service';
/** The origin Element Call's web app is served from (the preflight's Origin). */
export const CALL_ORIGIN = 'https://call.element.io';

/**
 * The waits of the area one after the other, each bounded by --timeout: the well-known; the
 * client API; login or whoami; the transports API with the OpenID token; the JWT requests with
 * the federation userinfo (discovery up to two, the userinfo one: three); LiveKit's address;
 * the WebSocket, the join, the answer, ICE and DTLS, the leave (UDP and TCP at once: five); the
 * logout. The area ends within --timeout × RTC_STEPS.
 */
export const RTC_STEPS = 14;

export interface TransportsFact extends ApiCallFact {
  /** The rtc_transports value, as served. */
  transports?: unknown;
}

export interface OpenIdFact extends ApiCallFact {
  userId?: string;
  matrixServerName?: string;
  expiresIn?: number;
}

export interface CorsFact {
  url: string;
  status?: number;
  failure?: string;
  allowOrigin?: string;
  allowMethods?: string;
  allowHeaders?: string;
}

/** POST /get_token or /sfu/get: the answer, never the token. */
export interface JwtCallFact extends ApiCallFact {
  endpoint: 'get_token' | 'sfu/get';
  /** The `error` text of a Matrix error body. */
  error?: string;
  /** The `url` of the answer (LiveKit's WebSocket URL). */
  livekitUrl?: string;
  /** The answer carried a `jwt`. */
  jwt: boolean;
}

/** The LiveKit token's payload as decoded (the signature is LiveKit's to verify). */
export interface JwtClaims {
  /** The token is three base64url parts with a JSON payload. */
  decoded: boolean;
  iss?: string;
  sub?: string;
  nbf?: number;
  exp?: number;
  video?: Record<string, unknown>;
  name?: string;
}

/** What the JWT service does with the OpenID token: the homeserver's federation userinfo. */
export interface FederationUserinfoFact {
  /** How server discovery found the federation endpoint (spec step), or why it did not. */
  discovery?: string;
  /** host:port the userinfo request went to. */
  target?: string;
  /** The URL without its access_token. */
  url?: string;
  address?: string;
  status?: number;
  errcode?: string;
  failure?: string;
  tlsError?: string;
  /** The OpenID token was not sent: which rule held. */
  withheld?: Withheld;
  /** `sub` of the answer: the user the token belongs to. */
  sub?: string;
}

export interface IceServerFact {
  urls: string[];
  /** A username/credential came with it (never stored). */
  credential: boolean;
}

export interface SignalFact {
  /** wss://…/rtc, without its access_token. */
  url: string;
  address?: string;
  /** HTTP status of a refused upgrade (401 for a token LiveKit does not accept). */
  status?: number;
  /** The body of a refused upgrade (LiveKit's reason), capped. */
  reason?: string;
  failure?: string;
  tlsError?: string;
  /** The LiveKit token was not sent: which rule held. */
  withheld?: Withheld;
  elapsedMs: number;
  join?: {
    serverVersion: string;
    serverRegion?: string;
    protocol: number;
    room: string;
    identity: string;
    subscriberPrimary: boolean;
    iceServers: IceServerFact[];
  };
  /** The join did not come: what came instead (a leave with its reason, or nothing). */
  noJoin?: string;
}

export interface CandidateFact {
  address: string;
  port: number;
  transport: 'udp' | 'tcp';
  type: string;
  tcpType?: string;
  /** Offered to the peer; otherwise why not. */
  tried: boolean;
  why?: string;
  /** --connect-to sent it elsewhere. */
  routedTo?: string;
}

export interface MediaFact {
  transport: 'udp' | 'tcp';
  /** Every candidate LiveKit offered (both transports), with what was done with it. */
  candidates: CandidateFact[];
  state: 'connected' | 'failed' | 'timeout' | 'no-candidates' | 'not-started';
  failure?: string;
  /** From the offer to ICE connected, to DTLS connected, to the data channel open. */
  iceMs?: number;
  dtlsMs?: number;
  /** The first SCTP message through DTLS: the data channel LiveKit opened answered. */
  firstPacketMs?: number;
  selected?: { address: string; port: number; transport: string };
}

export interface SessionFact {
  transport: 'udp' | 'tcp';
  /** Which JWT request's token it used. */
  token: 'get_token' | 'sfu/get';
  signal: SignalFact;
  media?: MediaFact;
  cleanup?: { leaveSent: boolean; closed: boolean; elapsedMs: number };
}

export interface RtcFacts {
  serverName: string;
  timeoutMs: number;
  plan?: TurnPlan;
  wellKnown: WellKnownClientFact;
  auth: 'token' | 'login' | 'none';
  homeserver?: { baseUrl?: string; from?: '--homeserver' | 'well-known' | 'plan'; problem?: string; plainHttp?: boolean };
  api?: ApiCallFact;
  login?: ApiCallFact & { userId?: string };
  whoami?: ApiCallFact & { userId?: string; deviceId?: string };
  transports?: TransportsFact;
  /** GET MDAD's JWT service path + /healthz on the Matrix host, asked when the well-known names no LiveKit focus. */
  deployedJwtService?: ApiCallFact;
  openid?: OpenIdFact;
  /** The focus the rest of the path used, and where it came from. */
  focus?: { serviceUrl: string; from: 'transports' | 'well-known' };
  cors?: CorsFact;
  getToken?: JwtCallFact;
  sfuGet?: JwtCallFact;
  claims?: JwtClaims;
  federation?: FederationUserinfoFact;
  sessions: SessionFact[];
  logout?: ApiCallFact;
  /** The area's bound (--timeout × RTC_STEPS) ran out before every step was done. */
  unfinished?: boolean;
}

/** The payload of a JWT, decoded without verifying it (only claims reach the facts). */
export function decodeJwtClaims(jwt: string): JwtClaims {
  const parts = jwt.split('.');
  if (parts.length !== 3) return { decoded: false };
  try {
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const claims: JwtClaims = { decoded: true };
    if (typeof payload.iss === 'string') claims.iss = payload.iss;
    if (typeof payload.sub === 'string') claims.sub = payload.sub;
    if (typeof payload.nbf === 'number') claims.nbf = payload.nbf;
    if (typeof payload.exp === 'number') claims.exp = payload.exp;
    if (typeof payload.name === 'string') claims.name = payload.name;
    if (payload.video && typeof payload.video === 'object') claims.video = payload.video as Record<string, unknown>;
    return claims;
  } catch {
    return { decoded: false };
  }
}

/** A candidate line ("candidate:…" of SDP or trickle), parsed (RFC 8839 section 5.1). */
export function parseCandidate(line: string): Omit<CandidateFact, 'tried'> | undefined {
  const text = line.replace(/^a=/, '').replace(/^candidate:/, '');
  const parts = text.trim().split(/\s+/);
  if (parts.length < 8) return undefined;
  const transport = parts[2]!.toLowerCase();
  if (transport !== 'udp' && transport !== 'tcp') return undefined;
  const typIndex = parts.indexOf('typ');
  const type = typIndex >= 0 ? parts[typIndex + 1] : undefined;
  const tcpIndex = parts.indexOf('tcptype');
  const port = Number(parts[5]);
  if (!type || !Number.isInteger(port)) return undefined;
  return {
    address: parts[4]!,
    port,
    transport,
    type,
    ...(tcpIndex >= 0 && parts[tcpIndex + 1] ? { tcpType: parts[tcpIndex + 1] } : {}),
  };
}

/** The LiveKit service URL of every livekit transport of an rtc_transports value. */
export function transportServiceUrls(transports: unknown): string[] {
  if (!Array.isArray(transports)) return [];
  return transports.flatMap((t) => {
    const f = t as Record<string, unknown> | null;
    return f && f.type === 'livekit' && typeof f.livekit_service_url === 'string' ? [f.livekit_service_url] : [];
  });
}

/** The same URL, whatever its trailing slashes. */
export function sameServiceUrl(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}
