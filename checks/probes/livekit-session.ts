// One LiveKit participant, as Element Call's livekit-client is one: the signalling WebSocket
// (wss://…/rtc?access_token=…, LiveKit's protocol in protobuf, decoded with @livekit/protocol),
// the join response, then a real WebRTC peer (werift) publishing a data channel: offer, answer,
// trickled candidates, ICE and DTLS with LiveKit over one transport (UDP or TCP), the first
// SCTP message through DTLS, and the leave. Every wait is bounded; a fault is a fact. The
// LiveKit token goes only into the WebSocket request and never into a fact.
import net from 'node:net';
import tls from 'node:tls';
import { LeaveRequest, SessionDescription, SignalRequest, SignalResponse, SignalTarget } from '@livekit/protocol';
import { RTCPeerConnection } from 'werift';
import WebSocket from 'ws';
import { type ConnectTo, routeFor } from '../core/net.ts';
import { addressScope } from '../facts/turn-config.ts';
import { unreachableNameRefusal } from './run-cache.ts';
import { type CandidateFact, type MediaFact, parseCandidate, type SessionFact, type SignalFact } from '../facts/rtc.ts';
import { withheldMessage } from '../facts/http.ts';
import { credentialFor, websocketWithCredential } from './credentialed.ts';
import { trustContext } from './trust.ts';

export interface SessionInput {
  /** The `url` the JWT service answered (wss://…). */
  livekitUrl: string;
  /** Secret: the LiveKit token. */
  jwt: string;
  token: SessionFact['token'];
  transport: 'udp' | 'tcp';
  /** The address the LiveKit host resolved to (or its route). */
  address?: string;
  timeoutMs: number;
  ca?: string;
  connectTo?: readonly ConnectTo[];
}

/** livekit-client's query (protocol 16 as livekit-client 2.x sends it). */
const CLIENT_QUERY = 'auto_subscribe=1&sdk=js&version=2.15.0&protocol=16&adaptive_stream=1';

