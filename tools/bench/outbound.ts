// Benchmark case of the outbound area on the lab pair (test/lab/servers/synapse-pair.ts): the check's own time
// without process start-up, with a user's and an admin's token; then the same with a second
// remote that accepts connections and never answers, which must not hold up the first; then with
// the inside steps (two Ansible ad-hoc commands, the container one through the stand-in docker);
// then the canary's round trip to the echo bot on beta.
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { runArea, type RunSettings, type ServerTarget } from '../../checks/areas/area.ts';
import { outboundAreaWith } from '../../checks/areas/outbound.ts';
import { parseEndpoint } from '../../checks/core/net.ts';
import { VENV_DIR } from '../../test/lab/servers/provision.ts';
import { PAIR, startSynapsePair } from '../../test/lab/servers/synapse-pair.ts';
import type { Figure } from './figure.ts';

const RUNS = 15;

/** Accepts TCP connections on address:port and never says anything. */
async function silent(address: string, port: number): Promise<{ server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(port, address, resolve));
  return { server, sockets };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function outboundCase(): Promise<Figure[]> {
  const pair = await startSynapsePair();
  const holes = await Promise.all([silent(PAIR.slow.address, 443), silent(PAIR.slow.address, 8448)]);
  const path = process.env.PATH;
  try {
    const target: ServerTarget = { name: { given: PAIR.alpha.serverName, host: PAIR.alpha.serverName, isIpLiteral: false }, expected: {} };
    const settings = (timeoutMs: number): RunSettings => ({
      resolvers: [{ label: pair.resolver, endpoint: parseEndpoint(pair.resolver, 53)! }],
      timeoutMs,
      ca: readFileSync(pair.caFile, 'utf8'),
      auth: { kind: 'token', token: pair.user.token },
      areas: ['outbound'],
    });
    const beta = outboundAreaWith({ remotes: [PAIR.beta.serverName], adminToken: pair.admin.token });
    const healthy = async (timeoutMs: number, area = beta) => {
      const started = performance.now();
      const { findings } = await runArea(area, target, settings(timeoutMs));
      const elapsed = performance.now() - started;
      const betaFailed = findings.filter((f) => f.id.endsWith('beta_test') && f.status !== 'pass').map((f) => f.id);
      if (betaFailed.length) throw new Error(`beta.test should pass, but: ${betaFailed.join(', ')}`);
      return { elapsed, findings };
    };
    await healthy(5000);
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) times.push((await healthy(5000)).elapsed);

    const timeoutMs = 2000;
    const withSlow = outboundAreaWith({ remotes: [PAIR.beta.serverName, PAIR.slow.serverName], adminToken: pair.admin.token });
    const slow = await healthy(timeoutMs, withSlow);
    const slowFailed = slow.findings.some((f) => f.id === 'outbound.remote.slow_test' && f.status === 'fail');
    const bound = 2 * timeoutMs + 1000;

    process.env.PATH = `${pair.dockerBin}:${join(VENV_DIR, 'bin')}:${path}`;
    const inside = outboundAreaWith({
      remotes: [PAIR.beta.serverName],
      adminToken: pair.admin.token,
      inventory: { file: join(pair.playbook, 'inventory', 'hosts'), host: PAIR.alpha.matrixHost, cwd: pair.playbook },
    });
    const withInside = await healthy(5000, inside);

    // The canary: one ping to the lab's echo bot on beta, its pong timed (out, back, round trip).
    const bot = await pair.startBetaEchoBot(`bench${Date.now()}`);
    const canaryArea = outboundAreaWith({
      remotes: [PAIR.beta.serverName],
      adminToken: pair.admin.token,
      canary: { room: bot.alias, waitMs: 15_000 },
    });
    const canaryRun = await healthy(5000, canaryArea);
    const canary = canaryRun.findings.find((f) => f.id === 'outbound.canary');
    const pong = (canary?.evidence as { pong?: { roundTripMs: number; outboundMs?: number } } | undefined)?.pong;
    return [
      {
        name: `Outbound area, lab pair (notary both ways, client, admin), median of ${RUNS}`,
        value: `${median(times).toFixed(0)} ms`,
        target: '< 1000 ms',
        met: median(times) < 1000,
      },
      {
        name: 'Outbound area with a remote that never answers, --timeout 2',
        value: `${slow.elapsed.toFixed(0)} ms, beta.test judged`,
        target: `< ${bound} ms (2 × timeout + 1 s), the other remote passes`,
        met: slow.elapsed < bound && slowFailed,
      },
      {
        name: 'Outbound area with the inside steps (Ansible, 2 ad-hoc commands)',
        value: `${withInside.elapsed.toFixed(0)} ms`,
        target: 'printed',
        met: true,
      },
      {
        name: "Canary round trip to the lab's echo bot (out by the bot's measure, back), whole area",
        value: pong
          ? `${pong.roundTripMs} ms (out ${pong.outboundMs ?? '?'} ms, back ${pong.roundTripMs - (pong.outboundMs ?? 0)} ms), area ${canaryRun.elapsed.toFixed(0)} ms`
          : `no pong: ${canary?.detail ?? 'no canary finding'}`,
        target: 'a pong, printed',
        met: canary?.status === 'pass',
      },
    ];
  } finally {
    process.env.PATH = path;
    for (const { server, sockets } of holes) {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
    await pair.stop();
  }
}
