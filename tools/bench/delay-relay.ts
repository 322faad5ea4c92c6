// A delaying relay on loopback: TCP and UDP forwarders that hold every chunk and datagram for a
// fixed one-way delay in each direction, so that a check talking to the lab through it sees a
// long-distance round-trip time (2 × the delay). The kernel completes the relay's TCP handshake at
// once, so the first chunk a client sends on a connection is held one round trip longer: it
// reaches the server when it would have after a real SYN / SYN-ACK exchange.
//
// Serial mode lets one exchange through at a time, in arrival order (a TCP connection from accept
// to close, a UDP query until its reply is delivered): the same run of a check then costs what
// it would cost if the check issued its probes one after the other.
//
// Used as a child process (`node --import ./scripts/lib/typescript.mjs tools/bench/delay-relay.ts`, driven over IPC by
// startRelayProcess) so that its work does not share the measured process's event loop.
import dgram from 'node:dgram';
import net from 'node:net';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface RelayRoute {
  protocol: 'tcp' | 'udp';
  listen: { host: string; port: number };
  upstream: { host: string; port: number };
}

export interface RelayStats {
  tcpConnections: number;
  udpQueries: number;
}

interface Relay {
  setSerial(serial: boolean): void;
  stats(): RelayStats;
  close(): Promise<void>;
}

/** One direction of a connection: actions run in order, each not before its time. */
class DelayLine {
  private queue: { at: number; run: () => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private last = 0;

  schedule(delayMs: number, run: () => void): void {
    // Never before an earlier action of the same direction: order is kept as TCP keeps it.
    const at = Math.max(performance.now() + delayMs, this.last);
    this.last = at;
    this.queue.push({ at, run });
    if (!this.timer) this.arm();
  }

  private arm(): void {
    const head = this.queue[0];
    if (!head) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        const now = performance.now();
        // Timers may fire a fraction of a millisecond early; 0.5 ms of slack avoids busy re-arming.
        while (this.queue.length > 0 && this.queue[0].at <= now + 0.5) this.queue.shift()!.run();
        this.arm();
      },
      Math.max(0, head.at - performance.now()),
    );
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = [];
  }
}

/** A FIFO gate: in serial mode one holder at a time, otherwise everybody passes at once. */
class Gate {
  serial = false;
  private busy = false;
  private waiting: (() => void)[] = [];

  acquire(granted: (release: () => void) => void): void {
    if (!this.serial) return granted(() => {});
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.busy = false;
      const next = this.waiting.shift();
      if (next) next();
    };
    const start = () => {
      this.busy = true;
      granted(release);
    };
    if (this.busy) this.waiting.push(start);
    else start();
  }
}

export async function startDelayRelay(routes: readonly RelayRoute[], oneWayMs: number): Promise<Relay> {
  const gate = new Gate();
  const stats: RelayStats = { tcpConnections: 0, udpQueries: 0 };
  const closers: (() => Promise<void>)[] = [];
  const sockets = new Set<net.Socket | dgram.Socket>();

  for (const route of routes) {
    if (route.protocol === 'tcp') {
      const server = net.createServer((client) => {
        stats.tcpConnections++;
        relayTcp(client, route.upstream, oneWayMs, gate, sockets);
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(route.listen.port, route.listen.host, () => resolve());
      });
      closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    } else {
      const front = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        front.once('error', reject);
        front.bind(route.listen.port, route.listen.host, () => resolve());
      });
      // A reply the client can no longer take (it gave up) is not the relay's problem.
      front.on('error', () => {});
      front.on('message', (message, client) => {
        stats.udpQueries++;
        relayDatagram(front, message, client, route.upstream, oneWayMs, gate, sockets);
      });
      closers.push(() => new Promise((resolve) => front.close(() => resolve())));
    }
  }
  return {
    setSerial(serial) {
      gate.serial = serial;
    },
    stats: () => ({ ...stats }),
    async close() {
      for (const socket of sockets) {
        if (socket instanceof net.Socket) socket.destroy();
        else socket.close(() => {});
      }
      await Promise.all(closers.map((close) => close()));
    },
  };
}

function relayTcp(
  client: net.Socket,
  upstream: RelayRoute['upstream'],
  oneWayMs: number,
  gate: Gate,
  sockets: Set<net.Socket | dgram.Socket>,
): void {
  sockets.add(client);
  // What the client sends while it waits at the gate (serial mode) is held, in order.
  const early: Buffer[] = [];
  let clientEnded = false;
  const hold = (chunk: Buffer) => early.push(chunk);
  client.on('data', hold);
  client.once('end', () => (clientEnded = true));
  client.on('error', () => {});
  gate.acquire((release) => {
    if (client.destroyed) {
      sockets.delete(client);
      return release();
    }
    const server = net.connect({ host: upstream.host, port: upstream.port });
    sockets.add(server);
    const up = new DelayLine();
    const down = new DelayLine();
    let closed = false;
    // The exchange is over for the client when it closes its side: the gate opens for the next
    // one at once (a client doing one thing at a time starts the next then). The close travels
    // like data, after what was sent before it, and then both sockets go.
    const finish = () => {
      if (closed) return;
      closed = true;
      up.clear();
      down.clear();
      client.destroy();
      server.destroy();
      sockets.delete(client);
      sockets.delete(server);
      release();
    };
    const clientGone = () => {
      release();
      up.schedule(oneWayMs, finish);
    };
    client.once('close', clientGone);
    client.on('error', clientGone);
    server.on('error', () => down.schedule(oneWayMs, () => client.destroy()));
    server.once('close', () =>
      down.schedule(oneWayMs, () => {
        client.end();
        // A client that never closes its side must not hold the serial gate for ever.
        setTimeout(finish, 2000).unref();
      }),
    );
    let first = true;
    const forward = (chunk: Buffer) => {
      // The first chunk also waits for the round trip of the TCP handshake the relay skipped.
      up.schedule(first ? 3 * oneWayMs : oneWayMs, () => server.write(chunk));
      first = false;
    };
    client.off('data', hold);
    early.forEach(forward);
    client.on('data', forward);
    const endUpstream = () => up.schedule(oneWayMs, () => server.end());
    if (clientEnded) endUpstream();
    else client.once('end', endUpstream);
    server.on('data', (chunk: Buffer) => down.schedule(oneWayMs, () => client.write(chunk)));
  });
}

