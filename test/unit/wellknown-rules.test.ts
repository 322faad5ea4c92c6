// The well-known rules on hand-made facts: the server file as peers read it (spec "Resolving server names" step 3),
// the client file through the spec's discovery states (client-server "Well-known URIs"), CORS
// per hop, split brain between addresses, the support file, and stale copies (failure modes F4,
// F5, F13, F14). No network.
import { describe, expect, it } from 'vitest';
import { clientDiscoveryState, judgeWellKnown } from '../../checks/rules/wellknown.ts';
import type { DocumentFetch, WellKnownFacts } from '../../checks/facts/wellknown.ts';
import type { FetchChain } from '../../checks/facts/http.ts';
import type { Plan } from '../../checks/plan/types.ts';
import { chainOf, failure, IPV4, IPV6, jsonResponse, lookup, redirect, response, untrustedTls } from './fact-builders.ts';

const NAME = 'example.org';
const MX = 'matrix.example.org';
const SERVER_URL = `https://${NAME}/.well-known/matrix/server`;
const CLIENT_URL = `https://${NAME}/.well-known/matrix/client`;
const SUPPORT_URL = `https://${NAME}/.well-known/matrix/support`;
const VERSIONS_URL = `https://${MX}/_matrix/client/versions`;
const IDENTITY_URL = 'https://id.example.net/_matrix/identity/v2';
const STAGE = 'npx tsx scripts/wellknown.ts --flavor nginx';
const CORS = { 'access-control-allow-origin': '*' };

const SERVER_DOC = { 'm.server': `${MX}:443` };
const CLIENT_DOC = { 'm.homeserver': { base_url: `https://${MX}` } };
const RTC_FOCI = [{ type: 'livekit', livekit_service_url: `https://${MX}/livekit-jwt-service` }];
const CLIENT_FILE_FIX = `Serve {"m.homeserver": {"base_url": "https://${MX}"}} at ${CLIENT_URL} (${STAGE})`;

function plan(wellKnown: Partial<Plan['wellKnown']> = {}): Plan {
  return {
    serverName: NAME,
    matrixHost: MX,
    elementHost: `element.${NAME}`,
    homeserver: 'synapse',
    federationEnabled: true,
    baseDomainServed: false,
    services: [],
    records: [],
    ports: [],
    wellKnown: { server: { ...SERVER_DOC }, client: { ...CLIENT_DOC }, ...wellKnown },
    secrets: { synapseMacaroonSecretKey: 'x', registrationSharedSecret: 'x' },
    issues: [],
  };
}

const serverFile = (chain: FetchChain, address = IPV4): DocumentFetch => ({ address, chain });
const clientFile = serverFile;

const serverJson = (doc: unknown, headers: Record<string, string> = {}) => chainOf(jsonResponse(SERVER_URL, doc, 200, { headers }));
const clientJson = (doc: unknown, headers: Record<string, string> = CORS) => chainOf(jsonResponse(CLIENT_URL, doc, 200, { headers }));
const versionsOk = () => ({
  url: VERSIONS_URL,
  chain: chainOf(jsonResponse(VERSIONS_URL, { versions: ['v1.11', 'v1.12'] }, 200, { headers: CORS })),
});

/** A healthy base domain with one IPv4 address: both files, /versions answering. */
function facts(overrides: Partial<WellKnownFacts> = {}): WellKnownFacts {
  return {
    serverName: NAME,
    lookup: lookup(NAME),
    server: [serverFile(serverJson(SERVER_DOC))],
    client: [clientFile(clientJson(CLIENT_DOC))],
    versions: versionsOk(),
    ...overrides,
  };
}

function judge(f: WellKnownFacts, p?: Plan) {
  const verdict = judgeWellKnown(f, p);
  const byId = (id: string) => {
    const found = verdict.findings.filter((x) => x.id === id);
    expect(found.length, `findings with id ${id}`).toBeLessThanOrEqual(1);
    return found[0];
  };
  return { ...verdict, byId };
}

