// The sandbox's TURN server: a small STUN/TURN responder on loopback, so that `npm start` can show
// the doctor's TURN area against something that speaks the protocol (RFC 8489 STUN, RFC 8656
// TURN) as a calling client uses it: Binding; Allocate, CreatePermission and Refresh with coturn's
// TURN REST credentials (static-auth-secret); Send indications passed on as Data indications.
// UDP and TCP share one port as on coturn's 3478, TLS has its own as coturn's 5349.
// A demo, not a relay: relayed addresses are bookkeeping in this process, with no relay sockets;
// data sent from one allocation to another's relayed address goes straight to the other's client.
import { createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import {
  Attr,
  attribute,
  attributeText,
  decodeMessage,
  decodeUint32,
  decodeXorAddress,
  encodeErrorCode,
  encodeMessage,
  encodeUint32,
  encodeXorAddress,
  longTermKey,
  Method,
  restCredentials,
  stunStreamSplitter,
  verifyFingerprint,
  verifyIntegrity,
  type Attribute,
  type StunMessage,
} from '../checks/probes/stun.ts';
import type { TransportAddress } from '../checks/facts/turn.ts';

export interface SandboxTurnOptions {
  /** coturn's static-auth-secret (TURN REST API): password = base64(HMAC-SHA1(secret, username)). */
  secret: string;
  realm: string;
  /** What XOR-RELAYED-ADDRESS says: the server's public address (coturn's external-ip), or a private one to show that mistake. */
  relayAddress: string;
  /** PEM key and certificate for the TLS listener (the sandbox's bundled certificate). */
  key: Buffer;
  cert: Buffer;
}

export interface SandboxTurnServer {
  /** UDP and TCP on the same port number (as coturn's 3478). */
  port: number;
  /** TLS (as coturn's 5349). */
  tlsPort: number;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const SOFTWARE = 'sandbox TURN';
/** The default and, here, also the maximum lifetime of an allocation in seconds (RFC 8656 §7.2). */
const LIFETIME = 600;
const RELAY_PORTS = { first: 49152, last: 49172 };
const UDP_PROTOCOL = 17;
/** How long an answer over UDP is kept for a retransmission of its request (RFC 8489 §6.3.1). */
const RETRANSMISSION_MS = 40_000;
const BIND_ATTEMPTS = 5;
// DONT-FRAGMENT is unknown here: a server that cannot set DF must treat it so (RFC 8656 §7.2).
const KNOWN_ATTRIBUTES = new Set<number>(Object.values(Attr).filter((type) => type !== Attr.DONT_FRAGMENT));
/** The methods that require long-term credentials; Binding does not. */
const AUTHENTICATED = new Set<number>([Method.allocate, Method.refresh, Method.createPermission]);

const REASONS = {
  400: 'Bad Request',
  401: 'Unauthenticated',
  420: 'Unknown Attribute',
  437: 'Allocation Mismatch',
  438: 'Stale Nonce',
  441: 'Wrong Credentials',
  442: 'Unsupported Transport Protocol',
  443: 'Peer Address Family Mismatch',
  508: 'Insufficient Capacity',
} as const;
type ErrorCode = keyof typeof REASONS;

/** Where answers go: one UDP source address and port, or one TCP or TLS connection. */
interface Client {
  id: string;
  transport: 'udp' | 'tcp' | 'tls';
  address: string;
  port: number;
  send(bytes: Buffer): void;
}

interface Allocation {
  client: Client;
  /** Later requests on the allocation must use the same user name (RFC 8656 §5). */
  username: string;
  relayed: TransportAddress;
  /**
   * Peer IP addresses the client permitted (CreatePermission). They last as long as the
   * allocation, not RFC 8656's 300 s: a sandbox run lasts seconds.
   */
  permissions: Set<string>;
  expiry: NodeJS.Timeout;
}

/** The answer to a request: success, or an error code; signed with `key` once the request is authenticated. */
interface Reply {
  code?: ErrorCode;
  attributes?: Attribute[];
  key?: Buffer;
}

export async function startSandboxTurnServer(options: SandboxTurnOptions): Promise<SandboxTurnServer> {
  const responder = new TurnResponder(options);
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const serve = (transport: 'tcp' | 'tls') => (socket: net.Socket) =>
    serveStream(socket, transport, `${transport} #${++connections}`, responder);
  const tcp = net.createServer(serve('tcp'));
  const secure = tls.createServer({ key: options.key, cert: options.cert }, serve('tls'));
  for (const server of [tcp, secure]) {
    server.on('connection', (socket: net.Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
  }
  const { udp, port } = await listenUdpAndTcp(tcp);
  udp.on('message', (bytes, peer) => responder.receive(bytes, udpClient(udp, peer)));
  secure.listen(0, HOST);
  await once(secure, 'listening');
  return {
    port,
    tlsPort: (secure.address() as net.AddressInfo).port,
    async close() {
      responder.clear();
      sockets.forEach((socket) => socket.destroy());
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
        new Promise<void>((resolve) => secure.close(() => resolve())),
      ]);
    },
  };
}

/** A free UDP port, then TCP on the same number; another UDP port when that number is taken for TCP. */
async function listenUdpAndTcp(tcp: net.Server): Promise<{ udp: dgram.Socket; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const udp = dgram.createSocket('udp4');
    udp.bind(0, HOST);
    await once(udp, 'listening');
    const port = udp.address().port;
    try {
      // A net.Server may listen again after a failed listen.
      tcp.listen(port, HOST);
      await once(tcp, 'listening');
      return { udp, port };
    } catch (error) {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === BIND_ATTEMPTS) throw error;
    }
  }
}

