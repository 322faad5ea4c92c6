// The deployment plan: a pure function of an MDAD configuration (docs/architecture.md "The plan").
// No I/O here; load.ts reads the files.

import { InputError } from '../core/errors.ts';
import type { DnsRecordSpec, InventoryHost, Plan, PlanIssue, PortSpec, Service } from './types.ts';
import { obsoleteIssues, validationIssues } from './obsolete.ts';
import { deriveSecrets } from './secrets.ts';
import { baseFallbacks, isServiceEnabled, MANAGED_TRAEFIK, portOf, readVars, serviceHost, SERVICES } from './services.ts';
import type { RecordDraft, ServiceContext, ServiceDef, VarReader } from './services.ts';

export interface PlanOptions {
  /** The inventory host the vars belong to (its address fills in the SPF record when it is an IPv4). */
  host?: InventoryHost;
  /** matrix_playbook_migration_expected_version of the checkout, when known. */
  expectedMigrationVersion?: string;
}

/** Key order of MDAD's client.j2 template, so generated files read like the playbook's. */
const CLIENT_KEY_ORDER = [
  'm.homeserver',
  'm.identity_server',
  'm.integrations',
  'io.element.jitsi',
  'im.vector.riot.jitsi',
  'org.matrix.msc3575.proxy',
  'org.matrix.msc2965.authentication',
  'm.tile_server',
  'io.element.e2ee',
  'im.vector.riot.e2ee',
  'cc.etke.ketesa',
  'org.matrix.msc4143.rtc_foci',
];

/** Services bound by Traefik's own entrypoints: sharing a port among them is normal. */
const TRAEFIK_PORT_SERVICES = new Set(['traefik', 'reverse-proxy', 'federation', 'livekit-jwt-service']);

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

function hostname(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Ansible's combine(recursive=True): mappings merge, everything else is replaced. */
export function combineRecursive(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    out[key] = isRecord(current) && isRecord(value) ? combineRecursive(current, value) : value;
  }
  return out;
}

/** A *_configuration_extension_json variable: a JSON object in a string (or already a mapping). */
function extensionJson(vars: VarReader, variable: string, issues: PlanIssue[]): Record<string, unknown> {
  const value = vars.value(variable);
  if (value === undefined || value === null) return {};
  if (isRecord(value)) return value;
  if (typeof value === 'string') {
    try {
      const parsed: unknown = JSON.parse(value.trim() === '' ? '{}' : value);
      // MDAD ignores an extension that is valid JSON but not an object.
      return isRecord(parsed) ? parsed : {};
    } catch {
      issues.push({
        variable,
        kind: 'invalid',
        reason: 'is not valid JSON',
        fix: `Make \`${variable}\` a JSON object, e.g. '{"key": "value"}'.`,
      });
    }
  }
  return {};
}

function orderKeys(doc: Record<string, unknown>, order: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of order) if (key in doc) out[key] = doc[key];
  for (const key of Object.keys(doc)) if (!(key in out)) out[key] = doc[key];
  return out;
}

/** A service served on `host`: nothing on the Matrix host itself, A/AAAA on the apex, else a CNAME. */
function hostRecords(host: string, ctx: ServiceContext): RecordDraft[] {
  if (host === ctx.matrixHost) return [];
  if (host === ctx.serverName) {
    return [
      { name: host, type: 'A', required: true, note: 'a CNAME is not allowed on the base domain; point it at the server' },
      { name: host, type: 'AAAA', required: false, note: 'recommended when the server has IPv6' },
    ];
  }
  return [{ name: host, type: 'CNAME', value: ctx.matrixHost, required: true, note: 'or A/AAAA records pointing at the server' }];
}

function mergeRecords(records: DnsRecordSpec[]): DnsRecordSpec[] {
  const out = new Map<string, DnsRecordSpec>();
  for (const record of records) {
    const key = `${record.name} ${record.type} ${record.type === 'TXT' ? (record.value ?? record.note ?? '') : ''}`;
    const seen = out.get(key);
    if (seen) seen.required ||= record.required;
    else out.set(key, { ...record, name: hostname(record.name) });
  }
  return [...out.values()];
}

