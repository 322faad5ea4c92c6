// The service catalogue: one row per MDAD service the plan knows, as data.
// Names were checked against spantaleev/matrix-docker-ansible-deploy at c0681e4 (2026-08-22):
// group_vars/matrix_servers, roles/custom/*/defaults/main.yml, docs/configuring-playbook-*.md,
// and the Galaxy roles it pins (coturn, jitsi, livekit-server, traefik). See docs/playbook.md
// "Services and DNS records", "Firewall ports" and "Well-known files".

import type { DnsRecordSpec, PortSpec } from './types.ts';

// ---------------------------------------------------------------------------------------------
// Reading vars.yml values the way Ansible would (booleans, numbers, simple {{ var }} references)

/** An Ansible Vault value (`!vault |`): set, but its content is unknown to the plan. */
export interface VaultedValue {
  readonly vaulted: true;
}

export function isVaulted(value: unknown): value is VaultedValue {
  return typeof value === 'object' && value !== null && (value as { vaulted?: unknown }).vaulted === true;
}

export interface VarReader {
  /** The variable is present in vars.yml (even if empty, null or vaulted). */
  has(name: string): boolean;
  /** Resolved value: vars.yml first, then the built-in default if any; undefined when unknown. */
  value(name: string): unknown;
  /** A string (numbers are converted); undefined when missing, null, vaulted or an unresolvable template. */
  str(name: string): string | undefined;
  /** Ansible truthiness (`| bool`): true/yes/on/1; fallback when missing or unresolvable. */
  bool(name: string, fallback: boolean): boolean;
  /** A port-like number; accepts "IP:PORT" bind strings. fallback when missing or empty. */
  int(name: string, fallback: number): number;
}

/** Built-in defaults, consulted for names absent from vars.yml (used to resolve templates). */
export type Fallbacks = Readonly<Record<string, (vars: VarReader) => unknown>>;

const UNRESOLVED: unique symbol = Symbol('unresolved');
const SIMPLE_REF = /^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/;
const ANY_EXPR = /\{\{(.*?)\}\}/g;
const TRUE_WORDS = new Set(['true', 'yes', 'on', '1', 'y']);
const FALSE_WORDS = new Set(['false', 'no', 'off', '0', 'n', '']);

/**
 * Wraps parsed vars.yml. Only the simplest Jinja is understood: a value that is exactly
 * `{{ other_var }}`, or text with `{{ other_var }}` inside. Anything else (filters, conditions)
 * counts as unknown and the caller's default applies.
 */
export function readVars(raw: Readonly<Record<string, unknown>>, fallbacks: Fallbacks = {}): VarReader {
  const lookup = (name: string, depth: number): unknown => {
    if (depth > 16) return UNRESOLVED;
    if (Object.hasOwn(raw, name)) return resolve(raw[name], depth);
    const fallback = fallbacks[name];
    return fallback ? fallback(reader) : undefined;
  };
  const resolve = (value: unknown, depth: number): unknown => {
    if (typeof value !== 'string' || !value.includes('{{')) return value;
    const simple = SIMPLE_REF.exec(value.trim());
    if (simple) return lookup(simple[1]!, depth + 1);
    let failed = false;
    const text = value.replace(ANY_EXPR, (_match, expr: string) => {
      const ref = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(expr);
      const inner = ref ? lookup(ref[1]!, depth + 1) : UNRESOLVED;
      if (typeof inner === 'string' || typeof inner === 'number') return String(inner);
      failed = true;
      return '';
    });
    return failed ? UNRESOLVED : text;
  };
  const reader: VarReader = {
    has: (name) => Object.hasOwn(raw, name),
    value: (name) => {
      const v = lookup(name, 0);
      return v === UNRESOLVED ? undefined : v;
    },
    str: (name) => {
      const v = lookup(name, 0);
      if (typeof v === 'string') return v;
      if (typeof v === 'number' || typeof v === 'bigint') return String(v);
      return undefined;
    },
    bool: (name, fallback) => {
      const v = lookup(name, 0);
      if (typeof v === 'boolean') return v;
      if (typeof v === 'number') return v !== 0;
      if (typeof v === 'string') {
        const word = v.trim().toLowerCase();
        if (TRUE_WORDS.has(word)) return true;
        if (FALSE_WORDS.has(word)) return false;
      }
      return fallback;
    },
    int: (name, fallback) => {
      const v = lookup(name, 0);
      if (typeof v === 'number' && Number.isInteger(v)) return v;
      if (typeof v === 'string') {
        const m = /(?:^|:)(\d{1,5})$/.exec(v.trim());
        if (m) return Number(m[1]);
      }
      return fallback;
    },
  };
  return reader;
}

