// A STUN/TURN client connection over UDP, TCP or TLS: sends requests and matches the answers
// by transaction id, with RFC 8489 retransmissions over UDP (RTO doubling, bounded by the
// deadline), framing over streams, and a queue of indications (TURN Data). A probe: it never
// throws for a network fault; a timeout, a refusal, a reset or bytes that are not STUN are
// outcomes. What arrives and cannot be decoded is recorded, never trusted.
import { refusedAddress, unreachableNameRefusal } from './run-cache.ts';
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { decodeMessage, stunStreamSplitter, verifyFingerprint, type StunMessage } from './stun.ts';
import { trustContext } from './trust.ts';
import type { ChannelFailure, TlsSummary, TransactionError, TransportName } from '../facts/turn.ts';

export interface ChannelTarget {
  address: string;
  /** The name `address` was resolved from (none when it was given, or routed by --connect-to). */
  resolvedFrom?: string;
  port: number;
  transport: TransportName;
  /** TLS: the name the certificate must be valid for (also SNI when it is not an IP address). */
  servername?: string;
  /** Extra trusted CAs (PEM) for TLS. */
  ca?: string;
  timeoutMs: number;
}

export interface ChannelOpened {
  ok: true;
  channel: StunChannel;
  tls?: TlsSummary;
  elapsedMs: number;
}

export type TransactionOutcome =
  | { ok: true; message: StunMessage; elapsedMs: number; sent: number; discarded: string[] }
  | { ok: false; error: TransactionError; message: string; elapsedMs: number; sent: number; discarded: string[] };

/** RFC 8489 §6.2.1: initial RTO, number of sends (Rc) and the last wait in RTOs (Rm). */
export const RTO_MS = 500;
export const RC = 7;
export const RM = 16;

/**
 * When a UDP request is (re)sent, in ms after the first send, and when the transaction gives up:
 * RTO doubles after every send; after the Rc-th send the client waits Rm × RTO. Everything is
 * cut at the budget (the probe's timeout), so a silent server costs at most the budget.
 */
export function retransmitSchedule(budgetMs: number, rto = RTO_MS, rc = RC, rm = RM): { sends: number[]; giveUpAt: number } {
  const sends: number[] = [];
  let at = 0;
  let interval = rto;
  for (let i = 0; i < rc && at < budgetMs; i++) {
    sends.push(at);
    at += interval;
    interval *= 2;
  }
  const lastWait = sends.length === rc ? rm * rto : 0;
  const natural = sends.length === rc ? sends[rc - 1]! + lastWait : at;
  return { sends, giveUpAt: Math.min(budgetMs, natural) };
}

interface Pending {
  resolve: (outcome: TransactionOutcome) => void;
  started: number;
  sent: number;
  timers: NodeJS.Timeout[];
}

/** One client connection to one STUN/TURN server port. */
export class StunChannel {
  readonly transport: TransportName;
  /** Why received bytes were discarded (corrupt, not STUN, unknown transaction). */
  readonly discarded: string[] = [];
  private readonly pending = new Map<string, Pending>();
  private readonly indications: StunMessage[] = [];
  private readonly waiters = new Set<() => void>();
  private closedReason: string | undefined;
  private closedError: Exclude<TransactionError, 'timeout'> = 'closed';
  private readonly write: (bytes: Buffer) => void;
  private readonly shut: () => void;

  constructor(transport: TransportName, write: (bytes: Buffer) => void, shut: () => void) {
    this.transport = transport;
    this.write = write;
    this.shut = shut;
  }

  /** Sends a request and waits for the response with its transaction id until the deadline. */
  transact(request: Buffer, deadline: number): Promise<TransactionOutcome> {
    const key = request.subarray(8, 20).toString('hex');
    const started = performance.now();
    return new Promise((resolve) => {
      const discardedBefore = this.discarded.length;
      const entry: Pending = { resolve: () => {}, started, sent: 0, timers: [] };
      const finish = (outcome: TransactionOutcome) => {
        entry.timers.forEach(clearTimeout);
        this.pending.delete(key);
        resolve(outcome);
      };
      entry.resolve = finish;
      const failed = (error: TransactionError, message: string): TransactionOutcome => ({
        ok: false,
        error,
        message,
        elapsedMs: Math.round(performance.now() - started),
        sent: entry.sent,
        discarded: this.discarded.slice(discardedBefore),
      });
      if (this.closedReason) return finish(failed(this.closedError, this.closedReason));
      this.pending.set(key, entry);
      const budget = Math.max(0, deadline - started);
      const send = () => {
        entry.sent++;
        this.write(request);
      };
      if (this.transport === 'udp') {
        const schedule = retransmitSchedule(budget);
        for (const at of schedule.sends) entry.timers.push(setTimeout(send, at));
        entry.timers.push(setTimeout(() => finish(failed('timeout', timeoutText(entry.sent, schedule.giveUpAt))), schedule.giveUpAt));
      } else {
        // Reliable transports: one send, then wait (RFC 8489 §6.2.2).
        send();
        entry.timers.push(
          setTimeout(
            () => finish(failed('timeout', `no answer over ${this.transport.toUpperCase()} within ${Math.round(budget)} ms`)),
            budget,
          ),
        );
      }
    });
  }

