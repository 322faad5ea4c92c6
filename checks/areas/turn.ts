// The turn area: the TURN servers a calling client is handed, probed on the wire (STUN Binding,
// TURN Allocate with REST credentials, relayed data, release), and the MatrixRTC focus (LiveKit
// JWT service, LiveKit's TCP port). doctor runs it with what target and settings give; the
// single-area command (checks/turn.ts) adds its own inputs through turnAreaWith.
import type { Finding } from '../core/finding.ts';
import { urlAt } from '../facts/wellknown.ts';
import { turnPlan, type TurnPlan } from '../facts/turn-config.ts';
import type { TurnFacts } from '../facts/turn.ts';
import type { Plan } from '../plan/types.ts';
import { gatherTurn, type TurnGatherInput } from '../probes/turn-gather.ts';
import { judgeTurn } from '../rules/turn.ts';
import type { Area, RunSettings, ServerTarget, Verdict } from './area.ts';

/** What only the single-area command gives, beyond target and settings. */
export interface TurnExtras {
  /** --homeserver: the client API base URL instead of the client well-known's. */
  homeserver?: string;
  /** --turn-uri */
  turnUris?: string[];
  /** TURN_SECRET or --turn-secret-file. */
  explicitSecret?: string;
  /** Relay data between two allocations (default true). */
  roundTrip?: boolean;
}

/** The coturn secret MDAD derives, when the plan knows it. */
export function planSecret(plan: Plan | undefined): TurnGatherInput['secrets'] {
  return plan?.secrets.coturnStaticAuthSecret ? { plan: plan.secrets.coturnStaticAuthSecret } : {};
}

/** The plan's coturn and MatrixRTC settings, and its homeserver as a fallback for discovery. */
export function planInput(plan: Plan | undefined): { plan?: TurnPlan; planBaseUrl?: string } {
  if (!plan) return {};
  const base = urlAt(plan.wellKnown.client, 'm.homeserver');
  return { plan: turnPlan(plan), ...(base ? { planBaseUrl: base } : {}) };
}

/** What the gatherer needs, from the target, the run's settings and the command's extras. */
export function turnGatherInput(target: ServerTarget, settings: RunSettings, extra: TurnExtras = {}): TurnGatherInput {
  const addresses = [target.expected.ipv4, target.expected.ipv6].filter((a): a is string => a !== undefined);
  return {
    serverName: target.name.host,
    ...planInput(target.plan),
    resolvers: settings.resolvers,
    timeoutMs: settings.timeoutMs,
    ...(settings.ca ? { ca: settings.ca } : {}),
    connectTo: settings.connectTo,
    ...(extra.homeserver ? { homeserver: extra.homeserver } : {}),
    ...(settings.auth ? { auth: settings.auth } : {}),
    turnUris: extra.turnUris ?? [],
    secrets: { ...planSecret(target.plan), ...(extra.explicitSecret ? { explicit: extra.explicitSecret } : {}) },
    ...(addresses.length ? { expected: { addresses, from: target.expected.from ?? '--expect-ip' } } : {}),
    ...(extra.roundTrip !== undefined ? { roundTrip: extra.roundTrip } : {}),
  };
}

/** Gathers and judges from a ready input; the part the benchmark times. */
export async function runTurnCheck(input: TurnGatherInput): Promise<{ facts: TurnFacts; findings: Finding[] }> {
  const facts = await gatherTurn(input);
  return { facts, findings: judgeTurn(facts) };
}

/** The turn area with the single-area command's extra inputs. */
export function turnAreaWith(extra: TurnExtras): Area<TurnFacts, Verdict> {
  return {
    id: 'turn',
    title: 'TURN and MatrixRTC',
    gather: (target, settings) => gatherTurn(turnGatherInput(target, settings, extra)),
    judge: (facts) => ({ findings: judgeTurn(facts) }),
  };
}

export const turnArea: Area<TurnFacts, Verdict> = turnAreaWith({});
