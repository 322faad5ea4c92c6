// Outbound rules: pure functions from the outbound facts (probes/outbound-gather.ts) to findings.
// Where the remote fails from here as well, the failures of the homeserver's own steps name that
// finding as their cause (causedBy): the remote is down, not your server.
import { emit } from '../core/catalogue.ts';
import { type Finding, idPart } from '../core/finding.ts';
import type { CallFact, CanaryFact, ClientProbeFact, DestinationFact, InsideFacts, NotaryFact, OutboundFacts } from '../facts/outbound.ts';
import { withheldFindings } from './credentials.ts';
import { OUTBOUND } from '../findings/outbound.ts';

export interface OutboundJudgeContext {
  /** The clock, read once by the area. */
  now: number;
  /** The client API base URL a fix's command may name (default https://matrix.<server>). */
  baseUrl?: string;
}

const CLOCK_WARN_S = 10;
const CLOCK_FAIL_S = 120;

const remoteDownFix = (remote: string) =>
  `Nothing to fix on your server for this: ${remote} is down or its discovery is broken (run checks/federation.ts ${remote}); tell its admins, or choose another --remote`;

const remoteId = (remote: string) => `outbound.remote.${remote.toLowerCase().replace(/[^a-z0-9_-]+/g, '_')}`;

/** A call's answer in a few words: 404 M_NOT_FOUND "Room alias not found", or "no answer". */
function answerText(call: CallFact): string {
  return `${call.status ?? 'no answer'}${call.errcode ? ` ${call.errcode}` : ''}${call.error ? ` "${call.error}"` : ''}`;
}

/** What a client call's answer says about the homeserver reaching the remote. */
export function clientCause(call: CallFact): { reached: boolean; cause: string; fix: string } {
  const what = answerText(call);
  if (call.status === 200 || (call.status === 404 && call.errcode === 'M_NOT_FOUND'))
    return { reached: true, cause: `the remote answered (${call.status}) in ${call.elapsedMs} ms`, fix: '' };
  if (call.status === undefined && call.timedOut)
    return {
      reached: false,
      cause: `no answer within the check's timeout (${call.elapsedMs} ms): the homeserver was still trying to reach the remote`,
      fix: 'Packets to the remote are probably dropped: check the outgoing firewall of the server (port 443 and 8448 out) and the remote; then rerun with a longer --timeout',
    };
  if (call.status === undefined)
    return {
      reached: false,
      cause: `the homeserver's client API did not answer: ${call.failure}`,
      fix: 'Make the client API reachable first (see the wellknown area)',
    };
  if (call.status === 403 && /federation denied|not in whitelist|whitelist/i.test(call.error ?? ''))
    return {
      reached: false,
      cause: `${what}: federation_domain_whitelist does not list the remote`,
      fix: 'Add the remote to matrix_synapse_federation_domain_whitelist in vars.yml (or remove the list to federate with everyone), then rerun the playbook: just install-service synapse',
    };
  if (call.status === 504)
    return {
      reached: false,
      cause: `${what}: the remote did not answer the homeserver in time`,
      fix: 'Check the outgoing firewall of the server and whether the remote is up',
    };
  if (call.status === 502 || /failed to fetch/i.test(call.error ?? ''))
    return {
      reached: false,
      cause: `${what}: the homeserver could not reach the remote (DNS, connection or TLS failed from the server)`,
      fix: "Run this check with --playbook to test DNS and HTTPS from the server and the Synapse container; check the server's resolver and outgoing firewall",
    };
  if (call.status === 401) return { reached: false, cause: `${what}: the access token was refused`, fix: 'Give a valid access token' };
  return {
    reached: false,
    cause: `${what}`,
    fix: "See Synapse's log (journalctl -u matrix-synapse) for the federation request to the remote",
  };
}

