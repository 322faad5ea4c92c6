// What the well-known gatherer fetched, and the pure readings of those documents that rules
// and gatherers share.
import type { AddressLookup } from './dns.ts';
import type { FetchChain } from './http.ts';

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
  /** The copies on the Matrix host, which MDAD keeps authoritative (docs/playbook.md "Well-known files"). */
  matrixHost?: { host: string; server: FetchChain; client: FetchChain };
}

/** What a web client sends: CORS is judged on the answer to this. */
export const CLIENT_ORIGIN = 'https://app.element.io';

// Synapse and the Go tester cap the server file at 50 KiB (docs/federation.md "Limits on the server file");
// read a little more to tell.
export const MAX_DOCUMENT = 64 * 1024;

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

/** base_url may end with "/" (spec client-server "Well-known URIs"); join without doubling it. */
export function joinPath(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${path}`;
}
