// The outbound rules on hand-made facts: Synapse's answers mapped to causes, the notary's answer
// (fresh, cached, empty, turned off), backoff and its reset, the inside steps, the clock, and
// which finding causes which. And the reader of Ansible's minimal output.
import { describe, expect, it } from 'vitest';
import type { CallFact, CanaryFact, DeliveryFact, InsideFacts, NotaryFact, OutboundFacts } from '../../checks/facts/outbound.ts';
import { insideArgv, readMinimal, SYNAPSE_CONTAINER } from '../../checks/probes/outbound-adhoc.ts';
import { clientCause, judgeOutbound } from '../../checks/rules/outbound.ts';
import { findingById } from '../find-finding.ts';

const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);
const call = (fact: Partial<CallFact>): CallFact => ({ url: 'https://matrix.example.org/x', elapsedMs: 40, ...fact });

function notary(fact: Partial<NotaryFact> = {}): NotaryFact {
  return {
    notary: 'example.org',
    about: 'remote.test',
    call: call({ status: 200 }),
    keyIds: ['ed25519:a'],
    signedByNotary: true,
    validUntilTs: NOW + 86_400_000,
    minimumValidUntilTs: NOW + 86_400_000,
    ...fact,
  };
}

function facts(change: (f: OutboundFacts) => void = () => {}): OutboundFacts {
  const f: OutboundFacts = {
    serverName: 'example.org',
    localFederation: 'matrix.example.org:8448',
    remotes: [{ name: 'remote.test', target: 'matrix.remote.test:8448', keyIds: ['ed25519:a'], validUntilTs: NOW + 86_400_000 }],
    outboundNotary: [notary()],
    inboundNotary: [notary({ notary: 'remote.test', about: 'example.org' })],
    localKeyIds: ['ed25519:b'],
    client: {
      baseUrl: 'https://matrix.example.org',
      whoami: call({ status: 200 }),
      probes: [
        {
          remote: 'remote.test',
          alias: { alias: '#p:remote.test', call: call({ status: 404, errcode: 'M_NOT_FOUND' }) },
          profile: { userId: '@p:remote.test', call: call({ status: 200 }) },
        },
      ],
    },
    admin: { list: call({ status: 200 }), destinations: [], applied: false },
  };
  change(f);
  return f;
}

const judge = (f: OutboundFacts) => judgeOutbound(f, { now: NOW });

