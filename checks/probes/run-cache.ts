// One run of several checks (doctor) asks each question once: the first DNS query or HTTP GET
// for a key starts the work, later callers in the same run share its promise. Outside a run
// (a single check) nothing is cached.
import { AsyncLocalStorage } from 'node:async_hooks';

interface RunCache {
  entries: Map<string, Promise<unknown>>;
  hits: number;
  misses: number;
}

const current = new AsyncLocalStorage<RunCache>();

export async function withRunCache<T>(work: () => Promise<T>): Promise<{ result: T; hits: number; misses: number }> {
  const cache: RunCache = { entries: new Map(), hits: 0, misses: 0 };
  const result = await current.run(cache, work);
  return { result, hits: cache.hits, misses: cache.misses };
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
