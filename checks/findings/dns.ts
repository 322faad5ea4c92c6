// Findings of the dns area: the records the deployment needs, judged at the zone's authoritative
// servers (the source) and at resolvers (propagation), plus SRV, CAA and Cloudflare proxying.
import { declareFindings } from '../core/catalogue.ts';

export const DNS = declareFindings('dns', {
  nameIp: {
    id: 'dns.name.ip',
    pass: 'DNS',
    fail: 'DNS',
    about:
      'The server name is an IP address, so there are no DNS records to check: servers and clients connect to that address directly. Nothing is checked in this area.',
  },
  namePunycode: {
    id: 'dns.name.punycode',
    pass: 'Internationalized name',
    fail: 'Internationalized name',
    about:
      'The server name was given with letters outside ASCII. DNS and Matrix ids use its punycode form (xn--…), so the records are looked up, and must be written, under that form.',
  },
  serverAddress: {
    id: 'dns.server.address',
    pass: 'Server address',
    fail: 'Server address',
    about:
      'The address the records are compared with: the one given with --expect-ip, the inventory’s ansible_host, or else what the matrix host’s own A/AAAA records say. Without any, address records can only be described, not checked against the server.',
  },
  zoneNameservers: {
    id: 'dns.zone.nameservers',
    pass: "Zone's nameservers",
    fail: "Zone's nameservers not found",
    about:
      'Which nameservers hold the zone of the server name: they are the source every record is judged at. When they cannot be found, the domain is not registered or not delegated to a DNS provider, and nobody can resolve any of its names.',
  },
  nameserver: {
    id: 'dns.nameserver.{server}',
    pass: 'Nameserver {label}',
    fail: 'Nameserver {label} fails',
    about:
      'Each nameserver named in the NS records must have an address, answer on port 53 and answer authoritatively (the AA flag). Resolvers pick one at random, so a silent or lame nameserver makes lookups slow or fail for part of the world.',
  },
  zoneConsistency: {
    id: 'dns.zone.consistency',
    pass: 'Nameservers agree',
    fail: 'Nameservers disagree',
    about:
      'All the zone’s nameservers should give the same answers. When a secondary has not caught up with the primary, resolvers get old or new answers depending on which one they ask, and the records seem to flip.',
  },
  record: {
    id: 'dns.record.{record}.{type}',
    pass: '{name} {type}',
    fail: '{name} {type} missing or wrong',
    about:
      'A record the deployment needs (the matrix host, Element, the other services the configuration enables), as the zone’s own nameservers serve it. A missing record or one that points at another machine means the service cannot be reached there and Let’s Encrypt cannot issue its certificate; the fix gives the line to write.',
  },
  reach: {
    id: 'dns.reach.{record}',
    pass: 'Who can reach {name}',
    fail: '{name} resolves to an address others cannot reach',
    about:
      'Whether the addresses a public name of the deployment resolves to at the source can be reached from the internet. A private (RFC 1918, ULA), loopback, link-local, carrier-grade NAT, unspecified, reserved or documentation address, often a LAN address copied from the router, is reached by the LAN at best: other homeservers, clients elsewhere and Let’s Encrypt cannot, so federation, logins from outside and the certificate fail, whatever address the configuration expects. Names reserved for testing (.test, example.org…) are not judged; a LAN-only name (home.arpa, .local, .internal, .lan) with LAN addresses is noted as such.',
  },
  propagation: {
    id: 'dns.propagation.{record}.{type}',
    pass: '{name} {type} propagation',
    fail: '{name} {type} not yet propagated',
    about:
      'Whether the resolvers already give the answer the source gives, for a record that is right at the source. Resolvers keep old answers (and a cached “no such name”) until their TTL runs out; running the playbook before that makes Let’s Encrypt and clients reach the old place. Nothing is to change in the zone, only to wait.',
  },
  srvFederation: {
    id: 'dns.srv.matrix-fed',
    pass: '{name} SRV',
    fail: '{name} SRV missing or wrong',
    about:
      'The _matrix-fed._tcp SRV record, which other servers use to find this one when /.well-known/matrix/server does not say. MDAD delegates by the well-known file, so none is needed then; when one exists, its targets must be host names with their own A/AAAA records (not aliases), and when the configuration relies on SRV it must exist.',
  },
  srvLegacy: {
    id: 'dns.srv.legacy',
    pass: '{name} SRV',
    fail: '{name} SRV needs a change',
    about:
      'The deprecated _matrix._tcp SRV record. Servers only use it when _matrix-fed._tcp is missing (Matrix v1.8), so it should be replaced by that name; its targets must be host names with their own A/AAAA records.',
  },
  srvAgreement: {
    id: 'dns.srv.agreement',
    pass: 'SRV records agree',
    fail: 'SRV records disagree',
    about:
      'When both _matrix-fed._tcp and the deprecated _matrix._tcp exist and differ, servers that still use the old name connect somewhere else than the rest.',
  },
  caa: {
    id: 'dns.caa.letsencrypt',
    pass: "CAA allows Let's Encrypt",
    fail: "CAA forbids Let's Encrypt",
    about:
      'CAA records say which certificate authorities may issue for a name; the closest set climbing from the name counts. The playbook’s Traefik gets its certificates from Let’s Encrypt, so a CAA set that does not allow letsencrypt.org means no certificate and no HTTPS.',
  },
  cloudflare: {
    id: 'dns.cloudflare.{record}',
    pass: "{name} not behind Cloudflare's proxy",
    fail: "{name} behind Cloudflare's proxy",
    about:
      'The name resolves to Cloudflare proxy addresses (the “orange cloud”). Cloudflare does not pass federation on port 8448 nor Let’s Encrypt’s HTTP-01 challenge, so other servers cannot federate and certificates cannot be issued. MDAD’s DNS guide asks for “DNS only”.',
  },
  obsoleteDimension: {
    id: 'dns.obsolete.dimension',
    pass: '{name} is obsolete',
    fail: '{name} is obsolete',
    about:
      'A record left over from older guides: the Dimension integration manager was removed from the playbook (2026-02), so nothing serves this name any more and the record can go.',
  },
  obsoleteIdentity: {
    id: 'dns.obsolete.matrix-identity',
    pass: '{name} is obsolete',
    fail: '{name} is obsolete',
    about:
      'An SRV record left over from older guides: the ma1sd identity server was removed from the playbook (2026-02), so the record points at nothing and can go.',
  },
  resolver: {
    id: 'dns.resolver.{resolver}',
    pass: 'Resolver {label}',
    fail: 'Resolver {label} does not answer',
    about:
      'A resolver asked to judge propagation (given with --resolver or --public, or the system’s). One that never answers is left out of the propagation findings, which then say less.',
  },
});
