// Within a run (doctor), requests to one endpoint share one TLS connection: one handshake per
// address, port and name, its facts on every response. A request never waits long behind a
// stuck one, and a kept-alive connection the server drops is not a failure. Outside a run each
// request connects on its own. A real TLS server (Node's, with lab certificates from openssl)
// counts handshakes and hands out two certificates in turn, so each answer's TLS facts can be
// matched to the connection that carried it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import https from 'node:https';
import tls from 'node:tls';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createLabPki, issueCertificate } from './servers/certs.ts';
import { LAB_DIR } from './servers/provision.ts';
import { httpRequest } from '../../checks/probes/http.ts';
import type { HttpOutcome } from '../../checks/facts/http.ts';
import { withRunCache } from '../../checks/probes/run-cache.ts';

const NAMES = ['a.connections.test', 'b.connections.test'];
let dir: string;
let ca: string;
let server: https.Server;
let port: number;
let handshakes: string[] = [];
/** Paths answered with Connection: close, so that the next request must connect again. */
const CLOSING = '/close';
/** Paths that are never answered. */
const HANGING = '/hang';
/** Answered, then the connection is dropped when the next request arrives on it (no Connection: close). */
const DROPPING = '/drop';
/** Headers and part of the body, then the connection is cut. */
const CUT = '/cut';
const served = new WeakSet<object>();

beforeAll(async () => {
  dir = mkdtempSync(join(LAB_DIR, 'connections-'));
  const pki = createLabPki(join(dir, 'pki'));
  ca = readFileSync(pki.caFile, 'utf8');
  // Two certificates for the same names, handed out in turn: each connection shows which it got.
  const contexts = ['first', 'second'].map((prefix) => {
    const cert = issueCertificate(pki, prefix, NAMES);
    return tls.createSecureContext({ key: readFileSync(cert.key), cert: readFileSync(cert.fullchain) });
  });
  let handshake = 0;
  server = https.createServer({ SNICallback: (_name, done) => done(null, contexts[handshake++ % 2]) }, (request, response) => {
    const url = request.url ?? '/';
    const socket = request.socket as tls.TLSSocket;
    if (url.startsWith(HANGING)) return;
    if (url.startsWith(DROPPING) && served.has(socket)) return void socket.destroy();
    if (url.startsWith(DROPPING)) served.add(socket);
    if (url.startsWith(CUT)) {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      response.write('{"partial": ');
      return void setTimeout(() => socket.destroy(), 20);
    }
    response.writeHead(200, { 'content-type': 'application/json', ...(url.startsWith(CLOSING) ? { connection: 'close' } : {}) });
    response.end(
      JSON.stringify({
        path: url,
        host: request.headers.host,
        certificate: (socket.getCertificate() as tls.PeerCertificate).fingerprint256,
      }),
    );
  });
  server.on('secureConnection', (socket) => handshakes.push((socket as unknown as { servername: string }).servername));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const get = (name: string, path: string, timeoutMs = 3000) =>
  httpRequest(`https://${name}:${port}${path}`, { address: '127.0.0.1', timeoutMs, ca });

function expectAnswered(outcome: HttpOutcome, path: string) {
  expect(outcome).toMatchObject({ ok: true, status: 200 });
  if (!outcome.ok) return;
  const body = JSON.parse(outcome.body) as { path: string; certificate: string };
  expect(body.path).toBe(path);
  expect(outcome.tls).toMatchObject({ authorized: true });
  expect(outcome.tls?.chain[0]?.sans).toContain(`DNS:${new URL(outcome.url).hostname}`);
  // The TLS facts are those of the connection that carried this answer.
  expect(outcome.tls?.chain[0]?.fingerprint256).toBe(body.certificate);
}

describe('connections within a run', () => {
  it('one handshake per endpoint, whether its requests come at once or one after another', async () => {
    // The requests that wait for the first connection wait a quarter of their timeout (at most 1 s):
    // the one-off costs of a first request (the CA, undici's first connection) are paid before.
    expectAnswered(await get(NAMES[1], '/0'), '/0');
    handshakes = [];
    const { result } = await withRunCache(async () => {
      const atOnce = await Promise.all(['/1', '/2', '/3'].map((path) => get(NAMES[0], path, 4000)));
      const later = await get(NAMES[0], '/4');
      const otherName = await get(NAMES[1], '/5');
      return [...atOnce, later, otherName];
    });
    result.forEach((outcome, i) => expectAnswered(outcome, `/${i + 1}`));
    expect(handshakes).toEqual([NAMES[0], NAMES[1]]);
  });

  it('connects again when the server closes the connection, each answer with its handshake', async () => {
    handshakes = [];
    const { result } = await withRunCache(() => Promise.all([`${CLOSING}/1`, `${CLOSING}/2`].map((path) => get(NAMES[0], path))));
    expectAnswered(result[0], `${CLOSING}/1`);
    expectAnswered(result[1], `${CLOSING}/2`);
    expect(handshakes).toEqual([NAMES[0], NAMES[0]]);
  });

  it('a request does not wait behind one that hangs: it gets a connection of its own and its answer', async () => {
    handshakes = [];
    const { result } = await withRunCache(() => Promise.all([get(NAMES[0], `${HANGING}/1`, 2000), get(NAMES[0], '/1', 2000)]));
    const [hung, answered] = result;
    expect(hung).toMatchObject({ ok: false, error: 'timeout', phase: 'http' });
    expectAnswered(answered, '/1');
    expect(answered.elapsedMs).toBeLessThan(hung.elapsedMs);
    expect(handshakes).toEqual([NAMES[0], NAMES[0]]);
  });

  it('sends a request again on a new connection when the server dropped the kept-alive one as it went out', async () => {
    handshakes = [];
    const { result } = await withRunCache(async () => [await get(NAMES[0], `${DROPPING}/1`), await get(NAMES[0], `${DROPPING}/2`)]);
    expectAnswered(result[0], `${DROPPING}/1`);
    expectAnswered(result[1], `${DROPPING}/2`);
    expect(handshakes).toEqual([NAMES[0], NAMES[0]]);
  });

  it('a connection cut in the middle of the body is a reset in the HTTP exchange, with its TLS facts', async () => {
    const { result } = await withRunCache(() => get(NAMES[0], `${CUT}/1`));
    expect(result).toMatchObject({ ok: false, phase: 'http', error: 'reset' });
    expect(result.tls).toMatchObject({ authorized: true });
  });

  it('outside a run, every request connects on its own', async () => {
    handshakes = [];
    const outcomes = await Promise.all(['/1', '/2'].map((path) => get(NAMES[0], path)));
    outcomes.forEach((outcome, i) => expectAnswered(outcome, `/${i + 1}`));
    expect(handshakes).toEqual([NAMES[0], NAMES[0]]);
  });

  it('an endpoint that refuses fails each of its requests at the TCP connect, and the run still ends', async () => {
    const closed = https.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const unused = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const { result } = await withRunCache(() =>
      Promise.all(
        ['/1', '/2'].map((path) => httpRequest(`https://${NAMES[0]}:${unused}${path}`, { address: '127.0.0.1', timeoutMs: 3000, ca })),
      ),
    );
    for (const outcome of result) expect(outcome).toMatchObject({ ok: false, phase: 'tcp', error: 'refused' });
  });
});
