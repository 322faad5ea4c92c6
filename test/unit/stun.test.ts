// The STUN/TURN message code on byte-exact messages (RFC 5769 test vectors, docs/turn.md "STUN messages"), and on
// what the network may deliver instead: truncated, oversized and corrupted messages are
// rejected as reasons, never thrown, and a channel fed garbage still ends by its deadline.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Attr,
  attribute,
  decodeAddress,
  decodeErrorCode,
  decodeMessage,
  decodeUint32,
  decodeXorAddress,
  encodeErrorCode,
  encodeMessage,
  encodeXorAddress,
  longTermKey,
  MAX_MESSAGE_LENGTH,
  messageType,
  Method,
  methodName,
  requestedTransport,
  restCredentials,
  streamFrameLength,
  stunStreamSplitter,
  verifyFingerprint,
  verifyIntegrity,
  type ClassName,
  type StunMessage,
} from '../../checks/probes/stun.ts';
import { retransmitSchedule, StunChannel } from '../../checks/probes/stun-transport.ts';
import { canonicalIp } from '../../checks/core/net.ts';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

// RFC 5769 §2.1–2.4 (also in RFC 8489's errata); short-term password of §2.1–2.3.
const PASSWORD = 'VOkJxbRl1RmTxUk/WvJxBt';
const SAMPLE_REQUEST = hex(`
  0001 0058 2112a442 b7e7a701 bc34d686 fa87dfae
  8022 0010 5354554e 20746573 7420636c 69656e74
  0024 0004 6e0001ff
  8029 0008 932ff9b1 51263b36
  0006 0009 6576746a 3a683676 59202020
  0008 0014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
  8028 0004 e57a3bcf`);
const SAMPLE_IPV4_RESPONSE = hex(`
  0101 003c 2112a442 b7e7a701 bc34d686 fa87dfae
  8022 000b 74657374 20766563 746f7220
  0020 0008 0001a147 e112a643
  0008 0014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7
  8028 0004 c07d4c96`);
const SAMPLE_IPV6_RESPONSE = hex(`
  0101 0048 2112a442 b7e7a701 bc34d686 fa87dfae
  8022 000b 74657374 20766563 746f7220
  0020 0014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9
  0008 0014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41
  8028 0004 c8fb0b4c`);
const SAMPLE_LONG_TERM_REQUEST = hex(`
  0001 0060 2112a442 78ad3433 c6ad72c0 29da412e
  0006 0012 e3839ee3 8388e383 aae38383 e382afe3 82b90000
  0015 001c 662f2f34 39396b39 35346436 4f4c3334 6f4c3946 53547679 36347341
  0014 000b 6578616d 706c652e 6f726700
  0008 0014 f6702465 6dd64a3e 02b8e071 2e85c9a2 8ca89666`);
// U+30DE U+30C8 U+30EA U+30C3 U+30AF U+30B9, and the password after SASLprep.
const LONG_TERM_USER = '\u30de\u30c8\u30ea\u30c3\u30af\u30b9';

function decoded(bytes: Buffer): StunMessage {
  const result = decodeMessage(bytes);
  if (!result.ok) throw new Error(result.reason);
  return result.message;
}

