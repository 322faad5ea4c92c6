// checks/outbound.ts run as a real process against two real Synapse homeservers that federate
// with each other (test/lab/servers/synapse-pair.ts, 127.15.0.0/16): alpha is the server checked, beta the
// remote. Each fault breaks one side and is asserted on its finding and its fix. The inside steps
// run the real ansible (ansible_connection=local) into alpha's mount namespace, and the container
// step through the stand-in `docker`, whose command line is asserted exactly.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../checks/core/finding.ts';
import { insideArgv } from '../../checks/probes/outbound-adhoc.ts';
import { VENV_DIR } from './servers/provision.ts';
import type { EchoBot } from './servers/echo-bot.ts';
import { PAIR, startSynapsePair, type SynapsePair } from './servers/synapse-pair.ts';
import { clientCall } from './servers/synapse.ts';
import { type ReportRun, runCli, runReport } from './run-cli.ts';

const TIMEOUT_S = '5';
let pair: SynapsePair;

beforeAll(async () => {
  pair = await startSynapsePair();
}, 240_000);

afterAll(async () => {
  await pair?.stop();
});

/** The check as a person runs it: tokens in the environment only. */
async function check(extra: string[] = [], tokens = true): Promise<ReportRun> {
  const run = await runReport(
    'checks/outbound.ts',
    [
      '--playbook',
      pair.playbook,
      '--remote',
      PAIR.beta.serverName,
      '--resolver',
      pair.resolver,
      '--ca-file',
      pair.caFile,
      '--timeout',
      TIMEOUT_S,
      '--json',
      ...extra,
    ],
    {
      PATH: `${pair.dockerBin}:${join(VENV_DIR, 'bin')}:${process.env.PATH}`,
      ...(tokens ? { MATRIX_ACCESS_TOKEN: pair.user.token, MATRIX_ADMIN_TOKEN: pair.admin.token } : {}),
    },
  );
  for (const secret of [pair.user.token, pair.admin.token]) {
    expect(run.stdout).not.toContain(secret);
    expect(run.stderr).not.toContain(secret);
  }
  expect(run.stderr).toBe('');
  return run;
}

const find = (run: ReportRun, id: string): Finding => run.byId(id);
const REMOTE = 'outbound.remote.beta_test';
const CLIENT = 'outbound.client.beta_test';
const NOTARY = 'outbound.notary.beta_test';
const INBOUND = 'outbound.inbound.beta_test';
const HOST = 'outbound.inside.host.beta_test';
const CONTAINER = 'outbound.inside.container.beta_test';

async function adminDestinations(): Promise<{ destination: string; retry_interval: number }[]> {
  const response = await clientCall(pair.alpha, pair.admin.token, 'GET', '/_synapse/admin/v1/federation/destinations');
  return (JSON.parse(response.body) as { destinations: { destination: string; retry_interval: number }[] }).destinations;
}

