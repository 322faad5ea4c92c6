// One DNS question to one server, over UDP with a TCP fallback on truncation.
// A probe: it gathers and never throws; a timeout, a refusal or garbage is an outcome.
import dgram from 'node:dgram';
import net from 'node:net';
import { Packet } from 'dns2';
import { canonicalIp, type Endpoint } from '../core/net.ts';
import { cached } from './run-cache.ts';
import { normalizeName, type DnsFailure, type DnsOutcome, type DnsRecord, type DnsReply } from '../facts/dns.ts';
import type { NamedServer } from '../core/net.ts';

export interface QueryOptions {
  /** Set RD: ask a resolver to recurse. Off when asking an authoritative server. */
  recursive: boolean;
  timeoutMs: number;
}

// EDNS payload size recommended by DNS Flag Day 2020: avoids fragmentation and most truncation.
const EDNS_UDP_SIZE = 1232;
const MAX_TCP_MESSAGE = 65535;

export function queryDns(server: Endpoint, name: string, type: string, options: QueryOptions): Promise<DnsOutcome> {
  return cached(`dns ${server.host} ${server.port} ${name.toLowerCase()} ${type} ${options.recursive}`, () =>
    exchange(server, name, type, options),
  );
}

async function exchange(server: Endpoint, name: string, type: string, options: QueryOptions): Promise<DnsOutcome> {
  const started = performance.now();
  const typeCode = (Packet.TYPE as Record<string, number>)[type];
  const id = Packet.uuid();
  const request = new Packet();
  request.header.id = id;
  request.header.rd = options.recursive ? 1 : 0;
  request.questions.push({ name, type: typeCode, class: Packet.CLASS.IN } as never);
  request.additionals.push(Packet.Resource.EDNS([], { udpPayloadSize: EDNS_UDP_SIZE }) as never);
  const message = request.toBuffer();
  const deadline = started + options.timeoutMs;
  const elapsed = () => Math.round(performance.now() - started);

  let raw = await exchangeUdp(server, message, id, deadline);
  let transport: 'udp' | 'tcp' = 'udp';
  if (raw.ok && (raw.data[2] & 0x02) !== 0) {
    // TC bit: the answer did not fit; ask again over TCP (RFC 7766).
    raw = await exchangeTcp(server, message, deadline);
    transport = 'tcp';
  }
  if (!raw.ok) return { ok: false, error: raw.error, message: raw.message, elapsedMs: elapsed() };
  try {
    const reply = Packet.parse(raw.data);
    if (reply.header.id !== id)
      return { ok: false, error: 'malformed', message: 'reply id does not match the query', elapsedMs: elapsed() };
    return {
      ok: true,
      rcode: rcodeName(reply.header.rcode),
      authoritative: reply.header.aa === 1,
      recursionAvailable: reply.header.ra === 1,
      answers: reply.answers.map(toRecord).filter(isRecord),
      authorities: reply.authorities.map(toRecord).filter(isRecord),
      additionals: reply.additionals.map(toRecord).filter(isRecord),
      transport,
      elapsedMs: elapsed(),
    };
  } catch (error) {
    return { ok: false, error: 'malformed', message: `undecodable reply: ${(error as Error).message}`, elapsedMs: elapsed() };
  }
}

type RawOutcome = { ok: true; data: Buffer } | { ok: false; error: DnsFailure['error']; message: string };

function timeoutOutcome(transport: string, deadline: number, started: number): RawOutcome {
  return { ok: false, error: 'timeout', message: `no ${transport} answer within ${Math.round(deadline - started)} ms` };
}

function socketError(error: NodeJS.ErrnoException): RawOutcome {
  if (error.code === 'ECONNREFUSED') return { ok: false, error: 'refused', message: 'connection refused (nothing listens on that port)' };
  return { ok: false, error: 'unreachable', message: `${error.code ?? 'error'}: ${error.message}` };
}