/** How long a UDP query may wait for its reply before it gives the serial gate back. */
const UDP_IDLE_MS = 10_000;

function relayDatagram(
  front: dgram.Socket,
  message: Buffer,
  client: dgram.RemoteInfo,
  upstream: RelayRoute['upstream'],
  oneWayMs: number,
  gate: Gate,
  sockets: Set<net.Socket | dgram.Socket>,
): void {
  gate.acquire((release) => {
    const line = new DelayLine();
    const socket = dgram.createSocket('udp4');
    sockets.add(socket);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(idle);
      line.clear();
      sockets.delete(socket);
      socket.close();
      release();
    };
    const idle = setTimeout(finish, UDP_IDLE_MS);
    socket.on('error', finish);
    socket.on('message', (reply) =>
      line.schedule(oneWayMs, () => {
        front.send(reply, client.port, client.address);
        finish();
      }),
    );
    line.schedule(oneWayMs, () => socket.send(message, upstream.port, upstream.host));
  });
}

// ---------------------------------------------------------------------------------------------
// As a child process.

export interface RelayProcess {
  pid: number;
  setSerial(serial: boolean): Promise<void>;
  stats(): Promise<RelayStats>;
  stop(): Promise<void>;
}

type Reply = { type: 'ready' } | { type: 'ok' } | { type: 'stats'; stats: RelayStats } | { type: 'error'; message: string };

export async function startRelayProcess(routes: readonly RelayRoute[], oneWayMs: number): Promise<RelayProcess> {
  const child = fork(fileURLToPath(import.meta.url), [JSON.stringify({ routes, oneWayMs })], {
    execArgv: ['--import', './scripts/lib/typescript.mjs'],
    // The project's TypeScript hook (tsx only on Node without type stripping), resolved from the
    // working directory: the project's.
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const replies: Reply[] = [];
  const waiters: ((reply: Reply) => void)[] = [];
  child.on('message', (reply: Reply) => {
    const waiter = waiters.shift();
    if (waiter) waiter(reply);
    else replies.push(reply);
  });
  const next = (what: string) =>
    new Promise<Reply>((resolve, reject) => {
      const queued = replies.shift();
      if (queued) return resolve(queued);
      const timer = setTimeout(() => reject(new Error(`delay relay: no answer to ${what} within 20 s`)), 20_000);
      const onExit = () => reject(new Error(`delay relay exited during ${what}`));
      child.once('exit', onExit);
      waiters.push((reply) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(reply);
      });
    });
  const expect = async <T extends Reply['type']>(what: string, type: T) => {
    const reply = await next(what);
    if (reply.type === 'error') throw new Error(`delay relay: ${reply.message}`);
    if (reply.type !== type) throw new Error(`delay relay: ${reply.type} instead of ${type} after ${what}`);
    return reply as Extract<Reply, { type: T }>;
  };
  try {
    await expect('start', 'ready');
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return {
    pid: child.pid!,
    async setSerial(serial) {
      child.send({ type: 'serial', serial });
      await expect('serial', 'ok');
    },
    async stats() {
      child.send({ type: 'stats' });
      return (await expect('stats', 'stats')).stats;
    },
    stop: () => stopChild(child),
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function childMain(): Promise<void> {
  const send = (reply: Reply) => process.send!(reply);
  let relay: Relay;
  try {
    const { routes, oneWayMs } = JSON.parse(process.argv[2] ?? '{}') as { routes: RelayRoute[]; oneWayMs: number };
    relay = await startDelayRelay(routes, oneWayMs);
  } catch (error) {
    send({ type: 'error', message: (error as Error).message });
    process.exit(1);
  }
  process.on('message', (message: { type: string; serial?: boolean }) => {
    if (message.type === 'serial') {
      relay.setSerial(message.serial === true);
      send({ type: 'ok' });
    } else if (message.type === 'stats') send({ type: 'stats', stats: relay.stats() });
  });
  process.once('SIGTERM', () => void relay.close().finally(() => process.exit(0)));
  // The parent went away without stopping us: do not linger.
  process.once('disconnect', () => void relay.close().finally(() => process.exit(0)));
  send({ type: 'ready' });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) void childMain();
