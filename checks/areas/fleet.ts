// The servers of a fleet run: every host of an MDAD inventory (each with its plan from
// host_vars) or a plain list of server names, checked with bounded concurrency. One server's
// unreadable entry is that server's failure, not the fleet's.
import { dirname, join } from 'node:path';
import { InputError } from '../core/errors.ts';
import { readInputFile } from '../core/input-file.ts';
import { parseServerName } from '../core/server-name.ts';
import { inventoryHosts } from '../plan/inventory.ts';
import { loadPlan } from '../plan/load.ts';
import type { ServerTarget } from './area.ts';
import { inventoryAddress } from './dns.ts';

export async function fleetTargets(from: { inventory?: string; list?: string }): Promise<ServerTarget[]> {
  if (from.inventory) {
    const inventory = from.inventory;
    const hosts = inventoryHosts(await readInputFile(inventory, '--inventory'));
    if (hosts.length === 0) throw new InputError(`--inventory ${inventory}: no host in [matrix_servers]`);
    const playbook = dirname(dirname(inventory));
    return Promise.all(
      hosts.map(async (host) => {
        try {
          const plan = await loadPlan({ vars: join(dirname(inventory), 'host_vars', host.name, 'vars.yml'), playbook });
          return { name: parseServerName(plan.serverName, { allowMatrixPrefix: true }), plan, expected: inventoryAddress(plan) };
        } catch (error) {
          return unreadable(host.name, error);
        }
      }),
    );
  }
  const names = (await readInputFile(from.list ?? '', '--list'))
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
  if (names.length === 0) throw new InputError(`--list ${from.list}: no server name in it`);
  return names.map((line) => {
    try {
      return { name: parseServerName(line), expected: {} };
    } catch (error) {
      return unreadable(line, error);
    }
  });
}

function unreadable(given: string, error: unknown): ServerTarget {
  if (!(error instanceof InputError)) throw error;
  return { name: { given, host: given, isIpLiteral: false }, expected: {}, unreadable: error.message };
}

/** At most `limit` at once, results in input order. */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
  onDone?: (done: number) => void,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
      onDone?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
