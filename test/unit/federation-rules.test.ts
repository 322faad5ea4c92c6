// judgeFederation on hand-made facts: discovery from decideDiscovery on a hand-made input, then
// per-address probes as HttpOutcome values. Server keys are signed here with node:crypto
// (ed25519 over canonical JSON). No network.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { judgeFederation } from '../../checks/rules/federation.ts';
import { decideDiscovery, type DiscoveryInput } from '../../checks/facts/discovery.ts';
import { canonicalJson } from '../../checks/core/canonical-json.ts';
import type { AddressProbe, FederationFacts } from '../../checks/facts/federation.ts';
import type { AddressLookup } from '../../checks/facts/dns.ts';
import type { DnsOutcome } from '../../checks/facts/dns.ts';
import type { Finding } from '../../checks/core/finding.ts';
import {
  certificate,
  chainOf,
  DAY_MS,
  DNS_TIMEOUT,
  failure,
  HOUR_MS,
  IPV4,
  IPV6,
  jsonResponse,
  lookup,
  NOW,
  redirect,
  NXDOMAIN,
  response,
  srvAnswer,
  tlsFact,
  untrustedTls,
} from './fact-builders.ts';

const NAME = 'example.org';
const MX = 'matrix.example.org';
const WK = `https://${NAME}/.well-known/matrix/server`;
const VERSION_BODY = { server: { name: 'Synapse', version: '1.120.0' } };

// ---------------------------------------------------------------------------------------------
// Keys

interface Signer {
  keyId: string;
  privateKey: KeyObject;
  /** Unpadded base64 of the raw 32-byte public key. */
  publicKey: string;
}

function newSigner(keyId = 'ed25519:a_1'): Signer {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
  return { keyId, privateKey, publicKey: raw.toString('base64').replace(/=+$/, '') };
}

/** A /_matrix/key/v2/server document signed by signer under entity (default: the served server_name). */
function keyDocument(signer: Signer, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const doc = {
    server_name: NAME,
    valid_until_ts: NOW + DAY_MS,
    verify_keys: { [signer.keyId]: { key: signer.publicKey } },
    old_verify_keys: {},
    ...overrides,
  };
  const signature = sign(null, Buffer.from(canonicalJson(doc), 'utf8'), signer.privateKey)
    .toString('base64')
    .replace(/=+$/, '');
  return { ...doc, signatures: { [String(doc.server_name)]: { [signer.keyId]: signature } } };
}

const SIGNER = newSigner();

// ---------------------------------------------------------------------------------------------
// Facts

/** The server name with a well-known delegating to mServer (or answering 404), and these SRV answers. */
function discoveryInput(mServer: string | undefined, srv: Record<string, DnsOutcome> = {}): DiscoveryInput {
  const wellKnown = mServer === undefined ? chainOf(response(WK, 404, 'Not Found')) : chainOf(jsonResponse(WK, { 'm.server': mServer }));
  const none = Object.fromEntries(
    [NAME, MX].flatMap((h) => [
      [`_matrix-fed._tcp.${h}`, NXDOMAIN],
      [`_matrix._tcp.${h}`, NXDOMAIN],
    ]),
  );
  return { host: NAME, isIpLiteral: false, wellKnown, srv: { ...none, ...srv } };
}

/** An address that answers like a healthy Synapse: version, and keys signed by signer. */
function probe(target: string, port: number, address = IPV4, overrides: Partial<AddressProbe> = {}, signer = SIGNER): AddressProbe {
  const base = `https://${target}:${port}`;
  return {
    target,
    port,
    address,
    version: jsonResponse(`${base}/_matrix/federation/v1/version`, VERSION_BODY, 200, { address }),
    keys: jsonResponse(`${base}/_matrix/key/v2/server`, keyDocument(signer), 200, { address }),
    ...overrides,
  };
}

function federationFacts(input: DiscoveryInput, probes: AddressProbe[], lookups?: AddressLookup[]): FederationFacts {
  const discovery = decideDiscovery(input);
  return { serverName: NAME, input, discovery, lookups: lookups ?? discovery.targets.map((t) => lookup(t.host)), probes };
}

