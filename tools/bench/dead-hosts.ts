// Addresses where every packet is dropped, for the doctor's dead-target benchmark.
//
// Preferred: a network namespace of our own behind a veth pair, holding the addresses, with an
// iptables rule that drops everything coming in: a TCP SYN gets no SYN-ACK and a UDP query no
// reply, as behind a firewall that drops. The addresses are from 198.18.0.0/15, the range set
// aside for benchmarks (RFC 2544). Without `ip`/`iptables` (or without the right to use them)
// the fallback is silent servers on loopback: TCP listeners that accept and never speak, UDP
// sockets that never reply (sandbox/dns-server.ts startSilentServer).
import { spawnSync } from 'node:child_process';
import { startSilentServer, type RunningDnsServer } from '../../sandbox/dns-server.ts';

export interface DeadHosts {
  /** How the packets are dropped, in a few words for the report. */
  method: string;
  /** Why the namespace could not be used, when it could not. */
  note?: string;
  addresses: string[];
  stop(): Promise<void>;
}

function run(command: string, args: string[]): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error?.message ?? ''}`.trim() };
}

/** count addresses (at most 200) that drop everything; 'silent' skips the namespace. */
export async function startDeadHosts(count: number, method: 'auto' | 'silent' = 'auto'): Promise<DeadHosts> {
  if (method === 'silent') return silentHosts(count);
  try {
    return namespaceHosts(count);
  } catch (error) {
    return { ...(await silentHosts(count)), note: `no network namespace: ${(error as Error).message}` };
  }
}

function namespaceHosts(count: number): DeadHosts {
  // Names unique to this process: a stale pair from a killed run never collides.
  const tag = `mstk${process.pid % 100000}`;
  const ns = `${tag}-dead`;
  const [outside, inside] = [`${tag}a`, `${tag}b`];
  const subnet = '198.18.90';
  const addresses = Array.from({ length: count }, (_, i) => `${subnet}.${i + 2}`);
  const undo: [string, string[]][] = [];
  const step = (command: string, args: string[], undoArgs?: [string, string[]]) => {
    const result = run(command, args);
    if (!result.ok) throw new Error(`${command} ${args.join(' ')}: ${result.output || 'failed'}`);
    if (undoArgs) undo.unshift(undoArgs);
  };
  const cleanUp = () => {
    for (const [command, args] of undo) run(command, args);
  };
  try {
    step('ip', ['netns', 'add', ns], ['ip', ['netns', 'del', ns]]);
    step('ip', ['link', 'add', outside, 'type', 'veth', 'peer', 'name', inside], ['ip', ['link', 'del', outside]]);
    step('ip', ['link', 'set', inside, 'netns', ns]);
    step('ip', ['addr', 'add', `${subnet}.1/24`, 'dev', outside]);
    step('ip', ['link', 'set', outside, 'up']);
    for (const address of addresses) step('ip', ['-n', ns, 'addr', 'add', `${address}/24`, 'dev', inside]);
    step('ip', ['-n', ns, 'link', 'set', inside, 'up']);
    step('ip', ['netns', 'exec', ns, 'iptables', '-A', 'INPUT', '-j', 'DROP']);
  } catch (error) {
    cleanUp();
    throw error;
  }
  return {
    method: 'netns, iptables DROP',
    addresses,
    stop: async () => cleanUp(),
  };
}

async function silentHosts(count: number): Promise<DeadHosts> {
  const addresses = Array.from({ length: count }, (_, i) => `127.0.93.${i + 2}`);
  const servers: RunningDnsServer[] = [];
  try {
    // Port 53 (UDP and TCP) for the zone's nameserver, 443 and 8448 for the web and federation.
    for (const address of addresses) for (const port of [53, 443, 8448]) servers.push(await startSilentServer(address, port));
  } catch (error) {
    await Promise.all(servers.map((s) => s.close()));
    throw error;
  }
  return {
    method: 'silent loopback servers',
    addresses,
    stop: async () => {
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}