/** SRV delegation is needed only when the server well-known file is off (docs/playbook.md "Services and DNS records"). */
function srvRecord(ctx: ServiceContext, serverFileEnabled: boolean): DnsRecordSpec | undefined {
  if (serverFileEnabled || !ctx.federationEnabled) return undefined;
  if (ctx.serverName === ctx.matrixHost && ctx.federationPort === 8448) return undefined;
  return {
    name: `_matrix-fed._tcp.${ctx.serverName}`,
    type: 'SRV',
    value: `10 0 ${ctx.federationPort} ${ctx.matrixHost}`,
    service: 'federation',
    required: true,
    note: `delegation by SRV (matrix_static_files_file_matrix_server_enabled: false); servers older than Matrix 1.8 look up _matrix._tcp instead; port ${ctx.federationPort} must then present a certificate for ${ctx.serverName}`,
  };
}

function collectPorts(defs: readonly ServiceDef[], ctx: ServiceContext): Array<PortSpec & { variable: string }> {
  const out: Array<PortSpec & { variable: string }> = [];
  for (const def of defs) {
    for (const rule of def.ports ?? []) {
      if (rule.when && !rule.when(ctx)) continue;
      const { port, endPort } = portOf(rule, ctx.vars);
      const spec: PortSpec & { variable: string } = {
        port,
        protocol: rule.protocol,
        service: def.id,
        purpose: rule.purpose,
        variable: rule.variable,
      };
      if (endPort !== undefined && endPort !== port) spec.endPort = endPort;
      out.push(spec);
    }
  }
  return out;
}

const last = (p: PortSpec): number => p.endPort ?? p.port;
const overlaps = (a: PortSpec, b: PortSpec): boolean => a.protocol === b.protocol && a.port <= last(b) && b.port <= last(a);

/** Two programs cannot bind the same port: report overlaps outside Traefik's shared entrypoints. */
function portConflicts(ports: ReadonlyArray<PortSpec & { variable: string }>): PlanIssue[] {
  const issues: PlanIssue[] = [];
  ports.forEach((b, i) => {
    const a = ports.slice(0, i).find((p) => p.service !== b.service && overlaps(p, b));
    if (!a || (TRAEFIK_PORT_SERVICES.has(a.service) && TRAEFIK_PORT_SERVICES.has(b.service))) return;
    const show = (p: PortSpec): string => `${p.port}${p.endPort ? `-${p.endPort}` : ''}/${p.protocol}`;
    issues.push({
      variable: b.variable,
      kind: 'invalid',
      reason: `${b.service} wants ${show(b)}, which overlaps ${a.service}'s ${show(a)}`,
      fix: `Give \`${b.variable}\` a value outside ${show(a)}.`,
    });
  });
  return issues;
}

function dedupePorts(ports: ReadonlyArray<PortSpec & { variable: string }>): PortSpec[] {
  const out = new Map<string, PortSpec>();
  for (const { variable: _variable, ...spec } of ports) {
    const key = `${spec.port}-${spec.endPort ?? spec.port}/${spec.protocol}`;
    if (!out.has(key)) out.set(key, spec);
  }
  return [...out.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol) || last(a) - last(b));
}

