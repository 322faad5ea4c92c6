// TURN rules: pure functions from the gathered facts (turn-gather.ts) to findings. Each URI is
// judged step by step as a calling client meets it: its host, the port, TLS, the 401 challenge
// and the authenticated Allocate, the integrity of the answers, the relayed address, data
// through the relay, and the release. Only the first step that fails is reported for a URI,
// with the steps after it named as not tried (docs/failure-modes.md "No TURN configured",
// "Wrong TURN external address", "TURN ports blocked").
import { withheldFindings } from './credentials.ts';
import { emit } from '../core/catalogue.ts';
import type { Finding } from '../core/finding.ts';
import type { AddressLookup } from '../facts/dns.ts';
import { CREDENTIAL_LABEL, type CredentialSource, type TurnFacts, type UriFact } from '../facts/turn.ts';
import type { Exchange, TurnProbeFacts } from '../facts/turn.ts';
import {
  addressScope,
  portLabel,
  RERUN_ALL,
  RERUN_COTURN,
  routedServerAddresses,
  SCOPE_TEXT,
  uriSubjects,
  type TurnPlan,
  type TurnUri,
} from '../facts/turn-config.ts';
import { TURN } from '../findings/turn.ts';
import { rtcFindings } from './matrix-rtc.ts';

const DEFAULT_PORTS = '3478/tcp, 3478/udp, 5349/tcp, 5349/udp and 49152-49172/udp';

function coturnPorts(plan: TurnPlan | undefined): string {
  return plan && plan.ports.length > 0 ? plan.ports.join(', ') : DEFAULT_PORTS;
}

function firewallFix(plan: TurnPlan | undefined, port: string): string {
  return `Open ${port} in every firewall in front of the server (the host's, the provider's security group, the router's port forwarding); coturn needs ${coturnPorts(plan)}. If it is open, check that coturn runs: systemctl status matrix-coturn`;
}

export function judgeTurn(facts: TurnFacts): Finding[] {
  return [
    ...withheldFindings(TURN.withheld, [facts.login, facts.turnServer, facts.logout]),
    ...homeserverFindings(facts),
    ...configFindings(facts),
    ...facts.uris.flatMap((u, i) => uriFindings(facts, u, subjects(facts)[i]!)),
    ...rtcFindings(facts),
  ];
}

function subjects(facts: TurnFacts): string[] {
  const parsed = facts.uris.map((u) => (u.parse.ok ? u.parse.value : undefined));
  const named = uriSubjects(parsed.filter((u): u is TurnUri => u !== undefined));
  let next = 0;
  return parsed.map((u, i) => (u ? named[next++]! : `uri-${i + 1}`));
}

// ---------------------------------------------------------------------------------------------
// The homeserver: what it hands to a logged-in client

function homeserverFindings(facts: TurnFacts): Finding[] {
  if (facts.auth === 'none') return [];
  const findings: Finding[] = [];
  const hs = facts.homeserver;
  if (!hs?.baseUrl) {
    return [
      emit(TURN.homeserverDiscovery, 'fail', {
        detail: `Could not find the homeserver of ${facts.serverName}: ${hs?.problem ?? 'no client well-known'}`,
        fix: `Serve https://${facts.serverName}/.well-known/matrix/client (see: npx tsx checks/wellknown.ts ${facts.serverName}), or pass --homeserver https://matrix.${facts.serverName}`,
      }),
    ];
  }
  if (hs.from === 'plan') {
    findings.push(
      emit(TURN.homeserverDiscovery, 'warn', {
        detail: `${hs.problem}; used the homeserver of vars.yml instead: ${hs.baseUrl}`,
        fix: `Clients cannot find the homeserver either: fix the client well-known (npx tsx checks/wellknown.ts ${facts.serverName})`,
      }),
    );
  } else {
    findings.push(
      emit(TURN.homeserverDiscovery, 'pass', {
        detail: `${hs.baseUrl} (from ${hs.from === '--homeserver' ? '--homeserver' : `https://${facts.serverName}/.well-known/matrix/client`})`,
      }),
    );
  }

  const api = facts.api;
  if (api && (api.status !== 200 || api.tlsError || api.failure)) {
    const why = api.failure ?? (api.tlsError ? `its certificate does not verify (${api.tlsError})` : `it answered ${api.status}`);
    findings.push(
      emit(TURN.homeserverApi, 'fail', {
        detail: `${api.url}: ${why}; no credentials were sent to it, so the homeserver's TURN configuration is unknown`,
        fix: api.tlsError
          ? `Give ${new URL(api.url).hostname} a valid certificate (clients refuse this one); with MDAD, Traefik obtains it when the DNS record exists: npx tsx checks/dns.ts ${facts.serverName}`
          : `Make the client API reachable at ${hs.baseUrl} (port 443 open, the reverse proxy running), or pass the right --homeserver`,
        evidence: { ...api },
      }),
    );
    return findings;
  }
  if (hs.plainHttp) {
    findings.push(
      emit(TURN.homeserverApi, 'fail', {
        detail: `${hs.baseUrl} is plain HTTP on a non-local address: no credentials are sent over it`,
        fix: `Pass the https:// address of the homeserver (--homeserver https://matrix.${facts.serverName})`,
      }),
    );
    return findings;
  }
  if (facts.login) findings.push(loginFinding(facts.login));
  if (facts.turnServer) findings.push(turnServerFinding(facts));
  if (facts.logout) {
    const ok = facts.logout.status === 200;
    findings.push(
      emit(TURN.homeserverLogout, ok ? 'pass' : 'warn', {
        detail: ok
          ? 'Logged out again: the access token of this check is gone'
          : `Logout answered ${facts.logout.status ?? facts.logout.failure}: the session of this check is still open`,
        ...(ok ? {} : { fix: 'Remove the session "matrix-selfhost-toolkit TURN check" in Element: Settings → Sessions' }),
      }),
    );
  }
  return findings;
}

