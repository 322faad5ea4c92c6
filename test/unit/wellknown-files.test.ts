// The well-known stage's pure part: the documents from the plan (MatrixRTC foci, support
// contacts), the files of each flavor, Apache and Caddy output against golden files and a
// structural parser each (neither server is installed; nginx is tested for real in
// test/stages/wellknown.test.ts and test/lab/wellknown-nginx.test.ts).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { planFromVars } from '../../checks/plan/plan.ts';
import {
  checkWebRoot,
  documentText,
  parseSupportContact,
  SNIPPET_FILES,
  wellKnownDocuments,
  wellKnownOutput,
} from '../../scripts/lib/wellknown-files.ts';
import type { Flavor, Serve, WellKnownRequest } from '../../scripts/lib/wellknown-files.ts';
import { parseApache, parseCaddyfile, shape, SyntaxProblem } from './config-syntax.ts';

const BASE = {
  matrix_domain: 'example.org',
  matrix_homeserver_implementation: 'synapse',
  matrix_playbook_reverse_proxy_type: 'playbook-managed-traefik',
  matrix_homeserver_generic_secret_key: 'a-generic-secret-for-the-tests',
};
const plan = planFromVars(BASE);
const request = (flavor: Flavor, serve: Serve, over: Partial<WellKnownRequest> = {}): WellKnownRequest => ({
  flavor,
  serve,
  webRoot: '/var/www/example.org',
  contacts: [],
  ...over,
});
const snippet = (flavor: Exclude<Flavor, 'static'>, serve: Serve, p = plan) =>
  wellKnownOutput(p, request(flavor, serve)).files.find((f) => f.path === SNIPPET_FILES[flavor])!.content;
const golden = (name: string) => readFileSync(`test/fixtures/wellknown/${name}.golden`, 'utf8');

describe('the documents', () => {
  it("are the plan's: m.server, m.homeserver (and what the services add)", () => {
    const docs = wellKnownDocuments(plan, { contacts: [] });
    expect(docs.server).toEqual({ 'm.server': 'matrix.example.org:8448' });
    expect(docs.client).toEqual(plan.wellKnown.client);
    expect(docs.client?.['m.homeserver']).toEqual({ base_url: 'https://matrix.example.org' });
    expect(docs.support).toBeUndefined();
  });

  it('carry org.matrix.msc4143.rtc_foci when MatrixRTC is on', () => {
    const rtc = planFromVars({ ...BASE, matrix_rtc_enabled: true });
    expect(wellKnownDocuments(rtc, { contacts: [] }).client?.['org.matrix.msc4143.rtc_foci']).toEqual([
      { type: 'livekit', livekit_service_url: 'https://matrix.example.org/livekit-jwt-service' },
    ]);
    expect(wellKnownDocuments(plan, { contacts: [] }).client).not.toHaveProperty('org.matrix.msc4143.rtc_foci');
  });

  it("support: the plan's when vars.yml enables it, replaced by --support-contact/--support-page", () => {
    const supported = planFromVars({
      ...BASE,
      matrix_static_files_file_matrix_support_enabled: true,
      matrix_static_files_file_matrix_support_property_m_contacts: [{ matrix_id: '@bob:example.org', role: 'm.role.admin' }],
    });
    expect(wellKnownDocuments(supported, { contacts: [] }).support).toEqual({
      contacts: [{ matrix_id: '@bob:example.org', role: 'm.role.admin' }],
    });
    const contacts = [parseSupportContact('admin:@alice:example.org'), parseSupportContact('security:security@example.org')];
    expect(wellKnownDocuments(supported, { contacts, supportPage: 'https://example.org/help' }).support).toEqual({
      contacts: [
        { role: 'm.role.admin', matrix_id: '@alice:example.org' },
        { role: 'm.role.security', email_address: 'security@example.org' },
      ],
      support_page: 'https://example.org/help',
    });
  });

  it('no server file when federation is delegated by SRV', () => {
    const srv = planFromVars({ ...BASE, matrix_static_files_file_matrix_server_enabled: false });
    const out = wellKnownOutput(srv, request('nginx', 'static'));
    expect(out.files.map((f) => f.path)).toEqual(['matrix-well-known.nginx.conf', '.well-known/matrix/client']);
    expect(out.notes.join('\n')).toContain('delegates federation with an SRV record');
  });

  it("are JSON as the playbook writes it (four spaces), and parse back to the plan's", () => {
    const text = documentText(plan.wellKnown.server!);
    expect(text).toBe('{\n    "m.server": "matrix.example.org:8448"\n}\n');
    expect(JSON.parse(documentText(plan.wellKnown.client))).toEqual(plan.wellKnown.client);
  });
});