function rtcUrl(livekitUrl: string): URL {
  const url = new URL(livekitUrl);
  if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol === 'http:') url.protocol = 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/rtc`;
  url.search = '';
  return url;
}

/** A wait that ends at `ms` with undefined. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(1, ms));
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function runSession(input: SessionInput): Promise<SessionFact> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const base = rtcUrl(input.livekitUrl);
  const secure = base.protocol === 'wss:';
  const host = base.hostname.replace(/^\[|\]$/g, '');
  const port = Number(base.port || (secure ? 443 : 80));
  const route = routeFor(input.connectTo, host, port);
  const address = route?.address ?? input.address;
  const signal: SignalFact = { url: base.href, ...(address ? { address } : {}), elapsedMs: 0 };
  const session: SessionFact = { transport: input.transport, token: input.token, signal };
  if (!address) {
    signal.failure = `${host} does not resolve`;
    return session;
  }
  const unreachable = route ? undefined : unreachableNameRefusal(host, address, port);
  if (unreachable) {
    signal.failure = `not connected: ${unreachable}`;
    return session;
  }

  // The token in the query, as livekit-client sends it, to the LiveKit the JWT service named with it.
  const withQuery = new URL(base.href);
  withQuery.search = CLIENT_QUERY;
  const credential = credentialFor('LiveKit token', input.jwt, base.href, 'the JWT service that issued it');
  const signed = websocketWithCredential(withQuery.href, credential, 'access_token', address);
  if ('withheld' in signed) {
    signal.failure = withheldMessage({ ...signed.withheld, url: base.href });
    signal.withheld = { ...signed.withheld, url: base.href };
    return session;
  }
  const full = new URL(signed.url);
  const connect = (options: tls.ConnectionOptions & net.NetConnectOpts) =>
    secure
      ? tls.connect({
          ...options,
          host: address,
          port: route?.toPort ?? port,
          servername: net.isIP(host) ? undefined : host,
          secureContext: trustContext(input.ca),
        })
      : net.connect({ ...options, host: address, port: route?.toPort ?? port } as net.NetConnectOpts);
  const ws = new WebSocket(full.href, {
    createConnection: connect as never,
    handshakeTimeout: input.timeoutMs,
    headers: { origin: 'https://call.element.io' },
    perMessageDeflate: false,
  });
  ws.binaryType = 'nodebuffer';
  const messages: SignalResponse[] = [];
  let onMessage: ((message: SignalResponse) => void) | undefined;
  ws.on('message', (data: Buffer) => {
    try {
      const message = SignalResponse.fromBinary(new Uint8Array(data));
      messages.push(message);
      onMessage?.(message);
    } catch {
      // not LiveKit's protocol: ignored, the join will not come
    }
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  const opened = new Promise<void>((resolve) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => {
      signal.status = res.statusCode;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        signal.reason = body.trim().slice(0, 300);
        resolve();
      });
      res.on('error', () => resolve());
    });
    ws.once('error', (error: Error & { code?: string }) => {
      const code = error.code ?? '';
      if (/CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS/.test(code)) signal.tlsError = code;
      // The token is in the request URL: never let it into a message.
      signal.failure ??=
        code === 'ECONNREFUSED' ? 'connection refused: nothing listens on that port' : error.message.split(input.jwt).join('…');
      resolve();
    });
  });
  const stop = async () => {
    ws.removeAllListeners('error');
    ws.on('error', () => {});
    if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.terminate();
  };

  const openedInTime = await within(
    opened.then(() => true),
    input.timeoutMs,
  );
  if (!openedInTime) signal.failure ??= `no answer within ${input.timeoutMs} ms`;
  if (ws.readyState !== WebSocket.OPEN) {
    signal.elapsedMs = elapsed();
    await stop();
    return session;
  }
  const firstMessage = (predicate: (m: SignalResponse) => boolean) =>
    new Promise<SignalResponse>((resolve) => {
      const seen = messages.find(predicate);
      if (seen) return resolve(seen);
      const previous = onMessage;
      onMessage = (m) => {
        previous?.(m);
        if (predicate(m)) resolve(m);
      };
    });
  const join = await within(
    firstMessage((m) => m.message.case === 'join' || m.message.case === 'leave'),
    input.timeoutMs,
  );
  signal.elapsedMs = elapsed();
  if (join?.message.case !== 'join') {
    signal.noJoin =
      join?.message.case === 'leave'
        ? `LiveKit sent a leave instead (reason ${join.message.value.reason})`
        : `no join response within ${input.timeoutMs} ms`;
    await stop();
    return session;
  }
  const value = join.message.value;
  signal.join = {
    serverVersion: value.serverVersion,
    ...(value.serverRegion ? { serverRegion: value.serverRegion } : {}),
    protocol: value.serverInfo?.protocol ?? 0,
    room: value.room?.name ?? '',
    identity: value.participant?.identity ?? '',
    subscriberPrimary: value.subscriberPrimary,
    iceServers: value.iceServers.map((s) => ({ urls: [...s.urls], credential: Boolean(s.username || s.credential) })),
  };

  session.media = await media(input, ws, firstMessage, (handler) => {
    const previous = onMessage;
    onMessage = (m) => {
      previous?.(m);
      handler(m);
    };
  });

  // Clean-up: leave as livekit-client does (LeaveRequest), then wait for LiveKit to close.
  const leaveStarted = performance.now();
  let leaveSent = false;
  if (ws.readyState === WebSocket.OPEN) {
    ws.send(new SignalRequest({ message: { case: 'leave', value: new LeaveRequest({ canReconnect: false }) } }).toBinary());
    leaveSent = true;
  }
  const closedInTime = await within(
    closed.then(() => true),
    Math.min(input.timeoutMs, 2000),
  );
  session.cleanup = { leaveSent, closed: Boolean(closedInTime), elapsedMs: Math.round(performance.now() - leaveStarted) };
  await stop();
  return session;
}

type Wait = (predicate: (m: SignalResponse) => boolean) => Promise<SignalResponse>;

/** The publisher peer connection over one transport, up to the data channel's first message. */
async function media(
  input: SessionInput,
  ws: WebSocket,
  firstMessage: Wait,
  subscribe: (handler: (m: SignalResponse) => void) => void,
): Promise<MediaFact> {
  const fact: MediaFact = { transport: input.transport, candidates: [], state: 'not-started' };
  const started = performance.now();
  const at = () => Math.round(performance.now() - started);
  const send = (request: SignalRequest) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(request.toBinary());
  };
  const offered: CandidateFact[] = [];
  let addToPeer: ((candidate: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }) => void) | undefined;
  const pending: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }[] = [];

  /** Whether to offer a LiveKit candidate to the peer; routed ones are rewritten. */
  const consider = (init: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }) => {
    const parsed = parseCandidate(init.candidate);
    if (!parsed) return;
    const candidate: CandidateFact = { ...parsed, tried: false };
    fact.candidates.push(candidate);
    if (candidate.transport !== input.transport) {
      candidate.why = `${candidate.transport.toUpperCase()}: tested in the other session`;
      return;
    }
    const route = routeFor(input.connectTo, candidate.address, candidate.port);
    const scope = addressScope(candidate.address);
    if (route) {
      candidate.routedTo = `${route.address}:${route.toPort}`;
    } else if (scope !== 'public' && candidate.address !== input.address) {
      // A private or loopback address other than the server's: a client elsewhere cannot reach
      // it, and this check does not send packets into networks it was not pointed at.
      candidate.why = `${scope} address, not the server's (${input.address ?? 'unresolved'})`;
      return;
    }
    candidate.tried = true;
    offered.push(candidate);
    const text = route
      ? init.candidate.replace(` ${candidate.address} ${candidate.port} `, ` ${route.address} ${route.toPort} `)
      : init.candidate;
    const rewritten = { ...init, candidate: text };
    if (addToPeer) addToPeer(rewritten);
    else pending.push(rewritten);
  };

  subscribe((m) => {
    if (m.message.case !== 'trickle' || m.message.value.target !== SignalTarget.PUBLISHER) return;
    try {
      const init = JSON.parse(m.message.value.candidateInit) as { candidate?: string; sdpMid?: string; sdpMLineIndex?: number };
      if (init.candidate) consider({ ...init, candidate: init.candidate });
    } catch {
      // a malformed trickle is ignored, as livekit-client does
    }
  });

  const peer = new RTCPeerConnection({
    iceUseIpv6: false,
    iceUseTcp: input.transport === 'tcp',
    iceTcpPassive: false,
    // Candidate pairs of the transport under test only.
    iceFilterCandidatePair: (pair) => pair.remoteCandidate.transport.toLowerCase() === input.transport,
    // LiveKit on a loopback address (a test on the server itself, or a lab): send from loopback.
    ...(input.address && addressScope(input.address) === 'loopback' ? { iceInterfaceAddresses: { udp4: '127.0.0.1' } } : {}),
  });
  const closePeer = () => peer.close().catch(() => {});
  try {
    // The peer offers no candidates of its own: it sends the connectivity checks (it is the
    // controlling agent), and LiveKit answers where they came from (peer-reflexive). So nothing
    // is sent towards this machine's other addresses, and a firewall in front of LiveKit is
    // what the result shows.
    const iceConnected = new Promise<void>((resolve) =>
      peer.iceConnectionStateChange.subscribe((state) => {
        if (state === 'connected' || state === 'completed') resolve();
      }),
    );
    const connection = new Promise<'connected' | 'failed'>((resolve) =>
      peer.connectionStateChange.subscribe((state) => {
        if (state === 'connected') resolve('connected');
        if (state === 'failed') resolve('failed');
      }),
    );
    void iceConnected.then(() => (fact.iceMs ??= at()));
    void connection.then((state) => {
      if (state === 'connected') fact.dtlsMs ??= at();
    });
    const channel = peer.createDataChannel('_reliable', { ordered: true });
    const open = new Promise<void>((resolve) => channel.stateChanged.subscribe((state) => state === 'open' && resolve()));
    void open.then(() => (fact.firstPacketMs ??= at()));
    const offer = await peer.createOffer();
    await peer.setLocalDescription(offer);
    const offerSdp = peer
      .localDescription!.sdp.split(/\r?\n/)
      .filter((line) => !line.startsWith('a=candidate:'))
      .join('\r\n');
    send(new SignalRequest({ message: { case: 'offer', value: new SessionDescription({ type: 'offer', sdp: offerSdp }) } }));
    fact.state = 'timeout';
    const answer = await within(
      firstMessage((m) => m.message.case === 'answer'),
      input.timeoutMs,
    );
    if (answer?.message.case !== 'answer') {
      fact.failure = `LiveKit sent no answer to the offer within ${input.timeoutMs} ms`;
      return fact;
    }
    // Candidates inside the answer's SDP count as trickled ones; the SDP goes in without them.
    const lines = answer.message.value.sdp.split(/\r?\n/);
    for (const line of lines.filter((l) => l.startsWith('a=candidate:'))) consider({ candidate: line.slice(2), sdpMLineIndex: 0 });
    const sdp = lines.filter((l) => !l.startsWith('a=candidate:')).join('\r\n');
    await peer.setRemoteDescription({ type: 'answer', sdp });
    addToPeer = (candidate) => {
      peer.addIceCandidate(candidate).catch(() => {});
    };
    for (const candidate of pending.splice(0)) addToPeer(candidate);
    const outcome = await within(
      Promise.all([connection, open]).then(([state]) => state),
      input.timeoutMs,
    );
    if (outcome === 'connected') {
      fact.state = 'connected';
      const pair = peer.iceTransports[0]?.connection.nominated;
      if (pair) {
        fact.selected = {
          address: pair.remoteCandidate.host,
          port: pair.remoteCandidate.port,
          transport: pair.remoteCandidate.transport.toLowerCase(),
        };
      }
    } else if (offered.length === 0) {
      fact.state = 'no-candidates';
    } else {
      fact.state = outcome === 'failed' ? 'failed' : 'timeout';
      fact.failure =
        outcome === 'failed'
          ? 'ICE failed: no connectivity check was answered'
          : fact.iceMs !== undefined
            ? `ICE connected but DTLS or the data channel did not complete within ${input.timeoutMs} ms`
            : `no connectivity check was answered within ${input.timeoutMs} ms`;
    }
    return fact;
  } catch (error) {
    fact.state = 'failed';
    fact.failure = (error as Error).message;
    return fact;
  } finally {
    await closePeer();
  }
}
