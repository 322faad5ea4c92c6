// A LAB STAND-IN for the LiveKit JWT service (element-hq/lk-jwt-service, the "MatrixRTC
// Authorization Service"): it is not on any registry the lab reaches, so the team wrote this
// one, following the documented API of lk-jwt-service v0.5.0 (tag v0.5.0, 2026-06-01, main.go):
//
// - POST /sfu/get (legacy: {room, openid_token, device_id}; the newer body is accepted too) and
//   POST /get_token ({room_id, slot_id, openid_token, member: {id, claimed_user_id,
//   claimed_device_id}}); unknown fields are refused (M_BAD_JSON / M_NOT_JSON as upstream);
// - CORS on both: Access-Control-Allow-Origin *, -Methods POST, -Headers "Accept, Content-Type,
//   Content-Length, Accept-Encoding, X-CSRF-Token"; OPTIONS → 200; other methods → 405;
// - the OpenID token is validated as gomatrixserverlib's LookupUserInfo does: server discovery of
//   openid_token.matrix_server_name (/.well-known/matrix/server, SRV _matrix-fed._tcp, port
//   8448), then GET /_matrix/federation/v1/openid/userinfo?access_token=… there. A failed lookup
//   is 500 M_LOOKUP_FAILED on /sfu/get and 401 M_UNAUTHORIZED on /get_token, as upstream;
// - the LiveKit room is unpadded base64 of SHA-256 of JSON [room, "m.call#ROOM"] (/sfu/get) or
//   [room_id, slot_id]; the identity "<user>:<device_id>" (/sfu/get) or base64 SHA-256 of
//   [user, claimed_device_id, member.id]; the token (livekit-server-sdk) grants roomJoin,
//   canPublish, canSubscribe for that room, valid one hour;
// - for users of LIVEKIT_FULL_ACCESS_HOMESERVERS it creates the room first (RoomService
//   CreateRoom, empty_timeout 300 s, departure_timeout 20 s); a failure is 500 M_UNKNOWN
//   "Unable to create room on SFU".
// Deviation: upstream reaches LiveKit's RoomService through LIVEKIT_URL (the public wss URL); the
// stand-in takes the API URL apart (roomServiceUrl), so that it needs no lab CA for it. It never
// logs a token.
import { createHash } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { AccessToken, RoomServiceClient } from 'livekit-server-sdk';

export const LK_JWT_SERVICE_VERSION = 'v0.5.0';

export interface JwtServiceOptions {
  address: string;
  port?: number;
  /** LIVEKIT_URL: what clients are told (wss://…). */
  livekitUrl: string;
  /** LiveKit's HTTP API, for CreateRoom (see the deviation above). */
  roomServiceUrl: string;
  key: string;
  secret: string;
  /** LIVEKIT_FULL_ACCESS_HOMESERVERS */
  fullAccessHomeservers: string[];
  /** DNS server for server discovery ("ip:port"). */
  resolver: string;
  /** Extra trusted CA (PEM) for the homeserver's federation API. */
  ca?: string;
  /** Per outgoing request. */
  timeoutMs?: number;
}

export interface RunningJwtService {
  url: string;
  port: number;
  /** What it did, without secrets: one line per request. */
  log: string[];
  stop(): Promise<void>;
}

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'POST',
  'Access-Control-Allow-Headers': 'Accept, Content-Type, Content-Length, Accept-Encoding, X-CSRF-Token',
};

class MatrixError extends Error {
  readonly status: number;
  readonly errcode: string;
  constructor(status: number, errcode: string, message: string) {
    super(message);
    this.status = status;
    this.errcode = errcode;
  }
}

const unpadded = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');
const hashOf = (parts: string[]) => unpadded(createHash('sha256').update(JSON.stringify(parts)).digest());

function onlyKeys(body: Record<string, unknown>, allowed: string[]): boolean {
  return Object.keys(body).every((key) => allowed.includes(key));
}

interface OpenIdToken {
  access_token: string;
  matrix_server_name: string;
}

function openIdOf(value: unknown): OpenIdToken | undefined {
  const token = value as Record<string, unknown> | undefined;
  if (!token || typeof token !== 'object') return undefined;
  if (!onlyKeys(token, ['access_token', 'token_type', 'matrix_server_name', 'expires_in'])) return undefined;
  return { access_token: String(token.access_token ?? ''), matrix_server_name: String(token.matrix_server_name ?? '') };
}

