// The base domain's /.well-known/matrix when another web server hosts it (docs/playbook.md "Well-known files"): the
// documents the playbook serves, and nginx, Apache or Caddy configuration that either proxies
// them from the Matrix host (preferred: MDAD keeps that copy current) or serves copies with the
// headers clients need (Content-Type: application/json, Access-Control-Allow-Origin: *).
// Pure: the same plan and request give the same files.
import { InputError } from '../../checks/core/errors.ts';
import type { Plan } from '../../checks/plan/types.ts';

export const FLAVORS = ['nginx', 'apache', 'caddy', 'static'] as const;
export type Flavor = (typeof FLAVORS)[number];
export const SERVE_MODES = ['proxy', 'static'] as const;
export type Serve = (typeof SERVE_MODES)[number];

/** MSC1929 contact of /.well-known/matrix/support. */
export interface SupportContact {
  role: string;
  matrix_id?: string;
  email_address?: string;
}

export interface WellKnownRequest {
  flavor: Flavor;
  /** 'proxy' to the Matrix host, or 'static' copies (always 'static' for the static flavor). */
  serve: Serve;
  /** Folder on the web server whose .well-known/matrix/ holds the copies (static variants). */
  webRoot: string;
  /** --support-contact: served as /.well-known/matrix/support instead of the plan's. */
  contacts: readonly SupportContact[];
  supportPage?: string;
}

export interface OutputFile {
  /** Relative to --out. */
  path: string;
  content: string;
}

export interface WellKnownOutput {
  files: OutputFile[];
  /** What the person still has to do, one item a line. */
  notes: string[];
}

export type DocumentName = 'server' | 'client' | 'support';

/** MDAD's matrix_static_files_files_cache_time_hours (4) as a header. */
export const CACHE_CONTROL = 'max-age=14400';
export const DOCUMENT_DIR = '.well-known/matrix';

// ---------------------------------------------------------------------------------------------
// Input

const ROLES: Readonly<Record<string, string>> = { admin: 'm.role.admin', security: 'm.role.security' };
const MATRIX_ID = /^@[a-z0-9._=/+-]+:[A-Za-z0-9.-]+(?::\d{1,5})?$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** `--support-contact ROLE:ADDRESS`: admin or security (or a namespaced role), then a Matrix ID or an e-mail address. */
export function parseSupportContact(text: string): SupportContact {
  const colon = text.indexOf(':');
  const roleText = colon > 0 ? text.slice(0, colon) : '';
  const address = colon > 0 ? text.slice(colon + 1) : '';
  const role = ROLES[roleText] ?? (/^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+$/.test(roleText) ? roleText : undefined);
  const bad = `--support-contact "${text}": expected ROLE:ADDRESS, e.g. admin:@alice:example.org or security:security@example.org`;
  if (!role) throw new InputError(`${bad} (ROLE is admin, security or a namespaced role like m.role.admin)`);
  if (MATRIX_ID.test(address)) return { role, matrix_id: address };
  if (EMAIL.test(address)) return { role, email_address: address };
  throw new InputError(`${bad} (ADDRESS is a Matrix ID or an e-mail address)`);
}

export function checkSupportPage(url: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !['https:', 'http:'].includes(parsed.protocol))
    throw new InputError(`--support-page "${url}" is not a web address like https://example.org/help`);
  return url;
}

/** A path every flavor can carry unquoted. */
export function checkWebRoot(dir: string): string {
  if (!/^\/[A-Za-z0-9._/-]*$/.test(dir) || dir.split('/').includes('..')) {
    throw new InputError(`--web-root ${dir}: give an absolute path of letters, digits and . _ - / only`);
  }
  return dir.replace(/(.)\/+$/, '$1');
}

// ---------------------------------------------------------------------------------------------
// Documents

/** The documents to publish: the plan's, the support file replaced by --support-contact/--support-page. */
export function wellKnownDocuments(
  plan: Plan,
  req: Pick<WellKnownRequest, 'contacts' | 'supportPage'>,
): Partial<Record<DocumentName, Record<string, unknown>>> {
  const docs: Partial<Record<DocumentName, Record<string, unknown>>> = { client: plan.wellKnown.client };
  if (plan.wellKnown.server) docs.server = plan.wellKnown.server;
  if (req.contacts.length > 0 || req.supportPage !== undefined) {
    docs.support = {
      ...(req.contacts.length > 0 ? { contacts: req.contacts.map((c) => ({ ...c })) } : {}),
      ...(req.supportPage !== undefined ? { support_page: req.supportPage } : {}),
    };
  } else if (plan.wellKnown.support) docs.support = plan.wellKnown.support;
  return docs;
}

