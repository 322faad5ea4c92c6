// The referee for client discovery: matrix-js-sdk's own AutoDiscovery.findClientConfig (what
// Element Web and other js-sdk clients run at login) against the federation lab. This file only
// provides transport: every connection goes to the lab (names through the lab resolver, the lab
// CA trusted besides Node's roots); the SDK's logic decides the verdict.
//
// What the SDK does, read from matrix-js-sdk 43 lib/autodiscovery.js, and what that means here:
// - it fetches https://<domain>/.well-known/matrix/client with the fetch function given, following
//   redirects (fetch's default), and then <base_url>/_matrix/client/versions;
// - it never looks at Content-Type (it calls response.json()) nor at Access-Control-Allow-Origin.
//   CORS is enforced by browsers, not by the SDK: under Node nothing enforces it, so a missing
//   ACAO header cannot change this referee's verdict. A browser would refuse the response (the
//   fetch rejects with a TypeError) and the SDK would then say FAIL_PROMPT for the well-known,
//   or FAIL_ERROR for /versions. The referee tells what the SDK decides from the content.
// - TLS: Node verifies the chain and the name and does not fetch AIA issuers, so a leaf served
//   without its intermediate fails here (browsers that fetch AIA, e.g. Chrome, would succeed).
import { Resolver, type LookupAddress } from 'node:dns';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { Agent, fetch as undiciFetch } from 'undici';
import { AutoDiscovery } from 'matrix-js-sdk/lib/autodiscovery.js';
import { LAB, type FederationLab } from './federation-lab.ts';

export interface RefereeVerdict {
  /** AutoDiscoveryAction: SUCCESS, IGNORE/PROMPT, FAIL_PROMPT or FAIL_ERROR. */
  state: string;
  /** AutoDiscoveryError text, e.g. "Homeserver URL does not appear to be a valid Matrix homeserver". */
  error: string | null;
  baseUrl: string | null;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net/tls connects that asks only the lab resolver. Honours `all` (Node 20's
 * autoSelectFamily asks for every address) and `family`; fails with ENOTFOUND.
 */
export function labLookup(resolverAddress: string) {
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([resolverAddress]);
  // Each family: its addresses, or the resolver's error code (ENODATA, ENOTFOUND, ETIMEOUT, …).
  const ask = (hostname: string, version: 4 | 6) =>
    new Promise<LookupAddress[] | string>((resolve) => {
      const done = (error: NodeJS.ErrnoException | null, addresses: string[]) =>
        resolve(error ? String(error.code) : addresses.map((address) => ({ address, family: version })));
      if (version === 4) resolver.resolve4(hostname, done);
      else resolver.resolve6(hostname, done);
    });
  const resolveAll = async (hostname: string, family: number): Promise<LookupAddress[] | string> => {
    const answers = await Promise.all([family === 6 ? [] : ask(hostname, 4), family === 4 ? [] : ask(hostname, 6)]);
    const addresses = answers.flatMap((answer) => (typeof answer === 'string' ? [] : answer));
    if (addresses.length > 0) return addresses;
    // A real failure (timeout, refusal) is worth more than "no such name" from the other family.
    return (
      answers.find((answer): answer is string => typeof answer === 'string' && answer !== 'ENODATA' && answer !== 'ENOTFOUND') ??
      'ENOTFOUND'
    );
  };
  return (hostname: string, options: { all?: boolean; family?: number | string }, callback: LookupCallback): void => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : Number(options.family ?? 0);
    const literal = net.isIP(hostname);
    const found = literal ? Promise.resolve([{ address: hostname, family: literal }]) : resolveAll(hostname, family);
    void found.then((addresses) => {
      if (typeof addresses === 'string') {
        const error: NodeJS.ErrnoException = Object.assign(new Error(`lookup ${addresses} ${hostname} (lab resolver ${resolverAddress})`), {
          code: addresses,
          hostname,
        });
        callback(error, options.all ? [] : '', undefined);
      } else if (options.all) {
        callback(null, addresses);
      } else {
        callback(null, addresses[0]!.address, addresses[0]!.family);
      }
    });
  };
}

/** Undici fetch where every connection goes to the lab: lab names, lab CA plus Node's roots. */
export function labFetch(lab: Pick<FederationLab, 'resolver' | 'caFile'>): { fetch: typeof globalThis.fetch; close(): Promise<void> } {
  const agent = new Agent({
    connect: { ca: [...tls.rootCertificates, readFileSync(lab.caFile, 'utf8')], lookup: labLookup(lab.resolver), timeout: 5000 },
  });
  const fetch = ((input: string | URL, init?: RequestInit) =>
    undiciFetch(input, { ...(init as object), dispatcher: agent })) as unknown as typeof globalThis.fetch;
  return { fetch, close: () => agent.close() };
}

// AutoDiscovery's fetch function is global to the SDK: one referee run at a time.
let queue: Promise<unknown> = Promise.resolve();

export async function refereeClientDiscovery(lab: FederationLab, domain: string = LAB.serverName): Promise<RefereeVerdict> {
  const run = queue.then(async () => {
    const transport = labFetch(lab);
    AutoDiscovery.setFetchFn(transport.fetch);
    try {
      const config = await AutoDiscovery.findClientConfig(domain);
      const homeserver = config['m.homeserver'];
      return {
        state: String(homeserver.state),
        error: homeserver.error ? String(homeserver.error) : null,
        baseUrl: homeserver.base_url ? String(homeserver.base_url) : null,
      };
    } finally {
      AutoDiscovery.setFetchFn(undefined as unknown as typeof globalThis.fetch);
      await transport.close();
    }
  });
  queue = run.catch(() => {});
  return await run;
}
