// STUN/TURN messages on the wire (RFC 8489 STUN, RFC 8656 TURN): encoding, decoding, the
// attributes a TURN client needs, XOR addresses, MESSAGE-INTEGRITY (HMAC-SHA1) and FINGERPRINT
// (CRC-32). Pure code without I/O. Decoding never throws: whatever arrives from the network
// (truncated, oversized, corrupted) is either a message or a reason why it is not one.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { crc32 } from 'node:zlib';
import type { TransportAddress, Verification } from '../facts/turn.ts';

export const MAGIC_COOKIE = 0x2112a442;
export const HEADER_LENGTH = 20;
/** The largest message this code accepts: the length field's maximum plus the header. */
export const MAX_MESSAGE_LENGTH = HEADER_LENGTH + 0xfffc;
const FINGERPRINT_XOR = 0x5354554e;

export const Method = {
  binding: 0x001,
  allocate: 0x003,
  refresh: 0x004,
  send: 0x006,
  data: 0x007,
  createPermission: 0x008,
  channelBind: 0x009,
} as const;
export type MethodName = keyof typeof Method;

export const MessageClass = { request: 0, indication: 1, success: 2, error: 3 } as const;
export type ClassName = keyof typeof MessageClass;

export const Attr = {
  MAPPED_ADDRESS: 0x0001,
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  UNKNOWN_ATTRIBUTES: 0x000a,
  LIFETIME: 0x000d,
  XOR_PEER_ADDRESS: 0x0012,
  DATA: 0x0013,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_TRANSPORT: 0x0019,
  DONT_FRAGMENT: 0x001a,
  XOR_MAPPED_ADDRESS: 0x0020,
  SOFTWARE: 0x8022,
  FINGERPRINT: 0x8028,
  RESPONSE_ORIGIN: 0x802b,
} as const;

export interface Attribute {
  type: number;
  value: Buffer;
}

export interface StunMessage {
  method: number;
  cls: ClassName;
  transactionId: Buffer;
  attributes: Attribute[];
  /** The bytes as received (for MESSAGE-INTEGRITY and FINGERPRINT checks). */
  raw: Buffer;
}

export type Decoded = { ok: true; message: StunMessage } | { ok: false; reason: string };

// ---------------------------------------------------------------------------------------------
// Message type: the 12 method bits and 2 class bits are interleaved (RFC 8489 §5).

export function messageType(method: number, cls: ClassName): number {
  const c = MessageClass[cls];
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | ((c & 1) << 4) | ((c & 2) << 7);
}

function splitType(type: number): { method: number; cls: ClassName } {
  const method = (type & 0x000f) | ((type >> 1) & 0x0070) | ((type >> 2) & 0x0f80);
  const c = ((type >> 4) & 1) | ((type >> 7) & 2);
  const cls = (Object.keys(MessageClass) as ClassName[]).find((name) => MessageClass[name] === c)!;
  return { method, cls };
}

