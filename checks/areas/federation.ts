// The federation area: how other servers find this one (the spec's discovery, step by step), and
// whether every address they reach answers with a valid certificate, the version endpoint and
// correctly signed server keys.
import type { Area, RunSettings, ServerTarget, Verdict } from './area.ts';
import type { FederationFacts } from '../facts/federation.ts';
import { gatherFederation } from '../probes/federation-gather.ts';
import { judgeFederation } from '../rules/federation.ts';

export const federationArea: Area<FederationFacts, Verdict> = {
  id: 'federation',
  title: 'Federation',
  gather(target: ServerTarget, settings: RunSettings): Promise<FederationFacts> {
    const { host, port, isIpLiteral } = target.name;
    return gatherFederation({
      host,
      port,
      isIpLiteral,
      resolvers: settings.resolvers,
      timeoutMs: settings.timeoutMs,
      ca: settings.ca,
      connectTo: settings.connectTo,
      inbound: { transaction: !settings.bulk },
    });
  },
  // The clock is read here, once, so the rules stay pure: certificates and keys are judged at it.
  judge(facts: FederationFacts, _target: ServerTarget, settings: RunSettings): Verdict {
    return { findings: judgeFederation(facts, { now: Date.now(), extraCa: settings.ca }) };
  },
};
