// The rtc area: the MatrixRTC path of a call end to end (discovery, OpenID token, LiveKit JWT
// service, LiveKit signalling, media over UDP and TCP, clean-up). doctor runs it with what
// target and settings give (a user's token only when one is given); the single-area command
// (checks/rtc.ts) adds --homeserver through rtcAreaWith.
import { RTC_STEPS, type RtcFacts } from '../facts/rtc.ts';
import { turnPlan } from '../facts/turn-config.ts';
import { urlAt } from '../facts/wellknown.ts';
import { gatherRtc, type RtcGatherInput } from '../probes/rtc-gather.ts';
import { judgeRtc } from '../rules/rtc.ts';
import type { Area, RunSettings, ServerTarget, Verdict } from './area.ts';

export interface RtcExtras {
  /** --homeserver: the client API base URL instead of the client well-known's. */
  homeserver?: string;
}

/** The area's bound: every step at most --timeout. */
export function rtcBudgetMs(timeoutMs: number): number {
  return timeoutMs * RTC_STEPS;
}

export function rtcGatherInput(target: ServerTarget, settings: RunSettings, extra: RtcExtras = {}): RtcGatherInput {
  const plan = target.plan;
  const planBaseUrl = plan ? urlAt(plan.wellKnown.client, 'm.homeserver') : undefined;
  return {
    serverName: target.name.host,
    ...(plan ? { plan: turnPlan(plan) } : {}),
    ...(planBaseUrl ? { planBaseUrl } : {}),
    ...(extra.homeserver ? { homeserver: extra.homeserver } : {}),
    resolvers: settings.resolvers,
    timeoutMs: settings.timeoutMs,
    ...(settings.ca ? { ca: settings.ca } : {}),
    ...(settings.connectTo ? { connectTo: settings.connectTo } : {}),
    ...(settings.auth ? { auth: settings.auth } : {}),
  };
}

export function rtcAreaWith(extra: RtcExtras): Area<RtcFacts, Verdict> {
  return {
    id: 'rtc',
    title: 'MatrixRTC (Element Call) end to end',
    // Up to --timeout for each of its steps (login, OpenID, JWT, signalling, ICE over UDP and TCP, …).
    budgetMs: (settings) => rtcBudgetMs(settings.timeoutMs),
    gather: (target, settings) => gatherRtc(rtcGatherInput(target, settings, extra)),
    judge: (facts) => ({ findings: judgeRtc(facts) }),
  };
}

export const rtcArea: Area<RtcFacts, Verdict> = rtcAreaWith({});