describe('clientCause: what Synapse answered, as a cause', () => {
  it.each([
    [call({ status: 200 }), true, /answered \(200\)/],
    [call({ status: 404, errcode: 'M_NOT_FOUND' }), true, /answered \(404\)/],
    [call({ status: 502, errcode: 'M_UNKNOWN', error: 'Failed to fetch alias' }), false, /could not reach the remote/],
    [call({ status: 504 }), false, /did not answer the homeserver in time/],
    [call({ failure: 'timeout after 5000 ms', timedOut: true }), false, /no answer within the check's timeout/],
    [call({ status: 403, errcode: 'M_FORBIDDEN', error: 'Federation denied with remote.test.' }), false, /federation_domain_whitelist/],
    [call({ status: 401, errcode: 'M_UNKNOWN_TOKEN' }), false, /access token was refused/],
  ])('%o', (fact, reached, cause) => {
    const result = clientCause(fact);
    expect(result.reached).toBe(reached);
    expect(result.cause).toMatch(cause);
    if (!reached) expect(result.fix).not.toBe('');
  });
});

describe('judgeOutbound', () => {
  it('a healthy run passes every finding', () => {
    const findings = judge(facts());
    expect(findings.filter((f) => f.status !== 'pass').map((f) => f.id)).toEqual(['outbound.inside.run']);
    expect(findingById(findings, 'outbound.inside.run').status).toBe('skip');
  });

  it('the notary: an empty answer and a cached key fail, a turned-off notary is a skip, a timeout fails', () => {
    const empty = judge(facts((f) => (f.outboundNotary = [notary({ keyIds: [], validUntilTs: undefined })])));
    expect(findingById(empty, 'outbound.notary.remote_test').detail).toBe(
      'example.org answered with no key of remote.test: it could not reach remote.test',
    );
    const cached = judge(facts((f) => (f.outboundNotary = [notary({ validUntilTs: NOW - 1000 })])));
    expect(findingById(cached, 'outbound.notary.remote_test').detail).toMatch(/served a cached key of remote\.test/);
    const off = judge(
      facts((f) => (f.inboundNotary = [notary({ notary: 'remote.test', about: 'example.org', call: call({ status: 404 }) })])),
    );
    expect(findingById(off, 'outbound.inbound.remote_test').status).toBe('skip');
    const slow = judge(facts((f) => (f.outboundNotary = [notary({ call: call({ failure: 'timeout', timedOut: true }), keyIds: [] })])));
    expect(findingById(slow, 'outbound.notary.remote_test').status).toBe('fail');
  });

  it('a remote that fails from here as well is the cause of the client failure', () => {
    const findings = judge(
      facts((f) => {
        f.remotes = [{ name: 'remote.test', keyIds: [], problem: 'port 8448: connection refused' }];
        f.outboundNotary = [];
        f.client!.probes[0]!.alias.call = call({ status: 502, errcode: 'M_UNKNOWN', error: 'Failed to fetch alias' });
      }),
    );
    expect(findingById(findings, 'outbound.remote.remote_test').status).toBe('fail');
    const client = findingById(findings, 'outbound.client.remote_test');
    expect(client.causedBy).toBe('outbound.remote.remote_test');
    expect(client.fix).toMatch(/^Nothing to fix on your server/);
    expect(findingById(findings, 'outbound.notary.remote_test').status).toBe('skip');
  });

  it('the whitelist wins over a generic 502 as the cause of a client failure', () => {
    const findings = judge(
      facts((f) => {
        f.client!.probes[0]!.alias.call = call({ status: 502, errcode: 'M_UNKNOWN', error: 'Failed to fetch alias' });
        f.client!.probes[0]!.profile.call = call({ status: 403, errcode: 'M_FORBIDDEN', error: 'Federation denied with remote.test.' });
      }),
    );
    expect(findingById(findings, 'outbound.client.remote_test').fix).toMatch(
      /^Add the remote to matrix_synapse_federation_domain_whitelist/,
    );
  });

  it('a destination in backoff warns with the reset command (the token as a variable); after --apply it is info', () => {
    const destination = {
      destination: 'remote.test',
      failureTs: NOW - 3_600_000,
      retryLastTs: NOW - 60_000,
      retryIntervalMs: 600_000,
      lastSuccessfulStreamOrdering: 4,
    };
    const findings = judge(facts((f) => (f.admin!.destinations = [destination])));
    const backoff = findingById(findings, 'outbound.admin.backoff.remote_test');
    expect(backoff.status).toBe('warn');
    expect(backoff.detail).toBe(
      'failing since 2026-12-03T11:00:00.000Z; next try 2026-12-03T12:09:00.000Z (9 min from now, interval 10 min)',
    );
    // The token goes to curl on its standard input, never in its argv.
    expect(backoff.fix).toContain(`printf 'oauth2-bearer = "%s"\\n' "$MATRIX_ADMIN_TOKEN" | curl -K - -X POST`);
    expect(backoff.fix).toContain(
      '-K - -X POST https://matrix.example.org/_synapse/admin/v1/federation/destinations/remote.test/reset_connection',
    );
    const applied = judge(facts((f) => (f.admin!.destinations = [{ ...destination, reset: call({ status: 200 }) }])));
    expect(findingById(applied, 'outbound.admin.backoff.remote_test').status).toBe('info');
    const healthy = judge(facts((f) => (f.admin!.destinations = [{ ...destination, retryIntervalMs: 0 }])));
    expect(healthy.some((f) => f.id === 'outbound.admin.backoff.remote_test')).toBe(false);
  });

  it("a non-admin token: the destinations can't be read", () => {
    const findings = judge(facts((f) => (f.admin!.list = call({ status: 403, errcode: 'M_FORBIDDEN' }))));
    expect(findingById(findings, 'outbound.admin.destinations').status).toBe('fail');
  });

  const inside = (change: (i: InsideFacts) => void = () => {}): InsideFacts => {
    const i: InsideFacts = {
      inventory: 'inventory/hosts',
      host: 'matrix.example.org',
      remotes: [
        {
          remote: 'remote.test',
          target: 'matrix.remote.test:8448',
          host: { addresses: ['192.0.2.7'], status: 200, elapsedMs: 30, clockOffsetS: 0.3 },
          container: { addresses: ['192.0.2.7'], status: 200, elapsedMs: 31 },
        },
      ],
    };
    change(i);
    return i;
  };

  it("inside: a DNS failure in the container is the cause of the homeserver's failures", () => {
    const findings = judge(
      facts((f) => {
        f.inside = inside(
          (i) => (i.remotes[0]!.container = { addresses: [], dnsError: '[Errno -3] Temporary failure in name resolution' }),
        );
        f.client!.probes[0]!.alias.call = call({ status: 502, errcode: 'M_UNKNOWN', error: 'Failed to fetch alias' });
      }),
    );
    const container = findingById(findings, 'outbound.inside.container.remote_test');
    expect(container.status).toBe('fail');
    expect(container.fix).toMatch(/Docker's resolver/);
    expect(findingById(findings, 'outbound.client.remote_test').causedBy).toBe('outbound.inside.container.remote_test');
    expect(findingById(findings, 'outbound.inside.host.remote_test').status).toBe('pass');
  });

  it('inside: the clock warns from 10 s and fails from 2 min off', () => {
    const at = (offset: number) =>
      findingById(judge(facts((f) => (f.inside = inside((i) => (i.remotes[0]!.host!.clockOffsetS = offset))))), 'outbound.inside.clock')
        .status;
    expect([at(0.3), at(-12), at(300)]).toEqual(['pass', 'warn', 'fail']);
  });

  it('inside: Ansible could not reach the host', () => {
    const findings = judge(facts((f) => (f.inside = { ...inside(), problem: 'host unreachable: ssh: connect to host', remotes: [] })));
    const run = findingById(findings, 'outbound.inside.run');
    expect(run.status).toBe('fail');
    expect(run.fix).toBe('Check that Ansible reaches the host: ansible -i inventory/hosts matrix.example.org -m ansible.builtin.ping');
  });

  it('a local federation endpoint that is unreachable explains a client failure', () => {
    const findings = judge(
      facts((f) => {
        delete f.localFederation;
        f.localProblem = 'port 8448: connection refused';
        f.outboundNotary = [];
        f.inboundNotary = [];
        f.client!.probes[0]!.alias.call = call({ status: 502, errcode: 'M_UNKNOWN', error: 'Failed to fetch alias' });
      }),
    );
    expect(findingById(findings, 'outbound.client.remote_test').causedBy).toBe('outbound.local.federation');
  });
});

describe("Ansible's minimal output", () => {
  it('a command that ran: its stdout', () => {
    expect(readMinimal('h.example | CHANGED | rc=0 >>\n[{"target": "a:8448"}]\n', 'h.example')).toEqual({
      ok: true,
      stdout: '\n[{"target": "a:8448"}]\n',
    });
  });
  it('a command that failed: the last line it printed and its exit code', () => {
    const result = readMinimal('h.example | FAILED | rc=1 >>\nCannot connect to the Docker daemon\n', 'h.example');
    expect(result.ok).toBe(false);
    expect(result.problem).toBe('Cannot connect to the Docker daemon (exit code 1)');
  });
  it('an unreachable host and a module failure: their message', () => {
    expect(
      readMinimal(
        'h.example | UNREACHABLE! => {\n "changed": false, "msg": "ssh: connect to host h.example port 22: Connection refused", "unreachable": true\n}\n',
        'h.example',
      ).problem,
    ).toBe('host unreachable: ssh: connect to host h.example port 22: Connection refused');
    expect(
      readMinimal('h.example | FAILED! => {"changed": false, "msg": "[Errno 2] No such file or directory: b\'docker\'"}\n', 'h.example')
        .problem,
    ).toBe("[Errno 2] No such file or directory: b'docker'");
  });
  it('no result for the host: the warning Ansible gave', () => {
    expect(readMinimal('', 'h.example', '[WARNING]: Could not match supplied host pattern, ignoring: h.example\n').problem).toBe(
      'ansible: [WARNING]: Could not match supplied host pattern, ignoring: h.example',
    );
  });
  it('the container step is the host step behind docker exec matrix-synapse', () => {
    const host = insideArgv(['a:8448'], { timeoutMs: 5000 }, 'host');
    expect(insideArgv(['a:8448'], { timeoutMs: 5000 }, 'container')).toEqual(['docker', 'exec', SYNAPSE_CONTAINER, ...host]);
    expect(JSON.parse(host[3]!)).toEqual({ targets: ['a:8448'], timeout: 5 });
  });
});

describe('the canary', () => {
  const ROOM = '#ping:remote.test';
  const canary = (fact: Partial<CanaryFact>): CanaryFact => ({
    room: ROOM,
    roomServer: 'remote.test',
    waitMs: 30_000,
    resolve: call({ status: 200 }),
    roomId: '!r:remote.test',
    wasMember: false,
    joinedRooms: call({ status: 200 }),
    join: call({ status: 200 }),
    send: call({ status: 200 }),
    eventId: '$ping',
    leave: call({ status: 200 }),
    ...fact,
  });
  const judged = (fact: Partial<CanaryFact>, change: (f: OutboundFacts) => void = () => {}) =>
    findingById(
      judgeOutbound(
        facts((f) => {
          f.canary = canary(fact);
          change(f);
        }),
        { now: NOW },
      ),
      'outbound.canary',
    );
  const delivery = (before: number | null, after: number | null, retryIntervalMs = 0): DeliveryFact => ({
    destination: 'remote.test',
    before: call({ status: 200 }),
    after: call({ status: 200 }),
    orderingBefore: before,
    orderingAfter: after,
    failureTs: retryIntervalMs ? NOW - 60_000 : null,
    retryIntervalMs,
  });
  const noReply = { waitedMs: 30_000 };

  it('no canary asked: no finding', () => {
    expect(judgeOutbound(facts(), { now: NOW }).some((f) => f.id === 'outbound.canary')).toBe(false);
  });
  it('the pong: both legs, from the bot measure and the round trip', () => {
    const found = judged({ pong: { sender: '@echo:remote.test', eventId: '$pong', roundTripMs: 900, outboundMs: 350 } });
    expect(found).toMatchObject({
      status: 'pass',
      detail: `@echo:remote.test answered the ping in ${ROOM}, round trip 900 ms: out 350 ms (the bot's measure), back 550 ms`,
      evidence: { left: true },
    });
  });
  it('a bot whose clock is off: the round trip only, and why the legs are not given', () => {
    const found = judged({ pong: { sender: '@echo:remote.test', eventId: '$pong', roundTripMs: 900, outboundMs: 4000 } });
    expect(found.status).toBe('pass');
    expect(found.detail).toContain("the bot's own measure (4000) does not fit in the round trip: its clock differs");
  });
  it('a slow round trip is a warning', () => {
    const found = judged({ pong: { sender: '@echo:remote.test', eventId: '$pong', roundTripMs: 12_000, outboundMs: 11_000 } });
    expect(found.status).toBe('warn');
    expect(found.fix).toMatch(/^Messages between the servers lag/);
  });
  it('not run without a token: a skip that says why', () => {
    expect(judged({ notRun: 'no access token (MATRIX_ACCESS_TOKEN or --access-token-file)' })).toMatchObject({
      status: 'skip',
      detail: `${ROOM}: not run, no access token (MATRIX_ACCESS_TOKEN or --access-token-file)`,
    });
  });
  it('an alias that does not exist, and one that cannot be resolved over federation', () => {
    const missing = judged({ resolve: call({ status: 404, errcode: 'M_NOT_FOUND', error: 'Room alias not found' }), roomId: undefined });
    expect(missing.status).toBe('fail');
    expect(missing.detail).toBe(`the room alias ${ROOM} does not exist on remote.test (404 M_NOT_FOUND "Room alias not found")`);
    const unreachable = judged({ resolve: call({ status: 502, errcode: 'M_UNKNOWN', error: 'Failed to fetch alias' }), roomId: undefined });
    expect(unreachable.detail).toMatch(/^#ping:remote\.test cannot be reached: its alias could not be resolved: 502 M_UNKNOWN/);
    expect(unreachable.fix).toMatch(/^Run this check with --playbook/);
  });
  it('a join refused, and a join that timed out', () => {
    expect(judged({ join: call({ status: 403, errcode: 'M_FORBIDDEN', error: 'You are banned' }) })).toMatchObject({
      status: 'fail',
      fix: 'Choose a public room whose bot answers !ping, or invite the user first',
    });
    expect(judged({ join: call({ timedOut: true, failure: 'timeout' }) }).detail).toMatch(
      /^#ping:remote\.test cannot be reached: joining failed: no answer within/,
    );
  });
  it('a ping that could not be posted', () => {
    const found = judged({ send: call({ status: 403, errcode: 'M_FORBIDDEN' }), eventId: undefined });
    expect(found).toMatchObject({ status: 'fail', fix: `The user may not post in ${ROOM}: choose a room where it may` });
  });
  it('no reply and no admin token: unknown whether it left, and how to know', () => {
    const found = judged(noReply);
    expect(found.status).toBe('fail');
    expect(found.detail).toBe(
      'no reply from remote.test within 30 s; without an admin token it is unknown whether the ping left example.org',
    );
    expect(found.fix).toMatch(/^Rerun with MATRIX_ADMIN_TOKEN/);
  });
  it('no reply, the destination in backoff: the ping never left, caused by the backoff', () => {
    const found = judged({ ...noReply, delivery: delivery(10, 10, 600_000) }, (f) => {
      f.admin = {
        list: call({ status: 200 }),
        destinations: [
          {
            destination: 'remote.test',
            failureTs: NOW - 60_000,
            retryLastTs: NOW - 60_000,
            retryIntervalMs: 600_000,
            lastSuccessfulStreamOrdering: 10,
          },
        ],
        applied: false,
      };
    });
    expect(found.status).toBe('fail');
    expect(found.detail).toMatch(
      /^no reply from remote\.test within 30 s: the ping never left, Synapse has been failing to send to remote\.test since 2026-12-03T11:59:00\.000Z and waits 10 min/,
    );
    expect(found.causedBy).toBe('outbound.admin.backoff.remote_test');
  });
  it('no reply though a transaction went through after the ping: the way back is broken', () => {
    const found = judged({ ...noReply, delivery: delivery(10, 12) });
    expect(found.detail).toMatch(
      /though the ping left: Synapse delivered events to remote\.test after it \(last_successful_stream_ordering 10 → 12\)/,
    );
    expect(found.fix).toMatch(/^Check inbound federation from outside: npx tsx checks\/federation\.ts example\.org/);
    // A destination contacted for the first time: no ordering before.
    expect(judged({ ...noReply, delivery: delivery(null, 3) }).detail).toContain('last_successful_stream_ordering none → 3');
  });
  it('no reply, nothing went through and no backoff: the ping did not leave', () => {
    const found = judged({ ...noReply, delivery: delivery(10, 10) });
    expect(found.detail).toMatch(
      /: the ping did not leave, no transaction of events to remote\.test went through after it \(last_successful_stream_ordering stayed 10\)/,
    );
  });
  it('a failed leave is said with the result', () => {
    const found = judged({
      pong: { sender: '@echo:remote.test', eventId: '$pong', roundTripMs: 900, outboundMs: 350 },
      leave: call({ status: 500 }),
    });
    expect(found.detail).toMatch(/; leaving the room again failed \(500\)$/);
  });
});
