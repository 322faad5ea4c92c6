// Smoke tests of the federation lab harness: each scenario really is served as described (real
// nginx, real Synapse, lab DNS), checked with the project's pinned-address HTTP probe, and the
// client-discovery referee (matrix-js-sdk's AutoDiscovery) gives its verdict on every scenario.
import { readFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequest } from '../../checks/probes/http.ts';
import type { HttpOutcome, HttpSuccess } from '../../checks/facts/http.ts';
import { AIA_URL, LAB, SCENARIOS, WRONG_NAME, startFederationLab, type FederationLab, type Scenario } from './federation-lab.ts';
import { refereeClientDiscovery } from './autodiscovery-referee.ts';

const BASE = `https://${LAB.serverName}`;
const MATRIX = `https://${LAB.matrixHost}`;
const FED = `https://${LAB.matrixHost}:8448`;
const KEYS = '/_matrix/key/v2/server';

let lab: FederationLab;
let ca: string;
/**
 * A new resolver for each lookup: the lab swaps zones between scenarios, and the c-ares of some
 * Node releases (20.19) caches answers, a cached NXDOMAIN included, across the swap.
 */
function dns(): Resolver {
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([lab.resolver]);
  return resolver;
}

beforeAll(async () => {
  lab = await startFederationLab();
  ca = readFileSync(lab.caFile, 'utf8');
});

afterAll(async () => {
  await lab?.stop();
});

/** One request pinned to an address, the lab CA trusted; SNI and Host from the URL unless given. */
function probe(url: string, address: string, servername?: string): Promise<HttpOutcome> {
  return httpRequest(url, { address, timeoutMs: 5000, ca, servername, hostHeader: servername });
}

function ok(outcome: HttpOutcome): HttpSuccess {
  if (!outcome.ok)
    throw new Error(`${outcome.url} via ${outcome.address}: ${outcome.phase} ${outcome.error} (${outcome.code}) ${outcome.message}`);
  return outcome;
}

async function wellKnown(host: 'base' | 'matrix', file: 'server' | 'client'): Promise<HttpSuccess> {
  const [url, address] = host === 'base' ? [BASE, LAB.baseAddress] : [MATRIX, LAB.matrixAddress];
  return ok(await probe(`${url}/.well-known/matrix/${file}`, address));
}

