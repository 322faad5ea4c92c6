// The sandbox's DNS data: what the zone's nameserver says (the source) and what a resolver
// that has not caught up still caches. `broken` adds the mistakes people make most.
import type { LabRecord } from './dns-server.ts';

export const DOMAIN = 'sandbox.test';
export const SERVER_IPV4 = '203.0.113.80';
export const SERVER_IPV6 = '2001:db8::80';
const PREVIOUS_IPV4 = '198.51.100.23';

const soa = (ttl: number): LabRecord => ({
  name: DOMAIN,
  type: 'SOA',
  value: `ns.${DOMAIN} hostmaster.${DOMAIN} 2026112602 3600 600 86400 900`,
  ttl,
});

export function sourceRecords(broken: boolean): LabRecord[] {
  const records: LabRecord[] = [
    soa(3600),
    { name: DOMAIN, type: 'NS', value: `ns.${DOMAIN}` },
    { name: `ns.${DOMAIN}`, type: 'A', value: '127.0.0.1' },
    { name: DOMAIN, type: 'A', value: SERVER_IPV4 },
    { name: DOMAIN, type: 'AAAA', value: SERVER_IPV6 },
    { name: `matrix.${DOMAIN}`, type: 'A', value: broken ? PREVIOUS_IPV4 : SERVER_IPV4, ttl: 3600 },
    { name: `matrix.${DOMAIN}`, type: 'AAAA', value: SERVER_IPV6 },
    { name: `element.${DOMAIN}`, type: 'CNAME', value: `matrix.${DOMAIN}` },
    { name: `dimension.${DOMAIN}`, type: 'CNAME', value: `matrix.${DOMAIN}` },
  ];
  if (!broken) {
    records.push({ name: `jitsi.${DOMAIN}`, type: 'CNAME', value: `matrix.${DOMAIN}` });
    return records;
  }
  return [
    ...records,
    { name: DOMAIN, type: 'CAA', value: '0 issue "sectigo.com"' },
    { name: `_matrix-fed._tcp.${DOMAIN}`, type: 'SRV', value: `10 0 8448 federation.${DOMAIN}` },
    { name: `federation.${DOMAIN}`, type: 'CNAME', value: `matrix.${DOMAIN}` },
  ];
}

/** A resolver that looked the names up an hour ago, before jitsi existed and the server moved. */
export function staleResolverRecords(broken: boolean): LabRecord[] {
  return sourceRecords(broken)
    .filter((r) => r.name !== `jitsi.${DOMAIN}` && r.type !== 'SOA')
    .map((r) => (r.name === `matrix.${DOMAIN}` && r.type === 'A' ? { ...r, value: PREVIOUS_IPV4, ttl: 1260 } : r))
    .concat(soa(420));
}
