// checks/rtc.ts run as a real process against the MatrixRTC lab: the real LiveKit (built from the
// Go module proxy), real Synapses behind nginx, the lab stand-in of lk-jwt-service, all on
// 127.14.0.0/16. Every fault of issue 14, each asserted on its finding and fix.
import { createServer } from 'node:http';
import { RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { accessToken, registerUser } from './servers/synapse.ts';
import { type ReportRun, runCli, runReport } from './run-cli.ts';
import {
  dropPackets,
  FOCI,
  JWT_ADDRESS,
  KEY,
  MATRIX_HOST,
  ORIGIN,
  PUBLIC_ADDRESS,
  type RtcLab,
  type SynapseVariant,
  SECRET,
  SERVER,
  SERVICE_URL,
  startRtcLab,
} from './rtc-lab.ts';

const USER = 'alice';
const PASSWORD = 'lab-alice-password-5b0e7d11';
const TIMEOUT_S = 2;
let lab: RtcLab;
let token: string;
const cleanups: (() => void)[] = [];

beforeAll(async () => {
  lab = await startRtcLab();
  await Promise.all([lab.synapse, lab.synapsePlain, lab.synapseNoTransports].map((synapse) => registerUser(synapse, USER, PASSWORD)));
  token = await accessToken(lab.synapse, USER, PASSWORD);
}, 180_000);

afterAll(async () => {
  await lab?.stop();
});

afterEach(async () => {
  for (const undo of cleanups.splice(0)) undo();
  await lab.reset();
  lab.publish(SERVER);
  lab.setClientWellKnown({ 'm.homeserver': { base_url: `https://${MATRIX_HOST}` }, 'org.matrix.msc4143.rtc_foci': FOCI });
  lab.setServerWellKnown({ 'm.server': `${MATRIX_HOST}:443` });
  await lab.useSynapse('rtc');
});

async function rtcCheck(args: string[] = [], env: NodeJS.ProcessEnv = { MATRIX_ACCESS_TOKEN: token }): Promise<ReportRun> {
  const run = await runReport(
    'checks/rtc.ts',
    [ORIGIN, '--resolver', lab.resolver, '--ca-file', lab.pki.caFile, '--json', '--timeout', String(TIMEOUT_S), ...args],
    { MATRIX_PASSWORD: '', MATRIX_ACCESS_TOKEN: '', ...env },
  );
  expect(run.stderr).toBe('');
  // No secret reaches the output: not the access token, no JWT (the OpenID token is opaque).
  expect(run.stdout).not.toContain(token);
  expect(run.stdout).not.toMatch(/eyJ[\w-]{10,}\.[\w-]{10,}\./);
  return run;
}

/** The check as the lab user of one of the Synapses behind nginx; that user's token is never in the output. */
async function rtcCheckOn(variant: SynapseVariant): Promise<ReportRun> {
  const synapse = await lab.useSynapse(variant);
  const userToken = await accessToken(synapse, USER, PASSWORD);
  const run = await rtcCheck([], { MATRIX_ACCESS_TOKEN: userToken });
  expect(run.stdout).not.toContain(userToken);
  return run;
}

async function healthy(): Promise<void> {
  await lab.startLivekit();
  await lab.startJwt();
}

describe('rtc command line', () => {
  it('prints the bound of the whole area in --help, and refuses bad input in one line', async () => {
    const help = await runCli('checks/rtc.ts', ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--timeout × 14 steps');
    const bad = await runCli('checks/rtc.ts', [ORIGIN, '--user', USER, '--access-token-file', '/nonexistent'], { MATRIX_PASSWORD: 'x' });
    expect(bad.code).toBe(3);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('rtc check against a real LiveKit', () => {
  it('follows the healthy path end to end and leaves nobody behind', async () => {
    await healthy();
    const run = await rtcCheck();
    const failing = run.report.findings.filter((f) => f.status !== 'pass');
    expect(failing).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.byId('rtc.livekit.signal').detail).toContain('LiveKit 1.13.5');
    expect(run.byId('rtc.livekit.media-udp').detail).toMatch(/over UDP; ICE \d+ ms, DTLS \d+ ms, first data-channel packet \d+ ms/);
    expect(run.byId('rtc.livekit.media-tcp').detail).toContain('over TCP');
    expect(run.byId('rtc.jwt.claims').detail).toMatch(/grants roomJoin, canPublish, canSubscribe, expires in 3\d{3} s/);
    expect(run.byId('rtc.jwt.federation').detail).toContain('/_matrix/federation/v1/openid/userinfo');
    // LiveKit: the room the check joined has no participant left.
    const rooms = new RoomServiceClient(lab.livekit!.url, KEY, SECRET);
    const room = String((run.byId('rtc.jwt.claims').evidence as { room: string }).room);
    expect(await rooms.listParticipants(room)).toEqual([]);
    // Well within the area's bound.
    expect(run.wallMs).toBeLessThan(2 * 14 * 1000);
  });

  it('without a user: discovery only, and says what the rest needs', async () => {
    await healthy();
    const run = await rtcCheck([], {});
    expect(run.byId('rtc.discovery.wellknown').status).toBe('pass');
    expect(run.byId('rtc.discovery.transports').status).toBe('skip');
    expect(run.byId('rtc.homeserver.auth').status).toBe('skip');
    expect(run.byId('rtc.homeserver.auth').detail).toContain('MATRIX_ACCESS_TOKEN');
  });

  it('--user logs in from MATRIX_PASSWORD and logs out again', async () => {
    await healthy();
    const run = await rtcCheck(['--user', USER], { MATRIX_PASSWORD: PASSWORD });
    expect(run.byId('rtc.homeserver.auth').detail).toContain('logged in with --user');
    expect(run.byId('rtc.cleanup').status).toBe('pass');
    expect(run.byId('rtc.cleanup').detail).toContain('logged out');
    expect(run.stdout).not.toContain(PASSWORD);
  });

  it('LiveKit down: the JWT service cannot create the room', async () => {
    await lab.startJwt();
    const run = await rtcCheck();
    const getToken = run.byId('rtc.jwt.get-token');
    expect(getToken.status).toBe('fail');
    expect(getToken.detail).toContain('Unable to create room on SFU');
    expect(getToken.fix).toContain('systemctl status matrix-livekit-server');
    expect(run.byId('rtc.livekit.signal')).toMatchObject({ status: 'skip', causedBy: 'rtc.jwt.get-token' });
    expect(run.code).toBe(2);
  });

  it("a JWT service signing with another secret than LiveKit's: signalling refused", async () => {
    await lab.startLivekit();
    // A restricted-access user: the service creates no room and hands out its token as is.
    await lab.startJwt({ secret: 'another-secret-0123456789abcdef0123456789abcdef', fullAccess: ['elsewhere.test'] });
    const run = await rtcCheck();
    expect(run.byId('rtc.jwt.get-token').status).toBe('pass');
    const signal = run.byId('rtc.livekit.signal');
    expect(signal.status).toBe('fail');
    expect(signal.detail).toContain('→ 401');
    expect(signal.detail).toContain('LiveKit refuses the token');
    expect(signal.fix).toContain('same');
    expect(signal.fix).toContain('matrix_homeserver_generic_secret_key');
  });

  it('a JWT service that cannot reach the federation API: 500 explained by its cause', async () => {
    await healthy();
    // Discovery now sends federation to port 8448, where nothing listens.
    lab.setServerWellKnown({ 'm.server': `${MATRIX_HOST}:8448` });
    const run = await rtcCheck();
    const federation = run.byId('rtc.jwt.federation');
    expect(federation.status).toBe('fail');
    expect(federation.detail).toContain(`${MATRIX_HOST}:8448`);
    expect(federation.detail).toContain('connection refused');
    expect(federation.fix).toContain('8448/tcp');
    const legacy = run.byId('rtc.jwt.sfu-get');
    expect(legacy).toMatchObject({ status: 'fail', causedBy: 'rtc.jwt.federation' });
    expect(legacy.detail).toContain('500 M_LOOKUP_FAILED');
    expect(legacy.detail).toContain('SFU Config fetch failed');
    expect(run.byId('rtc.jwt.get-token')).toMatchObject({ status: 'fail', causedBy: 'rtc.jwt.federation' });
  });

  it('a JWT service that accepts and never answers ends as a finding within the timeout', async () => {
    await lab.startLivekit();
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(lab.ports.jwt, JWT_ADDRESS, resolve));
    try {
      const run = await rtcCheck();
      const getToken = run.byId('rtc.jwt.get-token');
      expect(getToken.status).toBe('fail');
      expect(getToken.detail).toContain('no answer within the timeout');
      expect(getToken.fix).toContain('systemctl status matrix-livekit-jwt-service');
      expect(run.byId('rtc.jwt.cors').status).toBe('fail');
      expect(run.wallMs).toBeLessThan(14 * TIMEOUT_S * 1000);
    } finally {
      silent.closeAllConnections?.();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('a focus in the transports API but not in the well-known', async () => {
    await healthy();
    lab.setClientWellKnown({ 'm.homeserver': { base_url: `https://${MATRIX_HOST}` } });
    const run = await rtcCheck();
    const wk = run.byId('rtc.discovery.wellknown');
    expect(wk.status).toBe('fail');
    expect(wk.detail).toContain('MISSING_MATRIX_RTC_TRANSPORT');
    expect(wk.fix).toContain('org.matrix.msc4143.rtc_foci');
    expect(wk.fix).toContain('matrix_rtc_enabled: true');
    expect(run.byId('rtc.discovery.transports').status).toBe('pass');
    // The rest of the path runs with the transports API's focus.
    expect(run.byId('rtc.livekit.media-udp').status).toBe('pass');
  });

  it('a focus in the well-known but no transports API', async () => {
    await healthy();
    const run = await rtcCheckOn('plain');
    const transports = run.byId('rtc.discovery.transports');
    expect(transports.status).toBe('warn');
    expect(transports.detail).toContain('M_UNRECOGNIZED');
    expect(transports.detail).toContain('fall back to the well-known');
    expect(transports.fix).toContain('msc4143_enabled');
    expect(run.byId('rtc.discovery.wellknown').status).toBe('pass');
    expect(run.byId('rtc.livekit.media-tcp').status).toBe('pass');
  });

  it("a JWT service at MDAD's path while neither the well-known nor the homeserver names a focus", async () => {
    await healthy();
    lab.setClientWellKnown({ 'm.homeserver': { base_url: `https://${MATRIX_HOST}` } });
    const run = await rtcCheckOn('plain');
    const wk = run.byId('rtc.discovery.wellknown');
    expect(wk.status).toBe('fail');
    expect(wk.detail).toContain(`yet a LiveKit JWT service answers at ${SERVICE_URL} (MDAD's path)`);
    expect(wk.fix).toContain(`"livekit_service_url": "${SERVICE_URL}"`);
    expect(run.byId('rtc.discovery.transports').status).toBe('fail');
    expect(run.code).toBe(2);
  });

  it('the twin: no JWT service there either, so MatrixRTC is just not set up', async () => {
    lab.setClientWellKnown({ 'm.homeserver': { base_url: `https://${MATRIX_HOST}` } });
    const run = await rtcCheckOn('plain');
    expect(run.byId('rtc.discovery.wellknown').status).toBe('info');
    expect(run.byId('rtc.discovery.wellknown').detail).toContain('not set up');
    expect(run.code).toBe(0);
  });

  it('a transports API that answers 200 {} while the well-known names the focus', async () => {
    // Synapse with msc4143_enabled and no matrix_rtc.transports: Element X keeps that answer (no
    // fallback), so calls fail although the well-known is right. The healthy twin is the first test.
    await healthy();
    const run = await rtcCheckOn('no-transports');
    const transports = run.byId('rtc.discovery.transports');
    expect(transports.status).toBe('fail');
    expect(transports.detail).toContain('answered 200 without a LiveKit transport: no rtc_transports at all');
    expect(transports.detail).toContain('do not fall back to the well-known');
    expect(transports.fix).toContain(`livekit_service_url: ${FOCI[0]!.livekit_service_url}`);
    expect(transports.fix).toContain('matrix_synapse_matrix_rtc_transports');
    expect(run.byId('rtc.discovery.wellknown').status).toBe('pass');
    expect(run.code).toBe(2);
    // Clients that read the well-known directly still find the focus: the rest of the path runs with it.
    expect(run.byId('rtc.livekit.media-udp').status).toBe('pass');
  });

  it('LiveKit advertising a private node IP', async () => {
    await lab.startLivekit({ nodeIp: '10.14.0.2' });
    await lab.startJwt();
    const run = await rtcCheck();
    const nodeIp = run.byId('rtc.livekit.node-ip');
    expect(nodeIp.status).toBe('fail');
    expect(nodeIp.detail).toContain('10.14.0.2 (a private (RFC 1918 / ULA) address)');
    expect(nodeIp.fix).toContain('livekit_server_config_rtc_use_external_ip: true');
    expect(nodeIp.fix).toContain('node_ip');
    for (const t of ['udp', 'tcp'])
      expect(run.byId(`rtc.livekit.media-${t}`)).toMatchObject({ status: 'fail', causedBy: 'rtc.livekit.node-ip' });
  });

  it('UDP dropped: only TCP works', async () => {
    await healthy();
    cleanups.push(dropPackets(SERVER, lab.ports.udp, 'udp'));
    const run = await rtcCheck();
    const udp = run.byId('rtc.livekit.media-udp');
    expect(udp.status).toBe('warn');
    expect(udp.detail).toContain('a firewall drops UDP');
    expect(udp.fix).toContain(`${lab.ports.udp}/udp`);
    expect(udp.fix).toContain('7882/udp');
    expect(run.byId('rtc.livekit.media-tcp').status).toBe('pass');
    expect(run.code).toBe(1);
  });

  it('nothing at all: UDP and TCP dropped, each ends within the timeout', async () => {
    await healthy();
    cleanups.push(dropPackets(SERVER, lab.ports.udp, 'udp'), dropPackets(SERVER, lab.ports.tcp, 'tcp'));
    const run = await rtcCheck();
    for (const t of ['udp', 'tcp']) {
      const media = run.byId(`rtc.livekit.media-${t}`);
      expect(media.status).toBe('fail');
      expect(media.detail).toContain('TCP and UDP both fail');
    }
    expect(run.wallMs).toBeLessThan(14 * TIMEOUT_S * 1000);
  });

  it('--connect-to for every hop: a server whose names still point elsewhere', async () => {
    // DNS publishes a public address that leads nowhere; LiveKit advertises it too.
    lab.publish(PUBLIC_ADDRESS);
    await lab.startLivekit({ nodeIp: PUBLIC_ADDRESS });
    await lab.startJwt();
    const routes = [
      `${ORIGIN}:443:${SERVER}:443`,
      `${MATRIX_HOST}:443:${SERVER}:443`,
      `${PUBLIC_ADDRESS}:${lab.ports.udp}:${SERVER}:${lab.ports.udp}`,
      `${PUBLIC_ADDRESS}:${lab.ports.tcp}:${SERVER}:${lab.ports.tcp}`,
    ].flatMap((route) => ['--connect-to', route]);
    const run = await rtcCheck(routes);
    expect(run.report.findings.filter((f) => f.status !== 'pass')).toEqual([]);
    expect(run.byId('rtc.livekit.node-ip').detail).toContain(PUBLIC_ADDRESS);
  });
});
