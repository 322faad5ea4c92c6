// An area is one part of a server's health (dns, wellknown, federation, turn, …): it gathers its
// facts through probes, then judges them with pure rules. doctor, the install stage, bench and
// the single-area commands all run areas through the registry (registry.ts), the same way.
import type { ClientAuth } from '../core/client-auth.ts';
import type { Finding } from '../core/finding.ts';
import type { ServerName } from '../core/server-name.ts';
import type { Endpoint } from '../core/net.ts';
import type { ExpectedAddresses } from '../facts/dns.ts';
import type { CanaryRequest } from '../facts/outbound.ts';
import type { NamedServer } from '../core/net.ts';
import type { ConnectTo } from '../core/net.ts';
import type { Plan } from '../plan/types.ts';

/** For the single-area commands: the same linking of causes doctor applies across all areas. */
export { linkCauses } from '../rules/causes.ts';

/** The server an area looks at. */
export interface ServerTarget {
  name: Pick<ServerName, 'host' | 'port' | 'isIpLiteral'> & { given: string };
  /** From --vars/--playbook or an inventory; absent when only the name is known. */
  plan?: Plan;
  expected: ExpectedAddresses;
  /** In a fleet: why this server's configuration or name could not be read (nothing is probed). */
  unreadable?: string;
  /** In a fleet or the exporter: this server's own tokens (credentials.ts), used instead of the run's. */
  credentials?: Pick<RunSettings, 'auth' | 'adminToken'>;
}

/** What every area of a run shares: where lookups go, what to trust, how long to wait. */
export interface RunSettings {
  resolvers: NamedServer[];
  timeoutMs: number;
  /** Extra trusted CA (PEM). */
  ca?: string;
  connectTo?: readonly ConnectTo[];
  /** For the DNS area: ask these as the source instead of the zone's nameservers. */
  authoritative?: Endpoint[];
  /** A logged-in client's credentials, for the areas that act as one (turn, rtc, outbound). */
  auth?: ClientAuth;
  /** An admin's access token, for the outbound area's view of Synapse's federation backoff. */
  adminToken?: string;
  /** Other servers the outbound area tests federation with (default: a few public ones). */
  remotes?: readonly string[];
  /** --canary: the outbound area's one ping into a room where an echo bot answers. */
  canary?: CanaryRequest;
  /**
   * A run of many servers or one repeated by each scrape (a fleet, the exporter): the probes that
   * upload megabytes (federation's full-size /send) are left out.
   */
  bulk?: boolean;
  /** The areas to run, by id. */
  areas: readonly string[];
  /** serve --allow-private: public names that resolve to private addresses are probed too. */
  privateNamesAllowed?: boolean;
  /** Addresses the run does not connect to, with the reason (the exporter's own networks). */
  guard?: (address: string) => string | undefined;
}

/** What judging gives: the findings, and what a single-area command may print besides. */
export interface Verdict {
  findings: Finding[];
}

export interface Area<Facts = unknown, V extends Verdict = Verdict> {
  id: string;
  title: string;
  /** A finding that says why this target has nothing to check in this area, if so. */
  notApplicable?(target: ServerTarget): Finding | undefined;
  /** I/O only: every fact the rules need, gathered once (faults are facts, never throws). */
  gather(target: ServerTarget, settings: RunSettings): Promise<Facts>;
  /** How long doctor lets it run (default: twice the timeout and a second); for areas of many steps. */
  budgetMs?(settings: RunSettings): number;
  /** Pure: facts in, findings out. */
  judge(facts: Facts, target: ServerTarget, settings: RunSettings): V;
}

/** Any area, whatever its facts and verdict (for lists of areas: Area is invariant in its facts). */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds areas of different facts
export type AnyArea = Area<any, Verdict>;

/** An area's verdict for a target: gathered and judged, or why it does not apply. */
export async function runArea<F, V extends Verdict>(area: Area<F, V>, target: ServerTarget, settings: RunSettings): Promise<V | Verdict> {
  const skip = area.notApplicable?.(target);
  if (skip) return { findings: [skip] };
  return area.judge(await area.gather(target, settings), target, settings);
}
