// Pure helpers of the TURN rules: TURN URIs (RFC 7065), what an MDAD plan says about coturn and
// MatrixRTC, the scope of an address (public, private, CGNAT, loopback; the DNS rules also tell
// documentation ranges apart), and the stable subject of a URI in finding ids.
import { BlockList, isIP } from 'node:net';
import { canonicalIp } from '../core/net.ts';
import type { Plan } from '../plan/types.ts';

export interface TurnUri {
  uri: string;
  scheme: 'turn' | 'turns';
  host: string;
  port: number;
  transport: 'udp' | 'tcp';
}

export type UriParse = { ok: true; value: TurnUri } | { ok: false; uri: string; problem: string };

const DEFAULT_PORT = { turn: 3478, turns: 5349 } as const;

/** MDAD commands the fixes name (docs/playbook.md "Tags and commands"). */
export const RERUN_ALL = 'ansible-playbook -i inventory/hosts setup.yml --tags=install-all,start (or: just install-all)';
export const RERUN_COTURN =
  'ansible-playbook -i inventory/hosts setup.yml --tags=install-coturn,start-group --extra-vars=group=coturn (or: just install-service coturn)';

/**
 * turn:host[:port][?transport=udp|tcp] and turns:… (RFC 7065). Without a transport, turn: is
 * tried over UDP and turns: over TCP, as WebRTC clients do.
 */
