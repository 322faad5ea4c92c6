// One HTTPS (or HTTP) request to one address, with the host name kept for SNI, the Host header
// and certificate checks. The connection is made here, so the probe records what each phase
// saw: TCP, the TLS handshake and the peer's certificate chain (even an invalid one, which is
// a finding, not a reason to stop), then the response with a capped body. Redirects are never
// followed here: callers judge every hop. A probe never throws.
import net from 'node:net';
import tls, { type PeerCertificate, type DetailedPeerCertificate } from 'node:tls';
import { Client, request, type Dispatcher } from 'undici';
import { cached, runResource } from './run-cache.ts';
import { trustContext } from './trust.ts';

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

/** curl's --connect-to: requests for host:port go to address:toPort, whatever DNS says. */
export interface ConnectTo {
  host: string;
  port: number;
  address: string;
  toPort: number;
}

/** The --connect-to route for host:port, if any. */
export function routeFor(connectTo: readonly ConnectTo[] | undefined, host: string, port: number): ConnectTo | undefined {
  const name = host.toLowerCase();
  return connectTo?.find((r) => r.host === name && r.port === port);
}

export interface HttpOptions {
  /** The IP address to connect to; the URL's host stays the name for SNI and Host. */
  address: string;
  connectTo?: readonly ConnectTo[];
  timeoutMs: number;
  /** Extra trusted CAs (PEM), in addition to Node's bundled roots. */
  ca?: string;
  /** Default: the URL's host, or none when it is an IP (spec: no SNI for IP literals). */
  servername?: string;
  /** Default: the URL's host[:port]. */
  hostHeader?: string;
  method?: 'GET' | 'OPTIONS' | 'HEAD' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  maxBodyBytes?: number;
  /** base64 for binary bodies (a DER certificate); default utf8. */
  bodyEncoding?: 'utf8' | 'base64';
}

const DEFAULT_MAX_BODY = 64 * 1024;

export function httpRequest(url: string, options: HttpOptions): Promise<HttpOutcome> {
  // Reads are shared within a run; anything with a body (a login) is always sent.
  if (options.body !== undefined || (options.method ?? 'GET') === 'POST') return send(url, options);
  const { timeoutMs: _timeout, ...identity } = options;
  return cached(`http ${url} ${JSON.stringify(identity)}`, () => send(url, options));
}

