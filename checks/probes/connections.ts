// The connections HTTP probes go through: TCP to a pinned address, then TLS with the name kept
// for SNI, recording what the handshake showed (protocol, verdict, the peer's chain, even an
// invalid one, which is a finding, not a reason to stop).
//
// Within a run (doctor) each endpoint (address, port, name, trust) gets one keep-alive connection
// and its requests take turns, so one TLS handshake per endpoint and run, where a connection per
// request cost a handshake each (most of doctor's CPU on a fleet). A request waits for its turn
// only briefly: behind a slow or hanging request it gets a connection of its own, so one stuck
// URL never makes the others on that endpoint fail. Outside a run every request connects alone.
import net from 'node:net';
import tls, { type DetailedPeerCertificate, type PeerCertificate } from 'node:tls';
import { runResource } from './run-cache.ts';
import { Client } from './undici-client.ts';
import { trustContext } from './trust.ts';
import type { CertificateFact, HttpPhase, TlsFact } from '../facts/http.ts';

/** Where a request's connection goes, and what it must trust: requests alike may share it. */
export interface Endpoint {
  origin: string;
  address: string;
  port: number;
  secure: boolean;
  servername?: string;
  ca?: string;
  /**
   * Only a connection whose TLS verified (chain and name) is handed to the request: an
   * unverified one is closed after the handshake, before a byte of the request is written.
   * Requests that carry a secret go only this way (credentialed.ts).
   */
  trusted?: boolean;
}

/** The error of a connection closed because its TLS did not verify (Endpoint.trusted). */
export const UNTRUSTED_CODE = 'ERR_TLS_NOT_TRUSTED';

/** What a connection saw: how far it got, and its TLS handshake. */
export interface ConnectionState {
  phase: HttpPhase;
  tls?: TlsFact;
}

/** A connection lent to one request until it calls release(). */
export interface Lease {
  client: Client;
  state: ConnectionState;
  /** The run's connection of the endpoint (else one made for this request alone). */
  shared: boolean;
  release(): void;
}

/** An endpoint's connection within a run, and who waits for it. */
interface SharedEndpoint {
  client: Client;
  state: ConnectionState;
  /** The deadline of the request holding the connection: a reconnect must end by then. */
  deadline: number;
  busy: boolean;
  waiters: (() => void)[];
}

/** How long a request waits for the shared connection at most (a quarter of its timeout, up to 1 s). */
export function patienceMs(timeoutMs: number): number {
  return Math.min(1000, timeoutMs / 4);
}

/** The endpoint's connection for a request that must be done by `deadline` (performance.now()). */
export async function leaseConnection(endpoint: Endpoint, deadline: number): Promise<Lease> {
  const key = `connection ${endpoint.origin} ${endpoint.address} ${endpoint.port} ${endpoint.servername ?? ''} ${endpoint.trusted ? 'trusted' : ''} ${endpoint.ca ?? ''}`;
  const shared = runResource(
    key,
    () => newSharedEndpoint(endpoint),
    (s) => void s.client.destroy().catch(() => {}),
  );
  if (!shared) return ownConnection(endpoint, deadline);
  if (shared.busy && !(await turnWithin(shared, patienceMs(deadline - performance.now())))) return ownConnection(endpoint, deadline);
  shared.busy = true;
  shared.deadline = deadline;
  let released = false;
  return {
    client: shared.client,
    state: shared.state,
    shared: true,
    release: () => {
      if (released) return;
      released = true;
      // The turn passes straight to the next in line, so no newcomer slips in between.
      const next = shared.waiters.shift();
      if (next) next();
      else shared.busy = false;
    },
  };
}

/** A connection for this request alone, destroyed when it is released. */
export function ownConnection(endpoint: Endpoint, deadline: number): Lease {
  const state: ConnectionState = { phase: 'tcp' };
  const client = newClient(endpoint, state, () => deadline, 1);
  return { client, state, shared: false, release: () => void client.destroy().catch(() => {}) };
}

function newSharedEndpoint(endpoint: Endpoint): SharedEndpoint {
  const state: ConnectionState = { phase: 'tcp' };
  const shared: SharedEndpoint = {
    client: newClient(endpoint, state, () => shared.deadline, 4000),
    state,
    deadline: 0,
    busy: false,
    waiters: [],
  };
  return shared;
}

function newClient(endpoint: Endpoint, state: ConnectionState, deadline: () => number, keepAliveTimeout: number): Client {
  return new Client(endpoint.origin, {
    connect: (_opts, callback) => connectPinned({ ...endpoint, state, timeoutMs: deadline() - performance.now() }, callback),
    keepAliveTimeout,
    pipelining: 1,
  });
}

/** True when the turn came within `waitMs` (the lease is then the caller's), false when it did not. */
function turnWithin(shared: SharedEndpoint, waitMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const take = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(
      () => {
        shared.waiters.splice(shared.waiters.indexOf(take), 1);
        resolve(false);
      },
      Math.max(0, waitMs),
    );
    shared.waiters.push(take);
  });
}

interface ConnectOptions extends Endpoint {
  state: ConnectionState;
  timeoutMs: number;
}

// undici's connector callback: (error, null) or (null, socket).
type Callback = (...args: [Error, null] | [null, net.Socket]) => void;

/**
 * TCP, then TLS over it; records the handshake and accepts any certificate so it can be judged,
 * unless the endpoint is `trusted`.
 */
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
  const timer = setTimeout(
    () => {
      tcp.destroy();
      finish(Object.assign(new Error(`no answer within the timeout (${o.state.phase})`), { code: 'ETIMEDOUT' }), null);
    },
    Math.max(1, o.timeoutMs),
  );
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
      // The name is the URL's: its host name, or for an IP literal (sent without SNI) the address
      // in it, which Node would otherwise not know over a socket it did not connect itself.
      checkServerIdentity: (_hostname, cert) => {
        verifiedChain = cert as DetailedPeerCertificate;
        return tls.checkServerIdentity(o.servername ?? new URL(o.origin).hostname.replace(/^\[|\]$/g, ''), cert);
      },
    });
    socket.once('error', (error) => finish(error, null));
    socket.once('secureConnect', () => {
      o.state.tls = tlsFact(socket, verifiedChain ?? (socket.getPeerCertificate(true) as DetailedPeerCertificate | undefined));
      if (o.trusted && !socket.authorized) {
        socket.destroy();
        return finish(
          Object.assign(new Error(`the certificate does not verify (${o.state.tls.authorizationError})`), { code: UNTRUSTED_CODE }),
          null,
        );
      }
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
