// One HTTPS (or HTTP) request to one address, with the host name kept for SNI, the Host header
// and certificate checks. Its connection (connections.ts) records what TCP and the TLS handshake
// saw, the peer's certificate chain included (even an invalid one, which is a finding, not a
// reason to stop); this adds the response with a capped body, or where and why it failed.
// Redirects are never followed here: callers judge every hop. A probe never throws.
import net from 'node:net';
import { cached, refusedAddress, unreachableNameRefusal } from './run-cache.ts';
import { TOOLKIT_USER_AGENT, type HttpFailure, type HttpOutcome, type HttpPhase, type HttpSuccess, type TlsFact } from '../facts/http.ts';
import { routeFor, type ConnectTo } from '../core/net.ts';
import { leaseConnection, ownConnection, type Endpoint, type Lease } from './connections.ts';
import { clientRequest, type ResponseBody } from './undici-client.ts';

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
  method?: 'GET' | 'OPTIONS' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  /** Hand the request only a connection whose TLS verified (Endpoint.trusted): for requests with a secret. */
  trusted?: boolean;
  /** Default: the toolkit's own; federation requests send Synapse's, client requests a browser's. */
  userAgent?: string;
  headers?: Record<string, string>;
  /** Bytes as they are, or text sent as UTF-8. */
  body?: string | Uint8Array;
  maxBodyBytes?: number;
  /** A poll, asked again and again for an answer that changes: never shared within a run. */
  poll?: boolean;
  /**
   * The stages' requests to the operator's own server, at the address their resolver gives (a
   * split-horizon DNS, /etc/hosts): a public name's private address is connected to.
   */
  ownServer?: boolean;
  /** base64 for binary bodies (a DER certificate); default utf8. */
  bodyEncoding?: 'utf8' | 'base64';
}

const DEFAULT_MAX_BODY = 64 * 1024;

export function httpRequest(url: string, options: HttpOptions): Promise<HttpOutcome> {
  // Reads are shared within a run; anything with a body (a login) or a side effect is always sent.
  if (options.body !== undefined || options.poll || !['GET', 'HEAD', 'OPTIONS'].includes(options.method ?? 'GET'))
    return send(url, options);
  const { timeoutMs: _timeout, ...identity } = options;
  return cached(`http ${url} ${JSON.stringify(identity)}`, () => send(url, options));
}

async function send(url: string, options: HttpOptions): Promise<HttpOutcome> {
  const started = performance.now();
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const port = Number(target.port || (secure ? 443 : 80));
  const route = routeFor(options.connectTo, host, port);
  // The address DNS gave is judged, not a --connect-to route, which is the operator's own: by
  // the run's guard (the exporter's), and as a public name's address (facts/public-names.ts).
  const guarded =
    refusedAddress(options.address) ?? (route || options.ownServer ? undefined : unreachableNameRefusal(host, options.address, port));
  if (guarded)
    return {
      ok: false,
      url,
      address: options.address,
      phase: 'tcp',
      error: 'unreachable',
      message: `not connected: ${guarded}`,
      elapsedMs: 0,
    };
  const endpoint: Endpoint = {
    origin: target.origin,
    address: route?.address ?? options.address,
    port: route?.toPort ?? port,
    secure,
    servername: options.servername ?? (net.isIP(host) ? undefined : host),
    ca: options.ca,
    ...(options.trusted ? { trusted: true } : {}),
  };
  // Timers take whole milliseconds; a deadline's remainder is fractional.
  const deadline = started + Math.max(1, Math.ceil(options.timeoutMs));
  const first = await exchange(url, target, options, await leaseConnection(endpoint, deadline), deadline, started);
  // A kept-alive connection the server closed as the request went out: sent again on a
  // connection of its own, as browsers do (only when nothing came back and time is left).
  if (first.retryable) return (await exchange(url, target, options, ownConnection(endpoint, deadline), deadline, started)).outcome;
  return first.outcome;
}

async function exchange(
  url: string,
  target: URL,
  options: HttpOptions,
  lease: Lease,
  deadline: number,
  started: number,
): Promise<{ outcome: HttpOutcome; retryable: boolean }> {
  const elapsed = () => Math.round(performance.now() - started);
  const timeoutMs = Math.max(1, Math.ceil(deadline - performance.now()));
  // Set when the response headers came: from then on a failure is one of the HTTP exchange.
  let answer: { tls?: TlsFact } | undefined;
  try {
    const response = await clientRequest(lease.client, new URL(url), {
      method: options.method ?? 'GET',
      headers: { host: options.hostHeader ?? target.host, 'user-agent': options.userAgent ?? TOOLKIT_USER_AGENT, ...options.headers },
      body: options.body,
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    // The handshake of the connection that answered, kept before anything can replace it.
    answer = { tls: lease.state.tls };
    const { body, truncated } = await readCapped(response.body, options.maxBodyBytes ?? DEFAULT_MAX_BODY, options.bodyEncoding ?? 'utf8');
    const outcome: HttpSuccess = {
      ok: true,
      url,
      address: options.address,
      status: response.statusCode,
      headers: flattenHeaders(response.headers),
      body,
      truncated,
      tls: answer.tls,
      elapsedMs: elapsed(),
    };
    return { outcome, retryable: false };
  } catch (error) {
    const failure = classify(error, answer ? 'http' : lease.state.phase);
    const outcome: HttpFailure = {
      ok: false,
      url,
      address: options.address,
      ...failure,
      tls: answer ? answer.tls : lease.state.tls,
      elapsedMs: elapsed(),
    };
    const reusedAndReset = lease.shared && !answer && failure.phase === 'http' && failure.error === 'reset';
    return { outcome, retryable: reusedAndReset && performance.now() < deadline };
  } finally {
    lease.release();
  }
}

async function readCapped(stream: ResponseBody, max: number, encoding: BufferEncoding): Promise<{ body: string; truncated: boolean }> {
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
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE')
    return { phase, error: 'reset', code, message: `connection closed during ${phaseName(phase)}` };
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL') return { phase, error: 'unreachable', code, message };
  if (phase === 'tls') return { phase, error: 'tls', code, message: `TLS handshake failed: ${message}` };
  return { phase, error: 'protocol', code, message };
}

function phaseName(phase: HttpPhase): string {
  return { tcp: 'the TCP connect', tls: 'the TLS handshake', http: 'the HTTP exchange' }[phase];
}