function loginFinding(login: NonNullable<TurnFacts['login']>): Finding {
  const spec = TURN.homeserverLogin;
  if (login.status === 200) return emit(spec, 'pass', { detail: `Logged in as ${login.userId ?? 'the user'}` });
  if (login.status === 403 || login.errcode === 'M_FORBIDDEN') {
    return emit(spec, 'fail', {
      detail: `The homeserver refused the user name or password (${login.status} ${login.errcode ?? ''})`.trim(),
      fix: 'Check --user and MATRIX_PASSWORD; to create a test user: just register-user turntest <password> no',
    });
  }
  return emit(spec, 'fail', {
    detail: `Login failed: ${login.failure ?? `${login.status} ${login.errcode ?? ''}`.trim()}`,
    fix:
      login.status === 429
        ? 'Rate-limited: wait a minute and run the check again'
        : 'Check that password login is enabled (with MAS, log in once in Element and pass MATRIX_ACCESS_TOKEN instead)',
  });
}

/** F9: with nothing configured Synapse answers 200 {} and Element says "Call failed due to misconfigured server". */
function turnServerFinding(facts: TurnFacts): Finding {
  const t = facts.turnServer!;
  const plan = facts.plan;
  const spec = TURN.homeserverTurnServer;
  const evidence = { url: t.url, status: t.status, uris: t.uris, ttl: t.ttl };
  if (t.status === 401 || t.errcode === 'M_UNKNOWN_TOKEN' || t.errcode === 'M_MISSING_TOKEN') {
    return emit(spec, 'fail', {
      detail: `The access token was refused (${t.status} ${t.errcode ?? ''})`.trim(),
      fix: 'Give a valid token in MATRIX_ACCESS_TOKEN (Element: Settings → Help & About → Access token), or log in with --user',
      evidence,
    });
  }
  if (t.status === 429) return emit(spec, 'warn', { detail: 'Rate-limited (429)', fix: 'Wait a minute and run the check again', evidence });
  if (t.status !== 200 || !t.json) {
    return emit(spec, 'fail', {
      detail: `${t.url} answered ${t.failure ?? t.status}${t.json ? '' : ' without a JSON object'}`,
      fix: 'Check that Synapse is running and reachable through the reverse proxy (systemctl status matrix-synapse)',
      evidence,
    });
  }
  if (t.uris.length === 0) {
    const fix = plan?.coturnEnabled
      ? `vars.yml enables coturn but Synapse has no turn_uris: the playbook has not been run since; run: ${RERUN_ALL}`
      : `Add to vars.yml: coturn_enabled: true and coturn_turn_external_ip_addresses: ['<the server's public IPv4>'], open ${coturnPorts(plan)}, then run: ${RERUN_ALL}`;
    return emit(spec, 'fail', {
      detail: `${t.url} answered 200 ${t.badUris ? 'with unusable uris' : 'without uris'}: no TURN server is configured. Element Web shows "Call failed due to misconfigured server" and calls between different networks ring but never connect`,
      fix,
      evidence,
    });
  }
  if (!t.hasUsername || !t.hasPassword) {
    return emit(spec, 'fail', {
      detail: `${t.uris.length} URI(s) but no username/password: Synapse has turn_uris without turn_shared_secret (or turn_username/turn_password)`,
      fix: `With MDAD, do not set matrix_synapse_turn_* by hand; coturn_enabled: true sets them all; run: ${RERUN_ALL}`,
      evidence,
    });
  }
  return emit(spec, 'pass', { detail: `${t.uris.length} URI(s): ${t.uris.join(', ')}; credentials valid for ${t.ttl ?? '?'} s`, evidence });
}