function judgeNotary(n: NotaryFact, inbound: boolean, failedRemotes: Set<string>): Finding {
  const spec = inbound ? OUTBOUND.inbound : OUTBOUND.notary;
  const remote = inbound ? n.notary : n.about;
  const evidence = {
    url: n.call.url,
    status: n.call.status,
    keyIds: n.keyIds,
    validUntilTs: n.validUntilTs,
    minimumValidUntilTs: n.minimumValidUntilTs,
    elapsedMs: n.call.elapsedMs,
  };
  const subject = { remote };
  const caused = failedRemotes.has(remote) ? { causedBy: remoteId(remote) } : {};
  if (n.call.status === undefined && n.call.timedOut)
    return {
      ...emit(
        spec,
        'fail',
        {
          detail: `${n.notary} did not answer within the timeout: it was still trying to reach ${n.about}`,
          fix: 'Check the outgoing firewall of the server',
          evidence,
        },
        subject,
      ),
      ...caused,
    };
  if (n.call.status !== 200) {
    // The notary turned off (a proxy closing the path): not a fault of federation.
    return emit(
      spec,
      'skip',
      {
        detail: `${n.notary} offers no notary (POST /_matrix/key/v2/query: ${n.call.status ?? n.call.failure}${n.call.errcode ? ` ${n.call.errcode}` : ''}); ${inbound ? 'the inbound direction is judged by the federation area' : 'the client and inside steps judge outbound federation'}`,
        evidence,
      },
      subject,
    );
  }
  if (n.keyIds.length === 0)
    return {
      ...emit(
        spec,
        'fail',
        {
          detail: `${n.notary} answered with no key of ${n.about}: it could not reach ${n.about}`,
          fix: inbound
            ? 'Other servers cannot reach yours: run the federation area (checks/federation.ts) for the cause'
            : "Run the client steps (MATRIX_ACCESS_TOKEN) and the inside steps (--playbook) for the cause; check the server's resolver, outgoing firewall and federation_domain_whitelist",
          evidence,
        },
        subject,
      ),
      ...caused,
    };
  if ((n.validUntilTs ?? 0) < (n.minimumValidUntilTs ?? 0))
    return {
      ...emit(
        spec,
        'fail',
        {
          detail: `${n.notary} served a cached key of ${n.about} (valid until ${new Date(n.validUntilTs ?? 0).toISOString()}): it could not fetch a fresh one now`,
          fix: inbound
            ? 'Run the federation area (checks/federation.ts)'
            : "Check the server's resolver and outgoing firewall (rerun with --playbook for the inside steps)",
          evidence,
        },
        subject,
      ),
      ...caused,
    };
  return emit(
    spec,
    'pass',
    { detail: `${n.notary} fetched and signed ${n.keyIds.join(', ')} of ${n.about} in ${n.call.elapsedMs} ms`, evidence },
    subject,
  );
}

function judgeClient(p: ClientProbeFact, failedRemotes: Set<string>): Finding {
  const alias = clientCause(p.alias.call);
  const profile = clientCause(p.profile.call);
  const evidence = {
    alias: {
      alias: p.alias.alias,
      status: p.alias.call.status,
      errcode: p.alias.call.errcode,
      error: p.alias.call.error,
      elapsedMs: p.alias.call.elapsedMs,
    },
    profile: {
      userId: p.profile.userId,
      status: p.profile.call.status,
      errcode: p.profile.call.errcode,
      error: p.profile.call.error,
      elapsedMs: p.profile.call.elapsedMs,
    },
  };
  if (alias.reached && profile.reached)
    return emit(
      OUTBOUND.client,
      'pass',
      { detail: `room alias: ${alias.cause}; profile: ${profile.cause}`, evidence },
      { remote: p.remote },
    );
  // The most telling cause of the two: the whitelist, then a timeout, then the rest.
  const rank = (c: { reached: boolean; cause: string }) =>
    c.reached ? 0 : /whitelist/.test(c.cause) ? 3 : /timeout|in time/.test(c.cause) ? 2 : 1;
  const worst = rank(profile) > rank(alias) ? profile : alias;
  const down = failedRemotes.has(p.remote);
  const finding = emit(
    OUTBOUND.client,
    'fail',
    {
      detail: `room alias ${p.alias.alias}: ${alias.cause}; profile ${p.profile.userId}: ${profile.cause}`,
      fix: down ? remoteDownFix(p.remote) : worst.fix,
      evidence,
    },
    { remote: p.remote },
  );
  return down ? { ...finding, causedBy: remoteId(p.remote) } : finding;
}

