// checks/turn.ts run as a real process against the TURN lab: a real coturn (Debian's turnserver)
// and a real Synapse behind nginx, names served by the lab DNS server, all on 127.78.0.0/24.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deriveSecret } from '../../checks/plan/secrets.ts';
import { startSilentServer, type RunningDnsServer } from '../../sandbox/dns-server.ts';
import type { RunningCoturn } from './servers/coturn.ts';
import { accessToken, registerUser } from './servers/synapse.ts';
import { type ReportRun, runCli, runReport } from './run-cli.ts';
import {
  labCoturn,
  ELSEWHERE,
  MATRIX_HOST,
  ORIGIN,
  readLog,
  readLogWhen,
  SERVER,
  startLossyUdpForwarder,
  startTurnLab,
  SYNAPSE_TURN_URIS,
  VARS,
  type TurnLab,
} from './turn-lab.ts';

const USER = 'alice';
const PASSWORD = 'lab-alice-password-8d1f0c2e';
let lab: TurnLab;
let coturn: RunningCoturn | undefined;

beforeAll(async () => {
  lab = await startTurnLab();
  await Promise.all([registerUser(lab.synapse, USER, PASSWORD), registerUser(lab.synapseWithoutTurn, USER, PASSWORD)]);
});

afterAll(async () => {
  await coturn?.stop();
  await lab?.stop();
});

afterEach(async () => {
  await coturn?.stop();
  coturn = undefined;
  lab.setClientWellKnown({ 'm.homeserver': { base_url: `https://${MATRIX_HOST}` } });
});

