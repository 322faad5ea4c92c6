// Gathers what the federation rules judge: the facts server discovery needs (well-known, SRV),
// then, for every address of every target, the TLS handshake, /_matrix/federation/v1/version
// and /_matrix/key/v2/server, sent with the Host header and SNI the spec prescribes; for the
// server under test, where the handshake worked, a media request over federation and, in a
// single-server run, a transaction as large as busy rooms send.
import { isIP } from 'node:net';
import { fetchChain } from './fetch-chain.ts';
import { httpRequest, type HttpOptions } from './http.ts';
import type { ConnectTo } from '../core/net.ts';
import { queryDns, queryFirst } from './dns-query.ts';
import type { DnsOutcome } from '../facts/dns.ts';
import type { NamedServer } from '../core/net.ts';
import { deadline, resolveAddresses } from './resolve.ts';
import { MAX_DOCUMENT } from '../facts/wellknown.ts';
import { decideDiscovery, FED_SRV, LEGACY_SRV, wellKnownDelegation, type Discovery, type DiscoveryInput } from '../facts/discovery.ts';
import { LARGEST_TRANSACTION, type AddressProbe, type FederationFacts } from '../facts/federation.ts';
import { BROWSER_USER_AGENT, refused, SYNAPSE_USER_AGENT } from '../facts/http.ts';

export interface FederationGatherOptions {
  host: string;
  port?: number;
  isIpLiteral: boolean;
  resolvers: NamedServer[];
  timeoutMs: number;
  ca?: string;
  connectTo?: readonly ConnectTo[];
  /**
   * The inbound paths of the server under test, beyond version and keys: media over federation,
   * and with `transaction` the full-size PUT /send (a single-server run only: a fleet or the
   * exporter would upload megabytes per server and scrape). Absent for other servers' discovery
   * (the outbound and rtc areas): nothing is sent to a server that is not the one checked.
   */
  inbound?: { transaction: boolean };
}

// The key document is small; a proxy's HTML page may not be.
const MAX_BODY = 256 * 1024;
const UNKNOWN_PATH = '/_matrix/federation/v1/matrix-selfhost-toolkit-probe';
const SEND_PATH = '/_matrix/federation/v1/send/matrix-selfhost-toolkit-probe';
// Authenticated media over federation (spec v1.11, server-server API "Content repository").
const MEDIA_PATH = '/_matrix/federation/v1/media/download/matrix-selfhost-toolkit-probe';
/**
 * An X-Matrix header Synapse refuses while parsing it: its origin is no server name, so
 * _parse_auth_header (element-hq/synapse 1.163.2 synapse/federation/transport/server/_base.py)
 * fails in parse_and_validate_server_name and Authenticator answers 400 M_UNAUTHORIZED
 * "Malformed Authorization header", before keyring.verify_json_for_server, the only step that
 * would fetch a key from another server. A missing header (or one that is not X-Matrix) gets 401
 * "Missing Authorization headers" instead: what a proxy that strips or replaces it leaves.
 */
const MALFORMED_X_MATRIX = 'X-Matrix origin="matrix-selfhost-toolkit probe",key="ed25519:probe",sig="unsigned"';

/**
 * A transaction of LARGEST_TRANSACTION's size, every PDU and EDU padded to its size there. Synapse
 * parses the whole body as JSON before it authenticates the request (BaseFederationServlet._wrap),
 * so its answer shows the body arrived entire. Made once per gather, for all of its addresses:
 * the exporter keeps nothing of it between runs. The entries are alike, so each is serialised
 * once and repeated, and the bytes are made once (JSON.stringify of 3.2 MiB took 10 ms a call,
 * and its conversion to bytes 5 ms a request).
 */
function largestTransaction(): Buffer {
  const { pdus, pduBytes, edus, eduBytes } = LARGEST_TRANSACTION;
  const padded = (entry: Record<string, unknown>, bytes: number) => {
    const bare = JSON.stringify({ ...entry, content: { padding: '' } });
    return JSON.stringify({ ...entry, content: { padding: 'x'.repeat(bytes - bare.length) } });
  };
  const list = (count: number, entry: string) => `[${Array.from({ length: count }, () => entry).join(',')}]`;
  const pdu = padded({ type: 'org.matrix_selfhost_toolkit.padding' }, pduBytes);
  const edu = padded({ edu_type: 'org.matrix_selfhost_toolkit.padding' }, eduBytes);
  return Buffer.from(
    `{"origin":"matrix-selfhost-toolkit.invalid","origin_server_ts":0,"pdus":${list(pdus, pdu)},"edus":${list(edus, edu)}}`,
  );
}