function udpClient(udp: dgram.Socket, peer: dgram.RemoteInfo): Client {
  return {
    id: `udp ${peer.address}:${peer.port}`,
    transport: 'udp',
    address: peer.address,
    port: peer.port,
    // With a callback, a failed send is reported there instead of as an 'error' event.
    send: (bytes) => udp.send(bytes, peer.port, peer.address, () => {}),
  };
}

/** One TCP or TLS connection: STUN messages framed by their length field (RFC 8489 §6.2.2). */
function serveStream(socket: net.Socket, transport: 'tcp' | 'tls', id: string, responder: TurnResponder): void {
  socket.setNoDelay(true);
  const client: Client = {
    id,
    transport,
    address: socket.remoteAddress ?? '',
    port: socket.remotePort ?? 0,
    send: (bytes) => socket.write(bytes),
  };
  socket.on(
    'data',
    stunStreamSplitter(
      (bytes) => responder.receive(bytes, client),
      () => socket.destroy(),
    ),
  );
  // A reset ends the connection as a close does.
  socket.on('error', () => {});
  socket.on('close', () => responder.forget(id));
}

/** The protocol without the sockets: allocations by client, answers to requests, relayed data. */
class TurnResponder {
  private readonly options: SandboxTurnOptions;
  private readonly relayAddress: TransportAddress;
  private readonly nonceKey = randomBytes(16);
  private readonly allocations = new Map<string, Allocation>();
  /** Answers sent over UDP by client and transaction id, oldest first. */
  private readonly answered = new Map<string, { answer: Buffer; at: number }>();

  constructor(options: SandboxTurnOptions) {
    this.options = options;
    this.relayAddress = canonicalAddress(options.relayAddress);
  }

  /** One datagram, or one frame of a stream. */
  receive(bytes: Buffer, client: Client): void {
    const decoded = decodeMessage(bytes);
    // Not STUN, or corrupted in transit (its FINGERPRINT does not match): ignored (RFC 8489 §6.3).
    if (!decoded.ok || verifyFingerprint(decoded.message) === 'invalid') return;
    const message = decoded.message;
    if (message.cls === 'request') this.respond(message, client);
    if (message.cls === 'indication' && message.method === Method.send && !unknownAttributes(message)) this.relay(message, client);
  }

  forget(clientId: string): void {
    const allocation = this.allocations.get(clientId);
    if (!allocation) return;
    clearTimeout(allocation.expiry);
    this.allocations.delete(clientId);
  }

  clear(): void {
    [...this.allocations.keys()].forEach((id) => this.forget(id));
  }

  /** A request retransmitted over UDP gets the answer the first one got (RFC 8489 §6.3.1). */
  private respond(request: StunMessage, client: Client): void {
    if (client.transport !== 'udp') return client.send(encodeReply(request, this.answer(request, client)));
    const now = performance.now();
    for (const [key, entry] of this.answered) {
      if (now - entry.at < RETRANSMISSION_MS) break;
      this.answered.delete(key);
    }
    const key = `${client.id} ${request.transactionId.toString('hex')}`;
    let entry = this.answered.get(key);
    if (!entry) {
      entry = { answer: encodeReply(request, this.answer(request, client)), at: now };
      this.answered.set(key, entry);
    }
    client.send(entry.answer);
  }

