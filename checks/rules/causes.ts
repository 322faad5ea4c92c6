// Root causes: which finding causes which. A pure function of the findings of a run (one area or
// all of them): it sets `causedBy` on the findings that follow from another one, and never changes
// a status, so a failure stays a failure with its own status in JSON and Prometheus (a link never
// hides a failure). The chains, most fundamental first:
//
//   a name that resolvers answer SERVFAIL for (broken DNSSEC) → everything on that name;
//   a zone whose nameservers do not answer → the records that could not be judged;
//   a wrong or missing A/AAAA/CNAME record, or a name whose address nobody outside reaches → the TLS,
//     federation, TURN and MatrixRTC findings on that name;
//   a CAA record that forbids Let's Encrypt → the certificate failures of every host;
//   a server well-known refused to homeservers but served to browsers → the well-known failures;
//   an invalid or unreachable server well-known → discovery, and through it the fallback target;
//   a port that does not connect (closed or filtered) → every other check on that address and port.
import type { Finding, Status } from '../core/finding.ts';

const CONSEQUENTIAL: readonly Status[] = ['fail', 'warn', 'skip'];

/** What a finding is about: host names, and the address:port it connected to. */
interface Scope {
  hosts: Set<string>;
  endpoint?: string;
  /** The id's per-subject prefix (federation.{address}., turn.{uri}.). */
  prefix?: string;
}

function scopeOf(f: Finding): Scope {
  const e = (f.evidence ?? {}) as Record<string, unknown>;
  const hosts = new Set<string>();
  for (const key of ['host', 'record']) if (typeof e[key] === 'string') hosts.add((e[key] as string).toLowerCase());
  if (typeof e.url === 'string') {
    try {
      hosts.add(new URL(e.url).hostname.toLowerCase());
    } catch {
      // not a URL: no host from it
    }
  }
  if (typeof e.uri === 'string') {
    const host = /^turns?:([^:?]+)/.exec(e.uri)?.[1];
    if (host) hosts.add(host.toLowerCase());
  }
  const endpoint = typeof e.address === 'string' && typeof e.port === 'number' ? `${e.address}:${e.port}` : undefined;
  const parts = f.id.split('.');
  const prefix =
    (parts[0] === 'federation' || parts[0] === 'turn') && parts.length === 3 && !['keys', 'discovery'].includes(parts[1])
      ? `${parts[0]}.${parts[1]}.`
      : undefined;
  return { hosts, endpoint, prefix };
}

const isFailing = (f: Finding) => f.status === 'fail' || f.status === 'warn';

/** A root-cause rule: does `root` explain `other`? */
interface Chain {
  name: string;
  isRoot(f: Finding, scope: Scope): boolean;
  explains(root: Finding, rootScope: Scope, other: Finding, scope: Scope): boolean;
}

// Reaching a name: resolving it, connecting, TLS and who answers; MatrixRTC's services (the JWT
// service, LiveKit) are reached on the names they are published under.
const REACHING = /(\.(dns|address|connect|reach|tls|certificate|version|keys|user_agent|jwt-service(-\d+)?|livekit-tcp)$)|^rtc\./;

const sharesHost = (a: Scope, b: Scope) => [...a.hosts].some((h) => b.hosts.has(h));

