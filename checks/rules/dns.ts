// DNS rules: pure functions from the plan and the gathered DNS facts to findings.
// Each record is judged at the source (the zone's authoritative servers) first; propagation
// (what resolvers still cache) is judged only for records that are right at the source.
import { emit, type FindingSpec } from '../core/catalogue.ts';
import type { Finding } from '../core/finding.ts';
import type { DnsRecordSpec, Plan } from '../plan/types.ts';
import { questionKey, type DnsFacts, type Question } from '../facts/dns.ts';
import { atResolvers, atSource, describe, firstResolved, humanDuration, interpret, sameAnswer, type Answer } from '../facts/dns-answers.ts';
import { isCloudflareProxy } from './cloudflare.ts';
import { formatEndpoint } from '../core/net.ts';
import type { ExpectedAddresses } from '../facts/dns.ts';
import { addressRange, SCOPE_TEXT, type AddressRange } from '../facts/turn-config.ts';
import { DNS } from '../findings/dns.ts';
import { isLanName, isTestName } from '../facts/public-names.ts';

export interface DnsVerdict {
  findings: Finding[];
  /** Records to add or correct, for the zone snippet. */
  missing: MissingRecord[];
}

export interface MissingRecord {
  name: string;
  type: string;
  value: string;
  ttl: number;
}

const SRV_FED = '_matrix-fed._tcp';
const SRV_LEGACY = '_matrix._tcp';
const SNIPPET_TTL = 3600;

// ---------------------------------------------------------------------------------------------
// Questions

/** Every question the rules need answered, derived from the plan alone. */
export function dnsQuestions(plan: Plan): Question[] {
  const questions: Question[] = [];
  const add = (name: string, type: string) => {
    if (!questions.some((q) => q.name === name && q.type === type)) questions.push({ name, type });
  };
  add(plan.serverName, 'SOA');
  for (const spec of plan.records) add(spec.name, askedType(spec));
  for (const name of certificateNames(plan)) {
    for (const ancestor of ancestors(name)) add(ancestor, 'CAA');
  }
  add(`${SRV_FED}.${plan.serverName}`, 'SRV');
  add(`${SRV_LEGACY}.${plan.serverName}`, 'SRV');
  add(`dimension.${plan.serverName}`, 'A');
  add(`_matrix-identity._tcp.${plan.serverName}`, 'SRV');
  return questions;
}

/** SRV targets: whether each resolves and is not an alias. */
export function dnsFollowUps(plan: Plan, facts: DnsFacts): Question[] {
  return srvTargets(plan, facts).flatMap((target) => [
    { name: target, type: 'A' },
    { name: target, type: 'AAAA' },
  ]);
}

// A CNAME is asked as A: the answer shows both the alias and where it ends.
function askedType(spec: DnsRecordSpec): string {
  return spec.type === 'CNAME' ? 'A' : spec.type;
}

/** Host names that get a certificate from Traefik, hence subject to CAA. */
function certificateNames(plan: Plan): string[] {
  return [...new Set(plan.records.filter((r) => ['A', 'AAAA', 'CNAME'].includes(r.type)).map((r) => r.name))];
}

/** name, its parent, … up to the top-level domain (RFC 8659 §3 climbs the tree). */
function ancestors(name: string): string[] {
  const labels = name.split('.');
  return labels.map((_, i) => labels.slice(i).join('.'));
}

function srvTargets(plan: Plan, facts: DnsFacts): string[] {
  const targets = [SRV_FED, SRV_LEGACY].flatMap((prefix) => {
    const answer = atSource(facts, `${prefix}.${plan.serverName}`, 'SRV').answer;
    return answer.values.map((value) => value.split(' ')[3]).filter(Boolean);
  });
  return [...new Set(targets)];
}

// ---------------------------------------------------------------------------------------------
// Judgement

export function judgeDns(plan: Plan, facts: DnsFacts, expected: ExpectedAddresses): DnsVerdict {
  const missing: MissingRecord[] = [];
  const reference = referenceAddresses(plan, facts, expected);
  const findings: Finding[] = [
    ...zoneFindings(facts, plan.serverName),
    addressFinding(plan, facts, reference),
    ...plan.records.flatMap((spec) => recordFindings(spec, plan, facts, reference, missing)),
    ...reachFindings(plan, facts, reference),
    ...consistencyFindings(plan, facts),
    ...srvFindings(plan, facts, missing),
    caaFinding(plan, facts),
    ...cloudflareFindings(plan, facts),
    ...obsoleteFindings(plan, facts),
    ...resolverFindings(facts),
  ];
  return { findings, missing };
}