export async function gatherFederation(options: FederationGatherOptions): Promise<FederationFacts> {
  const remaining = deadline(options.timeoutMs);
  const { host } = options;
  const input: DiscoveryInput = { host, port: options.port, isIpLiteral: options.isIpLiteral, srv: {} };
  const srv = async (name: string) => {
    const [fed, legacy] = await Promise.all([
      srvAnswer(options.resolvers, `${FED_SRV}.${name}`, remaining),
      srvAnswer(options.resolvers, `${LEGACY_SRV}.${name}`, remaining),
    ]);
    input.srv[`${FED_SRV}.${name}`] = fed;
    input.srv[`${LEGACY_SRV}.${name}`] = legacy;
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
        // As Synapse asks (well_known_resolver.py), and once more as a browser after an error.
        userAgent: SYNAPSE_USER_AGENT,
        retryAsBrowser: true,
      }),
      srv(host),
    ]);
    input.wellKnown = wellKnown;
    const delegation = wellKnownDelegation(wellKnown);
    if (delegation.ok && !delegation.isIpLiteral && delegation.port === undefined && delegation.host !== host) await srv(delegation.host);
  }
  const discovery = decideDiscovery(input);
  // What a homeserver does next does not depend on how long discovery took: it goes on to the
  // target (after a fast failure of the well-known it falls back to SRV or port 8448). So the
  // targets get a budget of their own, and one stalled lookup never leaves them unjudged. The
  // whole gather is bounded by twice the timeout (discovery, then the targets).
  const probeRemaining = deadline(options.timeoutMs);
  const lookups = await Promise.all(discovery.targets.map((t) => resolveAddresses(t.host, options.resolvers, probeRemaining)));
  let transaction: Buffer | undefined;
  const transactionBody = () => (transaction ??= largestTransaction());
  const probes = await Promise.all(
    discovery.targets.flatMap((target, i) =>
      [...lookups[i].ipv4, ...lookups[i].ipv6].map((address) =>
        probeAddress(target.host, target.port, address, discovery, options, probeRemaining, transactionBody),
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
  transactionBody: () => Buffer,
): Promise<AddressProbe> {
  const urlHost = isIP(target) === 6 ? `[${target}]` : target;
  const request = (path: string, userAgent = SYNAPSE_USER_AGENT, extra: Pick<HttpOptions, 'method' | 'headers' | 'body'> = {}) =>
    httpRequest(`https://${urlHost}:${port}${path}`, {
      userAgent,
      address,
      timeoutMs: remaining(),
      ca: options.ca,
      connectTo: options.connectTo,
      // SNI and certificate name: the name discovery says, none for an IP (spec "Resolving server names").
      servername: isIP(discovery.tlsName) ? undefined : discovery.tlsName,
      hostHeader: discovery.hostHeader,
      maxBodyBytes: MAX_BODY,
      ...extra,
    });
  const [version, keys] = await Promise.all([request('/_matrix/federation/v1/version'), request('/_matrix/key/v2/server')]);
  const probe: AddressProbe = { target, port, address, version, keys };
  // Only where the handshake worked: nothing else is judged where it did not.
  const reached = Boolean(version.tls ?? keys.tls) && options.inbound !== undefined;
  const body = reached && options.inbound?.transaction ? transactionBody() : undefined;
  // A homeserver's request refused: asked once more as a browser, to tell a WAF from the homeserver.
  const [versionAsBrowser, keysAsBrowser, send, media] = await Promise.all([
    ...[version, keys].map((o, i) =>
      o.ok && refused(o.status)
        ? request(i === 0 ? '/_matrix/federation/v1/version' : '/_matrix/key/v2/server', BROWSER_USER_AGENT)
        : undefined,
    ),
    body !== undefined
      ? request(SEND_PATH, SYNAPSE_USER_AGENT, {
          method: 'PUT',
          headers: { authorization: MALFORMED_X_MATRIX, 'content-type': 'application/json' },
          body,
        })
      : undefined,
    reached ? request(MEDIA_PATH) : undefined,
  ]);
  if (send && body !== undefined) probe.send = { bytes: body.length, outcome: send };
  if (media) probe.media = media;
  if (versionAsBrowser) probe.versionAsBrowser = versionAsBrowser;
  // The spec has servers send "Host: name:port" after a delegation with a port; a proxy that
  // routes by the bare name refuses it. Asked once more with the bare name to tell.
  if (version.ok && refused(version.status) && discovery.hostHeader.includes(':') && !isIP(discovery.hostHeader.replace(/^\[|\]$/g, ''))) {
    probe.versionBareHost = await httpRequest(`https://${urlHost}:${port}/_matrix/federation/v1/version`, {
      userAgent: SYNAPSE_USER_AGENT,
      address,
      timeoutMs: remaining(),
      ca: options.ca,
      connectTo: options.connectTo,
      servername: isIP(discovery.tlsName) ? undefined : discovery.tlsName,
      hostHeader: discovery.hostHeader.replace(/:\d+$/, ''),
      maxBodyBytes: MAX_BODY,
    });
  }
  if (keysAsBrowser) probe.keysAsBrowser = keysAsBrowser;
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

/**
 * The first usable answer; when no resolver gives one, what they did say: a SERVFAIL (the
 * resolver's verdict on a zone whose DNSSEC is broken) is kept, because servers stop there.
 */
async function srvAnswer(resolvers: NamedServer[], name: string, remaining: () => number): Promise<DnsOutcome> {
  const first = await queryFirst(resolvers, name, 'SRV', remaining);
  if (first) return first;
  if (remaining() <= 0 || resolvers.length === 0) return noAnswer();
  const outcomes = await Promise.all(resolvers.map((r) => queryDns(r.endpoint, name, 'SRV', { recursive: true, timeoutMs: remaining() })));
  return outcomes.find((o) => o.ok) ?? outcomes[0] ?? noAnswer();
}

function noAnswer(): DnsOutcome {
  return { ok: false, error: 'timeout', message: 'no resolver answered', elapsedMs: 0 };
}
