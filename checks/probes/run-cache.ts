// One run of several checks (doctor) asks each question once: the first DNS query or HTTP GET
// for a key starts the work, later callers in the same run share its promise. A run also holds
// what its probes share beyond answers (one connection per HTTPS endpoint), closed when it ends.
// Outside a run (a single check) nothing is cached or shared.
import { AsyncLocalStorage } from 'node:async_hooks';
import { unreachableNameProblem } from '../facts/public-names.ts';

/** Why a connection to an address is not made in this run (the exporter's own networks), or undefined. */
export type AddressGuard = (address: string) => string | undefined;

interface RunCache {
  guard?: AddressGuard;
  /** serve --allow-private: a public name's private address is connected to as well. */
  privateNamesAllowed?: boolean;
  entries: Map<string, Promise<unknown>>;
  resources: Map<string, { value: unknown; close: () => void }>;
  /** The run has ended (an abandoned area may still be at work): no resource is lent any more. */
  closed: boolean;
  hits: number;
  misses: number;
}

const current = new AsyncLocalStorage<RunCache>();

export async function withRunCache<T>(
  work: () => Promise<T>,
  guard?: AddressGuard,
  privateNamesAllowed = false,
): Promise<{ result: T; hits: number; misses: number }> {
  const cache: RunCache = {
    ...(guard ? { guard } : {}),
    privateNamesAllowed,
    entries: new Map(),
    resources: new Map(),
    closed: false,
    hits: 0,
    misses: 0,
  };
  try {
    const result = await current.run(cache, work);
    return { result, hits: cache.hits, misses: cache.misses };
  } finally {
    cache.closed = true;
    for (const { close } of cache.resources.values()) close();
  }
}

export function cached<T>(key: string, work: () => Promise<T>): Promise<T> {
  const cache = current.getStore();
  if (!cache) return work();
  const known = cache.entries.get(key);
  if (known) {
    cache.hits++;
    return known as Promise<T>;
  }
  cache.misses++;
  const started = work();
  cache.entries.set(key, started);
  return started;
}

/** The run's one `key` resource, made on first use and closed when the run ends; undefined outside a run or after it. */
export function runResource<T>(key: string, create: () => T, close: (value: T) => void): T | undefined {
  const cache = current.getStore();
  if (!cache || cache.closed) return undefined;
  const known = cache.resources.get(key);
  if (known) return known.value as T;
  const value = create();
  cache.resources.set(key, { value, close: () => close(value) });
  return value;
}

/** Why the run refuses to connect to `address`, if it does. */
export function refusedAddress(address: string): string | undefined {
  return current.getStore()?.guard?.(address);
}

/**
 * Why a check does not connect to `address`, which the public name `host` resolved to
 * (facts/public-names.ts), unless the run allows private addresses (serve --allow-private).
 */
export function unreachableNameRefusal(host: string, address: string, port: number): string | undefined {
  return current.getStore()?.privateNamesAllowed ? undefined : unreachableNameProblem(host, address, port);
}