interface Reference {
  ipv4: string[];
  ipv6: string[];
  from: string;
  /** True when the addresses were given, not read from the matrix host's own records. */
  given: boolean;
}

function referenceAddresses(plan: Plan, facts: DnsFacts, expected: ExpectedAddresses): Reference {
  if (expected.ipv4 || expected.ipv6) {
    return {
      ipv4: expected.ipv4 ? [expected.ipv4] : [],
      ipv6: expected.ipv6 ? [expected.ipv6] : [],
      from: expected.from ?? '--expect-ip',
      given: true,
    };
  }
  const v4 = atSource(facts, plan.matrixHost, 'A').answer;
  const v6 = atSource(facts, plan.matrixHost, 'AAAA').answer;
  return { ipv4: v4.values, ipv6: v6.values, from: `the A/AAAA records of ${plan.matrixHost} at the source`, given: false };
}

function addressFinding(plan: Plan, facts: DnsFacts, reference: Reference): Finding {
  const addresses = [...reference.ipv4, ...reference.ipv6];
  if (addresses.length === 0) {
    return emit(DNS.serverAddress, 'skip', {
      detail: `No expected address given and the source gave no address for ${plan.matrixHost} (${describe(atSource(facts, plan.matrixHost, 'A').answer)}), so records cannot be compared with the server`,
    });
  }
  return emit(DNS.serverAddress, 'info', {
    detail: `Records are judged against ${addresses.join(', ')} (from ${reference.from})${reference.given ? '' : '; give --expect-ip to check the matrix host itself'}`,
  });
}

function zoneFindings(facts: DnsFacts, serverName: string): Finding[] {
  const findings: Finding[] = [];
  const zone = facts.zone;
  if (zone.method === 'failed') {
    findings.push(
      emit(DNS.zoneNameservers, 'fail', {
        detail: `Could not find the nameservers of ${serverName}'s zone: ${zone.error}`,
        fix: `Make sure the domain is registered and delegated to your DNS provider's nameservers (the NS records at the registrar); check with: dig NS ${zone.apex ?? serverName}`,
      }),
    );
    return findings;
  }
  findings.push(
    emit(DNS.zoneNameservers, zone.method === 'given' ? 'info' : 'pass', {
      detail:
        zone.method === 'given'
          ? `Asked the given authoritative server ${zone.nameservers.join(', ')}${zone.apex ? ` (zone ${zone.apex})` : ''}`
          : `Zone ${zone.apex}, nameservers ${zone.nameservers.join(', ')}`,
    }),
  );
  const addressed = new Set(facts.authoritative.map((s) => s.label.split(' ')[0]));
  for (const ns of zone.nameservers.filter((n) => zone.method === 'discovered' && !addressed.has(n))) {
    findings.push(
      emit(
        DNS.nameserver,
        'fail',
        {
          detail: `${ns} is listed in the NS records but has no address`,
          fix: `Correct the NS records of ${zone.apex} at the registrar, or add the A record of ${ns}`,
        },
        { server: ns, label: ns },
      ),
    );
  }
  for (const server of facts.authoritative) {
    const outcomes = Object.values(facts.source)
      .map((byServer) => byServer[server.label])
      .filter(Boolean);
    const replies = outcomes.filter((o) => o.ok);
    const failure = outcomes.find((o) => !o.ok);
    const subject = { server: server.label.split(' ')[0], label: server.label };
    if (replies.length === 0) {
      findings.push(
        emit(
          DNS.nameserver,
          'fail',
          {
            detail: `Did not answer: ${failure && !failure.ok ? `${failure.error} (${failure.message})` : 'no reply'}`,
            fix: `Check that ${server.label} is up and reachable on port 53 over UDP and TCP; if it is not your provider's nameserver any more, fix the NS records at the registrar`,
            evidence: { server: server.label },
          },
          subject,
        ),
      );
    } else if (replies.some((o) => o.ok && !o.authoritative && o.rcode !== 'REFUSED')) {
      findings.push(
        emit(
          DNS.nameserver,
          'fail',
          {
            detail:
              'Answers without the AA flag: it is not authoritative for the zone (lame delegation), so what it says is not the source',
            fix: `Point the NS records at the registrar to the nameservers that really host the zone of ${zone.apex ?? serverName}`,
            evidence: { server: server.label },
          },
          subject,
        ),
      );
    } else {
      findings.push(emit(DNS.nameserver, 'pass', { detail: 'Answers authoritatively' }, subject));
    }
  }
  return findings;
}

