// Hand-made facts shared by the rule tests (discovery, certificate, well-known, federation):
// what the probes would have recorded, built without any network.
import type { FetchChain } from '../../checks/facts/http.ts';
import type { CertificateFact, HttpFailure, HttpPhase, HttpSuccess, TlsFact } from '../../checks/facts/http.ts';
import type { DnsOutcome, DnsRecord } from '../../checks/facts/dns.ts';
import type { AddressLookup } from '../../checks/facts/dns.ts';

export const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
export const IPV4 = '203.0.113.10';
export const IPV6 = '2001:db8::10';

const iso = (ms: number) => new Date(ms).toISOString();

// ---------------------------------------------------------------------------------------------
// TLS

/** A leaf for matrix.example.org from Let's Encrypt R11, valid 30 days ago to 60 days ahead. */
export function certificate(overrides: Partial<CertificateFact> = {}): CertificateFact {
  return {
    raw: '',
    caIssuers: [],
    subject: 'matrix.example.org',
    issuer: 'R11',
    sans: ['DNS:matrix.example.org'],
    validFrom: iso(NOW - 30 * DAY_MS),
    validTo: iso(NOW + 60 * DAY_MS),
    fingerprint256: 'AB:CD:EF',
    selfIssued: false,
    ...overrides,
  };
}

/** A handshake Node authorized, with a leaf and its issuer. */
export function tlsFact(overrides: Partial<TlsFact> = {}): TlsFact {
  return {
    protocol: 'TLSv1.3',
    cipher: 'TLS_AES_256_GCM_SHA384',
    authorized: true,
    chain: [certificate(), certificate({ subject: 'R11', issuer: 'ISRG Root X1', sans: [], validTo: iso(NOW + 400 * DAY_MS) })],
    ...overrides,
  };
}

/** A handshake Node did not authorize, for the given OpenSSL/Node code. */
export function untrustedTls(authorizationError: string, chain: CertificateFact[] = [certificate()]): TlsFact {
  return tlsFact({ authorized: false, authorizationError, chain });
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface ResponseOptions {
  headers?: Record<string, string>;
  address?: string;
  tls?: TlsFact;
  truncated?: boolean;
}

/** A response as httpRequest records it; HTTPS URLs get an authorized handshake by default. */
export function response(url: string, status: number, body: string, options: ResponseOptions = {}): HttpSuccess {
  return {
    ok: true,
    url,
    address: options.address ?? IPV4,
    status,
    headers: options.headers ?? {},
    body,
    truncated: options.truncated ?? false,
    tls: options.tls ?? (url.startsWith('https:') ? tlsFact() : undefined),
    elapsedMs: 5,
  };
}

/** A JSON response with Content-Type: application/json (plus any other header given). */
export function jsonResponse(url: string, doc: unknown, status = 200, options: ResponseOptions = {}): HttpSuccess {
  return response(url, status, JSON.stringify(doc), { ...options, headers: { 'content-type': 'application/json', ...options.headers } });
}

export function redirect(from: string, to: string, status = 302, options: ResponseOptions = {}): HttpSuccess {
  return response(from, status, '', { ...options, headers: { location: to, ...options.headers } });
}

export function failure(
  url: string,
  phase: HttpPhase,
  error: HttpFailure['error'],
  message: string,
  extra: Partial<HttpFailure> = {},
): HttpFailure {
  return { ok: false, url, address: IPV4, phase, error, message, elapsedMs: 5, ...extra };
}

/** The chain fetchChain returns for these hops: the last one is the final answer, unless it failed. */
export function chainOf(...hops: (HttpSuccess | HttpFailure)[]): FetchChain {
  const last = hops.at(-1);
  const chain: FetchChain = { hops: hops.map((outcome) => ({ url: outcome.url, outcome })) };
  if (!last) return chain;
  if (!last.ok) return { ...chain, problem: 'failed', detail: last.message };
  return { ...chain, final: last };
}

// ---------------------------------------------------------------------------------------------
// DNS

export function dnsReply(answers: DnsRecord[], rcode = 'NOERROR'): DnsOutcome {
  return {
    ok: true,
    rcode,
    authoritative: false,
    recursionAvailable: true,
    answers,
    authorities: [],
    additionals: [],
    transport: 'udp',
    elapsedMs: 1,
  };
}

/** An SRV answer for name: values in presentation form, "priority weight port target". */
export function srvAnswer(name: string, ...values: string[]): DnsOutcome {
  return dnsReply(values.map((value) => ({ name, type: 'SRV', ttl: 300, value })));
}

export const NXDOMAIN: DnsOutcome = dnsReply([], 'NXDOMAIN');
export const SERVFAIL: DnsOutcome = dnsReply([], 'SERVFAIL');
export const DNS_TIMEOUT: DnsOutcome = { ok: false, error: 'timeout', message: 'no resolver answered', elapsedMs: 5000 };

export function lookup(name: string, ipv4: string[] = [IPV4], ipv6: string[] = []): AddressLookup {
  return { name, ipv4, ipv6, aliases: [] };
}