  /** Sends an indication (no answer expected). */
  indicate(bytes: Buffer): void {
    if (!this.closedReason) this.write(bytes);
  }

  /** The first received indication that matches, waiting until the deadline. */
  async nextIndication(match: (message: StunMessage) => boolean, deadline: number): Promise<StunMessage | undefined> {
    for (;;) {
      const index = this.indications.findIndex(match);
      if (index >= 0) return this.indications.splice(index, 1)[0];
      const left = deadline - performance.now();
      if (left <= 0 || this.closedReason) return undefined;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  /** Bytes from the network: one datagram, or one frame of a stream. */
  receive(bytes: Buffer): void {
    const decoded = decodeMessage(bytes);
    if (!decoded.ok) return this.discard(decoded.reason);
    const message = decoded.message;
    if (verifyFingerprint(message) === 'invalid') return this.discard('FINGERPRINT does not match (corrupted in transit)');
    if (message.cls === 'indication') {
      this.indications.push(message);
      const waiters = [...this.waiters];
      this.waiters.clear();
      waiters.forEach((wake) => wake());
      return;
    }
    const entry = this.pending.get(message.transactionId.toString('hex'));
    if (!entry || message.cls === 'request') return this.discard('a message for no pending transaction');
    entry.resolve({ ok: true, message, elapsedMs: Math.round(performance.now() - entry.started), sent: entry.sent, discarded: [] });
  }

  /** The connection is gone (or spoke something that is not STUN): every waiting transaction ends. */
  fail(reason: string, error: Exclude<TransactionError, 'timeout'> = 'closed'): void {
    if (this.closedReason) return;
    this.closedReason = reason;
    this.closedError = error;
    for (const entry of [...this.pending.values()]) {
      entry.resolve({
        ok: false,
        error,
        message: reason,
        elapsedMs: Math.round(performance.now() - entry.started),
        sent: entry.sent,
        discarded: [],
      });
    }
    const waiters = [...this.waiters];
    this.waiters.clear();
    waiters.forEach((wake) => wake());
  }

  close(): void {
    this.fail('closed by the client');
    this.shut();
  }

  private discard(reason: string): void {
    // Bounded: a flood of garbage must not grow memory without limit.
    if (this.discarded.length < 20) this.discarded.push(reason);
  }
}

function timeoutText(sent: number, afterMs: number): string {
  return `no answer over UDP within ${Math.round(afterMs)} ms (${sent} request${sent === 1 ? '' : 's'} sent, retransmitted as RFC 8489 prescribes)`;
}

function netFailure(error: NodeJS.ErrnoException, phase: 'tcp' | 'tls', started: number, tlsSummary?: TlsSummary): ChannelFailure {
  const elapsedMs = Math.round(performance.now() - started);
  const code = error.code ?? '';
  if (code === 'ECONNREFUSED')
    return { ok: false, error: 'refused', message: 'connection refused: nothing listens on that port', elapsedMs };
  if (code === 'ECONNRESET' || code === 'EPIPE')
    return {
      ok: false,
      error: 'reset',
      message: `connection reset during the ${phase === 'tls' ? 'TLS handshake' : 'TCP connect'}`,
      tls: tlsSummary,
      elapsedMs,
    };
  if (phase === 'tls') return { ok: false, error: 'tls', message: `TLS handshake failed: ${error.message}`, tls: tlsSummary, elapsedMs };
  return { ok: false, error: 'unreachable', message: `${code || 'error'}: ${error.message}`, elapsedMs };
}

/** Opens the connection (UDP: a connected socket; TCP: connect; TLS: connect and handshake). */
export function openChannel(target: ChannelTarget): Promise<ChannelOpened | ChannelFailure> {
  const started = performance.now();
  const guarded =
    refusedAddress(target.address) ??
    (target.resolvedFrom ? unreachableNameRefusal(target.resolvedFrom, target.address, target.port) : undefined);
  if (guarded) return Promise.resolve({ ok: false, error: 'unreachable', message: `not connected: ${guarded}`, elapsedMs: 0 });
  return target.transport === 'udp' ? openUdp(target, started) : openStream(target, started);
}

/** A plain TCP connect to a port (e.g. LiveKit's ICE/TCP): does anything accept there? */
export async function probeTcpPort(
  address: string,
  port: number,
  timeoutMs: number,
): Promise<{ ok: true; elapsedMs: number } | ChannelFailure> {
  const opened = await openChannel({ address, port, transport: 'tcp', timeoutMs });
  if (!opened.ok) return opened;
  opened.channel.close();
  return { ok: true, elapsedMs: opened.elapsedMs };
}

function openUdp(target: ChannelTarget, started: number): Promise<ChannelOpened | ChannelFailure> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(target.address) ? 'udp6' : 'udp4');
    let channel: StunChannel | undefined;
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // ICMP port unreachable surfaces on a connected socket as ECONNREFUSED: the port is
      // closed (a firewall that drops is silent instead, and ends in a timeout).
      if (channel && error.code === 'ECONNREFUSED') return channel.fail('port closed: the host answered ICMP port unreachable', 'refused');
      if (channel) return channel.fail(`${error.code ?? 'error'}: ${error.message}`);
      resolve(netFailure(error, 'tcp', started));
    });
    socket.on('message', (bytes) => channel?.receive(bytes));
    socket.connect(target.port, target.address, () => {
      channel = new StunChannel(
        'udp',
        (bytes) => socket.send(bytes, () => {}),
        () => {
          try {
            socket.close();
          } catch {
            // already closed
          }
        },
      );
      resolve({ ok: true, channel, elapsedMs: Math.round(performance.now() - started) });
    });
  });
}

