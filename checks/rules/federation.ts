// Federation rules: which discovery step decided, then for every address of every target the
// connection, the certificate (against the name discovery expects), the version endpoint, the
// signed server keys, a full-size transaction and the X-Matrix header on the way to the
// homeserver, media over federation, and whether all addresses serve the same keys.
import type { Finding } from '../core/finding.ts';
import { emit, type Emitted } from '../core/catalogue.ts';
import { FEDERATION } from '../findings/federation.ts';
import { SYNAPSE_MAX_REQUEST_BYTES, type AddressProbe, type FederationFacts } from '../facts/federation.ts';
import type { HttpOutcome, HttpSuccess } from '../facts/http.ts';
import { judgeCertificate, type CertificateProblem } from './certificate.ts';
import { isCloudflareProxy } from './cloudflare.ts';
import { verifyServerKeys, type ServerKeysVerdict } from './server-keys.ts';
import { wellKnownDelegation, type Discovery } from '../facts/discovery.ts';
import { userAgentDiscrimination } from '../facts/http.ts';
import { parseObject } from '../facts/wellknown.ts';

export interface FederationContext {
  now: number;
  extraCa?: string;
}

const WELLKNOWN_FIX = 'npx tsx scripts/wellknown.ts --flavor nginx';

export function judgeFederation(facts: FederationFacts, context: FederationContext): Finding[] {
  const { discovery } = facts;
  if (discovery.problem) return [discoveryFinding(facts, [])];
  const targets: Finding[] = [];
  if (facts.unprobed) {
    targets.push(
      emit(FEDERATION.targetsUnprobed, 'fail', {
        detail: `${discovery.targets.map((t) => `${t.host}:${t.port}`).join(', ')} not probed: ${facts.unprobed}. Nothing shows that servers can reach them`,
        fix: 'Run again with a longer --timeout, and fix what the well-known and DNS findings name',
      }),
    );
  }
  targets.push(...facts.lookups.flatMap((lookup, i) => targetAddressFindings(lookup, discovery.targets[i].port)));
  const keyVerdicts: { probe: AddressProbe; verdict: ServerKeysVerdict }[] = [];
  for (const probe of facts.probes) {
    // Where each finding was seen, for linking causes across areas (causes.ts).
    const at = { host: probe.target, port: probe.port, address: probe.address };
    targets.push(...addressFindings(probe, facts, context, keyVerdicts).map((f) => ({ ...f, evidence: { ...f.evidence, ...at } })));
  }
  targets.push(...keyConsistency(keyVerdicts));
  const head = [discoveryFinding(facts, targets)];
  const agent = wellKnownUserAgentFinding(facts, targets);
  if (agent) head.push(agent);
  // The failures of a fallback target follow from the well-known that servers could not use.
  const root = agent?.status === 'fail' ? agent : head[0].status === 'fail' ? head[0] : undefined;
  const linked = root ? targets.map((f) => (f.status === 'fail' && !f.causedBy ? { ...f, causedBy: root.id } : f)) : targets;
  return [...head, ...linked];
}

/** What a homeserver does when the server well-known cannot be fetched or used (element-hq/synapse well_known_resolver.py). */
function wellKnownOutcome(
  facts: FederationFacts,
): { kind: 'none' | 'valid' | 'absent' } | { kind: 'stalled'; detail: string } | { kind: 'unusable'; detail: string; slow?: string } {
  const chain = facts.input.wellKnown;
  if (!chain) return { kind: 'none' };
  const delegation = wellKnownDelegation(chain);
  if (delegation.ok) return { kind: 'valid' };
  const last = chain.hops.at(-1)?.outcome;
  if (last && !last.ok) {
    if (last.error === 'timeout' && last.phase !== 'tcp') {
      return {
        kind: 'stalled',
        detail: `${last.url} accepted the connection but never answered (${last.message}). Synapse waits for it within the federation request's own timeout (federation client_timeout, 60 s) and then the request fails: it does not fall back to SRV or port 8448, so every request to this server times out`,
      };
    }
    const slow =
      last.error === 'timeout'
        ? ' after waiting for its connect timeout (30 s in Synapse), on every new lookup (the failure is remembered for an hour)'
        : '';
    return { kind: 'unusable', detail: `${last.url}: ${last.message}. Servers treat this as no delegation and fall back${slow}`, slow };
  }
  if (chain.final && chain.final.status === 404 && chain.hops.length === 1) return { kind: 'absent' };
  return {
    kind: 'unusable',
    detail: `/.well-known/matrix/server ${delegation.reason}: servers ignore it (Synapse remembers that for an hour) and fall back`,
  };
}

