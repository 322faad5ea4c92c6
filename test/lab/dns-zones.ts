// Zone data for the DNS lab: the healthy zone of example.test and the variations tests apply, and
// a zone under a name outside the reserved ones, whose addresses the DNS check judges.
import type { LabRecord, LabZone } from '../../sandbox/dns-server.ts';

export const ORIGIN = 'example.test';
export const SERVER_IPV4 = '203.0.113.10';
export const OLD_IPV4 = '198.51.100.7';
export const NS1 = '127.53.0.1';
export const NS2 = '127.53.0.2';
/** Made up, but not reserved for testing (RFC 2606): where an address is judged by who reaches it. */
export const SITE_ORIGIN = 'lanparty.chat';
/** A LAN address copied from the router: only ever read from DNS, never connected to. */
export const LAN_IPV4 = '192.168.1.20';
/** A public address outside every special range (a documentation address reaches nobody). */
export const PUBLIC_IPV4 = '11.22.33.44';

export const SOA: LabRecord = {
  name: ORIGIN,
  type: 'SOA',
  value: `ns1.${ORIGIN} hostmaster.${ORIGIN} 2026112601 3600 600 86400 300`,
  ttl: 3600,
};

/** Everything the lab vars.yml needs, right: matrix, element, jitsi, the base domain. */
export function healthyRecords(): LabRecord[] {
  return [
    SOA,
    { name: ORIGIN, type: 'NS', value: `ns1.${ORIGIN}` },
    { name: ORIGIN, type: 'NS', value: `ns2.${ORIGIN}` },
    { name: `ns1.${ORIGIN}`, type: 'A', value: NS1 },
    { name: `ns2.${ORIGIN}`, type: 'A', value: NS2 },
    { name: ORIGIN, type: 'A', value: SERVER_IPV4 },
    { name: `matrix.${ORIGIN}`, type: 'A', value: SERVER_IPV4, ttl: 3600 },
    { name: `element.${ORIGIN}`, type: 'CNAME', value: `matrix.${ORIGIN}` },
    { name: `jitsi.${ORIGIN}`, type: 'CNAME', value: `matrix.${ORIGIN}` },
  ];
}

export function zone(records: LabRecord[]): LabZone[] {
  return [{ origin: ORIGIN, records }];
}

/** The healthy records with some replaced (same name and type) or removed (value undefined). */
export function withChanges(
  changes: { name: string; type: LabRecord['type']; value?: string; ttl?: number }[],
  base = healthyRecords(),
): LabRecord[] {
  const kept = base.filter((r) => !changes.some((c) => c.name === r.name && c.type === r.type));
  const added = changes.filter((c) => c.value !== undefined).map((c) => ({ name: c.name, type: c.type, value: c.value!, ttl: c.ttl }));
  return [...kept, ...added];
}

/** The zone of SITE_ORIGIN: its matrix host at `address`, Element an alias of it. */
export function siteZone(address: string): LabZone {
  return {
    origin: SITE_ORIGIN,
    records: [
      { name: SITE_ORIGIN, type: 'SOA', value: `ns1.${SITE_ORIGIN} hostmaster.${SITE_ORIGIN} 2026112601 3600 600 86400 300` },
      { name: SITE_ORIGIN, type: 'NS', value: `ns1.${SITE_ORIGIN}` },
      { name: `ns1.${SITE_ORIGIN}`, type: 'A', value: NS1 },
      { name: `matrix.${SITE_ORIGIN}`, type: 'A', value: address },
      { name: `element.${SITE_ORIGIN}`, type: 'CNAME', value: `matrix.${SITE_ORIGIN}` },
    ],
  };
}