describe('client discovery states', () => {
  it('SUCCESS: the file names a homeserver that answers /versions', () => {
    const { clientDiscovery, byId } = judge(facts());
    expect(clientDiscovery).toEqual({ state: 'SUCCESS', reason: `clients find https://${MX}`, baseUrl: `https://${MX}` });
    expect(byId('wellknown.client.discovery')).toMatchObject({ status: 'pass', detail: `SUCCESS: clients find https://${MX}` });
    expect(byId('wellknown.client.discovery')?.fix).toBeUndefined();
  });

  it('SUCCESS with a base_url ending in "/" (the spec allows it)', () => {
    expect(
      clientDiscoveryState(facts({ client: [clientFile(clientJson({ 'm.homeserver': { base_url: `https://${MX}/` } }))] })).state,
    ).toBe('SUCCESS');
  });

  it('IGNORE on 404: a warning without configuration, a failure when the playbook serves the file', () => {
    const f = facts({ client: [clientFile(chainOf(response(CLIENT_URL, 404, 'Not Found', { headers: CORS })))], versions: undefined });
    expect(clientDiscoveryState(f)).toEqual({ state: 'IGNORE', reason: 'no client well-known file (404)' });
    const alone = judge(f).byId('wellknown.client.discovery');
    expect(alone).toMatchObject({
      status: 'warn',
      detail: 'IGNORE: no client well-known file (404); users must type the homeserver URL by hand',
      fix: CLIENT_FILE_FIX,
    });
    expect(judge(f, plan()).byId('wellknown.client.discovery')?.status).toBe('fail');
  });

  const prompts: [string, FetchChain, string][] = [
    ['a 500', chainOf(response(CLIENT_URL, 500, 'Internal Server Error')), 'answered 500'],
    [
      'an empty 200',
      chainOf(response(CLIENT_URL, 200, '  \n', { headers: { 'content-type': 'application/json' } })),
      'answered 200 with an empty body',
    ],
    [
      'a body that is not JSON',
      chainOf(
        response(CLIENT_URL, 200, '{"m.homeserver": {"base_url": "https://matrix.example.org"}]', {
          headers: { 'content-type': 'application/json' },
        }),
      ),
      'the body is not a JSON object',
    ],
    ['no m.homeserver', clientJson({ 'm.identity_server': { base_url: 'https://id.example.net' } }), 'm.homeserver.base_url is missing'],
    ['m.homeserver without base_url', clientJson({ 'm.homeserver': { server_name: NAME } }), 'm.homeserver.base_url is missing'],
    [
      'a timeout',
      chainOf(failure(CLIENT_URL, 'tcp', 'timeout', 'no answer within the timeout during the TCP connect')),
      `the file could not be fetched: no answer within the timeout during the TCP connect`,
    ],
    [
      'a file over a certificate clients refuse',
      chainOf(jsonResponse(CLIENT_URL, CLIENT_DOC, 200, { headers: CORS, tls: untrustedTls('CERT_HAS_EXPIRED') })),
      `the file is served with a certificate clients refuse (CERT_HAS_EXPIRED at ${CLIENT_URL})`,
    ],
  ];

  it.each(prompts)('FAIL_PROMPT on %s, with the fix for the file', (_label, chain, reason) => {
    const f = facts({ client: [clientFile(chain)], versions: undefined });
    expect(clientDiscoveryState(f)).toEqual({ state: 'FAIL_PROMPT', reason });
    expect(judge(f).byId('wellknown.client.discovery')).toMatchObject({
      status: 'fail',
      detail: `FAIL_PROMPT: ${reason}`,
      fix: CLIENT_FILE_FIX,
    });
  });

  it.each([['matrix.example.org'], ['ftp://matrix.example.org'], [42]])('FAIL_ERROR when base_url %j is not a URL', (baseUrl) => {
    const f = facts({ client: [clientFile(clientJson({ 'm.homeserver': { base_url: baseUrl } }))], versions: undefined });
    expect(clientDiscoveryState(f)).toEqual({
      state: 'FAIL_ERROR',
      reason: `m.homeserver.base_url ${JSON.stringify(baseUrl)} is not a valid URL`,
    });
    expect(judge(f).byId('wellknown.client.discovery')).toMatchObject({ status: 'fail', fix: CLIENT_FILE_FIX });
  });

  it('FAIL_ERROR when the homeserver answers /versions with a proxy error; the fix points at the homeserver', () => {
    const f = facts({
      versions: {
        url: VERSIONS_URL,
        chain: chainOf(response(VERSIONS_URL, 502, '<html>502 Bad Gateway</html>', { headers: { 'content-type': 'text/html' } })),
      },
    });
    const state = clientDiscoveryState(f);
    expect(state).toMatchObject({ state: 'FAIL_ERROR', baseUrl: `https://${MX}`, cause: 'homeserver' });
    expect(state.reason).toBe(`https://${MX} does not answer /_matrix/client/versions with a versions list (502 from ${VERSIONS_URL})`);
    const finding = judge(f).byId('wellknown.client.discovery');
    expect(finding?.status).toBe('fail');
    expect(finding?.fix).toBe(
      `Make https://${MX} answer /_matrix/client/versions over HTTPS with a valid certificate (run checks/federation.ts for the certificate, and check the reverse proxy)`,
    );
  });

  it('FAIL_ERROR when /versions is unreachable or has no versions list', () => {
    const refused = facts({
      versions: {
        url: VERSIONS_URL,
        chain: chainOf(failure(VERSIONS_URL, 'tcp', 'refused', 'connection refused: nothing listens on that port')),
      },
    });
    expect(clientDiscoveryState(refused)).toMatchObject({
      state: 'FAIL_ERROR',
      cause: 'homeserver',
      reason: expect.stringContaining('connection refused'),
    });
    const malformed = facts({ versions: { url: VERSIONS_URL, chain: chainOf(jsonResponse(VERSIONS_URL, { versions: 'v1.11' })) } });
    expect(clientDiscoveryState(malformed)).toMatchObject({ state: 'FAIL_ERROR', cause: 'homeserver' });
    expect(clientDiscoveryState(facts({ versions: undefined }))).toMatchObject({
      state: 'FAIL_ERROR',
      reason: expect.stringContaining('(not asked)'),
    });
  });

  it('FAIL_ERROR when /versions answers over a certificate clients refuse', () => {
    const chain = chainOf(
      jsonResponse(VERSIONS_URL, { versions: ['v1.11'] }, 200, { headers: CORS, tls: untrustedTls('UNABLE_TO_VERIFY_LEAF_SIGNATURE') }),
    );
    const state = clientDiscoveryState(facts({ versions: { url: VERSIONS_URL, chain } }));
    expect(state).toEqual({
      state: 'FAIL_ERROR',
      reason: `https://${MX} has a certificate clients refuse (UNABLE_TO_VERIFY_LEAF_SIGNATURE at ${VERSIONS_URL})`,
      baseUrl: `https://${MX}`,
      cause: 'homeserver',
    });
  });

  it('FAIL_ERROR when the identity server does not answer; the fix offers to remove it', () => {
    const f = facts({
      client: [clientFile(clientJson({ ...CLIENT_DOC, 'm.identity_server': { base_url: 'https://id.example.net' } }))],
      identity: { url: IDENTITY_URL, chain: chainOf(response(IDENTITY_URL, 404, 'Not Found')) },
    });
    expect(clientDiscoveryState(f)).toEqual({
      state: 'FAIL_ERROR',
      reason: 'the identity server "https://id.example.net" does not answer /_matrix/identity/v2',
      baseUrl: `https://${MX}`,
      cause: 'identity',
    });
    expect(judge(f).byId('wellknown.client.discovery')?.fix).toContain('Remove m.identity_server from the client file');
  });

  it('SUCCESS with an identity server that answers', () => {
    const f = facts({
      client: [clientFile(clientJson({ ...CLIENT_DOC, 'm.identity_server': { base_url: 'https://id.example.net' } }))],
      identity: { url: IDENTITY_URL, chain: chainOf(jsonResponse(IDENTITY_URL, {})) },
    });
    expect(clientDiscoveryState(f).state).toBe('SUCCESS');
  });

  it('FAIL_PROMPT for an identity server without base_url', () => {
    const f = facts({ client: [clientFile(clientJson({ ...CLIENT_DOC, 'm.identity_server': {} }))] });
    expect(clientDiscoveryState(f)).toEqual({
      state: 'FAIL_PROMPT',
      reason: 'm.identity_server has no base_url',
      baseUrl: `https://${MX}`,
      cause: 'identity',
    });
  });
});