function judgeDestination(d: DestinationFact, now: number, baseUrl: string): Finding {
  const subject = { destination: d.destination };
  const evidence = {
    failureTs: d.failureTs,
    retryLastTs: d.retryLastTs,
    retryIntervalMs: d.retryIntervalMs,
    lastSuccessfulStreamOrdering: d.lastSuccessfulStreamOrdering,
  };
  if (d.retryIntervalMs <= 0) return emit(OUTBOUND.backoff, 'pass', { evidence }, subject);
  const since = d.failureTs ? new Date(d.failureTs).toISOString() : 'unknown';
  const next = new Date(d.retryLastTs + d.retryIntervalMs);
  const detail = `failing since ${since}; next try ${next.toISOString()} (${Math.max(0, Math.round((next.getTime() - now) / 60_000))} min from now, interval ${Math.round(d.retryIntervalMs / 60_000)} min)`;
  if (d.reset?.status === 200) return emit(OUTBOUND.backoff, 'info', { detail: `reset with --apply (was ${detail})`, evidence }, subject);
  // curl's own bearer option, read as configuration from its standard input (printf is a shell
  // builtin): the token stays out of every process's argv, and curl sends it to this URL only.
  const command = `printf 'oauth2-bearer = "%s"\\n' "$MATRIX_ADMIN_TOKEN" | curl -K - -X POST ${baseUrl}/_synapse/admin/v1/federation/destinations/${encodeURIComponent(d.destination)}/reset_connection`;
  const failedReset = d.reset ? `; the reset failed: ${d.reset.status ?? d.reset.failure} ${d.reset.error ?? ''}` : '';
  return emit(
    OUTBOUND.backoff,
    'warn',
    {
      detail: detail + failedReset,
      fix: `When ${d.destination} is up again, end the wait: rerun this check with --apply, or ${command}`,
      evidence,
    },
    subject,
  );
}

function insideStepFinding(
  spec: typeof OUTBOUND.host,
  remote: string,
  target: string,
  step: InsideFacts['remotes'][number]['host'],
  down: boolean,
): Finding {
  const finding = insideStep(spec, remote, target, step);
  if (!down || finding.status !== 'fail') return finding;
  return { ...finding, fix: remoteDownFix(remote), causedBy: remoteId(remote) };
}

function insideStep(spec: typeof OUTBOUND.host, remote: string, target: string, step: InsideFacts['remotes'][number]['host']): Finding {
  const subject = { remote };
  if (!step) return emit(spec, 'skip', { detail: `no result for ${target}` }, subject);
  const evidence = { target, ...step };
  if (step.dnsError)
    return emit(
      spec,
      'fail',
      {
        detail: `${target.replace(/:\d+$/, '')} does not resolve there: ${step.dnsError}`,
        fix:
          spec === OUTBOUND.container
            ? "Docker's resolver forwards to the host's: check /etc/resolv.conf on the host, or set the container's DNS (matrix_synapse_container_extra_arguments: ['--dns=1.1.1.1'])"
            : 'Fix the resolver of the host (/etc/resolv.conf, systemd-resolved): resolvectl query ' + target.replace(/:\d+$/, ''),
        evidence,
      },
      subject,
    );
  if (step.httpError || step.status === undefined)
    return emit(
      spec,
      'fail',
      {
        detail: `HTTPS to ${target} (${step.addresses.join(', ')}) failed there: ${step.httpError ?? 'no answer'}`,
        fix: `Allow outgoing TCP to ${target.replace(/^.*:/, 'port ')} in the server's firewall (and the provider's), and check IPv6 routes if the addresses are IPv6`,
        evidence,
      },
      subject,
    );
  return emit(
    spec,
    'pass',
    { detail: `${target} resolves to ${step.addresses.join(', ')}, HTTPS answered ${step.status} in ${step.elapsedMs} ms`, evidence },
    subject,
  );
}