/** As the playbook writes them (to_nice_json: four spaces), with a final newline. */
export function documentText(doc: Record<string, unknown>): string {
  return `${JSON.stringify(doc, null, 4)}\n`;
}

// ---------------------------------------------------------------------------------------------
// Configuration

export const SNIPPET_FILES: Readonly<Record<Exclude<Flavor, 'static'>, string>> = {
  nginx: 'matrix-well-known.nginx.conf',
  apache: 'matrix-well-known.apache.conf',
  caddy: 'matrix-well-known.caddy',
};

const GENERATED = '# Generated from the deployment plan by scripts/wellknown.ts; run it again after changing vars.yml.';

function header(plan: Plan, req: WellKnownRequest, where: string): string[] {
  const what =
    req.serve === 'proxy'
      ? [
          `# /.well-known/matrix of ${plan.serverName}, proxied to ${plan.matrixHost}, where the playbook`,
          '# keeps the documents current (no copy to go stale; the CORS and JSON headers come from there).',
        ]
      : [
          `# /.well-known/matrix of ${plan.serverName}, served from copies in ${req.webRoot}/${DOCUMENT_DIR}/`,
          '# with the headers clients need. Copies go stale when the playbook changes them (MatrixRTC,',
          '# MAS…): generate them again after every playbook run, or use the proxy variant.',
        ];
  return [...what, ...where.split('\n').map((l) => `# ${l}`), GENERATED];
}

function nginxSnippet(plan: Plan, req: WellKnownRequest): string {
  const body =
    req.serve === 'proxy'
      ? [
          `    proxy_pass https://${plan.matrixHost};`,
          `    proxy_set_header Host ${plan.matrixHost};`,
          '    proxy_set_header X-Forwarded-For $remote_addr;',
          '    proxy_http_version 1.1;',
          "    # Name the Matrix host in TLS (SNI), so that its proxy presents the host's certificate.",
          '    proxy_ssl_server_name on;',
          `    proxy_ssl_name ${plan.matrixHost};`,
        ]
      : [
          `    root ${req.webRoot};`,
          '    # The files have no extension, and every one of them is JSON.',
          '    types { }',
          '    default_type application/json;',
          '    add_header Access-Control-Allow-Origin "*" always;',
          `    add_header Cache-Control "${CACHE_CONTROL}" always;`,
        ];
  const where = `Put it inside the HTTPS server { } block of ${plan.serverName}, e.g.:\n  include /etc/nginx/snippets/${SNIPPET_FILES.nginx};\n^~ keeps regex locations (such as a "deny dot files" rule) from taking these paths.`;
  return [...header(plan, req, where), 'location ^~ /.well-known/matrix/ {', ...body, '}', ''].join('\n');
}

function apacheSnippet(plan: Plan, req: WellKnownRequest): string {
  const target = `https://${plan.matrixHost}/${DOCUMENT_DIR}/`;
  const body =
    req.serve === 'proxy'
      ? ['SSLProxyEngine on', `ProxyPass "/${DOCUMENT_DIR}/" "${target}" nocanon`, `ProxyPassReverse "/${DOCUMENT_DIR}/" "${target}"`]
      : [
          `Alias "/${DOCUMENT_DIR}/" "${req.webRoot}/${DOCUMENT_DIR}/"`,
          `<Directory "${req.webRoot}/${DOCUMENT_DIR}">`,
          '    Require all granted',
          '    ForceType application/json',
          '    Header always set Access-Control-Allow-Origin "*"',
          `    Header always set Cache-Control "${CACHE_CONTROL}"`,
          '</Directory>',
        ];
  const modules = req.serve === 'proxy' ? 'a2enmod ssl proxy proxy_http' : 'a2enmod alias headers';
  const where = `Put it inside the <VirtualHost *:443> of ${plan.serverName} (modules: ${modules}), e.g.:\n  Include /etc/apache2/snippets/${SNIPPET_FILES.apache}`;
  return [...header(plan, req, where), ...body, ''].join('\n');
}

function caddySnippet(plan: Plan, req: WellKnownRequest): string {
  const body =
    req.serve === 'proxy'
      ? [`\treverse_proxy https://${plan.matrixHost} {`, '\t\theader_up Host {http.reverse_proxy.upstream.hostport}', '\t}']
      : [
          `\troot * ${req.webRoot}`,
          '\theader Content-Type application/json',
          '\theader Access-Control-Allow-Origin *',
          `\theader Cache-Control "${CACHE_CONTROL}"`,
          '\tfile_server',
        ];
  const where = `Put it inside the ${plan.serverName} { } site block of the Caddyfile (Caddy 2), e.g.:\n  import /etc/caddy/${SNIPPET_FILES.caddy}\nA redir in the same site block runs before any handle: put it in a handle { } of its own.`;
  return [...header(plan, req, where), `handle /${DOCUMENT_DIR}/* {`, ...body, '}', ''].join('\n');
}

