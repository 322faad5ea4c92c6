// The dns area: are the records the deployment needs right at the source (the zone's
// authoritative servers), and have they propagated to the resolvers? Also SRV, CAA and
// Cloudflare proxying. doctor runs it with what target and settings give; the single-area
// command (checks/dns.ts) adds the zone snippet of the missing records (--zone).
import { isIPv4, isIPv6 } from 'node:net';
import { emit } from '../core/catalogue.ts';
import { InputError } from '../core/errors.ts';
import { canonicalIp } from '../core/net.ts';
import type { DnsFacts, ExpectedAddresses } from '../facts/dns.ts';
import type { NamedServer } from '../core/net.ts';
import { DNS } from '../findings/dns.ts';
import { planFromServerName } from '../plan/plan.ts';
import type { Plan } from '../plan/types.ts';
import { gatherDns } from '../probes/dns-gather.ts';
import { dnsFollowUps, dnsQuestions, judgeDns, type DnsVerdict } from '../rules/dns.ts';
import type { Area, ServerTarget } from './area.ts';

export { renderZoneSnippet, type DnsVerdict, type MissingRecord } from '../rules/dns.ts';

/** Large public resolvers (checks/dns.ts --public). */
export const PUBLIC_RESOLVERS: readonly NamedServer[] = [
  { label: '1.1.1.1 (Cloudflare)', endpoint: { host: '1.1.1.1', port: 53 } },
  { label: '8.8.8.8 (Google)', endpoint: { host: '8.8.8.8', port: 53 } },
  { label: '9.9.9.9 (Quad9)', endpoint: { host: '9.9.9.9', port: 53 } },
  { label: '208.67.222.222 (OpenDNS)', endpoint: { host: '208.67.222.222', port: 53 } },
];

/** The records the target needs: its configuration's, else what MDAD's defaults give its name. */
function planOf(target: ServerTarget): Plan {
  return target.plan ?? planFromServerName(target.name.host);
}

export const dnsArea: Area<DnsFacts, DnsVerdict> = {
  id: 'dns',
  title: 'DNS',
  notApplicable: (target) =>
    target.name.isIpLiteral ? emit(DNS.nameIp, 'skip', { detail: 'The server name is an IP address: no DNS records to check' }) : undefined,
  gather: (target, settings) => {
    const plan = planOf(target);
    return gatherDns({
      name: plan.serverName,
      resolvers: settings.resolvers,
      authoritative: settings.authoritative,
      timeoutMs: settings.timeoutMs,
      questions: dnsQuestions(plan),
      followUp: (first) => dnsFollowUps(plan, first),
    });
  },
  judge: (facts, target) => judgeDns(planOf(target), facts, target.expected),
};

/** The target of a run from a configuration alone (the name is the plan's server name). */
export function planTarget(plan: Plan, expected: ExpectedAddresses): ServerTarget {
  return { name: { given: plan.serverName, host: plan.serverName, isIpLiteral: false }, plan, expected };
}

/** --expect-ip IPV4[,IPV6]: the server's public address(es). */
export function parseExpectIp(text: string): ExpectedAddresses {
  const expected: ExpectedAddresses = { from: '--expect-ip' };
  for (const part of text.split(',').map((p) => p.trim())) {
    if (isIPv4(part) && !expected.ipv4) expected.ipv4 = part;
    else if (isIPv6(part) && !expected.ipv6) expected.ipv6 = canonicalIp(part);
    else throw new InputError(`--expect-ip "${text}": give one IPv4 and/or one IPv6 address, comma-separated`);
  }
  return expected;
}

/** The inventory's ansible_host, when it is an address, is the server's address. */
export function inventoryAddress(plan: Plan): ExpectedAddresses {
  const address = plan.host?.address;
  if (address && isIPv4(address)) return { ipv4: address, from: `ansible_host of ${plan.host?.name}` };
  if (address && isIPv6(address)) return { ipv6: address, from: `ansible_host of ${plan.host?.name}` };
  return {};
}
