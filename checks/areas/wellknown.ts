// The wellknown area: can servers and clients discover this homeserver through the base domain?
// Gathers /.well-known/matrix/server, /client and /support from every address of the base
// domain (hop by hop), the homeserver and identity server they name and the Matrix host's own
// copies, then judges them as peers, browsers and strict clients (Element X) do.
import { emit } from '../core/catalogue.ts';
import type { WellKnownFacts } from '../facts/wellknown.ts';
import { WELLKNOWN } from '../findings/wellknown.ts';
import { gatherWellKnown } from '../probes/wellknown-gather.ts';
import { judgeWellKnown, type WellKnownVerdict } from '../rules/wellknown.ts';
import type { Area } from './area.ts';

export const wellknownArea: Area<WellKnownFacts, WellKnownVerdict> = {
  id: 'wellknown',
  title: '.well-known',
  // Spec server-server "Resolving server names": an IP literal or a name with a port is connected to directly.
  notApplicable: (target) =>
    target.name.isIpLiteral || target.name.port !== undefined
      ? emit(WELLKNOWN.skipped, 'skip', { detail: 'A server name with an IP or a port is not discovered through .well-known' })
      : undefined,
  gather: (target, settings) =>
    gatherWellKnown({
      serverName: target.plan?.serverName ?? target.name.host,
      matrixHost: target.plan?.matrixHost,
      resolvers: settings.resolvers,
      timeoutMs: settings.timeoutMs,
      ca: settings.ca,
      connectTo: settings.connectTo,
    }),
  judge: (facts, target) => judgeWellKnown(facts, target.plan),
};