/** UDP with retransmissions at growing intervals, all within the deadline. */
function exchangeUdp(server: Endpoint, message: Buffer, id: number, deadline: number): Promise<RawOutcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
    const timers: NodeJS.Timeout[] = [];
    let settled = false;
    const finish = (outcome: RawOutcome) => {
      if (settled) return;
      settled = true;
      timers.forEach(clearTimeout);
      socket.close();
      resolve(outcome);
    };
    socket.on('error', (error) => finish(socketError(error)));
    socket.on('message', (data) => {
      // Ignore stray datagrams: too short, or another query's id.
      if (data.length >= 12 && data.readUInt16BE(0) === id) finish({ ok: true, data });
    });
    const budget = Math.max(0, deadline - started);
    timers.push(setTimeout(() => finish(timeoutOutcome('UDP', deadline, started)), budget));
    // A connected socket surfaces ICMP port-unreachable as ECONNREFUSED instead of a silent timeout.
    socket.connect(server.port, server.host, () => {
      const send = () => socket.send(message, (error) => error && finish(socketError(error)));
      send();
      for (const at of [0.2, 0.45, 0.7]) timers.push(setTimeout(send, budget * at));
    });
  });
}

/** DNS over TCP: a two-byte length prefix each way (RFC 1035 §4.2.2). */
function exchangeTcp(server: Endpoint, message: Buffer, deadline: number): Promise<RawOutcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect({ host: server.host, port: server.port });
    let buffered = Buffer.alloc(0);
    let settled = false;
    const finish = (outcome: RawOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish(timeoutOutcome('TCP', deadline, started)), Math.max(0, deadline - started));
    socket.on('error', (error) => finish(socketError(error)));
    socket.on('connect', () => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(message.length);
      socket.write(Buffer.concat([prefix, message]));
    });
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length > MAX_TCP_MESSAGE + 2) return finish({ ok: false, error: 'malformed', message: 'TCP reply too long' });
      if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        finish({ ok: true, data: buffered.subarray(2, 2 + buffered.readUInt16BE(0)) });
      }
    });
    socket.on('end', () => finish({ ok: false, error: 'malformed', message: 'TCP connection closed before a full reply' }));
  });
}

function rcodeName(code: number): string {
  const names: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED' };
  return names[code] ?? `RCODE${code}`;
}

type RawResource = Record<string, unknown> & { name: string; type: number; ttl: number };

function toRecord(resource: unknown): DnsRecord | undefined {
  const r = resource as RawResource;
  const type = Packet.typeName(r.type);
  if (type === 'EDNS' || type === 'OPT') return undefined;
  const base = { name: normalizeName(r.name), type, ttl: r.ttl };
  const s = (key: string) => String(r[key]);
  const host = (key: string) => normalizeName(String(r[key]));
  switch (type) {
    case 'A':
    case 'AAAA':
      return { ...base, value: canonicalIp(s('address')) ?? s('address') };
    case 'CNAME':
    case 'PTR':
      return { ...base, value: host('domain') };
    case 'NS':
      return { ...base, value: host('ns') };
    case 'MX':
      return { ...base, value: `${s('priority')} ${host('exchange')}` };
    case 'SRV':
      return { ...base, value: `${s('priority')} ${s('weight')} ${s('port')} ${host('target')}` };
    case 'TXT':
      return { ...base, value: Array.isArray(r.data) ? r.data.join('') : s('data') };
    case 'CAA':
      return { ...base, value: `${s('flags')} ${s('tag')} "${s('value')}"` };
    case 'SOA':
      return {
        ...base,
        value: `${host('primary')} ${host('admin')} ${s('serial')} ${s('refresh')} ${s('retry')} ${s('expiration')} ${s('minimum')}`,
        soaMinimum: Number(r.minimum),
      };
    default:
      return { ...base, value: '' };
  }
}

function isRecord(record: DnsRecord | undefined): record is DnsRecord {
  return record !== undefined;
}

/** The first usable reply (NOERROR or NXDOMAIN) among the servers, asked concurrently. */
export function queryFirst(
  servers: NamedServer[],
  name: string,
  type: string,
  remaining: () => number,
  recursive = true,
): Promise<DnsReply | undefined> {
  const outcomes = servers.map((server) => queryDns(server.endpoint, name, type, { recursive, timeoutMs: remaining() }));
  return new Promise((resolve) => {
    let pending = outcomes.length;
    if (pending === 0) resolve(undefined);
    for (const outcome of outcomes) {
      outcome.then((o) => {
        if (o.ok && (o.rcode === 'NOERROR' || o.rcode === 'NXDOMAIN')) resolve(o);
        else if (--pending === 0) resolve(undefined);
      });
    }
  });
}