function discoveryFinding(facts: FederationFacts, targets: readonly Finding[]): Finding {
  const d = facts.discovery;
  const where = d.targets.map((t) => `${t.host}:${t.port}`).join(', ');
  const extra = [...d.notes, ...d.ignored.map((i) => `ignored: ${i}`)];
  const evidence = { step: d.step, targets: d.targets, hostHeader: d.hostHeader, tlsName: d.tlsName, ignored: d.ignored, notes: d.notes };
  if (d.problem) {
    const servfail = /SERVFAIL/.test(d.problem);
    const name = d.targets[0]?.host ?? facts.serverName;
    return emit(FEDERATION.discovery, 'fail', {
      detail: `Step ${d.step}: ${d.problem}${servfail ? ". A resolver answers SERVFAIL when the zone's DNSSEC is broken, and servers then give up instead of falling back" : ''}`,
      fix: servfail
        ? `Repair DNSSEC for ${facts.serverName}: the DS record at the registrar must match a DNSKEY the zone serves (check with https://dnsviz.net/d/${facts.serverName}/dnssec/), or remove the DS record. Until then, an explicit port in m.server ({"m.server": "matrix.${facts.serverName}:8448"}) spares servers the SRV lookup`
        : 'Fix the DNS records of the SRV name (run checks/dns.ts), or publish /.well-known/matrix/server',
      evidence: { ...evidence, name },
    });
  }
  const summary = `Step ${d.step}: ${d.how} → ${where}; TLS name ${d.tlsName}, Host ${d.hostHeader}`;
  const wk = wellKnownOutcome(facts);
  const fallbackFails = targets.some((f) => f.status === 'fail') || facts.probes.length === 0;
  const host = facts.serverName;
  if (wk.kind === 'stalled') {
    return emit(FEDERATION.discovery, 'fail', {
      detail: `${wk.detail}. (Had it fallen back: ${where}.)`,
      fix: `Make https://${host}/.well-known/matrix/server answer promptly (check the web server and any firewall or proxy in front of ${host}:443), or let the port refuse connections so servers fall back at once`,
      evidence: { ...evidence, wellKnown: 'stalled' },
    });
  }
  if (wk.kind === 'unusable' && wk.slow) {
    return emit(FEDERATION.discovery, fallbackFails ? 'fail' : 'warn', {
      detail: `${wk.detail} to ${where}${fallbackFails ? ', which fails (below)' : ', which answers: federation works, but every new lookup first waits for the timeout'}. ${summary}`,
      fix: `Let ${host}:443 answer promptly with /.well-known/matrix/server, or make the firewall refuse connections to it (REJECT, not DROP) so servers fall back at once`,
      evidence: { ...evidence, wellKnown: 'timeout' },
    });
  }
  if (wk.kind === 'unusable') {
    const fix = `Serve {"m.server": "<matrix host>:443 or :8448"} (a bare host[:port], no scheme or path) as application/json at https://${host}/.well-known/matrix/server (${WELLKNOWN_FIX})`;
    const status = fallbackFails ? 'fail' : 'warn';
    return emit(FEDERATION.discovery, status, {
      detail: `${wk.detail} to ${where}${fallbackFails ? ', which fails (below)' : ', which answers'}. ${summary}`,
      fix,
      evidence: { ...evidence, wellKnown: 'unusable' },
    });
  }
  return emit(FEDERATION.discovery, 'info', { detail: `${summary}${extra.length ? `. ${extra.join('. ')}` : ''}`, evidence });
}

