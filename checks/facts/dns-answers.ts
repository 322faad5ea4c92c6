// Reading DNS outcomes: what a server said about one question, with CNAME chains followed.
import type { DnsOutcome } from './dns.ts';
import { questionKey, type DnsFacts } from './dns.ts';

export interface Answer {
  state: 'positive' | 'nxdomain' | 'nodata' | 'error';
  /** CNAME targets followed from the name, in order. */
  chain: string[];
  /** Values of the asked type at the end of the chain. */
  values: string[];
  /** TTL of the answer (remaining TTL at a resolver). */
  ttl?: number;
  /** Negative-caching TTL from the SOA of a negative answer (RFC 2308). */
  negativeTtl?: number;
  authoritative: boolean;
  error?: string;
}

export function interpret(outcome: DnsOutcome | undefined, name: string, type: string): Answer {
  if (!outcome) return { state: 'error', chain: [], values: [], authoritative: false, error: 'not asked' };
  if (!outcome.ok) return { state: 'error', chain: [], values: [], authoritative: false, error: `${outcome.error}: ${outcome.message}` };
  const soa = outcome.authorities.find((r) => r.type === 'SOA');
  const negativeTtl = soa ? Math.min(soa.ttl, soa.soaMinimum ?? soa.ttl) : undefined;
  const base = { authoritative: outcome.authoritative, chain: [] as string[], values: [] as string[] };
  if (outcome.rcode === 'NXDOMAIN') return { ...base, state: 'nxdomain', negativeTtl };
  if (outcome.rcode !== 'NOERROR') return { ...base, state: 'error', error: `answered ${outcome.rcode}` };
  let current = name;
  const chain: string[] = [];
  for (let hop = 0; hop < 10; hop++) {
    const alias = type === 'CNAME' ? undefined : outcome.answers.find((r) => r.type === 'CNAME' && r.name === current);
    if (!alias) break;
    chain.push(alias.value);
    current = alias.value;
  }
  const records = outcome.answers.filter((r) => r.type === type && r.name === current);
  const ttls = outcome.answers.filter((r) => r.name === name || chain.includes(r.name)).map((r) => r.ttl);
  if (records.length === 0 && chain.length === 0) return { ...base, state: 'nodata', negativeTtl };
  return {
    ...base,
    state: 'positive',
    chain,
    values: records.map((r) => r.value).sort(),
    ttl: ttls.length ? Math.min(...ttls) : undefined,
  };
}

export interface SourceView {
  /** The answer the source gives (from the first nameserver that answered). */
  answer: Answer;
  /** Nameservers whose answer differs from the first one. */
  disagreeing: string[];
  /** Nameservers that did not answer. */
  silent: string[];
}

export function sameAnswer(a: Answer, b: Answer): boolean {
  const positiveA = a.state === 'positive';
  const positiveB = b.state === 'positive';
  if (positiveA !== positiveB) return false;
  return !positiveA || (a.chain.join(' ') === b.chain.join(' ') && a.values.join(' ') === b.values.join(' '));
}

export function atSource(facts: DnsFacts, name: string, type: string): SourceView {
  const outcomes = facts.source[questionKey(name, type)] ?? {};
  const answers = Object.entries(outcomes).map(([label, outcome]) => ({ label, answer: interpret(outcome, name, type) }));
  const answering = answers.filter((a) => a.answer.state !== 'error');
  const silent = answers.filter((a) => a.answer.state === 'error').map((a) => a.label);
  if (answering.length === 0) {
    const error = answers[0]?.answer.error ?? 'no authoritative server to ask';
    return { answer: { state: 'error', chain: [], values: [], authoritative: false, error }, disagreeing: [], silent };
  }
  const first = answering[0].answer;
  return { answer: first, disagreeing: answering.filter((a) => !sameAnswer(a.answer, first)).map((a) => a.label), silent };
}

export function atResolvers(facts: DnsFacts, name: string, type: string): { label: string; answer: Answer }[] {
  const outcomes = facts.resolved[questionKey(name, type)] ?? {};
  return facts.resolvers.map(({ label }) => ({ label, answer: interpret(outcomes[label], name, type) }));
}

/** What any resolver says, for names judged by resolution rather than at the source. */
export function firstResolved(facts: DnsFacts, name: string, type: string): Answer | undefined {
  return atResolvers(facts, name, type).find((r) => r.answer.state !== 'error')?.answer;
}

export function describe(answer: Answer): string {
  switch (answer.state) {
    case 'positive':
      return [...answer.chain.map((c) => `CNAME ${c}`), ...answer.values].join(' → ') || 'an empty answer';
    case 'nxdomain':
      return 'NXDOMAIN (no such name)';
    case 'nodata':
      return 'no record of this type';
    case 'error':
      return answer.error ?? 'no answer';
  }
}

export function humanDuration(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${seconds} s (about ${Math.round(seconds / 60)} min)`;
  return `${seconds} s (about ${Math.round(seconds / 3600)} h)`;
}
