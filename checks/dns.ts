// DNS preflight: are the records the deployment needs right at the source, and have they
// propagated to the resolvers? Run it before the playbook, and again while waiting.
//   npx tsx checks/dns.ts example.org --vars inventory/host_vars/matrix.example.org/vars.yml --expect-ip 203.0.113.10 --public
import { isIPv4, isIPv6 } from 'node:net';
import type { ParseArgsConfig } from 'node:util';
import { HELP_WITHOUT_CONNECT_TO, OPTIONS_WITHOUT_CONNECT_TO, emitReport, isMain, namedResolvers, parseCheckCommand, parseResolvers, runCommand } from './core/cli.ts';
import { InputError } from './core/errors.ts';
import { canonicalIp } from './core/net.ts';
import { parseServerName } from './core/server-name.ts';
import type { Finding } from './core/finding.ts';
import { loadPlan } from './plan/load.ts';
import { planFromServerName } from './plan/plan.ts';
import type { Plan } from './plan/types.ts';
import { gatherDns } from './probes/dns-gather.ts';
import type { NamedServer } from './facts/dns.ts';
import { dnsFollowUps, dnsQuestions, judgeDns, renderZoneSnippet } from './rules/dns.ts';
import { type ExpectedAddresses } from './facts/dns.ts';

const HELP = `Usage: dns.ts <server-name> [options]

Checks the DNS records a matrix-docker-ansible-deploy server needs: at the zone's
authoritative servers (the source) and at resolvers (propagation), plus SRV, CAA and
Cloudflare proxying.

  --expect-ip IPV4[,IPV6]   the server's public address(es) the records must point at
  --authoritative IP[:PORT] ask this server as the source instead of the zone's NS (repeatable)
  --public                  also ask large public resolvers (Cloudflare, Google, Quad9, OpenDNS)
  --zone                    print the missing records as a BIND snippet and a registrar table
${HELP_WITHOUT_CONNECT_TO}

Example:
  npx tsx checks/dns.ts example.org --expect-ip 203.0.113.10,2001:db8::10 --public --zone`;

/** Large public resolvers for --public. */
export const PUBLIC_RESOLVERS: readonly NamedServer[] = [
  { label: '1.1.1.1 (Cloudflare)', endpoint: { host: '1.1.1.1', port: 53 } },
  { label: '8.8.8.8 (Google)', endpoint: { host: '8.8.8.8', port: 53 } },
  { label: '9.9.9.9 (Quad9)', endpoint: { host: '9.9.9.9', port: 53 } },
  { label: '208.67.222.222 (OpenDNS)', endpoint: { host: '208.67.222.222', port: 53 } },
];

const OPTIONS = {
  ...OPTIONS_WITHOUT_CONNECT_TO,
  'expect-ip': { type: 'string' },
  authoritative: { type: 'string', multiple: true, default: [] as string[] },
  public: { type: 'boolean', default: false },
  zone: { type: 'boolean', default: false },
} satisfies ParseArgsConfig['options'];

export interface DnsCheckInput {
  plan: Plan;
  expected: ExpectedAddresses;
  resolvers: NamedServer[];
  authoritative?: { host: string; port: number }[];
  timeoutMs: number;
}

/** Gathers and judges; the part the benchmark times. */
export async function runDnsCheck(input: DnsCheckInput) {
  const { plan } = input;
  const facts = await gatherDns({
    name: plan.serverName,
    resolvers: input.resolvers,
    authoritative: input.authoritative,
    timeoutMs: input.timeoutMs,
    questions: dnsQuestions(plan),
    followUp: (first) => dnsFollowUps(plan, first),
  });
  return judgeDns(plan, facts, input.expected);
}

export function parseExpectIp(text: string): ExpectedAddresses {
  const expected: ExpectedAddresses = { from: '--expect-ip' };
  for (const part of text.split(',').map((p) => p.trim())) {
    if (isIPv4(part) && !expected.ipv4) expected.ipv4 = part;
    else if (isIPv6(part) && !expected.ipv6) expected.ipv6 = canonicalIp(part);
    else throw new InputError(`--expect-ip "${text}": give one IPv4 and/or one IPv6 address, comma-separated`);
  }
  return expected;
}

async function main(): Promise<number> {
  const started = new Date();
  const command = parseCheckCommand(process.argv.slice(2), OPTIONS, HELP);
  if (!command) return 0;
  const { values, name, configured, timeoutMs } = command;
  const resolvers = namedResolvers(values.resolver, values.public ? PUBLIC_RESOLVERS : []);
  const authoritative = values.authoritative.length ? parseResolvers(values.authoritative) : undefined;
  const plan = configured ? await loadPlan({ vars: values.vars, playbook: values.playbook, serverName: name?.host }) : planFromServerName(name!.host);
  const expected = values['expect-ip'] ? parseExpectIp(values['expect-ip']) : inventoryAddress(plan);

  const verdict = await runDnsCheck({ plan, expected, resolvers, authoritative, timeoutMs });
  const findings: Finding[] = [...nameFindings(name), ...verdict.findings];
  const snippet = values.zone ? renderZoneSnippet(verdict.missing, plan.serverName) : undefined;
  return emitReport(
    {
      check: 'DNS preflight',
      serverName: plan.serverName,
      started,
      findings,
      extra: values.zone ? { missingRecords: verdict.missing, zoneSnippet: snippet } : undefined,
      appendix: snippet,
    },
    values.json,
  );
}

/** The inventory's ansible_host, when it is an address, is the server's address. */
export function inventoryAddress(plan: Plan): ExpectedAddresses {
  const address = plan.host?.address;
  if (address && isIPv4(address)) return { ipv4: address, from: `ansible_host of ${plan.host?.name}` };
  if (address && isIPv6(address)) return { ipv6: address, from: `ansible_host of ${plan.host?.name}` };
  return {};
}

function nameFindings(name: ReturnType<typeof parseServerName> | undefined): Finding[] {
  if (!name?.converted) return [];
  return [
    {
      id: 'dns.name.punycode',
      status: 'info',
      title: 'Internationalized name',
      detail: `${name.given} is written ${name.host} in DNS and in Matrix ids; the records below use that form`,
    },
  ];
}

if (isMain(import.meta.url)) runCommand('dns', main);
