// A server that records everything it is sent: the lab's attacker, or a homeserver whose traffic a
// test inspects. HTTPS with the certificate a scenario gives (self-signed, for another name, …)
// on a loopback address; it counts TCP connections as they arrive, before any TLS, and keeps
// every request's method, URL, headers and body, so a test can assert what a secret never reached.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface RecordingServer {
  address: string;
  port: number;
  /** TCP connections accepted, whether or not TLS completed. */
  connections(): number;
  requests(): RecordedRequest[];
  /** Everything received, as one text to search for a secret. */
  received(): string;
  close(): Promise<void>;
}

export type Respond = (request: RecordedRequest, response: ServerResponse) => void;

/** Answers every request 200 with what a homeserver's unauthenticated reads hold (/versions, server_version, a nonce). */
export const ANSWER_ALL: Respond = (_request, response) => {
  const body = { versions: ['v1.11'], server_version: '1.163.2', nonce: 'recording-server-nonce' };
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

export async function startRecordingServer(options: {
  address: string;
  port?: number;
  cert: string;
  key: string;
  respond?: Respond;
}): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  let connections = 0;
  const sockets = new Set<Socket>();
  const respond = options.respond ?? ANSWER_ALL;
  const server = createServer({ cert: options.cert, key: options.key }, (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const recorded = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString(),
      };
      requests.push(recorded);
      respond(recorded, response);
    });
  });
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // A client that refuses the certificate ends the handshake: not the server's failure.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.address, resolve);
  });
  return {
    address: options.address,
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    requests: () => [...requests],
    received: () => JSON.stringify(requests),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
