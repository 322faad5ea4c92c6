// Gathers what the federation rules judge: the facts server discovery needs (well-known, SRV),
// then, for every address of every target, the TLS handshake, /_matrix/federation/v1/version
// and /_matrix/key/v2/server, sent with the Host header and SNI the spec prescribes.
import { isIP } from 'node:net';
import { fetchChain } from './fetch-chain.ts';
import { httpRequest } from './http.ts';
import type { ConnectTo } from '../core/net.ts';
import { queryFirst } from './dns-query.ts';
import type { DnsOutcome } from '../facts/dns.ts';
import type { NamedServer } from '../core/net.ts';
import { deadline, resolveAddresses } from './resolve.ts';
import { MAX_DOCUMENT } from '../facts/wellknown.ts';
import { decideDiscovery, FED_SRV, LEGACY_SRV, wellKnownDelegation, type Discovery, type DiscoveryInput } from '../facts/discovery.ts';
import type { AddressProbe, FederationFacts } from '../facts/federation.ts';

export interface FederationGatherOptions {
  host: string;
  port?: number;
  isIpLiteral: boolean;
  resolvers: NamedServer[];
  timeoutMs: number;
  ca?: string;
  connectTo?: readonly ConnectTo[];
}

// The key document is small; a proxy's HTML page may not be.
const MAX_BODY = 256 * 1024;
const UNKNOWN_PATH = '/_matrix/federation/v1/matrix-selfhost-toolkit-probe';
const MIN_PROBE_MS = 250;

export async function gatherFederation(options: FederationGatherOptions): Promise<FederationFacts> {
  const remaining = deadline(options.timeoutMs);
  const { host } = options;
  const input: DiscoveryInput = { host, port: options.port, isIpLiteral: options.isIpLiteral, srv: {} };
  const srv = async (name: string) => {
    const [fed, legacy] = await Promise.all([
      queryFirst(options.resolvers, `${FED_SRV}.${name}`, 'SRV', remaining),
      queryFirst(options.resolvers, `${LEGACY_SRV}.${name}`, 'SRV', remaining),
    ]);
    input.srv[`${FED_SRV}.${name}`] = fed ?? noAnswer();
    input.srv[`${LEGACY_SRV}.${name}`] = legacy ?? noAnswer();
  };
  if (!options.isIpLiteral && options.port === undefined) {
    const [wellKnown] = await Promise.all([
      // The same request as the well-known check's, so a doctor run sends it once.
      fetchChain(`https://${host}/.well-known/matrix/server`, {
        resolvers: options.resolvers,
        remaining,
        ca: options.ca,
        connectTo: options.connectTo,
        maxBodyBytes: MAX_DOCUMENT,
      }),
      srv(host),
    ]);
    input.wellKnown = wellKnown;
    const delegation = wellKnownDelegation(wellKnown);
    if (delegation.ok && !delegation.isIpLiteral && delegation.port === undefined && delegation.host !== host) await srv(delegation.host);
  }
  const discovery = decideDiscovery(input);
  // A probe given the last few milliseconds would time out and be misread as a dropped packet.
  if (remaining() < Math.min(MIN_PROBE_MS, options.timeoutMs / 4)) {
    return {
      serverName: host,
      input,
      discovery,
      lookups: [],
      probes: [],
      unprobed: 'discovery took the whole --timeout (a well-known or SRV lookup did not answer in time)',
    };
  }
  const lookups = await Promise.all(discovery.targets.map((t) => resolveAddresses(t.host, options.resolvers, remaining)));
  const probes = await Promise.all(
    discovery.targets.flatMap((target, i) =>
      [...lookups[i].ipv4, ...lookups[i].ipv6].map((address) =>
        probeAddress(target.host, target.port, address, discovery, options, remaining),
      ),
    ),
  );
  return { serverName: host, input, discovery, lookups, probes };
}

async function probeAddress(
  target: string,
  port: number,
  address: string,
  discovery: Discovery,
  options: FederationGatherOptions,
  remaining: () => number,
): Promise<AddressProbe> {
  const urlHost = isIP(target) === 6 ? `[${target}]` : target;
  const request = (path: string) =>
    httpRequest(`https://${urlHost}:${port}${path}`, {
      address,
      timeoutMs: remaining(),
      ca: options.ca,
      connectTo: options.connectTo,
      // SNI and certificate name: the name discovery says, none for an IP (spec "Resolving server names").
      servername: isIP(discovery.tlsName) ? undefined : discovery.tlsName,
      hostHeader: discovery.hostHeader,
      maxBodyBytes: MAX_BODY,
    });
  const [version, keys] = await Promise.all([request('/_matrix/federation/v1/version'), request('/_matrix/key/v2/server')]);
  const probe: AddressProbe = { target, port, address, version, keys };
  const answered = [version, keys].filter((o) => o.ok);
  if (answered.some((o) => o.ok && !isJson(o.headers['content-type'], o.body))) probe.unknownPath = await request(UNKNOWN_PATH);
  const tls = version.tls ?? keys.tls;
  const leaf = tls?.chain[0];
  const unverifiable =
    tls && ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'].includes(tls.authorizationError ?? '');
  if (unverifiable && tls.chain.length === 1 && leaf?.caIssuers[0]?.startsWith('http://')) {
    const url = leaf.caIssuers[0];
    const chain = await fetchChain(url, { resolvers: options.resolvers, remaining, maxBodyBytes: 16 * 1024, bodyEncoding: 'base64' });
    const outcome = chain.hops.at(-1)?.outcome;
    if (outcome) probe.aiaIssuer = { url, outcome };
  }
  return probe;
}

function isJson(contentType: string | undefined, body: string): boolean {
  if (!(contentType ?? '').toLowerCase().includes('json')) return false;
  try {
    JSON.parse(body);
    return true;
  } catch {
    return false;
  }
}

function noAnswer(): DnsOutcome {
  return { ok: false, error: 'timeout', message: 'no resolver answered', elapsedMs: 0 };
}
