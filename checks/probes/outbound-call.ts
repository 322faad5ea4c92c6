// One HTTP call of the outbound area, reduced to a CallFact (status, errcode, error, time) and
// its JSON body. A call with a credential goes through credentialed.ts only; each is bounded by
// the time it is given. Shared by the outbound gatherer and its canary.
import type { HttpOutcome } from '../facts/http.ts';
import type { CallFact } from '../facts/outbound.ts';
import { parseObject } from '../facts/wellknown.ts';
import { type Credential, sendWithCredential } from './credentialed.ts';
import { httpRequest } from './http.ts';
import { addressOf, type ClientContext } from './matrix-client.ts';

/** Synapse's admin API for its federation destinations (docs/admin_api/federation.md in Synapse). */
export const ADMIN_DESTINATIONS = '_synapse/admin/v1/federation/destinations';

/** Where to connect for a URL whose host is not the one to resolve (a discovered federation endpoint). */
export interface Endpoint {
  url: string;
  address: string;
  servername?: string;
  hostHeader?: string;
}

export interface Json {
  call: CallFact;
  body?: Record<string, unknown>;
}

export interface CallInit {
  method?: 'GET' | 'POST' | 'PUT';
  credential?: Credential;
  /** A JSON body (never a secret). */
  body?: unknown;
  endpoint?: Omit<Endpoint, 'url'>;
  /** Answers up to this size are read (default 256 KiB). */
  maxBodyBytes?: number;
  /** Asked again for a changing answer (http.ts HttpOptions.poll). */
  poll?: boolean;
}

export async function request(url: string, timeoutMs: number, context: ClientContext, init: CallInit = {}): Promise<Json> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const address = init.endpoint?.address ?? (await addressOf(new URL(url).hostname, { ...context, timeoutMs }));
  if (!address) return { call: { url, failure: `${new URL(url).hostname} does not resolve`, elapsedMs: elapsed() } };
  const options = {
    address,
    timeoutMs: Math.max(1, timeoutMs - elapsed()),
    ca: context.ca,
    connectTo: context.connectTo,
    method: init.method ?? 'GET',
    ...(init.endpoint?.servername !== undefined ? { servername: init.endpoint.servername } : {}),
    ...(init.endpoint?.hostHeader !== undefined ? { hostHeader: init.endpoint.hostHeader } : {}),
    maxBodyBytes: init.maxBodyBytes ?? 256 * 1024,
    ...(init.poll ? { poll: true } : {}),
  } as const;
  const outcome: HttpOutcome = init.credential
    ? await sendWithCredential(url, init.credential, { ...options, json: init.body })
    : await httpRequest(url, {
        ...options,
        headers: { accept: 'application/json', ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
  if (!outcome.ok)
    return {
      call: {
        url,
        failure: outcome.message,
        ...(outcome.error === 'timeout' ? { timedOut: true } : {}),
        ...(outcome.withheld ? { withheld: outcome.withheld } : {}),
        elapsedMs: elapsed(),
      },
    };
  const body = parseObject(outcome.body);
  const call: CallFact = { url, status: outcome.status, elapsedMs: elapsed() };
  if (typeof body?.errcode === 'string') call.errcode = body.errcode;
  if (typeof body?.error === 'string') call.error = body.error.slice(0, 300);
  return { call, ...(body ? { body } : {}) };
}