describe('checks/outbound.ts against two federating homeservers', () => {
  it('the healthy pair: every step passes, both directions side by side; the container step ran as docker exec matrix-synapse', async () => {
    rmSync(pair.dockerLog, { force: true });
    const run = await check();
    const failing = run.report.findings.filter((f) => f.status !== 'pass');
    expect(failing).toEqual([]);
    expect(run.code).toBe(0);
    expect(find(run, NOTARY).detail).toMatch(/^alpha\.test fetched and signed ed25519:\S+ of beta\.test in \d+ ms$/);
    expect(find(run, INBOUND).detail).toMatch(/^beta\.test fetched and signed ed25519:\S+ of alpha\.test in \d+ ms$/);
    // Outbound then inbound for the remote, next to each other.
    const ids = run.report.findings.map((f) => f.id);
    expect(ids.indexOf(INBOUND)).toBe(ids.indexOf(NOTARY) + 1);
    expect(find(run, CLIENT).detail).toMatch(
      /room alias: the remote answered \(404\) in \d+ ms; profile: the remote answered \(404\) in \d+ ms/,
    );
    expect(find(run, HOST).detail).toMatch(/^matrix\.beta\.test:8448 resolves to 127\.15\.2\.2, HTTPS answered 200/);
    expect(find(run, CONTAINER).status).toBe('pass');
    expect(find(run, 'outbound.inside.clock').status).toBe('pass');
    // The stand-in docker got exactly this command line.
    const argv = readFileSync(pair.dockerLog, 'utf8').split('\0').slice(0, -1);
    const ca = readFileSync(pair.caFile, 'utf8');
    expect(argv).toEqual(insideArgv(['matrix.beta.test:8448'], { timeoutMs: Number(TIMEOUT_S) * 1000, ca }, 'container').slice(1));
    expect(argv.slice(0, 4)).toEqual(['exec', 'matrix-synapse', 'python3', '-c']);
  });

  it('without tokens the client and admin steps are skipped, and the notary still tests outbound federation', async () => {
    const run = await check([], false);
    expect(find(run, 'outbound.user.token').status).toBe('skip');
    expect(find(run, 'outbound.admin.destinations').status).toBe('skip');
    expect(find(run, NOTARY).status).toBe('pass');
    expect(run.code).toBe(0);
  });

  it('a remote whose proxy turns the notary off: the inbound direction is a skip, not a failure', async () => {
    await pair.setFaults({ betaNotaryOff: true });
    try {
      const run = await check();
      const inbound = find(run, INBOUND);
      expect(inbound.status).toBe('skip');
      expect(inbound.detail).toMatch(/^beta\.test offers no notary \(POST \/_matrix\/key\/v2\/query: 404\)/);
      expect(find(run, NOTARY).status).toBe('pass');
      expect(run.code).toBe(0);
    } finally {
      await pair.setFaults({});
    }
  });

  it('the remote homeserver down: the remote is the cause, nothing to fix here', async () => {
    await pair.setFaults({ betaDown: true });
    try {
      const run = await check();
      const remote = find(run, REMOTE);
      expect(remote.status).toBe('fail');
      expect(remote.detail).toMatch(/connection refused/);
      expect(remote.fix).toMatch(/^Nothing to fix on your server for this: beta\.test is down/);
      const client = find(run, CLIENT);
      expect(client.status).toBe('fail');
      expect(client.detail).toContain('502 M_UNKNOWN "Failed to fetch alias"');
      expect(client.causedBy).toBe(REMOTE);
      expect(find(run, HOST).causedBy).toBe(REMOTE);
      expect(find(run, NOTARY).status).toBe('skip');
      expect(run.code).toBe(2);
    } finally {
      await pair.setFaults({});
    }
  });

  it("the remote's well-known broken (HTML): the remote is the cause", async () => {
    // A fresh alpha: Synapse keeps a well-known it fetched for hours.
    await pair.restartAlpha();
    await pair.setFaults({ betaWellKnownBroken: true });
    try {
      const run = await check();
      const remote = find(run, REMOTE);
      expect(remote.status).toBe('fail');
      expect(remote.detail).toMatch(/well-known/);
      expect(remote.fix).toContain('checks/federation.ts beta.test');
      const client = find(run, CLIENT);
      expect(client.status).toBe('fail');
      expect(client.causedBy).toBe(REMOTE);
      expect(run.code).toBe(2);
    } finally {
      await pair.setFaults({});
    }
  });

  it("the local server's resolver answers SERVFAIL: the server's own DNS is the cause of the homeserver's failures", async () => {
    await pair.restartAlpha();
    await pair.setAlphaResolverFailing(true);
    try {
      const run = await check();
      expect(find(run, REMOTE).status).toBe('pass');
      const host = find(run, HOST);
      expect(host.status).toBe('fail');
      expect(host.detail).toMatch(/^matrix\.beta\.test does not resolve there/);
      expect(host.fix).toMatch(/^Fix the resolver of the host/);
      const container = find(run, CONTAINER);
      expect(container.status).toBe('fail');
      const client = find(run, CLIENT);
      expect(client.status).toBe('fail');
      expect(client.detail).toContain('Failed to fetch');
      expect([HOST, CONTAINER]).toContain(client.causedBy);
      const notary = find(run, NOTARY);
      expect(notary.status).toBe('fail');
      expect(notary.detail).toBe('alpha.test answered with no key of beta.test: it could not reach beta.test');
      expect(run.code).toBe(2);
    } finally {
      await pair.setAlphaResolverFailing(false);
    }
  });

  it('federation_domain_whitelist excluding the remote: the whitelist is named with its vars.yml fix', async () => {
    await pair.restartAlpha({ federation_domain_whitelist: [PAIR.alpha.serverName] });
    const run = await check();
    const client = find(run, CLIENT);
    expect(client.status).toBe('fail');
    expect(client.detail).toContain('403 M_FORBIDDEN "Federation denied with beta.test."');
    expect(client.fix).toMatch(/^Add the remote to matrix_synapse_federation_domain_whitelist in vars\.yml/);
    expect(find(run, NOTARY).status).toBe('fail');
    // From the server itself everything reaches the remote: only Synapse refuses.
    expect(find(run, HOST).status).toBe('pass');
    expect(run.code).toBe(2);
  });

  it("federation disabled on the local server: remotes cannot verify its requests, and the notary can't be asked", async () => {
    await pair.restartAlpha();
    await pair.setFaults({ alphaFederationPortClosed: true });
    try {
      const run = await check();
      const local = find(run, 'outbound.local.federation');
      expect(local.status).toBe('fail');
      expect(local.detail).toMatch(/matrix\.alpha\.test:8448.*connection refused/);
      const client = find(run, CLIENT);
      expect(client.status).toBe('fail');
      expect(client.causedBy).toBe('outbound.local.federation');
      expect(client.fix).toContain('matrix_homeserver_federation_enabled: true');
      expect(run.report.findings.some((f) => f.id === NOTARY)).toBe(false);
      expect(run.code).toBe(2);
    } finally {
      await pair.setFaults({});
    }
  });

  it('a destination in backoff after the remote came back: the reset is the fix, run only with --apply', async () => {
    await pair.restartAlpha();
    const room = await pair.joinFromAlpha(await pair.createBetaAlias(`lobby${Date.now()}`));
    await pair.setFaults({ betaDown: true });
    await pair.sendFromAlpha(room, 'hello while beta is down');
    const deadline = Date.now() + 30_000;
    while (!(await adminDestinations()).some((d) => d.destination === PAIR.beta.serverName && d.retry_interval > 0)) {
      if (Date.now() > deadline) throw new Error('beta.test never entered backoff');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await pair.setFaults({});

    const run = await check();
    const backoff = find(run, 'outbound.admin.backoff.beta_test');
    expect(backoff.status).toBe('warn');
    expect(backoff.detail).toMatch(/^failing since \d{4}-\d\d-\d\dT.*; next try .* \(\d+ min from now, interval 10 min\)$/);
    expect(backoff.fix).toBe(
      `When beta.test is up again, end the wait: rerun this check with --apply, or printf 'oauth2-bearer = "%s"\\n' "$MATRIX_ADMIN_TOKEN" | curl -K - -X POST https://matrix.alpha.test/_synapse/admin/v1/federation/destinations/beta.test/reset_connection`,
    );
    expect(run.code).toBe(1);
    // Nothing was written without --apply.
    expect((await adminDestinations()).find((d) => d.destination === PAIR.beta.serverName)?.retry_interval).toBeGreaterThan(0);

    const applied = await check(['--apply']);
    expect(find(applied, 'outbound.admin.backoff.beta_test').status).toBe('info');
    expect(find(applied, 'outbound.admin.backoff.beta_test').detail).toMatch(/^reset with --apply/);
    expect((await adminDestinations()).find((d) => d.destination === PAIR.beta.serverName)?.retry_interval).toBe(0);

    const after = await check();
    expect(after.report.findings.some((f) => f.id === 'outbound.admin.backoff.beta_test')).toBe(false);
    expect(find(after, 'outbound.admin.destinations').detail).toMatch(/, 0 in backoff$/);
    expect(after.code).toBe(0);
  });

  describe('the canary: a ping to an echo bot on beta, and its reply', () => {
    let bot: EchoBot;
    const canary = (room: string, wait = '15') => ['--canary', room, '--canary-wait', wait];

    beforeAll(async () => {
      await pair.restartAlpha();
      bot = await pair.startBetaEchoBot(`ping${Date.now()}`);
    }, 60_000);

    it('the healthy pair: the pong comes back, both legs timed; the room joined for it is left again', async () => {
      const run = await check(canary(bot.alias));
      const found = find(run, 'outbound.canary');
      expect(found.status).toBe('pass');
      expect(found.detail).toMatch(
        new RegExp(
          `^@echo-ping\\d+:beta\\.test answered the ping in ${bot.alias.replace(/\./g, '\\.')}, round trip \\d+ ms: out \\d+ ms \\(the bot's measure\\), back \\d+ ms$`,
        ),
      );
      expect(found.evidence).toMatchObject({ room: bot.alias, roomId: bot.roomId, left: true });
      expect(bot.answered).toBe(1);
      expect(run.code).toBe(0);
      // The user is out of the room again.
      const joined = await clientCall(pair.alpha, pair.user.token, 'GET', '/_matrix/client/v3/joined_rooms');
      expect((JSON.parse(joined.body) as { joined_rooms: string[] }).joined_rooms).not.toContain(bot.roomId);
    });

    it('doctor runs it in its outbound area for one server, and refuses it for a fleet', async () => {
      const args = [PAIR.alpha.serverName, '--only', 'outbound', '--remote', PAIR.beta.serverName, '--resolver', pair.resolver];
      const run = await runReport('checks/doctor.ts', [...args, '--ca-file', pair.caFile, '--json', ...canary(bot.alias)], {
        MATRIX_ACCESS_TOKEN: pair.user.token,
      });
      expect(run.stdout).not.toContain(pair.user.token);
      expect(find(run, 'outbound.canary').status).toBe('pass');
      expect(bot.answered).toBe(2);
      const fleet = await runCli('checks/doctor.ts', ['--list', pair.caFile, ...canary(bot.alias)]);
      expect(fleet.code).toBe(3);
      expect(fleet.stderr).toBe('doctor: --canary checks one server: give a server name, not --inventory/--list\n');
    });

    it('without a token the canary is not run, and says why', async () => {
      const run = await check(canary(bot.alias), false);
      expect(find(run, 'outbound.canary')).toMatchObject({
        status: 'skip',
        detail: `${bot.alias}: not run, no access token (MATRIX_ACCESS_TOKEN or --access-token-file)`,
      });
      expect(bot.answered).toBe(2);
    });

    it('a room that does not exist: not reachable, with the alias to give instead', async () => {
      const run = await check(canary('#no-such-room:beta.test'));
      const found = find(run, 'outbound.canary');
      expect(found.status).toBe('fail');
      expect(found.detail).toMatch(/^the room alias #no-such-room:beta\.test does not exist on beta\.test \(404 M_NOT_FOUND/);
      expect(found.fix).toContain("'#ping:maunium.net'");
      expect(run.code).toBe(2);
    });

    it("beta cannot deliver to alpha (alpha's proxy closes /send): the ping left, the reply did not come back", async () => {
      await pair.setFaults({ alphaInboundSendClosed: true });
      try {
        const run = await check(canary(bot.alias, '6'));
        const found = find(run, 'outbound.canary');
        expect(found.status).toBe('fail');
        expect(found.detail).toMatch(
          /^no reply from beta\.test within \d+ s, though the ping left: Synapse delivered events to beta\.test after it \(last_successful_stream_ordering \d+ → \d+\)\. The reply did not come back: beta\.test cannot deliver to alpha\.test, or the bot did not answer$/,
        );
        expect(found.fix).toMatch(/^Check inbound federation from outside: npx tsx checks\/federation\.ts alpha\.test/);
        // The bot did answer: its pong is what never arrived.
        expect(bot.answered).toBe(3);
        expect(run.code).toBe(2);
      } finally {
        await pair.setFaults({});
        // beta's backoff for alpha, from the refused transactions, ends here.
        await clientCall(
          pair.beta,
          pair.betaAdmin.token,
          'POST',
          `/_synapse/admin/v1/federation/destinations/${PAIR.alpha.serverName}/reset_connection`,
          {},
        );
      }
    });

    it('bad --canary input is one line and exit 3', async () => {
      const run = await runCli('checks/outbound.ts', [PAIR.alpha.serverName, '--canary', 'ping']);
      expect(run.code).toBe(3);
      expect(run.stderr).toBe(`outbound: --canary "ping": give a room alias or id with its server, e.g. '#ping:maunium.net'\n`);
      const wait = await runCli('checks/outbound.ts', [PAIR.alpha.serverName, '--canary', bot.alias, '--canary-wait', '0']);
      expect(wait.code).toBe(3);
      expect(wait.stderr).toBe('outbound: --canary-wait must be a whole number of seconds from 1 to 300, not "0"\n');
    });
  });

  it('bad input is one line and exit 3; tokens are never accepted as arguments', async () => {
    const withPort = await runCli('checks/outbound.ts', [PAIR.alpha.serverName, '--remote', 'beta.test:8448']);
    expect(withPort.code).toBe(3);
    expect(withPort.stderr).toBe('outbound: --remote "beta.test:8448": give a server name without a port\n');
    const tokenArg = await runCli('checks/outbound.ts', [PAIR.alpha.serverName, '--access-token', 'x']);
    expect(tokenArg.code).toBe(3);
    expect(tokenArg.stderr).toMatch(/^outbound: Unknown option '--access-token'/);
  });
});