// ---------------------------------------------------------------------------------------------
// Which URIs were probed, and the plan compared with the homeserver

function configFindings(facts: TurnFacts): Finding[] {
  const findings: Finding[] = [];
  const plan = facts.plan;
  if (facts.uris.length === 0) {
    if (plan && !plan.coturnEnabled && facts.source.uris === 'none' && !facts.turnServer) {
      findings.push(
        emit(TURN.configUris, 'fail', {
          detail:
            'vars.yml does not enable coturn (since 2026-02-21 it is only on by default with Jitsi): calls between different networks ring but never connect, Element shows "Call failed due to misconfigured server"',
          fix: `Add to vars.yml: coturn_enabled: true and coturn_turn_external_ip_addresses: ['<the server's public IPv4>'], open ${DEFAULT_PORTS}, then run: ${RERUN_ALL}`,
        }),
      );
    } else if (!facts.turnServer || facts.turnServer.uris.length > 0) {
      findings.push(
        emit(TURN.configUris, 'skip', {
          detail:
            'Nothing to probe: give MATRIX_ACCESS_TOKEN (or --user) to ask the homeserver, --vars/--playbook, or --turn-uri with TURN_SECRET',
        }),
      );
    }
    return findings;
  }
  const sourceText = {
    homeserver: 'the homeserver (voip/turnServer)',
    plan: 'vars.yml (coturn_turn_uris)',
    'turn-uri': '--turn-uri',
    none: '',
  }[facts.source.uris];
  const ignored = facts.source.ignoredTurnUris ? `; --turn-uri ignored: ${sourceText} comes first` : '';
  findings.push(
    emit(TURN.configUris, 'info', {
      detail: `${facts.uris.length} from ${sourceText}, with ${CREDENTIAL_LABEL[facts.source.credentials]}${facts.source.alternative ? `; cross-checked with ${CREDENTIAL_LABEL[facts.source.alternative]}` : ''}${ignored}`,
    }),
  );
  const bad = facts.uris.filter((u) => !u.parse.ok).map((u) => (u.parse.ok ? '' : `${u.parse.uri} (${u.parse.problem})`));
  if (bad.length > 0) {
    findings.push(
      emit(TURN.configSyntax, 'fail', {
        detail: `Clients skip: ${bad.join('; ')}`,
        fix: 'Write turn_uris as turn:HOST?transport=udp, turn:HOST?transport=tcp, turns:HOST?transport=tcp (with MDAD leave them to the playbook: coturn_turn_uris)',
      }),
    );
  }
  if (plan?.coturnEnabled && facts.source.uris === 'homeserver') {
    const hosts = [...new Set(facts.uris.flatMap((u) => (u.parse.ok ? [u.parse.value.host] : [])))];
    if (hosts.length > 0 && !hosts.includes(plan.coturnHost)) {
      findings.push(
        emit(TURN.configPlan, 'warn', {
          detail: `Synapse hands out ${hosts.join(', ')}, vars.yml puts coturn at ${plan.coturnHost}`,
          fix: `Run the playbook so Synapse gets the current turn_uris: ${RERUN_ALL}; do not set matrix_synapse_turn_uris by hand`,
        }),
      );
    }
  }
  return findings;
}

// ---------------------------------------------------------------------------------------------
// One URI, step by step

/** What fills the id and titles of a URI's findings: its subject (turn-udp-3478), the URI, its host and port. */
type UriSubject = {
  uri: string;
  turnUri: string;
  host: string;
  port: number;
};

function uriFindings(facts: TurnFacts, fact: UriFact, subject: string): Finding[] {
  if (!fact.parse.ok) return [];
  const uri = fact.parse.value;
  const at: UriSubject = { uri: subject, turnUri: uri.uri, host: uri.host, port: uri.port };
  const evidence = { uri: uri.uri };
  if (fact.skipped) return [emit(TURN.uriReach, 'skip', { detail: fact.skipped, evidence }, at)];
  const findings: Finding[] = [];
  const dns = dnsFinding(facts, uri, fact.lookup, at);
  findings.push(dns);
  const probe = fact.probe;
  if (!probe) return findings;
  const notTried = (what: string) => `; not tried after that: ${what}`;
  const reach = reachFinding(facts, uri, probe, at, notTried('TURN allocation, relay'));
  findings.push(reach);
  if (probe.connection.ok && probe.connection.tls) findings.push(tlsFinding(uri, probe, at));
  if (reach.status === 'fail') return findings;
  const auth = authFinding(facts, uri, probe, at);
  findings.push(auth);
  const integrity = integrityFinding(probe, at);
  if (integrity) findings.push(integrity);
  if (auth.status === 'pass') {
    const relayed = relayedFinding(facts, uri, probe, fact.lookup, at);
    if (relayed) findings.push(relayed);
    const relay = relayFinding(facts, probe, at);
    if (relay) findings.push(relay);
  }
  if (probe.release.allocations > 0) findings.push(releaseFinding(probe, at));
  return findings;
}