function recordFindings(spec: DnsRecordSpec, plan: Plan, facts: DnsFacts, reference: Reference, missing: MissingRecord[]): Finding[] {
  const subject = recordSubject(spec, plan.serverName);
  const source = atSource(facts, spec.name, askedType(spec));
  const answer = source.answer;
  const wanted = wantedValue(spec, reference);
  const line = zoneLine(spec.name, spec.type, wanted);
  const evidence = { record: spec.name, type: spec.type, service: spec.service, source: describe(answer) };
  if (answer.state === 'error') {
    return [emit(DNS.record, 'skip', { detail: `No authoritative answer to judge (${answer.error})`, evidence }, subject)];
  }
  const verdict = judgeValue(spec, answer, reference);
  if (verdict.status === 'missing') {
    const fix =
      spec.value === undefined && spec.type !== 'A' && spec.type !== 'AAAA'
        ? `Add a ${spec.type} record at ${spec.name}: ${spec.note ?? 'see the service documentation'}`
        : `Add at your DNS provider: ${line}`;
    if (!spec.required) {
      const knownV6 = spec.type === 'AAAA' && reference.ipv6.length > 0 && reference.given;
      if (knownV6) missing.push({ name: spec.name, type: spec.type, value: wanted, ttl: SNIPPET_TTL });
      const consequence = spec.type === 'AAAA' ? 'the name is reachable over IPv4 only' : 'optional';
      return [
        emit(
          DNS.record,
          knownV6 ? 'warn' : 'info',
          {
            detail: `No ${spec.type} record${spec.note ? ` (${spec.note})` : ''}: ${consequence}`,
            fix: knownV6 || spec.type !== 'AAAA' ? fix : undefined,
            evidence,
          },
          subject,
        ),
      ];
    }
    if (spec.value !== undefined || spec.type === 'A' || spec.type === 'AAAA')
      missing.push({ name: spec.name, type: spec.type, value: wanted, ttl: SNIPPET_TTL });
    return [
      emit(
        DNS.record,
        'fail',
        {
          detail: `Missing at the source (${describe(answer)}); needed by ${spec.service}${spec.note ? ` (${spec.note})` : ''}`,
          fix,
          evidence,
        },
        subject,
      ),
    ];
  }
  if (verdict.status === 'wrong') {
    missing.push({ name: spec.name, type: spec.type, value: wanted, ttl: SNIPPET_TTL });
    return [
      emit(DNS.record, 'fail', { detail: verdict.detail, fix: `Change the record at your DNS provider to: ${line}`, evidence }, subject),
    ];
  }
  if (verdict.status === 'unverified') return [emit(DNS.record, 'info', { detail: verdict.detail, evidence }, subject)];
  return [emit(DNS.record, 'pass', { detail: verdict.detail, evidence }, subject), propagationFinding(spec, plan, facts, answer)];
}

type ValueVerdict = { status: 'ok' | 'wrong' | 'unverified'; detail: string } | { status: 'missing' };

function judgeValue(spec: DnsRecordSpec, answer: Answer, reference: Reference): ValueVerdict {
  if (answer.state !== 'positive') return { status: 'missing' };
  const shown = describe(answer);
  if (spec.type === 'A' || spec.type === 'AAAA') {
    const expected = spec.type === 'A' ? reference.ipv4 : reference.ipv6;
    if (answer.values.length === 0) return { status: 'missing' };
    if (expected.length === 0) {
      return {
        status: 'unverified',
        detail: `Points at ${shown}; not verified: no expected ${spec.type === 'A' ? 'IPv4' : 'IPv6'} address (give --expect-ip)`,
      };
    }
    const stray = answer.values.filter((v) => !expected.includes(v));
    if (stray.length > 0) {
      return {
        status: 'wrong',
        detail: `Points at ${shown}, not at the server (${expected.join(', ')}): ${stray.join(', ')} is another machine, so clients and ACME may reach it`,
      };
    }
    return { status: 'ok', detail: `Points at ${shown}` };
  }
  if (spec.type === 'CNAME') {
    if (answer.chain[0] === spec.value) return { status: 'ok', detail: `CNAME to ${spec.value}` };
    if (answer.chain.length === 0) {
      const stray = answer.values.filter((v) => !reference.ipv4.includes(v));
      if (answer.values.length > 0 && stray.length === 0 && reference.ipv4.length > 0) {
        return {
          status: 'ok',
          detail: `An A record (${answer.values.join(', ')}) instead of the CNAME to ${spec.value}: it works, but must be changed by hand if the server's address changes`,
        };
      }
      return { status: 'wrong', detail: `Is ${shown}, not a CNAME to ${spec.value}` };
    }
    return { status: 'wrong', detail: `CNAME to ${answer.chain[0]}, not to ${spec.value}` };
  }
  // A record whose content depends on the server (SPF, DKIM) is only described.
  if (spec.value === undefined)
    return { status: 'unverified', detail: `Has ${shown}; content not checked${spec.note ? ` (${spec.note})` : ''}` };
  if (answer.values.includes(spec.value)) return { status: 'ok', detail: `Has ${spec.value}` };
  return { status: 'wrong', detail: `Is ${shown}, expected ${spec.value}` };
}

