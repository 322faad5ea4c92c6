// Probes one TURN server port the way a calling client uses it: STUN Binding, TURN Allocate
// (the 401 challenge, then the request with long-term credentials), the answers' FINGERPRINT
// and MESSAGE-INTEGRITY checked, a relay round trip between two allocations (CreatePermission,
// Send and Data indications), then every allocation released (Refresh, LIFETIME 0).
// A probe: it gathers what happened at each step and never throws for a network fault.
import { randomBytes } from 'node:crypto';
import {
  Attr,
  attribute,
  attributeText,
  decodeErrorCode,
  decodeUint32,
  decodeXorAddress,
  encodeMessage,
  encodeUint32,
  encodeXorAddress,
  longTermKey,
  Method,
  requestedTransport,
  verifyFingerprint,
  verifyIntegrity,
  type Attribute,
  type StunMessage,
} from './stun.ts';
import type { TransportAddress } from '../facts/turn.ts';
import { openChannel, type StunChannel } from './stun-transport.ts';
import type { TransportName } from '../facts/turn.ts';
import type { Exchange, RoundTripFact, TurnCredentials, TurnProbeFacts, TurnTarget } from '../facts/turn.ts';

export interface TurnProbeOptions {
  credentials?: TurnCredentials;
  /** Tried on a fresh connection when `credentials` are refused: tells which side has the wrong secret. */
  alternative?: { label: string; credentials: TurnCredentials };
  timeoutMs: number;
  /** Extra trusted CAs (PEM) for turns:. */
  ca?: string;
  /**
   * Relay data between two allocations only when both relayed addresses are among these (the
   * addresses the URI's host resolves to): the server never sends anything anywhere else.
   */
  relayPeers: readonly string[];
  roundTrip: boolean;
}

const newTransactionId = (): Buffer => randomBytes(12);
const deadlineAfter = (ms: number): number => performance.now() + ms;

function exchangeOf(outcome: Awaited<ReturnType<StunChannel['transact']>>, key?: Buffer): Exchange {
  if (!outcome.ok)
    return {
      ok: false,
      error: outcome.error,
      message: outcome.message,
      elapsedMs: outcome.elapsedMs,
      sent: outcome.sent,
      discarded: outcome.discarded,
    };
  const message = outcome.message;
  const error =
    message.cls === 'error'
      ? (decodeErrorCode(attribute(message, Attr.ERROR_CODE)) ?? { code: 0, reason: 'no readable ERROR-CODE' })
      : undefined;
  return {
    ok: true,
    cls: message.cls === 'error' ? 'error' : 'success',
    ...(error ? { error } : {}),
    fingerprint: verifyFingerprint(message),
    integrity: key && message.cls === 'success' ? verifyIntegrity(message, key) : 'not-checked',
    elapsedMs: outcome.elapsedMs,
    sent: outcome.sent,
  };
}

/** What a session needs to sign requests after the challenge. */
interface Session {
  username: string;
  realm: string;
  nonce: string;
  key: Buffer;
}

function authAttributes(session: Session): Attribute[] {
  return [
    { type: Attr.USERNAME, value: Buffer.from(session.username, 'utf8') },
    { type: Attr.REALM, value: Buffer.from(session.realm, 'utf8') },
    { type: Attr.NONCE, value: Buffer.from(session.nonce, 'utf8') },
  ];
}