function dnsFinding(facts: TurnFacts, uri: TurnUri, lookup: AddressLookup | undefined, at: UriSubject): Finding {
  const addresses = lookup ? [...lookup.ipv4, ...lookup.ipv6] : [];
  const server = facts.server;
  const record = (ip: string) => `${uri.host}. 3600 IN ${ip.includes(':') ? 'AAAA' : 'A'} ${ip}`;
  const evidence = { host: uri.host, addresses, server: server.addresses, serverFrom: server.from };
  if (addresses.length === 0) {
    const why = lookup?.error ?? (lookup?.missing ? 'NXDOMAIN (no such name)' : 'no A or AAAA record');
    return emit(
      TURN.uriDns,
      'fail',
      {
        detail: `${uri.uri}: ${uri.host} does not resolve (${why}); clients cannot reach this TURN server`,
        fix: server.addresses[0]
          ? `Add at your DNS provider: ${record(server.addresses[0])} — or hand out a name that resolves (MDAD: coturn_hostname in vars.yml, then ${RERUN_ALL})`
          : `Add an A record for ${uri.host} pointing at the server, or hand out a name that resolves (MDAD: coturn_hostname in vars.yml)`,
        evidence,
      },
      at,
    );
  }
  // An address of a family the server has, that is not the server's: clients of that family
  // (IPv4 first, for most) reach another machine even when the other family's record is right.
  const serverOfFamily = (ip: string) => server.addresses.find((s) => s.includes(':') === ip.includes(':'));
  const stray = addresses.filter((ip) => !server.addresses.includes(ip) && serverOfFamily(ip) !== undefined);
  const noneRight = !addresses.some((ip) => server.addresses.includes(ip));
  if (server.addresses.length > 0 && (noneRight || stray.length > 0)) {
    const right = noneRight ? server.addresses[0]! : serverOfFamily(stray[0]!)!;
    return emit(
      TURN.uriDns,
      server.strict ? 'fail' : 'warn',
      {
        detail: noneRight
          ? `${uri.host} resolves to ${addresses.join(', ')}, but the server is ${server.addresses.join(', ')} (${server.from})`
          : `${uri.host} resolves to ${stray.join(', ')} as well as to the server (${server.addresses.join(', ')}, ${server.from}): clients that use ${stray.join(', ')} reach another machine`,
        fix: `Change the record at your DNS provider to: ${record(right)}${server.strict ? '' : ' — unless coturn really runs on another machine (then pass --expect-ip with its address)'}`,
        evidence,
      },
      at,
    );
  }
  return emit(
    TURN.uriDns,
    'pass',
    { detail: `${addresses.join(', ')}${server.addresses.length ? ` (the server, from ${server.from})` : ''}`, evidence },
    at,
  );
}

function exchangeFailure(e: Exchange): string {
  if (e.ok) return e.error ? `${e.error.code} ${e.error.reason}` : e.cls;
  const discarded = e.discarded.length ? `; discarded what came back: ${[...new Set(e.discarded)].join('; ')}` : '';
  return `${e.message}${discarded}`;
}

