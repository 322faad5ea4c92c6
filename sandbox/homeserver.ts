// The sandbox's homeserver: one in-process HTTPS server on loopback that answers for the base
// domain (well-known files) and the Matrix host (client versions, federation version, a key
// server signing with ed25519), with the bundled sandbox certificate. `broken` serves the
// mistakes people make: a client file copied without CORS and as text/plain, keys of another name.
import { createServer, type Server } from 'node:https';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { canonicalJson } from '../checks/core/canonical-json.ts';
import type { Plan } from '../checks/plan/types.ts';

const PKI = new URL('./pki/', import.meta.url);
export const SANDBOX_CA = readFileSync(new URL('ca.crt', PKI), 'utf8');
/** The sandbox's certificate, for sandbox.test, matrix.sandbox.test and element.sandbox.test. */
export const SANDBOX_TLS = { key: readFileSync(new URL('server.key', PKI)), cert: readFileSync(new URL('server.crt', PKI)) };

export interface SandboxHomeserver {
  port: number;
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export async function startSandboxHomeserver(plan: Plan, broken: boolean): Promise<SandboxHomeserver> {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const keyId = 'ed25519:sandbox';
  const wellKnownHeaders = { 'content-type': 'application/json', 'access-control-allow-origin': '*' };
  const route = (host: string, path: string): Reply => {
    if (path === '/.well-known/matrix/server' && plan.wellKnown.server)
      return { status: 200, body: plan.wellKnown.server, headers: wellKnownHeaders };
    if (path === '/.well-known/matrix/client') {
      // A copy made by hand on the base domain: no CORS header, and served as text.
      if (broken && host === plan.serverName)
        return { status: 200, body: plan.wellKnown.client, headers: { 'content-type': 'text/plain' } };
      return { status: 200, body: plan.wellKnown.client, headers: wellKnownHeaders };
    }
    if (host !== plan.matrixHost) return { status: 404, body: { errcode: 'M_NOT_FOUND', error: 'Not found' } };
    if (path === '/_matrix/client/versions')
      return { status: 200, body: { versions: ['v1.11', 'v1.12'] }, headers: { 'access-control-allow-origin': '*' } };
    if (path === '/_matrix/federation/v1/version') return { status: 200, body: { server: { name: 'Sandbox', version: '1.0' } } };
    if (path === '/_matrix/key/v2/server')
      return { status: 200, body: signedKeys(broken ? plan.matrixHost : plan.serverName, keyId, publicKey, privateKey) };
    // As Synapse answers the toolkit's unsigned federation requests: the transaction's malformed
    // X-Matrix header, and media asked without one.
    if (path.startsWith('/_matrix/federation/v1/send/'))
      return { status: 400, body: { errcode: 'M_UNAUTHORIZED', error: 'Malformed Authorization header' } };
    if (path.startsWith('/_matrix/federation/v1/media/'))
      return { status: 401, body: { errcode: 'M_UNAUTHORIZED', error: 'Missing Authorization headers' } };
    return { status: 404, body: { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' } };
  };
  const server = createServer(SANDBOX_TLS, (request: IncomingMessage, response: ServerResponse) => {
    const host = (request.headers.host ?? '').replace(/:\d+$/, '');
    const reply = route(host, new URL(request.url ?? '/', 'https://sandbox').pathname);
    // The whole body is read first, as Synapse does, so that an upload is never cut off.
    request.resume();
    request.on('end', () => {
      response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      response.end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => closeServer(server) };
}

/** A key document as a homeserver serves it: signed over its canonical JSON (spec appendix, signing JSON). */
function signedKeys(serverName: string, keyId: string, publicKey: KeyObject, privateKey: KeyObject): Record<string, unknown> {
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const document = {
    server_name: serverName,
    valid_until_ts: Date.now() + 24 * 3600 * 1000,
    verify_keys: { [keyId]: { key: raw.toString('base64').replace(/=+$/, '') } },
    old_verify_keys: {},
  };
  const signature = sign(null, Buffer.from(canonicalJson(document)), privateKey)
    .toString('base64')
    .replace(/=+$/, '');
  return { ...document, signatures: { [serverName]: { [keyId]: signature } } };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