/** An authenticated request; a 438 Stale Nonce is retried once with the new nonce (RFC 8656 §6.4). */
async function signedRequest(
  channel: StunChannel,
  method: number,
  attributes: Attribute[] | ((transactionId: Buffer) => Attribute[]),
  session: Session,
  timeoutMs: number,
): Promise<{ exchange: Exchange; message?: StunMessage; staleNonceRetries: number }> {
  let retries = 0;
  for (;;) {
    const transactionId = newTransactionId();
    const own = typeof attributes === 'function' ? attributes(transactionId) : attributes;
    const request = encodeMessage(
      { method, cls: 'request', transactionId, attributes: [...own, ...authAttributes(session)] },
      { integrityKey: session.key, fingerprint: true },
    );
    const outcome = await channel.transact(request, deadlineAfter(timeoutMs));
    const exchange = exchangeOf(outcome, session.key);
    const message = outcome.ok ? outcome.message : undefined;
    const nonce = message && attributeText(message, Attr.NONCE);
    if (exchange.ok && exchange.error?.code === 438 && nonce && retries === 0) {
      session.nonce = nonce;
      retries++;
      continue;
    }
    return { exchange, message, staleNonceRetries: retries };
  }
}

interface Allocation {
  channel: StunChannel;
  session: Session;
  relayed: TransportAddress;
}

interface AllocateResult {
  challenge?: TurnProbeFacts['challenge'];
  allocate?: TurnProbeFacts['allocate'];
  allocation?: Allocation;
  /** The server allocated without asking for credentials (an open relay). */
  unauthenticated?: boolean;
}

/** Allocate: the unauthenticated request and its 401 challenge, then the signed request. */
async function allocate(channel: StunChannel, credentials: TurnCredentials | undefined, timeoutMs: number): Promise<AllocateResult> {
  const attributes = [{ type: Attr.REQUESTED_TRANSPORT, value: requestedTransport() }];
  const first = await channel.transact(
    encodeMessage({ method: Method.allocate, cls: 'request', transactionId: newTransactionId(), attributes }, { fingerprint: true }),
    deadlineAfter(timeoutMs),
  );
  const realm = first.ok ? attributeText(first.message, Attr.REALM) : undefined;
  const nonce = first.ok ? attributeText(first.message, Attr.NONCE) : undefined;
  const challenge = { ...exchangeOf(first), ...(realm !== undefined ? { realm } : {}), hasNonce: nonce !== undefined };
  if (first.ok && first.message.cls === 'success') {
    const relayed = decodeXorAddress(attribute(first.message, Attr.XOR_RELAYED_ADDRESS), first.message.transactionId);
    const session: Session = { username: '', realm: '', nonce: '', key: Buffer.alloc(0) };
    return { challenge, unauthenticated: true, ...(relayed ? { allocation: { channel, session, relayed } } : {}) };
  }
  if (!credentials || !challenge.ok || challenge.error?.code !== 401 || realm === undefined || nonce === undefined) return { challenge };
  const session: Session = {
    username: credentials.username,
    realm,
    nonce,
    key: longTermKey(credentials.username, realm, credentials.password),
  };
  const { exchange, message, staleNonceRetries } = await signedRequest(channel, Method.allocate, attributes, session, timeoutMs);
  const relayed =
    message?.cls === 'success' ? decodeXorAddress(attribute(message, Attr.XOR_RELAYED_ADDRESS), message.transactionId) : undefined;
  const mapped =
    message?.cls === 'success' ? decodeXorAddress(attribute(message, Attr.XOR_MAPPED_ADDRESS), message.transactionId) : undefined;
  const lifetime = message?.cls === 'success' ? decodeUint32(attribute(message, Attr.LIFETIME)) : undefined;
  const result: AllocateResult = {
    challenge,
    allocate: {
      ...exchange,
      staleNonceRetries,
      ...(relayed ? { relayed } : {}),
      ...(mapped ? { mapped } : {}),
      ...(lifetime !== undefined ? { lifetime } : {}),
    },
  };
  if (relayed) result.allocation = { channel, session, relayed };
  return result;
}

async function release(allocation: Allocation, timeoutMs: number): Promise<string | undefined> {
  if (allocation.session.key.length === 0) return undefined; // unauthenticated (open relay): nothing to sign with
  const { exchange } = await signedRequest(
    allocation.channel,
    Method.refresh,
    [{ type: Attr.LIFETIME, value: encodeUint32(0) }],
    allocation.session,
    timeoutMs,
  );
  if (exchange.ok && exchange.cls === 'success') return undefined;
  return exchange.ok ? `Refresh answered ${exchange.error?.code} ${exchange.error?.reason}` : exchange.message;
}