function judgeInside(inside: InsideFacts, failed: Set<string>): Finding[] {
  if (inside.problem)
    return [
      emit(OUTBOUND.inside, 'fail', {
        detail: `ansible on ${inside.host} (${inside.inventory}): ${inside.problem}`,
        fix: `Check that Ansible reaches the host: ansible -i ${inside.inventory} ${inside.host} -m ansible.builtin.ping`,
      }),
    ];
  const findings: Finding[] = [emit(OUTBOUND.inside, 'pass', { detail: `ansible on ${inside.host}` })];
  for (const r of inside.remotes) {
    findings.push(insideStepFinding(OUTBOUND.host, r.remote, r.target, r.host, failed.has(r.remote)));
    if (inside.containerProblem)
      findings.push(
        emit(
          OUTBOUND.container,
          'fail',
          {
            detail: `docker exec matrix-synapse failed: ${inside.containerProblem}`,
            fix: 'Check the container runs: docker ps --filter name=matrix-synapse; systemctl status matrix-synapse',
          },
          { remote: r.remote },
        ),
      );
    else findings.push(insideStepFinding(OUTBOUND.container, r.remote, r.target, r.container, failed.has(r.remote)));
  }
  const offsets = inside.remotes.map((r) => r.host?.clockOffsetS).filter((o): o is number => o !== undefined);
  if (offsets.length) {
    const sorted = [...offsets].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    const status = Math.abs(median) >= CLOCK_FAIL_S ? 'fail' : Math.abs(median) >= CLOCK_WARN_S ? 'warn' : 'pass';
    findings.push(
      emit(OUTBOUND.clock, status, {
        detail: `the remotes' clocks are ${median >= 0 ? 'ahead of' : 'behind'} the server's by ${Math.abs(median)} s (median of ${offsets.length})`,
        ...(status === 'pass' ? {} : { fix: 'Synchronise the clock: timedatectl set-ntp true; timedatectl timesync-status' }),
        evidence: { offsetsS: offsets },
      }),
    );
  }
  return findings;
}

