// Gathers every DNS answer the DNS rules need, once: from the zone's authoritative servers
// (the source, asked without recursion) and from each resolver (asked with recursion).
// Everything runs concurrently under one deadline, so a silent server costs at most the timeout.
import { queryDns, queryFirst } from './dns-query.ts';
import { questionKey, type DnsFacts, type DnsRecord, type Question, type ZoneDiscovery } from '../facts/dns.ts';
import type { NamedServer } from '../core/net.ts';
import { formatEndpoint, type Endpoint } from '../core/net.ts';
import { deadline } from './resolve.ts';

export interface GatherOptions {
  /** The name whose zone is looked for. */
  name: string;
  resolvers: NamedServer[];
  /** Given authoritative servers: no discovery. */
  authoritative?: Endpoint[];
  timeoutMs: number;
  /** Asked at every authoritative server and every resolver. */
  questions: Question[];
  /** Questions that depend on the source's first answers (e.g. SRV targets). */
  followUp?: (facts: DnsFacts) => Question[];
}

export async function gatherDns(options: GatherOptions): Promise<DnsFacts> {
  const remaining = deadline(options.timeoutMs);
  const facts: DnsFacts = {
    zone: { method: 'failed', nameservers: [] },
    authoritative: [],
    resolvers: options.resolvers,
    source: {},
    resolved: {},
  };

  const ask = async (servers: NamedServer[], questions: Question[], into: DnsFacts['source'], recursive: boolean) => {
    const answers = await Promise.all(
      questions.flatMap((q) =>
        servers.map(async (server) => ({
          key: questionKey(q.name, q.type),
          label: server.label,
          outcome: await queryDns(server.endpoint, q.name, q.type, { recursive, timeoutMs: remaining() }),
        })),
      ),
    );
    // Kept in the servers' order, not in the order the answers came: the first server's answer is
    // the one the others are compared with (facts/dns-answers.ts atSource), whoever was quicker.
    for (const { key, label, outcome } of answers) (into[key] ??= {})[label] = outcome;
  };
  const askAll = (questions: Question[]) =>
    Promise.all([ask(facts.authoritative, questions, facts.source, false), ask(facts.resolvers, questions, facts.resolved, true)]);

  // The resolvers start on the questions while the zone's nameservers are being found.
  const resolverRound = ask(facts.resolvers, options.questions, facts.resolved, true);
  if (options.authoritative) {
    facts.authoritative = options.authoritative.map((endpoint) => ({ label: formatEndpoint(endpoint), endpoint }));
    facts.zone = {
      method: 'given',
      nameservers: facts.authoritative.map((s) => s.label),
      apex: await apexAt(options.name, facts.authoritative, remaining),
    };
  } else {
    const { zone, glue } = await discoverZone(options.name, options.resolvers, remaining);
    facts.zone = zone;
    facts.authoritative = await nameserverAddresses(zone.nameservers, glue, options.resolvers, remaining);
  }

  await ask(facts.authoritative, options.questions, facts.source, false);
  // Follow-ups depend on the source's answers only, so a slow resolver does not delay them.
  const followUps = options.followUp ? askAll(options.followUp(facts)) : undefined;
  await Promise.all([resolverRound, followUps]);
  return facts;
}

/** The apex is the owner of the SOA a server returns for the name, in the answer or the authority section. */
async function apexAt(name: string, servers: NamedServer[], remaining: () => number, recursive = false): Promise<string | undefined> {
  const reply = await queryFirst(servers, name, 'SOA', remaining, recursive);
  return [...(reply?.answers ?? []), ...(reply?.authorities ?? [])].find((r) => r.type === 'SOA')?.name;
}

async function discoverZone(
  name: string,
  resolvers: NamedServer[],
  remaining: () => number,
): Promise<{ zone: ZoneDiscovery; glue: DnsRecord[] }> {
  const failed = (error: string, apex?: string) => ({ zone: { method: 'failed' as const, apex, nameservers: [], error }, glue: [] });
  if (resolvers.length === 0) return failed('no resolver to ask');
  const apex = await apexAt(name, resolvers, remaining, true);
  if (!apex) return failed(`no resolver returned the SOA of ${name}'s zone`);
  const reply = await queryFirst(resolvers, apex, 'NS', remaining);
  const nameservers = (reply?.answers ?? [])
    .filter((r) => r.type === 'NS')
    .map((r) => r.value)
    .sort();
  if (nameservers.length === 0) return failed(`no resolver returned the NS records of ${apex}`, apex);
  return { zone: { method: 'discovered', apex, nameservers }, glue: reply?.additionals ?? [] };
}

/**
 * Addresses of the discovered nameservers: glue first, else a lookup through the resolvers.
 * IPv4 is preferred where a nameserver has it, since many vantage points have no IPv6 route.
 */
async function nameserverAddresses(
  nameservers: string[],
  glue: DnsRecord[],
  resolvers: NamedServer[],
  remaining: () => number,
): Promise<NamedServer[]> {
  const lookup = async (ns: string, type: 'A' | 'AAAA') => {
    const glued = glue.filter((r) => r.name === ns && r.type === type).map((r) => r.value);
    if (glued.length > 0) return glued;
    return ((await queryFirst(resolvers, ns, type, remaining))?.answers ?? []).filter((r) => r.type === type).map((r) => r.value);
  };
  const servers = await Promise.all(
    nameservers.map(async (ns) => {
      let addresses = await lookup(ns, 'A');
      if (addresses.length === 0) addresses = await lookup(ns, 'AAAA');
      return addresses.map((host) => ({ label: `${ns} (${host})`, endpoint: { host, port: 53 } }));
    }),
  );
  return servers.flat();
}