function judge(facts: FederationFacts, extra: { now?: number } = {}) {
  const findings = judgeFederation(facts, { now: extra.now ?? NOW });
  const byId = (id: string): Finding | undefined => {
    const found = findings.filter((f) => f.id === id);
    expect(found.length, `findings with id ${id}`).toBeLessThanOrEqual(1);
    return found[0];
  };
  return { findings, byId };
}

const AT = `federation.203_0_113_10_443`;
const AT_8448 = `federation.203_0_113_10_8448`;
const delegated = () => discoveryInput(`${MX}:443`);
const refused = (url: string) =>
  failure(url, 'tcp', 'refused', 'connection refused: nothing listens on that port', { code: 'ECONNREFUSED' });

// ---------------------------------------------------------------------------------------------

describe('a healthy address', () => {
  it('passes connection, certificate, version and keys, after the discovery step', () => {
    const { findings, byId } = judge(federationFacts(delegated(), [probe(MX, 443)]));
    expect(byId('federation.discovery')).toMatchObject({
      status: 'info',
      detail: `Step 3.2: /.well-known/matrix/server delegates to ${MX}:443 (a host with a port) → ${MX}:443; TLS name ${MX}, Host ${MX}:443`,
    });
    expect(byId(`${AT}.connect`)).toMatchObject({ status: 'pass', detail: 'TCP and TLS (TLSv1.3, TLS_AES_256_GCM_SHA384)' });
    expect(byId(`${AT}.certificate`)).toMatchObject({ status: 'pass', detail: `Valid for ${MX} (DNS:${MX}), issued by R11, 60 days left` });
    expect(byId(`${AT}.version`)).toMatchObject({ status: 'pass', detail: 'Synapse 1.120.0' });
    expect(byId(`${AT}.keys`)).toMatchObject({
      status: 'pass',
      detail: `server_name ${NAME}, ${SIGNER.keyId} signature valid, valid until ${new Date(NOW + DAY_MS).toISOString()}`,
    });
    // Where it was seen (host, port, address) rides along, for linking causes across areas.
    expect(byId(`${AT}.keys`)?.evidence).toEqual({
      fingerprint: `${SIGNER.keyId}=${SIGNER.publicKey}`,
      host: MX,
      port: 443,
      address: '203.0.113.10',
    });
    expect(findings.filter((f) => f.status !== 'pass' && f.status !== 'info')).toEqual([]);
    expect(byId('federation.keys.consistency')).toBeUndefined();
  });

  it('names an IPv6 address in brackets, with a stable id', () => {
    const facts = federationFacts(delegated(), [probe(MX, 443, IPV6)], [lookup(MX, [], [IPV6])]);
    expect(judge(facts).byId('federation.2001_db8_10_443.connect')).toMatchObject({
      status: 'pass',
      title: `[${IPV6}]:443 (IPv6) connection`,
    });
  });

  it('lists the SRV records the well-known overrode in the discovery finding', () => {
    const input = discoveryInput(`${MX}:443`, {
      [`_matrix-fed._tcp.${NAME}`]: srvAnswer(`_matrix-fed._tcp.${NAME}`, `10 0 8448 old.${NAME}`),
    });
    expect(judge(federationFacts(input, [probe(MX, 443)])).byId('federation.discovery')?.detail).toContain(
      `ignored: SRV _matrix-fed._tcp.${NAME} (10 0 8448 old.${NAME}): a valid /.well-known/matrix/server takes precedence`,
    );
  });
});