describe('the server file', () => {
  it('passes a healthy file: status, content type, m.server', () => {
    const { byId } = judge(facts(), plan());
    expect(byId('wellknown.server.status')).toMatchObject({ status: 'pass', detail: `200 from ${SERVER_URL}` });
    expect(byId('wellknown.server.content_type')?.status).toBe('pass');
    expect(byId('wellknown.server.m_server')).toMatchObject({ status: 'pass', detail: `m.server is ${MX}:443` });
    expect(byId('wellknown.server.size')).toBeUndefined();
    expect(byId('wellknown.server.json')).toBeUndefined();
  });

  it('says that an m.server without port sends servers to SRV, then 8448', () => {
    expect(judge(facts({ server: [serverFile(serverJson({ 'm.server': MX }))] })).byId('wellknown.server.m_server')?.detail).toBe(
      `m.server is ${MX} (no port: servers look up SRV for it, then use 8448)`,
    );
  });

  const grammar: [string, string, string][] = [
    [`https://${MX}:443`, 'it has a scheme (https://)', `${MX}:443`],
    [`${MX}:443/`, 'it has a path', `${MX}:443`],
    ['2001:db8::1', 'an IPv6 address must be in brackets', '[2001:db8::1]'],
    [`${MX}:0`, 'its port is not a number from 1 to 65535', `${MX}:8448`],
  ];

  it.each(grammar)('fails the m.server "%s" (%s) and suggests "%s"', (value, problem, suggestion) => {
    const finding = judge(facts({ server: [serverFile(serverJson({ 'm.server': value }))] })).byId('wellknown.server.m_server');
    expect(finding).toMatchObject({
      status: 'fail',
      detail: `m.server is "${value}": ${problem}; servers ignore the file and fall back to SRV or ${NAME}:8448`,
      fix: `Serve {"m.server": "${suggestion}"}: a host name and port, no scheme, no path`,
    });
  });

  it('without a grammar suggestion, suggests the configured m.server', () => {
    const finding = judge(facts({ server: [serverFile(serverJson({ 'm.server': `${MX}:99999` }))] }), plan()).byId(
      'wellknown.server.m_server',
    );
    expect(finding?.fix).toBe(`Serve {"m.server": "${MX}:443"}: a host name and port, no scheme, no path`);
  });

  it('fails a missing m.server and one that is not a string', () => {
    const missing = judge(facts({ server: [serverFile(serverJson({ 'm.homeserver': CLIENT_DOC['m.homeserver'] }))] })).byId(
      'wellknown.server.m_server',
    );
    expect(missing).toMatchObject({
      status: 'fail',
      detail: 'm.server is missing: servers ignore the file',
      fix: `Serve {"m.server": "${MX}:8448"}`,
    });
    const number = judge(facts({ server: [serverFile(serverJson({ 'm.server': 8448 }))] })).byId('wellknown.server.m_server');
    expect(number).toMatchObject({ status: 'fail', detail: 'm.server is not a string (8448): servers ignore the file' });
  });

  it("warns when m.server differs from the plan's", () => {
    const finding = judge(facts({ server: [serverFile(serverJson({ 'm.server': `${MX}:8448` }))] }), plan()).byId(
      'wellknown.server.m_server',
    );
    expect(finding).toMatchObject({
      status: 'warn',
      detail: `m.server is "${MX}:8448", but the playbook's configuration serves "${MX}:443"`,
      fix: `Serve {"m.server": "${MX}:443"}, or align vars.yml with where federation really is`,
    });
  });

  it('fails a body that is not JSON, with the file to serve', () => {
    const chain = chainOf(response(SERVER_URL, 200, '<!doctype html><title>Welcome</title>', { headers: { 'content-type': 'text/html' } }));
    const { byId } = judge(facts({ server: [serverFile(chain)] }), plan());
    expect(byId('wellknown.server.json')).toMatchObject({ status: 'fail', fix: `Serve exactly {"m.server": "${MX}:443"}` });
    expect(byId('wellknown.server.json')?.detail).toContain('Not a JSON object (starts with "<!doctype html>');
    expect(byId('wellknown.server.m_server')).toBeUndefined();
  });

  it('fails a body over 50 KiB (cut by the probe), which servers ignore', () => {
    const big = JSON.stringify({ ...SERVER_DOC, padding: 'x'.repeat(70 * 1024) }).slice(0, 64 * 1024);
    const chain = chainOf(response(SERVER_URL, 200, big, { headers: { 'content-type': 'application/json' }, truncated: true }));
    const { byId } = judge(facts({ server: [serverFile(chain)] }));
    expect(byId('wellknown.server.size')).toMatchObject({
      status: 'fail',
      detail: 'The body is over 50 KiB: Synapse and other servers ignore it',
      fix: `Serve only {"m.server": "…"} at ${SERVER_URL}`,
    });
    expect(byId('wellknown.server.json')?.status).toBe('fail');
  });

  it('fails a complete body between 50 and 64 KiB too', () => {
    const body = JSON.stringify({ ...SERVER_DOC, padding: 'x'.repeat(55 * 1024) });
    const chain = chainOf(response(SERVER_URL, 200, body, { headers: { 'content-type': 'application/json' } }));
    expect(judge(facts({ server: [serverFile(chain)] })).byId('wellknown.server.size')?.status).toBe('fail');
  });

  it('only warns about the content type of the server file: servers parse it anyway', () => {
    const chain = chainOf(
      response(SERVER_URL, 200, JSON.stringify(SERVER_DOC), { headers: { 'content-type': 'text/plain; charset=utf-8' } }),
    );
    const { byId } = judge(facts({ server: [serverFile(chain)] }));
    expect(byId('wellknown.server.content_type')).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('Served as text/plain'),
      fix: expect.stringContaining('application/json'),
    });
    expect(byId('wellknown.server.m_server')?.status).toBe('pass');
  });

  it('accepts application/json with parameters, in any case', () => {
    const { byId } = judge(facts({ server: [serverFile(serverJson(SERVER_DOC, { 'content-type': 'Application/JSON; charset=utf-8' }))] }));
    expect(byId('wellknown.server.content_type')?.status).toBe('pass');
  });

  it('fails a file served over a certificate servers refuse', () => {
    const chain = chainOf(jsonResponse(SERVER_URL, SERVER_DOC, 200, { tls: untrustedTls('DEPTH_ZERO_SELF_SIGNED_CERT') }));
    const finding = judge(facts({ server: [serverFile(chain)] })).byId('wellknown.server.status');
    expect(finding).toMatchObject({ status: 'fail', fix: `Serve ${SERVER_URL} with a valid certificate for ${NAME} (full chain)` });
    expect(finding?.detail).toContain(`DEPTH_ZERO_SELF_SIGNED_CERT at ${SERVER_URL}`);
  });

  it('reports redirects it followed', () => {
    const target = `https://${MX}/.well-known/matrix/server`;
    const chain = chainOf(redirect(SERVER_URL, target, 301), jsonResponse(target, SERVER_DOC));
    const { byId } = judge(facts({ server: [serverFile(chain)] }));
    expect(byId('wellknown.server.status')?.status).toBe('pass');
    expect(byId('wellknown.server.redirects')).toMatchObject({
      status: 'info',
      detail: `Followed 1 redirect(s): ${SERVER_URL} → ${target}`,
    });
  });

  describe('a 404', () => {
    const missing = () => facts({ server: [serverFile(chainOf(response(SERVER_URL, 404, 'Not Found')))] });

    it('is only info when the plan delegates federation by SRV (no server file configured)', () => {
      const finding = judge(missing(), plan({ server: undefined })).byId('wellknown.server.status');
      expect(finding).toMatchObject({
        status: 'info',
        detail: `${SERVER_URL} answers 404, as configured (matrix_static_files_file_matrix_server_enabled: false): federation is delegated by SRV`,
      });
    });

    it('fails when the plan serves a server file, with the configured m.server in the fix', () => {
      const finding = judge(missing(), plan()).byId('wellknown.server.status');
      expect(finding?.status).toBe('fail');
      expect(finding?.fix).toContain(`Serve {"m.server": "${MX}:443"} at ${SERVER_URL}`);
    });

    it('warns without a configuration', () => {
      const finding = judge(missing()).byId('wellknown.server.status');
      expect(finding?.status).toBe('warn');
      expect(finding?.detail).toContain(`connect to ${NAME}:8448 itself`);
      expect(finding?.fix).toContain(`Serve {"m.server": "${MX}:8448"}`);
    });
  });

  describe('cache headers (servers cache 24 h by default and at most 48 h)', () => {
    const withCache = (value?: string) => facts({ server: [serverFile(serverJson(SERVER_DOC, value ? { 'cache-control': value } : {}))] });

    it('no-store: fetched again for every request', () => {
      expect(judge(withCache('no-store')).byId('wellknown.server.cache')).toMatchObject({
        status: 'info',
        detail: expect.stringContaining('Cache-Control: no-store'),
      });
    });

    it('max-age over 48 h is capped', () => {
      expect(judge(withCache('public, max-age=259200')).byId('wellknown.server.cache')).toMatchObject({
        status: 'info',
        detail: 'max-age=259200: servers cap it at 48 h, so a change reaches everyone within 48 h at most',
      });
    });

    it('a max-age within bounds is reported as is', () => {
      expect(judge(withCache('max-age=3600')).byId('wellknown.server.cache')?.detail).toBe('Servers keep it 3600 s');
    });

    it('none: servers keep it 24 h', () => {
      expect(judge(withCache()).byId('wellknown.server.cache')).toMatchObject({
        status: 'info',
        detail: 'No caching headers: servers keep it 24 h, so a change takes up to a day to reach everyone',
      });
    });
  });
});