/** The server well-known refused to Synapse's User-Agent but served to a browser. */
function wellKnownUserAgentFinding(facts: FederationFacts, targets: readonly Finding[]): Finding | undefined {
  const chain = facts.input.wellKnown;
  const seen = userAgentDiscrimination(chain?.final, chain?.asBrowser?.final);
  if (!chain || !seen) return undefined;
  const fallbackFails = targets.some((f) => f.status === 'fail') || facts.probes.length === 0;
  return emit(FEDERATION.wellKnownUserAgent, fallbackFails ? 'fail' : 'warn', {
    detail: `https://${facts.serverName}/.well-known/matrix/server answers ${chain.userAgent ?? 'a homeserver'} with ${seen.homeserverStatus} but a browser with ${seen.browserStatus}: a firewall, bot protection or the hosting provider's rule treats homeservers differently, so servers never see the delegation`,
    fix: `Let homeservers through: exempt /.well-known/matrix/ and /_matrix/ from the WAF or bot protection (a rule allowing User-Agent "Synapse/*" and other homeservers), or ask the hosting provider to lift its User-Agent rule for ${facts.serverName}`,
    evidence: { homeserverStatus: seen.homeserverStatus, browserStatus: seen.browserStatus, userAgent: chain.userAgent },
  });
}

function targetAddressFindings(lookup: FederationFacts['lookups'][number], port: number): Finding[] {
  if (lookup.ipv4.length + lookup.ipv6.length > 0) return [];
  return [
    emit(
      FEDERATION.targetAddress,
      'fail',
      {
        detail: `${lookup.name} (port ${port}) has no A or AAAA record${lookup.error ? ` (${lookup.error})` : ''}: other servers cannot connect`,
        fix: `Add the A/AAAA records of ${lookup.name} (run checks/dns.ts)`,
        evidence: { host: lookup.name, port, error: lookup.error },
      },
      { host: lookup.name },
    ),
  ];
}

/** The subject of an address's findings: `address` fills the id, `label` the title. */
type AddressSubject = { address: string; label: string };

function where(probe: AddressProbe): string {
  return `${probe.address.includes(':') ? `[${probe.address}]` : probe.address}:${probe.port}`;
}

function addressFindings(
  probe: AddressProbe,
  facts: FederationFacts,
  context: FederationContext,
  keyVerdicts: { probe: AddressProbe; verdict: ServerKeysVerdict }[],
): Finding[] {
  const at = where(probe);
  const family = probe.address.includes(':') ? 'IPv6' : 'IPv4';
  const subject: AddressSubject = { address: at, label: `${at} (${family})` };
  const findings: Finding[] = [];
  const d = facts.discovery;
  if (isCloudflareProxy(probe.address) && probe.port === 8448) {
    findings.push(
      emit(
        FEDERATION.cloudflare,
        'fail',
        {
          detail: `${probe.address} is a Cloudflare proxy address, and Cloudflare does not proxy port 8448`,
          fix: `Set ${probe.target} to "DNS only" in Cloudflare, or delegate federation to port 443 ("m.server": "${probe.target}:443")`,
        },
        subject,
      ),
    );
  }
  const first = probe.version.ok || !probe.keys.ok ? probe.version : probe.keys;
  if (!first.ok && first.phase === 'tcp') {
    findings.push(connectFailure(first, subject, probe, d));
    return findings;
  }
  const tls = probe.version.tls ?? probe.keys.tls;
  if (!tls) {
    const failure = first.ok ? undefined : first;
    const detail = (failure?.message ?? '').startsWith('TLS handshake failed')
      ? failure!.message
      : `TLS handshake failed: ${failure?.message ?? 'no handshake'}`;
    findings.push(emit(FEDERATION.tls, 'fail', { detail, fix: `Check that ${at} serves HTTPS (TLS) for ${d.tlsName}` }, subject));
    return findings;
  }
  findings.push(emit(FEDERATION.connect, 'pass', { detail: `TCP and TLS (${tls.protocol}, ${tls.cipher})` }, subject));
  if (tls.protocol === 'TLSv1' || tls.protocol === 'TLSv1.1') {
    findings.push(
      emit(
        FEDERATION.tlsVersion,
        'warn',
        { detail: `${tls.protocol} is obsolete`, fix: 'Allow only TLS 1.2 and 1.3 (nginx: ssl_protocols TLSv1.2 TLSv1.3;)' },
        subject,
      ),
    );
  }
  findings.push(certificateFinding(probe, subject, facts, context));
  const agent = userAgentFinding(probe, subject);
  if (agent) findings.push(agent);
  const linked = (f: Finding) => (agent && f.status === 'fail' ? { ...f, causedBy: agent.id } : f);
  findings.push(linked(versionFinding(probe, subject)));
  const keys = keysFinding(probe, subject, facts.serverName, context);
  findings.push(linked(keys.finding));
  if (keys.verdict) keyVerdicts.push({ probe, verdict: keys.verdict });
  findings.push(...transactionFindings(probe, subject).map(linked));
  const media = mediaFinding(probe, subject);
  if (media) findings.push(linked(media));
  return findings;
}

