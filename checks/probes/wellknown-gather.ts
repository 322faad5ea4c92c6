// Gathers what the well-known rules judge: /.well-known/matrix/server and /client from every
// address of the base domain (hop by hop), the support file, the homeserver's /versions and the
// identity server named by the client file, and the Matrix host's own copies.
import { isIP } from 'node:net';
import { fetchChain, type FetchChain } from './fetch-chain.ts';
import { deadline, resolveAddresses, type AddressLookup } from './resolve.ts';
import type { NamedServer } from './dns-query.ts';
import type { ConnectTo } from './http.ts';

export interface DocumentFetch {
  address: string;
  chain: FetchChain;
}

export interface WellKnownFacts {
  serverName: string;
  lookup: AddressLookup;
  server: DocumentFetch[];
  client: DocumentFetch[];
  support?: FetchChain;
  /** GET <m.homeserver.base_url>/_matrix/client/versions, when the client file names one. */
  versions?: { url: string; chain: FetchChain };
  identity?: { url: string; chain: FetchChain };
  /** The copies on the Matrix host, which MDAD keeps authoritative (mdad.md §11). */
  matrixHost?: { host: string; server: FetchChain; client: FetchChain };
}

export interface WellKnownGatherOptions {
  serverName: string;
  /** From the plan; else taken from the documents themselves. */
  matrixHost?: string;
  resolvers: NamedServer[];
  timeoutMs: number;
  ca?: string;
  connectTo?: readonly ConnectTo[];
}

/** What a web client sends: CORS is judged on the answer to this. */
export const CLIENT_ORIGIN = 'https://app.element.io';

// Synapse and the Go tester cap the server file at 50 KiB (matrix-federation.md §2); read a little more to tell.
export const MAX_DOCUMENT = 64 * 1024;

export async function gatherWellKnown(options: WellKnownGatherOptions): Promise<WellKnownFacts> {
  const remaining = deadline(options.timeoutMs);
  const name = options.serverName;
  const lookup = await resolveAddresses(name, options.resolvers, remaining);
  const addresses = [...lookup.ipv4, ...lookup.ipv6];
  const chainFrom = (url: string, address?: string, headers?: Record<string, string>) =>
    fetchChain(url, { address, resolvers: options.resolvers, remaining, ca: options.ca, connectTo: options.connectTo, headers, maxBodyBytes: MAX_DOCUMENT });
  const base = `https://${isIP(name) === 6 ? `[${name}]` : name}/.well-known/matrix`;

  const [server, client, support] = await Promise.all([
    Promise.all(addresses.map(async (address) => ({ address, chain: await chainFrom(`${base}/server`, address) }))),
    Promise.all(addresses.map(async (address) => ({ address, chain: await chainFrom(`${base}/client`, address, { origin: CLIENT_ORIGIN }) }))),
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

export function parseObject(body: string | undefined): Record<string, unknown> | undefined {
  if (body === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** base_url of a discovery entry ("m.homeserver", "m.identity_server"), if it is a string URL. */
export function urlAt(doc: Record<string, unknown> | undefined, key: string): string | undefined {
  const entry = doc?.[key];
  const url = typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>).base_url : undefined;
  if (typeof url !== 'string') return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

function hostOf(url: string | undefined): string | undefined {
  return url ? new URL(url).hostname : undefined;
}

/** base_url may end with "/" (spec §7); join without doubling it. */
export function joinPath(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${path}`;
}