function propagationFinding(spec: DnsRecordSpec, plan: Plan, facts: DnsFacts, source: Answer): Finding {
  const subject = recordSubject(spec, plan.serverName);
  const answers = atResolvers(facts, spec.name, askedType(spec)).filter((r) => r.answer.state !== 'error');
  if (answers.length === 0) {
    return emit(DNS.propagation, 'skip', { detail: facts.resolvers.length ? 'No resolver answered' : 'No resolver to ask' }, subject);
  }
  const stale = answers.filter((r) => !sameAnswer(r.answer, source));
  if (stale.length === 0)
    return emit(
      DNS.propagation,
      'pass',
      { detail: `Same answer at ${answers.length} resolver(s): ${answers.map((r) => r.label).join(', ')}` },
      subject,
    );
  const negativeFallback = atSource(facts, spec.name, askedType(spec)).answer.negativeTtl ?? soaMinimum(facts, plan.serverName);
  const lines = stale.map(({ label, answer }) => {
    const expiry = answer.state === 'positive' ? answer.ttl : (answer.negativeTtl ?? negativeFallback);
    return `${label} still serves ${describe(answer)}${expiry !== undefined ? `, which expires within ${humanDuration(expiry)}` : ''}`;
  });
  const longest = Math.max(
    ...stale.map(({ answer }) => (answer.state === 'positive' ? answer.ttl : (answer.negativeTtl ?? negativeFallback)) ?? 0),
  );
  return emit(
    DNS.propagation,
    'warn',
    {
      detail: `Right at the source, not yet everywhere: ${lines.join('; ')}`,
      fix: `Nothing to change in the zone: wait ${humanDuration(longest)} for the cached answers to expire (or flush the caches you control) before running the playbook`,
      evidence: { stale: stale.map((s) => s.label), source: describe(source) },
    },
    subject,
  );
}

function soaMinimum(facts: DnsFacts, serverName: string): number | undefined {
  return interpret(Object.values(facts.source[questionKey(serverName, 'SOA')] ?? {})[0], serverName, 'SOA').negativeTtl;
}

function consistencyFindings(plan: Plan, facts: DnsFacts): Finding[] {
  if (facts.authoritative.length < 2) return [];
  const disagreements = Object.keys(facts.source)
    .map((key) => {
      const [name, type] = key.split(' ');
      return { key, view: atSource(facts, name, type) };
    })
    .filter(({ view }) => view.disagreeing.length > 0);
  if (disagreements.length === 0) {
    return [emit(DNS.zoneConsistency, 'pass', { detail: `All ${facts.authoritative.length} nameservers give the same answers` })];
  }
  return [
    emit(DNS.zoneConsistency, 'warn', {
      detail: `Nameservers disagree on ${disagreements.map((d) => d.key).join(', ')} (${[...new Set(disagreements.flatMap((d) => d.view.disagreeing))].join(', ')} differ): a secondary has not caught up with the primary`,
      fix: `Wait for the zone transfer, or check NOTIFY/AXFR between the nameservers of ${facts.zone.apex ?? plan.serverName}; resolvers pick a nameserver at random, so answers will flip until they agree`,
    }),
  ];
}

// ---------------------------------------------------------------------------------------------
// Who can reach the names