  private answer(request: StunMessage, client: Client): Reply {
    if (request.method === Method.binding) {
      return (
        unknownAttributes(request) ?? {
          attributes: [
            { type: Attr.XOR_MAPPED_ADDRESS, value: encodeXorAddress(client, request.transactionId) },
            { type: Attr.SOFTWARE, value: Buffer.from(SOFTWARE, 'utf8') },
          ],
        }
      );
    }
    if (!AUTHENTICATED.has(request.method)) return { code: 400 };
    const auth = this.authenticate(request, client);
    if ('refusal' in auth) return auth.refusal;
    return { ...(unknownAttributes(request) ?? this.perform(request, client, auth.username)), key: auth.key };
  }

  /** The long-term credential checks of RFC 8489 §9.2.4 in its order, with TURN REST passwords. */
  private authenticate(request: StunMessage, client: Client): { username: string; key: Buffer } | { refusal: Reply } {
    // One nonce per client (RFC 8489: never the same for two source addresses and ports).
    const nonce = createHmac('sha256', this.nonceKey).update(client.id).digest('hex').slice(0, 32);
    const challenge = (code: 401 | 438, key?: Buffer) => ({
      refusal: {
        code,
        attributes: [
          { type: Attr.REALM, value: Buffer.from(this.options.realm, 'utf8') },
          { type: Attr.NONCE, value: Buffer.from(nonce, 'utf8') },
        ],
        key,
      },
    });
    if (!attribute(request, Attr.MESSAGE_INTEGRITY)) return challenge(401);
    const username = attributeText(request, Attr.USERNAME);
    if (username === undefined || !attribute(request, Attr.REALM) || !attribute(request, Attr.NONCE)) return { refusal: { code: 400 } };
    const password = restPassword(this.options.secret, username);
    if (password === undefined) return challenge(401);
    const key = longTermKey(username, this.options.realm, password);
    if (verifyIntegrity(request, key) !== 'valid') return challenge(401);
    if (attributeText(request, Attr.NONCE) !== nonce) return challenge(438, key);
    return { username, key };
  }

  private perform(request: StunMessage, client: Client, username: string): Reply {
    const allocation = this.allocations.get(client.id);
    if (request.method === Method.allocate) return allocation ? { code: 437 } : this.allocate(request, client, username);
    if (!allocation) return { code: 437 };
    if (allocation.username !== username) return { code: 441 };
    return request.method === Method.refresh ? this.refresh(request, allocation) : this.createPermission(request, allocation);
  }

  /** RFC 8656 §7.2. */
  private allocate(request: StunMessage, client: Client, username: string): Reply {
    const transport = attribute(request, Attr.REQUESTED_TRANSPORT);
    if (transport?.length !== 4) return { code: 400 };
    if (transport[0] !== UDP_PROTOCOL) return { code: 442 };
    const port = this.freeRelayPort();
    if (port === undefined) return { code: 508 };
    const relayed = { ...this.relayAddress, port };
    const expiry = setTimeout(() => this.forget(client.id), LIFETIME * 1000).unref();
    this.allocations.set(client.id, { client, username, relayed, permissions: new Set(), expiry });
    return {
      attributes: [
        { type: Attr.XOR_RELAYED_ADDRESS, value: encodeXorAddress(relayed, request.transactionId) },
        { type: Attr.XOR_MAPPED_ADDRESS, value: encodeXorAddress(client, request.transactionId) },
        { type: Attr.LIFETIME, value: encodeUint32(LIFETIME) },
      ],
    };
  }

  private freeRelayPort(): number | undefined {
    const used = new Set([...this.allocations.values()].map((a) => a.relayed.port));
    for (let port = RELAY_PORTS.first; port <= RELAY_PORTS.last; port++) if (!used.has(port)) return port;
    return undefined;
  }