describe('the client file as clients read it', () => {
  it('fails a client file not served as application/json (Element X refuses it)', () => {
    const chain = chainOf(
      response(CLIENT_URL, 200, JSON.stringify(CLIENT_DOC), { headers: { ...CORS, 'content-type': 'application/octet-stream' } }),
    );
    const finding = judge(facts({ client: [clientFile(chain)] })).byId('wellknown.client.content_type');
    expect(finding).toMatchObject({
      status: 'fail',
      fix: 'Serve it with Content-Type: application/json (nginx: default_type application/json; in the location)',
    });
    expect(finding?.detail).toContain('Served as application/octet-stream');
  });

  it('CORS: a 302 without Access-Control-Allow-Origin fails although the final 200 has it, naming the 302', () => {
    const target = `https://${MX}/.well-known/matrix/client`;
    const chain = chainOf(redirect(CLIENT_URL, target, 302), jsonResponse(target, CLIENT_DOC, 200, { headers: CORS }));
    const finding = judge(facts({ client: [clientFile(chain)] })).byId('wellknown.client.cors');
    expect(finding?.status).toBe('fail');
    expect(finding?.detail).toBe(
      `No Access-Control-Allow-Origin on 302 from ${CLIENT_URL}: web clients (Element Web, admin UIs) cannot read it; browsers check every redirect, so the header must be on the 30x too`,
    );
    expect(finding?.detail).not.toContain(target);
    expect(finding?.fix).toBe(
      `Add the header where it is answered: nginx \`add_header Access-Control-Allow-Origin * always;\` in the location that redirects (${STAGE})`,
    );
  });

  it('CORS: passes when every hop has the header', () => {
    const target = `https://${MX}/.well-known/matrix/client`;
    const chain = chainOf(redirect(CLIENT_URL, target, 302, { headers: CORS }), jsonResponse(target, CLIENT_DOC, 200, { headers: CORS }));
    expect(judge(facts({ client: [clientFile(chain)] })).byId('wellknown.client.cors')).toMatchObject({
      status: 'pass',
      detail: 'Access-Control-Allow-Origin on every hop (2)',
    });
  });

  it('CORS: fails a final 200 without the header, and /versions without it', () => {
    const versions = { url: VERSIONS_URL, chain: chainOf(jsonResponse(VERSIONS_URL, { versions: ['v1.11'] })) };
    const { byId } = judge(facts({ client: [clientFile(clientJson(CLIENT_DOC, {}))], versions }));
    expect(byId('wellknown.client.cors')?.detail).toBe(
      `No Access-Control-Allow-Origin on 200 from ${CLIENT_URL}: web clients (Element Web, admin UIs) cannot read it`,
    );
    expect(byId('wellknown.client.versions_cors')).toMatchObject({ status: 'fail', title: 'CORS on /_matrix/client/versions' });
  });

  it('fails a homeserver URL over plain HTTP', () => {
    const httpUrl = `http://${MX}`;
    const versions = {
      url: `${httpUrl}/_matrix/client/versions`,
      chain: chainOf(jsonResponse(`${httpUrl}/_matrix/client/versions`, { versions: ['v1.11'] }, 200, { headers: CORS })),
    };
    const finding = judge(facts({ client: [clientFile(clientJson({ 'm.homeserver': { base_url: httpUrl } }))], versions })).byId(
      'wellknown.client.https',
    );
    expect(finding).toMatchObject({
      status: 'fail',
      detail: `m.homeserver.base_url is ${httpUrl}: clients send passwords over plain HTTP`,
    });
  });

  it('warns when the homeserver URL differs from the configuration, trailing slashes aside', () => {
    const other = facts({ client: [clientFile(clientJson({ 'm.homeserver': { base_url: `https://old.${NAME}` } }))] });
    expect(judge(other, plan()).byId('wellknown.client.homeserver')).toMatchObject({ status: 'warn', fix: CLIENT_FILE_FIX });
    const slash = facts({ client: [clientFile(clientJson({ 'm.homeserver': { base_url: `https://${MX}/` } }))] });
    expect(judge(slash, plan()).byId('wellknown.client.homeserver')).toBeUndefined();
  });

  describe('MatrixRTC focus (F5, F12)', () => {
    const rtcPlan = () => plan({ client: { ...CLIENT_DOC, 'org.matrix.msc4143.rtc_foci': RTC_FOCI } });

    it('fails when the configuration enables it and the served file lacks it', () => {
      const finding = judge(facts(), rtcPlan()).byId('wellknown.client.rtc_foci');
      expect(finding?.status).toBe('fail');
      expect(finding?.detail).toContain('MISSING_MATRIX_RTC_FOCUS');
      expect(finding?.fix).toContain(`"org.matrix.msc4143.rtc_foci": ${JSON.stringify(RTC_FOCI)}`);
    });

    it('fails an empty list as well', () => {
      const f = facts({ client: [clientFile(clientJson({ ...CLIENT_DOC, 'org.matrix.msc4143.rtc_foci': [] }))] });
      expect(judge(f, rtcPlan()).byId('wellknown.client.rtc_foci')?.status).toBe('fail');
    });

    it('passes when served', () => {
      const f = facts({ client: [clientFile(clientJson({ ...CLIENT_DOC, 'org.matrix.msc4143.rtc_foci': RTC_FOCI }))] });
      expect(judge(f, rtcPlan()).byId('wellknown.client.rtc_foci')).toMatchObject({
        status: 'pass',
        detail: `1 focus/foci: ${JSON.stringify(RTC_FOCI)}`,
      });
    });

    it('says nothing when neither the configuration nor the file has it', () => {
      expect(judge(facts(), plan()).byId('wellknown.client.rtc_foci')).toBeUndefined();
    });
  });
});