export function judgeOutbound(facts: OutboundFacts, context: OutboundJudgeContext): Finding[] {
  const findings: Finding[] = [];
  const baseUrl = context.baseUrl ?? facts.client?.baseUrl ?? `https://matrix.${facts.serverName}`;
  const failed = new Set<string>();
  for (const r of facts.remotes) {
    if (r.problem) {
      failed.add(r.name);
      findings.push(
        emit(
          OUTBOUND.remote,
          'fail',
          {
            detail: `${r.problem}`,
            fix: remoteDownFix(r.name),
          },
          { remote: r.name },
        ),
      );
    } else findings.push(emit(OUTBOUND.remote, 'pass', { detail: `${r.target}, keys ${r.keyIds.join(', ')}` }, { remote: r.name }));
  }
  if (facts.localProblem)
    findings.push(
      emit(OUTBOUND.local, 'fail', {
        detail: `${facts.serverName}: ${facts.localProblem}`,
        fix: 'Federation looks turned off or unreachable (matrix_homeserver_federation_enabled, port 8448): run checks/federation.ts for the cause',
      }),
    );
  else findings.push(emit(OUTBOUND.local, 'pass', { detail: facts.localFederation ?? '' }));
  // Side by side: outbound then inbound for each remote.
  for (const r of facts.remotes) {
    const out = facts.outboundNotary.find((n) => n.about === r.name);
    if (out) findings.push(judgeNotary(out, false, failed));
    else if (!facts.localProblem)
      findings.push(
        emit(
          OUTBOUND.notary,
          'skip',
          { detail: `the key ids of ${r.name} are unknown (it does not answer from here): nothing to ask the notary for` },
          { remote: r.name },
        ),
      );
    const back = facts.inboundNotary.find((n) => n.notary === r.name);
    if (back) findings.push(judgeNotary(back, true, failed));
  }
  const calls = [
    facts.client?.whoami,
    ...(facts.client?.probes ?? []).flatMap((p) => [p.alias.call, p.profile.call]),
    facts.admin?.list,
    ...(facts.admin?.destinations ?? []).map((d) => d.reset),
    ...canaryCalls(facts.canary),
  ];
  findings.push(...withheldFindings(OUTBOUND.withheld, calls));
  if (!facts.client)
    findings.push(
      emit(OUTBOUND.token, 'skip', {
        detail: facts.homeserverProblem ?? 'no access token (MATRIX_ACCESS_TOKEN or --access-token-file): the client steps were not run',
      }),
    );
  else if (facts.client.whoami.withheld) {
    // said by the withheld finding above
  } else if (facts.client.whoami.status !== 200)
    findings.push(
      emit(OUTBOUND.token, 'fail', {
        detail:
          `GET /_matrix/client/v3/account/whoami: ${facts.client.whoami.status ?? facts.client.whoami.failure} ${facts.client.whoami.errcode ?? ''}`.trim(),
        fix: 'Give a valid access token of a user of this server (Element: Settings → Help & About → Access Token)',
      }),
    );
  else {
    findings.push(emit(OUTBOUND.token, 'pass', { detail: facts.client.baseUrl }));
    for (const p of facts.client.probes) findings.push(judgeClient(p, failed));
  }
  if (!facts.admin)
    findings.push(
      emit(OUTBOUND.destinations, 'skip', {
        detail: facts.homeserverProblem ?? 'no admin token (MATRIX_ADMIN_TOKEN or --admin-token-file): backoff not read',
      }),
    );
  else if (facts.admin.list.withheld) {
    // said by the withheld finding above
  } else if (facts.admin.list.status !== 200)
    findings.push(
      emit(OUTBOUND.destinations, 'fail', {
        detail:
          `GET /_synapse/admin/v1/federation/destinations: ${facts.admin.list.status ?? facts.admin.list.failure} ${facts.admin.list.errcode ?? ''}`.trim(),
        fix: 'Use the token of a server admin (npx tsx scripts/register.ts --admin), and make /_synapse/admin reachable (`matrix_synapse_container_labels_public_client_synapse_admin_api_enabled: true` in vars.yml, or an SSH tunnel)',
      }),
    );
  else {
    const backoff = facts.admin.destinations.filter((d) => d.retryIntervalMs > 0);
    findings.push(
      emit(OUTBOUND.destinations, 'pass', {
        detail: `${facts.admin.destinations.length} destinations, ${backoff.length} in backoff${facts.admin.applied ? ' (--apply)' : ''}`,
      }),
    );
    for (const d of backoff) findings.push(judgeDestination(d, context.now, baseUrl));
  }
  if (facts.inside) findings.push(...judgeInside(facts.inside, failed));
  else findings.push(emit(OUTBOUND.inside, 'skip', { detail: 'no inventory (--playbook): the steps from inside the server were not run' }));
  if (facts.canary) findings.push(judgeCanary(facts.canary, facts.serverName, findings));
  return linkInsideCauses(findings, facts);
}

function canaryCalls(c: CanaryFact | undefined): (CallFact | undefined)[] {
  if (!c) return [];
  return [c.resolve, c.joinedRooms, c.join, c.send, c.watch, c.leave, c.delivery?.before, c.delivery?.after];
}

/** A round trip slower than this is a warning: messages between the servers lag. */
const CANARY_SLOW_MS = 10_000;