describe('federation lab: the scenarios are served as described', () => {
  it('healthy-wellknown: MDAD shape, DNS, well-known files with JSON and CORS, signed keys on 8448', async () => {
    await lab.use('healthy-wellknown');
    expect(await dns().resolve4(LAB.serverName)).toEqual([LAB.baseAddress]);
    expect(await dns().resolve4(LAB.matrixHost)).toEqual([LAB.matrixAddress]);
    await expect(dns().resolveSrv(`_matrix-fed._tcp.${LAB.serverName}`)).rejects.toMatchObject({
      code: expect.stringMatching(/ENOTFOUND|ENODATA/),
    });

    for (const host of ['base', 'matrix'] as const) {
      const server = await wellKnown(host, 'server');
      expect(server.status).toBe(200);
      expect(JSON.parse(server.body)).toEqual({ 'm.server': 'matrix.example.test:8448' });
      expect(server.headers).toMatchObject({
        'content-type': 'application/json',
        'access-control-allow-origin': '*',
        'cache-control': 'max-age=14400',
      });
      const client = await wellKnown(host, 'client');
      expect(JSON.parse(client.body)).toEqual({ 'm.homeserver': { base_url: 'https://matrix.example.test' } });
      expect(client.headers).toMatchObject({ 'content-type': 'application/json', 'access-control-allow-origin': '*' });
    }
    const base = await wellKnown('base', 'server');
    expect(base.tls).toMatchObject({ authorized: true });
    expect(base.tls!.chain[0]!.sans).toEqual(['DNS:example.test', 'DNS:matrix.example.test']);

    const keys = ok(await probe(`${FED}${KEYS}`, LAB.matrixAddress));
    expect(keys).toMatchObject({ status: 200, tls: { authorized: true } });
    expect(keys.headers['content-type']).toBe('application/json');
    expect(JSON.parse(keys.body)).toMatchObject({ server_name: LAB.serverName, verify_keys: expect.any(Object) });
    // Leaf plus the lab intermediate, completed with the lab root.
    expect(keys.tls!.chain.map((c) => c.subject)).toEqual([
      'matrix.example.test',
      'Matrix Toolkit Lab Intermediate CA',
      'Matrix Toolkit Lab Root CA',
    ]);
    expect(keys.tls!.chain[0]!.sans).toEqual(['DNS:matrix.example.test']);
    const versions = ok(await probe(`${MATRIX}/_matrix/client/versions`, LAB.matrixAddress));
    expect(JSON.parse(versions.body).versions).toContain('v1.1');
  });

  it('healthy-srv: SRV delegation, no server file anywhere, the 8448 certificate also covers the server name', async () => {
    await lab.use('healthy-srv');
    // The record's own fields (Node 24 adds `type: 'SRV'` to each answer, Node 20 does not).
    const srv = await dns().resolveSrv(`_matrix-fed._tcp.${LAB.serverName}`);
    expect(srv.map(({ priority, weight, port, name }) => ({ priority, weight, port, name }))).toEqual([
      { priority: 10, weight: 0, port: 8448, name: LAB.matrixHost },
    ]);
    expect((await wellKnown('base', 'server')).status).toBe(404);
    expect((await wellKnown('matrix', 'server')).status).toBe(404);
    expect((await wellKnown('base', 'client')).status).toBe(200);
    // Spec step 4: connect to the SRV target, SNI and Host are the server name.
    const keys = ok(await probe(`${FED}${KEYS}`, LAB.matrixAddress, LAB.serverName));
    expect(keys).toMatchObject({ status: 200, tls: { authorized: true } });
    expect(keys.tls!.chain[0]!.sans).toEqual(['DNS:matrix.example.test', 'DNS:example.test']);
    expect(JSON.parse(keys.body).server_name).toBe(LAB.serverName);
  });

  it('no-delegation: no server file, no SRV, nothing on example.test:8448', async () => {
    await lab.use('no-delegation');
    expect((await wellKnown('base', 'server')).status).toBe(404);
    expect((await wellKnown('base', 'client')).status).toBe(200);
    await expect(dns().resolveSrv(`_matrix-fed._tcp.${LAB.serverName}`)).rejects.toMatchObject({
      code: expect.stringMatching(/ENOTFOUND|ENODATA/),
    });
    expect(await probe(`https://${LAB.serverName}:8448${KEYS}`, LAB.baseAddress)).toMatchObject({
      ok: false,
      phase: 'tcp',
      error: 'refused',
    });
  });

  it('client-no-cors and text-plain: the base files lose CORS / the JSON type, bodies unchanged', async () => {
    await lab.use('client-no-cors');
    const client = await wellKnown('base', 'client');
    expect(client.headers['access-control-allow-origin']).toBeUndefined();
    expect(client.headers['content-type']).toBe('application/json');
    expect((await wellKnown('base', 'server')).headers['access-control-allow-origin']).toBe('*');
    expect((await wellKnown('matrix', 'client')).headers['access-control-allow-origin']).toBe('*');

    await lab.use('text-plain');
    for (const file of ['server', 'client'] as const) {
      const response = await wellKnown('base', file);
      expect(response.headers['content-type']).toBe('text/plain');
      expect(() => JSON.parse(response.body)).not.toThrow();
    }
    expect((await wellKnown('matrix', 'client')).headers['content-type']).toBe('application/json');
  });

  it('redirect-no-cors: a 302 without CORS to the Matrix host, whose copy has CORS', async () => {
    await lab.use('redirect-no-cors');
    for (const file of ['server', 'client'] as const) {
      const hop = await wellKnown('base', file);
      expect(hop.status).toBe(302);
      expect(hop.headers.location).toBe(`https://matrix.example.test/.well-known/matrix/${file}`);
      expect(hop.headers['access-control-allow-origin']).toBeUndefined();
      const target = ok(await probe(hop.headers.location!, LAB.matrixAddress));
      expect(target).toMatchObject({ status: 200, headers: { 'access-control-allow-origin': '*', 'content-type': 'application/json' } });
    }
  });

  it('mserver-https: the base server file carries a scheme', async () => {
    await lab.use('mserver-https');
    expect(JSON.parse((await wellKnown('base', 'server')).body)).toEqual({ 'm.server': 'https://matrix.example.test:8448' });
    expect(JSON.parse((await wellKnown('matrix', 'server')).body)).toEqual({ 'm.server': 'matrix.example.test:8448' });
  });

  const broken: [Scenario, string, (chain: HttpSuccess['tls']) => void][] = [
    ['wrong-name-cert', 'ERR_TLS_CERT_ALTNAME_INVALID', (t) => expect(t!.chain[0]!.sans).toEqual([`DNS:${WRONG_NAME}`])],
    ['expired-cert', 'CERT_HAS_EXPIRED', (t) => expect(t!.chain[0]!.validTo).toBe('2024-01-02T00:00:00.000Z')],
    [
      'missing-intermediate',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      (t) => {
        expect(t!.chain).toHaveLength(1);
        expect(t!.chain[0]).toMatchObject({ issuer: 'Matrix Toolkit Lab Intermediate CA', caIssuers: [AIA_URL] });
      },
    ],
    [
      'unknown-ca',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      (t) => {
        expect(t!.chain).toHaveLength(1);
        expect(t!.chain[0]).toMatchObject({ issuer: 'Nobody Trusts This CA', caIssuers: [], selfIssued: false });
      },
    ],
    [
      'self-signed',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      (t) => expect(t!.chain[0]).toMatchObject({ subject: 'matrix.example.test', selfIssued: true }),
    ],
  ];
  it.each(broken)('%s: the Matrix host presents it on 443 and 8448 (%s); the base domain stays valid', async (scenario, code, inspect) => {
    await lab.use(scenario);
    for (const url of [`${MATRIX}/_matrix/client/versions`, `${FED}${KEYS}`]) {
      // The probe records the handshake and still completes the exchange.
      const response = ok(await probe(url, LAB.matrixAddress));
      expect(response.tls).toMatchObject({ authorized: false, authorizationError: code });
      inspect(response.tls);
    }
    expect((await wellKnown('base', 'client')).tls?.authorized).toBe(true);
  });

  it('missing-intermediate: the AIA URL serves the missing intermediate (DER) that signed the leaf', async () => {
    await lab.use('missing-intermediate');
    const leaf = new X509Certificate(Buffer.from(ok(await probe(`${FED}${KEYS}`, LAB.matrixAddress)).tls!.chain[0]!.raw, 'base64'));
    const response = await fetch(AIA_URL);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/pkix-cert');
    const intermediate = new X509Certificate(Buffer.from(await response.arrayBuffer()));
    expect(leaf.verify(intermediate.publicKey)).toBe(true);
    expect(intermediate.verify(new X509Certificate(ca).publicKey)).toBe(true);
  });

  it('federation-port-closed: 8448 refuses, 443 answers', async () => {
    await lab.use('federation-port-closed');
    expect(await probe(`${FED}${KEYS}`, LAB.matrixAddress)).toMatchObject({
      ok: false,
      phase: 'tcp',
      error: 'refused',
      code: 'ECONNREFUSED',
    });
    expect(ok(await probe(`${MATRIX}/_matrix/client/versions`, LAB.matrixAddress)).status).toBe(200);
  });

  it('two-addresses-one-broken: two A records; the second answers 502 on 8448 only', async () => {
    await lab.use('two-addresses-one-broken');
    expect((await dns().resolve4(LAB.matrixHost)).sort()).toEqual([LAB.matrixAddress, LAB.secondMatrixAddress]);
    expect(ok(await probe(`${FED}${KEYS}`, LAB.matrixAddress)).status).toBe(200);
    const bad = ok(await probe(`${FED}${KEYS}`, LAB.secondMatrixAddress));
    expect(bad).toMatchObject({ status: 502, tls: { authorized: true } });
    expect(bad.headers['content-type']).toBe('text/html');
    expect(ok(await probe(`${FED}/_matrix/federation/v1/version`, LAB.secondMatrixAddress)).status).toBe(502);
    expect(ok(await probe(`${MATRIX}/_matrix/client/versions`, LAB.secondMatrixAddress)).status).toBe(200);
  });

  it('keys-html: the key endpoint answers a 200 HTML page, federation otherwise normal', async () => {
    await lab.use('keys-html');
    for (const url of [`${FED}${KEYS}`, `${MATRIX}${KEYS}`]) {
      const keys = ok(await probe(url, LAB.matrixAddress));
      expect(keys).toMatchObject({ status: 200, headers: { 'content-type': 'text/html' } });
      expect(keys.body).toContain('<title>Welcome to nginx!</title>');
    }
    const version = ok(await probe(`${FED}/_matrix/federation/v1/version`, LAB.matrixAddress));
    expect(JSON.parse(version.body)).toMatchObject({ server: { name: 'Synapse' } });
  });

  it("send-body-limit and authorization-stripped: nginx's 413 for a 2 MiB body on 8448, and a header that never reaches Synapse", async () => {
    const send = (headers: Record<string, string>, body: string) =>
      httpRequest(`${FED}/_matrix/federation/v1/send/lab`, {
        address: LAB.matrixAddress,
        timeoutMs: 5000,
        ca,
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    const big = JSON.stringify({ pdus: [], padding: 'x'.repeat(2 * 1024 * 1024) });
    const xMatrix = { authorization: 'X-Matrix origin="not a server name",key="ed25519:a",sig="b"' };
    await lab.use('send-body-limit');
    const limited = ok(await send(xMatrix, big));
    expect(limited.status).toBe(413);
    expect(limited.body).toContain('<title>413 Request Entity Too Large</title>');
    // Small bodies still pass, and 443 keeps its limit.
    expect(JSON.parse(ok(await send(xMatrix, '{}')).body)).toEqual({ errcode: 'M_UNAUTHORIZED', error: 'Malformed Authorization header' });
    expect(
      ok(
        await httpRequest(`${MATRIX}/_matrix/federation/v1/send/lab`, {
          address: LAB.matrixAddress,
          timeoutMs: 5000,
          ca,
          method: 'PUT',
          headers: xMatrix,
          body: big,
        }),
      ).status,
    ).toBe(400);

    await lab.use('authorization-stripped');
    const stripped = ok(await send(xMatrix, big));
    expect(stripped.status).toBe(401);
    expect(JSON.parse(stripped.body)).toEqual({ errcode: 'M_UNAUTHORIZED', error: 'Missing Authorization headers' });
  });
});

describe('client-discovery referee (matrix-js-sdk AutoDiscovery.findClientConfig)', () => {
  const SUCCESS = { state: 'SUCCESS', error: null, baseUrl: 'https://matrix.example.test' };
  // The well-known is fine on the base domain, but /versions on the Matrix host fails TLS.
  const INVALID_HOMESERVER = {
    state: 'FAIL_ERROR',
    error: 'Homeserver URL does not appear to be a valid Matrix homeserver',
    baseUrl: 'https://matrix.example.test',
  };
  const verdicts: Record<Scenario, typeof SUCCESS | typeof INVALID_HOMESERVER> = {
    'healthy-wellknown': SUCCESS,
    'healthy-srv': SUCCESS,
    'no-delegation': SUCCESS,
    // The SDK checks neither Access-Control-Allow-Origin nor Content-Type: under Node nothing
    // enforces CORS (browsers do), and it parses the body as JSON whatever its type.
    'client-no-cors': SUCCESS,
    'redirect-no-cors': SUCCESS,
    'text-plain': SUCCESS,
    'mserver-https': SUCCESS,
    'wrong-name-cert': INVALID_HOMESERVER,
    'expired-cert': INVALID_HOMESERVER,
    // Node does not fetch AIA issuers (some browsers do).
    'missing-intermediate': INVALID_HOMESERVER,
    'unknown-ca': INVALID_HOMESERVER,
    'self-signed': INVALID_HOMESERVER,
    'federation-port-closed': SUCCESS,
    'two-addresses': SUCCESS,
    'two-addresses-one-broken': SUCCESS,
    'keys-html': SUCCESS,
    'send-body-limit': SUCCESS,
    'authorization-stripped': SUCCESS,
  };

  it('covers every scenario', () => {
    expect(Object.keys(verdicts).sort()).toEqual(Object.keys(SCENARIOS).sort());
  });

  const table = (Object.entries(verdicts) as [Scenario, typeof SUCCESS][]).map(
    ([scenario, verdict]) => [scenario, verdict.state, verdict] as const,
  );
  it.each(table)('%s → %s', async (scenario, _state, expected) => {
    await lab.use(scenario);
    expect(await refereeClientDiscovery(lab)).toEqual(expected);
  });

  it('a name outside the lab zone: FAIL_PROMPT (the well-known cannot be fetched)', async () => {
    await lab.use('healthy-wellknown');
    expect(await refereeClientDiscovery(lab, 'nowhere.test')).toEqual({
      state: 'FAIL_PROMPT',
      error: 'Invalid homeserver discovery response',
      baseUrl: null,
    });
  });
});