describe('every address of the base domain (F13)', () => {
  it('fails a split brain between IPv4 and IPv6, listing both', () => {
    const server = [
      serverFile(serverJson(SERVER_DOC), IPV4),
      serverFile(chainOf(response(SERVER_URL, 404, 'Not Found', { address: IPV6 })), IPV6),
    ];
    const finding = judge(facts({ lookup: lookup(NAME, [IPV4], [IPV6]), server })).byId('wellknown.server.addresses');
    expect(finding?.status).toBe('fail');
    expect(finding?.detail).toContain(`${IPV4} (IPv4) gives 200 {"m.server":"${MX}:443"}`);
    expect(finding?.detail).toContain(`${IPV6} (IPv6) gives 404 "Not Found"`);
    expect(finding?.fix).toContain('stale AAAA');
    expect(finding?.evidence).toEqual({ addresses: [IPV4, IPV6] });
  });

  it('passes when both families give the same answer', () => {
    const server = [serverFile(serverJson(SERVER_DOC), IPV4), serverFile(serverJson(SERVER_DOC), IPV6)];
    expect(judge(facts({ lookup: lookup(NAME, [IPV4], [IPV6]), server })).byId('wellknown.server.addresses')).toMatchObject({
      status: 'pass',
      detail: `2 addresses give the same answer: ${IPV4}, ${IPV6}`,
    });
  });

  it('fails a client split brain where IPv6 serves the file and IPv4 times out', () => {
    const client = [
      clientFile(chainOf(failure(CLIENT_URL, 'tcp', 'timeout', 'no answer within the timeout during the TCP connect')), IPV4),
      clientFile(clientJson(CLIENT_DOC), IPV6),
    ];
    const { byId, clientDiscovery } = judge(facts({ lookup: lookup(NAME, [IPV4], [IPV6]), client }));
    expect(clientDiscovery.state).toBe('SUCCESS');
    expect(byId('wellknown.client.addresses')?.status).toBe('fail');
  });

  it('fails a client split brain where IPv4 answers 404 and IPv6 serves the file', () => {
    const client = [clientFile(chainOf(response(CLIENT_URL, 404, 'Not Found')), IPV4), clientFile(clientJson(CLIENT_DOC), IPV6)];
    const { byId } = judge(facts({ lookup: lookup(NAME, [IPV4], [IPV6]), client }));
    expect(byId('wellknown.client.addresses')).toMatchObject({ status: 'fail', evidence: { addresses: [IPV4, IPV6] } });
  });

  it('fails a base domain without any address, and judges no file', () => {
    const f = facts({ lookup: { ...lookup(NAME, [], []), missing: true }, server: [], client: [], versions: undefined });
    const { byId, findings, clientDiscovery } = judge(f);
    expect(byId('wellknown.base.address')).toMatchObject({
      status: 'fail',
      detail: `${NAME} has no A or AAAA record (NXDOMAIN), so nothing can serve its /.well-known/matrix files`,
      fix: expect.stringContaining(`Give ${NAME} an A record`),
    });
    expect(findings.map((x) => x.id)).toEqual(['wellknown.base.address']);
    expect(clientDiscovery).toEqual({ state: 'FAIL_PROMPT', reason: 'the base domain has no address' });
  });
});

