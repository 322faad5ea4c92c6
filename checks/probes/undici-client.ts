// undici's HTTP/1.1 Client and its request call, and nothing else of undici: its index loads
// every dispatcher, fetch, WebSocket, the caches and the mocks, a third of a check's start-up
// (docs/benchmark.md "Start-up"). undici 7 has no "exports" map, so these files are its public
// surface too (index.js assembles the same two).
import type { Dispatcher } from 'undici';
import Client from 'undici/lib/dispatcher/client.js';
import requestOn from 'undici/lib/api/api-request.js';

export { Client };
export type ResponseBody = Dispatcher.ResponseData['body'];

/** One request through `client`, as undici's top-level request(url, { dispatcher }) sends it. */
export function clientRequest(
  client: Client,
  url: URL,
  options: Omit<Dispatcher.RequestOptions, 'origin' | 'path'>,
): Promise<Dispatcher.ResponseData> {
  return requestOn.call(client, { ...options, origin: url.origin, path: `${url.pathname}${url.search}` });
}