export function methodName(method: number): string {
  const name = (Object.keys(Method) as MethodName[]).find((key) => Method[key] === method);
  return name ?? `method 0x${method.toString(16).padStart(3, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// Encoding

export interface EncodeOptions {
  /** Appends MESSAGE-INTEGRITY computed with this key (long-term: longTermKey()). */
  integrityKey?: Buffer;
  /** Appends FINGERPRINT (last). */
  fingerprint?: boolean;
}

export interface MessageSpec {
  method: number;
  cls: ClassName;
  transactionId: Buffer;
  attributes?: Attribute[];
}

const pad4 = (n: number): number => (n + 3) & ~3;

function encodeAttribute(attribute: Attribute): Buffer {
  const out = Buffer.alloc(4 + pad4(attribute.value.length));
  out.writeUInt16BE(attribute.type, 0);
  out.writeUInt16BE(attribute.value.length, 2);
  attribute.value.copy(out, 4);
  return out;
}

function header(type: number, length: number, transactionId: Buffer): Buffer {
  const out = Buffer.alloc(HEADER_LENGTH);
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(length, 2);
  out.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(out, 8, 0, 12);
  return out;
}

export function encodeMessage(spec: MessageSpec, options: EncodeOptions = {}): Buffer {
  if (spec.transactionId.length !== 12) throw new RangeError('a STUN transaction id is 12 bytes');
  const type = messageType(spec.method, spec.cls);
  let body = Buffer.concat((spec.attributes ?? []).map(encodeAttribute));
  if (options.integrityKey) {
    // The length field counts the MESSAGE-INTEGRITY attribute (24 bytes) while it is computed.
    const hmac = createHmac('sha1', options.integrityKey)
      .update(header(type, body.length + 24, spec.transactionId))
      .update(body)
      .digest();
    body = Buffer.concat([body, encodeAttribute({ type: Attr.MESSAGE_INTEGRITY, value: hmac })]);
  }
  if (options.fingerprint) {
    const crc = fingerprintOf(Buffer.concat([header(type, body.length + 8, spec.transactionId), body]));
    const value = Buffer.alloc(4);
    value.writeUInt32BE(crc, 0);
    body = Buffer.concat([body, encodeAttribute({ type: Attr.FINGERPRINT, value })]);
  }
  return Buffer.concat([header(type, body.length, spec.transactionId), body]);
}

function fingerprintOf(bytes: Buffer): number {
  return (crc32(bytes) ^ FINGERPRINT_XOR) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * The length of the first STUN message in a stream buffer (TCP, TLS: RFC 8489 §6.2.2), or
 * 'more' when the header is not complete yet, or a reason when the bytes cannot be STUN.
 */
export function streamFrameLength(buffer: Buffer): number | 'more' | { reason: string } {
  if (buffer.length >= 1 && (buffer[0]! & 0xc0) !== 0)
    return { reason: `first byte 0x${buffer[0]!.toString(16)} does not start a STUN message` };
  if (buffer.length < HEADER_LENGTH) return 'more';
  if (buffer.readUInt32BE(4) !== MAGIC_COOKIE) return { reason: 'no STUN magic cookie' };
  const length = buffer.readUInt16BE(2);
  if (length % 4 !== 0) return { reason: `message length ${length} is not a multiple of 4` };
  return HEADER_LENGTH + length;
}

/**
 * Splits a STUN stream (TCP, TLS) into messages however its bytes arrive: feed it every chunk;
 * `message` gets each whole message, `garbage` the reason once bytes cannot be STUN (nothing
 * after them can be framed: the stream should be closed, later chunks are ignored).
 */
export function stunStreamSplitter(message: (bytes: Buffer) => void, garbage: (reason: string) => void): (chunk: Buffer) => void {
  let buffered = Buffer.alloc(0);
  let broken = false;
  return (chunk) => {
    if (broken) return;
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      const length = streamFrameLength(buffered);
      if (length === 'more') return;
      if (typeof length !== 'number') {
        broken = true;
        return garbage(length.reason);
      }
      if (buffered.length < length) return;
      message(buffered.subarray(0, length));
      buffered = buffered.subarray(length);
    }
  };
}

/** Decodes one whole message (one UDP datagram, or one frame of a stream). */
export function decodeMessage(bytes: Buffer, maxLength = MAX_MESSAGE_LENGTH): Decoded {
  if (bytes.length < HEADER_LENGTH) return { ok: false, reason: `${bytes.length} bytes, shorter than a STUN header (20)` };
  if (bytes.length > maxLength) return { ok: false, reason: `${bytes.length} bytes, longer than the ${maxLength} accepted` };
  const type = bytes.readUInt16BE(0);
  if ((type & 0xc000) !== 0) return { ok: false, reason: 'the two top bits are not zero: not a STUN message' };
  if (bytes.readUInt32BE(4) !== MAGIC_COOKIE) return { ok: false, reason: 'no STUN magic cookie' };
  const length = bytes.readUInt16BE(2);
  if (length % 4 !== 0) return { ok: false, reason: `message length ${length} is not a multiple of 4` };
  if (HEADER_LENGTH + length !== bytes.length) {
    return { ok: false, reason: `the header announces ${length} bytes of attributes, ${bytes.length - HEADER_LENGTH} arrived` };
  }
  const attributes: Attribute[] = [];
  let offset = HEADER_LENGTH;
  let sawIntegrity = false;
  while (offset < bytes.length) {
    if (offset + 4 > bytes.length) return { ok: false, reason: `attribute header cut at byte ${offset}` };
    const attrType = bytes.readUInt16BE(offset);
    const attrLength = bytes.readUInt16BE(offset + 2);
    const end = offset + 4 + attrLength;
    if (end > bytes.length) return { ok: false, reason: `attribute 0x${attrType.toString(16)} (${attrLength} bytes) runs past the end` };
    if (attributes.some((a) => a.type === Attr.FINGERPRINT)) return { ok: false, reason: 'an attribute follows FINGERPRINT' };
    // After MESSAGE-INTEGRITY only FINGERPRINT counts; anything else is ignored (RFC 8489 §14.5).
    if (!sawIntegrity || attrType === Attr.FINGERPRINT) attributes.push({ type: attrType, value: bytes.subarray(offset + 4, end) });
    if (attrType === Attr.MESSAGE_INTEGRITY) sawIntegrity = true;
    offset += 4 + pad4(attrLength);
  }
  if (offset !== bytes.length) return { ok: false, reason: 'attribute padding runs past the end' };
  const { method, cls } = splitType(type);
  return { ok: true, message: { method, cls, transactionId: bytes.subarray(8, 20), attributes, raw: bytes } };
}

export function attribute(message: StunMessage, type: number): Buffer | undefined {
  return message.attributes.find((a) => a.type === type)?.value;
}

export function attributeText(message: StunMessage, type: number): string | undefined {
  const value = attribute(message, type);
  return value === undefined ? undefined : value.toString('utf8');
}

// ---------------------------------------------------------------------------------------------
// Integrity and fingerprint

/** Byte offset of an attribute's header in the raw message, or -1. */
function attributeOffset(raw: Buffer, type: number): number {
  let offset = HEADER_LENGTH;
  while (offset + 4 <= raw.length) {
    if (raw.readUInt16BE(offset) === type) return offset;
    offset += 4 + pad4(raw.readUInt16BE(offset + 2));
  }
  return -1;
}

/** The raw bytes before `offset`, with the header's length field set as if the message ended at `end`. */
function prefixWithLength(raw: Buffer, offset: number, end: number): Buffer {
  const prefix = Buffer.from(raw.subarray(0, offset));
  prefix.writeUInt16BE(end - HEADER_LENGTH, 2);
  return prefix;
}

export function verifyFingerprint(message: StunMessage): Verification {
  const at = attributeOffset(message.raw, Attr.FINGERPRINT);
  if (at < 0) return 'absent';
  if (message.raw.readUInt16BE(at + 2) !== 4 || at + 8 !== message.raw.length) return 'invalid';
  const expected = fingerprintOf(prefixWithLength(message.raw, at, at + 8));
  return message.raw.readUInt32BE(at + 4) === expected ? 'valid' : 'invalid';
}

export function verifyIntegrity(message: StunMessage, key: Buffer): Verification {
  const at = attributeOffset(message.raw, Attr.MESSAGE_INTEGRITY);
  if (at < 0) return 'absent';
  if (message.raw.readUInt16BE(at + 2) !== 20 || at + 24 > message.raw.length) return 'invalid';
  const expected = createHmac('sha1', key)
    .update(prefixWithLength(message.raw, at, at + 24))
    .digest();
  return timingSafeEqual(expected, message.raw.subarray(at + 4, at + 24)) ? 'valid' : 'invalid';
}

/** The long-term credential key: MD5(username ":" realm ":" password) (RFC 8489 §9.2.2). */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash('md5').update(`${username}:${realm}:${password}`, 'utf8').digest();
}

/**
 * TURN REST credentials, coturn's use-auth-secret (docs/turn.md "TURN REST credentials"): the user name carries its expiry,
 * the password is base64(HMAC-SHA1(secret, username)).
 */
export function restCredentials(secret: string, user: string, expiresAt: number): { username: string; password: string } {
  const username = `${Math.floor(expiresAt)}:${user}`;
  return { username, password: createHmac('sha1', secret).update(username, 'utf8').digest('base64') };
}

// ---------------------------------------------------------------------------------------------
// Attribute values

export function decodeErrorCode(value: Buffer | undefined): { code: number; reason: string } | undefined {
  if (!value || value.length < 4) return undefined;
  const cls = value[2]! & 0x07;
  const number = value[3]!;
  if (cls < 3 || cls > 6 || number > 99) return undefined;
  return { code: cls * 100 + number, reason: value.subarray(4).toString('utf8') };
}

export function encodeErrorCode(code: number, reason: string): Buffer {
  const text = Buffer.from(reason, 'utf8');
  const out = Buffer.alloc(4 + text.length);
  out[2] = Math.floor(code / 100);
  out[3] = code % 100;
  text.copy(out, 4);
  return out;
}

export function decodeUint32(value: Buffer | undefined): number | undefined {
  return value && value.length === 4 ? value.readUInt32BE(0) : undefined;
}

export function encodeUint32(n: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(n >>> 0, 0);
  return out;
}

/** REQUESTED-TRANSPORT: the protocol number then three reserved bytes (17 = UDP). */
export function requestedTransport(protocol = 17): Buffer {
  return Buffer.from([protocol, 0, 0, 0]);
}

function xorMask(transactionId: Buffer, length: number): Buffer {
  const mask = Buffer.alloc(16);
  mask.writeUInt32BE(MAGIC_COOKIE, 0);
  transactionId.copy(mask, 4);
  return mask.subarray(0, length);
}

/** XOR-MAPPED-ADDRESS, XOR-RELAYED-ADDRESS, XOR-PEER-ADDRESS (RFC 8489 §14.2). */
export function decodeXorAddress(value: Buffer | undefined, transactionId: Buffer): TransportAddress | undefined {
  if (!value || value.length < 8) return undefined;
  const family = value[1];
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  if (family === 0x01 && value.length === 8) {
    const bytes = value.subarray(4, 8).map((b, i) => b ^ xorMask(transactionId, 4)[i]!);
    return { family: 4, address: [...bytes].join('.'), port };
  }
  if (family === 0x02 && value.length === 20) {
    const mask = xorMask(transactionId, 16);
    const bytes = Buffer.from(value.subarray(4, 20).map((b, i) => b ^ mask[i]!));
    return { family: 6, address: ipv6Text(bytes), port };
  }
  return undefined;
}

/** MAPPED-ADDRESS (not XORed), kept for servers that still send it. */
export function decodeAddress(value: Buffer | undefined): TransportAddress | undefined {
  if (!value || value.length < 8) return undefined;
  const port = value.readUInt16BE(2);
  if (value[1] === 0x01 && value.length === 8) return { family: 4, address: [...value.subarray(4, 8)].join('.'), port };
  if (value[1] === 0x02 && value.length === 20) return { family: 6, address: ipv6Text(value.subarray(4, 20)), port };
  return undefined;
}

export function encodeXorAddress(address: { address: string; port: number }, transactionId: Buffer): Buffer {
  const v6 = isIP(address.address) === 6;
  const raw = v6 ? ipv6Bytes(address.address) : Buffer.from(address.address.split('.').map(Number));
  const out = Buffer.alloc(4 + raw.length);
  out[1] = v6 ? 0x02 : 0x01;
  out.writeUInt16BE(address.port ^ (MAGIC_COOKIE >>> 16), 2);
  const mask = xorMask(transactionId, raw.length);
  raw.forEach((b, i) => (out[4 + i] = b ^ mask[i]!));
  return out;
}

function ipv6Text(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // The URL parser prints the canonical (compressed) form.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

/** The 16 bytes of an IPv6 address in any spelling: `::` anywhere, a trailing dotted IPv4 part, a zone. */
function ipv6Bytes(text: string): Buffer {
  const address = text.replace(/%.*$/, '');
  if (isIP(address) !== 6) throw new Error(`not an IPv6 address: ${text}`);
  const groups = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [parseInt(group, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head = '', tail] = address.split('::');
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  all.forEach((group, i) => out.writeUInt16BE(group, i * 2));
  return out;
}