describe('connection failures', () => {
  it('TCP refused at step 6 (nothing delegates): the fix is to delegate with /.well-known/matrix/server', () => {
    const facts = federationFacts(discoveryInput(undefined), [
      probe(NAME, 8448, IPV4, {
        version: refused(`https://${NAME}:8448/_matrix/federation/v1/version`),
        keys: refused(`https://${NAME}:8448/_matrix/key/v2/server`),
      }),
    ]);
    expect(facts.discovery.step).toBe('6');
    const { findings, byId } = judge(facts);
    const connect = byId(`${AT_8448}.connect`);
    expect(connect?.status).toBe('fail');
    expect(connect?.detail).toBe(
      `Cannot connect: nothing listens on the port (connection refused: nothing listens on that port). Nothing delegates federation elsewhere, so servers come to ${NAME}:8448 itself.`,
    );
    expect(connect?.fix).toBe(
      `Delegate federation to the Matrix host: serve {"m.server": "${MX}:8448"} at ${WK} (npx tsx scripts/wellknown.ts --flavor nginx)`,
    );
    expect(findings.map((f) => f.id)).toEqual(['federation.discovery', `${AT_8448}.connect`]);
  });

  it('TCP refused at step 3.2: the fix is to open the port', () => {
    const facts = federationFacts(delegated(), [
      probe(MX, 443, IPV4, {
        version: refused(`https://${MX}:443/_matrix/federation/v1/version`),
        keys: refused(`https://${MX}:443/_matrix/key/v2/server`),
      }),
    ]);
    const connect = judge(facts).byId(`${AT}.connect`);
    expect(connect?.status).toBe('fail');
    expect(connect?.detail).not.toContain('Nothing delegates');
    expect(connect?.fix).toBe(
      'Open TCP port 443 to the server at every firewall (host and provider), and forward it if the server is behind NAT (npx tsx scripts/firewall.ts)',
    );
  });

  it('a TCP timeout is described as dropped packets', () => {
    const timeout = (url: string) =>
      failure(url, 'tcp', 'timeout', 'no answer within the timeout during the TCP connect', { code: 'ETIMEDOUT' });
    const facts = federationFacts(delegated(), [
      probe(MX, 443, IPV4, { version: timeout(`https://${MX}:443/v`), keys: timeout(`https://${MX}:443/k`) }),
    ]);
    expect(judge(facts).byId(`${AT}.connect`)?.detail).toContain('packets are dropped (a firewall, or a provider security group)');
  });

  it('a failure during the TLS handshake is a TLS finding, and nothing is judged after it', () => {
    const reset = (url: string) => failure(url, 'tls', 'reset', 'connection closed during the TLS handshake', { code: 'ECONNRESET' });
    const facts = federationFacts(delegated(), [
      probe(MX, 443, IPV4, { version: reset(`https://${MX}:443/v`), keys: reset(`https://${MX}:443/k`) }),
    ]);
    const { findings, byId } = judge(facts);
    expect(byId(`${AT}.tls`)).toMatchObject({
      status: 'fail',
      detail: 'TLS handshake failed: connection closed during the TLS handshake',
      fix: `Check that ${IPV4}:443 serves HTTPS (TLS) for ${MX}`,
    });
    expect(findings.map((f) => f.id)).toEqual(['federation.discovery', `${AT}.tls`]);
  });

  it('says "TLS handshake failed" once for a handshake error as the HTTP probe words it', () => {
    // checks/probes/http.ts classify(): a TLS-phase error becomes "TLS handshake failed: <message>".
    const tlsError = (url: string) =>
      failure(url, 'tls', 'tls', 'TLS handshake failed: wrong version number', { code: 'ERR_SSL_WRONG_VERSION_NUMBER' });
    const facts = federationFacts(delegated(), [
      probe(MX, 443, IPV4, { version: tlsError(`https://${MX}:443/v`), keys: tlsError(`https://${MX}:443/k`) }),
    ]);
    expect(judge(facts).byId(`${AT}.tls`)?.detail).toBe('TLS handshake failed: wrong version number');
  });

  it('fails a Cloudflare proxy address on 8448, besides the connection', () => {
    const cf = '104.16.132.229';
    const timeout = (url: string) => failure(url, 'tcp', 'timeout', 'no answer within the timeout during the TCP connect', { address: cf });
    const facts = federationFacts(
      discoveryInput(`${MX}:8448`),
      [probe(MX, 8448, cf, { version: timeout(`https://${MX}:8448/v`), keys: timeout(`https://${MX}:8448/k`) })],
      [lookup(MX, [cf])],
    );
    const { byId } = judge(facts);
    expect(byId('federation.104_16_132_229_8448.cloudflare')).toMatchObject({
      status: 'fail',
      detail: `${cf} is a Cloudflare proxy address, and Cloudflare does not proxy port 8448`,
      fix: `Set ${MX} to "DNS only" in Cloudflare, or delegate federation to port 443 ("m.server": "${MX}:443")`,
    });
    expect(byId('federation.104_16_132_229_8448.connect')?.status).toBe('fail');
  });

  it('does not flag a Cloudflare address on 443', () => {
    const cf = '104.16.132.229';
    const facts = federationFacts(delegated(), [probe(MX, 443, cf)], [lookup(MX, [cf])]);
    expect(judge(facts).findings.some((f) => f.id.endsWith('.cloudflare'))).toBe(false);
  });
});