/** Netlify's and Cloudflare Pages' _headers file; other hosts have the same three settings. */
function headersFile(plan: Plan): string {
  return [
    `# The headers of /.well-known/matrix/* on ${plan.serverName} (Netlify, Cloudflare Pages: this _headers file at the`,
    "# site root; elsewhere set the same headers on these files in the host's settings).",
    GENERATED,
    `/${DOCUMENT_DIR}/*`,
    '  Content-Type: application/json',
    '  Access-Control-Allow-Origin: *',
    `  Cache-Control: ${CACHE_CONTROL}`,
    '',
  ].join('\n');
}

const SUPPORT_VARS = 'matrix_static_files_file_matrix_support';

function supportVarsNote(docs: Partial<Record<DocumentName, Record<string, unknown>>>): string {
  const support = docs.support ?? {};
  const lines = [`${SUPPORT_VARS}_enabled: true`];
  if (support['contacts']) lines.push(`${SUPPORT_VARS}_property_m_contacts: ${JSON.stringify(support['contacts'])}`);
  if (support['support_page']) lines.push(`${SUPPORT_VARS}_property_m_support_page: ${JSON.stringify(support['support_page'])}`);
  return `The proxy serves the Matrix host's support file: to publish these contacts, add to vars.yml and run the playbook (setup-all):\n${lines.map((l) => `  ${l}`).join('\n')}`;
}

/** The files of a request: the snippet, and for copies the documents (and _headers for the static flavor). */
export function wellKnownOutput(plan: Plan, req: WellKnownRequest): WellKnownOutput {
  const docs = wellKnownDocuments(plan, req);
  const files: OutputFile[] = [];
  const notes: string[] = [];
  if (req.flavor !== 'static') {
    const snippet = { nginx: nginxSnippet, apache: apacheSnippet, caddy: caddySnippet }[req.flavor](plan, req);
    files.push({ path: SNIPPET_FILES[req.flavor], content: snippet });
  }
  if (req.serve === 'static') {
    for (const name of ['server', 'client', 'support'] as const) {
      const doc = docs[name];
      if (doc) files.push({ path: `${DOCUMENT_DIR}/${name}`, content: documentText(doc) });
    }
    if (req.flavor === 'static') files.push({ path: '_headers', content: headersFile(plan) });
    notes.push(
      `Copy ${DOCUMENT_DIR}/ into ${req.flavor === 'static' ? 'the web root of ' + plan.serverName : req.webRoot} (readable by the web server), and generate the copies again after every playbook run: they are what the playbook serves on ${plan.matrixHost} today.`,
    );
    if (req.flavor === 'static') {
      notes.push(
        `Serve them with Content-Type: application/json, Access-Control-Allow-Origin: * and Cache-Control: ${CACHE_CONTROL} (the _headers file does it on Netlify and Cloudflare Pages).`,
      );
    }
  } else if (req.contacts.length > 0 || req.supportPage !== undefined) {
    notes.push(supportVarsNote(docs));
  }
  if (!docs.server)
    notes.push('No server file: the plan delegates federation with an SRV record (matrix_static_files_file_matrix_server_enabled: false).');
  if (plan.baseDomainServed) {
    notes.push(
      `vars.yml has matrix_static_files_container_labels_base_domain_enabled: true: the playbook itself serves ${plan.serverName} and its well-known files; you need this only if another web server answers for ${plan.serverName}.`,
    );
  }
  notes.push(`Then check it from outside: npx tsx checks/wellknown.ts ${plan.serverName} --vars <vars.yml>`);
  return { files, notes };
}

// ---------------------------------------------------------------------------------------------
// nginx -t

/**
 * A whole nginx.conf for `nginx -t -p PREFIX` around the snippet: every path inside the prefix,
 * and the Matrix host pinned to 127.0.0.1 as an upstream group, so that the test reads the
 * snippet and does not depend on DNS.
 */
export function nginxTestConfig(prefix: string, snippetFile: string, plan: Plan): string {
  return `pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log;
events { worker_connections 16; }
http {
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  upstream ${plan.matrixHost} { server 127.0.0.1:443; }
  server {
    listen 127.0.0.1:8443;
    server_name ${plan.serverName};
    include ${snippetFile};
  }
}
`;
}