describe('RFC 5769 test vectors', () => {
  it('decodes the sample request and verifies its MESSAGE-INTEGRITY and FINGERPRINT', () => {
    const message = decoded(SAMPLE_REQUEST);
    expect(message).toMatchObject({ method: Method.binding, cls: 'request' });
    expect(message.transactionId.toString('hex')).toBe('b7e7a701bc34d686fa87dfae');
    expect(attribute(message, Attr.SOFTWARE)?.toString()).toBe('STUN test client');
    expect(attribute(message, Attr.USERNAME)?.toString()).toBe('evtj:h6vY');
    expect(verifyFingerprint(message)).toBe('valid');
    expect(verifyIntegrity(message, Buffer.from(PASSWORD))).toBe('valid');
    expect(verifyIntegrity(message, Buffer.from('another password'))).toBe('invalid');
  });

  it('decodes the IPv4 response: XOR-MAPPED-ADDRESS 192.0.2.1:32853', () => {
    const message = decoded(SAMPLE_IPV4_RESPONSE);
    expect(message.cls).toBe('success');
    expect(decodeXorAddress(attribute(message, Attr.XOR_MAPPED_ADDRESS), message.transactionId)).toEqual({
      family: 4,
      address: '192.0.2.1',
      port: 32853,
    });
    expect(attribute(message, Attr.SOFTWARE)?.toString()).toBe('test vector');
    expect(verifyFingerprint(message)).toBe('valid');
    expect(verifyIntegrity(message, Buffer.from(PASSWORD))).toBe('valid');
  });

  it('decodes the IPv6 response: XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853', () => {
    const message = decoded(SAMPLE_IPV6_RESPONSE);
    expect(decodeXorAddress(attribute(message, Attr.XOR_MAPPED_ADDRESS), message.transactionId)).toEqual({
      family: 6,
      address: '2001:db8:1234:5678:11:2233:4455:6677',
      port: 32853,
    });
    expect(verifyFingerprint(message)).toBe('valid');
    expect(verifyIntegrity(message, Buffer.from(PASSWORD))).toBe('valid');
  });

  it('verifies the long-term request with MD5(username:realm:password) and re-encodes it byte for byte', () => {
    const message = decoded(SAMPLE_LONG_TERM_REQUEST);
    const key = longTermKey(LONG_TERM_USER, 'example.org', 'TheMatrIX');
    expect(verifyIntegrity(message, key)).toBe('valid');
    expect(verifyFingerprint(message)).toBe('absent');
    expect(attribute(message, Attr.NONCE)?.toString()).toBe('f//499k954d6OL34oL9FSTvy64sA');
    const again = encodeMessage(
      {
        method: Method.binding,
        cls: 'request',
        transactionId: message.transactionId,
        attributes: message.attributes.filter((a) => a.type !== Attr.MESSAGE_INTEGRITY),
      },
      { integrityKey: key },
    );
    expect(again.equals(SAMPLE_LONG_TERM_REQUEST)).toBe(true);
  });

  it('encodes the sample request exactly up to USERNAME padding, which RFC 8489 leaves free (the vector uses spaces)', () => {
    const message = decoded(SAMPLE_REQUEST);
    const attributes = message.attributes.filter((a) => a.type !== Attr.MESSAGE_INTEGRITY && a.type !== Attr.FINGERPRINT);
    const ours = encodeMessage(
      { method: Method.binding, cls: 'request', transactionId: message.transactionId, attributes },
      { integrityKey: Buffer.from(PASSWORD), fingerprint: true },
    );
    expect(ours.length).toBe(SAMPLE_REQUEST.length);
    // USERNAME's value ends at byte 73; the vector pads with 20 20 20, this encoder with zeros.
    expect(ours.subarray(0, 73).equals(SAMPLE_REQUEST.subarray(0, 73))).toBe(true);
    expect(ours.subarray(73, 76).toString('hex')).toBe('000000');
    expect(SAMPLE_REQUEST.subarray(73, 76).toString('hex')).toBe('202020');
    expect(ours.subarray(76, 80).equals(SAMPLE_REQUEST.subarray(76, 80))).toBe(true);
    expect(verifyFingerprint(decoded(ours))).toBe('valid');
    expect(verifyIntegrity(decoded(ours), Buffer.from(PASSWORD))).toBe('valid');
  });
});