/** Who still reaches an address of each range that is not public. */
const REACHED_BY: Record<Exclude<AddressRange, 'public'>, string> = {
  private: 'only machines on the same LAN (or VPN) reach it',
  cgnat: "only machines inside the same carrier's NAT or overlay network (Tailscale's range) reach it",
  loopback: 'every machine that looks the name up connects to itself, so only the server itself reaches it',
  'link-local': 'only machines on the same network segment reach it',
  unspecified: 'it is no destination: nobody reaches it',
  reserved: 'the range is not routed: nobody reaches it',
  documentation: 'the range is never routed: nobody reaches it',
};

/**
 * One finding per public name of the deployment: the addresses it resolves to at the source, and
 * who can reach them. Judged whatever the plan expects: a record that says what the configuration
 * says (dns.record.*) still fails here when that address is the LAN's.
 */
function reachFindings(plan: Plan, facts: DnsFacts, reference: Reference): Finding[] {
  return certificateNames(plan)
    .filter((name) => !isTestName(name))
    .flatMap((name) => {
      const answers = (['A', 'AAAA'] as const).map((type) => ({ type, answer: atSource(facts, name, type).answer }));
      const addresses = answers.flatMap(({ type, answer }) =>
        answer.values.map((address) => ({ type, address, range: addressRange(address) })),
      );
      if (addresses.length === 0) return [];
      const subject = { record: recordPart(name, plan.serverName), name };
      const evidence = { record: name, addresses: addresses.map((a) => a.address) };
      const unreachable = addresses.flatMap((a) => (a.range === 'public' ? [] : [{ ...a, range: a.range }]));
      if (unreachable.length === 0) {
        return [emit(DNS.reach, 'pass', { detail: `Public addresses only (${evidence.addresses.join(', ')})`, evidence }, subject)];
      }
      const shown = unreachable.map((a) => `${a.address} (${SCOPE_TEXT[a.range]})`).join(', ');
      // A LAN-only name (facts/public-names.ts): its LAN addresses are noted, not failed.
      if (isLanName(name)) {
        return [
          emit(
            DNS.reach,
            'info',
            {
              detail: `${name} is a LAN-only name and resolves to ${shown}: the LAN reaches it, as such a name intends; nobody elsewhere can even resolve it`,
              evidence,
            },
            subject,
          ),
        ];
      }
      const reached = [...new Set(unreachable.map((a) => REACHED_BY[a.range]))].join('; ');
      const reachable = addresses.filter((a) => a.range === 'public').map((a) => a.address);
      // An alias is fixed where its chain ends.
      const owner = answers.find(({ answer }) => answer.chain.length > 0)?.answer.chain.at(-1) ?? name;
      const resolves = owner === name ? 'Resolves' : `An alias of ${owner}, which resolves`;
      return [
        emit(
          DNS.reach,
          'fail',
          {
            detail: `${resolves} to ${shown}: ${reached}. Other homeservers, clients outside and Let's Encrypt cannot, so federation, logins from elsewhere and the certificate fail${reachable.length ? `; ${reachable.join(', ')} beside it only helps those that happen to pick it` : ''}`,
            fix: `${reachFix(owner, addresses, reference)}. If a local DNS (the router, Pi-hole) serves the LAN address on purpose (split horizon), keep it there: the public zone at your DNS provider must carry the public address`,
            evidence: { ...evidence, unreachable: unreachable.map((a) => a.address) },
          },
          subject,
        ),
      ];
    });
}

/** What to write at the DNS provider: one change per family, to the public address where it is known. */
function reachFix(owner: string, addresses: { type: 'A' | 'AAAA'; address: string; range: AddressRange }[], reference: Reference): string {
  const changes = (['A', 'AAAA'] as const).flatMap((type) => {
    const family = addresses.filter((a) => a.type === type);
    const wrong = family.filter((a) => a.range !== 'public').map((a) => a.address);
    const kept = family.filter((a) => a.range === 'public').map((a) => a.address);
    if (wrong.length === 0) return [];
    if (kept.length > 0) return [`delete ${owner}'s ${type} record ${wrong.join(', ')} (${kept.join(', ')} stays)`];
    const given = reference.given ? (type === 'A' ? reference.ipv4 : reference.ipv6) : [];
    const known = given.find((a) => addressRange(a) === 'public');
    if (known) return [`change the record to: ${zoneLine(owner, type, known)}`];
    const wrongGiven = given.find((a) => addressRange(a) !== 'public');
    const note = wrongGiven ? ` (${reference.from} gives ${wrongGiven}, ${SCOPE_TEXT[addressRange(wrongGiven)]}: not that one)` : '';
    return type === 'A'
      ? [
          `change the A record of ${owner} to your server's public IPv4 address (behind a home router: the router's, forwarding ports 80, 443 and 8448)${note}`,
        ]
      : [`change the AAAA record of ${owner} to your server's public IPv6 address, or delete it if the server has none${note}`];
  });
  return `At your DNS provider, ${changes.join('; ')}`;
}