function clientWellKnown(defs: readonly ServiceDef[], ctx: ServiceContext, issues: PlanIssue[]): Record<string, unknown> {
  const v = ctx.vars;
  const p = 'matrix_static_files_file_matrix_client_property_';
  let doc: Record<string, unknown> = {
    'm.homeserver': { base_url: v.str(`${p}m_homeserver_base_url`) || ctx.homeserverUrl },
  };
  const identity = v.str(`${p}m_identity_server_base_url`) || v.str('matrix_identity_server_url');
  if (identity) doc['m.identity_server'] = { base_url: identity };
  const apiUrl = v.str(`${p}m_integrations_managers_api_url`) || v.str('matrix_integration_manager_rest_url');
  const uiUrl = v.str(`${p}m_integrations_managers_ui_url`) || v.str('matrix_integration_manager_ui_url');
  if (apiUrl && uiUrl) doc['m.integrations'] = { managers: [{ api_url: apiUrl, ui_url: uiUrl }] };
  const slidingSync = v.str(`${p}org_matrix_msc3575_proxy_url`);
  if (slidingSync) doc['org.matrix.msc3575.proxy'] = { url: slidingSync };
  if (v.bool(`${p}m_tile_server_entries_enabled`, v.bool('matrix_client_element_location_sharing_enabled', false))) {
    const ssl = v.bool('matrix_playbook_ssl_enabled', true);
    doc['m.tile_server'] = {
      map_style_url: v.str(`${p}m_tile_server_map_style_url`) || `${ssl ? 'https' : 'http'}://${ctx.elementFqn}/map_style.json`,
    };
  }
  const e2eeDefault = v.bool(`${p}io_element_e2ee_default`, true);
  const e2eeForceDisable = v.bool(`${p}io_element_e2ee_force_disable`, false);
  if (v.bool(`${p}io_element_e2ee_entries_enabled`, !e2eeDefault || e2eeForceDisable)) {
    doc['io.element.e2ee'] = { default: e2eeDefault, force_disable: e2eeForceDisable };
    doc['im.vector.riot.e2ee'] = { default: e2eeDefault };
  }
  for (const def of defs) {
    if (def.wellKnownClient && ctx.isEnabled(def.id)) Object.assign(doc, def.wellKnownClient(ctx));
  }
  doc = orderKeys(doc, CLIENT_KEY_ORDER);
  return combineRecursive(doc, extensionJson(v, 'matrix_static_files_file_matrix_client_configuration_extension_json', issues));
}

function serverWellKnown(ctx: ServiceContext, issues: PlanIssue[]): Record<string, unknown> | undefined {
  const v = ctx.vars;
  if (!v.bool('matrix_static_files_file_matrix_server_enabled', true)) return undefined;
  const federationHost = hostname(v.str('matrix_server_fqn_matrix_federation') || ctx.matrixHost);
  const mServer = v.str('matrix_static_files_file_matrix_server_property_m_server') || `${federationHost}:${ctx.federationPort}`;
  return combineRecursive(
    { 'm.server': mServer },
    extensionJson(v, 'matrix_static_files_file_matrix_server_configuration_extension_json', issues),
  );
}

function supportWellKnown(ctx: ServiceContext, issues: PlanIssue[]): Record<string, unknown> | undefined {
  const v = ctx.vars;
  if (!v.bool('matrix_static_files_file_matrix_support_enabled', false)) return undefined;
  const contacts = v.value('matrix_static_files_file_matrix_support_property_m_contacts');
  const doc: Record<string, unknown> = { contacts: Array.isArray(contacts) ? contacts : [] };
  const page = v.str('matrix_static_files_file_matrix_support_property_m_support_page');
  if (page) doc['support_page'] = page;
  return combineRecursive(doc, extensionJson(v, 'matrix_static_files_file_matrix_support_configuration_extension_json', issues));
}

function buildContext(vars: VarReader, serverName: string, host: InventoryHost | undefined): ServiceContext {
  const matrixHost = hostname(vars.str('matrix_server_fqn_matrix') || `matrix.${serverName}`);
  const reverseProxyType = vars.str('matrix_playbook_reverse_proxy_type') ?? '';
  const ssl = vars.bool('matrix_playbook_ssl_enabled', true);
  const enabled = new Map<string, boolean>();
  for (const def of SERVICES) enabled.set(def.id, isServiceEnabled(def, vars));
  const ctx: ServiceContext = {
    vars,
    serverName,
    matrixHost,
    elementFqn: hostname(vars.str('matrix_server_fqn_element') || `element.${serverName}`),
    homeserverUrl: `${ssl ? 'https' : 'http'}://${matrixHost}`,
    reverseProxyType,
    http3: reverseProxyType === MANAGED_TRAEFIK && vars.bool('traefik_config_entrypoint_web_secure_http3_enabled', true),
    federationEnabled: vars.bool('matrix_homeserver_federation_enabled', true),
    federationPort: vars.int('matrix_federation_public_port', 8448),
    isEnabled: (id) => enabled.get(id) ?? false,
  };
  if (host?.address && IPV4.test(host.address)) ctx.ipv4 = host.address;
  return ctx;
}