function reachFinding(facts: TurnFacts, uri: TurnUri, probe: TurnProbeFacts, at: UriSubject, after: string): Finding {
  const port = portLabel(uri);
  const conn = probe.connection;
  const via = probe.target.via;
  const where = `${probe.target.address}:${port}${via ? ` (reached at ${via.address}:${via.port} through --connect-to)` : ''}`;
  const evidence = { address: probe.target.address, port: uri.port, transport: uri.scheme === 'turns' ? 'tls' : uri.transport };
  if (!conn.ok) {
    const detail = {
      refused: `Connection to ${where} refused: nothing listens there`,
      timeout: `No answer from ${where} within ${facts.timeoutMs} ms: a firewall drops it, or the host is down`,
      unreachable: `${where} is unreachable (${conn.message})`,
      reset: `${where} reset the connection (${conn.message})`,
      tls: `TLS with ${where} failed: ${conn.message}`,
    }[conn.error];
    const fix =
      conn.error === 'tls'
        ? `coturn needs a certificate for ${uri.host} (MDAD takes Traefik's); check the coturn log: journalctl -u matrix-coturn`
        : conn.error === 'refused'
          ? `Start coturn (systemctl start matrix-coturn; journalctl -u matrix-coturn says why it stopped); if another port is meant, fix the URI. ${firewallFix(facts.plan, port)}`
          : firewallFix(facts.plan, port);
    return emit(TURN.uriReach, 'fail', { detail: `${detail}${after}`, fix, evidence }, at);
  }
  const binding = probe.binding;
  if (!binding) return emit(TURN.uriReach, 'skip', { detail: 'Not tried', evidence }, at);
  if (!binding.ok) {
    const udp = uri.transport === 'udp' && uri.scheme === 'turn';
    const detail =
      binding.error === 'timeout' && udp
        ? `No STUN answer from ${where} within ${facts.timeoutMs} ms (${binding.sent} Binding requests sent, retransmitted as RFC 8489 prescribes): the port is silent, a firewall drops it`
        : binding.error === 'timeout'
          ? `No STUN answer from ${where} within ${facts.timeoutMs} ms although the connection was accepted: what listens there is not a STUN server, or it hangs`
          : binding.error === 'refused'
            ? `${where} is closed (ICMP port unreachable): coturn does not listen there`
            : `${where} does not speak STUN: ${exchangeFailure(binding)}`;
    const fix =
      binding.error === 'malformed' || binding.error === 'closed' || (binding.error === 'timeout' && !udp)
        ? `Something else than coturn answers on ${port}: point the URI at coturn, or free the port for it`
        : firewallFix(facts.plan, port);
    return emit(TURN.uriReach, 'fail', { detail: `${detail}${after}`, fix, evidence: { ...evidence, sent: binding.sent } }, at);
  }
  const mapped = binding.mapped ? `; it sees this machine as ${binding.mapped.address}:${binding.mapped.port}` : '';
  return emit(
    TURN.uriReach,
    'pass',
    {
      detail: `STUN Binding answered in ${binding.elapsedMs} ms${binding.sent > 1 ? ` after ${binding.sent - 1} retransmission(s)` : ''}${mapped}${binding.software ? ` (${binding.software})` : ''}`,
      evidence: { ...evidence, mapped: binding.mapped },
    },
    at,
  );
}

function tlsFinding(uri: TurnUri, probe: TurnProbeFacts, at: UriSubject): Finding {
  const tls = probe.connection.ok ? probe.connection.tls! : undefined;
  const evidence = { subject: tls?.subject, issuer: tls?.issuer, sans: tls?.sans, validTo: tls?.validTo, protocol: tls?.protocol };
  if (tls?.authorized)
    return emit(
      TURN.uriTls,
      'pass',
      { detail: `${tls.subject ?? ''} issued by ${tls.issuer ?? '?'}, valid until ${tls.validTo ?? '?'} (${tls.protocol})`, evidence },
      at,
    );
  const names = tls?.sans.length ? tls.sans.join(', ') : (tls?.subject ?? 'no name');
  return emit(
    TURN.uriTls,
    'fail',
    {
      detail: `${uri.uri}: the certificate does not verify (${tls?.authorizationError}); it is for ${names}. Clients refuse turns: with it and fall back to plain TURN, or fail behind firewalls that only allow TLS`,
      fix: `coturn serves the certificate Traefik obtains for coturn_hostname: make coturn_hostname (vars.yml) the name in the URIs (${uri.host}) and give it a DNS record, then run: ${RERUN_COTURN}`,
      evidence,
    },
    at,
  );
}

