// Gathers what the well-known rules judge: /.well-known/matrix/server and /client from every
// address of the base domain (hop by hop), the support file, the homeserver's /versions and the
// identity server named by the client file, and the Matrix host's own copies.
import { isIP } from 'node:net';
import { fetchChain } from './fetch-chain.ts';
import type { ConnectTo } from '../core/net.ts';
import { CLIENT_ORIGIN, joinPath, MAX_DOCUMENT, parseObject, urlAt, type WellKnownFacts } from '../facts/wellknown.ts';
import { deadline, resolveAddresses } from './resolve.ts';
import { BROWSER_USER_AGENT, SYNAPSE_USER_AGENT } from '../facts/http.ts';
import type { NamedServer } from '../core/net.ts';

export interface WellKnownGatherOptions {
  serverName: string;
  /** From the plan; else taken from the documents themselves. */
  matrixHost?: string;
  resolvers: NamedServer[];
  timeoutMs: number;
  ca?: string;
  connectTo?: readonly ConnectTo[];
}

export async function gatherWellKnown(options: WellKnownGatherOptions): Promise<WellKnownFacts> {
  const remaining = deadline(options.timeoutMs);
  const name = options.serverName;
  const lookup = await resolveAddresses(name, options.resolvers, remaining);
  const addresses = [...lookup.ipv4, ...lookup.ipv6];
  // The server file as Synapse asks for it (and once more as a browser after an error); the
  // client documents as a web client asks: a browser's User-Agent with an Origin header.
  const chainFrom = (url: string, address?: string, headers?: Record<string, string>) =>
    fetchChain(url, {
      address,
      ...(url.endsWith('/.well-known/matrix/server')
        ? { userAgent: SYNAPSE_USER_AGENT, retryAsBrowser: true }
        : headers?.origin
          ? { userAgent: BROWSER_USER_AGENT }
          : {}),
      resolvers: options.resolvers,
      remaining,
      ca: options.ca,
      connectTo: options.connectTo,
      headers,
      maxBodyBytes: MAX_DOCUMENT,
    });
  const base = `https://${isIP(name) === 6 ? `[${name}]` : name}/.well-known/matrix`;

  const [server, client, support] = await Promise.all([
    Promise.all(addresses.map(async (address) => ({ address, chain: await chainFrom(`${base}/server`, address) }))),
    Promise.all(
      addresses.map(async (address) => ({ address, chain: await chainFrom(`${base}/client`, address, { origin: CLIENT_ORIGIN }) })),
    ),
    addresses.length ? chainFrom(`${base}/support`, addresses[0], { origin: CLIENT_ORIGIN }) : undefined,
  ]);
  const facts: WellKnownFacts = { serverName: name, lookup, server, client, support };

  const clientDoc = parseObject(client.find((c) => c.chain.final?.status === 200)?.chain.final?.body);
  const baseUrl = urlAt(clientDoc, 'm.homeserver');
  const identityUrl = urlAt(clientDoc, 'm.identity_server');
  const matrixHost = options.matrixHost ?? hostOf(baseUrl);
  const follow = async (url: string | undefined, path: string, headers?: Record<string, string>) =>
    url ? { url: joinPath(url, path), chain: await chainFrom(joinPath(url, path), undefined, headers) } : undefined;
  const copies = async (host: string) => {
    const [server, client] = await Promise.all([
      chainFrom(`https://${host}/.well-known/matrix/server`),
      chainFrom(`https://${host}/.well-known/matrix/client`, undefined, { origin: CLIENT_ORIGIN }),
    ]);
    return { host, server, client };
  };
  const [versions, identity, matrixCopies] = await Promise.all([
    follow(baseUrl, '_matrix/client/versions', { origin: CLIENT_ORIGIN }),
    follow(identityUrl, '_matrix/identity/v2'),
    matrixHost && matrixHost !== name ? copies(matrixHost) : undefined,
  ]);
  if (versions) facts.versions = versions;
  if (identity) facts.identity = identity;
  if (matrixCopies) facts.matrixHost = matrixCopies;
  return facts;
}

function hostOf(url: string | undefined): string | undefined {
  return url ? new URL(url).hostname : undefined;
}
