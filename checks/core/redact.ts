// Redaction of reports people share (doctor --redact): the server name and every host name under
// it, IP addresses, Matrix user ids, room ids and aliases, access tokens and the secrets the run
// used become stable placeholders from the ranges reserved for documentation (RFC 2606 names,
// RFC 5737 and RFC 3849 addresses), the same original always becoming the same placeholder
// across the whole report, ids of findings included (their address parts are written with
// underscores, see idPart in finding.ts). Pure: no I/O.
import { isIP, isIPv6 } from 'node:net';
import { idPart } from './finding.ts';

export interface RedactOptions {
  /** The server names of the report (the first becomes example.org) and other domains to hide (the Matrix host's). */
  domains: readonly string[];
  /** Exact values to hide wherever they appear: the access token, the TURN secret, a password. */
  secrets?: readonly string[];
}

export interface Redactor {
  /** Every string inside `value` (objects and arrays walked, keys included) redacted. */
  redact<T>(value: T): T;
  text(value: string): string;
}

/** Labels of MDAD's usual host names: kept, so that a reader still sees matrix.… from element.…. */
const KEPT_LABELS = new Set([
  'matrix',
  'element',
  'turn',
  'jitsi',
  'ns',
  'ns1',
  'ns2',
  'www',
  'call',
  'sfu',
  'sfu-jwt',
  'livekit',
  'federation',
  'hostmaster',
  'stats',
  'ketesa',
  'etherpad',
  'ntfy',
  'dimension',
  'goneb',
  'schildichat',
  'fluffychat',
  'cinny',
  'hydrogen',
  'sygnal',
  'mautrix-wsproxy',
  'matrixto',
  'rageshake',
  'buscarron',
  'commet',
  'sable',
  'admin',
  'auth',
  '_matrix-fed',
  '_matrix',
  '_tcp',
  '_udp',
  '_turn',
  '_turns',
]);

const DOMAIN_PLACEHOLDERS = ['example.org', 'example.net', 'example.com'];
const domainPlaceholder = (i: number) => DOMAIN_PLACEHOLDERS[i] ?? `example${i - DOMAIN_PLACEHOLDERS.length + 2}.org`;
const IPV4_PREFIXES = ['192.0.2', '198.51.100', '203.0.113'];

