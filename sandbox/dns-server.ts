// The lab's DNS: a real DNS server (dns2, UDP and TCP) on a loopback address, serving zones
// written as presentation-form records. As an authoritative server it sets AA, answers
// NXDOMAIN/NODATA with the zone's SOA, chases in-zone CNAMEs and adds glue to NS answers.
// As a "resolver" it serves the same shapes without AA and with RA, so a test can stand up
// a cache that still holds old data (TTLs in its zone are then the remaining TTLs).
import net from 'node:net';
import dgram from 'node:dgram';
import { Packet, UDPServer, TCPServer } from 'dns2';
import { normalizeName } from '../checks/facts/dns.ts';

export interface LabRecord {
  /** Owner name, fully qualified, no trailing dot. */
  name: string;
  type: 'A' | 'AAAA' | 'CNAME' | 'NS' | 'MX' | 'SRV' | 'TXT' | 'CAA' | 'SOA';
  /** Presentation form, as the probes print it: "10 0 8448 matrix.example.test", '0 issue "letsencrypt.org"'. */
  value: string;
  ttl?: number;
}

export interface LabZone {
  origin: string;
  records: LabRecord[];
}

export interface DnsServerOptions {
  address: string;
  /** 0 picks a free port (the same number for UDP and TCP). */
  port?: number;
  zones: LabZone[];
  role?: 'authoritative' | 'resolver';
}

export interface RunningDnsServer {
  address: string;
  port: number;
  /** Replace the served data, e.g. to change a scenario between tests. */
  setZones(zones: LabZone[]): void;
  close(): Promise<void>;
}

const DEFAULT_TTL = 300;

