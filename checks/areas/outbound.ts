// The outbound area: whether the homeserver itself reaches other servers (the other half of
// "I can't join #room:matrix.org"). Without credentials through its notary endpoint, with a
// user's token through the client API, with an admin token through Synapse's federation
// destinations (backoff), and from inside the server through the inventory. doctor runs it with
// what target and settings give; checks/outbound.ts adds its own inputs through outboundAreaWith.
import { InputError } from '../core/errors.ts';
import { parseServerName } from '../core/server-name.ts';
import { type CanaryRequest, DEFAULT_REMOTES, type OutboundFacts } from '../facts/outbound.ts';
import type { InventoryRef } from '../probes/outbound-adhoc.ts';
import { gatherOutbound } from '../probes/outbound-gather.ts';
import { judgeOutbound } from '../rules/outbound.ts';
import type { Area, Verdict } from './area.ts';

export { DEFAULT_REMOTES } from '../facts/outbound.ts';

/** --remote NAME (repeatable): server names, without a port. */
export function parseRemotes(values: readonly string[]): string[] {
  return values.map((r) => {
    const parsed = parseServerName(r, { allowMatrixPrefix: false });
    if (parsed.port !== undefined || parsed.isIpLiteral) throw new InputError(`--remote "${r}": give a server name without a port`);
    return parsed.host;
  });
}

/** The canary's default wait, for the join and again for the reply. */
export const CANARY_WAIT_S = 30;

/** --canary ROOM and --canary-wait SECONDS: a room id or alias with its server, a wait of 1 to 300 s. */
export function parseCanary(room: string | undefined, wait: string | undefined): CanaryRequest | undefined {
  if (room === undefined) {
    if (wait !== undefined) throw new InputError('--canary-wait needs --canary ROOM');
    return undefined;
  }
  if (!/^[#!][^:\s]+:[^\s:]+(:\d+)?$/.test(room))
    throw new InputError(`--canary "${room}": give a room alias or id with its server, e.g. '#ping:maunium.net'`);
  const seconds = Number(wait ?? CANARY_WAIT_S);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 300)
    throw new InputError(`--canary-wait must be a whole number of seconds from 1 to 300, not "${wait}"`);
  return { room, waitMs: seconds * 1000 };
}

/**
 * How long the area may take: twice the timeout and a second; with the canary, the homeserver's
 * discovery and whoami (a timeout each) before the canary's own bound (probes/outbound-canary.ts).
 */
export function outboundBudgetMs(timeoutMs: number, canary: CanaryRequest | undefined): number {
  return (canary ? 2 * canary.waitMs + 6 * timeoutMs : 2 * timeoutMs) + 1000;
}

export interface OutboundExtras {
  remotes?: readonly string[];
  homeserver?: string;
  /** Secret. */
  adminToken?: string;
  apply?: boolean;
  inventory?: InventoryRef;
  canary?: CanaryRequest;
}

export function outboundAreaWith(extra: OutboundExtras): Area<OutboundFacts, Verdict> {
  return {
    id: 'outbound',
    title: 'Outbound federation',
    notApplicable: () => undefined,
    budgetMs: (settings) => outboundBudgetMs(settings.timeoutMs, extra.canary ?? settings.canary),
    gather: (target, settings) =>
      gatherOutbound({
        serverName: target.name.host,
        remotes: extra.remotes ?? settings.remotes ?? DEFAULT_REMOTES,
        resolvers: settings.resolvers,
        timeoutMs: settings.timeoutMs,
        ...(settings.ca ? { ca: settings.ca } : {}),
        ...(settings.connectTo ? { connectTo: settings.connectTo } : {}),
        ...(extra.homeserver ? { homeserver: extra.homeserver } : {}),
        ...(settings.auth?.kind === 'token' ? { userToken: settings.auth.token } : {}),
        ...(extra.adminToken || settings.adminToken ? { adminToken: extra.adminToken ?? settings.adminToken } : {}),
        apply: extra.apply ?? false,
        ...(extra.inventory ? { inventory: extra.inventory } : {}),
        ...((extra.canary ?? settings.canary) ? { canary: extra.canary ?? settings.canary } : {}),
      }),
    // The clock is read here, once, so the rules stay pure.
    judge: (facts) => ({ findings: judgeOutbound(facts, { now: Date.now() }) }),
  };
}

export const outboundArea: Area<OutboundFacts, Verdict> = outboundAreaWith({});
