// Server discovery exactly as the server-server spec resolves a server name ("Resolving
// server names", steps 1–6 with 3.1–3.5): a pure function of the gathered facts, so every
// branch is unit-tested and the report can say which step decided and what it ignored.
import { untrustedHop, type FetchChain } from './http.ts';
import type { DnsOutcome } from './dns.ts';
import { parseObject } from './wellknown.ts';
import { parseServerNameGrammar } from '../core/server-name.ts';
import { interpret } from './dns-answers.ts';

export const FED_SRV = '_matrix-fed._tcp';
export const LEGACY_SRV = '_matrix._tcp';
const DEFAULT_PORT = 8448;

export interface DiscoveryInput {
  host: string;
  port?: number;
  isIpLiteral: boolean;
  /** GET https://host/.well-known/matrix/server, redirects followed (absent for steps 1–2). */
  wellKnown?: FetchChain;
  /** SRV answers by full record name, from a resolver. */
  srv: Record<string, DnsOutcome | undefined>;
}

export interface Target {
  host: string;
  port: number;
}

export interface Discovery {
  step: '1' | '2' | '3.1' | '3.2' | '3.3' | '3.4' | '3.5' | '4' | '5' | '6';
  how: string;
  targets: Target[];
  /** Host header to send. */
  hostHeader: string;
  /** The name the certificate must be valid for; also the SNI unless it is an IP. */
  tlsName: string;
  /** Records or files that exist but did not count, with why. */
  ignored: string[];
  /** Why a step was passed over (e.g. an invalid m.server). */
  notes: string[];
  /** Discovery could not reach a target: why. */
  problem?: string;
}

export type Delegation = { ok: true; value: string; host: string; port?: number; isIpLiteral: boolean } | { ok: false; reason: string };

/** Step 3's sub-steps: what makes a well-known response count ("Resolving server names" step 3). */
export function wellKnownDelegation(chain: FetchChain | undefined): Delegation {
  if (!chain) return { ok: false, reason: 'not fetched' };
  const final = chain.final;
  if (!final) return { ok: false, reason: `could not be fetched (${chain.detail ?? chain.problem ?? 'no answer'})` };
  // Fetched "with normal X.509 certificate validation" (spec "Resolving server names" step 3).
  const untrusted = untrustedHop(chain);
  if (untrusted) return { ok: false, reason: `is served with a certificate servers refuse (${untrusted.error} at ${untrusted.url})` };
  if (final.status !== 200) return { ok: false, reason: `answered ${final.status}` };
  const doc = parseObject(final.body);
  if (!doc) return { ok: false, reason: 'is not a JSON object' };
  const value = doc['m.server'];
  if (typeof value !== 'string')
    return { ok: false, reason: value === undefined ? 'has no m.server' : 'has an m.server that is not a string' };
  const parsed = parseServerNameGrammar(value);
  if (!parsed.ok) return { ok: false, reason: `has an invalid m.server "${value}" (${parsed.problem})` };
  return { ok: true, value, host: parsed.host, port: parsed.port, isIpLiteral: parsed.isIpLiteral };
}

type SrvLookup =
  | { state: 'found'; targets: Target[]; values: string[] }
  | { state: 'not-found' }
  | { state: 'unavailable' }
  | { state: 'error'; error: string };

export function srvLookup(outcome: DnsOutcome | undefined, name: string): SrvLookup {
  const answer = interpret(outcome, name, 'SRV');
  if (answer.state === 'error') return { state: 'error', error: answer.error ?? 'no answer' };
  if (answer.state !== 'positive' || answer.values.length === 0) return { state: 'not-found' };
  // Lowest priority first (RFC 2782); weights are not used to pick, every target is checked.
  const records = answer.values.map((v) => v.split(' ')).sort((a, b) => Number(a[0]) - Number(b[0]));
  // RFC 2782: a target of "." means the service is decidedly not available at this domain.
  if (records.every((r) => !r[3])) return { state: 'unavailable' };
  return { state: 'found', values: answer.values, targets: records.map((r) => ({ host: r[3], port: Number(r[2]) })) };
}