function secretFix(facts: TurnFacts, probe: TurnProbeFacts): { detail: string; fix: string } {
  const used: CredentialSource = facts.source.credentials;
  const alt = probe.alternative;
  const altLabel = alt ? CREDENTIAL_LABEL[alt.label as CredentialSource] : '';
  if (used === 'homeserver' && alt?.accepted) {
    return {
      detail: `coturn refuses the credentials Synapse hands out but accepts ${altLabel}: Synapse's turn_shared_secret differs from coturn's static-auth-secret`,
      fix: `Remove any hand-set matrix_synapse_turn_shared_secret from vars.yml (MDAD derives it from matrix_homeserver_generic_secret_key), then run: ${RERUN_ALL}`,
    };
  }
  if (used === 'homeserver' && alt) {
    return {
      detail: `coturn refuses the credentials Synapse hands out and also ${altLabel}: coturn runs with another static-auth-secret`,
      fix: `Remove hand-set coturn_turn_static_auth_secret / matrix_synapse_turn_shared_secret from vars.yml so both are derived from matrix_homeserver_generic_secret_key, then run: ${RERUN_ALL}`,
    };
  }
  if (used === 'homeserver') {
    return {
      detail:
        "coturn refuses the credentials Synapse hands out: Synapse's turn_shared_secret and coturn's static-auth-secret differ (or the server clock is hours off)",
      fix: `With MDAD, remove hand-set matrix_synapse_turn_shared_secret / coturn_turn_static_auth_secret from vars.yml, then run: ${RERUN_ALL}. Elsewhere: make turn_shared_secret (homeserver.yaml) equal static-auth-secret (turnserver.conf) and restart both`,
    };
  }
  if (used === 'plan') {
    return {
      detail:
        'coturn refuses the static auth secret MDAD derives from vars.yml: coturn still runs with another one (vars.yml changed since the last run, or a hand-set coturn_turn_static_auth_secret)',
      fix: `Run the playbook so coturn and Synapse get the current secret: ${RERUN_ALL}`,
    };
  }
  return {
    detail: 'coturn refuses credentials made with TURN_SECRET: it is not the static-auth-secret coturn runs with',
    fix: 'Use the static-auth-secret of turnserver.conf (MDAD: /matrix/coturn/turnserver.conf) as TURN_SECRET',
  };
}

const ERROR_MEANING: Record<number, string> = {
  400: 'the server found the request malformed',
  403: 'forbidden by the server (quota or peer policy)',
  437: 'an allocation already exists for this connection',
  438: 'the nonce went stale twice in a row',
  441: 'wrong credentials for an existing allocation',
  442: 'the server does not relay UDP',
  486: "the user's allocation quota is reached (coturn user-quota)",
  508: 'the server is out of relay ports or capacity (coturn total-quota, min-port/max-port)',
};

function authFinding(facts: TurnFacts, uri: TurnUri, probe: TurnProbeFacts, at: UriSubject): Finding {
  const challenge = probe.challenge;
  const evidence = { realm: challenge?.realm };
  if (!challenge || !challenge.ok) {
    return emit(
      TURN.uriAuth,
      'fail',
      {
        detail: `The port answers STUN but not TURN Allocate (${challenge ? exchangeFailure(challenge) : 'no request'}): a STUN-only server, or TURN is switched off (coturn stun-only)`,
        fix: `Point the URI at coturn with TURN enabled (MDAD's coturn does both); run: ${RERUN_COTURN}`,
        evidence,
      },
      at,
    );
  }
  if (challenge.cls === 'success') {
    return emit(
      TURN.uriAuth,
      'fail',
      {
        detail: 'The server allocated a relay without asking for credentials: an open relay anyone can use to hide traffic',
        fix:
          'Turn authentication on: coturn_authentication_method: auth-secret (the MDAD default; remove no-auth from custom coturn settings), then run: ' +
          RERUN_COTURN,
        evidence,
      },
      at,
    );
  }
  if (challenge.error?.code !== 401 || !challenge.realm || !challenge.hasNonce) {
    return emit(
      TURN.uriAuth,
      'fail',
      {
        detail: `The first Allocate got ${exchangeFailure(challenge)} instead of the 401 challenge with REALM and NONCE${challenge.error && ERROR_MEANING[challenge.error.code] ? `: ${ERROR_MEANING[challenge.error.code]}` : ''}`,
        fix: `Check the coturn log (journalctl -u matrix-coturn) and its settings: ${RERUN_COTURN}`,
        evidence,
      },
      at,
    );
  }
  const allocate = probe.allocate;
  if (!allocate) {
    return emit(
      TURN.uriAuth,
      'skip',
      {
        detail: `The 401 challenge came (realm ${challenge.realm}), so TURN listens; no credentials to go further: give MATRIX_ACCESS_TOKEN or --user, --vars with the generic secret, or TURN_SECRET`,
        evidence,
      },
      at,
    );
  }
  if (!allocate.ok) {
    return emit(
      TURN.uriAuth,
      'fail',
      {
        detail: `The authenticated Allocate got no answer: ${exchangeFailure(allocate)}`,
        fix: `Check the coturn log: journalctl -u matrix-coturn. ${firewallFix(facts.plan, portLabel(uri))}`,
        evidence,
      },
      at,
    );
  }
  if (allocate.error?.code === 401) {
    const { detail, fix } = secretFix(facts, probe);
    return emit(
      TURN.uriAuth,
      'fail',
      {
        detail: `401 Unauthorized to the authenticated Allocate: ${detail}`,
        fix,
        evidence: { ...evidence, credentials: facts.source.credentials, alternative: probe.alternative },
      },
      at,
    );
  }
  if (allocate.error) {
    return emit(
      TURN.uriAuth,
      'fail',
      {
        detail: `Allocate refused: ${allocate.error.code} ${allocate.error.reason}${ERROR_MEANING[allocate.error.code] ? ` (${ERROR_MEANING[allocate.error.code]})` : ''}`,
        fix:
          allocate.error.code === 508 || allocate.error.code === 486
            ? 'Widen the relay range (coturn_turn_udp_min_port / coturn_turn_udp_max_port, and open it) or raise the quotas, then run: ' +
              RERUN_COTURN
            : `Check the coturn log (journalctl -u matrix-coturn); run: ${RERUN_COTURN}`,
        evidence: { ...evidence, code: allocate.error.code },
      },
      at,
    );
  }
  return emit(
    TURN.uriAuth,
    'pass',
    {
      detail: `401 challenge (realm ${challenge.realm}), then the authenticated Allocate succeeded with ${CREDENTIAL_LABEL[facts.source.credentials]}${allocate.lifetime ? `; lifetime ${allocate.lifetime} s` : ''}${allocate.staleNonceRetries ? '; one stale nonce renewed' : ''}`,
      evidence,
    },
    at,
  );
}

