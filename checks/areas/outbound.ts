// The outbound area: whether the homeserver itself reaches other servers (the other half of
// "I can't join #room:matrix.org"). Without credentials through its notary endpoint, with a
// user's token through the client API, with an admin token through Synapse's federation
// destinations (backoff), and from inside the server through the inventory. doctor runs it with
// what target and settings give; checks/outbound.ts adds its own inputs through outboundAreaWith.
import { InputError } from '../core/errors.ts';
import { parseServerName } from '../core/server-name.ts';
import { DEFAULT_REMOTES, type OutboundFacts } from '../facts/outbound.ts';
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

export interface OutboundExtras {
  remotes?: readonly string[];
  homeserver?: string;
  /** Secret. */
  adminToken?: string;
  apply?: boolean;
  inventory?: InventoryRef;
}

export function outboundAreaWith(extra: OutboundExtras): Area<OutboundFacts, Verdict> {
  return {
    id: 'outbound',
    title: 'Outbound federation',
    notApplicable: () => undefined,
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
      }),
    // The clock is read here, once, so the rules stay pure.
    judge: (facts) => ({ findings: judgeOutbound(facts, { now: Date.now() }) }),
  };
}

export const outboundArea: Area<OutboundFacts, Verdict> = outboundAreaWith({});