/** Federation requests refused to Synapse's User-Agent and served to a browser's. */
function userAgentFinding(probe: AddressProbe, subject: AddressSubject): Finding | undefined {
  const seen = userAgentDiscrimination(probe.version, probe.versionAsBrowser) ?? userAgentDiscrimination(probe.keys, probe.keysAsBrowser);
  if (!seen) return undefined;
  return emit(
    FEDERATION.userAgent,
    'fail',
    {
      detail: `Answers Synapse's User-Agent with ${seen.homeserverStatus} but a browser's with ${seen.browserStatus}: a WAF, bot protection or the hosting provider's rule blocks homeservers, so federation fails although a browser test looks fine`,
      fix: 'Exempt /_matrix/ and /.well-known/matrix/ from the WAF or bot protection (allow User-Agent "Synapse/*" and other homeservers), or ask the hosting provider to lift its User-Agent rule',
      evidence: seen,
    },
    subject,
  );
}

function connectFailure(failure: Extract<HttpOutcome, { ok: false }>, subject: AddressSubject, probe: AddressProbe, d: Discovery): Finding {
  const noDelegation =
    d.step === '6' ? ` Nothing delegates federation elsewhere, so servers come to ${probe.target}:${probe.port} itself.` : '';
  const cause =
    failure.error === 'refused'
      ? 'nothing listens on the port'
      : failure.error === 'timeout'
        ? 'packets are dropped (a firewall, or a provider security group); a remote server waits for its connect timeout, then backs off and retries later, so nothing it sends arrives'
        : failure.message;
  const fix =
    d.step === '6'
      ? `Delegate federation to the Matrix host: serve {"m.server": "matrix.${probe.target}:8448"} at https://${probe.target}/.well-known/matrix/server (${WELLKNOWN_FIX})`
      : `Open TCP port ${probe.port} to the server at every firewall (host and provider), and forward it if the server is behind NAT (npx tsx scripts/firewall.ts)`;
  return emit(FEDERATION.connect, 'fail', { detail: `Cannot connect: ${cause} (${failure.message}).${noDelegation}`, fix }, subject);
}

const CERT_FIX: Record<CertificateProblem, (name: string) => string> = {
  name: (name) => `Serve a certificate valid for ${name} on this port`,
  expired: () => "Renew the certificate; with MDAD's Traefik check why renewal fails: journalctl -u matrix-traefik | grep -i acme",
  'not-yet-valid': () => "Check the server's clock (timedatectl) and the certificate's dates",
  'self-signed': (name) => `Use a certificate from a public CA (MDAD's Traefik gets one from Let's Encrypt) for ${name}`,
  'missing-intermediate': () =>
    'Serve the full chain (fullchain.pem, not cert.pem): nginx ssl_certificate must point at the file with the intermediate',
  'unknown-ca': (name) => `Use a certificate for ${name} from a CA that servers trust (Let's Encrypt)`,
  'traefik-default': () =>
    "Let's Encrypt issuance failed: port 80 must reach the server and the A/AAAA records must point at it (run checks/dns.ts); then journalctl -u matrix-traefik | grep -i acme",
  untrusted: (name) => `Serve a valid certificate for ${name} with its full chain`,
};

