// Well-known rules: /.well-known/matrix/server and /client as federation peers and clients read
// them (spec server-server "Resolving server names" step 3, client-server "Well-known URIs"), plus what breaks real
// clients although the spec is lenient (content type, CORS per hop: docs/failure-modes.md
// "Client well-known without CORS", "Stale or mistyped well-known copy").
import type { Finding } from '../core/finding.ts';
import { emit, type FindingSpec } from '../core/catalogue.ts';
import { WELLKNOWN } from '../findings/wellknown.ts';
import type { Plan } from '../plan/types.ts';
import { untrustedHop, type FetchChain } from '../facts/http.ts';
import type { HttpSuccess } from '../facts/http.ts';
import { parseObject, urlAt, type DocumentFetch, type WellKnownFacts } from '../facts/wellknown.ts';
import { parseServerNameGrammar } from '../core/server-name.ts';
import { canonicalJson } from '../core/canonical-json.ts';

// Synapse's and the Go tester's cap on the server file (docs/federation.md "Limits on the server file").
const MAX_SERVER_FILE = 50 * 1024;
const STAGE = 'npx tsx scripts/wellknown.ts --flavor nginx';

/** The client discovery verdicts of the spec (client-server API, "Well-known URIs"). */
export type DiscoveryState = 'SUCCESS' | 'IGNORE' | 'FAIL_PROMPT' | 'FAIL_ERROR';

export interface WellKnownVerdict {
  findings: Finding[];
  /** cause: what to fix: the file on the base domain, the homeserver it names, or the identity server. */
  clientDiscovery: { state: DiscoveryState; reason: string; baseUrl?: string; cause?: 'file' | 'homeserver' | 'identity' };
}

export function judgeWellKnown(facts: WellKnownFacts, plan?: Plan): WellKnownVerdict {
  const clientDiscovery = clientDiscoveryState(facts);
  const findings = [
    ...addressFindings(facts),
    ...serverFileFindings(facts, plan),
    ...clientFileFindings(facts, plan, clientDiscovery),
    ...supportFindings(facts),
    ...copyFindings(facts),
  ];
  return { findings, clientDiscovery };
}

// ---------------------------------------------------------------------------------------------

function family(address: string): string {
  return address.includes(':') ? 'IPv6' : 'IPv4';
}

/** The answer that counts: the first address whose chain ended in a response, IPv4 first. */
function primary(fetches: DocumentFetch[]): DocumentFetch | undefined {
  return fetches.find((f) => f.chain.final) ?? fetches[0];
}

function describeChain(chain: FetchChain): string {
  const final = chain.final;
  const redirects = chain.hops.length - 1;
  const via = redirects > 0 ? ` after ${redirects} redirect${redirects > 1 ? 's' : ''} (${chain.hops.map((h) => h.url).join(' → ')})` : '';
  if (final) return `${final.status} from ${chain.hops.at(-1)?.url}${via}`;
  return `${chain.detail ?? chain.problem ?? 'no answer'}${via}`;
}