describe('--support-contact and --web-root', () => {
  it.each([
    ['admin:@alice:example.org', { role: 'm.role.admin', matrix_id: '@alice:example.org' }],
    ['security:sec@example.org', { role: 'm.role.security', email_address: 'sec@example.org' }],
    ['m.role.admin:@a:matrix.example.org:8448', { role: 'm.role.admin', matrix_id: '@a:matrix.example.org:8448' }],
  ])('%s', (text, contact) => {
    expect(parseSupportContact(text)).toEqual(contact);
  });

  it.each(['alice', 'boss:@alice:example.org', 'admin:alice', 'admin:', ':@alice:example.org'])('rejects %j with one line', (text) => {
    expect(() => parseSupportContact(text)).toThrow(/^--support-contact ".*": expected ROLE:ADDRESS, e\.g\. admin:@alice:example\.org/);
  });

  it('web roots: absolute and plain, so that no flavor needs quoting', () => {
    expect(checkWebRoot('/var/www/example.org/')).toBe('/var/www/example.org');
    for (const bad of ['var/www', '/var/www/my site', '/var/www/a;b', '/var/www/../etc', '/srv/"x"'])
      expect(() => checkWebRoot(bad)).toThrow('--web-root');
  });
});

describe('the files of each flavor', () => {
  it.each([
    ['nginx', 'proxy', ['matrix-well-known.nginx.conf']],
    ['nginx', 'static', ['matrix-well-known.nginx.conf', '.well-known/matrix/server', '.well-known/matrix/client']],
    ['apache', 'proxy', ['matrix-well-known.apache.conf']],
    ['apache', 'static', ['matrix-well-known.apache.conf', '.well-known/matrix/server', '.well-known/matrix/client']],
    ['caddy', 'proxy', ['matrix-well-known.caddy']],
    ['caddy', 'static', ['matrix-well-known.caddy', '.well-known/matrix/server', '.well-known/matrix/client']],
    ['static', 'static', ['.well-known/matrix/server', '.well-known/matrix/client', '_headers']],
  ] as const)('%s, %s', (flavor, serve, paths) => {
    const out = wellKnownOutput(plan, request(flavor, serve));
    expect(out.files.map((f) => f.path)).toEqual(paths);
    for (const f of out.files.filter((f) => f.path.startsWith('.well-known/'))) {
      const name = f.path.split('/').at(-1) as 'server' | 'client';
      expect(JSON.parse(f.content)).toEqual(plan.wellKnown[name]);
    }
  });

  it('the static flavor names the three headers in a _headers file', () => {
    const headers = wellKnownOutput(plan, request('static', 'static')).files.find((f) => f.path === '_headers')!.content;
    expect(headers.split('\n').filter((l) => !l.startsWith('#'))).toEqual([
      '/.well-known/matrix/*',
      '  Content-Type: application/json',
      '  Access-Control-Allow-Origin: *',
      '  Cache-Control: max-age=14400',
      '',
    ]);
  });

  it('proxy with support contacts: the vars.yml lines that make the Matrix host serve them', () => {
    const out = wellKnownOutput(plan, request('nginx', 'proxy', { contacts: [parseSupportContact('admin:@alice:example.org')] }));
    expect(out.files.map((f) => f.path)).toEqual(['matrix-well-known.nginx.conf']);
    expect(out.notes[0]).toBe(
      "The proxy serves the Matrix host's support file: to publish these contacts, add to vars.yml and run the playbook (setup-all):\n" +
        '  matrix_static_files_file_matrix_support_enabled: true\n' +
        '  matrix_static_files_file_matrix_support_property_m_contacts: [{"role":"m.role.admin","matrix_id":"@alice:example.org"}]',
    );
  });

  it('same input, same output', () => {
    for (const flavor of ['nginx', 'apache', 'caddy', 'static'] as const) {
      for (const serve of flavor === 'static' ? (['static'] as const) : (['proxy', 'static'] as const)) {
        expect(wellKnownOutput(planFromVars(BASE), request(flavor, serve))).toEqual(wellKnownOutput(plan, request(flavor, serve)));
      }
    }
  });

  it("nginx: the proxy names the Matrix host for SNI and as Host, as MDAD's docs say", () => {
    expect(snippet('nginx', 'proxy')).toBe(golden('nginx-proxy'));
    expect(snippet('nginx', 'static')).toBe(golden('nginx-static'));
    expect(snippet('nginx', 'proxy')).toMatch(
      /proxy_pass https:\/\/matrix\.example\.org;\n {4}proxy_set_header Host matrix\.example\.org;[\s\S]*proxy_ssl_server_name on;/,
    );
  });
});