function srvFindings(plan: Plan, facts: DnsFacts, missing: MissingRecord[]): Finding[] {
  const findings: Finding[] = [];
  const fedName = `${SRV_FED}.${plan.serverName}`;
  const legacyName = `${SRV_LEGACY}.${plan.serverName}`;
  const fed = atSource(facts, fedName, 'SRV').answer;
  const legacy = atSource(facts, legacyName, 'SRV').answer;
  const srvDelegation = plan.records.some((r) => r.type === 'SRV' && r.name === fedName);
  if (fed.state === 'error') {
    findings.push(emit(DNS.srvFederation, 'skip', { detail: `No authoritative answer (${fed.error})` }, { name: fedName }));
  } else if (fed.state === 'positive' && fed.values.length > 0) {
    findings.push(srvTargetFinding(DNS.srvFederation, fedName, fed, plan, facts));
  } else if (!srvDelegation) {
    findings.push(
      emit(
        DNS.srvFederation,
        'info',
        { detail: 'None: federation is delegated by /.well-known/matrix/server (the MDAD default), so no SRV record is needed' },
        { name: fedName },
      ),
    );
  }
  if (legacy.state === 'positive' && legacy.values.length > 0) {
    const legacyFinding = srvTargetFinding(DNS.srvLegacy, legacyName, legacy, plan, facts);
    if (legacyFinding.status === 'pass' && fed.state !== 'positive') {
      findings.push(
        emit(
          DNS.srvLegacy,
          'warn',
          {
            detail: `${legacyFinding.detail}; _matrix._tcp is deprecated since Matrix v1.8 and is only used when _matrix-fed._tcp is missing`,
            fix: `Add the same record under the current name: ${fedName}. ${SNIPPET_TTL} IN SRV ${legacy.values[0]}.`,
            evidence: legacyFinding.evidence,
          },
          { name: legacyName },
        ),
      );
    } else {
      findings.push(legacyFinding);
    }
    if (fed.state === 'positive' && fed.values.join() !== legacy.values.join()) {
      findings.push(
        emit(DNS.srvAgreement, 'warn', {
          detail: `_matrix-fed._tcp says ${fed.values.join(', ')} but _matrix._tcp says ${legacy.values.join(', ')}; servers that still use the old name go elsewhere`,
          fix: `Delete ${legacyName} (deprecated), or make it equal to ${fedName}`,
        }),
      );
    }
  }
  if (srvDelegation && !(fed.state === 'positive' && fed.values.length > 0)) {
    const spec = plan.records.find((r) => r.type === 'SRV' && r.name === fedName);
    if (spec?.value && fed.state !== 'error') {
      missing.push({ name: fedName, type: 'SRV', value: spec.value, ttl: SNIPPET_TTL });
      findings.push(
        emit(
          DNS.srvFederation,
          'fail',
          {
            detail:
              'The configuration disables /.well-known/matrix/server (SRV delegation) but there is no SRV record: other servers cannot find this one',
            fix: `Add at your DNS provider: ${zoneLine(fedName, 'SRV', spec.value)}`,
          },
          { name: fedName },
        ),
      );
    }
  }
  return findings;
}