describe('certificates as servers judge them', () => {
  it('fails a certificate for the Matrix host at step 4 (SRV): it must cover the server name, not the SRV target', () => {
    const input = discoveryInput(undefined, { [`_matrix-fed._tcp.${NAME}`]: srvAnswer(`_matrix-fed._tcp.${NAME}`, `10 0 443 ${MX}`) });
    const tls = untrustedTls('ERR_TLS_CERT_ALTNAME_INVALID');
    const facts = federationFacts(input, [
      probe(MX, 443, IPV4, { version: jsonResponse(`https://${MX}:443/v`, VERSION_BODY, 200, { tls }) }),
    ]);
    const finding = judge(facts).byId(`${AT}.certificate`);
    expect(finding?.status).toBe('fail');
    expect(finding?.detail).toBe(
      `Servers will refuse it: it is valid for DNS:${MX}, not for ${NAME} (step 4: the certificate must be valid for ${NAME}, not for the SRV target)`,
    );
    expect(finding?.fix).toBe(`Serve a certificate valid for ${NAME} on this port`);
  });

  it('at step 6, a certificate for another name also suggests delegating', () => {
    const tls = untrustedTls('ERR_TLS_CERT_ALTNAME_INVALID');
    const facts = federationFacts(discoveryInput(undefined), [
      probe(NAME, 8448, IPV4, { version: jsonResponse(`https://${NAME}:8448/v`, VERSION_BODY, 200, { tls }) }),
    ]);
    const finding = judge(facts).byId(`${AT_8448}.certificate`);
    expect(finding?.status).toBe('fail');
    expect(finding?.fix).toBe(
      `Serve a certificate valid for ${NAME} on this port; or delegate with /.well-known/matrix/server (npx tsx scripts/wellknown.ts --flavor nginx)`,
    );
  });

  it("fails a lone Let's Encrypt leaf (missing intermediate) with the fullchain fix", () => {
    const tls = untrustedTls('UNABLE_TO_VERIFY_LEAF_SIGNATURE', [certificate({ issuer: 'E6' })]);
    const facts = federationFacts(delegated(), [
      probe(MX, 443, IPV4, { version: jsonResponse(`https://${MX}:443/v`, VERSION_BODY, 200, { tls }) }),
    ]);
    const finding = judge(facts).byId(`${AT}.certificate`);
    expect(finding).toMatchObject({
      status: 'fail',
      evidence: expect.objectContaining({ problems: ['missing-intermediate'], authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }),
    });
    expect(finding?.fix).toContain('fullchain.pem');
  });

  it('warns about a certificate that expires within 14 days', () => {
    const tls = tlsFact({ chain: [certificate({ validTo: new Date(NOW + 5 * DAY_MS + HOUR_MS).toISOString() })] });
    const facts = federationFacts(delegated(), [
      probe(MX, 443, IPV4, { version: jsonResponse(`https://${MX}:443/v`, VERSION_BODY, 200, { tls }) }),
    ]);
    expect(judge(facts).byId(`${AT}.certificate`)).toMatchObject({ status: 'warn', detail: `Valid for ${MX}, but expires in 5 days` });
  });

  it('warns about TLS 1.1', () => {
    const tls = tlsFact({ protocol: 'TLSv1.1' });
    const facts = federationFacts(delegated(), [
      probe(MX, 443, IPV4, { version: jsonResponse(`https://${MX}:443/v`, VERSION_BODY, 200, { tls }) }),
    ]);
    expect(judge(facts).byId(`${AT}.tls_version`)).toMatchObject({ status: 'warn', fix: expect.stringContaining('TLSv1.2 TLSv1.3') });
  });
});