async function turnCheck(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ReportRun> {
  const run = await runReport(
    'checks/turn.ts',
    [ORIGIN, '--resolver', lab.resolver, '--ca-file', lab.pki.caFile, '--json', '--timeout', '2', ...args],
    {
      MATRIX_PASSWORD: '',
      MATRIX_ACCESS_TOKEN: '',
      TURN_SECRET: '',
      ...env,
    },
  );
  expect(run.stderr).toBe('');
  return run;
}

/** No secret of the run may appear in what the check printed. */
function expectNoSecrets(run: ReportRun, secrets: string[]) {
  for (const secret of secrets) {
    expect(run.stdout).not.toContain(secret);
    expect(run.stderr).not.toContain(secret);
  }
}

const asUser = (vars = VARS.coturn) => ['--user', USER, '--vars', vars];
const PASSWORD_ENV = { MATRIX_PASSWORD: PASSWORD };
const URI_STEPS = ['dns', 'reach', 'auth', 'integrity', 'relayed-address', 'relay', 'release'];

describe('TURN check against a real coturn and a real Synapse', () => {
  it('passes a healthy deployment over UDP, TCP and TLS, relays data and releases every allocation', async () => {
    coturn = await labCoturn(lab);
    const run = await turnCheck(asUser(), PASSWORD_ENV);
    const { byId } = run;
    expect(byId('turn.homeserver.discovery').detail).toContain(`https://${MATRIX_HOST}`);
    expect(byId('turn.homeserver.login')).toMatchObject({ status: 'pass', detail: `Logged in as @${USER}:${ORIGIN}` });
    expect(byId('turn.homeserver.turnserver').status).toBe('pass');
    expect(byId('turn.homeserver.turnserver').evidence?.uris).toEqual(SYNAPSE_TURN_URIS);
    expect(byId('turn.homeserver.logout').status).toBe('pass');
    expect(byId('turn.config.uris').detail).toContain('4 from the homeserver');
    for (const subject of ['turn-udp-3478', 'turn-tcp-3478', 'turns-tcp-5349']) {
      for (const step of URI_STEPS) expect(byId(`turn.${subject}.${step}`).status, `${subject}.${step}`).toBe('pass');
    }
    expect(byId('turn.turns-tcp-5349.tls').status).toBe('pass');
    expect(byId('turn.turns-udp-5349.reach').status).toBe('skip');
    expect(byId('turn.turn-udp-3478.auth').detail).toContain(`realm turn.${MATRIX_HOST}`);
    expect(byId('turn.turn-udp-3478.integrity').detail).toContain('MESSAGE-INTEGRITY of the Allocate success verified');
    expect(byId('turn.turn-udp-3478.relayed-address').detail).toContain(`Relayed ${SERVER}:`);
    const relayed = byId('turn.turn-udp-3478.relayed-address').evidence?.relayed as { port: number };
    expect(relayed.port).toBeGreaterThanOrEqual(49160);
    expect(relayed.port).toBeLessThanOrEqual(49179);
    expect(byId('turn.turn-tcp-3478.release').detail).toContain('2 allocation(s) released');
    expect(byId('turn.rtc.foci').status).toBe('info');
    expect(run.report.summary.fail + run.report.summary.warn).toBe(0);
    expect(run.code).toBe(0);
    expectNoSecrets(run, [PASSWORD, lab.derivedSecret]);
    // coturn saw every allocation deleted again: two per probed URI, each refreshed with lifetime 0.
    const released = /refreshed, realm=<[^>]+>, username=<[^>]+>, lifetime=0/g;
    const log = await readLogWhen(coturn, released, 6);
    expect(log.match(/incoming packet ALLOCATE processed, success/g)).toHaveLength(6);
    expect(log.match(released)).toHaveLength(6);
    expect(log).not.toContain(PASSWORD);
  });

  it('takes the access token from MATRIX_ACCESS_TOKEN or --access-token-file, and keeps it out of the report', async () => {
    coturn = await labCoturn(lab);
    const token = await accessToken(lab.synapse, USER, PASSWORD);
    const fromEnv = await turnCheck(['--vars', VARS.coturn], { MATRIX_ACCESS_TOKEN: token });
    expect(fromEnv.byId('turn.homeserver.turnserver').status).toBe('pass');
    expect(fromEnv.ids).not.toContain('turn.homeserver.login');
    expect(fromEnv.ids).not.toContain('turn.homeserver.logout');
    expect(fromEnv.code).toBe(0);
    const file = join(lab.dir, 'token');
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    const fromFile = await turnCheck(['--access-token-file', file]);
    expect(fromFile.byId('turn.turns-tcp-5349.relay').status).toBe('pass');
    expect(fromFile.code).toBe(0);
    expectNoSecrets(fromEnv, [token, lab.derivedSecret]);
    expectNoSecrets(fromFile, [token]);
  });

  it('tells which side holds the wrong secret when Synapse and coturn disagree', async () => {
    // coturn runs with the secret another generic secret derives; Synapse keeps the lab's.
    const otherSecret = deriveSecret('another-generic-secret', ':coturn.sas');
    coturn = await labCoturn(lab, { secret: otherSecret });
    const otherVars = join(lab.dir, 'other-vars.yml');
    writeFileSync(
      otherVars,
      `matrix_domain: ${ORIGIN}\nmatrix_homeserver_generic_secret_key: another-generic-secret\ncoturn_enabled: true\n`,
    );

    const synapseWrong = await turnCheck(asUser(otherVars), PASSWORD_ENV);
    const auth = synapseWrong.byId('turn.turn-udp-3478.auth');
    expect(auth.status).toBe('fail');
    expect(auth.detail).toContain("Synapse's turn_shared_secret differs from coturn's static-auth-secret");
    expect(auth.fix).toContain('Remove any hand-set matrix_synapse_turn_shared_secret');
    expect(synapseWrong.byId('turn.turns-tcp-5349.auth').status).toBe('fail');
    expect(synapseWrong.ids).not.toContain('turn.turn-udp-3478.relay');
    expect(synapseWrong.code).toBe(2);

    const bothWrong = await turnCheck(asUser(VARS.coturn), PASSWORD_ENV);
    expect(bothWrong.byId('turn.turn-tcp-3478.auth').detail).toContain(
      'and also the static auth secret MDAD derives from your vars.yml: coturn runs with another static-auth-secret',
    );

    const planOnly = await turnCheck(['--vars', VARS.coturn]);
    expect(planOnly.byId('turn.config.uris').detail).toContain('from vars.yml (coturn_turn_uris)');
    expect(planOnly.byId('turn.turn-udp-3478.auth')).toMatchObject({ status: 'fail' });
    expect(planOnly.byId('turn.turn-udp-3478.auth').detail).toContain('coturn refuses the static auth secret MDAD derives');
    for (const run of [synapseWrong, bothWrong, planOnly]) expectNoSecrets(run, [PASSWORD, otherSecret, lab.derivedSecret]);
  });

  it('reports coturn down as closed ports, each with the firewall and service fix, within the timeout', async () => {
    const run = await turnCheck(asUser(), PASSWORD_ENV);
    const udp = run.byId('turn.turn-udp-3478.reach');
    expect(udp.status).toBe('fail');
    expect(udp.detail).toContain('is closed (ICMP port unreachable)');
    expect(udp.fix).toContain('3478/udp');
    const tcp = run.byId('turn.turn-tcp-3478.reach');
    expect(tcp.detail).toContain(`Connection to ${SERVER}:3478/tcp refused`);
    expect(tcp.fix).toContain('systemctl start matrix-coturn');
    expect(run.byId('turn.turns-tcp-5349.reach').detail).toContain('5349/tcp refused');
    expect(run.ids).not.toContain('turn.turn-udp-3478.auth');
    expect(run.code).toBe(2);
    expect(run.report.durationMs).toBeLessThan(2000);
  });

  it('ends a silent port in a timeout finding within --timeout, after RFC 8489 retransmissions', async () => {
    const silent: RunningDnsServer = await startSilentServer(SERVER, 3499);
    try {
      const run = await turnCheck([
        '--turn-uri',
        `turn:${MATRIX_HOST}:3499?transport=udp`,
        '--turn-uri',
        `turn:${MATRIX_HOST}:3499?transport=tcp`,
        '--timeout',
        '2',
      ]);
      const udp = run.byId('turn.turn-udp-3499.reach');
      expect(udp.status).toBe('fail');
      expect(udp.detail).toContain('No STUN answer from 127.78.0.2:3499/udp within 2000 ms (3 Binding requests sent');
      // Sends at 0, 500 and 1500 ms (RTO 500 ms, doubling); the transaction gives up at the 2 s budget.
      expect(udp.evidence?.sent).toBe(3);
      expect(run.byId('turn.turn-udp-3499.reach').fix).toContain('Open 3499/udp');
      expect(run.byId('turn.turn-tcp-3499.reach').detail).toContain(
        'No STUN answer from 127.78.0.2:3499/tcp within 2000 ms although the connection was accepted',
      );
      expect(run.report.durationMs).toBeGreaterThanOrEqual(2000);
      expect(run.report.durationMs).toBeLessThan(2800);
      expect(run.code).toBe(2);
    } finally {
      await silent.close();
    }
  });

  it('recovers from lost UDP datagrams by retransmitting', async () => {
    coturn = await labCoturn(lab);
    const lossy = await startLossyUdpForwarder(SERVER, { address: SERVER, port: 3478 }, 2);
    try {
      const run = await turnCheck([`--turn-uri`, `turn:${MATRIX_HOST}:${lossy.port}?transport=udp`, '--timeout', '5'], {
        TURN_SECRET: lab.derivedSecret,
      });
      const reach = run.byId(`turn.turn-udp-${lossy.port}.reach`);
      expect(reach.status).toBe('pass');
      expect(reach.detail).toContain('after 2 retransmission(s)');
      expect(lossy.dropped).toBe(2);
      expect(run.byId(`turn.turn-udp-${lossy.port}.auth`).detail).toContain('the secret from TURN_SECRET');
      expect(run.byId(`turn.turn-udp-${lossy.port}.relay`).status).toBe('pass');
      expectNoSecrets(run, [lab.derivedSecret]);
    } finally {
      await lossy.close();
    }
  });

  it('fails turns: on 5349 with a certificate for another name, and only that', async () => {
    coturn = await labCoturn(lab, { certificate: lab.wrongName });
    const run = await turnCheck(asUser(), PASSWORD_ENV);
    const tls = run.byId('turn.turns-tcp-5349.tls');
    expect(tls.status).toBe('fail');
    expect(tls.detail).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(tls.detail).toContain(`wrong.${ORIGIN}`);
    expect(tls.fix).toContain('coturn_hostname');
    expect(run.byId('turn.turns-tcp-5349.auth').status).toBe('pass');
    expect(run.byId('turn.turn-udp-3478.relay').status).toBe('pass');
    expect(run.report.findings.filter((f) => f.status === 'fail').map((f) => f.id)).toEqual(['turn.turns-tcp-5349.tls']);
  });

  it("fails a private relayed address (coturn's external-ip) and sends nothing to it", async () => {
    // external-ip PUBLIC/PRIVATE: coturn relays on the loopback address but advertises 10.20.30.40.
    coturn = await labCoturn(lab, { externalIp: `10.20.30.40/${SERVER}` });
    const run = await turnCheck(asUser(), PASSWORD_ENV);
    const relayed = run.byId('turn.turn-udp-3478.relayed-address');
    expect(relayed.status).toBe('fail');
    expect(relayed.detail).toContain('10.20.30.40');
    expect(relayed.detail).toContain('a private (RFC 1918 / ULA) address');
    expect(relayed.fix).toContain('coturn_turn_external_ip_addresses:');
    expect(relayed.fix).toContain('install-coturn');
    const relay = run.byId('turn.turn-udp-3478.relay');
    expect(relay.status).toBe('skip');
    expect(relay.detail).toContain('10.20.30.40 is not an address of the server, so no data is sent to it');
    expect(run.byId('turn.turn-tcp-3478.release').status).toBe('pass');
    // coturn was never asked to relay anywhere: no permission, no data.
    expect(readLog(coturn)).not.toContain('CREATE_PERMISSION');
    expect(run.code).toBe(2);
  });

  it('fails a homeserver without TURN the way Element does: "Call failed due to misconfigured server"', async () => {
    const run = await turnCheck(['--user', USER, '--homeserver', lab.synapseWithoutTurn.url, '--vars', VARS.noCoturn], PASSWORD_ENV);
    const turnServer = run.byId('turn.homeserver.turnserver');
    expect(turnServer.status).toBe('fail');
    expect(turnServer.detail).toContain('Call failed due to misconfigured server');
    expect(turnServer.fix).toContain('coturn_enabled: true');
    expect(turnServer.fix).toContain('coturn_turn_external_ip_addresses');
    expect(run.byId('turn.homeserver.discovery').detail).toContain(`${lab.synapseWithoutTurn.url} (from --homeserver)`);
    expect(run.byId('turn.homeserver.logout').status).toBe('pass');
    expect(run.ids.filter((id) => /^turn\.turns?-/.test(id))).toEqual([]);
    expect(run.code).toBe(2);
    expectNoSecrets(run, [PASSWORD]);

    // The same homeserver while vars.yml enables coturn: the playbook has not been run since.
    const stale = await turnCheck(['--user', USER, '--homeserver', lab.synapseWithoutTurn.url, '--vars', VARS.coturn], PASSWORD_ENV);
    expect(stale.byId('turn.homeserver.turnserver').fix).toContain('vars.yml enables coturn but Synapse has no turn_uris');
  });

  it('fails a URI whose host does not resolve, and one that resolves elsewhere', async () => {
    coturn = await labCoturn(lab);
    const run = await turnCheck(
      ['--turn-uri', `turn:nowhere.${ORIGIN}?transport=udp`, '--turn-uri', `turn:elsewhere.${ORIGIN}?transport=tcp`, '--expect-ip', SERVER],
      { TURN_SECRET: lab.derivedSecret },
    );
    const nowhere = run.byId('turn.turn-udp-3478.dns');
    expect(nowhere.status).toBe('fail');
    expect(nowhere.detail).toContain('does not resolve (NXDOMAIN');
    expect(nowhere.fix).toContain(`nowhere.${ORIGIN}. 3600 IN A ${SERVER}`);
    const elsewhere = run.byId('turn.turn-tcp-3478.dns');
    expect(elsewhere.status).toBe('fail');
    expect(elsewhere.detail).toContain(`resolves to 127.78.0.9, but the server is ${SERVER} (--expect-ip)`);
    expect(elsewhere.fix).toContain(`elsewhere.${ORIGIN}. 3600 IN A ${SERVER}`);
    expect(run.byId('turn.turn-tcp-3478.reach').status).toBe('fail');
  });

  it('with --connect-to, probes coturn for a host whose DNS still points elsewhere, and says where it went', async () => {
    coturn = await labCoturn(lab);
    const uris = ['--turn-uri', `turn:elsewhere.${ORIGIN}?transport=udp`, '--turn-uri', `turn:elsewhere.${ORIGIN}?transport=tcp`];
    const run = await turnCheck([...uris, '--connect-to', `elsewhere.${ORIGIN}:3478:${SERVER}:3478`], { TURN_SECRET: lab.derivedSecret });
    for (const subject of ['turn-udp-3478', 'turn-tcp-3478']) {
      for (const step of ['reach', 'auth', 'integrity', 'relay', 'release'])
        expect(run.byId(`turn.${subject}.${step}`).status, `${subject} ${step}`).toBe('pass');
      // coturn relays at the routed server's address, not at the one DNS still gives.
      expect(run.byId(`turn.${subject}.relayed-address`)).toMatchObject({
        status: 'pass',
        detail: expect.stringContaining(`Relayed ${SERVER}:`),
      });
      expect(run.byId(`turn.${subject}.relayed-address`).detail).toContain('the server reached through --connect-to');
    }
    // A name that does not resolve yet is probed through its route all the same.
    const unresolved = await turnCheck(
      ['--turn-uri', `turn:nowhere.${ORIGIN}?transport=udp`, '--connect-to', `nowhere.${ORIGIN}:3478:${SERVER}:3478`],
      { TURN_SECRET: lab.derivedSecret },
    );
    expect(unresolved.byId('turn.turn-udp-3478.dns').status).toBe('fail');
    expect(unresolved.byId('turn.turn-udp-3478.relay').status).toBe('pass');
    // The same URIs routed to a port where nothing listens: the failure names both addresses.
    const closed = await turnCheck([...uris, '--connect-to', `elsewhere.${ORIGIN}:3478:${SERVER}:3499`], {
      TURN_SECRET: lab.derivedSecret,
    });
    expect(closed.byId('turn.turn-tcp-3478.reach')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining(`${ELSEWHERE}:3478/tcp (reached at ${SERVER}:3499 through --connect-to)`),
    });
  });

  it('probes the MatrixRTC focus: the JWT service answers 405 to GET; LiveKit itself is not in the lab', async () => {
    lab.setClientWellKnown({
      'm.homeserver': { base_url: `https://${MATRIX_HOST}` },
      'org.matrix.msc4143.rtc_foci': [{ type: 'livekit', livekit_service_url: `https://${MATRIX_HOST}/livekit-jwt-service` }],
    });
    const run = await turnCheck(['--vars', VARS.rtc]);
    expect(run.byId('turn.rtc.foci').status).toBe('pass');
    expect(run.byId('turn.rtc.jwt-service')).toMatchObject({ status: 'pass' });
    expect(run.byId('turn.rtc.jwt-service').detail).toContain(`GET https://${MATRIX_HOST}/livekit-jwt-service/sfu/get → 405`);
    // Nothing listens on 7881 in the lab: the check must say so, with the firewall fix.
    const tcp = run.byId('turn.rtc.livekit-tcp');
    expect(tcp.status).toBe('fail');
    expect(tcp.detail).toContain(`${MATRIX_HOST}:7881/tcp: connection refused`);
    expect(tcp.fix).toContain('Open 7881/tcp');
  });

  it('fails MISSING_MATRIX_RTC_FOCUS when vars.yml enables MatrixRTC and the well-known has no focus', async () => {
    const run = await turnCheck(['--vars', VARS.rtc]);
    const foci = run.byId('turn.rtc.foci');
    expect(foci.status).toBe('fail');
    expect(foci.detail).toContain('MISSING_MATRIX_RTC_FOCUS');
    expect(foci.detail).toContain(`https://${ORIGIN}/.well-known/matrix/client has no org.matrix.msc4143.rtc_foci`);
    expect(foci.fix).toContain(
      `"org.matrix.msc4143.rtc_foci": [{"type": "livekit", "livekit_service_url": "https://${MATRIX_HOST}/livekit-jwt-service"}]`,
    );
    expect(run.ids).not.toContain('turn.rtc.jwt-service');
  });

  it('never takes a secret as an argument, and asks for MATRIX_PASSWORD when there is no terminal', async () => {
    const token = await runCli('checks/turn.ts', [ORIGIN, '--access-token', 'syt_secret']);
    expect(token.code).toBe(3);
    expect(token.stderr).toBe("turn: Unknown option '--access-token'\n");
    const noPassword = await runCli('checks/turn.ts', [ORIGIN, '--user', USER, '--json'], { MATRIX_PASSWORD: '' });
    expect(noPassword.code).toBe(3);
    expect(noPassword.stdout).toBe('');
    expect(noPassword.stderr).toContain('set MATRIX_PASSWORD');
  });
});
