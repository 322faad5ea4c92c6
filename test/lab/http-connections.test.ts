// Within a run (doctor), requests to one endpoint share one TLS connection: one handshake per
// address, port and name, its facts on every response. Outside a run each request connects on
// its own. A real TLS server (Node's, with lab certificates from openssl) counts handshakes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import https from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createLabPki, issueCertificate } from '../../lab/certs.ts';
import { LAB_DIR } from '../../lab/provision.ts';
import { httpRequest, type HttpOutcome } from '../../checks/probes/http.ts';
import { withRunCache } from '../../checks/probes/run-cache.ts';

const NAMES = ['a.connections.test', 'b.connections.test'];
let dir: string;
let ca: string;
let server: https.Server;
let port: number;
let handshakes: string[] = [];
/** Paths answered with Connection: close, so that the next request must connect again. */
const CLOSING = '/close';

beforeAll(async () => {
  dir = mkdtempSync(join(LAB_DIR, 'connections-'));
  const pki = createLabPki(join(dir, 'pki'));
  ca = readFileSync(pki.caFile, 'utf8');
  const cert = issueCertificate(pki, 'connections', NAMES);
  server = https.createServer({ key: readFileSync(cert.key), cert: readFileSync(cert.fullchain) }, (request, response) => {
    const closing = request.url?.startsWith(CLOSING) ?? false;
    response.writeHead(200, { 'content-type': 'application/json', ...(closing ? { connection: 'close' } : {}) });
    response.end(JSON.stringify({ path: request.url, host: request.headers.host }));
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

const get = (name: string, path: string) => httpRequest(`https://${name}:${port}${path}`, { address: '127.0.0.1', timeoutMs: 3000, ca });

function expectAnswered(outcome: HttpOutcome, path: string) {
  expect(outcome).toMatchObject({ ok: true, status: 200 });
  if (!outcome.ok) return;
  expect(JSON.parse(outcome.body)).toMatchObject({ path });
  expect(outcome.tls).toMatchObject({ authorized: true });
  expect(outcome.tls?.chain[0]?.sans).toContain(`DNS:${new URL(outcome.url).hostname}`);
}

describe('connections within a run', () => {
  it('one handshake per endpoint, whether its requests come at once or one after another', async () => {
    handshakes = [];
    const { result } = await withRunCache(async () => {
      const atOnce = await Promise.all(['/1', '/2', '/3'].map((path) => get(NAMES[0], path)));
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
      Promise.all(['/1', '/2'].map((path) => httpRequest(`https://${NAMES[0]}:${unused}${path}`, { address: '127.0.0.1', timeoutMs: 3000, ca }))),
    );
    for (const outcome of result) expect(outcome).toMatchObject({ ok: false, phase: 'tcp', error: 'refused' });
  });
});