describe('who answered the federation paths', () => {
  it('a 502 from the proxy: the homeserver behind it is down', () => {
    const version = response(`https://${MX}:443/_matrix/federation/v1/version`, 502, '<html><body><h1>502 Bad Gateway</h1></body></html>', {
      headers: { 'content-type': 'text/html' },
    });
    const finding = judge(federationFacts(delegated(), [probe(MX, 443, IPV4, { version })])).byId(`${AT}.version`);
    expect(finding).toMatchObject({
      status: 'fail',
      detail:
        'Answered 502 (text/html): the reverse proxy cannot reach the homeserver behind it (502): is it running? (journalctl -fu matrix-synapse)',
    });
    expect(finding?.fix).toContain('Route /_matrix/federation and /_matrix/key on the federation port to the homeserver');
  });

  it('Traefik\'s "404 page not found": no router matched', () => {
    const version = response(`https://${MX}:443/_matrix/federation/v1/version`, 404, '404 page not found\n', {
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    });
    expect(judge(federationFacts(delegated(), [probe(MX, 443, IPV4, { version })])).byId(`${AT}.version`)?.detail).toBe(
      "Answered 404 (text/plain; charset=utf-8): Traefik's own 404: no router matched, the request never reached the homeserver",
    );
  });

  it('keys served as text/html while an unknown federation path answers M_UNRECOGNIZED: routed elsewhere', () => {
    const keys = response(`https://${MX}:443/_matrix/key/v2/server`, 200, '<!DOCTYPE html><html><title>Welcome to nginx!</title></html>', {
      headers: { 'content-type': 'text/html' },
    });
    const unknownPath = jsonResponse(
      `https://${MX}:443/_matrix/federation/v1/matrix-selfhost-toolkit-probe`,
      { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' },
      404,
    );
    const { byId } = judge(federationFacts(delegated(), [probe(MX, 443, IPV4, { keys, unknownPath })]));
    expect(byId(`${AT}.keys`)).toMatchObject({
      status: 'fail',
      detail:
        'Answered 200 as text/html, where servers need 200 application/json: the homeserver answers other federation paths, so this one is routed elsewhere',
      fix: 'Route /_matrix/key on the federation port to the homeserver, without rewriting the answer',
    });
    expect(byId(`${AT}.version`)?.status).toBe('pass');
  });

  it('keys served as a web page when the unknown path is a web page too: a web server answers', () => {
    const page = (url: string) => response(url, 200, '<!DOCTYPE html><html></html>', { headers: { 'content-type': 'text/html' } });
    const facts = federationFacts(delegated(), [
      probe(MX, 443, IPV4, { keys: page(`https://${MX}:443/_matrix/key/v2/server`), unknownPath: page(`https://${MX}:443/x`) }),
    ]);
    expect(judge(facts).byId(`${AT}.keys`)?.detail).toContain(
      'a web page: a reverse proxy or web server answers instead of the homeserver',
    );
  });
});

describe('server keys', () => {
  it('keys for another server_name: the homeserver is configured for another name', () => {
    const keys = jsonResponse(`https://${MX}:443/_matrix/key/v2/server`, keyDocument(SIGNER, { server_name: MX }));
    const finding = judge(federationFacts(delegated(), [probe(MX, 443, IPV4, { keys })])).byId(`${AT}.keys`);
    expect(finding?.status).toBe('fail');
    expect(finding?.detail).toContain(`server_name is ${MX}, not ${NAME}`);
    expect(finding?.fix).toBe(
      `This homeserver is configured as ${MX}: the server name (matrix_domain / server_name) must be ${NAME}, or you are testing the Matrix host instead of the server name`,
    );
  });

  it('an expired valid_until_ts fails', () => {
    const keys = jsonResponse(`https://${MX}:443/_matrix/key/v2/server`, keyDocument(SIGNER, { valid_until_ts: NOW - HOUR_MS }));
    const finding = judge(federationFacts(delegated(), [probe(MX, 443, IPV4, { keys })])).byId(`${AT}.keys`);
    expect(finding?.status).toBe('fail');
    expect(finding?.detail).toBe(`Servers will reject the keys: valid_until_ts ${new Date(NOW - HOUR_MS).toISOString()} is in the past`);
    expect(finding?.fix).toContain('signing key file is intact');
  });

  it('a signature that does not verify fails', () => {
    const doc = keyDocument(SIGNER);
    const keys = jsonResponse(`https://${MX}:443/_matrix/key/v2/server`, { ...doc, valid_until_ts: NOW + 2 * DAY_MS });
    expect(judge(federationFacts(delegated(), [probe(MX, 443, IPV4, { keys })])).byId(`${AT}.keys`)?.detail).toContain(
      `${SIGNER.keyId}: signature does not verify`,
    );
  });

  it('keys valid for less than an hour only warn', () => {
    const keys = jsonResponse(`https://${MX}:443/_matrix/key/v2/server`, keyDocument(SIGNER, { valid_until_ts: NOW + HOUR_MS / 2 }));
    const finding = judge(federationFacts(delegated(), [probe(MX, 443, IPV4, { keys })])).byId(`${AT}.keys`);
    expect(finding).toMatchObject({ status: 'warn', detail: expect.stringContaining('valid_until_ts is less than an hour away') });
  });

  it('two addresses serving different keys fail the consistency check, naming both', () => {
    const other = newSigner('ed25519:b_2');
    const facts = federationFacts(delegated(), [probe(MX, 443, IPV4), probe(MX, 443, IPV6, {}, other)], [lookup(MX, [IPV4], [IPV6])]);
    const { byId } = judge(facts);
    expect(byId(`${AT}.keys`)?.status).toBe('pass');
    expect(byId('federation.2001_db8_10_443.keys')?.status).toBe('pass');
    const finding = byId('federation.keys.consistency');
    expect(finding?.status).toBe('fail');
    expect(finding?.detail).toBe(
      `Addresses serve different keys: ${IPV4}:443 has ${SIGNER.keyId}=${SIGNER.publicKey}; [${IPV6}]:443 has ${other.keyId}=${other.publicKey}. A peer's result depends on which address it reaches`,
    );
    expect(finding?.fix).toContain('stale AAAA');
  });

  it('two addresses serving the same keys pass the consistency check', () => {
    const facts = federationFacts(delegated(), [probe(MX, 443, IPV4), probe(MX, 443, IPV6)], [lookup(MX, [IPV4], [IPV6])]);
    expect(judge(facts).byId('federation.keys.consistency')).toMatchObject({ status: 'pass', detail: '2 addresses serve the same keys' });
  });
});

describe('targets and discovery', () => {
  it('fails a target without any address', () => {
    const facts = federationFacts(delegated(), [], [{ ...lookup(MX, [], []), missing: true }]);
    const { findings, byId } = judge(facts);
    expect(byId('federation.target.matrix_example_org.address')).toMatchObject({
      status: 'fail',
      detail: `${MX} (port 443) has no A or AAAA record: other servers cannot connect`,
      fix: `Add the A/AAAA records of ${MX} (run checks/dns.ts)`,
    });
    expect(findings.map((f) => f.id)).toEqual(['federation.discovery', 'federation.target.matrix_example_org.address']);
  });

  it('fails (never skips) when the targets could not be probed: a step that could not finish is no pass', () => {
    const facts = {
      ...federationFacts(delegated(), [], []),
      unprobed: 'discovery took the whole --timeout (a well-known or SRV lookup did not answer in time)',
    };
    const { findings } = judge(facts);
    expect(findings.map((f) => f.id)).toEqual(['federation.discovery', 'federation.targets.unprobed']);
    expect(findings[1]).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('not probed: discovery took the whole --timeout'),
    });
  });

  it('a discovery problem gives only the failing discovery finding', () => {
    const input = discoveryInput(undefined, {
      [`_matrix-fed._tcp.${NAME}`]: DNS_TIMEOUT,
      [`_matrix._tcp.${NAME}`]: srvAnswer(`_matrix._tcp.${NAME}`, `10 0 443 ${MX}`),
    });
    const facts = federationFacts(input, [], []);
    const { findings } = judge(facts);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      id: 'federation.discovery',
      status: 'fail',
      detail: `Step 4: the SRV lookup of _matrix-fed._tcp.${NAME} failed (timeout: no resolver answered), so servers cannot tell where you are`,
      fix: 'Fix the DNS records of the SRV name (run checks/dns.ts), or publish /.well-known/matrix/server',
    });
  });
});

