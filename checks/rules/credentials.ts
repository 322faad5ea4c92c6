// A request with a secret that credentialed.ts did not send, judged the same way in every area
// that holds one (turn, rtc, outbound): which rule held, and the one thing to change.
import { emit, type FindingSpec } from '../core/catalogue.ts';
import type { Finding } from '../core/finding.ts';
import { type Withheld, withheldMessage } from '../facts/http.ts';

/** What to change so that the secret may go, or why nothing needs to. */
export function withheldFix(w: Withheld): string {
  const there = new URL(w.url).origin;
  switch (w.rule) {
    case 'origin':
      return `If ${there} really is your homeserver, say so with --homeserver ${there}; otherwise nothing to do: the ${w.kind} stayed on this machine`;
    case 'tls':
      return `Give ${new URL(w.url).host} a certificate that verifies for that name (the playbook's Traefik gets one from Let's Encrypt), or trust your own CA with --ca-file CA.pem`;
    case 'plain-http':
      return `Use the https:// URL of the homeserver (--homeserver https://…, or m.homeserver in the client well-known)`;
    case 'redirect':
      return `If ${there} is where your homeserver answers, give --homeserver ${there} (or serve it as m.homeserver in the client well-known)`;
  }
}

/** One failure per secret and rule, from every call of the area that was withheld. */
export function withheldFindings(spec: FindingSpec, calls: readonly ({ withheld?: Withheld } | undefined)[]): Finding[] {
  const seen = new Map<string, Withheld>();
  for (const call of calls) {
    const w = call?.withheld;
    if (w && !seen.has(`${w.kind} ${w.rule} ${new URL(w.url).origin}`)) seen.set(`${w.kind} ${w.rule} ${new URL(w.url).origin}`, w);
  }
  return [...seen.values()].map((w) =>
    emit(
      spec,
      'fail',
      { detail: withheldMessage(w), fix: withheldFix(w), evidence: { rule: w.rule, url: w.url, origin: w.origin, from: w.from } },
      { secret: w.kind },
    ),
  );
}