function certificateFinding(probe: AddressProbe, subject: AddressSubject, facts: FederationFacts, context: FederationContext): Finding {
  const d = facts.discovery;
  const tls = (probe.version.tls ?? probe.keys.tls)!;
  const aia = probe.aiaIssuer?.outcome;
  const verdict = judgeCertificate(tls, {
    expectedName: d.tlsName,
    now: context.now,
    aiaIssuerDer: aia?.ok && aia.status === 200 ? Buffer.from(aia.body, 'base64') : undefined,
    extraCa: context.extraCa,
  });
  const evidence = {
    sans: verdict.sans,
    issuer: verdict.issuer,
    daysLeft: verdict.daysLeft,
    authorizationError: tls.authorizationError,
    problems: verdict.problems,
  };
  if (verdict.problems.length > 0) {
    const srv = ['3.3', '3.4', '4', '5'].includes(d.step);
    const why = srv
      ? ` (step ${d.step}: the certificate must be valid for ${d.tlsName}, not for the SRV target)`
      : d.step === '6'
        ? ` (step 6: no delegation, so the certificate must be valid for ${d.tlsName} itself)`
        : '';
    const fixes = verdict.problems.map((p) => CERT_FIX[p](d.tlsName));
    if (verdict.problems.includes('name') && d.step === '6') fixes.push(`or delegate with /.well-known/matrix/server (${WELLKNOWN_FIX})`);
    return emit(
      FEDERATION.certificate,
      'fail',
      {
        detail: `Servers will refuse it: ${verdict.reasons.join('; ')}${verdict.problems.includes('name') ? why : ''}`,
        fix: fixes.join('; '),
        evidence,
      },
      subject,
    );
  }
  if (verdict.daysLeft < 14) {
    return emit(
      FEDERATION.certificate,
      'warn',
      { detail: `Valid for ${d.tlsName}, but expires in ${verdict.daysLeft} days`, fix: CERT_FIX.expired(d.tlsName), evidence },
      subject,
    );
  }
  return emit(
    FEDERATION.certificate,
    'pass',
    { detail: `Valid for ${d.tlsName} (${verdict.sans.join(', ')}), issued by ${verdict.issuer}, ${verdict.daysLeft} days left`, evidence },
    subject,
  );
}

/** Who answered, when it was not the homeserver: a proxy error, Traefik's router miss, a web page. */
function answeredBy(probe: AddressProbe, response: HttpSuccess): string {
  if (response.status >= 502 && response.status <= 504)
    return `the reverse proxy cannot reach the homeserver behind it (${response.status}): is it running? (journalctl -fu matrix-synapse)`;
  if (/^404 page not found/.test(response.body)) return "Traefik's own 404: no router matched, the request never reached the homeserver";
  if (probe.unknownPath?.ok && /M_UNRECOGNIZED/.test(probe.unknownPath.body))
    return 'the homeserver answers other federation paths, so this one is routed elsewhere';
  if (/<html|<!doctype/i.test(response.body)) return 'a web page: a reverse proxy or web server answers instead of the homeserver';
  return 'not the homeserver';
}

