// GET a URL and follow its redirects one hop at a time, keeping every hop: clients judge CORS
// and content type per hop, and the spec asks to follow 30x while avoiding loops.
import { httpRequest } from './http.ts';
import { BROWSER_USER_AGENT, refused, type FetchChain, type Hop } from '../facts/http.ts';
import type { ConnectTo } from '../core/net.ts';
import { resolveAddresses } from './resolve.ts';
import type { NamedServer } from '../core/net.ts';

export interface ChainOptions {
  /** Address for the first hop; later hosts are resolved through the resolvers. */
  address?: string;
  resolvers: NamedServer[];
  remaining: () => number;
  ca?: string;
  connectTo?: readonly ConnectTo[];
  headers?: Record<string, string>;
  /** The User-Agent to send (see facts/http.ts). */
  userAgent?: string;
  /** After a 4xx or 5xx answer, ask once more as a browser (facts/http.ts userAgentDiscrimination). */
  retryAsBrowser?: boolean;
  maxHops?: number;
  maxBodyBytes?: number;
  bodyEncoding?: 'utf8' | 'base64';
}

// Go's HTTP client and the Rust tester stop after 10 redirects (docs/federation.md "Limits on the server file").
const MAX_HOPS = 10;

export async function fetchChain(url: string, options: ChainOptions): Promise<FetchChain> {
  const chain = await follow(url, options);
  if (options.userAgent) chain.userAgent = options.userAgent;
  if (options.retryAsBrowser && chain.final && refused(chain.final.status) && options.userAgent !== BROWSER_USER_AGENT) {
    chain.asBrowser = await follow(url, { ...options, userAgent: BROWSER_USER_AGENT });
    chain.asBrowser.userAgent = BROWSER_USER_AGENT;
  }
  return chain;
}

async function follow(url: string, options: ChainOptions): Promise<FetchChain> {
  const hops: Hop[] = [];
  const seen = new Set<string>();
  let current = url;
  let address = options.address;
  for (let hop = 0; hop <= (options.maxHops ?? MAX_HOPS); hop++) {
    if (seen.has(current)) return { hops, problem: 'loop', detail: `redirect loop back to ${current}` };
    seen.add(current);
    const host = new URL(current).hostname.replace(/^\[|\]$/g, '');
    if (!address) address = await firstAddress(host, options);
    if (!address) return { hops, problem: 'unresolvable', detail: `${host} has no address` };
    const outcome = await httpRequest(current, {
      address,
      timeoutMs: options.remaining(),
      ca: options.ca,
      connectTo: options.connectTo,
      headers: options.headers,
      userAgent: options.userAgent,
      maxBodyBytes: options.maxBodyBytes,
      bodyEncoding: options.bodyEncoding,
    });
    hops.push({ url: current, outcome });
    if (!outcome.ok) return { hops, problem: 'failed', detail: outcome.message };
    const location = outcome.headers.location;
    if (outcome.status < 300 || outcome.status > 399 || !location) return { hops, final: outcome };
    try {
      current = new URL(location, current).href;
    } catch {
      return { hops, problem: 'bad-location', detail: `Location "${location}" is not a URL` };
    }
    address = undefined;
  }
  return { hops, problem: 'too-many-redirects', detail: `more than ${options.maxHops ?? MAX_HOPS} redirects` };
}

async function firstAddress(host: string, options: ChainOptions): Promise<string | undefined> {
  const lookup = await resolveAddresses(host, options.resolvers, options.remaining);
  return lookup.ipv4[0] ?? lookup.ipv6[0];
}
