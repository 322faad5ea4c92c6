// The lab's coturn (Debian's turnserver), run in the foreground on a loopback address with
// REST credentials (use-auth-secret), TLS on its own port with a lab certificate, a small relay
// range and loopback peers allowed (lab only: a real server must refuse them). Its configuration,
// pid file and log live in a temp folder under .lab/coturn/, never /etc; it is stopped by the
// pid this module recorded.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { encodeMessage, Method } from '../../../checks/probes/stun.ts';
import { LAB_DIR } from './provision.ts';
import { stopProcess } from './process.ts';

export interface CoturnOptions {
  /** listening-ip and relay-ip: a loopback address. */
  address: string;
  /** static-auth-secret (the REST API secret Synapse shares). */
  secret: string;
  realm?: string;
  /** Default 3478. */
  port?: number;
  /** Default 5349; used only with a certificate. */
  tlsPort?: number;
  /** Relay range; default 49160-49179. */
  minPort?: number;
  maxPort?: number;
  /** TLS (turns:) with this certificate chain and key (PEM files); none: no TLS listener. */
  certificate?: { fullchain: string; key: string };
  /** external-ip: PUBLIC or PUBLIC/PRIVATE, as MDAD writes from coturn_turn_external_ip_addresses. */
  externalIp?: string;
}

export interface RunningCoturn {
  address: string;
  port: number;
  tlsPort?: number;
  minPort: number;
  maxPort: number;
  dir: string;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

export function coturnConfig(options: CoturnOptions, dir: string): string {
  const port = options.port ?? 3478;
  const lines = [
    `listening-ip=${options.address}`,
    `relay-ip=${options.address}`,
    `listening-port=${port}`,
    `min-port=${options.minPort ?? 49160}`,
    `max-port=${options.maxPort ?? 49179}`,
    'use-auth-secret',
    `static-auth-secret=${options.secret}`,
    `realm=${options.realm ?? 'turn.example.test'}`,
    'fingerprint',
    'no-cli',
    // The lab relays between loopback addresses; never in production (coturn warns about it).
    'allow-loopback-peers',
    'no-multicast-peers',
    `userdb=${join(dir, 'turndb')}`,
    `pidfile=${join(dir, 'turnserver.pid')}`,
    'log-file=stdout',
    'simple-log',
    // Logs each allocation and its release, so that tests can see what the probes left behind.
    'verbose',
  ];
  if (options.certificate) {
    lines.push(
      `tls-listening-port=${options.tlsPort ?? 5349}`,
      `cert=${options.certificate.fullchain}`,
      `pkey=${options.certificate.key}`,
      'no-tlsv1',
      'no-tlsv1_1',
    );
  } else {
    lines.push('no-tls', 'no-dtls');
  }
  if (options.externalIp) lines.push(`external-ip=${options.externalIp}`);
  return `${lines.join('\n')}\n`;
}

export async function startCoturn(options: CoturnOptions): Promise<RunningCoturn> {
  mkdirSync(join(LAB_DIR, 'coturn'), { recursive: true });
  const dir = mkdtempSync(join(LAB_DIR, 'coturn', 'run-'));
  const configFile = join(dir, 'turnserver.conf');
  const logFile = join(dir, 'turnserver.log');
  writeFileSync(configFile, coturnConfig(options, dir), { mode: 0o600 });
  const log = createWriteStream(logFile);
  const child = spawn('turnserver', ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const port = options.port ?? 3478;
  const tlsPort = options.certificate ? (options.tlsPort ?? 5349) : undefined;
  try {
    await waitReady(child, options.address, [port, ...(tlsPort ? [tlsPort] : [])], join(dir, 'turnserver.pid'), logFile);
  } catch (error) {
    await stopProcess(child, 2000);
    throw error;
  }
  return {
    address: options.address,
    port,
    ...(tlsPort ? { tlsPort } : {}),
    minPort: options.minPort ?? 49160,
    maxPort: options.maxPort ?? 49179,
    dir,
    pid: child.pid!,
    logFile,
    async stop() {
      await stopProcess(child);
      log.end();
      if (!process.env.LAB_KEEP) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Ready when the pid file holds the child's pid, every TCP listener accepts and the UDP port
 * answers a STUN Binding request: coturn writes its pid file before it binds its ports, and binds
 * UDP after TCP.
 */
async function waitReady(child: ChildProcess, address: string, ports: number[], pidFile: string, logFile: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`lab coturn exited during start-up: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
    const pidWritten = existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() === String(child.pid);
    if (pidWritten && (await Promise.all(ports.map((p) => accepts(address, p)))).every(Boolean) && (await answersStun(address, ports[0])))
      return;
    if (Date.now() > deadline) throw new Error(`lab coturn did not listen on ${address} ${ports.join(', ')} within 10 s; see ${logFile}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function accepts(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Whether a STUN Binding request to the UDP port is answered within 200 ms. */
function answersStun(address: string, port: number): Promise<boolean> {
  const request = encodeMessage({ method: Method.binding, cls: 'request', transactionId: randomBytes(12) });
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const done = (answered: boolean) => {
      clearTimeout(timer);
      socket.close();
      resolve(answered);
    };
    const timer = setTimeout(() => done(false), 200);
    socket.once('message', () => done(true));
    socket.once('error', () => done(false));
    socket.send(request, port, address);
  });
}