export function parseTurnUri(uri: string): UriParse {
  const match = /^(turns?):(\[[0-9a-fA-F:.]+\]|[^:?\s/]+)(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/i.exec(uri.trim());
  if (!match) return { ok: false, uri, problem: 'not of the form turn:host[:port][?transport=udp|tcp] (RFC 7065)' };
  const scheme = match[1]!.toLowerCase() as 'turn' | 'turns';
  const host = match[2]!.replace(/^\[|\]$/g, '').toLowerCase();
  if (!isIP(host) && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(host)) {
    return { ok: false, uri, problem: `"${host}" is not a host name or IP address` };
  }
  const port = match[3] ? Number(match[3]) : DEFAULT_PORT[scheme];
  if (port < 1 || port > 65535) return { ok: false, uri, problem: `port ${port} is out of range` };
  const transport = (match[4]?.toLowerCase() as 'udp' | 'tcp' | undefined) ?? (scheme === 'turns' ? 'tcp' : 'udp');
  return { ok: true, value: { uri, scheme, host, port, transport } };
}

/** The subject of a URI's finding ids, e.g. turn-udp-3478, turns-tcp-5349 (dots are id separators). */
export function uriSubject(uri: TurnUri): string {
  return `${uri.scheme}-${uri.transport}-${uri.port}`;
}

/** Subjects for a list of URIs; two URIs that would share one get their host appended. */
export function uriSubjects(uris: readonly TurnUri[]): string[] {
  const base = uris.map(uriSubject);
  return uris.map((u, i) => (base.filter((b) => b === base[i]).length > 1 ? `${base[i]}-${u.host.replace(/[.:]/g, '_')}` : base[i]!));
}

/** What the port of a URI is, for firewall fixes: 3478/udp. */
export function portLabel(uri: TurnUri): string {
  return `${uri.port}/${uri.transport}`;
}

// ---------------------------------------------------------------------------------------------
// Address scope

export type AddressScope = 'public' | 'private' | 'cgnat' | 'loopback' | 'link-local' | 'unspecified' | 'reserved';

/** A scope, with the documentation ranges told apart from the public addresses they stand for. */
export type AddressRange = AddressScope | 'documentation';

// The IANA special-purpose address registries (RFC 6890 and successors), by scope; the ranges
// do not overlap. An address in none of them is public.
const SCOPE_RANGES: [AddressRange, 'ipv4' | 'ipv6', string, number][] = [
  ['loopback', 'ipv4', '127.0.0.0', 8],
  ['private', 'ipv4', '10.0.0.0', 8],
  ['private', 'ipv4', '172.16.0.0', 12],
  ['private', 'ipv4', '192.168.0.0', 16],
  ['cgnat', 'ipv4', '100.64.0.0', 10],
  ['link-local', 'ipv4', '169.254.0.0', 16],
  ['unspecified', 'ipv4', '0.0.0.0', 8],
  ['reserved', 'ipv4', '192.0.0.0', 24], // IETF protocol assignments
  ['reserved', 'ipv4', '198.18.0.0', 15], // benchmarking
  ['reserved', 'ipv4', '224.0.0.0', 4], // multicast
  ['reserved', 'ipv4', '240.0.0.0', 4], // reserved, and the limited broadcast address
  ['loopback', 'ipv6', '::1', 128],
  ['unspecified', 'ipv6', '::', 128],
  ['private', 'ipv6', 'fc00::', 7], // unique local
  ['link-local', 'ipv6', 'fe80::', 10],
  ['reserved', 'ipv6', '100::', 64], // discard-only
  ['reserved', 'ipv6', '2001:2::', 48], // benchmarking
  ['reserved', 'ipv6', 'ff00::', 8], // multicast
  ['documentation', 'ipv4', '192.0.2.0', 24], // TEST-NET-1, RFC 5737
  ['documentation', 'ipv4', '198.51.100.0', 24], // TEST-NET-2
  ['documentation', 'ipv4', '203.0.113.0', 24], // TEST-NET-3
  ['documentation', 'ipv6', '2001:db8::', 32], // RFC 3849
  ['documentation', 'ipv6', '3fff::', 20], // RFC 9637
];

const scopeLists = new Map<AddressRange, BlockList>();
for (const [range, family, network, prefix] of SCOPE_RANGES) {
  const list = scopeLists.get(range) ?? new BlockList();
  list.addSubnet(network, prefix, family);
  scopeLists.set(range, list);
}

/** The IPv4 address an IPv4-mapped IPv6 address (::ffff:0:0/96) stands for, in any spelling. */
function mappedIpv4(address: string): string | undefined {
  const groups = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonicalIp(address) ?? '');
  if (!groups) return undefined;
  const [high, low] = [parseInt(groups[1]!, 16), parseInt(groups[2]!, 16)];
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/**
 * The range an address falls in: a scope, or documentation (192.0.2/24, 198.51.100/24,
 * 203.0.113/24, 2001:db8::/32, 3fff::/20), which is never routed. Multicast and the other special
 * ranges are reserved; an IPv4-mapped IPv6 address is judged as its IPv4 address.
 */
export function addressRange(address: string): AddressRange {
  const family = isIP(address);
  if (family === 0) return 'public';
  const v4 = family === 4 ? address : mappedIpv4(address);
  const [text, type] = v4 !== undefined ? [v4, 'ipv4' as const] : [address, 'ipv6' as const];
  for (const [range, list] of scopeLists) if (list.check(text, type)) return range;
  return 'public';
}

/**
 * Where an address can be reached from: its range, documentation counting as public, since it
 * stands for public addresses in examples and tests.
 */
export function addressScope(address: string): AddressScope {
  const range = addressRange(address);
  return range === 'documentation' ? 'public' : range;
}

/**
 * With --connect-to, the server under test: the routed address, and the address given as the
 * server's (--expect-ip, the inventory). Without a route, none beyond what the host resolves to.
 */
export function routedServerAddresses(via: { address: string } | undefined, server: { addresses: string[]; strict: boolean }): string[] {
  return via ? [via.address, ...(server.strict ? server.addresses : [])] : [];
}

export const SCOPE_TEXT: Record<AddressRange, string> = {
  public: 'a public address',
  private: 'a private (RFC 1918 / ULA) address',
  cgnat: 'a carrier-grade NAT (100.64.0.0/10) address',
  loopback: 'a loopback address',
  'link-local': 'a link-local address',
  unspecified: 'an unspecified address',
  reserved: 'a reserved address',
  documentation: 'a documentation address (reserved for examples, never routed)',
};

// ---------------------------------------------------------------------------------------------
// What the plan says

export interface TurnPlan {
  coturnEnabled: boolean;
  /** coturn_hostname (default: the Matrix host). */
  coturnHost: string;
  /** The turn_uris MDAD gives Synapse: coturn_turn_uris. */
  uris: string[];
  relayRange?: { min: number; max: number };
  /** Firewall ports of coturn, as "3478/tcp", "49152-49172/udp". */
  ports: string[];
  /** The derived static auth secret is known (never the secret itself). */
  secretKnown: boolean;
  rtcEnabled: boolean;
  /** The org.matrix.msc4143.rtc_foci value the playbook serves. */
  expectedFoci?: unknown;
  /** LiveKit's ICE/TCP port (livekit_server_config_rtc_tcp_port). */
  livekitTcpPort?: number;
  /** The inventory's ansible_host when it is an address. */
  serverAddress?: string;
}

function portText(p: { port: number; endPort?: number; protocol: string }): string {
  return `${p.port}${p.endPort ? `-${p.endPort}` : ''}/${p.protocol}`;
}

/** The TURN-related part of a deployment plan. */
export function turnPlan(plan: Plan): TurnPlan {
  const enabled = (id: string) => plan.services.some((s) => s.id === id && s.enabled);
  const coturnEnabled = enabled('coturn');
  // coturn_hostname is the Matrix host unless changed, in which case the plan asks for its own record.
  const coturnHost = plan.records.find((r) => r.service === 'coturn' && (r.type === 'CNAME' || r.type === 'A'))?.name ?? plan.matrixHost;
  const coturnPorts = plan.ports.filter((p) => p.service === 'coturn');
  const plain = coturnPorts.find((p) => p.protocol === 'udp' && p.purpose === 'STUN/TURN')?.port ?? 3478;
  const tls = coturnPorts.find((p) => p.protocol === 'tcp' && p.purpose === 'TURN over TLS')?.port;
  const relay = coturnPorts.find((p) => p.endPort !== undefined);
  const withPort = (port: number, fallback: number) => (port === fallback ? coturnHost : `${coturnHost}:${port}`);
  // coturn role vars/main.yml: turns: URIs first when TLS is on, then turn:.
  const uris = coturnEnabled
    ? [
        ...(tls !== undefined ? [`turns:${withPort(tls, 5349)}?transport=udp`, `turns:${withPort(tls, 5349)}?transport=tcp`] : []),
        `turn:${withPort(plain, 3478)}?transport=udp`,
        `turn:${withPort(plain, 3478)}?transport=tcp`,
      ]
    : [];
  const livekit = plan.ports.find((p) => p.service === 'matrix-rtc' && p.protocol === 'tcp' && p.purpose.includes('ICE'));
  const foci = plan.wellKnown.client['org.matrix.msc4143.rtc_foci'];
  const address = plan.host?.address;
  return {
    coturnEnabled,
    coturnHost,
    uris,
    ...(relay ? { relayRange: { min: relay.port, max: relay.endPort! } } : {}),
    ports: coturnPorts.map(portText),
    secretKnown: Boolean(plan.secrets.coturnStaticAuthSecret),
    rtcEnabled: enabled('matrix-rtc') || foci !== undefined,
    ...(foci !== undefined ? { expectedFoci: foci } : {}),
    ...(livekit ? { livekitTcpPort: livekit.port } : {}),
    ...(address && isIP(address) ? { serverAddress: address } : {}),
  };
}

/** The livekit_service_url of every LiveKit focus in a served rtc_foci value (http(s) URLs only). */
export function livekitServiceUrls(foci: unknown): string[] {
  if (!Array.isArray(foci)) return [];
  return foci.flatMap((focus) => {
    const f = focus as Record<string, unknown> | null;
    if (!f || f.type !== 'livekit' || typeof f.livekit_service_url !== 'string') return [];
    try {
      return /^https?:$/.test(new URL(f.livekit_service_url).protocol) ? [f.livekit_service_url] : [];
    } catch {
      return [];
    }
  });
}