function channelTarget(target: TurnTarget, options: TurnProbeOptions) {
  const transport: TransportName = target.scheme === 'turns' ? 'tls' : target.transport;
  return {
    address: target.via?.address ?? target.address,
    port: target.via?.port ?? target.port,
    transport,
    servername: target.host,
    ...(target.via ? {} : { resolvedFrom: target.host }),
    ca: options.ca,
    timeoutMs: options.timeoutMs,
  };
}

export async function probeTurn(target: TurnTarget, options: TurnProbeOptions): Promise<TurnProbeFacts> {
  const started = performance.now();
  const allocations: Allocation[] = [];
  const channels: StunChannel[] = [];
  const facts: TurnProbeFacts = {
    target,
    connection: { ok: false, error: 'timeout', message: 'not tried', elapsedMs: 0 },
    release: { allocations: 0, released: 0, failures: [] },
    elapsedMs: 0,
  };
  const open = async () => {
    const opened = await openChannel(channelTarget(target, options));
    if (opened.ok) channels.push(opened.channel);
    return opened;
  };
  try {
    const opened = await open();
    facts.connection = opened.ok ? { ok: true, elapsedMs: opened.elapsedMs, ...(opened.tls ? { tls: opened.tls } : {}) } : opened;
    if (!opened.ok) return facts;
    const channel = opened.channel;

    const binding = await channel.transact(
      encodeMessage({ method: Method.binding, cls: 'request', transactionId: newTransactionId() }, { fingerprint: true }),
      deadlineAfter(options.timeoutMs),
    );
    const mapped = binding.ok
      ? decodeXorAddress(attribute(binding.message, Attr.XOR_MAPPED_ADDRESS), binding.message.transactionId)
      : undefined;
    const software = binding.ok ? attributeText(binding.message, Attr.SOFTWARE) : undefined;
    facts.binding = { ...exchangeOf(binding), ...(mapped ? { mapped } : {}), ...(software ? { software } : {}) };
    // A silent or closed port: nothing more to learn there.
    if (!binding.ok) return facts;

    const first = await allocate(channel, options.credentials, options.timeoutMs);
    if (first.challenge) facts.challenge = first.challenge;
    if (first.allocate) facts.allocate = first.allocate;
    if (first.allocation) allocations.push(first.allocation);
    if (first.unauthenticated) {
      facts.allocate = { ...first.challenge!, staleNonceRetries: 0, ...(first.allocation ? { relayed: first.allocation.relayed } : {}) };
    }

    const refused = facts.allocate?.ok && facts.allocate.error?.code === 401;
    if (refused && options.alternative) {
      const second = await open();
      if (second.ok) {
        const other = await allocate(second.channel, options.alternative.credentials, options.timeoutMs);
        if (other.allocation) allocations.push(other.allocation);
        const answer = other.allocate;
        facts.alternative = {
          label: options.alternative.label,
          accepted: Boolean(other.allocation),
          ...(answer?.ok && answer.error ? { code: answer.error.code } : {}),
          message: !answer
            ? 'no challenge to answer'
            : answer.ok
              ? answer.error
                ? `${answer.error.code} ${answer.error.reason}`
                : 'allocated'
              : answer.message,
        };
      } else {
        facts.alternative = { label: options.alternative.label, accepted: false, message: second.message };
      }
    }

    if (first.allocation && !first.unauthenticated && options.roundTrip) {
      facts.roundTrip = await roundTrip(first.allocation, open, options, allocations);
    }
    return facts;
  } finally {
    facts.release.allocations = allocations.length;
    const failures = await Promise.all(allocations.map((a) => release(a, options.timeoutMs)));
    facts.release.released = failures.filter((f) => f === undefined).length;
    facts.release.failures = failures.filter((f): f is string => f !== undefined);
    channels.forEach((c) => c.close());
    facts.elapsedMs = Math.round(performance.now() - started);
  }
}