/** FINGERPRINT of every answer, MESSAGE-INTEGRITY of the authenticated ones. */
function integrityFinding(probe: TurnProbeFacts, at: UriSubject): Finding | undefined {
  const answers = [
    ['Binding', probe.binding],
    ['first Allocate', probe.challenge],
    ['Allocate', probe.allocate],
  ] as const;
  const decoded = answers.filter(([, e]) => e?.ok) as unknown as [string, Extract<Exchange, { ok: true }>][];
  if (decoded.length === 0) return undefined;
  const badFingerprint = decoded.filter(([, e]) => e.fingerprint === 'invalid').map(([n]) => n);
  const badIntegrity = decoded.filter(([, e]) => e.integrity === 'invalid').map(([n]) => n);
  const allocate = probe.allocate?.ok ? probe.allocate : undefined;
  if (badFingerprint.length || badIntegrity.length) {
    return emit(
      TURN.uriIntegrity,
      'fail',
      {
        detail: `${[...badFingerprint.map((n) => `${n}: FINGERPRINT wrong`), ...badIntegrity.map((n) => `${n}: MESSAGE-INTEGRITY wrong`)].join('; ')}: something between this machine and the server rewrites the answers, or the server computes them wrongly`,
        fix: 'Let TURN traffic reach coturn directly (no TCP/UDP proxy or DPI box rewriting it in between); coturn itself signs correctly',
      },
      at,
    );
  }
  if (allocate && allocate.cls === 'success' && allocate.integrity === 'absent') {
    return emit(
      TURN.uriIntegrity,
      'warn',
      {
        detail: 'The Allocate success carries no MESSAGE-INTEGRITY: clients cannot tell it comes from the server',
        fix: 'Use coturn (MDAD) or a TURN server that signs its answers (RFC 8656)',
      },
      at,
    );
  }
  const fp = decoded.filter(([, e]) => e.fingerprint === 'valid').length;
  return emit(
    TURN.uriIntegrity,
    'pass',
    {
      detail: `FINGERPRINT valid on ${fp} of ${decoded.length} answers${allocate?.integrity === 'valid' ? '; MESSAGE-INTEGRITY of the Allocate success verified with the credentials' : ''}`,
    },
    at,
  );
}