// ---------------------------------------------------------------------------------------------
// Catalogue types

export const REVERSE_PROXY_TYPES = ['playbook-managed-traefik', 'other-traefik-container', 'none'] as const;
export const MANAGED_TRAEFIK = 'playbook-managed-traefik';

/** What a catalogue row may look at. */
export interface ServiceContext {
  vars: VarReader;
  serverName: string;
  matrixHost: string;
  /** matrix_server_fqn_element: Element Call and Element Admin build their default names on it. */
  elementFqn: string;
  /** matrix_homeserver_url, e.g. https://matrix.example.org */
  homeserverUrl: string;
  reverseProxyType: string;
  /** Traefik (playbook-managed) serves HTTP/3 over UDP on its TLS entrypoints. */
  http3: boolean;
  federationEnabled: boolean;
  federationPort: number;
  /** The server's IPv4 address when known (inventory ansible_host is an IPv4 literal). */
  ipv4?: string;
  isEnabled(id: string): boolean;
}

export interface HostRule {
  /** The role's hostname variable. */
  variable: string;
  /** The matrix-base matrix_server_fqn_* variable the role default follows, if any. */
  fqnVariable?: string;
  /** Default when neither variable is set. */
  default: (ctx: ServiceContext) => string;
}

export interface PortRule {
  /** Variable that sets the (first) port; bind strings like "127.0.0.1:3478" are understood. */
  variable: string;
  default: number;
  /** For ranges: the variable and default of the last port. */
  endVariable?: string;
  endDefault?: number;
  protocol: 'tcp' | 'udp';
  purpose: string;
  when?: (ctx: ServiceContext) => boolean;
}

export type RecordDraft = Omit<DnsRecordSpec, 'service'>;