/**
 * A second allocation B next to A; each permits the other's relayed address; data sent
 * through A arrives at B and data sent back through B arrives at A.
 */
async function roundTrip(
  a: Allocation,
  open: () => ReturnType<typeof openChannel>,
  options: TurnProbeOptions,
  allocations: Allocation[],
): Promise<RoundTripFact> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  if (!options.relayPeers.includes(a.relayed.address)) {
    return {
      attempted: false,
      reason: `the relayed address ${a.relayed.address} is not an address of the server, so no data is sent to it`,
    };
  }
  const opened = await open();
  if (!opened.ok) return { attempted: true, ok: false, step: 'second connection', message: opened.message, elapsedMs: elapsed() };
  const second = await allocate(opened.channel, options.credentials, options.timeoutMs);
  if (!second.allocation) {
    const answer = second.allocate ?? second.challenge;
    const message = !answer
      ? 'no answer'
      : !answer.ok
        ? answer.message
        : answer.error
          ? `refused: ${answer.error.code} ${answer.error.reason}`
          : 'no relayed address in the answer';
    return {
      attempted: true,
      ok: false,
      step: 'second allocation',
      message,
      elapsedMs: elapsed(),
      ...(answer ? { exchange: answer } : {}),
    };
  }
  const b = second.allocation;
  allocations.push(b);
  if (!options.relayPeers.includes(b.relayed.address)) {
    return {
      attempted: false,
      reason: `the relayed address ${b.relayed.address} is not an address of the server, so no data is sent to it`,
    };
  }
  for (const [from, to, label] of [
    [a, b, 'A'],
    [b, a, 'B'],
  ] as const) {
    const permitted = await signedRequest(
      from.channel,
      Method.createPermission,
      (transactionId) => [{ type: Attr.XOR_PEER_ADDRESS, value: encodeXorAddress(to.relayed, transactionId) }],
      from.session,
      options.timeoutMs,
    );
    if (!permitted.exchange.ok || permitted.exchange.cls !== 'success') {
      const e = permitted.exchange;
      const message = e.ok ? `CreatePermission on ${label} answered ${e.error?.code} ${e.error?.reason}` : e.message;
      return { attempted: true, ok: false, step: 'CreatePermission', message, elapsedMs: elapsed(), exchange: e };
    }
  }
  // XOR-PEER-ADDRESS is XORed with the transaction id of the message that carries it.
  for (const [from, to, direction] of [
    [a, b, 'A to B'],
    [b, a, 'B to A'],
  ] as const) {
    const payload = randomBytes(32);
    const transactionId = newTransactionId();
    from.channel.indicate(
      encodeMessage(
        {
          method: Method.send,
          cls: 'indication',
          transactionId,
          attributes: [
            { type: Attr.XOR_PEER_ADDRESS, value: encodeXorAddress(to.relayed, transactionId) },
            { type: Attr.DATA, value: payload },
          ],
        },
        { fingerprint: true },
      ),
    );
    const arrived = await to.channel.nextIndication(
      (m) => m.method === Method.data && attribute(m, Attr.DATA)?.equals(payload) === true,
      deadlineAfter(options.timeoutMs),
    );
    if (!arrived) {
      return {
        attempted: true,
        ok: false,
        step: `data ${direction}`,
        message: `data sent ${direction} through the relay did not arrive within ${options.timeoutMs} ms`,
        elapsedMs: elapsed(),
      };
    }
  }
  return { attempted: true, ok: true, elapsedMs: elapsed(), bytes: 64, relayedA: a.relayed, relayedB: b.relayed };
}