function contentType(response: HttpSuccess): string {
  return (response.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

function addressFindings(facts: WellKnownFacts): Finding[] {
  const { lookup } = facts;
  if (lookup.ipv4.length + lookup.ipv6.length > 0) return [];
  return [
    emit(
      WELLKNOWN.baseAddress,
      'fail',
      {
        detail:
          lookup.error ??
          `${facts.serverName} has no A or AAAA record${lookup.missing ? ' (NXDOMAIN)' : ''}, so nothing can serve its /.well-known/matrix files`,
        fix: `Give ${facts.serverName} an A record pointing at the web server that will serve /.well-known/matrix (run checks/dns.ts to see the records)`,
      },
      { host: facts.serverName },
    ),
  ];
}

function serverFileFindings(facts: WellKnownFacts, plan?: Plan): Finding[] {
  const url = `https://${facts.serverName}/.well-known/matrix/server`;
  if (facts.server.length === 0) return [];
  const expected = plan?.wellKnown.server?.['m.server'];
  const srvDelegation = plan !== undefined && plan.wellKnown.server === undefined;
  const findings: Finding[] = [];
  const main = primary(facts.server)!;
  const final = main.chain.final;

  if (!final) {
    findings.push(
      emit(WELLKNOWN.serverStatus, 'fail', {
        detail: `${url} from ${main.address}: ${describeChain(main.chain)}`,
        fix: `Make ${facts.serverName} answer HTTPS on port 443 with the file (${STAGE})`,
      }),
    );
    return [...findings, ...consistencyFindings(facts.server, 'server')];
  }
  if (final.status !== 200) {
    const missing = final.status === 404;
    findings.push(
      emit(WELLKNOWN.serverStatus, srvDelegation && missing ? 'info' : missing && plan === undefined ? 'warn' : 'fail', {
        detail:
          srvDelegation && missing
            ? `${url} answers 404, as configured (matrix_static_files_file_matrix_server_enabled: false): federation is delegated by SRV`
            : `${describeChain(main.chain)}: without this file other servers look for SRV records, then connect to ${facts.serverName}:8448 itself (run checks/federation.ts to see where that leads)`,
        fix: `Serve {"m.server": "${expected ?? `matrix.${facts.serverName}:8448`}"} at ${url} (${STAGE}, or matrix_static_files_container_labels_base_domain_enabled: true when the playbook serves the base domain)`,
      }),
    );
    return [...findings, ...consistencyFindings(facts.server, 'server')];
  }
  const untrusted = untrustedHop(main.chain);
  if (untrusted) {
    findings.push(
      emit(WELLKNOWN.serverStatus, 'fail', {
        detail: `${describeChain(main.chain)}, but over a certificate servers refuse (${untrusted.error} at ${untrusted.url}): they ignore the file`,
        fix: `Serve ${url} with a valid certificate for ${new URL(untrusted.url).hostname} (full chain)`,
      }),
    );
    return [...findings, ...consistencyFindings(facts.server, 'server')];
  }
  findings.push(emit(WELLKNOWN.serverStatus, 'pass', { detail: describeChain(main.chain) }));
  if (main.chain.hops.length > 1) {
    findings.push(
      emit(WELLKNOWN.serverRedirects, 'info', {
        detail: `Followed ${main.chain.hops.length - 1} redirect(s): ${main.chain.hops.map((h) => h.url).join(' → ')}`,
      }),
    );
  }
  if (final.truncated || Buffer.byteLength(final.body) > MAX_SERVER_FILE) {
    findings.push(
      emit(WELLKNOWN.serverSize, 'fail', {
        detail: `The body is over ${MAX_SERVER_FILE / 1024} KiB: Synapse and other servers ignore it`,
        fix: `Serve only {"m.server": "…"} at ${url}`,
      }),
    );
  }
  const type = contentType(final);
  findings.push(
    type === 'application/json'
      ? emit(WELLKNOWN.serverContentType, 'pass', { detail: 'application/json' })
      : emit(WELLKNOWN.serverContentType, 'warn', {
          detail: `Served as ${type || 'no content type'}; servers parse it anyway, but the spec asks for application/json`,
          fix: 'Serve it with Content-Type: application/json (nginx: default_type application/json; in the location)',
        }),
  );
  const doc = parseObject(final.body);
  if (!doc) {
    findings.push(
      emit(WELLKNOWN.serverJson, 'fail', {
        detail: `Not a JSON object (starts with ${JSON.stringify(final.body.slice(0, 40))}): servers ignore it and fall back to SRV or port 8448`,
        fix: `Serve exactly {"m.server": "${expected ?? `matrix.${facts.serverName}:8448`}"}`,
      }),
    );
    return [...findings, ...consistencyFindings(facts.server, 'server')];
  }
  findings.push(mServerFinding(doc['m.server'], expected, facts.serverName));
  findings.push(...cacheFindings(final), ...consistencyFindings(facts.server, 'server'));
  return findings;
}

function mServerFinding(value: unknown, expected: unknown, serverName: string): Finding {
  const suggestion = typeof expected === 'string' ? expected : `matrix.${serverName}:8448`;
  if (typeof value !== 'string') {
    return emit(WELLKNOWN.serverMServer, 'fail', {
      detail: `m.server is ${value === undefined ? 'missing' : `not a string (${JSON.stringify(value)})`}: servers ignore the file`,
      fix: `Serve {"m.server": "${suggestion}"}`,
    });
  }
  const parsed = parseServerNameGrammar(value);
  if (!parsed.ok) {
    return emit(WELLKNOWN.serverMServer, 'fail', {
      detail: `m.server is "${value}": ${parsed.problem}; servers ignore the file and fall back to SRV or ${serverName}:8448`,
      fix: `Serve {"m.server": "${parsed.suggestion ?? suggestion}"}: a host name and port, no scheme, no path`,
    });
  }
  if (typeof expected === 'string' && value !== expected) {
    return emit(WELLKNOWN.serverMServer, 'warn', {
      detail: `m.server is "${value}", but the playbook's configuration serves "${expected}"`,
      fix: `Serve {"m.server": "${expected}"}, or align vars.yml with where federation really is`,
    });
  }
  return emit(WELLKNOWN.serverMServer, 'pass', {
    detail: `m.server is ${value}${parsed.port ? '' : ' (no port: servers look up SRV for it, then use 8448)'}`,
  });
}

function cacheFindings(response: HttpSuccess): Finding[] {
  const cacheControl = response.headers['cache-control'] ?? '';
  const maxAge = /max-age=(\d+)/.exec(cacheControl)?.[1];
  if (/no-store/.test(cacheControl)) {
    return [
      emit(WELLKNOWN.serverCache, 'info', {
        detail: 'Cache-Control: no-store: servers fetch it again for every request to you (Synapse then keeps no cache)',
      }),
    ];
  }
  if (maxAge && Number(maxAge) > 48 * 3600) {
    return [
      emit(WELLKNOWN.serverCache, 'info', {
        detail: `max-age=${maxAge}: servers cap it at 48 h, so a change reaches everyone within 48 h at most`,
      }),
    ];
  }
  const detail = maxAge
    ? `Servers keep it ${maxAge} s`
    : 'No caching headers: servers keep it 24 h, so a change takes up to a day to reach everyone';
  return [emit(WELLKNOWN.serverCache, 'info', { detail })];
}

/** Every address of the base domain must give the same answer, or peers see different servers. */
function consistencyFindings(fetches: DocumentFetch[], file: 'server' | 'client'): Finding[] {
  if (fetches.length < 2) return [];
  const summary = (f: DocumentFetch) =>
    f.chain.final
      ? `${f.chain.final.status} ${JSON.stringify(parseObject(f.chain.final.body) ?? f.chain.final.body.slice(0, 60))}`
      : (f.chain.detail ?? 'no answer');
  const reference = summary(fetches[0]);
  const differing = fetches.filter((f) => summary(f) !== reference);
  if (differing.length === 0)
    return [
      emit(
        WELLKNOWN.addresses,
        'pass',
        { detail: `${fetches.length} addresses give the same answer: ${fetches.map((f) => f.address).join(', ')}` },
        { file },
      ),
    ];
  return [
    emit(
      WELLKNOWN.addresses,
      'fail',
      {
        detail: `Split brain: ${fetches.map((f) => `${f.address} (${family(f.address)}) gives ${summary(f)}`).join('; ')}. Peers that reach the other address see a different server`,
        fix: `Make every A/AAAA address of the base domain serve the same file, or remove the record of the address that is wrong (a stale AAAA is the usual cause)`,
        evidence: { addresses: fetches.map((f) => f.address) },
      },
      { file },
    ),
  ];
}

// ---------------------------------------------------------------------------------------------
// Client file

/** The spec's client discovery algorithm, step by step, on the gathered facts. */
export function clientDiscoveryState(facts: WellKnownFacts): WellKnownVerdict['clientDiscovery'] {
  const main = primary(facts.client);
  const final = main?.chain.final;
  if (!main || !final)
    return {
      state: 'FAIL_PROMPT',
      reason: main ? `the file could not be fetched: ${describeChain(main.chain)}` : 'the base domain has no address',
    };
  const untrustedFile = untrustedHop(main.chain);
  if (untrustedFile)
    return {
      state: 'FAIL_PROMPT',
      reason: `the file is served with a certificate clients refuse (${untrustedFile.error} at ${untrustedFile.url})`,
    };
  if (final.status === 404) return { state: 'IGNORE', reason: 'no client well-known file (404)' };
  if (final.status !== 200 || final.body.trim() === '')
    return { state: 'FAIL_PROMPT', reason: `answered ${final.status}${final.body.trim() === '' ? ' with an empty body' : ''}` };
  const doc = parseObject(final.body);
  if (!doc) return { state: 'FAIL_PROMPT', reason: 'the body is not a JSON object' };
  const homeserver = doc['m.homeserver'];
  const rawBaseUrl = typeof homeserver === 'object' && homeserver !== null ? (homeserver as Record<string, unknown>).base_url : undefined;
  if (rawBaseUrl === undefined) return { state: 'FAIL_PROMPT', reason: 'm.homeserver.base_url is missing' };
  const baseUrl = urlAt(doc, 'm.homeserver');
  if (!baseUrl) return { state: 'FAIL_ERROR', reason: `m.homeserver.base_url ${JSON.stringify(rawBaseUrl)} is not a valid URL` };
  const versions = facts.versions?.chain.final;
  const untrustedVersions = facts.versions && untrustedHop(facts.versions.chain);
  if (untrustedVersions)
    return {
      state: 'FAIL_ERROR',
      reason: `${baseUrl} has a certificate clients refuse (${untrustedVersions.error} at ${untrustedVersions.url})`,
      baseUrl,
      cause: 'homeserver',
    };
  if (!versions || versions.status !== 200 || !hasVersions(versions.body)) {
    return {
      state: 'FAIL_ERROR',
      reason: `${baseUrl} does not answer /_matrix/client/versions with a versions list (${facts.versions ? describeChain(facts.versions.chain) : 'not asked'})`,
      baseUrl,
      cause: 'homeserver',
    };
  }
  const identity = doc['m.identity_server'];
  if (identity !== undefined) {
    const identityUrl = urlAt(doc, 'm.identity_server');
    const rawIdentity = typeof identity === 'object' && identity !== null ? (identity as Record<string, unknown>).base_url : undefined;
    if (rawIdentity === undefined) return { state: 'FAIL_PROMPT', reason: 'm.identity_server has no base_url', baseUrl, cause: 'identity' };
    if (!identityUrl || facts.identity?.chain.final?.status !== 200 || untrustedHop(facts.identity.chain)) {
      return {
        state: 'FAIL_ERROR',
        reason: `the identity server ${JSON.stringify(rawIdentity)} does not answer /_matrix/identity/v2`,
        baseUrl,
        cause: 'identity',
      };
    }
  }
  return { state: 'SUCCESS', reason: `clients find ${baseUrl}`, baseUrl };
}

function hasVersions(body: string): boolean {
  const doc = parseObject(body);
  return Array.isArray(doc?.versions) && (doc.versions as unknown[]).every((v) => typeof v === 'string');
}

function clientFileFindings(facts: WellKnownFacts, plan: Plan | undefined, discovery: WellKnownVerdict['clientDiscovery']): Finding[] {
  if (facts.client.length === 0) return [];
  const url = `https://${facts.serverName}/.well-known/matrix/client`;
  const expectedBaseUrl = (plan?.wellKnown.client['m.homeserver'] as { base_url?: string } | undefined)?.base_url;
  const fix = `Serve {"m.homeserver": {"base_url": "${expectedBaseUrl ?? `https://matrix.${facts.serverName}`}"}} at ${url} (${STAGE})`;
  const discoveryFix = {
    file: fix,
    homeserver: `Make ${discovery.baseUrl} answer /_matrix/client/versions over HTTPS with a valid certificate (run checks/federation.ts for the certificate, and check the reverse proxy)`,
    identity:
      'Remove m.identity_server from the client file (MDAD: unset matrix_identity_server_url), or make the identity server answer /_matrix/identity/v2',
  }[discovery.cause ?? 'file'];
  const findings: Finding[] = [
    emit(
      WELLKNOWN.clientDiscovery,
      discovery.state === 'SUCCESS' ? 'pass' : discovery.state === 'IGNORE' ? (plan ? 'fail' : 'warn') : 'fail',
      {
        detail: `${discovery.state}: ${discovery.reason}${discovery.state === 'IGNORE' ? '; users must type the homeserver URL by hand' : ''}`,
        ...(discovery.state === 'SUCCESS' ? {} : { fix: discoveryFix }),
        evidence: { state: discovery.state, baseUrl: discovery.baseUrl },
      },
    ),
  ];
  const main = primary(facts.client)!;
  const final = main.chain.final;
  if (final?.status !== 200) return [...findings, ...consistencyFindings(facts.client, 'client')];
  findings.push(corsFinding(main.chain, WELLKNOWN.clientCors));
  const type = contentType(final);
  findings.push(
    type === 'application/json'
      ? emit(WELLKNOWN.clientContentType, 'pass', { detail: 'application/json' })
      : emit(WELLKNOWN.clientContentType, 'fail', {
          detail: `Served as ${type || 'no content type'}: Element X and Element Call refuse it (MISSING_MATRIX_RTC_FOCUS, "server not supported"), MDAD #4763`,
          fix: 'Serve it with Content-Type: application/json (nginx: default_type application/json; in the location)',
        }),
  );
  const doc = parseObject(final.body);
  const baseUrl = urlAt(doc, 'm.homeserver');
  if (baseUrl && new URL(baseUrl).protocol !== 'https:') {
    findings.push(
      emit(WELLKNOWN.clientHttps, 'fail', { detail: `m.homeserver.base_url is ${baseUrl}: clients send passwords over plain HTTP`, fix }),
    );
  }
  if (baseUrl && expectedBaseUrl && baseUrl.replace(/\/+$/, '') !== expectedBaseUrl.replace(/\/+$/, '')) {
    findings.push(
      emit(WELLKNOWN.clientHomeserver, 'warn', {
        detail: `m.homeserver.base_url is ${baseUrl}, the configuration says ${expectedBaseUrl}`,
        fix,
      }),
    );
  }
  if (facts.versions?.chain.final?.status === 200) findings.push(corsFinding(facts.versions.chain, WELLKNOWN.versionsCors));
  findings.push(...rtcFociFindings(doc, plan));
  findings.push(...consistencyFindings(facts.client, 'client'));
  return findings;
}

/** Browsers apply CORS to every hop: a redirect without the header stops them there (MDAD #4650). */
function corsFinding(chain: FetchChain, spec: FindingSpec): Finding {
  const missing = chain.hops.filter((h) => h.outcome.ok && !h.outcome.headers['access-control-allow-origin']);
  if (missing.length === 0) {
    return emit(spec, 'pass', { detail: `Access-Control-Allow-Origin on every hop (${chain.hops.length})` });
  }
  const hops = missing.map((h) => `${h.outcome.ok ? h.outcome.status : ''} from ${h.url}`).join('; ');
  const redirect = missing.some((h) => h.outcome.ok && h.outcome.status >= 300 && h.outcome.status < 400);
  return emit(spec, 'fail', {
    detail: `No Access-Control-Allow-Origin on ${hops}: web clients (Element Web, admin UIs) cannot read it${redirect ? '; browsers check every redirect, so the header must be on the 30x too' : ''}`,
    fix: `Add the header where it is answered: nginx \`add_header Access-Control-Allow-Origin * always;\`${redirect ? ' in the location that redirects' : ''} (${STAGE})`,
  });
}

function rtcFociFindings(doc: Record<string, unknown> | undefined, plan: Plan | undefined): Finding[] {
  const expected = plan?.wellKnown.client['org.matrix.msc4143.rtc_foci'];
  const served = doc?.['org.matrix.msc4143.rtc_foci'];
  if (expected !== undefined && (!Array.isArray(served) || served.length === 0)) {
    return [
      emit(WELLKNOWN.rtcFoci, 'fail', {
        detail:
          'The configuration enables MatrixRTC (Element Call) but the client well-known has no org.matrix.msc4143.rtc_foci: calls fail with MISSING_MATRIX_RTC_FOCUS',
        fix: `Serve the playbook's current file: add "org.matrix.msc4143.rtc_foci": ${JSON.stringify(expected)} (better: proxy /.well-known/matrix to the Matrix host, ${STAGE})`,
      }),
    ];
  }
  if (Array.isArray(served) && served.length > 0)
    return [emit(WELLKNOWN.rtcFoci, 'pass', { detail: `${served.length} focus/foci: ${JSON.stringify(served)}` })];
  return [];
}

// ---------------------------------------------------------------------------------------------

/** MSC1929 (spec v1.10): contacts with a role and a way to reach them, or a support page. */
function supportFindings(facts: WellKnownFacts): Finding[] {
  const final = facts.support?.final;
  if (!final) return [];
  if (final.status === 404)
    return [emit(WELLKNOWN.support, 'info', { detail: 'No /.well-known/matrix/support (optional: lets people find the server admin)' })];
  const doc = parseObject(final.body);
  const problems: string[] = [];
  if (final.status !== 200 || !doc) problems.push(`answers ${final.status}${doc ? '' : ' without a JSON object'}`);
  else {
    const contacts = doc.contacts;
    if (contacts === undefined && doc.support_page === undefined) problems.push('has neither contacts nor support_page');
    if (contacts !== undefined && (!Array.isArray(contacts) || (doc.support_page === undefined && contacts.length === 0)))
      problems.push('contacts must be a non-empty list');
    for (const contact of Array.isArray(contacts) ? contacts : []) {
      const c = contact as Record<string, unknown>;
      if (typeof c.role !== 'string') problems.push('a contact has no role');
      if (c.matrix_id === undefined && c.email_address === undefined) problems.push('a contact has neither matrix_id nor email_address');
    }
  }
  if (problems.length === 0) return [emit(WELLKNOWN.support, 'pass', { detail: 'Valid MSC1929 support file' })];
  return [
    emit(WELLKNOWN.support, 'warn', {
      detail: `The support file ${[...new Set(problems)].join('; ')}`,
      fix: 'Serve {"contacts": [{"role": "m.role.admin", "matrix_id": "@admin:<server name>"}]} (matrix_static_files_file_matrix_support_enabled: true)',
    }),
  ];
}

/** MDAD's self-check demands the base domain's copies equal the Matrix host's (docs/playbook.md "Self-check"). */
function copyFindings(facts: WellKnownFacts): Finding[] {
  const copies = facts.matrixHost;
  if (!copies) return [];
  return (['server', 'client'] as const).flatMap((file): Finding[] => {
    const subject = { file, host: facts.serverName };
    const ours = primary(facts[file])?.chain.final;
    const here = parseObject(ours?.status === 200 ? ours.body : undefined);
    const there = parseObject(copies[file].final?.status === 200 ? copies[file].final?.body : undefined);
    if (!here || !there) return [];
    const differences = diffObjects(here, there);
    if (differences.length === 0)
      return [emit(WELLKNOWN.copy, 'pass', { detail: `Same as https://${copies.host}/.well-known/matrix/${file}` }, subject)];
    return [
      emit(
        WELLKNOWN.copy,
        'fail',
        {
          detail: `Differs from https://${copies.host}/.well-known/matrix/${file} (the playbook's current copy): ${differences.join('; ')}. A copy made once goes stale when the playbook changes it`,
          fix: `Proxy or redirect /.well-known/matrix to https://${copies.host} instead of copying (${STAGE})`,
        },
        subject,
      ),
    ];
  });
}

/** Key order does not make two documents different. */
function stable(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  try {
    return canonicalJson(value);
  } catch {
    return JSON.stringify(value);
  }
}

function diffObjects(here: Record<string, unknown>, there: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(here), ...Object.keys(there)])].sort();
  return keys.flatMap((key) => {
    if (stable(here[key]) === stable(there[key])) return [];
    const a = JSON.stringify(here[key]);
    const b = JSON.stringify(there[key]);
    if (a === undefined) return [`${key} is missing here (Matrix host: ${b})`];
    if (b === undefined) return [`${key} is only here (${a})`];
    return [`${key} is ${a} here, ${b} on the Matrix host`];
  });
}