async function send(url: string, options: HttpOptions): Promise<HttpOutcome> {
  const started = performance.now();
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const port = Number(target.port || (secure ? 443 : 80));
  const servername = options.servername ?? (net.isIP(host) ? undefined : host);
  const route = routeFor(options.connectTo, host, port);
  const elapsed = () => Math.round(performance.now() - started);
  // Timers take whole milliseconds; a deadline's remainder is fractional.
  const timeoutMs = Math.max(1, Math.ceil(options.timeoutMs));
  const signal = AbortSignal.timeout(timeoutMs);
  const endpoint: Endpoint = { origin: target.origin, address: route?.address ?? options.address, port: route?.toPort ?? port, secure, servername, ca: options.ca };
  const connection = sharedConnection(endpoint, timeoutMs) ?? ownConnection(endpoint, timeoutMs);
  let answered = false;
  try {
    const response = await request(url, {
      method: options.method ?? 'GET',
      headers: { host: options.hostHeader ?? target.host, 'user-agent': 'matrix-selfhost-toolkit', ...options.headers },
      body: options.body,
      dispatcher: connection.client,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    answered = true;
    const tls = connection.state.tls;
    const { body, truncated } = await readCapped(response.body, options.maxBodyBytes ?? DEFAULT_MAX_BODY, options.bodyEncoding ?? 'utf8');
    return {
      ok: true,
      url,
      address: options.address,
      status: response.statusCode,
      headers: flattenHeaders(response.headers),
      body,
      truncated,
      tls,
      elapsedMs: elapsed(),
    };
  } catch (error) {
    const phase = answered ? 'http' : connection.state.phase;
    return { ok: false, url, address: options.address, ...classify(error, phase), tls: connection.state.tls, elapsedMs: elapsed() };
  } finally {
    if (connection.own) connection.client.destroy().catch(() => {});
  }
}

/** Where a request's connection goes, and what it must trust: requests alike may share it. */
interface Endpoint {
  origin: string;
  address: string;
  port: number;
  secure: boolean;
  servername?: string;
  ca?: string;
}

/** What the current connection of an endpoint saw: how far it got, and its TLS handshake. */
interface ConnectionState {
  phase: HttpPhase;
  tls?: TlsFact;
}

interface Connection {
  client: Client;
  state: ConnectionState;
  /** Made for this one request (outside a run): destroyed after it. */
  own: boolean;
}

// Within a run (doctor) each endpoint gets one keep-alive connection and its requests take turns:
// one TCP connect and one TLS handshake per endpoint and run, where a connection per request
// cost a handshake each (most of doctor's CPU on a fleet).
function sharedConnection(endpoint: Endpoint, timeoutMs: number): Connection | undefined {
  const key = `connection ${endpoint.origin} ${endpoint.address} ${endpoint.port} ${endpoint.servername ?? ''} ${endpoint.ca ?? ''}`;
  return runResource(
    key,
    () => ({ ...newConnection(endpoint, timeoutMs, 4000), own: false }),
    (connection) => void connection.client.destroy().catch(() => {}),
  );
}

function ownConnection(endpoint: Endpoint, timeoutMs: number): Connection {
  return { ...newConnection(endpoint, timeoutMs, 1), own: true };
}

function newConnection(endpoint: Endpoint, timeoutMs: number, keepAliveTimeout: number): Omit<Connection, 'own'> {
  const state: ConnectionState = { phase: 'tcp' };
  const client = new Client(endpoint.origin, {
    // The connection's own deadline: its requests each have theirs (their signals).
    connect: (_opts, callback) => connectPinned({ ...endpoint, state, timeoutMs }, callback),
    keepAliveTimeout,
    pipelining: 1,
  });
  return { client, state };
}

interface ConnectOptions extends Endpoint {
  state: ConnectionState;
  timeoutMs: number;
}

// undici's connector callback: (error, null) or (null, socket).
type Callback = (...args: [Error, null] | [null, net.Socket]) => void;

/** TCP, then TLS over it; records the handshake and accepts any certificate so it can be judged. */
function connectPinned(o: ConnectOptions, callback: Callback): void {
  let done = false;
  o.state.phase = 'tcp';
  o.state.tls = undefined;
  const finish = (error: Error | null, socket: net.Socket | null) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    if (error) callback(error, null);
    else callback(null, socket!);
  };
  const tcp = net.connect({ host: o.address, port: o.port });
  const timer = setTimeout(() => {
    tcp.destroy();
    finish(Object.assign(new Error(`no answer within the timeout (${o.state.phase})`), { code: 'ETIMEDOUT' }), null);
  }, o.timeoutMs);
  timer.unref();
  tcp.once('error', (error) => finish(error, null));
  tcp.once('connect', () => {
    if (!o.secure) {
      o.state.phase = 'http';
      return finish(null, tcp);
    }
    o.state.phase = 'tls';
    // Node reads the peer's chain to check the name once the chain verified; that reading is the
    // costliest step of a handshake, so the check hands it on instead of it being read twice.
    let verifiedChain: DetailedPeerCertificate | undefined;
    const socket = tls.connect({
      socket: tcp,
      servername: o.servername,
      secureContext: trustContext(o.ca),
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
      checkServerIdentity: (hostname, cert) => {
        verifiedChain = cert as DetailedPeerCertificate;
        return tls.checkServerIdentity(hostname, cert);
      },
    });
    socket.once('error', (error) => finish(error, null));
    socket.once('secureConnect', () => {
      o.state.tls = tlsFact(socket, verifiedChain ?? (socket.getPeerCertificate(true) as DetailedPeerCertificate | undefined));
      o.state.phase = 'http';
      finish(null, socket);
    });
  });
}

function tlsFact(socket: tls.TLSSocket, peer: DetailedPeerCertificate | undefined): TlsFact {
  const chain: CertificateFact[] = [];
  let cert = peer;
  const seen = new Set<string>();
  while (cert && cert.fingerprint256 && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    chain.push(certificateFact(cert));
    cert = cert.issuerCertificate;
  }
  const error = socket.authorizationError as unknown;
  return {
    protocol: socket.getProtocol(),
    cipher: socket.getCipher().name,
    authorized: socket.authorized,
    ...(socket.authorized ? {} : { authorizationError: String((error as { code?: string })?.code ?? error) }),
    chain,
  };
}

function certificateFact(cert: PeerCertificate): CertificateFact {
  const subject = cert.subject?.CN ?? JSON.stringify(cert.subject ?? {});
  const issuer = cert.issuer?.CN ?? JSON.stringify(cert.issuer ?? {});
  const access = (cert.infoAccess ?? {}) as Record<string, string[]>;
  return {
    raw: cert.raw.toString('base64'),
    caIssuers: access['CA Issuers - URI'] ?? [],
    subject: String(subject),
    issuer: String(issuer),
    sans: (cert.subjectaltname ?? '').split(', ').filter(Boolean),
    validFrom: new Date(cert.valid_from).toISOString(),
    validTo: new Date(cert.valid_to).toISOString(),
    fingerprint256: cert.fingerprint256,
    selfIssued: JSON.stringify(cert.subject) === JSON.stringify(cert.issuer),
  };
}

async function readCapped(stream: Dispatcher.ResponseData['body'], max: number, encoding: BufferEncoding): Promise<{ body: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.from(chunk as Uint8Array);
    chunks.push(buffer);
    size += buffer.length;
    if (size > max) {
      stream.destroy();
      return { body: Buffer.concat(chunks).subarray(0, max).toString(encoding), truncated: true };
    }
  }
  return { body: Buffer.concat(chunks).toString(encoding), truncated: false };
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

function classify(error: unknown, phase: HttpPhase): Omit<HttpFailure, 'ok' | 'url' | 'address' | 'tls' | 'elapsedMs'> {
  const e = error as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  // An AbortSignal timeout is a DOMException whose numeric legacy code is no errno code.
  const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
  const code = timedOut ? 'ETIMEDOUT' : (e.code ?? e.cause?.code);
  const message = e.message ?? String(error);
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return { phase, error: 'timeout', code, message: `no answer within the timeout during ${phaseName(phase)}` };
  }
  if (code === 'ECONNREFUSED') return { phase, error: 'refused', code, message: 'connection refused: nothing listens on that port' };
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return { phase, error: 'reset', code, message: `connection closed during ${phaseName(phase)}` };
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL') return { phase, error: 'unreachable', code, message };
  if (phase === 'tls') return { phase, error: 'tls', code, message: `TLS handshake failed: ${message}` };
  return { phase, error: 'protocol', code, message };
}

function phaseName(phase: HttpPhase): string {
  return { tcp: 'the TCP connect', tls: 'the TLS handshake', http: 'the HTTP exchange' }[phase];
}
