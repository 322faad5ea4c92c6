// Name → addresses through the run's resolvers (the --resolver servers, or the system's), so
// that every connection of a check goes where the person asked lookups to go (docs/architecture.md "Command-line contract").
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { queryFirst } from './dns-query.ts';
import type { AddressLookup } from '../facts/dns.ts';
import type { NamedServer } from '../core/net.ts';

/** An IP literal is its own address; a name is asked for A and AAAA. */
export async function resolveAddresses(name: string, resolvers: NamedServer[], remaining: () => number): Promise<AddressLookup> {
  const family = isIP(name);
  if (family) return { name, ipv4: family === 4 ? [name] : [], ipv6: family === 6 ? [name] : [], aliases: [] };
  const [v4, v6] = await Promise.all([queryFirst(resolvers, name, 'A', remaining), queryFirst(resolvers, name, 'AAAA', remaining)]);
  const values = (reply: typeof v4, type: string) => (reply?.answers ?? []).filter((r) => r.type === type).map((r) => r.value);
  const lookup: AddressLookup = {
    name,
    ipv4: values(v4, 'A'),
    ipv6: values(v6, 'AAAA'),
    aliases: [...new Set([...values(v4, 'CNAME'), ...values(v6, 'CNAME')])],
  };
  if (!v4 && !v6) lookup.error = `no resolver answered for ${name}`;
  else if (v4?.rcode === 'NXDOMAIN' || v6?.rcode === 'NXDOMAIN') lookup.missing = true;
  return lookup;
}

/** A deadline shared by every step of a run: each probe gets what is left of the budget. */
export function deadline(timeoutMs: number): () => number {
  const end = performance.now() + timeoutMs;
  return () => Math.max(1, end - performance.now());
}

/** What the system resolver says (getaddrinfo, /etc/hosts included), as the stages' other tools see it. */
export async function systemAddress(host: string): Promise<string | undefined> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare)) return bare;
  try {
    return (await lookup(bare)).address;
  } catch {
    return undefined;
  }
}