describe('messages of docs/turn.md', () => {
  it('encodes the 20-byte Binding request: 00 01 | 00 00 | 21 12 A4 42 | transaction id', () => {
    const id = Buffer.from('000102030405060708090a0b', 'hex');
    expect(encodeMessage({ method: Method.binding, cls: 'request', transactionId: id }).toString('hex')).toBe(
      '000100002112a442000102030405060708090a0b',
    );
  });

  it('maps methods and classes to the message types of the table', () => {
    const table: [number, ClassName, number][] = [
      [Method.binding, 'request', 0x0001],
      [Method.binding, 'success', 0x0101],
      [Method.binding, 'error', 0x0111],
      [Method.allocate, 'request', 0x0003],
      [Method.allocate, 'success', 0x0103],
      [Method.allocate, 'error', 0x0113],
      [Method.refresh, 'request', 0x0004],
      [Method.refresh, 'success', 0x0104],
      [Method.refresh, 'error', 0x0114],
      [Method.createPermission, 'request', 0x0008],
      [Method.createPermission, 'success', 0x0108],
      [Method.createPermission, 'error', 0x0118],
      [Method.channelBind, 'request', 0x0009],
      [Method.channelBind, 'success', 0x0109],
      [Method.channelBind, 'error', 0x0119],
      [Method.send, 'indication', 0x0016],
      [Method.data, 'indication', 0x0017],
    ];
    for (const [method, cls, type] of table) {
      expect(messageType(method, cls), `${methodName(method)} ${cls}`).toBe(type);
      const bytes = encodeMessage({ method, cls, transactionId: Buffer.alloc(12) });
      expect(decoded(bytes)).toMatchObject({ method, cls });
    }
    expect(methodName(0x123)).toBe('method 0x123');
  });

  it('encodes an Allocate with REQUESTED-TRANSPORT UDP (11 00 00 00) and a FINGERPRINT', () => {
    const message = decoded(
      encodeMessage(
        {
          method: Method.allocate,
          cls: 'request',
          transactionId: Buffer.alloc(12, 7),
          attributes: [{ type: Attr.REQUESTED_TRANSPORT, value: requestedTransport() }],
        },
        { fingerprint: true },
      ),
    );
    expect(attribute(message, Attr.REQUESTED_TRANSPORT)?.toString('hex')).toBe('11000000');
    expect(verifyFingerprint(message)).toBe('valid');
    expect(message.raw.readUInt16BE(2)).toBe(16);
  });

  it('reads ERROR-CODE: class and number, and the reason phrase', () => {
    expect(decodeErrorCode(encodeErrorCode(401, 'Unauthorized'))).toEqual({ code: 401, reason: 'Unauthorized' });
    expect(decodeErrorCode(Buffer.from('0000043f', 'hex'))).toEqual({ code: 463, reason: '' });
    expect(decodeErrorCode(Buffer.from('00000264', 'hex'))).toBeUndefined(); // number 100
    expect(decodeErrorCode(Buffer.from('000007', 'hex'))).toBeUndefined();
  });

  it('round-trips XOR addresses of both families with the transaction id', () => {
    const id = Buffer.from('b7e7a701bc34d686fa87dfae', 'hex');
    for (const address of [
      { address: '203.0.113.10', port: 49160 },
      { address: '2001:db8::10', port: 3478 },
    ]) {
      expect(decodeXorAddress(encodeXorAddress(address, id), id)).toMatchObject(address);
    }
    expect(decodeAddress(hex('0001 0d96 7f4e0002'))).toEqual({ family: 4, address: '127.78.0.2', port: 3478 });
    expect(decodeUint32(hex('00000258'))).toBe(600);
  });

  it('encodes IPv6 addresses of every spelling: embedded IPv4, :: anywhere, full form', () => {
    const zero = Buffer.alloc(12);
    // Port 3478 XOR 0x2112, then the address XOR the magic cookie (and a zero transaction id).
    const xored = (address: string) =>
      hex(`0002 2c84 ${(BigInt('0x' + address.replace(/\s+/g, '')) ^ (0x2112a442n << 96n)).toString(16).padStart(32, '0')}`);
    const cases: [string, string][] = [
      ['::ffff:192.0.2.1', '0000 0000 0000 0000 0000 ffff c000 0201'],
      ['::ffff:c000:201', '0000 0000 0000 0000 0000 ffff c000 0201'],
      ['64:ff9b::192.0.2.33', '0064 ff9b 0000 0000 0000 0000 c000 0221'],
      ['1:2:3:4:5:6:7.8.9.10', '0001 0002 0003 0004 0005 0006 0708 090a'],
      ['::', '0000 0000 0000 0000 0000 0000 0000 0000'],
      ['::1', '0000 0000 0000 0000 0000 0000 0000 0001'],
      ['2001:db8::', '2001 0db8 0000 0000 0000 0000 0000 0000'],
      ['2001:db8::10', '2001 0db8 0000 0000 0000 0000 0000 0010'],
      ['2001:db8:0:0:1::1', '2001 0db8 0000 0000 0001 0000 0000 0001'],
      ['2001:DB8:1234:5678:11:2233:4455:6677', '2001 0db8 1234 5678 0011 2233 4455 6677'],
    ];
    for (const [address, bytes] of cases) {
      expect(encodeXorAddress({ address, port: 3478 }, zero).toString('hex'), address).toBe(xored(bytes).toString('hex'));
    }
  });

  it('round-trips every IPv6 address to its canonical form', () => {
    const id = Buffer.from('b7e7a701bc34d686fa87dfae', 'hex');
    expect(decodeXorAddress(encodeXorAddress({ address: '::ffff:192.0.2.1', port: 3478 }, id), id)).toEqual({
      family: 6,
      address: '::ffff:c000:201',
      port: 3478,
    });
    fc.assert(
      fc.property(fc.ipV6(), fc.integer({ min: 1, max: 65535 }), (address, port) => {
        expect(decodeXorAddress(encodeXorAddress({ address, port }, id), id)).toEqual({ family: 6, address: canonicalIp(address), port });
      }),
      { numRuns: 1000 },
    );
  });

  it('makes TURN REST credentials as coturn and Synapse do (docs/turn.md "TURN REST credentials")', () => {
    // printf '%s' 1795770638:alice | openssl dgst -sha1 -hmac north-sea-secret -binary | base64
    expect(restCredentials('north-sea-secret', 'alice', 1795770638)).toEqual({
      username: '1795770638:alice',
      password: '/z1h1jWhrrB2/JBuYo6Kr37DpC4=',
    });
    // printf '%s' alice:turn.example.org:pw | md5sum
    expect(longTermKey('alice', 'turn.example.org', 'pw').toString('hex')).toBe('061ae408bba5ebceb1ac6c08dc83f36e');
  });

  it('frames a stream: header first, then the announced length', () => {
    expect(streamFrameLength(SAMPLE_IPV4_RESPONSE.subarray(0, 7))).toBe('more');
    expect(streamFrameLength(SAMPLE_IPV4_RESPONSE)).toBe(80);
    expect(streamFrameLength(Buffer.from('HTTP/1.1 400 Bad Request\r\n'))).toEqual({
      reason: 'first byte 0x48 does not start a STUN message',
    });
    expect(streamFrameLength(Buffer.concat([hex('0101 0002'), Buffer.alloc(16)]))).toEqual({ reason: 'no STUN magic cookie' });
  });
});