describe('a full-size transaction and media over federation', () => {
  const SEND = `https://${MX}:443/_matrix/federation/v1/send/matrix-selfhost-toolkit-probe`;
  const MEDIA = `https://${MX}:443/_matrix/federation/v1/media/download/matrix-selfhost-toolkit-probe`;
  const BYTES = 50 * 65536 + 100 * 1024 + 120;
  const MALFORMED = { errcode: 'M_UNAUTHORIZED', error: 'Malformed Authorization header' };
  const MISSING = { errcode: 'M_UNAUTHORIZED', error: 'Missing Authorization headers' };
  const sent = (outcome: AddressProbe['version'], media: AddressProbe['version'] = jsonResponse(MEDIA, MISSING, 401)) =>
    judge(federationFacts(delegated(), [probe(MX, 443, IPV4, { send: { bytes: BYTES, outcome }, media })])).byId;

  it('Synapse read the whole body and the malformed X-Matrix header; media answers its own 401', () => {
    const byId = sent(jsonResponse(SEND, MALFORMED, 400));
    expect(byId(`${AT}.send`)).toMatchObject({
      status: 'pass',
      title: '203.0.113.10:443 (IPv4) takes a full-size transaction',
      detail:
        'The homeserver got a 3.2 MiB transaction (PUT /_matrix/federation/v1/send) whole: 400 M_UNAUTHORIZED (Malformed Authorization header), as for any unsigned request',
    });
    expect(byId(`${AT}.authorization`)).toMatchObject({
      status: 'pass',
      detail: 'The homeserver read the X-Matrix header (400 "Malformed Authorization header")',
    });
    expect(byId(`${AT}.media`)).toMatchObject({ status: 'pass', evidence: { status: 401, errcode: 'M_UNAUTHORIZED' } });
  });

  it("nginx's 413: the body limit, with the nginx, MDAD and Traefik settings; the header is not judged", () => {
    const byId = sent(
      response(SEND, 413, '<html><head><title>413 Request Entity Too Large</title></head></html>', {
        headers: { 'content-type': 'text/html', server: 'nginx/1.22.1' },
      }),
    );
    const send = byId(`${AT}.send`);
    expect(send?.status).toBe('fail');
    expect(send?.detail).toMatch(
      /^Answered 413 \(text\/html, Server: nginx\/1\.22\.1\) to a 3\.2 MiB transaction \(PUT \/_matrix\/federation\/v1\/send\), which Synapse accepts \(up to 12\.5 MiB\)/,
    );
    expect(send?.fix).toContain("nginx's default is 1m");
    expect(send?.fix).toContain('client_max_body_size 50M;');
    expect(send?.fix).toContain('matrix_synapse_reverse_proxy_companion_federation_api_client_max_body_size_mb');
    expect(send?.fix).toContain('maxRequestBodyBytes above 13107200');
    expect(byId(`${AT}.authorization`)).toMatchObject({ status: 'skip', causedBy: `${AT}.send` });
    expect(byId(`${AT}.media`)?.status).toBe('pass');
  });

  it("Traefik's buffering middleware: a plain-text 413, the same fix", () => {
    const send = sent(response(SEND, 413, 'request body too large', { headers: { 'content-type': 'text/plain; charset=utf-8' } }))(
      `${AT}.send`,
    );
    expect(send).toMatchObject({ status: 'fail', evidence: { bytes: BYTES, status: 413 } });
    expect(send?.detail).toMatch(/^Answered 413 \(text\/plain; charset=utf-8\) to a 3\.2 MiB/);
  });

  it('a header stripped by the proxy: Synapse says it is missing', () => {
    const byId = sent(jsonResponse(SEND, MISSING, 401));
    expect(byId(`${AT}.send`)?.status).toBe('pass');
    const authorization = byId(`${AT}.authorization`);
    expect(authorization).toMatchObject({
      status: 'fail',
      title: '203.0.113.10:443 (IPv4) strips the Authorization header',
      evidence: { status: 401, error: 'Missing Authorization headers' },
    });
    expect(authorization?.fix).toContain('remove proxy_set_header Authorization');
    expect(authorization?.fix).toContain('customRequestHeaders');
  });

  it('a connection closed during the upload is a failure naming the body limit; a timeout only a warning', () => {
    const reset = sent(failure(SEND, 'http', 'reset', 'connection closed during the HTTP exchange', { code: 'EPIPE' }))(`${AT}.send`);
    expect(reset).toMatchObject({ status: 'fail', fix: expect.stringContaining('client_max_body_size') });
    const byId = sent(failure(SEND, 'http', 'timeout', 'no answer within the timeout during the HTTP exchange'));
    expect(byId(`${AT}.send`)).toMatchObject({ status: 'warn', detail: expect.stringContaining('at 10 Mbit/s it takes 3 s') });
    expect(byId(`${AT}.send`)?.fix).toContain('--timeout 30');
    expect(byId(`${AT}.authorization`)?.status).toBe('skip');
  });

  it("Traefik's own 404, a redirect and a body cut on the way are failures", () => {
    const traefik = response(SEND, 404, '404 page not found\n', { headers: { 'content-type': 'text/plain; charset=utf-8' } });
    const byId = sent(traefik, response(MEDIA, 404, '404 page not found\n', { headers: { 'content-type': 'text/plain; charset=utf-8' } }));
    expect(byId(`${AT}.send`)).toMatchObject({ status: 'fail', detail: expect.stringContaining("Traefik's own 404") });
    expect(byId(`${AT}.send`)?.fix).toContain('PUT and POST too');
    expect(byId(`${AT}.media`)).toMatchObject({ status: 'fail', detail: expect.stringContaining("Traefik's own 404") });
    expect(sent(redirect(SEND, `https://${NAME}/`, 301))(`${AT}.send`)).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining(`(to https://${NAME}/): servers do not follow redirects`),
    });
    expect(sent(jsonResponse(SEND, { errcode: 'M_NOT_JSON', error: 'Content not JSON.' }, 400))(`${AT}.send`)).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('the body arrived cut or altered'),
    });
  });

  it('media the homeserver does not know: a warning (no authenticated media behind that path)', () => {
    const media = sent(
      jsonResponse(SEND, MALFORMED, 400),
      jsonResponse(MEDIA, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' }, 404),
    )(`${AT}.media`);
    expect(media).toMatchObject({ status: 'warn', detail: expect.stringContaining('does not serve authenticated media (Matrix v1.11)') });
  });

  it('a 502 from the proxy on media names the homeserver behind it', () => {
    const media = sent(
      jsonResponse(SEND, MALFORMED, 400),
      response(MEDIA, 502, '<html>Bad Gateway</html>', { headers: { 'content-type': 'text/html' } }),
    )(`${AT}.media`);
    expect(media).toMatchObject({ status: 'fail', detail: expect.stringContaining('cannot reach the homeserver behind it (502)') });
  });
});
