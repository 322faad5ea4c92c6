// Which /probe targets the exporter connects to (docs/monitoring.md "Targets"): as
// blackbox_exporter's documentation warns, whoever can reach /probe can make an exporter connect
// anywhere. A target that is, or resolves to, an address of the exporter's own networks (loopback,
// link-local, private, ULA, CGNAT, reserved) or of this machine is refused before any connection,
// by name and after resolution, unless serve --allow-private.
import { networkInterfaces } from 'node:os';
import { emit } from '../core/catalogue.ts';
import type { NamedServer } from '../core/net.ts';
import { buildReport } from '../core/report.ts';
import { addressScope, SCOPE_TEXT } from '../facts/turn-config.ts';
import { DOCTOR } from '../findings/doctor.ts';
import { resolveAddresses } from '../probes/resolve.ts';
import type { ServerTarget } from './area.ts';
import type { ServerResult } from './diagnose.ts';

/** This machine's own addresses: a public one is refused too (the exporter would probe itself). */
function ownAddresses(): Set<string> {
  return new Set(
    Object.values(networkInterfaces())
      .flat()
      .flatMap((i) => (i ? [i.address] : [])),
  );
}

/** The guard of the exporter's runs: every connection a probe makes, wherever discovery leads, is judged as the target is. */
export function ownNetworkGuard(): (address: string) => string | undefined {
  const own = ownAddresses();
  return (address) => addressProblem(address, own);
}

function addressProblem(address: string, own: Set<string>): string | undefined {
  const scope = addressScope(address);
  if (scope !== 'public') return `${address} is ${SCOPE_TEXT[scope]}`;
  if (own.has(address)) return `${address} is an address of this machine`;
  return undefined;
}

/** Why the exporter must not probe this target, or undefined when it may. */
export async function targetRefusal(name: ServerTarget['name'], resolvers: NamedServer[], timeoutMs: number): Promise<string | undefined> {
  const host = name.host.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return `${host} names this machine`;
  const own = ownAddresses();
  if (name.isIpLiteral) return addressProblem(host, own);
  const lookup = await resolveAddresses(host, resolvers, () => timeoutMs);
  for (const address of [...lookup.ipv4, ...lookup.ipv6]) {
    const problem = addressProblem(address, own);
    if (problem) return `${host} resolves to ${problem}`;
  }
  return undefined;
}

/** The answer for a refused target: one failure, nothing probed. */
export function refusedTarget(target: ServerTarget, reason: string, started: Date): ServerResult {
  const findings = [
    emit(DOCTOR.targetRefused, 'fail', {
      detail: `${reason}: the exporter connects only to servers on the internet, so nothing was probed`,
      fix: 'Probe the server by its public name; to monitor servers of your own network, start the exporter with serve --allow-private',
    }),
  ];
  return { report: buildReport('doctor', target.name.given, started, findings), areas: { target: { findings, durationMs: 0 } } };
}