describe('Apache: golden files and structure', () => {
  it.each(['proxy', 'static'] as const)('%s equals its golden file', (serve) => {
    expect(snippet('apache', serve)).toBe(golden(`apache-${serve}`));
  });

  it('proxy: SSL proxy engine on, ProxyPass with nocanon and ProxyPassReverse to the Matrix host', () => {
    expect(shape(parseApache(snippet('apache', 'proxy')))).toEqual([
      ['SSLProxyEngine', 'on'],
      ['ProxyPass', '/.well-known/matrix/', 'https://matrix.example.org/.well-known/matrix/', 'nocanon'],
      ['ProxyPassReverse', '/.well-known/matrix/', 'https://matrix.example.org/.well-known/matrix/'],
    ]);
  });

  it('static: the alias and a <Directory> of the same folder forcing JSON with CORS', () => {
    expect(shape(parseApache(snippet('apache', 'static')))).toEqual([
      ['Alias', '/.well-known/matrix/', '/var/www/example.org/.well-known/matrix/'],
      [
        'Directory',
        '/var/www/example.org/.well-known/matrix',
        [
          ['Require', 'all', 'granted'],
          ['ForceType', 'application/json'],
          ['Header', 'always', 'set', 'Access-Control-Allow-Origin', '*'],
          ['Header', 'always', 'set', 'Cache-Control', 'max-age=14400'],
        ],
      ],
    ]);
  });

  it('the parser is not a rubber stamp', () => {
    const text = snippet('apache', 'static');
    for (const [broken, problem] of [
      [text.replace('</Directory>', ''), '<Directory> is never closed'],
      [text.replace('</Directory>', '</Location>'), '</Location> closes nothing open'],
      [text.replace('ForceType application/json', 'ForceType'), 'ForceType takes 1-1 arguments, got 0'],
      [text.replace('Header always set Cache-Control "max-age=14400"', 'Header always set Cache-Control "max-age=14400'), 'unclosed quote'],
      [`${text}ForceType text/plain\n`, 'ForceType is not allowed in vhost'],
      [text.replace('SSLProxyEngine', 'SSLProxyEngin').replace('Alias', 'Alais'), 'unknown directive Alais'],
    ] as const) {
      expect(() => parseApache(broken), problem).toThrow(SyntaxProblem);
      expect(() => parseApache(broken)).toThrow(problem);
    }
  });
});

describe('Caddy: golden files and structure', () => {
  it.each(['proxy', 'static'] as const)('%s equals its golden file', (serve) => {
    expect(snippet('caddy', serve)).toBe(golden(`caddy-${serve}`));
  });

  it('proxy: a handle of /.well-known/matrix/* with reverse_proxy to the Matrix host, Host rewritten to the upstream', () => {
    expect(shape(parseCaddyfile(snippet('caddy', 'proxy')))).toEqual([
      [
        'handle',
        '/.well-known/matrix/*',
        [['reverse_proxy', 'https://matrix.example.org', [['header_up', 'Host', '{http.reverse_proxy.upstream.hostport}']]]],
      ],
    ]);
  });

  it('static: root, the JSON type and CORS headers, file_server', () => {
    expect(shape(parseCaddyfile(snippet('caddy', 'static')))).toEqual([
      [
        'handle',
        '/.well-known/matrix/*',
        [
          ['root', '*', '/var/www/example.org'],
          ['header', 'Content-Type', 'application/json'],
          ['header', 'Access-Control-Allow-Origin', '*'],
          ['header', 'Cache-Control', 'max-age=14400'],
          ['file_server'],
        ],
      ],
    ]);
  });

  it('the parser is not a rubber stamp', () => {
    const text = snippet('caddy', 'proxy');
    for (const [broken, problem] of [
      [text.replace(/\n\}\n$/, '\n'), 'handle { is never closed'],
      [`${text}}\n`, '} closes nothing open'],
      [text.replace('{http.reverse_proxy.upstream.hostport}', '{http.reverse_proxy.upstream.hostport'), 'stray brace'],
      [text.replace('https://matrix.example.org {', 'https://matrix.example.org { header_up Host x'), 'stray brace'],
      [text.replace('\t\theader_up', '\t\theader_upp'), 'unknown directive header_upp'],
      [`${text}header_up Host x\n`, 'header_up is not allowed in site'],
    ] as const) {
      expect(() => parseCaddyfile(broken), problem).toThrow(SyntaxProblem);
      expect(() => parseCaddyfile(broken)).toThrow(problem);
    }
  });
});