export async function startJwtService(options: JwtServiceOptions): Promise<RunningJwtService> {
  const log: string[] = [];
  const resolver = new Resolver({ timeout: options.timeoutMs ?? 5000, tries: 1 });
  resolver.setServers([options.resolver]);
  const timeoutMs = options.timeoutMs ?? 10_000;

  /** GET over HTTPS to address:port with Host/SNI `name`; the body as JSON, or a MatrixError-free failure. */
  const getJson = (address: string, port: number, name: string, hostHeader: string, path: string) =>
    new Promise<{ status: number; body: unknown }>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: address,
          port,
          path,
          method: 'GET',
          servername: isIP(name) ? undefined : name,
          headers: { host: hostHeader, 'user-agent': `lk-jwt-service-lab-standin/${LK_JWT_SERVICE_VERSION}` },
          ca: options.ca,
          timeout: timeoutMs,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => {
            try {
              resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
            } catch {
              resolve({ status: res.statusCode ?? 0, body: undefined });
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });

  const addressOf = async (host: string) => (isIP(host) ? host : (await resolver.resolve4(host))[0]!);

  /** Server discovery (server-server API "Resolving server names"), enough for the lab's names. */
  const discover = async (serverName: string): Promise<{ host: string; port: number; hostHeader: string; tlsName: string }> => {
    const explicit = /^(.*):(\d+)$/.exec(serverName);
    if (isIP(serverName) || explicit) {
      const host = explicit ? explicit[1]! : serverName;
      return { host, port: explicit ? Number(explicit[2]) : 8448, hostHeader: serverName, tlsName: host };
    }
    let delegated: string | undefined;
    try {
      const wk = await getJson(await addressOf(serverName), 443, serverName, serverName, '/.well-known/matrix/server');
      const server = (wk.body as Record<string, unknown> | undefined)?.['m.server'];
      if (wk.status === 200 && typeof server === 'string') delegated = server;
    } catch {
      // no well-known: SRV, then 8448
    }
    const name = delegated ?? serverName;
    const withPort = /^(.*):(\d+)$/.exec(name);
    if (withPort) return { host: withPort[1]!, port: Number(withPort[2]), hostHeader: name, tlsName: withPort[1]! };
    try {
      const [srv] = await resolver.resolveSrv(`_matrix-fed._tcp.${name}`);
      if (srv) return { host: srv.name, port: srv.port, hostHeader: name, tlsName: name };
    } catch {
      // no SRV record
    }
    return { host: name, port: 8448, hostHeader: name, tlsName: name };
  };

  const lookupUserInfo = async (token: OpenIdToken): Promise<string> => {
    const target = await discover(token.matrix_server_name);
    const path = `/_matrix/federation/v1/openid/userinfo?access_token=${encodeURIComponent(token.access_token)}`;
    const answer = await getJson(await addressOf(target.host), target.port, target.tlsName, target.hostHeader, path);
    const sub = (answer.body as Record<string, unknown> | undefined)?.sub;
    if (answer.status !== 200 || typeof sub !== 'string') throw new Error(`userinfo answered ${answer.status}`);
    return sub;
  };

  const fullAccess = (serverName: string) =>
    (options.fullAccessHomeservers.length === 1 && options.fullAccessHomeservers[0] === '*') ||
    options.fullAccessHomeservers.includes(serverName);

  const mint = async (room: string, identity: string, serverName: string) => {
    const token = new AccessToken(options.key, options.secret, { identity, ttl: '1h' });
    token.addGrant({ roomJoin: true, roomCreate: false, canPublish: true, canSubscribe: true, room });
    const jwt = await token.toJwt();
    if (fullAccess(serverName)) {
      try {
        const rooms = new RoomServiceClient(options.roomServiceUrl, options.key, options.secret);
        await rooms.createRoom({ name: room, emptyTimeout: 5 * 60, departureTimeout: 20 });
      } catch (error) {
        log.push(`create room failed: ${(error as Error).message.split('\n')[0]}`);
        throw new MatrixError(500, 'M_UNKNOWN', 'Unable to create room on SFU');
      }
    }
    return { url: options.livekitUrl, jwt };
  };

  const getToken = async (body: Record<string, unknown>, legacyEndpoint: boolean) => {
    const member = body.member as Record<string, unknown> | undefined;
    const token = openIdOf(body.openid_token);
    const keysOk = onlyKeys(body, ['room_id', 'slot_id', 'openid_token', 'member', 'delay_id', 'delay_timeout', 'delay_cs_api_url']);
    if (!keysOk || !token || !member || typeof member !== 'object' || !onlyKeys(member, ['id', 'claimed_user_id', 'claimed_device_id'])) {
      throw legacyEndpoint
        ? new MatrixError(
            400,
            'M_BAD_JSON',
            'The request body was malformed, missing required fields, or contained invalid values (e.g. missing `room_id`, `slot_id`, or `openid_token`).',
          )
        : new MatrixError(400, 'M_NOT_JSON', 'Error reading request');
    }
    const [roomId, slotId] = [String(body.room_id ?? ''), String(body.slot_id ?? '')];
    if (!roomId || !slotId) throw new MatrixError(400, 'M_BAD_JSON', 'The request body is missing `room_id` or `slot_id`');
    const [id, claimedUser, claimedDevice] = [member.id, member.claimed_user_id, member.claimed_device_id].map((v) => String(v ?? ''));
    if (!id || !claimedUser || !claimedDevice)
      throw new MatrixError(400, 'M_BAD_JSON', 'The request body `member` is missing a `id`, `claimed_user_id` or `claimed_device_id`');
    if (!token.access_token || !token.matrix_server_name)
      throw new MatrixError(400, 'M_BAD_JSON', 'The request body `openid_token` is missing a `access_token` or `matrix_server_name`');
    let sub: string;
    try {
      sub = await lookupUserInfo(token);
    } catch (error) {
      log.push(`userinfo lookup for ${token.matrix_server_name} failed: ${(error as Error).message}`);
      throw new MatrixError(401, 'M_UNAUTHORIZED', 'The request could not be authorised.');
    }
    if (sub !== claimedUser) throw new MatrixError(401, 'M_UNAUTHORIZED', 'The request could not be authorised.');
    log.push(`token for ${sub} (${fullAccess(token.matrix_server_name) ? 'full' : 'restricted'} access)`);
    return mint(hashOf([roomId, slotId]), hashOf([sub, claimedDevice, id]), token.matrix_server_name);
  };

  const legacy = async (body: Record<string, unknown>) => {
    if (!onlyKeys(body, ['room', 'openid_token', 'device_id'])) return getToken(body, true);
    const token = openIdOf(body.openid_token);
    if (!body.room) throw new MatrixError(400, 'M_BAD_JSON', 'Missing room parameter');
    if (!token?.access_token || !token.matrix_server_name) throw new MatrixError(400, 'M_BAD_JSON', 'Missing OpenID token parameters');
    let sub: string;
    try {
      sub = await lookupUserInfo(token);
    } catch (error) {
      log.push(`userinfo lookup for ${token.matrix_server_name} failed: ${(error as Error).message}`);
      throw new MatrixError(500, 'M_LOOKUP_FAILED', 'Failed to look up user info from homeserver');
    }
    log.push(`legacy token for ${sub}`);
    return mint(hashOf([String(body.room), 'm.call#ROOM']), `${sub}:${String(body.device_id ?? '')}`, token.matrix_server_name);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/healthz') {
      res.writeHead(req.method === 'GET' ? 200 : 405).end();
      return;
    }
    if (path !== '/sfu/get' && path !== '/get_token') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    const headers = { 'content-type': 'application/json', ...CORS };
    if (req.method === 'OPTIONS') {
      res.writeHead(200, headers).end();
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, headers).end();
      return;
    }
    let text = '';
    for await (const chunk of req) text += chunk;
    try {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new MatrixError(400, 'M_NOT_JSON', 'Error reading request');
      }
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new MatrixError(400, 'M_NOT_JSON', 'Error reading request');
      const answer =
        path === '/sfu/get' ? await legacy(body as Record<string, unknown>) : await getToken(body as Record<string, unknown>, false);
      res.writeHead(200, headers).end(`${JSON.stringify(answer)}\n`);
    } catch (error) {
      const e = error instanceof MatrixError ? error : new MatrixError(500, 'M_UNKNOWN', 'Internal Server Error');
      res.writeHead(e.status, headers).end(JSON.stringify({ errcode: e.errcode, error: e.message }));
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.address, resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://${options.address}:${port}`,
    port,
    log,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