/** The canary's one finding: the reply and its two legs, or why none came (probes/outbound-canary.ts). */
export function judgeCanary(c: CanaryFact, serverName: string, findings: readonly Finding[]): Finding {
  const evidence = {
    room: c.room,
    roomId: c.roomId,
    eventId: c.eventId,
    waitMs: c.waitMs,
    ...(c.pong ? { pong: c.pong } : {}),
    ...(c.delivery
      ? {
          delivery: {
            destination: c.delivery.destination,
            before: c.delivery.orderingBefore,
            after: c.delivery.orderingAfter,
            retryIntervalMs: c.delivery.retryIntervalMs,
          },
        }
      : {}),
    ...(c.leave ? { left: c.leave.status === 200 } : {}),
  };
  const leaveNote = c.leave && c.leave.status !== 200 ? `; leaving the room again failed (${answerText(c.leave)})` : '';
  const finding = (status: 'pass' | 'warn' | 'fail', detail: string, fix?: string) =>
    emit(OUTBOUND.canary, status, { detail: detail + leaveNote, ...(fix ? { fix } : {}), evidence });
  if (c.notRun) return emit(OUTBOUND.canary, 'skip', { detail: `${c.room}: not run, ${c.notRun}`, evidence });
  const unreachable = (step: string, call: CallFact) => {
    const cause = clientCause(call);
    return finding('fail', `${c.room} cannot be reached: ${step}: ${cause.cause}`, cause.fix);
  };
  if (c.resolve && !c.roomId)
    return c.resolve.status === 404
      ? finding(
          'fail',
          `the room alias ${c.room} does not exist on ${c.roomServer} (${answerText(c.resolve)})`,
          "Give the alias of a room where an echo bot answers !ping (for example '#ping:maunium.net'), or its room id (!…:server)",
        )
      : unreachable('its alias could not be resolved', c.resolve);
  if (c.joinedRooms && c.joinedRooms.status !== 200)
    return finding(
      'fail',
      `GET /_matrix/client/v3/joined_rooms: ${answerText(c.joinedRooms)}`,
      'Give a valid access token of a user of this server',
    );
  if (c.join && c.join.status !== 200)
    return c.join.status === 403
      ? finding(
          'fail',
          `the user may not join ${c.room}: ${answerText(c.join)}`,
          'Choose a public room whose bot answers !ping, or invite the user first',
        )
      : unreachable('joining failed', c.join);
  if (c.send && !c.eventId)
    return finding(
      'fail',
      `the ping could not be sent: ${answerText(c.send)}`,
      c.send.status === 403 ? `The user may not post in ${c.room}: choose a room where it may` : "See Synapse's log for the send request",
    );
  if (c.pong) {
    const { outboundMs, roundTripMs, sender } = c.pong;
    const legs =
      outboundMs !== undefined && outboundMs >= 0 && outboundMs <= roundTripMs
        ? `out ${outboundMs} ms (the bot's measure), back ${roundTripMs - outboundMs} ms`
        : `the bot's own measure (${outboundMs ?? 'none'}) does not fit in the round trip: its clock differs from this server's`;
    const detail = `${sender} answered the ping in ${c.room}, round trip ${roundTripMs} ms: ${legs}`;
    return roundTripMs > CANARY_SLOW_MS
      ? finding(
          'warn',
          `${detail}; over ${CANARY_SLOW_MS / 1000} s`,
          "Messages between the servers lag: look at Synapse's federation sender (journalctl -u matrix-synapse) and the destinations in backoff (MATRIX_ADMIN_TOKEN), and at the load of both servers",
        )
      : finding('pass', detail);
  }
  if (c.watch)
    return finding(
      'fail',
      `asking for the replies to the ping failed: GET …/relations ${answerText(c.watch)}`,
      "See Synapse's log for the relations request",
    );
  const waited = `no reply from ${c.roomServer} within ${Math.round((c.waitedMs ?? c.waitMs) / 1000)} s`;
  const d = c.delivery;
  if (!d)
    return finding(
      'fail',
      `${waited}; without an admin token it is unknown whether the ping left ${serverName}`,
      `Rerun with MATRIX_ADMIN_TOKEN to see whether Synapse delivered the ping to ${c.roomServer}; check from another client that the bot in ${c.room} answers !ping`,
    );
  const unread = [d.before, d.after].find((call) => call && call.status !== 200 && call.status !== 404);
  if (unread || !d.after)
    return finding(
      'fail',
      `${waited}; Synapse's view of ${c.roomServer} could not be read: ${unread ? answerText(unread) : 'no answer'}`,
      'Use the token of a server admin (npx tsx scripts/register.ts --admin), and make /_synapse/admin reachable',
    );
  if ((d.retryIntervalMs ?? 0) > 0) {
    const backoff = OUTBOUND.backoff.id.replace('{destination}', idPart(d.destination));
    const since = d.failureTs ? new Date(d.failureTs).toISOString() : 'an unknown time';
    const failed = finding(
      'fail',
      `${waited}: the ping never left, Synapse has been failing to send to ${c.roomServer} since ${since} and waits ${Math.round((d.retryIntervalMs ?? 0) / 60_000)} min before it tries again`,
      `Find why ${c.roomServer} cannot be reached from the server (the outbound findings for it name the cause); once it can, end the wait: rerun with --apply`,
    );
    return findings.some((f) => f.id === backoff) ? { ...failed, causedBy: backoff } : failed;
  }
  const after = d.orderingAfter ?? -1;
  if (after > (d.orderingBefore ?? -1))
    return finding(
      'fail',
      `${waited}, though the ping left: Synapse delivered events to ${c.roomServer} after it (last_successful_stream_ordering ${d.orderingBefore ?? 'none'} → ${after}). The reply did not come back: ${c.roomServer} cannot deliver to ${serverName}, or the bot did not answer`,
      `Check inbound federation from outside: npx tsx checks/federation.ts ${serverName} (port 8448 and the reverse proxy's /_matrix/federation/v1/send path); then check from another client that the bot in ${c.room} answers !ping`,
    );
  return finding(
    'fail',
    `${waited}: the ping did not leave, no transaction of events to ${c.roomServer} went through after it (last_successful_stream_ordering stayed ${d.orderingBefore ?? 'none'}), and Synapse has not put it in backoff`,
    `See Synapse's log for its transactions to ${c.roomServer} (journalctl -u matrix-synapse | grep 'TX \[${c.roomServer}\]'); the outbound findings for ${c.roomServer} name the cause when the server cannot reach it`,
  );
}