function srvTargetFinding(kind: FindingSpec, name: string, answer: Answer, plan: Plan, facts: DnsFacts): Finding {
  const problems: string[] = [];
  const targets = answer.values.map((value) => {
    const [, , port, target] = value.split(' ');
    const resolved = targetAnswer(plan, facts, target, 'A');
    const resolved6 = targetAnswer(plan, facts, target, 'AAAA');
    if (resolved?.chain.length || resolved6?.chain.length) {
      problems.push(`target ${target} is a CNAME, which SRV forbids (RFC 2782); servers will refuse it`);
    } else if (resolved && resolved6 && resolved.values.length + resolved6.values.length === 0 && resolved.state !== 'error') {
      problems.push(`target ${target} has no A or AAAA record`);
    }
    const addresses = [...(resolved?.values ?? []), ...(resolved6?.values ?? [])];
    return `${target} port ${port}${addresses.length ? ` (${addresses.join(', ')})` : ''}`;
  });
  if (problems.length > 0) {
    return emit(
      kind,
      'fail',
      {
        detail: `${targets.join('; ')}: ${problems.join('; ')}`,
        fix: `Point the SRV record at a host name that has its own A/AAAA records (not an alias), e.g. ${plan.matrixHost}`,
        evidence: { values: answer.values },
      },
      { name },
    );
  }
  return emit(kind, 'pass', { detail: `Points at ${targets.join('; ')}`, evidence: { values: answer.values } }, { name });
}

/** A target inside the zone is judged at the source, one outside it by resolution. */
function targetAnswer(plan: Plan, facts: DnsFacts, target: string, type: string): Answer | undefined {
  const apex = facts.zone.apex ?? plan.serverName;
  if (target === apex || target.endsWith(`.${apex}`)) {
    const view = atSource(facts, target, type).answer;
    if (view.state !== 'error') return view;
  }
  return firstResolved(facts, target, type);
}

function caaFinding(plan: Plan, facts: DnsFacts): Finding {
  const blocked: string[] = [];
  const allowedBy = new Set<string>();
  let unknown = false;
  for (const name of certificateNames(plan)) {
    const relevant = relevantCaa(plan, facts, name);
    if (relevant === undefined) {
      unknown = true;
      continue;
    }
    if (relevant === null) continue;
    const issue = relevant.records.filter((r) => / issue "/.test(r));
    if (issue.length === 0) continue;
    const permits = issue.some((r) => /"\s*letsencrypt\.org\s*(;|")/i.test(r));
    if (permits) allowedBy.add(relevant.owner);
    else blocked.push(`${name} (CAA at ${relevant.owner}: ${issue.join(', ')})`);
  }
  if (blocked.length > 0) {
    return emit(DNS.caa, 'fail', {
      detail: `CAA records forbid Let's Encrypt for ${blocked.join('; ')}: the playbook's Traefik will get no certificate`,
      fix: `Add at your DNS provider: ${[...new Set(blocked.map((b) => /CAA at (\S+):/.exec(b)?.[1]))].map((owner) => `${owner}. ${SNIPPET_TTL} IN CAA 0 issue "letsencrypt.org"`).join('; ')}`,
    });
  }
  if (unknown) {
    return emit(DNS.caa, 'skip', { detail: 'Some CAA lookups got no answer, so the CAA policy could not be judged' });
  }
  return emit(DNS.caa, 'pass', {
    detail: allowedBy.size ? `CAA at ${[...allowedBy].join(', ')} allows letsencrypt.org` : 'No CAA record restricts certificate issuance',
  });
}

/**
 * The relevant CAA set of RFC 8659 §3: the first non-empty set climbing from the name.
 * null: none anywhere; undefined: some lookup on the way failed.
 */
function relevantCaa(plan: Plan, facts: DnsFacts, name: string): { owner: string; records: string[] } | null | undefined {
  for (const owner of ancestors(name)) {
    const answer = targetAnswer(plan, facts, owner, 'CAA');
    if (!answer || answer.state === 'error') return undefined;
    if (answer.state === 'positive' && answer.values.length > 0) return { owner, records: answer.values };
  }
  return null;
}

function cloudflareFindings(plan: Plan, facts: DnsFacts): Finding[] {
  const names = certificateNames(plan);
  const proxied = names.flatMap((name) =>
    ['A', 'AAAA'].flatMap((type) =>
      atSource(facts, name, type)
        .answer.values.filter(isCloudflareProxy)
        .map((address) => ({ name, address })),
    ),
  );
  return [...new Set(proxied.map((p) => p.name))].map((name) =>
    emit(
      DNS.cloudflare,
      'warn',
      {
        detail: `${name} resolves to Cloudflare proxy addresses (${proxied
          .filter((p) => p.name === name)
          .map((p) => p.address)
          .join(', ')}): federation on port 8448 and Let's Encrypt's HTTP-01 challenge do not pass the proxy`,
        fix: `In Cloudflare's DNS panel set ${name} to "DNS only" (grey cloud), as MDAD's DNS guide asks`,
      },
      { record: recordPart(name, plan.serverName), name },
    ),
  );
}