function relayedFinding(
  facts: TurnFacts,
  uri: TurnUri,
  probe: TurnProbeFacts,
  lookup: AddressLookup | undefined,
  at: UriSubject,
): Finding | undefined {
  const relayed = probe.allocate?.ok ? probe.allocate.relayed : undefined;
  if (!relayed) return undefined;
  const hostAddresses = lookup ? [...lookup.ipv4, ...lookup.ipv6] : [probe.target.address];
  const scope = addressScope(relayed.address);
  const evidence = { relayed, hostAddresses, scope };
  // The server's address when it is known (--expect-ip, the inventory), else what the host resolves to.
  const isPublic = (a: string) => addressScope(a) === 'public' && a.includes(':') === relayed.address.includes(':');
  const publicIp =
    (facts.server.strict ? facts.server.addresses.find(isPublic) : undefined) ??
    hostAddresses.find(isPublic) ??
    facts.server.addresses.find(isPublic);
  const externalIpFix = `Set the server's public address in vars.yml: coturn_turn_external_ip_addresses: ['${publicIp ?? "<the server's public IPv4>"}'] (behind NAT the router must forward ${coturnPorts(facts.plan)} to the server), then run: ${RERUN_COTURN}`;
  const range = facts.plan?.relayRange;
  const routedServer = routedServerAddresses(probe.target.via, facts.server);
  const whose = hostAddresses.includes(relayed.address)
    ? `the address ${uri.host} resolves to`
    : routedServer.includes(relayed.address)
      ? 'the address of the server reached through --connect-to'
      : undefined;
  if (whose) {
    if (range && (relayed.port < range.min || relayed.port > range.max)) {
      return emit(
        TURN.uriRelayedAddress,
        'warn',
        {
          detail: `Relayed ${relayed.address}:${relayed.port}, outside the relay range ${range.min}-${range.max} of vars.yml: the firewall opened for that range does not let this port through`,
          fix: `Run the playbook so coturn uses the configured range: ${RERUN_COTURN}`,
          evidence,
        },
        at,
      );
    }
    const note = scope === 'public' ? '' : ` (${SCOPE_TEXT[scope]}, as the server is reached from here: judge the public one from outside)`;
    return emit(TURN.uriRelayedAddress, 'pass', { detail: `Relayed ${relayed.address}:${relayed.port}, ${whose}${note}`, evidence }, at);
  }
  if (scope !== 'public') {
    return emit(
      TURN.uriRelayedAddress,
      'fail',
      {
        detail: `coturn hands out ${relayed.address}:${relayed.port}, ${SCOPE_TEXT[scope]}, as its relayed address: peers elsewhere cannot send to it, so calls ring but stay "connecting". coturn's external-ip is missing or wrong (auto-detection saw the inside of a NAT)`,
        fix: externalIpFix,
        evidence,
      },
      at,
    );
  }
  return emit(
    TURN.uriRelayedAddress,
    'fail',
    {
      detail: `coturn hands out ${relayed.address}:${relayed.port}, but ${uri.host} resolves to ${hostAddresses.join(', ')}: external-ip is stale (the server's address changed) or the DNS record is`,
      fix: `${externalIpFix}; or correct the DNS record of ${uri.host}`,
      evidence,
    },
    at,
  );
}

function relayFinding(facts: TurnFacts, probe: TurnProbeFacts, at: UriSubject): Finding | undefined {
  const trip = probe.roundTrip;
  if (!trip) return undefined;
  if (!trip.attempted) return emit(TURN.uriRelay, 'skip', { detail: `Not tried: ${trip.reason}` }, at);
  if (trip.ok) {
    return emit(
      TURN.uriRelay,
      'pass',
      {
        detail: `Two allocations permitted each other; data went from relay port ${trip.relayedA.port} to ${trip.relayedB.port} and back in ${trip.elapsedMs} ms`,
        evidence: { relayedA: trip.relayedA, relayedB: trip.relayedB },
      },
      at,
    );
  }
  const range = facts.plan?.relayRange ? `${facts.plan.relayRange.min}-${facts.plan.relayRange.max}/udp` : '49152-49172/udp';
  const code = trip.exchange?.ok ? trip.exchange.error?.code : undefined;
  if (trip.step === 'second allocation' && (code === 508 || code === 486)) {
    return emit(
      TURN.uriRelay,
      'fail',
      {
        detail: `${trip.step}: ${trip.message}: coturn has no relay port left (every call needs one per participant; coturn frees released ones a few seconds later)`,
        fix: `Widen the relay range (coturn_turn_udp_min_port / coturn_turn_udp_max_port, now ${range}) and open the new range in the firewall, then run: ${RERUN_COTURN}`,
      },
      at,
    );
  }
  if (trip.step === 'CreatePermission') {
    return emit(
      TURN.uriRelay,
      'fail',
      {
        detail: `${trip.message}: coturn refuses to relay to its own relayed address`,
        fix: "Check denied-peer-ip / allowed-peer-ip in the coturn configuration (coturn_*_peer_ip settings): the server's public address must be allowed as a peer",
      },
      at,
    );
  }
  return emit(
    TURN.uriRelay,
    'fail',
    {
      detail: `${trip.step}: ${trip.message}`,
      fix: `Open the relay range ${range} to the server (firewall, provider security group, router forwarding); coturn's min-port/max-port must match it`,
    },
    at,
  );
}

function releaseFinding(probe: TurnProbeFacts, at: UriSubject): Finding {
  const r = probe.release;
  if (r.released === r.allocations)
    return emit(TURN.uriRelease, 'pass', { detail: `${r.released} allocation(s) released with Refresh (lifetime 0)` }, at);
  return emit(
    TURN.uriRelease,
    'warn',
    {
      detail: `${r.allocations - r.released} of ${r.allocations} allocation(s) not released (${r.failures.join('; ')}); they expire by themselves after their lifetime`,
      fix: 'Nothing to do on the server; if this repeats, check that coturn answers Refresh (journalctl -u matrix-coturn)',
    },
    at,
  );
}