const CHAINS: readonly Chain[] = [
  {
    name: 'servfail',
    isRoot: (f, s) => isFailing(f) && f.id.startsWith('dns.') && /SERVFAIL/.test(`${f.detail ?? ''}`) && s.hosts.size > 0,
    explains: (_r, rs, _o, s) => sharesHost(rs, s),
  },
  {
    name: 'nameservers',
    isRoot: (f) => f.status === 'fail' && (f.id === 'dns.zone.nameservers' || f.id.startsWith('dns.nameserver.')),
    explains: (_r, _rs, o) => o.status === 'skip' && /^dns\.(record|srv|caa|propagation)\./.test(`${o.id}.`),
  },
  {
    name: 'dns-record',
    isRoot: (f, s) => f.status === 'fail' && /^dns\.(record\..+\.(a|aaaa|cname)|reach\..+)$/.test(f.id) && s.hosts.size > 0,
    // What reaching the name decides: resolving it, connecting, TLS, and who answers there.
    explains: (_r, rs, o, s) => isFailing(o) && REACHING.test(o.id) && !o.id.startsWith('dns.') && sharesHost(rs, s),
  },
  {
    name: 'lets-encrypt',
    isRoot: (f) => f.status === 'fail' && f.id === 'dns.caa.letsencrypt',
    explains: (_r, _rs, o) => /\.(certificate|tls)$/.test(o.id),
  },
  {
    name: 'user-agent',
    isRoot: (f) => f.status === 'fail' && f.id === 'federation.wellknown_user_agent',
    explains: (_r, _rs, o) => /^wellknown\.server\./.test(o.id) || o.id === 'federation.discovery',
  },
  {
    name: 'wellknown',
    isRoot: (f) => f.status === 'fail' && /^wellknown\.(base\.address|server\.(status|json|m_server|size))$/.test(f.id),
    explains: (_r, _rs, o) => o.id === 'federation.discovery' && Boolean((o.evidence as { wellKnown?: string } | undefined)?.wellKnown),
  },
  {
    name: 'cloudflare',
    isRoot: (f) => f.status === 'fail' && /^(federation\..+\.cloudflare|dns\.cloudflare\..+)$/.test(f.id),
    explains: (_r, rs, _o, s) => Boolean(rs.prefix && rs.prefix === s.prefix),
  },
  {
    name: 'relayed-address',
    isRoot: (f) => f.status === 'fail' && /^turn\..+\.relayed-address$/.test(f.id),
    explains: (_r, rs, o, s) => /\.relay$/.test(o.id) && Boolean(rs.prefix && rs.prefix === s.prefix),
  },
  {
    name: 'port',
    isRoot: (f, s) => f.status === 'fail' && /\.(connect|reach)$/.test(f.id) && Boolean(s.endpoint || s.prefix),
    explains: (_r, rs, _o, s) => Boolean((rs.endpoint && rs.endpoint === s.endpoint) || (rs.prefix && rs.prefix === s.prefix)),
  },
];

/** The findings with `causedBy` set where another finding of the run explains them. */
export function linkCauses(findings: readonly Finding[]): Finding[] {
  const scopes = findings.map(scopeOf);
  const causes = new Map<number, string>();
  findings.forEach((f, i) => {
    if (f.causedBy) causes.set(i, f.causedBy);
  });
  for (const chain of CHAINS) {
    const roots = findings.map((_f, i) => i).filter((i) => chain.isRoot(findings[i], scopes[i]));
    for (const r of roots) {
      findings.forEach((f, i) => {
        if (i === r || causes.has(i) || !CONSEQUENTIAL.includes(f.status)) return;
        if (chain.explains(findings[r], scopes[r], f, scopes[i])) causes.set(i, findings[r].id);
      });
    }
  }
  // A link that would close a loop is dropped, so every chain ends at a root.
  const byId = new Map(findings.map((f, i) => [f.id, i]));
  const linked = findings.map((f, i) => (causes.has(i) ? { ...f, causedBy: causes.get(i) } : f));
  return linked.map((f) => (f.causedBy && rootOf(f, linked, byId) === undefined ? withoutCause(f) : f));
}

function withoutCause(f: Finding): Finding {
  const { causedBy: _cause, ...rest } = f;
  return rest;
}

/** The finding at the end of `f`'s chain of causes (itself when it has none); undefined on a loop. */
export function rootOf(f: Finding, findings: readonly Finding[], byId = new Map(findings.map((g, i) => [g.id, i]))): Finding | undefined {
  let current = f;
  const seen = new Set<string>();
  while (current.causedBy) {
    if (seen.has(current.id)) return undefined;
    seen.add(current.id);
    const next = byId.get(current.causedBy);
    if (next === undefined) return current;
    current = findings[next];
  }
  return current;
}

/**
 * Verdicts one area cannot reach alone, settled with another's facts (doctor only): a missing
 * server well-known, which the well-known area warns about when no configuration says SRV is
 * intended, is no problem when the federation area shows servers reach the homeserver through
 * SRV or port 8448 of the server name, as the spec allows.
 */
export function settleAcrossAreas(findings: readonly Finding[]): Finding[] {
  const discovery = findings.find((f) => f.id === 'federation.discovery');
  const step = (discovery?.evidence as { step?: string } | undefined)?.step;
  const federationWorks =
    discovery?.status === 'info' &&
    ['4', '5', '6'].includes(step ?? '') &&
    findings.some((f) => f.id.startsWith('federation.') && f.id.endsWith('.keys') && f.status === 'pass') &&
    !findings.some((f) => f.id.startsWith('federation.') && (f.status === 'fail' || f.status === 'warn'));
  if (!federationWorks) return [...findings];
  return findings.map((f) => {
    if (f.id !== 'wellknown.server.status' || f.status !== 'warn' || !/404/.test(f.detail ?? '')) return f;
    const { fix: _fix, ...rest } = f;
    return {
      ...rest,
      status: 'info',
      detail: `${f.detail}. Not needed here: federation works without it (step ${step}: ${discovery?.detail?.split(' → ')[1]?.split(';')[0] ?? 'the target'} answers, see federation.discovery)`,
    };
  });
}