/**
 * Where a step from inside the server failed for a remote (its resolver, its firewall), that
 * step is the cause of the homeserver's own failures for the remote: they take its fix.
 */
function linkInsideCauses(findings: Finding[], facts: OutboundFacts): Finding[] {
  const idOf = (prefix: string, remote: string) => `${prefix}.${remote.toLowerCase().replace(/[^a-z0-9_-]+/g, '_')}`;
  return findings.map((f) => {
    if (f.status !== 'fail' || f.causedBy) return f;
    const remote = facts.remotes.find((r) => f.id === idOf('outbound.client', r.name) || f.id === idOf('outbound.notary', r.name));
    if (!remote) return f;
    const cause = findings.find(
      (c) =>
        c.status === 'fail' &&
        (c.id === idOf('outbound.inside.container', remote.name) || c.id === idOf('outbound.inside.host', remote.name)),
    );
    if (cause) return { ...f, causedBy: cause.id, ...(cause.fix ? { fix: cause.fix } : {}) };
    // Remotes verify this server's requests with its keys, fetched from its federation endpoint.
    if (facts.localProblem && f.id.startsWith('outbound.client.'))
      return {
        ...f,
        causedBy: 'outbound.local.federation',
        fix: `Remotes verify ${facts.serverName}'s requests with its keys, fetched from its federation endpoint, which they cannot reach: set matrix_homeserver_federation_enabled: true in vars.yml, open port 8448, rerun the playbook`,
      };
    return f;
  });
}