export async function startDnsServer(options: DnsServerOptions): Promise<RunningDnsServer> {
  let zones = options.zones;
  const resolverRole = options.role === 'resolver';
  const handle = (request: Packet, send: (response: Packet) => void) => {
    const response = Packet.createResponseFromRequest(request);
    response.header.aa = resolverRole ? 0 : 1;
    response.header.ra = resolverRole ? 1 : 0;
    const question = request.questions[0];
    if (question) answer(zones, question.name, Packet.typeName(question.type), response);
    send(response);
  };
  const tcp = new TCPServer();
  tcp.on('request', handle);
  const { udp, port } = await listenBoth(() => new UDPServer().on('request', handle), tcp, options.address, options.port ?? 0);
  const sockets = trackConnections(tcp);
  return {
    address: options.address,
    port,
    setZones(next) {
      zones = next;
    },
    async close() {
      sockets.forEach((socket) => socket.destroy());
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}

/** A server that accepts queries on UDP and TCP and never answers. */
export async function startSilentServer(address: string, port = 0): Promise<RunningDnsServer> {
  const tcp = net.createServer(() => {});
  const { udp, port: bound } = await listenBoth(() => dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4'), tcp, address, port);
  const sockets = trackConnections(tcp);
  return {
    address,
    port: bound,
    setZones() {},
    async close() {
      sockets.forEach((socket) => socket.destroy());
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}

interface Bindable {
  once(event: 'error', listener: (error: Error) => void): unknown;
  removeAllListeners(event: 'error'): unknown;
}

/** Binds TCP first (a net.Server may listen again after a failure), then UDP on the same port. */
async function listenBoth(
  makeUdp: () => dgram.Socket,
  tcp: net.Server,
  address: string,
  port: number,
): Promise<{ udp: dgram.Socket; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const tcpPort = await bind(
      tcp,
      (done) => tcp.listen(port, address, done),
      () => (tcp.address() as net.AddressInfo).port,
    );
    const udp = makeUdp();
    try {
      await bind(
        udp,
        (done) => udp.bind(tcpPort, address, done),
        () => tcpPort,
      );
      return { udp, port: tcpPort };
    } catch (error) {
      await new Promise((resolve) => tcp.close(resolve));
      // A free TCP port may be taken for UDP; try another when the port was ours to choose.
      if (port !== 0 || attempt > 20) throw error;
    }
  }
}

function bind<T>(target: Bindable, start: (done: () => void) => void, result: () => T): Promise<T> {
  return new Promise((resolve, reject) => {
    target.once('error', reject);
    start(() => {
      target.removeAllListeners('error');
      resolve(result());
    });
  });
}

function trackConnections(server: net.Server): Set<net.Socket> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return sockets;
}

function findZone(zones: LabZone[], name: string): LabZone | undefined {
  return zones
    .filter((zone) => name === zone.origin || name.endsWith(`.${zone.origin}`))
    .sort((a, b) => b.origin.length - a.origin.length)[0];
}

function answer(zones: LabZone[], qname: string, qtype: string, response: Packet): void {
  let name = normalizeName(qname);
  const zone = findZone(zones, name);
  if (!zone) {
    // An authoritative server refuses names outside its zones; a resolver finds no such name.
    response.header.rcode = response.header.ra ? Packet.RCODE.NXDOMAIN : Packet.RCODE.REFUSED;
    return;
  }
  // Follow in-zone CNAMEs as an authoritative server does, at most a few hops.
  for (let hop = 0; hop < 8; hop++) {
    const here = zone.records.filter((r) => r.name === name);
    const matching = here.filter((r) => r.type === qtype);
    const alias = here.find((r) => r.type === 'CNAME');
    if (matching.length > 0) {
      matching.forEach((r) => response.answers.push(toResource(r) as never));
      if (qtype === 'NS') addGlue(zone, matching, response);
      return;
    }
    if (alias && qtype !== 'CNAME') {
      response.answers.push(toResource(alias) as never);
      name = alias.value;
      if (findZone([zone], name)) continue;
      return;
    }
    const exists = here.length > 0 || zone.records.some((r) => r.name.endsWith(`.${name}`));
    if (!exists && hop === 0) response.header.rcode = Packet.RCODE.NXDOMAIN;
    if (!exists || hop === 0) addNegativeSoa(zone, response);
    return;
  }
}

function addGlue(zone: LabZone, nsRecords: LabRecord[], response: Packet): void {
  for (const ns of nsRecords) {
    zone.records
      .filter((r) => r.name === ns.value && (r.type === 'A' || r.type === 'AAAA'))
      .forEach((r) => response.additionals.push(toResource(r) as never));
  }
}

// RFC 2308: a negative answer carries the SOA, whose TTL is the negative-caching time.
function addNegativeSoa(zone: LabZone, response: Packet): void {
  const soa = zone.records.find((r) => r.type === 'SOA' && r.name === zone.origin);
  if (!soa) return;
  const minimum = Number(soa.value.split(/\s+/)[6]);
  response.authorities.push(toResource({ ...soa, ttl: Math.min(soa.ttl ?? DEFAULT_TTL, minimum) }) as never);
}

function toResource(record: LabRecord): Record<string, unknown> {
  const base = { name: record.name, type: Packet.TYPE[record.type], class: Packet.CLASS.IN, ttl: record.ttl ?? DEFAULT_TTL };
  const parts = record.value.split(/\s+/);
  switch (record.type) {
    case 'A':
    case 'AAAA':
      return { ...base, address: record.value };
    case 'CNAME':
      return { ...base, domain: record.value };
    case 'NS':
      return { ...base, ns: record.value };
    case 'MX':
      return { ...base, priority: Number(parts[0]), exchange: parts[1] };
    case 'SRV':
      return { ...base, priority: Number(parts[0]), weight: Number(parts[1]), port: Number(parts[2]), target: parts[3] };
    case 'TXT':
      // Character-strings hold at most 255 bytes each (RFC 1035 §3.3.14).
      return { ...base, data: record.value.match(/.{1,255}/gs) ?? [''] };
    case 'CAA': {
      const caa = /^(\d+)\s+(\S+)\s+"(.*)"$/.exec(record.value);
      if (!caa) throw new Error(`lab CAA record not of the form 0 issue "ca.example": ${record.value}`);
      return { ...base, flags: Number(caa[1]), tag: caa[2], value: caa[3] };
    }
    case 'SOA':
      return {
        ...base,
        primary: parts[0],
        admin: parts[1],
        serial: Number(parts[2]),
        refresh: Number(parts[3]),
        retry: Number(parts[4]),
        expiration: Number(parts[5]),
        minimum: Number(parts[6]),
      };
  }
}