describe('the support file (MSC1929)', () => {
  const withSupport = (chain: FetchChain) => judge(facts({ support: chain })).byId('wellknown.support');

  it('passes contacts with a role and a way to reach them', () => {
    expect(
      withSupport(chainOf(jsonResponse(SUPPORT_URL, { contacts: [{ role: 'm.role.admin', email_address: `admin@${NAME}` }] }))),
    ).toMatchObject({ status: 'pass' });
  });

  it('passes a support page alone', () => {
    expect(withSupport(chainOf(jsonResponse(SUPPORT_URL, { support_page: `https://${NAME}/help` })))?.status).toBe('pass');
  });

  it('warns about a contact without role', () => {
    const finding = withSupport(chainOf(jsonResponse(SUPPORT_URL, { contacts: [{ matrix_id: `@admin:${NAME}` }] })));
    expect(finding).toMatchObject({
      status: 'warn',
      detail: 'The support file a contact has no role',
      fix: expect.stringContaining('m.role.admin'),
    });
  });

  it('warns about a contact without matrix_id or email_address', () => {
    expect(withSupport(chainOf(jsonResponse(SUPPORT_URL, { contacts: [{ role: 'm.role.admin' }] })))?.detail).toBe(
      'The support file a contact has neither matrix_id nor email_address',
    );
  });

  it('warns about a file with neither contacts nor support_page, and about an empty contact list', () => {
    expect(withSupport(chainOf(jsonResponse(SUPPORT_URL, {})))).toMatchObject({
      status: 'warn',
      detail: 'The support file has neither contacts nor support_page',
    });
    expect(withSupport(chainOf(jsonResponse(SUPPORT_URL, { contacts: [] })))?.detail).toBe(
      'The support file contacts must be a non-empty list',
    );
  });

  it('only informs about a missing support file (404)', () => {
    expect(withSupport(chainOf(response(SUPPORT_URL, 404, 'Not Found')))).toMatchObject({
      status: 'info',
      detail: expect.stringContaining('No /.well-known/matrix/support'),
    });
  });
});