function openStream(target: ChannelTarget, started: number): Promise<ChannelOpened | ChannelFailure> {
  return new Promise((resolve) => {
    let settled = false;
    let phase: 'tcp' | 'tls' = 'tcp';
    let summary: TlsSummary | undefined;
    const tcp = net.connect({ host: target.address, port: target.port });
    let stream: net.Socket = tcp;
    const settle = (outcome: ChannelOpened | ChannelFailure) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!outcome.ok) stream.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(
      () =>
        settle({
          ok: false,
          error: 'timeout',
          message: `no ${phase === 'tls' ? 'TLS handshake' : 'TCP connection'} within ${target.timeoutMs} ms`,
          tls: summary,
          elapsedMs: Math.round(performance.now() - started),
        }),
      target.timeoutMs,
    );
    const ready = () => {
      // Small requests and answers in turn: Nagle plus delayed ACKs would add tens of ms to each.
      tcp.setNoDelay(true);
      const channel = new StunChannel(
        target.transport,
        (bytes) => stream.write(bytes),
        () => stream.destroy(),
      );
      stream.on(
        'data',
        stunStreamSplitter(
          (bytes) => channel.receive(bytes),
          (reason) => {
            channel.fail(`the server sent bytes that are not STUN (${reason})`, 'malformed');
            stream.destroy();
          },
        ),
      );
      stream.on('close', () => channel.fail('the server closed the connection'));
      settle({ ok: true, channel, tls: summary, elapsedMs: Math.round(performance.now() - started) });
    };
    tcp.once('error', (error) => settle(netFailure(error, phase, started, summary)));
    tcp.once('connect', () => {
      if (target.transport !== 'tls') return ready();
      phase = 'tls';
      const name = target.servername ?? target.address;
      const secure = tls.connect({
        socket: tcp,
        servername: net.isIP(name) ? undefined : name,
        secureContext: trustContext(target.ca),
        rejectUnauthorized: false,
        checkServerIdentity: (_host, cert) => tls.checkServerIdentity(name, cert),
      });
      stream = secure;
      secure.once('error', (error) => settle(netFailure(error, 'tls', started, summary)));
      secure.once('secureConnect', () => {
        summary = tlsSummary(secure);
        ready();
      });
    });
  });
}

function tlsSummary(socket: tls.TLSSocket): TlsSummary {
  const cert = socket.getPeerCertificate();
  const error = socket.authorizationError as unknown as { code?: string } | string | null;
  const summary: TlsSummary = {
    protocol: socket.getProtocol(),
    authorized: socket.authorized,
    sans: (cert?.subjectaltname ?? '').split(', ').filter(Boolean),
  };
  if (!socket.authorized) summary.authorizationError = typeof error === 'string' ? error : String(error?.code ?? error);
  if (cert?.subject?.CN) summary.subject = String(cert.subject.CN);
  if (cert?.issuer?.CN) summary.issuer = String(cert.issuer.CN);
  if (cert?.valid_to) summary.validTo = new Date(cert.valid_to).toISOString();
  return summary;
}