  /** RFC 8656 §8.2: LIFETIME 0 deletes the allocation; anything else keeps it for the full lifetime again. */
  private refresh(request: StunMessage, allocation: Allocation): Reply {
    const value = attribute(request, Attr.LIFETIME);
    const requested = decodeUint32(value);
    if (value && requested === undefined) return { code: 400 };
    if (requested === 0) this.forget(allocation.client.id);
    else allocation.expiry.refresh();
    return { attributes: [{ type: Attr.LIFETIME, value: encodeUint32(requested === 0 ? 0 : LIFETIME) }] };
  }

  /** RFC 8656 §10.2: a permission for the IP address of every XOR-PEER-ADDRESS. */
  private createPermission(request: StunMessage, allocation: Allocation): Reply {
    const peers = request.attributes
      .filter((a) => a.type === Attr.XOR_PEER_ADDRESS)
      .map((a) => decodeXorAddress(a.value, request.transactionId));
    if (peers.length === 0 || peers.some((peer) => peer === undefined)) return { code: 400 };
    if (peers.some((peer) => peer!.family !== allocation.relayed.family)) return { code: 443 };
    peers.forEach((peer) => allocation.permissions.add(peer!.address));
    return {};
  }

  /**
   * RFC 8656 §11: data from a client with an allocation and a permission for the peer, to a
   * peer that is another allocation's relayed address permitting the sender's relayed address,
   * arrives at that allocation's client as a Data indication. Anything else is dropped silently.
   */
  private relay(indication: StunMessage, client: Client): void {
    const from = this.allocations.get(client.id);
    const peer = decodeXorAddress(attribute(indication, Attr.XOR_PEER_ADDRESS), indication.transactionId);
    const data = attribute(indication, Attr.DATA);
    if (!from || !peer || !data || !from.permissions.has(peer.address)) return;
    const to = [...this.allocations.values()].find((a) => a.relayed.address === peer.address && a.relayed.port === peer.port);
    if (!to || !to.permissions.has(from.relayed.address)) return;
    const transactionId = randomBytes(12);
    const attributes = [
      { type: Attr.XOR_PEER_ADDRESS, value: encodeXorAddress(from.relayed, transactionId) },
      { type: Attr.DATA, value: data },
    ];
    to.client.send(encodeMessage({ method: Method.data, cls: 'indication', transactionId, attributes }, { fingerprint: true }));
  }
}

function encodeReply(request: StunMessage, reply: Reply): Buffer {
  const status = reply.code === undefined ? [] : [{ type: Attr.ERROR_CODE, value: encodeErrorCode(reply.code, REASONS[reply.code]) }];
  return encodeMessage(
    {
      method: request.method,
      cls: reply.code === undefined ? 'success' : 'error',
      transactionId: request.transactionId,
      attributes: [...status, ...(reply.attributes ?? [])],
    },
    { integrityKey: reply.key, fingerprint: true },
  );
}

/** 420 listing the comprehension-required attributes this server does not know (RFC 8489 §6.3.1), if any. */
function unknownAttributes(message: StunMessage): Reply | undefined {
  const unknown = [...new Set(message.attributes.map((a) => a.type).filter((type) => type < 0x8000 && !KNOWN_ATTRIBUTES.has(type)))];
  if (unknown.length === 0) return undefined;
  const value = Buffer.alloc(unknown.length * 2);
  unknown.forEach((type, i) => value.writeUInt16BE(type, i * 2));
  return { code: 420, attributes: [{ type: Attr.UNKNOWN_ATTRIBUTES, value }] };
}

/**
 * The TURN REST password for a user name `<unix expiry>:<name>` as restCredentials builds it,
 * or undefined when the name is not one or has expired.
 */
function restPassword(secret: string, username: string): string | undefined {
  const colon = username.indexOf(':');
  const expiresAt = Number(username.slice(0, colon));
  if (colon < 0 || !Number.isSafeInteger(expiresAt) || expiresAt <= Date.now() / 1000) return undefined;
  const rest = restCredentials(secret, username.slice(colon + 1), expiresAt);
  return rest.username === username ? rest.password : undefined;
}

/** The address as decodeXorAddress writes it (IPv6 compressed), so relayed addresses compare as text. */
function canonicalAddress(address: string): TransportAddress {
  const id = Buffer.alloc(12);
  const decoded = net.isIP(address) ? decodeXorAddress(encodeXorAddress({ address, port: 0 }, id), id) : undefined;
  if (!decoded) throw new TypeError(`relayAddress ${address} is not an IP address`);
  return decoded;
}