function versionFinding(probe: AddressProbe, subject: AddressSubject): Finding {
  const r = probe.version;
  if (!r.ok)
    return emit(
      FEDERATION.version,
      'fail',
      { detail: r.message, fix: 'Check that the reverse proxy forwards /_matrix on this port to the homeserver' },
      subject,
    );
  const doc = parseObject(r.body);
  const server = doc?.server as { name?: unknown; version?: unknown } | undefined;
  if (r.status === 200 && server)
    return emit(
      FEDERATION.version,
      'pass',
      { detail: `${String(server.name ?? 'unknown')} ${String(server.version ?? '')}`.trim() },
      subject,
    );
  const bare = probe.versionBareHost;
  if (bare?.ok && bare.status === 200 && parseObject(bare.body)?.server) {
    const host = probe.target;
    return emit(
      FEDERATION.version,
      'fail',
      {
        detail: `Answered ${r.status} to "Host: ${host}:${probe.port}", which servers send because the delegation names the port, but 200 to "Host: ${host}": the proxy routes by the exact Host header`,
        fix: `Make the proxy accept the Host header with the port: nginx server_name matches it already; HAProxy: match with hdr_dom(host) (or add "${host}:${probe.port}" to the ACL); Traefik: use Host(\`${host}\`) rules. Or drop ":${probe.port}" from m.server when it is 8448`,
        evidence: { hostWithPort: r.status, bareHost: bare.status },
      },
      subject,
    );
  }
  return emit(
    FEDERATION.version,
    'fail',
    {
      detail: `Answered ${r.status} (${r.headers['content-type'] ?? 'no content type'}): ${answeredBy(probe, r)}`,
      fix: 'Route /_matrix/federation and /_matrix/key on the federation port to the homeserver (MDAD: the matrix-federation entrypoint; your own proxy: see MDAD docs/configuring-playbook-own-webserver.md)',
    },
    subject,
  );
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** The errcode and error of a Matrix standard error response, if the body is one. */
function matrixError(r: HttpSuccess): { errcode: string; error: string } | undefined {
  const doc = parseObject(r.body);
  return typeof doc?.errcode === 'string' ? { errcode: doc.errcode, error: String(doc.error ?? '') } : undefined;
}

const ROUTE_FIX =
  'Route every method (PUT and POST too) of /_matrix/federation/ on the federation port to the homeserver (MDAD: the matrix-federation entrypoint; your own proxy: see MDAD docs/configuring-playbook-own-webserver.md)';

/** Where the body limit is, for nginx, MDAD's own nginx in front of Synapse, and Traefik. */
const BODY_LIMIT_FIX = `Let the proxy pass request bodies larger than ${mib(SYNAPSE_MAX_REQUEST_BYTES)} (Synapse's own limit) on /_matrix/federation: nginx: client_max_body_size 50M; in the server or location that proxies /_matrix/federation (nginx's default is 1m); MDAD's reverse-proxy companion: matrix_synapse_reverse_proxy_companion_federation_api_client_max_body_size_mb (default 100), or client_max_body_size 50M; for every block through matrix_synapse_reverse_proxy_companion_http_additional_server_configuration_blocks (MDAD issue 4100); Traefik: no buffering middleware on the federation router (MDAD sets none), or its maxRequestBodyBytes above ${SYNAPSE_MAX_REQUEST_BYTES}`;

const AUTHORIZATION_FIX =
  'Forward the Authorization header unchanged to the homeserver: nginx: remove proxy_set_header Authorization (e.g. proxy_set_header Authorization "";) from the location that proxies /_matrix; Traefik: remove the headers middleware that sets or clears Authorization (customRequestHeaders) from the federation router; no proxy authentication (basic auth, forward auth) on /_matrix/federation or /_matrix/key';

/**
 * The full-size transaction: did it reach the homeserver (send), and did its X-Matrix header
 * (authorization)? Synapse answers 400 "Malformed Authorization header" to the probe's header and
 * 401 "Missing Authorization headers" when none arrived (synapse/federation/transport/server/_base.py).
 */
function transactionFindings(probe: AddressProbe, subject: AddressSubject): Finding[] {
  if (!probe.send) return [];
  const { bytes, outcome: r } = probe.send;
  const size = `a ${mib(bytes)} transaction (PUT /_matrix/federation/v1/send)`;
  const unjudged = (send: Finding): Finding[] => [
    send,
    {
      ...emit(FEDERATION.authorization, 'skip', { detail: 'Not judged: the transaction did not reach the homeserver' }, subject),
      causedBy: send.id,
    },
  ];
  const refusedWith = (emitted: Emitted) => unjudged(emit(FEDERATION.send, 'fail', emitted, subject));
  if (!r.ok) {
    if (r.error === 'timeout') {
      return unjudged(
        emit(
          FEDERATION.send,
          'warn',
          {
            detail: `No answer within the timeout to ${size}: the upload may not have finished (at 10 Mbit/s it takes ${Math.ceil((bytes * 8) / 10_000_000)} s), or something in between holds it`,
            fix: "Run again with a longer --timeout (e.g. --timeout 30); if it still times out, check the proxy's request timeouts (nginx client_body_timeout, Traefik's entrypoint respondingTimeouts.readTimeout)",
          },
          subject,
        ),
      );
    }
    return refusedWith({
      detail: `Sending ${size}: ${r.message}. A proxy that refuses large bodies may close the connection instead of answering 413`,
      fix: BODY_LIMIT_FIX,
    });
  }
  const error = matrixError(r);
  const evidence = { bytes, status: r.status, ...(error ? { errcode: error.errcode, error: error.error } : {}) };
  if (r.status === 413) {
    const by = error
      ? `a JSON ${error.errcode}`
      : `${r.headers['content-type'] ?? 'no content type'}${r.headers.server ? `, Server: ${r.headers.server}` : ''}`;
    return refusedWith({
      detail: `Answered 413 (${by}) to ${size}, which Synapse accepts (up to ${mib(SYNAPSE_MAX_REQUEST_BYTES)}): a body limit in front of the homeserver is smaller than the transactions busy rooms send, so those never arrive (the sender retries them over and over, and what it sends after waits behind them) while every GET passes`,
      fix: BODY_LIMIT_FIX,
      evidence,
    });
  }
  if (error && ['M_NOT_JSON', 'M_BAD_JSON'].includes(error.errcode)) {
    return refusedWith({
      detail: `The homeserver answered ${r.status} ${error.errcode} (${error.error}) to ${size}: the body arrived cut or altered`,
      fix: 'Let the proxy pass request bodies unchanged to the homeserver (no body rewriting, no truncating buffer limits)',
      evidence,
    });
  }
  if (error && [400, 401, 403].includes(r.status)) {
    const send = emit(
      FEDERATION.send,
      'pass',
      { detail: `The homeserver got ${size} whole: ${r.status} ${error.errcode} (${error.error}), as for any unsigned request`, evidence },
      subject,
    );
    const stripped = /missing authori[sz]ation/i.test(error.error);
    const authorization = stripped
      ? emit(
          FEDERATION.authorization,
          'fail',
          {
            detail: `Sent with an Authorization: X-Matrix header, and the homeserver answered "${error.error}": the proxy strips or replaces the header, so the homeserver refuses every signed request from other servers`,
            fix: AUTHORIZATION_FIX,
            evidence: { status: r.status, error: error.error },
          },
          subject,
        )
      : emit(
          FEDERATION.authorization,
          'pass',
          {
            detail: `The homeserver read the X-Matrix header (${r.status} "${error.error}")`,
            evidence: { status: r.status, error: error.error },
          },
          subject,
        );
    return [send, authorization];
  }
  if (r.status >= 300 && r.status < 400) {
    return refusedWith({
      detail: `Answered ${r.status} to ${size} (to ${r.headers.location ?? 'no location'}): servers do not follow redirects on federation requests`,
      fix: ROUTE_FIX,
      evidence,
    });
  }
  return refusedWith({
    detail: `Answered ${r.status} (${r.headers['content-type'] ?? 'no content type'}) to ${size}: ${answeredBy(probe, r)}`,
    fix: ROUTE_FIX,
    evidence,
  });
}

/** Media over federation, unauthenticated: the homeserver's own JSON error is the expected answer. */
function mediaFinding(probe: AddressProbe, subject: AddressSubject): Finding | undefined {
  const r = probe.media;
  if (!r) return undefined;
  const fix =
    'Route /_matrix/federation/v1/media/ on the federation port to the homeserver process that serves media (MDAD with media repository workers: their federation locations)';
  if (!r.ok) return emit(FEDERATION.media, 'fail', { detail: `GET /_matrix/federation/v1/media/download: ${r.message}`, fix }, subject);
  const error = matrixError(r);
  const evidence = { status: r.status, ...(error ? { errcode: error.errcode } : {}) };
  if (error?.errcode === 'M_UNRECOGNIZED') {
    return emit(
      FEDERATION.media,
      'warn',
      {
        detail: `The homeserver answered ${r.status} M_UNRECOGNIZED: the process behind this path does not serve authenticated media (Matrix v1.11), so servers that require it cannot load media posted here`,
        fix: `${fix}; or upgrade a homeserver that predates authenticated media`,
        evidence,
      },
      subject,
    );
  }
  if (error) {
    return emit(
      FEDERATION.media,
      'pass',
      { detail: `The homeserver answers it: ${r.status} ${error.errcode} to an unauthenticated request, as expected`, evidence },
      subject,
    );
  }
  return emit(
    FEDERATION.media,
    'fail',
    { detail: `Answered ${r.status} (${r.headers['content-type'] ?? 'no content type'}): ${answeredBy(probe, r)}`, fix, evidence },
    subject,
  );
}

function keysFinding(
  probe: AddressProbe,
  subject: AddressSubject,
  serverName: string,
  context: FederationContext,
): { finding: Finding; verdict?: ServerKeysVerdict } {
  const keysEmit = (status: 'pass' | 'warn' | 'fail', emitted: Emitted) => emit(FEDERATION.keys, status, emitted, subject);
  const r = probe.keys;
  if (!r.ok)
    return {
      finding: keysEmit('fail', { detail: r.message, fix: 'Check that the reverse proxy forwards /_matrix/key to the homeserver' }),
    };
  const type = (r.headers['content-type'] ?? '').split(';')[0].trim();
  if (r.status !== 200 || type !== 'application/json') {
    return {
      finding: keysEmit('fail', {
        detail: `Answered ${r.status} as ${type || 'no content type'}, where servers need 200 application/json: ${answeredBy(probe, r)}`,
        fix: 'Route /_matrix/key on the federation port to the homeserver, without rewriting the answer',
      }),
    };
  }
  const verdict = verifyServerKeys(r.body, serverName, context.now);
  const problems = keyProblems(verdict);
  const warnings = keyWarnings(verdict);
  const keyIds = verdict.ed25519Keys.map((k) => k.keyId).join(', ');
  const until = verdict.validUntil.ts ? new Date(verdict.validUntil.ts).toISOString() : '?';
  if (problems.length > 0) {
    const wrongName = verdict.serverName.status === 'mismatch';
    return {
      verdict,
      finding: keysEmit('fail', {
        detail: `Servers will reject the keys: ${problems.join('; ')}`,
        fix: wrongName
          ? `This homeserver is configured as ${verdict.serverName.value}: the server name (matrix_domain / server_name) must be ${serverName}, or you are testing the Matrix host instead of the server name`
          : 'Check that the homeserver (not a cache or proxy) serves /_matrix/key/v2/server, and that its signing key file is intact',
        evidence: { keys: keyIds, fingerprint: verdict.fingerprint },
      }),
    };
  }
  if (warnings.length > 0) {
    return {
      verdict,
      finding: keysEmit('warn', {
        detail: `Signed by ${keyIds}, valid until ${until}, but ${warnings.join('; ')}`,
        fix: 'Serve keys as the homeserver makes them (a proxy or cache in between may alter them)',
        evidence: { fingerprint: verdict.fingerprint },
      }),
    };
  }
  return {
    verdict,
    finding: keysEmit('pass', {
      detail: `server_name ${serverName}, ${keyIds} signature valid, valid until ${until}`,
      evidence: { fingerprint: verdict.fingerprint },
    }),
  };
}

function keyProblems(v: ServerKeysVerdict): string[] {
  if (!v.parse.ok) return [`not JSON (${v.parse.error})`];
  const problems: string[] = [];
  if (v.missingFields.length) problems.push(`missing ${v.missingFields.join(', ')}`);
  if (v.malformedFields.length) problems.push(`malformed ${v.malformedFields.join(', ')}`);
  if (v.serverName.status === 'mismatch')
    problems.push(
      `server_name is ${v.serverName.value}, not ${v.serverName.requested}${v.serverName.differsOnlyInCase ? ' (server names are case-sensitive)' : ''}`,
    );
  if (v.validUntil.status === 'expired') problems.push(`valid_until_ts ${new Date(v.validUntil.ts ?? 0).toISOString()} is in the past`);
  if (!v.hasEd25519Key) problems.push('no ed25519 key');
  for (const key of v.ed25519Keys.filter((k) => !k.ok)) problems.push(`${key.keyId}: ${key.problems.join(', ')}`);
  if (v.canonicalError) problems.push(`cannot be signed as canonical JSON (${v.canonicalError})`);
  return problems;
}

function keyWarnings(v: ServerKeysVerdict): string[] {
  const warnings: string[] = [];
  if (v.validUntil.status === 'short') warnings.push('valid_until_ts is less than an hour away');
  if (v.nonCanonicalNumbers.length) warnings.push(`non-canonical numbers: ${v.nonCanonicalNumbers.join(', ')}`);
  if (v.oldVerifyKeys.problems.length) warnings.push(`old_verify_keys: ${v.oldVerifyKeys.problems.join(', ')}`);
  for (const key of v.ed25519Keys.filter((k) => k.ok && k.problems.length)) warnings.push(`${key.keyId}: ${key.problems.join(', ')}`);
  return warnings;
}

function keyConsistency(verdicts: { probe: AddressProbe; verdict: ServerKeysVerdict }[]): Finding[] {
  const served = verdicts.filter((v) => v.verdict.parse.ok);
  if (served.length < 2) return [];
  const distinct = new Set(served.map((v) => v.verdict.fingerprint));
  if (distinct.size === 1) return [emit(FEDERATION.keysConsistency, 'pass', { detail: `${served.length} addresses serve the same keys` })];
  return [
    emit(FEDERATION.keysConsistency, 'fail', {
      detail: `Addresses serve different keys: ${served.map((v) => `${where(v.probe)} has ${v.verdict.fingerprint || 'none'}`).join('; ')}. A peer's result depends on which address it reaches`,
      fix: 'Point every A/AAAA record of the target at the same homeserver (an old server or a stale AAAA is the usual cause)',
    }),
  ];
}