// Candidates, each checked with node:net before it is replaced.
const IPV6_CANDIDATE = /(?<![0-9A-Za-z:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?![0-9A-Za-z:])/g;
const IPV4_CANDIDATE = /(?<![0-9A-Za-z.])(?:\d{1,3}\.){3}\d{1,3}(?![0-9A-Za-z]|\.\d)/g;
// Matrix ids (spec appendix, identifier grammar): @user:server, !room:server, #alias:server.
const MATRIX_ID = /(?<![\w@!#])([@!#])([A-Za-z0-9._=\-/+]+):((?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?)/g;
// Synapse's access and refresh tokens (syt_, syr_), MAS tokens (mat_, mct_), and what URLs and headers carry.
const TOKEN = /\b(?:syt|syr|mat|mct|mar)_[A-Za-z0-9_-]{8,}/g;
const TOKEN_IN_URL = /([?&](?:access_token|token|password|secret)=)[^&\s"'<>]+/gi;
const BEARER = /(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/g;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function createRedactor(options: RedactOptions): Redactor {
  const domains = [...new Set(options.domains.map((d) => d.toLowerCase().replace(/\.$/, '').replace(/:\d+$/, '')))].filter(
    (d) => d !== '' && isIP(d) === 0 && !DOMAIN_PLACEHOLDERS.includes(d),
  );
  // Longest first, so that matrix.example.test is not taken for a host under example.test when both are listed.
  const ordered = [...domains].sort((a, b) => b.length - a.length);
  const domainIndex = new Map(domains.map((d, i) => [d, i] as const));
  const hostPattern = ordered.length
    ? new RegExp(`(?<![A-Za-z0-9-])((?:[A-Za-z0-9_-]+\\.)*)(${ordered.map(escapeRegExp).join('|')})\\.?(?![A-Za-z0-9-])`, 'gi')
    : undefined;
  const secrets = [...new Set(options.secrets ?? [])].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);

  const ipv4 = new Map<string, string>();
  const ipv6 = new Map<string, string>();
  const labels = new Map<string, string>();
  const people = new Map<string, string>();
  const rooms = new Map<string, string>();
  const aliases = new Map<string, string>();
  const tokens = new Map<string, string>();
  const secretsSeen = new Map<string, string>();

  const placeholder = (map: Map<string, string>, key: string, make: (n: number) => string) => {
    let value = map.get(key);
    if (value === undefined) {
      value = make(map.size + 1);
      map.set(key, value);
    }
    return value;
  };
  const ipv4Of = (ip: string) => placeholder(ipv4, ip, (n) => `${IPV4_PREFIXES[Math.floor((n - 1) / 254) % 3]}.${((n - 1) % 254) + 1}`);
  const ipv6Of = (ip: string) => placeholder(ipv6, ip.toLowerCase(), (n) => `2001:db8::${n.toString(16)}`);
  const labelOf = (label: string) =>
    KEPT_LABELS.has(label.toLowerCase()) ? label.toLowerCase() : placeholder(labels, label.toLowerCase(), (n) => `host${n}`);
  const domainOf = (domain: string) => domainPlaceholder(domainIndex.get(domain.toLowerCase()) ?? 0);

  // Within one string, every replacement is held behind a marker until the end, so that no
  // placeholder is taken for an original by a later step (2001:db8::80 → 2001:db8::1 → …).
  const text = (input: string): string => {
    const held: string[] = [];
    const hold = (value: string) => `\u0000${held.push(value) - 1}\u0000`;
    const hosts = (value: string) =>
      hostPattern
        ? value.replace(hostPattern, (whole: string, sub: string, domain: string) => {
            const parts = sub.split('.').filter(Boolean).map(labelOf);
            return hold([...parts, domainOf(domain)].join('.') + (whole.endsWith('.') ? '.' : ''));
          })
        : value;
    const server = (value: string) => {
      const bare = value.replace(/^\[|\]$/g, '');
      if (isIP(bare.replace(/:\d+$/, '')) === 4) return value.replace(/^[\d.]+/, (ip) => hold(ipv4Of(ip)));
      if (isIPv6(bare)) return `[${hold(ipv6Of(bare))}]`;
      if (value.startsWith('['))
        return value.replace(/^\[([^\]]+)\]/, (whole, ip: string) => (isIPv6(ip) ? `[${hold(ipv6Of(ip))}]` : whole));
      return hosts(value);
    };
    let out = input;
    for (const secret of secrets) {
      if (out.includes(secret)) out = out.split(secret).join(hold(placeholder(secretsSeen, secret, (n) => `<secret${n}>`)));
    }
    out = out.replace(TOKEN, (token) => hold(placeholder(tokens, token, (n) => `<token${n}>`)));
    out = out.replace(TOKEN_IN_URL, (_, key: string) => `${key}${hold('<redacted>')}`);
    out = out.replace(BEARER, (_, key: string) => `${key}${hold('<redacted>')}`);
    out = out.replace(MATRIX_ID, (whole, sigil: string, local: string, host: string) => {
      // A number before the colon is no Matrix user id (a TURN REST user name is "expiry:user").
      if (sigil === '@' && /^\d+$/.test(local)) return whole;
      const map = sigil === '@' ? people : sigil === '!' ? rooms : aliases;
      const name = sigil === '@' ? 'user' : sigil === '!' ? 'room' : 'alias';
      return `${sigil}${hold(placeholder(map, `${local}:${host.toLowerCase()}`, (n) => `${name}${n}`))}:${server(host)}`;
    });
    out = out.replace(IPV6_CANDIDATE, (candidate) => (isIPv6(candidate) && candidate !== '::' ? hold(ipv6Of(candidate)) : candidate));
    out = out.replace(IPV4_CANDIDATE, (candidate) => (isIP(candidate) === 4 ? hold(ipv4Of(candidate)) : candidate));
    out = hosts(out);
    // Ids write a host or an address with underscores (idPart in finding.ts): those forms too.
    out = out.replace(/(?<![0-9A-Za-z])(\d{1,3})_(\d{1,3})_(\d{1,3})_(\d{1,3})(?![0-9])/g, (whole, a, b, c, d) => {
      const ip = `${a}.${b}.${c}.${d}`;
      return isIP(ip) === 4 ? hold(idPart(ipv4Of(ip))) : whole;
    });
    const forms = new Map<string, string>([
      ...[...ipv6].map(([ip, p]) => [idPart(ip), idPart(p)] as [string, string]),
      ...domains.map((d) => [idPart(d), idPart(domainOf(d))] as [string, string]),
    ]);
    const keys = [...forms.keys()].filter((k) => k.length >= 3).sort((a, b) => b.length - a.length);
    if (keys.length) {
      const pattern = new RegExp(`(?<![A-Za-z0-9])(${keys.map(escapeRegExp).join('|')})(?![A-Za-z0-9])`, 'gi');
      out = out.replace(pattern, (form: string) => hold(forms.get(form.toLowerCase()) ?? form));
    }
    return out.replace(/\u0000(\d+)\u0000/g, (_, i: string) => held[Number(i)]);
  };

  const walk = <T>(value: T): T => {
    if (typeof value === 'string') return text(value) as T;
    if (Array.isArray(value)) return value.map((v) => walk(v)) as T;
    if (value && typeof value === 'object' && !(value instanceof Date)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [text(k), walk(v)])) as T;
    }
    return value;
  };
  // Twice: the first walk meets every address (an id such as federation.192_0_2_1_8448.keys comes
  // before the detail that names 192.0.2.1), the second replaces with the complete table.
  const redact = <T>(value: T): T => {
    walk(value);
    return walk(value);
  };
  return { redact, text };
}
