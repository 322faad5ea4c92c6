// The base domain's /.well-known/matrix when another web server hosts it (docs/playbook.md "Well-known files"): the
// documents the playbook serves, and nginx, Apache or Caddy configuration that either proxies
// them from the Matrix host (preferred: MDAD keeps that copy current) or serves copies with the
// headers clients need (Content-Type: application/json, Access-Control-Allow-Origin: *).
// The snippets are the files of templates/well-known/, filled in from the plan; the same plan and
// request give the same files.
import { InputError } from '../../checks/core/errors.ts';
import type { Plan } from '../../checks/plan/types.ts';
import { renderTemplate } from './templates.ts';

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

/** A file of templates/well-known/ for this plan and request. */
function renderWellKnown(template: string, plan: Plan, req: WellKnownRequest, snippetFile = ''): string {
  return renderTemplate(`well-known/${template}`, {
    serverName: plan.serverName,
    matrixHost: plan.matrixHost,
    webRoot: req.webRoot,
    cacheControl: CACHE_CONTROL,
    snippetFile,
    generated: GENERATED,
  });
}

const SNIPPET_TEMPLATES: Readonly<Record<Exclude<Flavor, 'static'>, string>> = { nginx: 'conf', apache: 'conf', caddy: 'caddy' };

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
    const template = `${req.flavor}-${req.serve}.${SNIPPET_TEMPLATES[req.flavor]}`;
    files.push({ path: SNIPPET_FILES[req.flavor], content: renderWellKnown(template, plan, req, SNIPPET_FILES[req.flavor]) });
  }
  if (req.serve === 'static') {
    for (const name of ['server', 'client', 'support'] as const) {
      const doc = docs[name];
      if (doc) files.push({ path: `${DOCUMENT_DIR}/${name}`, content: documentText(doc) });
    }
    if (req.flavor === 'static') files.push({ path: '_headers', content: renderWellKnown('_headers', plan, req) });
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
 * A whole nginx.conf for `nginx -t -p PREFIX` around the snippet (templates/well-known/nginx-validate.conf):
 * every path inside the prefix, and the Matrix host pinned to 127.0.0.1 as an upstream group, so
 * that the test reads the snippet and does not depend on DNS.
 */
export function nginxTestConfig(prefix: string, snippetFile: string, plan: Plan): string {
  return renderTemplate('well-known/nginx-validate.conf', {
    prefix,
    snippetFile,
    serverName: plan.serverName,
    matrixHost: plan.matrixHost,
  });
}