function buildPlan(raw: Record<string, unknown>, options: PlanOptions, judge: boolean): Plan {
  const vars = readVars(raw, baseFallbacks());
  const domain = vars.str('matrix_domain');
  if (!domain || domain.trim() === '') throw new InputError('matrix_domain is missing or empty');
  const serverName = hostname(domain);
  const ctx = buildContext(vars, serverName, options.host);
  const implementation = vars.str('matrix_homeserver_implementation') ?? 'synapse';

  const services: Service[] = SERVICES.map((def) => ({
    id: def.id,
    title: def.id === 'homeserver' ? `Matrix homeserver (${implementation})` : def.title,
    enabled: ctx.isEnabled(def.id),
    enabledBy: def.enabledBy,
  }));
  const enabledDefs = SERVICES.filter((def) => ctx.isEnabled(def.id));

  const drafts: DnsRecordSpec[] = [];
  for (const def of enabledDefs) {
    const host = serviceHost(def, ctx);
    const own = [...(host ? hostRecords(host, ctx) : []), ...(def.records?.(ctx) ?? [])];
    drafts.push(...own.map((r) => ({ ...r, service: def.id })));
  }
  const srv = srvRecord(ctx, vars.bool('matrix_static_files_file_matrix_server_enabled', true));
  if (srv) drafts.push(srv);

  const rawPorts = collectPorts(enabledDefs, ctx);
  const docIssues: PlanIssue[] = [];
  const server = serverWellKnown(ctx, docIssues);
  const support = supportWellKnown(ctx, docIssues);
  const wellKnown: Plan['wellKnown'] = { client: clientWellKnown(SERVICES, ctx, docIssues) };
  if (server) wellKnown.server = server;
  if (support) wellKnown.support = support;

  // What the playbook would refuse is judged when first read: the stages read it, the checks do
  // not, and MDAD's validation (its tables and 189 checks) need not run on a check's start-up.
  let issues: PlanIssue[] | undefined;
  const judgeIssues = (): PlanIssue[] =>
    judge
      ? [
          ...obsoleteIssues(raw),
          ...validationIssues(raw, options.expectedMigrationVersion ? { expectedMigrationVersion: options.expectedMigrationVersion } : {}),
          ...portConflicts(rawPorts),
          ...docIssues,
        ]
      : [];

  const plan: Plan = {
    serverName,
    matrixHost: ctx.matrixHost,
    elementHost: serviceHost(SERVICES.find((d) => d.id === 'element')!, ctx)!,
    homeserver: implementation,
    federationEnabled: ctx.federationEnabled,
    baseDomainServed: ctx.isEnabled('base-domain'),
    services,
    records: mergeRecords(drafts),
    ports: dedupePorts(rawPorts),
    wellKnown,
    secrets: deriveSecrets(raw, services),
    get issues() {
      issues ??= judgeIssues();
      return issues;
    },
  };
  if (options.host) plan.host = options.host;
  return plan;
}

/**
 * The plan of one vars.yml (already parsed). Throws InputError only when matrix_domain is
 * missing; everything else the playbook would refuse is reported in plan.issues.
 */
export function planFromVars(vars: Record<string, unknown>, options: PlanOptions = {}): Plan {
  return buildPlan(vars, options, true);
}

/** The few settings a server-name-only plan assumes: MDAD's defaults and examples/vars.yml. */
export function minimalVars(serverName: string): Record<string, unknown> {
  return {
    matrix_domain: serverName,
    matrix_homeserver_implementation: 'synapse',
    matrix_playbook_reverse_proxy_type: MANAGED_TRAEFIK,
  };
}

/**
 * The plan MDAD's defaults give a server name, for checks run without a configuration.
 * A bare name says nothing about the configuration, so the plan has no issues at all (no
 * missing-secret or migration-version complaints), and the secrets are unknown (empty strings).
 * Throws InputError for a name that is not a DNS name (ports and IP literals included: MDAD's
 * matrix_domain is always a bare domain).
 */
export function planFromServerName(name: string): Plan {
  const serverName = hostname(name);
  if (!DNS_NAME.test(serverName) || IPV4.test(serverName)) {
    throw new InputError(`"${name}" is not a server name like example.org (no scheme, port or IP address)`);
  }
  return buildPlan(minimalVars(serverName), {}, false);
}