export interface ServiceDef {
  id: string;
  title: string;
  /** The vars.yml variable that switches it. */
  enabledBy: string;
  /** MDAD's default for enabledBy (may depend on other variables). */
  defaultEnabled: (vars: VarReader) => boolean;
  /** When the on/off state is more than `enabledBy | default` (e.g. always on). */
  isEnabled?: (vars: VarReader) => boolean;
  /** Where it is served; a name other than the Matrix host needs its own DNS record. */
  host?: HostRule;
  ports?: readonly PortRule[];
  /** Records beyond the host's own (e.g. Postmoogle's MX/TXT). */
  records?: (ctx: ServiceContext) => RecordDraft[];
  /** Keys it adds to /.well-known/matrix/client. */
  wellKnownClient?: (ctx: ServiceContext) => Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// matrix-base defaults: matrix_server_fqn_<x> = "<label>.<matrix_domain>"

export const FQN_LABELS: Readonly<Record<string, string>> = {
  matrix_server_fqn_matrix: 'matrix',
  matrix_server_fqn_element: 'element',
  matrix_server_fqn_hydrogen: 'hydrogen',
  matrix_server_fqn_cinny: 'cinny',
  matrix_server_fqn_sable: 'sable',
  matrix_server_fqn_schildichat: 'schildichat',
  matrix_server_fqn_fluffychat: 'fluffychat',
  matrix_server_fqn_buscarron: 'buscarron',
  matrix_server_fqn_etherpad: 'etherpad',
  matrix_server_fqn_jitsi: 'jitsi',
  matrix_server_fqn_grafana: 'stats',
  matrix_server_fqn_sygnal: 'sygnal',
  matrix_server_fqn_mautrix_wsproxy: 'wsproxy',
  matrix_server_fqn_ntfy: 'ntfy',
  matrix_server_fqn_rageshake: 'rageshake',
  matrix_server_fqn_matrixto: 'mt',
};

/** Fallbacks for readVars so `{{ matrix_server_fqn_jitsi }}` and friends resolve. */
export function baseFallbacks(): Fallbacks {
  const out: Record<string, (vars: VarReader) => unknown> = {};
  for (const [variable, label] of Object.entries(FQN_LABELS)) {
    out[variable] = (vars) => {
      const domain = vars.str('matrix_domain');
      return domain ? `${label}.${domain}` : undefined;
    };
  }
  out['matrix_server_fqn_matrix_federation'] = (vars) => vars.str('matrix_server_fqn_matrix');
  return out;
}

const off = (): boolean => false;
const on = (): boolean => true;
const onMatrixHost = (ctx: ServiceContext): string => ctx.matrixHost;
const fqn =
  (variable: string) =>
  (ctx: ServiceContext): string =>
    ctx.vars.str(variable) || `${FQN_LABELS[variable]}.${ctx.serverName}`;
const fqnHost = (variable: string, fqnVariable: string): HostRule => ({
  variable,
  fqnVariable,
  default: fqn(fqnVariable),
});
const traefikServesHttp3 = (ctx: ServiceContext): boolean => ctx.http3;
/** LiveKit's TURN listeners need certificates from Traefik (group_vars livekit_server_config_turn_enabled). */
const livekitTurn = (ctx: ServiceContext): boolean => ctx.vars.bool('livekit_server_config_turn_enabled', ctx.reverseProxyType !== 'none');

/** Jinja's regex_escape is Python's re.escape. */
function pythonReEscape(text: string): string {
  return text.replace(/[()[\]{}?*+\-|^$\\.&~# \t\n\r\v\f]/g, '\\$&');
}

/**
 * Ketesa's config, published in the client well-known whenever the homeserver is Synapse
 * (group_vars: matrix_static_files_file_matrix_client_property_cc_etke_ketesa_auto).
 * asManagedUsers lists only the catalogue's bots; other bridges' entries are not modelled.
 */
function ketesaConfig(ctx: ServiceContext): Record<string, unknown> {
  const v = ctx.vars;
  const managed: string[] = [];
  const domain = pythonReEscape(ctx.serverName);
  if (ctx.isEnabled('buscarron')) {
    managed.push(`^@${pythonReEscape(v.str('matrix_bot_buscarron_login') ?? 'bot.buscarron')}:${domain}$`);
  }
  if (ctx.isEnabled('postmoogle')) {
    managed.push(`^@${pythonReEscape(v.str('matrix_bridge_postmoogle_login') ?? 'postmoogle')}:${domain}$`);
  }
  const menu = v.value('matrix_ketesa_config_menu');
  return {
    restrictBaseUrl: v.str('matrix_ketesa_config_restrictBaseUrl') ?? ctx.homeserverUrl,
    externalAuthProvider: v.bool(
      'matrix_ketesa_config_externalAuthProvider',
      ctx.isEnabled('matrix-authentication-service') || v.bool('matrix_synapse_ext_password_provider_ldap_enabled', false),
    ),
    wellKnownDiscovery: v.bool('matrix_ketesa_config_wellKnownDiscovery', true),
    corsCredentials: v.str('matrix_ketesa_config_corsCredentials') ?? 'same-origin',
    asManagedUsers: managed,
    menu: Array.isArray(menu) ? menu : [],
  };
}

/**
 * With coturn on, group_vars hands Jitsi `turn.<matrix host>` as its TURN host (jitsi_turn_host),
 * which Prosody advertises to Jitsi clients; MDAD's DNS docs do not list the record, so it is
 * recommended rather than required.
 */
function jitsiTurnRecords(ctx: ServiceContext): RecordDraft[] {
  if (!ctx.isEnabled('coturn')) return [];
  const turnHost = (ctx.vars.str('jitsi_turn_host') || `turn.${ctx.matrixHost}`).trim().toLowerCase();
  const coturnHost = (ctx.vars.str('coturn_hostname') || ctx.matrixHost).trim().toLowerCase();
  if (turnHost === coturnHost) return [];
  return [
    {
      name: turnHost,
      type: 'CNAME',
      value: coturnHost,
      required: false,
      note: 'Jitsi tells its clients to use this name for TURN (jitsi_turn_host)',
    },
  ];
}

/** Postmoogle's mail records for each of its domains (docs/configuring-playbook-bridge-postmoogle.md). */
function postmoogleRecords(ctx: ServiceContext): RecordDraft[] {
  const listed = ctx.vars.value('matrix_bridge_postmoogle_domains');
  const single = ctx.vars.str('matrix_bridge_postmoogle_domain') || ctx.matrixHost;
  const domains =
    Array.isArray(listed) && listed.every((d) => typeof d === 'string') && listed.length > 0 ? (listed as string[]) : [single];
  return domains.flatMap((domain): RecordDraft[] => [
    { name: domain, type: 'MX', value: `10 ${ctx.matrixHost}`, required: true, note: 'receives mail for this domain' },
    ctx.ipv4
      ? { name: domain, type: 'TXT', value: `v=spf1 ip4:${ctx.ipv4} -all`, required: true, note: 'SPF' }
      : { name: domain, type: 'TXT', required: true, note: "SPF: v=spf1 ip4:<the server's IPv4> -all" },
    { name: `_dmarc.${domain}`, type: 'TXT', value: 'v=DMARC1; p=quarantine;', required: false, note: 'DMARC' },
    {
      name: `postmoogle._domainkey.${domain}`,
      type: 'TXT',
      required: false,
      note: 'DKIM: the value is known only after install; ask the bot with `!pm dkim`',
    },
  ]);
}

// ---------------------------------------------------------------------------------------------
// The catalogue

export const SERVICES: readonly ServiceDef[] = [
  {
    id: 'homeserver',
    title: 'Matrix homeserver',
    enabledBy: 'matrix_homeserver_implementation',
    defaultEnabled: on,
    isEnabled: on,
    records: (ctx) => [
      { name: ctx.matrixHost, type: 'A', required: true },
      { name: ctx.matrixHost, type: 'AAAA', required: false, note: 'recommended when the server has IPv6' },
    ],
    wellKnownClient: (ctx) =>
      (ctx.vars.str('matrix_homeserver_implementation') ?? 'synapse') === 'synapse' ? { 'cc.etke.ketesa': ketesaConfig(ctx) } : {},
  },
  {
    id: 'traefik',
    title: 'Traefik reverse proxy (managed by the playbook)',
    enabledBy: 'matrix_playbook_reverse_proxy_type',
    defaultEnabled: off,
    isEnabled: (v) => v.str('matrix_playbook_reverse_proxy_type') === MANAGED_TRAEFIK,
    ports: [
      {
        variable: 'traefik_config_entrypoint_web_port',
        default: 80,
        protocol: 'tcp',
        purpose: 'HTTP: redirect to HTTPS and ACME HTTP-01 challenges',
      },
      {
        variable: 'traefik_config_entrypoint_web_secure_port',
        default: 443,
        protocol: 'tcp',
        purpose: 'HTTPS: client API, web clients, well-known files',
      },
      {
        variable: 'traefik_config_entrypoint_web_secure_port',
        default: 443,
        protocol: 'udp',
        purpose: 'HTTP/3 (QUIC)',
        when: traefikServesHttp3,
      },
    ],
  },
  {
    id: 'reverse-proxy',
    title: 'Your own reverse proxy in front of the playbook',
    enabledBy: 'matrix_playbook_reverse_proxy_type',
    defaultEnabled: off,
    // Without the managed Traefik, the person's own web server must still answer on 80 and 443.
    isEnabled: (v) => v.str('matrix_playbook_reverse_proxy_type') !== MANAGED_TRAEFIK,
    ports: [
      {
        variable: 'traefik_config_entrypoint_web_port',
        default: 80,
        protocol: 'tcp',
        purpose: 'HTTP: redirect to HTTPS and ACME challenges',
      },
      {
        variable: 'traefik_config_entrypoint_web_secure_port',
        default: 443,
        protocol: 'tcp',
        purpose: 'HTTPS: client API, web clients, well-known files',
      },
    ],
  },
  {
    id: 'federation',
    title: 'Federation API',
    enabledBy: 'matrix_homeserver_federation_enabled',
    defaultEnabled: on,
    ports: [
      { variable: 'matrix_federation_public_port', default: 8448, protocol: 'tcp', purpose: 'federation (server-server API)' },
      {
        variable: 'matrix_federation_public_port',
        default: 8448,
        protocol: 'udp',
        purpose: 'federation over HTTP/3',
        when: (ctx) =>
          ctx.http3 && ctx.vars.bool('matrix_playbook_public_matrix_federation_api_traefik_entrypoint_config_http3_enabled', true),
      },
    ],
  },
  {
    id: 'base-domain',
    title: 'Serving the base domain (well-known files on example.org)',
    enabledBy: 'matrix_static_files_container_labels_base_domain_enabled',
    defaultEnabled: off,
    records: (ctx) => [
      { name: ctx.serverName, type: 'A', required: true, note: 'the base domain points at this server' },
      { name: ctx.serverName, type: 'AAAA', required: false, note: 'recommended when the server has IPv6' },
    ],
  },
  {
    id: 'element',
    title: 'Element Web',
    enabledBy: 'matrix_client_element_enabled',
    defaultEnabled: on,
    host: fqnHost('matrix_client_element_hostname', 'matrix_server_fqn_element'),
  },
  {
    id: 'jitsi',
    title: 'Jitsi Meet',
    enabledBy: 'jitsi_enabled',
    defaultEnabled: off,
    host: fqnHost('jitsi_hostname', 'matrix_server_fqn_jitsi'),
    // 4443/tcp is gone: the Jitsi role rejects jitsi_jvb_rtp_tcp_port (TCP harvester removed).
    ports: [{ variable: 'jitsi_jvb_rtp_udp_port', default: 10000, protocol: 'udp', purpose: 'Jitsi video bridge media (RTP)' }],
    records: jitsiTurnRecords,
    wellKnownClient: (ctx) => {
      // group_vars uses matrix_server_fqn_jitsi here, not jitsi_hostname.
      const domain =
        ctx.vars.str('matrix_static_files_file_matrix_client_property_io_element_jitsi_preferred_domain') ||
        fqn('matrix_server_fqn_jitsi')(ctx);
      return {
        'io.element.jitsi': { preferredDomain: domain },
        'im.vector.riot.jitsi': { preferredDomain: domain },
      };
    },
  },
  {
    id: 'coturn',
    title: 'coturn (STUN/TURN for calls)',
    enabledBy: 'coturn_enabled',
    // Since 2026-02-21 coturn is only on by default together with Jitsi.
    defaultEnabled: (v) => v.bool('jitsi_enabled', false),
    host: { variable: 'coturn_hostname', default: onMatrixHost },
    ports: [
      { variable: 'coturn_container_stun_plain_host_bind_port_tcp', default: 3478, protocol: 'tcp', purpose: 'STUN/TURN' },
      { variable: 'coturn_container_stun_plain_host_bind_port_udp', default: 3478, protocol: 'udp', purpose: 'STUN/TURN' },
      { variable: 'coturn_container_stun_tls_host_bind_port_tcp', default: 5349, protocol: 'tcp', purpose: 'TURN over TLS' },
      { variable: 'coturn_container_stun_tls_host_bind_port_udp', default: 5349, protocol: 'udp', purpose: 'TURN over DTLS' },
      {
        variable: 'coturn_turn_udp_min_port',
        default: 49152,
        endVariable: 'coturn_turn_udp_max_port',
        endDefault: 49172,
        protocol: 'udp',
        purpose: 'TURN relay range',
      },
    ],
  },
  {
    id: 'element-call',
    title: 'Element Call',
    enabledBy: 'matrix_element_call_enabled',
    defaultEnabled: off,
    host: { variable: 'matrix_element_call_hostname', default: (ctx) => `call.${ctx.elementFqn}` },
  },
  {
    id: 'element-admin',
    title: 'Element Admin',
    enabledBy: 'matrix_element_admin_enabled',
    defaultEnabled: off,
    host: { variable: 'matrix_element_admin_hostname', default: (ctx) => `admin.${ctx.elementFqn}` },
  },
  {
    id: 'matrix-rtc',
    title: 'Matrix RTC (LiveKit server)',
    enabledBy: 'matrix_rtc_enabled',
    // matrix-element-call role default: Element Call turns Matrix RTC on.
    defaultEnabled: (v) => v.bool('matrix_element_call_enabled', false),
    // group_vars: livekit_server_enabled follows matrix_rtc_enabled but may be set on its own.
    isEnabled: (v) => v.bool('livekit_server_enabled', v.bool('matrix_rtc_enabled', v.bool('matrix_element_call_enabled', false))),
    host: { variable: 'livekit_server_hostname', default: onMatrixHost },
    ports: [
      { variable: 'livekit_server_config_rtc_tcp_port', default: 7881, protocol: 'tcp', purpose: 'LiveKit ICE over TCP' },
      { variable: 'livekit_server_config_rtc_udp_port', default: 7882, protocol: 'udp', purpose: 'LiveKit ICE over UDP (mux)' },
      {
        variable: 'livekit_server_config_turn_udp_port',
        default: 3479,
        protocol: 'udp',
        purpose: 'LiveKit TURN over UDP',
        when: livekitTurn,
      },
      {
        variable: 'livekit_server_config_turn_tls_port',
        default: 5350,
        protocol: 'tcp',
        purpose: 'LiveKit TURN over TLS',
        when: livekitTurn,
      },
      {
        variable: 'livekit_server_config_turn_relay_range_start',
        default: 30000,
        endVariable: 'livekit_server_config_turn_relay_range_end',
        endDefault: 30020,
        protocol: 'udp',
        purpose: 'LiveKit TURN relay range',
        when: livekitTurn,
      },
    ],
  },
  {
    id: 'livekit-jwt-service',
    title: 'LiveKit JWT service (MatrixRTC authorisation)',
    enabledBy: 'matrix_livekit_jwt_service_enabled',
    defaultEnabled: (v) => v.bool('livekit_server_enabled', v.bool('matrix_rtc_enabled', v.bool('matrix_element_call_enabled', false))),
    host: { variable: 'matrix_livekit_jwt_service_hostname', default: onMatrixHost },
    ports: [
      {
        // It validates OpenID tokens through the federation listener, so 8448 stays needed
        // even with federation off (docs/playbook.md "Firewall ports").
        variable: 'matrix_federation_public_port',
        default: 8448,
        protocol: 'tcp',
        purpose: 'OpenID token validation on the federation listener',
        when: (ctx) => !ctx.federationEnabled,
      },
    ],
    wellKnownClient: (ctx) => {
      const v = ctx.vars;
      const scheme = v.str('matrix_livekit_jwt_service_scheme') || (v.bool('matrix_playbook_ssl_enabled', true) ? 'https' : 'http');
      const host = v.str('matrix_livekit_jwt_service_hostname') || ctx.matrixHost;
      const prefix = v.str('matrix_livekit_jwt_service_path_prefix') ?? '/livekit-jwt-service';
      return {
        'org.matrix.msc4143.rtc_foci': [{ type: 'livekit', livekit_service_url: `${scheme}://${host}${prefix}` }],
      };
    },
  },
  {
    id: 'matrix-authentication-service',
    title: 'Matrix Authentication Service (MAS)',
    enabledBy: 'matrix_authentication_service_enabled',
    defaultEnabled: off,
    host: { variable: 'matrix_authentication_service_hostname', default: onMatrixHost },
    wellKnownClient: (ctx) => {
      const host = ctx.vars.str('matrix_authentication_service_hostname') || ctx.matrixHost;
      const prefix = ctx.vars.str('matrix_authentication_service_path_prefix') ?? '/auth';
      const base = `https://${host}${prefix === '/' ? '/' : `${prefix}/`}`;
      const issuer = ctx.vars.str('matrix_authentication_service_config_http_issuer') ?? base;
      return { 'org.matrix.msc2965.authentication': { issuer, account: `${base}account` } };
    },
  },
  {
    id: 'ketesa',
    title: 'Ketesa (Synapse admin UI, formerly synapse-admin)',
    enabledBy: 'matrix_ketesa_enabled',
    defaultEnabled: off,
    // Served at https://matrix.example.org/synapse-admin unless matrix_ketesa_hostname is set.
    host: { variable: 'matrix_ketesa_hostname', default: onMatrixHost },
  },
  {
    id: 'grafana',
    title: 'Grafana (metrics dashboards)',
    enabledBy: 'grafana_enabled',
    defaultEnabled: off,
    host: fqnHost('grafana_hostname', 'matrix_server_fqn_grafana'),
  },
  {
    id: 'etherpad',
    title: 'Etherpad',
    enabledBy: 'etherpad_enabled',
    defaultEnabled: off,
    host: fqnHost('etherpad_hostname', 'matrix_server_fqn_etherpad'),
  },
  {
    id: 'hydrogen',
    title: 'Hydrogen web client',
    enabledBy: 'hydrogen_enabled',
    defaultEnabled: off,
    host: fqnHost('hydrogen_hostname', 'matrix_server_fqn_hydrogen'),
  },
  {
    id: 'cinny',
    title: 'Cinny web client',
    enabledBy: 'cinny_enabled',
    defaultEnabled: off,
    host: fqnHost('cinny_hostname', 'matrix_server_fqn_cinny'),
  },
  {
    id: 'sable',
    title: 'Sable web client',
    enabledBy: 'sable_enabled',
    defaultEnabled: off,
    host: fqnHost('sable_hostname', 'matrix_server_fqn_sable'),
  },
  {
    id: 'schildichat',
    title: 'SchildiChat Web',
    enabledBy: 'matrix_client_schildichat_enabled',
    defaultEnabled: off,
    host: fqnHost('matrix_client_schildichat_hostname', 'matrix_server_fqn_schildichat'),
  },
  {
    id: 'fluffychat',
    title: 'FluffyChat Web',
    enabledBy: 'matrix_client_fluffychat_enabled',
    defaultEnabled: off,
    host: fqnHost('matrix_client_fluffychat_hostname', 'matrix_server_fqn_fluffychat'),
  },
  {
    id: 'commet',
    title: 'Commet web client',
    enabledBy: 'matrix_client_commet_enabled',
    defaultEnabled: off,
    // No matrix_server_fqn_commet: group_vars sets "commet.{{ matrix_domain }}" directly.
    host: { variable: 'matrix_client_commet_hostname', default: (ctx) => `commet.${ctx.serverName}` },
  },
  {
    id: 'sygnal',
    title: 'Sygnal push gateway',
    enabledBy: 'matrix_sygnal_enabled',
    defaultEnabled: off,
    host: fqnHost('matrix_sygnal_hostname', 'matrix_server_fqn_sygnal'),
  },
  {
    id: 'ntfy',
    title: 'ntfy push notifications',
    enabledBy: 'ntfy_enabled',
    defaultEnabled: off,
    host: fqnHost('ntfy_hostname', 'matrix_server_fqn_ntfy'),
  },
  {
    id: 'rageshake',
    title: 'rageshake bug-report server',
    enabledBy: 'matrix_rageshake_enabled',
    defaultEnabled: off,
    host: fqnHost('matrix_rageshake_hostname', 'matrix_server_fqn_rageshake'),
  },
  {
    id: 'matrixto',
    title: 'matrix.to link service',
    enabledBy: 'matrix_matrixto_enabled',
    defaultEnabled: off,
    host: fqnHost('matrix_matrixto_hostname', 'matrix_server_fqn_matrixto'),
  },
  {
    id: 'buscarron',
    title: 'Buscarron (web forms to Matrix bot)',
    enabledBy: 'matrix_bot_buscarron_enabled',
    defaultEnabled: off,
    host: fqnHost('matrix_bot_buscarron_hostname', 'matrix_server_fqn_buscarron'),
  },
  {
    id: 'wsproxy',
    title: 'mautrix-wsproxy',
    enabledBy: 'matrix_bridge_mautrix_wsproxy_enabled',
    defaultEnabled: off,
    // group_vars builds it from matrix_bridge_mautrix_wsproxy_homeserver_domain (default matrix_domain);
    // matrix_server_fqn_mautrix_wsproxy exists in matrix-base but is not what the role uses.
    host: {
      variable: 'matrix_bridge_mautrix_wsproxy_hostname',
      default: (ctx) => `wsproxy.${ctx.vars.str('matrix_bridge_mautrix_wsproxy_homeserver_domain') || ctx.serverName}`,
    },
  },
  {
    id: 'postmoogle',
    title: 'Postmoogle (email bridge)',
    enabledBy: 'matrix_bridge_postmoogle_enabled',
    defaultEnabled: off,
    records: postmoogleRecords,
    ports: [
      { variable: 'matrix_bridge_postmoogle_smtp_host_bind_port', default: 25, protocol: 'tcp', purpose: 'SMTP: incoming mail' },
      { variable: 'matrix_bridge_postmoogle_submission_host_bind_port', default: 587, protocol: 'tcp', purpose: 'mail submission' },
    ],
  },
];

export function serviceDef(id: string): ServiceDef | undefined {
  return SERVICES.find((s) => s.id === id);
}

/** On/off state of one row under these vars. */
export function isServiceEnabled(def: ServiceDef, vars: VarReader): boolean {
  return def.isEnabled ? def.isEnabled(vars) : vars.bool(def.enabledBy, def.defaultEnabled(vars));
}

/** The hostname a row is served on (lower case), or undefined for rows without one. */
export function serviceHost(def: ServiceDef, ctx: ServiceContext): string | undefined {
  if (!def.host) return undefined;
  const { variable, fqnVariable } = def.host;
  const name = ctx.vars.str(variable) || (fqnVariable ? ctx.vars.str(fqnVariable) : undefined) || def.host.default(ctx);
  return name.trim().toLowerCase().replace(/\.$/, '');
}

/** A port rule's value(s); "7882-7892" style ranges are understood too. */
export function portOf(rule: PortRule, vars: VarReader): Pick<PortSpec, 'port' | 'endPort'> {
  const text = vars.str(rule.variable);
  const range = text ? /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(text) : null;
  if (range) return { port: Number(range[1]), endPort: Number(range[2]) };
  const port = vars.int(rule.variable, rule.default);
  if (!rule.endVariable) return { port };
  return { port, endPort: vars.int(rule.endVariable, rule.endDefault ?? port) };
}