function bracket(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export function decideDiscovery(input: DiscoveryInput): Discovery {
  const { host } = input;
  const ignored: string[] = [];
  const notes: string[] = [];
  const srvOf = (name: string) => ({
    fed: srvLookup(input.srv[`${FED_SRV}.${name}`], `${FED_SRV}.${name}`),
    legacy: srvLookup(input.srv[`${LEGACY_SRV}.${name}`], `${LEGACY_SRV}.${name}`),
  });
  if (input.isIpLiteral) {
    const port = input.port ?? DEFAULT_PORT;
    return {
      step: '1',
      how: 'the server name is an IP address',
      targets: [{ host, port }],
      hostHeader: input.port ? `${bracket(host)}:${port}` : bracket(host),
      tlsName: host,
      ignored,
      notes,
    };
  }
  if (input.port !== undefined) {
    return {
      step: '2',
      how: 'the server name has an explicit port',
      targets: [{ host, port: input.port }],
      hostHeader: `${host}:${input.port}`,
      tlsName: host,
      ignored,
      notes,
    };
  }
  const delegation = wellKnownDelegation(input.wellKnown);
  const hostSrv = srvOf(host);
  // A delegation to the server name itself (no port) goes on to the very same SRV records.
  if (delegation.ok && !(delegation.host === host && delegation.port === undefined)) {
    for (const [label, lookup] of [
      [FED_SRV, hostSrv.fed],
      [LEGACY_SRV, hostSrv.legacy],
    ] as const) {
      if (lookup.state === 'found')
        ignored.push(`SRV ${label}.${host} (${lookup.values.join(', ')}): a valid /.well-known/matrix/server takes precedence`);
    }
  }
  if (delegation.ok) {
    const d = delegation;
    const via = `/.well-known/matrix/server delegates to ${d.value}`;
    if (d.isIpLiteral) {
      const port = d.port ?? DEFAULT_PORT;
      return {
        step: '3.1',
        how: `${via} (an IP address)`,
        targets: [{ host: d.host, port }],
        hostHeader: d.port ? `${bracket(d.host)}:${port}` : bracket(d.host),
        tlsName: d.host,
        ignored,
        notes,
      };
    }
    if (d.port !== undefined) {
      return {
        step: '3.2',
        how: `${via} (a host with a port)`,
        targets: [{ host: d.host, port: d.port }],
        hostHeader: `${d.host}:${d.port}`,
        tlsName: d.host,
        ignored,
        notes,
      };
    }
    return srvSteps(d.host, srvOf(d.host), ['3.3', '3.4', '3.5'], `${via}, without a port`, ignored, notes);
  }
  notes.push(`/.well-known/matrix/server ${delegation.reason}, so it does not count`);
  return srvSteps(host, hostSrv, ['4', '5', '6'], 'no usable /.well-known/matrix/server', ignored, notes);
}

/** SRV _matrix-fed, then the deprecated _matrix only when the first is not found, then port 8448. */
function srvSteps(
  name: string,
  srv: { fed: SrvLookup; legacy: SrvLookup },
  steps: readonly ['3.3' | '4', '3.4' | '5', '3.5' | '6'],
  context: string,
  ignored: string[],
  notes: string[],
): Discovery {
  const base = { hostHeader: name, tlsName: name, ignored, notes };
  if (srv.fed.state === 'found') {
    if (srv.legacy.state === 'found')
      ignored.push(`SRV ${LEGACY_SRV}.${name} (${srv.legacy.values.join(', ')}): only used when ${FED_SRV} is missing`);
    return {
      ...base,
      step: steps[0],
      how: `${context}; SRV ${FED_SRV}.${name} gives ${srv.fed.values.join(', ')}`,
      targets: srv.fed.targets,
    };
  }
  if (srv.fed.state === 'unavailable') {
    return {
      ...base,
      step: steps[0],
      how: `${context}; SRV ${FED_SRV}.${name} says the service is not available (target ".")`,
      targets: [],
      problem: `SRV ${FED_SRV}.${name} has the target "." (RFC 2782: no federation here), so servers will not connect`,
    };
  }
  if (srv.fed.state === 'error') {
    // A broken _matrix-fed lookup is not "not found": servers do not fall back (docs/federation.md "SRV fallback only on not found").
    return {
      ...base,
      step: steps[0],
      how: `${context}; SRV ${FED_SRV}.${name} could not be looked up`,
      targets: [],
      problem: `the SRV lookup of ${FED_SRV}.${name} failed (${srv.fed.error}), so servers cannot tell where you are`,
    };
  }
  if (srv.legacy.state === 'found') {
    return {
      ...base,
      step: steps[1],
      how: `${context}; no ${FED_SRV}, deprecated SRV ${LEGACY_SRV}.${name} gives ${srv.legacy.values.join(', ')}`,
      targets: srv.legacy.targets,
    };
  }
  return {
    ...base,
    step: steps[2],
    how: `${context}; no SRV record, so port ${DEFAULT_PORT} of ${name} itself`,
    targets: [{ host: name, port: DEFAULT_PORT }],
  };
}