describe("copies on the base domain versus the Matrix host's (F5)", () => {
  const copies = (server: unknown, client: unknown) => ({
    host: MX,
    server: chainOf(jsonResponse(`https://${MX}/.well-known/matrix/server`, server)),
    client: chainOf(jsonResponse(`https://${MX}/.well-known/matrix/client`, client, 200, { headers: CORS })),
  });

  it('passes equal copies, whatever the order of the top-level keys', () => {
    const here = { 'm.homeserver': { base_url: `https://${MX}` }, 'org.matrix.msc4143.rtc_foci': RTC_FOCI };
    const there = { 'org.matrix.msc4143.rtc_foci': RTC_FOCI, 'm.homeserver': { base_url: `https://${MX}` } };
    const { byId } = judge(facts({ client: [clientFile(clientJson(here))], matrixHost: copies(SERVER_DOC, there) }));
    expect(byId('wellknown.copy.server')).toMatchObject({ status: 'pass', detail: `Same as https://${MX}/.well-known/matrix/server` });
    expect(byId('wellknown.copy.client')?.status).toBe('pass');
  });

  it('passes equal copies whose nested objects list their keys in another order (same JSON value)', () => {
    const here = {
      'm.homeserver': { base_url: `https://${MX}` },
      'org.matrix.msc4143.rtc_foci': [{ type: 'livekit', livekit_service_url: `https://${MX}/livekit-jwt-service` }],
    };
    const there = {
      'm.homeserver': { base_url: `https://${MX}` },
      'org.matrix.msc4143.rtc_foci': [{ livekit_service_url: `https://${MX}/livekit-jwt-service`, type: 'livekit' }],
    };
    const { byId } = judge(facts({ client: [clientFile(clientJson(here))], matrixHost: copies(SERVER_DOC, there) }));
    expect(byId('wellknown.copy.client')?.status).toBe('pass');
  });

  it('fails a stale copy, listing the keys that differ', () => {
    const current = {
      'm.homeserver': { base_url: `https://${MX}` },
      'org.matrix.msc4143.rtc_foci': RTC_FOCI,
      'm.identity_server': { base_url: 'https://id.example.net' },
    };
    const stale = { 'm.homeserver': { base_url: `https://${MX}/` }, 'io.element.e2ee': { default: false } };
    const f = facts({ client: [clientFile(clientJson(stale))], matrixHost: copies(SERVER_DOC, current) });
    const finding = judge(f).byId('wellknown.copy.client');
    expect(finding?.status).toBe('fail');
    expect(finding?.detail).toContain(`io.element.e2ee is only here ({"default":false})`);
    expect(finding?.detail).toContain(
      `m.homeserver is {"base_url":"https://${MX}/"} here, {"base_url":"https://${MX}"} on the Matrix host`,
    );
    expect(finding?.detail).toContain(`org.matrix.msc4143.rtc_foci is missing here (Matrix host: ${JSON.stringify(RTC_FOCI)})`);
    expect(finding?.detail).toContain('m.identity_server is missing here');
    expect(finding?.fix).toBe(`Proxy or redirect /.well-known/matrix to https://${MX} instead of copying (${STAGE})`);
    expect(judge(f).byId('wellknown.copy.server')?.status).toBe('pass');
  });
});
