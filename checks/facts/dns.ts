// What DNS probes saw, as plain data: answers and failures by server, the zone's nameservers,
// and the addresses of a name. Rules read these; only probes produce them.
import type { NamedServer } from '../core/net.ts';

export interface DnsRecord {
  name: string;
  type: string;
  ttl: number;
  /** Presentation form: the address, target, "10 0 8448 host", '0 issue "letsencrypt.org"', … */
  value: string;
  /** SOA minimum (RFC 2308 negative-caching TTL), when the record is an SOA. */
  soaMinimum?: number;
}

export interface DnsReply {
  ok: true;
  rcode: string;
  authoritative: boolean;
  recursionAvailable: boolean;
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
  transport: 'udp' | 'tcp';
  elapsedMs: number;
}

export interface DnsFailure {
  ok: false;
  error: 'timeout' | 'refused' | 'unreachable' | 'malformed';
  message: string;
  elapsedMs: number;
}

export type DnsOutcome = DnsReply | DnsFailure;

export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

export interface Question {
  name: string;
  type: string;
}

export interface ZoneDiscovery {
  method: 'given' | 'discovered' | 'failed';
  apex?: string;
  nameservers: string[];
  error?: string;
}

export interface DnsFacts {
  zone: ZoneDiscovery;
  authoritative: NamedServer[];
  resolvers: NamedServer[];
  /** Answers at the source, by question key then by authoritative server label. */
  source: Record<string, Record<string, DnsOutcome>>;
  /** Answers at each resolver, by question key then by resolver label. */
  resolved: Record<string, Record<string, DnsOutcome>>;
}

export function questionKey(name: string, type: string): string {
  return `${normalizeName(name)} ${type}`;
}

export interface AddressLookup {
  name: string;
  ipv4: string[];
  ipv6: string[];
  /** CNAME targets the resolver followed. */
  aliases: string[];
  /** Set when neither family could be looked up (no resolver answered). */
  error?: string;
  /** The name does not exist (NXDOMAIN). */
  missing?: boolean;
}

export interface ExpectedAddresses {
  ipv4?: string;
  ipv6?: string;
  /** Where they came from, for the report ("--expect-ip", "inventory ansible_host"). */
  from?: string;
}