function obsoleteFindings(plan: Plan, facts: DnsFacts): Finding[] {
  const findings: Finding[] = [];
  const dimension = `dimension.${plan.serverName}`;
  if (atSource(facts, dimension, 'A').answer.state === 'positive') {
    findings.push(
      emit(
        DNS.obsoleteDimension,
        'info',
        {
          detail:
            'Left over from older guides: the Dimension integration manager was removed from the playbook (2026-02), so nothing serves this name',
          fix: `Delete the record ${dimension} at your DNS provider`,
        },
        { name: dimension },
      ),
    );
  }
  const identity = `_matrix-identity._tcp.${plan.serverName}`;
  if (atSource(facts, identity, 'SRV').answer.state === 'positive') {
    findings.push(
      emit(
        DNS.obsoleteIdentity,
        'info',
        {
          detail: 'Left over from older guides: the ma1sd identity server was removed from the playbook (2026-02)',
          fix: `Delete the SRV record ${identity} at your DNS provider`,
        },
        { name: identity },
      ),
    );
  }
  return findings;
}

function resolverFindings(facts: DnsFacts): Finding[] {
  return facts.resolvers.map(({ label, endpoint }) => {
    const outcomes = Object.values(facts.resolved)
      .map((byResolver) => byResolver[label])
      .filter(Boolean);
    const answered = outcomes.filter((o) => o.ok).length;
    const failure = outcomes.find((o) => !o.ok);
    const subject = { resolver: formatEndpoint(endpoint), label };
    if (answered === 0) {
      return emit(
        DNS.resolver,
        'warn',
        {
          detail: `Did not answer: ${failure && !failure.ok ? `${failure.error} (${failure.message})` : 'no reply'}; propagation was judged without it`,
          fix: `Check that ${label} is a resolver you can reach (UDP/TCP port ${label.split(':').pop()}), or leave it out`,
        },
        subject,
      );
    }
    return emit(DNS.resolver, 'pass', { detail: `Answered ${answered} of ${outcomes.length} questions` }, subject);
  });
}

// ---------------------------------------------------------------------------------------------
// Naming and the zone snippet

function wantedValue(spec: DnsRecordSpec, reference: Reference): string {
  if (spec.value !== undefined) return spec.value;
  const known = spec.type === 'A' ? reference.ipv4[0] : reference.ipv6[0];
  return known ?? (spec.type === 'A' ? 'SERVER_IPV4' : 'SERVER_IPV6');
}

function zoneLine(name: string, type: string, value: string): string {
  const target = ['CNAME', 'MX', 'SRV'].includes(type) ? `${value}.` : type === 'TXT' ? `"${value}"` : value;
  return `${name}. ${SNIPPET_TTL} IN ${type} ${target}`;
}

/** The record's label relative to the base domain: "@" for the base domain itself. */
export function recordLabel(name: string, serverName: string): string {
  if (name === serverName) return '@';
  return name.endsWith(`.${serverName}`) ? name.slice(0, -serverName.length - 1) : name;
}

/** The id part of a record's name: its label, "base" for the base domain (emit makes it an id part). */
function recordPart(name: string, serverName: string): string {
  const label = recordLabel(name, serverName);
  return label === '@' ? 'base' : label;
}

/** What fills a record's finding: `dns.record.matrix.a`, titled "matrix.example.org A". */
function recordSubject(spec: DnsRecordSpec, serverName: string): { record: string; type: string; name: string } {
  return { record: recordPart(spec.name, serverName), type: spec.type, name: spec.name };
}

/** The missing records as a BIND zone snippet and as a registrar-panel table. */
export function renderZoneSnippet(missing: MissingRecord[], serverName: string): string {
  if (missing.length === 0) return 'No records to add.\n';
  const bind = missing.map((m) => zoneLine(m.name, m.type, m.value));
  const rows = missing.map((m) => [m.type, recordLabel(m.name, serverName), m.type === 'TXT' ? `"${m.value}"` : m.value, String(m.ttl)]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(['type', 'host', 'value', 'TTL'][i].length, ...rows.map((r) => r[i].length)));
  const format = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [
    `Records to add or correct (BIND zone file, origin ${serverName}.):`,
    ...bind,
    '',
    'The same for a registrar panel (host relative to the domain):',
    format(['type', 'host', 'value', 'TTL']),
    ...rows.map(format),
    '',
  ].join('\n');
}