describe('retransmissions (RFC 8489 §6.2.1)', () => {
  it('sends at 0, 500, 1500 … 31500 ms and gives up at 39.5 s when the budget allows', () => {
    expect(retransmitSchedule(60_000)).toEqual({ sends: [0, 500, 1500, 3500, 7500, 15500, 31500], giveUpAt: 39_500 });
  });

  it('cuts the schedule at the probe timeout', () => {
    expect(retransmitSchedule(2000)).toEqual({ sends: [0, 500, 1500], giveUpAt: 2000 });
    expect(retransmitSchedule(5000)).toEqual({ sends: [0, 500, 1500, 3500], giveUpAt: 5000 });
    expect(retransmitSchedule(300)).toEqual({ sends: [0], giveUpAt: 300 });
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests: what arrives from the network is rejected as a reason, never thrown.

const transactionIds = fc.uint8Array({ minLength: 12, maxLength: 12 }).map((a) => Buffer.from(a));
const attributeValues = fc.array(
  fc.record({
    type: fc.constantFrom(Attr.USERNAME, Attr.REALM, Attr.NONCE, Attr.SOFTWARE, Attr.DATA, 0x7fff),
    value: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
  }),
  { maxLength: 6 },
);
/** Valid messages, with MESSAGE-INTEGRITY and FINGERPRINT. */
const messages = fc
  .record({
    method: fc.constantFrom(...Object.values(Method)),
    cls: fc.constantFrom<ClassName>('request', 'indication', 'success', 'error'),
    transactionId: transactionIds,
    attributes: attributeValues,
  })
  .map((spec) => encodeMessage(spec, { integrityKey: Buffer.from('key'), fingerprint: true }));

describe('property: decoding never throws', () => {
  it('on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const result = decodeMessage(Buffer.from(bytes));
        expect(typeof result.ok).toBe('boolean');
        if (!result.ok) expect(result.reason.length).toBeGreaterThan(0);
        const frame = streamFrameLength(Buffer.from(bytes));
        expect(frame === 'more' || typeof frame === 'number' || typeof frame.reason === 'string').toBe(true);
        expect(() => decodeXorAddress(Buffer.from(bytes), Buffer.alloc(12))).not.toThrow();
        expect(() => decodeErrorCode(Buffer.from(bytes))).not.toThrow();
      }),
      { numRuns: 2000 },
    );
  });

  it('on arbitrary bytes behind a valid STUN header (length field consistent)', () => {
    fc.assert(
      fc.property(transactionIds, fc.uint8Array({ maxLength: 120 }), (id, body) => {
        const padded = Buffer.concat([Buffer.from(body), Buffer.alloc((4 - (body.length % 4)) % 4)]);
        const bytes = Buffer.concat([encodeMessage({ method: Method.allocate, cls: 'success', transactionId: id }), padded]);
        bytes.writeUInt16BE(padded.length, 2);
        const result = decodeMessage(bytes);
        if (result.ok) {
          expect(['valid', 'invalid', 'absent']).toContain(verifyFingerprint(result.message));
          expect(['valid', 'invalid', 'absent']).toContain(verifyIntegrity(result.message, Buffer.from('k')));
        } else {
          expect(result.reason).toMatch(/attribute|padding|FINGERPRINT/);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('property: damaged messages are rejected', () => {
  it('accepts every message it encodes, with both checks valid', () => {
    fc.assert(
      fc.property(messages, (bytes) => {
        const message = decoded(bytes);
        expect(verifyFingerprint(message)).toBe('valid');
        expect(verifyIntegrity(message, Buffer.from('key'))).toBe('valid');
      }),
    );
  });

  it('rejects every truncation', () => {
    fc.assert(
      fc.property(messages, fc.nat(), (bytes, cut) => {
        const length = cut % bytes.length;
        const result = decodeMessage(bytes.subarray(0, length));
        expect(result.ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects extra bytes after the message, and anything over the size cap', () => {
    fc.assert(
      fc.property(messages, fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes, extra) => {
        expect(decodeMessage(Buffer.concat([bytes, Buffer.from(extra)])).ok).toBe(false);
        expect(decodeMessage(bytes, bytes.length - 1).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
    const huge = Buffer.alloc(MAX_MESSAGE_LENGTH + 4);
    huge.writeUInt32BE(0x2112a442, 4);
    expect(decodeMessage(huge)).toEqual({
      ok: false,
      reason: `${MAX_MESSAGE_LENGTH + 4} bytes, longer than the ${MAX_MESSAGE_LENGTH} accepted`,
    });
  });

  it('never accepts a message with one bit flipped as intact', () => {
    fc.assert(
      fc.property(messages, fc.nat(), fc.integer({ min: 0, max: 7 }), (bytes, at, bit) => {
        const damaged = Buffer.from(bytes);
        damaged[at % damaged.length]! ^= 1 << bit;
        const result = decodeMessage(damaged);
        if (!result.ok) return;
        const intact = verifyFingerprint(result.message) === 'valid' && verifyIntegrity(result.message, Buffer.from('key')) === 'valid';
        expect(intact).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('property: a channel fed garbage neither throws nor hangs', () => {
  it('discards what is not an answer and ends the transaction at its deadline', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 8 }), async (datagrams) => {
        const request = encodeMessage(
          { method: Method.binding, cls: 'request', transactionId: Buffer.alloc(12, 9) },
          { fingerprint: true },
        );
        let channel: StunChannel | undefined;
        // The "server" answers every send with the garbage datagrams.
        channel = new StunChannel(
          'udp',
          () => queueMicrotask(() => datagrams.forEach((d) => channel!.receive(Buffer.from(d)))),
          () => {},
        );
        const started = performance.now();
        const outcome = await channel.transact(request, performance.now() + 30);
        expect(performance.now() - started).toBeLessThan(500);
        expect(outcome.ok).toBe(false);
        if (!outcome.ok) expect(outcome.error).toBe('timeout');
        channel.close();
      }),
      { numRuns: 50 },
    );
  });

  it('matches the answer among garbage and corrupted copies of it', async () => {
    const id = Buffer.alloc(12, 3);
    const request = encodeMessage({ method: Method.binding, cls: 'request', transactionId: id }, { fingerprint: true });
    const answer = encodeMessage(
      {
        method: Method.binding,
        cls: 'success',
        transactionId: id,
        attributes: [{ type: Attr.XOR_MAPPED_ADDRESS, value: encodeXorAddress({ address: '192.0.2.1', port: 5000 }, id) }],
      },
      { fingerprint: true },
    );
    const corrupted = Buffer.from(answer);
    corrupted[25]! ^= 0x40;
    let channel: StunChannel | undefined;
    channel = new StunChannel(
      'udp',
      () => queueMicrotask(() => [Buffer.from('garbage'), corrupted, answer].forEach((d) => channel!.receive(d))),
      () => {},
    );
    const outcome = await channel.transact(request, performance.now() + 1000);
    expect(outcome.ok).toBe(true);
    expect(channel.discarded).toEqual(['7 bytes, shorter than a STUN header (20)', 'FINGERPRINT does not match (corrupted in transit)']);
    channel.close();
  });

  it('ends waiting transactions when the connection closes', async () => {
    const channel = new StunChannel(
      'tcp',
      () => {},
      () => {},
    );
    const pending = channel.transact(
      encodeMessage({ method: Method.binding, cls: 'request', transactionId: Buffer.alloc(12) }),
      performance.now() + 10_000,
    );
    channel.fail('the server closed the connection');
    expect(await pending).toMatchObject({ ok: false, error: 'closed', message: 'the server closed the connection' });
    expect(await channel.transact(Buffer.alloc(20), performance.now() + 10_000)).toMatchObject({ ok: false, error: 'closed' });
  });
});

describe('property: a stream splits into the messages sent, wherever its chunks are cut', () => {
  it('gives back each message whole and in order, and garbage after them once', () => {
    fc.assert(
      fc.property(fc.array(messages, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 6 }), (sent, cuts) => {
        const stream = Buffer.concat([...sent, Buffer.from('HTTP/1.1 400 Bad Request\r\n')]);
        const received: Buffer[] = [];
        const garbage: string[] = [];
        const feed = stunStreamSplitter(
          (bytes) => received.push(Buffer.from(bytes)),
          (reason) => garbage.push(reason),
        );
        const at = [...new Set(cuts.map((c) => c % stream.length))].sort((a, b) => a - b);
        [0, ...at].forEach((start, i) => feed(stream.subarray(start, at[i] ?? stream.length)));
        feed(Buffer.from('more garbage'));
        expect(received).toEqual(sent);
        expect(garbage).toEqual(['first byte 0x48 does not start a STUN message']);
      }),
      { numRuns: 500 },
    );
  });
});
