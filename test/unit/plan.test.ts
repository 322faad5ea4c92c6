import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../../checks/core/errors.ts';
import { loadInventory, loadPlan, parseYamlFile, readExpectedMigrationVersion } from '../../checks/plan/load.ts';
import { obsoleteIssues, validationIssues } from '../../checks/plan/obsolete.ts';
import { combineRecursive, minimalVars, planFromServerName, planFromVars } from '../../checks/plan/plan.ts';
import type { PlanOptions } from '../../checks/plan/plan.ts';
import { deriveSecret } from '../../checks/plan/secrets.ts';
import { SERVICES } from '../../checks/plan/services.ts';
import type { Plan, PlanIssue } from '../../checks/plan/types.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const readFixture = (name: string): Record<string, unknown> =>
  parseYamlFile(readFileSync(fixture(name), 'utf8'), name) as Record<string, unknown>;

const EXPECTED = 'v2026.05.18.0';
const MINIMAL = readFixture('modern-minimal-vars.yml');
/** What MDAD requires once wsproxy is on (roles/custom/matrix-bridge-mautrix-wsproxy/tasks/validate_config.yml). */
const WSPROXY_SECRETS = {
  matrix_bridge_mautrix_wsproxy_androidsms_appservice_token: 'a'.repeat(32),
  matrix_bridge_mautrix_wsproxy_androidsms_homeserver_token: 'b'.repeat(32),
  matrix_bridge_mautrix_wsproxy_imessage_appservice_token: 'c'.repeat(32),
  matrix_bridge_mautrix_wsproxy_imessage_homeserver_token: 'd'.repeat(32),
  matrix_bridge_mautrix_wsproxy_syncproxy_shared_secret: 'e'.repeat(32),
};

function planWith(extra: Record<string, unknown> = {}, options: PlanOptions = { expectedMigrationVersion: EXPECTED }): Plan {
  return planFromVars({ ...MINIMAL, ...extra }, options);
}

/** "TYPE name [value]" of the records a service needs. */
function recordsOf(plan: Plan, service: string): string[] {
  return plan.records.filter((r) => r.service === service).map((r) => `${r.type} ${r.name}${r.value ? ` ${r.value}` : ''}`);
}

/** "port[-end]/proto" of the ports a service opens. */
function portsOf(plan: Plan, service?: string): string[] {
  return plan.ports
    .filter((p) => service === undefined || p.service === service)
    .map((p) => `${p.port}${p.endPort ? `-${p.endPort}` : ''}/${p.protocol}`);
}

const enabledIds = (plan: Plan): string[] => plan.services.filter((s) => s.enabled).map((s) => s.id);
const issue = (plan: Plan | PlanIssue[], variable: string): PlanIssue | undefined =>
  (Array.isArray(plan) ? plan : plan.issues).find((i) => i.variable === variable);

describe('planFromVars: a modern minimal vars.yml', () => {
  const plan = planWith();

  it('names the server, the Matrix host and Element', () => {
    expect(plan).toMatchObject({
      serverName: 'example.org',
      matrixHost: 'matrix.example.org',
      elementHost: 'element.example.org',
      homeserver: 'synapse',
      federationEnabled: true,
      baseDomainServed: false,
    });
    expect(plan.host).toBeUndefined();
  });

  it('has no issues when the migration version is current', () => {
    expect(plan.issues).toEqual([]);
  });

  it('enables only what MDAD enables by default', () => {
    expect(enabledIds(plan)).toEqual(['homeserver', 'traefik', 'federation', 'element']);
    expect(plan.services.map((s) => s.id)).toEqual(SERVICES.map((s) => s.id));
    expect(plan.services.find((s) => s.id === 'coturn')).toEqual({
      id: 'coturn',
      title: 'coturn (STUN/TURN for calls)',
      enabled: false,
      enabledBy: 'coturn_enabled',
    });
    expect(plan.services[0]!.title).toBe('Matrix homeserver (synapse)');
  });

  it('needs the matrix A record (AAAA recommended) and the element CNAME', () => {
    expect(plan.records).toEqual([
      { name: 'matrix.example.org', type: 'A', required: true, service: 'homeserver' },
      { name: 'matrix.example.org', type: 'AAAA', required: false, service: 'homeserver', note: expect.any(String) },
      {
        name: 'element.example.org',
        type: 'CNAME',
        value: 'matrix.example.org',
        required: true,
        service: 'element',
        note: expect.any(String),
      },
    ]);
  });

  it('opens the web and federation ports, TCP and HTTP/3 UDP, sorted', () => {
    expect(portsOf(plan)).toEqual(['80/tcp', '443/tcp', '443/udp', '8448/tcp', '8448/udp']);
    expect(plan.ports[0]).toEqual({ port: 80, protocol: 'tcp', service: 'traefik', purpose: expect.stringContaining('ACME') });
  });

  it('serves the well-known files as MDAD would', () => {
    expect(plan.wellKnown.server).toEqual({ 'm.server': 'matrix.example.org:8448' });
    expect(plan.wellKnown.client).toEqual({
      'm.homeserver': { base_url: 'https://matrix.example.org' },
      'cc.etke.ketesa': {
        restrictBaseUrl: 'https://matrix.example.org',
        externalAuthProvider: false,
        wellKnownDiscovery: true,
        corsCredentials: 'same-origin',
        asManagedUsers: [],
        menu: [],
      },
    });
    expect(plan.wellKnown.support).toBeUndefined();
  });

  it('derives the secrets from the generic secret', () => {
    expect(plan.secrets).toEqual({
      synapseMacaroonSecretKey: '63851c08-2cc3-538b-8612-1718ba3547a3',
      registrationSharedSecret: '63851c08-2cc3-538b-8612-1718ba3547a3',
    });
  });

  it('is pure: the same input gives the same plan, and the input is not changed', () => {
    const input = { ...MINIMAL };
    const before = JSON.stringify(input);
    expect(planFromVars(input)).toEqual(planFromVars(input));
    expect(JSON.stringify(input)).toBe(before);
  });

  it('carries the inventory host', () => {
    const host = { name: 'matrix.example.org', address: '203.0.113.10', sshUser: 'root' };
    expect(planWith({}, { host }).host).toEqual(host);
  });
});

describe('planFromVars: the 2024 tutorial vars.yml', () => {
  const plan = planFromVars(readFixture('tutorial-2024-vars.yml'), { expectedMigrationVersion: EXPECTED });

  it('lists the matrix-registration and synapse-admin variables as rejected', () => {
    for (const variable of ['matrix_registration_enabled', 'matrix_registration_admin_secret', 'matrix_synapse_admin_enabled']) {
      expect(issue(plan, variable)?.kind, variable).toBe('rejected');
    }
    expect(issue(plan, 'matrix_registration_enabled')!.fix).toContain('matrix_synapse_registration_requires_token: true');
    expect(issue(plan, 'matrix_registration_enabled')!.fix).toContain('scripts/register.ts token create');
    expect(issue(plan, 'matrix_synapse_admin_enabled')!.fix).toContain('matrix_ketesa_enabled: true');
  });

  it('reports the missing migration version with the value to add', () => {
    expect(issue(plan, 'matrix_playbook_migration_validated_version')).toMatchObject({
      kind: 'invalid',
      fix: expect.stringContaining(`matrix_playbook_migration_validated_version: ${EXPECTED}`),
    });
  });

  it('flags the Russian placeholder secrets', () => {
    expect(issue(plan, 'matrix_homeserver_generic_secret_key')).toMatchObject({
      kind: 'invalid',
      reason: expect.stringMatching(/placeholder/),
    });
    expect(issue(plan, 'postgres_connection_password')).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/placeholder/) });
  });

  it('flags nothing else: traefik email and the commented-out lines are fine', () => {
    expect(plan.issues.map((i) => i.variable).sort()).toEqual([
      'matrix_homeserver_generic_secret_key',
      'matrix_playbook_migration_validated_version',
      'matrix_registration_admin_secret',
      'matrix_registration_enabled',
      'matrix_synapse_admin_enabled',
      'postgres_connection_password',
    ]);
  });

  it('still computes the plan: base domain served, Element on, Jitsi off', () => {
    expect(plan.serverName).toBe('example.ru');
    expect(plan.baseDomainServed).toBe(true);
    expect(recordsOf(plan, 'base-domain')).toEqual(['A example.ru', 'AAAA example.ru']);
    expect(recordsOf(plan, 'element')).toEqual(['CNAME element.example.ru matrix.example.ru']);
    expect(enabledIds(plan)).not.toContain('jitsi');
    expect(enabledIds(plan)).not.toContain('ketesa');
  });
});

describe('planFromVars: every service of the catalogue', () => {
  const CNAME = (label: string): string => `CNAME ${label}.example.org matrix.example.org`;
  const cases: Array<{ service: string; vars: Record<string, unknown>; records: string[]; ports: string[] }> = [
    { service: 'homeserver', vars: {}, records: ['A matrix.example.org', 'AAAA matrix.example.org'], ports: [] },
    { service: 'traefik', vars: {}, records: [], ports: ['80/tcp', '443/tcp', '443/udp'] },
    { service: 'federation', vars: {}, records: [], ports: ['8448/tcp', '8448/udp'] },
    { service: 'element', vars: {}, records: [CNAME('element')], ports: [] },
    {
      service: 'base-domain',
      vars: { matrix_static_files_container_labels_base_domain_enabled: true },
      records: ['A example.org', 'AAAA example.org'],
      ports: [],
    },
    {
      service: 'jitsi',
      vars: { jitsi_enabled: true },
      records: [CNAME('jitsi'), 'CNAME turn.matrix.example.org matrix.example.org'],
      ports: ['10000/udp'],
    },
    {
      service: 'coturn',
      vars: { coturn_enabled: true },
      records: [],
      ports: ['3478/tcp', '3478/udp', '5349/tcp', '5349/udp', '49152-49172/udp'],
    },
    { service: 'element-call', vars: { matrix_element_call_enabled: true }, records: [CNAME('call.element')], ports: [] },
    { service: 'element-admin', vars: { matrix_element_admin_enabled: true }, records: [CNAME('admin.element')], ports: [] },
    {
      service: 'matrix-rtc',
      vars: { matrix_rtc_enabled: true },
      records: [],
      ports: ['3479/udp', '5350/tcp', '7881/tcp', '7882/udp', '30000-30020/udp'],
    },
    { service: 'livekit-jwt-service', vars: { matrix_rtc_enabled: true }, records: [], ports: [] },
    {
      service: 'matrix-authentication-service',
      vars: { matrix_authentication_service_enabled: true, matrix_authentication_service_config_secrets_encryption: 'ab'.repeat(32) },
      records: [],
      ports: [],
    },
    { service: 'ketesa', vars: { matrix_ketesa_enabled: true }, records: [], ports: [] },
    { service: 'grafana', vars: { grafana_enabled: true }, records: [CNAME('stats')], ports: [] },
    { service: 'etherpad', vars: { etherpad_enabled: true }, records: [CNAME('etherpad')], ports: [] },
    { service: 'hydrogen', vars: { hydrogen_enabled: true }, records: [CNAME('hydrogen')], ports: [] },
    { service: 'cinny', vars: { cinny_enabled: true }, records: [CNAME('cinny')], ports: [] },
    { service: 'sable', vars: { sable_enabled: true }, records: [CNAME('sable')], ports: [] },
    { service: 'schildichat', vars: { matrix_client_schildichat_enabled: true }, records: [CNAME('schildichat')], ports: [] },
    { service: 'fluffychat', vars: { matrix_client_fluffychat_enabled: true }, records: [CNAME('fluffychat')], ports: [] },
    { service: 'commet', vars: { matrix_client_commet_enabled: true }, records: [CNAME('commet')], ports: [] },
    {
      service: 'sygnal',
      vars: { matrix_sygnal_enabled: true, matrix_sygnal_apps: { 'org.example.app': { type: 'gcm', api_key: 'key' } } },
      records: [CNAME('sygnal')],
      ports: [],
    },
    { service: 'ntfy', vars: { ntfy_enabled: true }, records: [CNAME('ntfy')], ports: [] },
    { service: 'rageshake', vars: { matrix_rageshake_enabled: true }, records: [CNAME('rageshake')], ports: [] },
    { service: 'matrixto', vars: { matrix_matrixto_enabled: true }, records: [CNAME('mt')], ports: [] },
    {
      service: 'buscarron',
      vars: { matrix_bot_buscarron_enabled: true, matrix_bot_buscarron_password: 'p'.repeat(32) },
      records: [CNAME('buscarron')],
      ports: [],
    },
    {
      service: 'wsproxy',
      vars: { matrix_bridge_mautrix_wsproxy_enabled: true, ...WSPROXY_SECRETS },
      records: [CNAME('wsproxy')],
      ports: [],
    },
    {
      service: 'postmoogle',
      vars: { matrix_bridge_postmoogle_enabled: true, matrix_bridge_postmoogle_password: 'p'.repeat(32) },
      records: [
        'MX matrix.example.org 10 matrix.example.org',
        'TXT matrix.example.org',
        'TXT _dmarc.matrix.example.org v=DMARC1; p=quarantine;',
        'TXT postmoogle._domainkey.matrix.example.org',
      ],
      ports: ['25/tcp', '587/tcp'],
    },
  ];

  it('covers every row of the catalogue', () => {
    expect(cases.map((c) => c.service).sort()).toEqual(
      SERVICES.map((s) => s.id)
        .filter((id) => id !== 'reverse-proxy')
        .sort(),
    );
  });

  for (const c of cases) {
    it(`${c.service}: records and ports`, () => {
      const plan = planWith(c.vars);
      expect(plan.services.find((s) => s.id === c.service)?.enabled).toBe(true);
      expect(recordsOf(plan, c.service)).toEqual(c.records);
      expect(portsOf(plan, c.service)).toEqual(c.ports);
      expect(plan.issues).toEqual([]);
    });
  }

  it('turns nothing on by default beyond the minimal set', () => {
    for (const c of cases) {
      if (['homeserver', 'traefik', 'federation', 'element'].includes(c.service)) continue;
      expect(planWith().services.find((s) => s.id === c.service)?.enabled, c.service).toBe(false);
    }
  });
});

describe('planFromVars: dependencies between services', () => {
  it('Jitsi turns coturn on, with its derived secrets', () => {
    const plan = planWith({ jitsi_enabled: true });
    expect(enabledIds(plan)).toEqual(expect.arrayContaining(['jitsi', 'coturn']));
    expect(plan.secrets.coturnStaticAuthSecret).toBe('116d0dcc-47ce-5047-b977-77ff05591a63');
    expect(plan.secrets.jitsiJvbAuthPassword).toBe(deriveSecret('example-generic-secret', ':jvb'));
    expect(portsOf(plan)).not.toContain('4443/tcp');
  });

  it('coturn can be switched off while Jitsi stays on (then no turn.matrix record)', () => {
    const plan = planWith({ jitsi_enabled: true, coturn_enabled: false });
    expect(enabledIds(plan)).not.toContain('coturn');
    expect(recordsOf(plan, 'jitsi')).toEqual(['CNAME jitsi.example.org matrix.example.org']);
    expect(plan.secrets.coturnStaticAuthSecret).toBeUndefined();
  });

  it('Element Call implies Matrix RTC and the LiveKit JWT service', () => {
    const plan = planWith({ matrix_element_call_enabled: true });
    expect(enabledIds(plan)).toEqual(expect.arrayContaining(['element-call', 'matrix-rtc', 'livekit-jwt-service']));
    expect(portsOf(plan, 'matrix-rtc')).toEqual(['3479/udp', '5350/tcp', '7881/tcp', '7882/udp', '30000-30020/udp']);
  });

  it('Element Call can run without Matrix RTC when told so', () => {
    const plan = planWith({ matrix_element_call_enabled: true, matrix_rtc_enabled: false });
    expect(enabledIds(plan)).not.toContain('matrix-rtc');
    expect(enabledIds(plan)).not.toContain('livekit-jwt-service');
    expect(plan.wellKnown.client['org.matrix.msc4143.rtc_foci']).toBeUndefined();
  });

  it('the JWT service keeps 8448 open when federation is off', () => {
    const plain = planWith({ matrix_homeserver_federation_enabled: false });
    expect(portsOf(plain)).toEqual(['80/tcp', '443/tcp', '443/udp']);
    expect(plain.federationEnabled).toBe(false);
    const rtc = planWith({ matrix_homeserver_federation_enabled: false, matrix_rtc_enabled: true });
    expect(portsOf(rtc, 'livekit-jwt-service')).toEqual(['8448/tcp']);
  });
});

describe('planFromVars: names and ports from variables', () => {
  it('follows matrix_server_fqn_* and per-service hostname variables', () => {
    const plan = planWith({
      matrix_server_fqn_matrix: 'hs.example.org',
      matrix_server_fqn_element: 'app.example.org',
      matrix_element_call_enabled: true,
      jitsi_enabled: true,
      jitsi_hostname: 'meet.example.org',
      grafana_enabled: true,
      matrix_server_fqn_grafana: 'grafana.example.org',
    });
    expect(plan.matrixHost).toBe('hs.example.org');
    expect(plan.elementHost).toBe('app.example.org');
    expect(recordsOf(plan, 'homeserver')).toEqual(['A hs.example.org', 'AAAA hs.example.org']);
    expect(recordsOf(plan, 'element-call')).toEqual(['CNAME call.app.example.org hs.example.org']);
    expect(recordsOf(plan, 'jitsi')).toEqual(['CNAME meet.example.org hs.example.org', 'CNAME turn.hs.example.org hs.example.org']);
    expect(recordsOf(plan, 'grafana')).toEqual(['CNAME grafana.example.org hs.example.org']);
    // Jitsi's well-known domain follows matrix_server_fqn_jitsi, not jitsi_hostname (group_vars).
    expect(plan.wellKnown.client['io.element.jitsi']).toEqual({ preferredDomain: 'jitsi.example.org' });
    expect(plan.wellKnown.server).toEqual({ 'm.server': 'hs.example.org:8448' });
  });

  it('resolves simple {{ var }} templates and YAML 1.1 booleans', () => {
    const plan = planWith({
      matrix_server_fqn_matrix: 'chat.{{ matrix_domain }}',
      jitsi_enabled: 'yes',
      coturn_enabled: '{{ jitsi_enabled }}',
      cinny_hostname: 'web.{{ matrix_domain }}',
      cinny_enabled: 'true',
    });
    expect(plan.matrixHost).toBe('chat.example.org');
    expect(enabledIds(plan)).toEqual(expect.arrayContaining(['jitsi', 'coturn', 'cinny']));
    expect(recordsOf(plan, 'cinny')).toEqual(['CNAME web.example.org chat.example.org']);
  });

  it('falls back to the default for templates it cannot evaluate', () => {
    const plan = planWith({ cinny_enabled: true, cinny_hostname: "{{ 'x' if a else 'y' }}.example.org" });
    expect(recordsOf(plan, 'cinny')).toEqual(['CNAME cinny.example.org matrix.example.org']);
  });

  it('a service on the Matrix host needs no record; one on another name needs a CNAME', () => {
    expect(recordsOf(planWith({ matrix_ketesa_enabled: true, matrix_ketesa_hostname: 'admin.example.org' }), 'ketesa')).toEqual([
      'CNAME admin.example.org matrix.example.org',
    ]);
    expect(recordsOf(planWith({ coturn_enabled: true, coturn_hostname: 'turn.example.org' }), 'coturn')).toEqual([
      'CNAME turn.example.org matrix.example.org',
    ]);
    expect(recordsOf(planWith({ cinny_enabled: true, cinny_hostname: 'matrix.example.org' }), 'cinny')).toEqual([]);
  });

  it('a service on the base domain needs A/AAAA there, never a CNAME at the apex', () => {
    const plan = planWith({ cinny_enabled: true, cinny_hostname: 'example.org' });
    expect(recordsOf(plan, 'cinny')).toEqual(['A example.org', 'AAAA example.org']);
  });

  it('deduplicates records two services share', () => {
    const plan = planWith({
      cinny_enabled: true,
      cinny_hostname: 'example.org',
      matrix_static_files_container_labels_base_domain_enabled: true,
    });
    expect(plan.records.filter((r) => r.name === 'example.org').map((r) => `${r.type} ${r.service}`)).toEqual([
      'A base-domain',
      'AAAA base-domain',
    ]);
  });

  it("honours coturn's relay range and bind-port variables", () => {
    const plan = planWith({
      coturn_enabled: true,
      coturn_turn_udp_min_port: 50000,
      coturn_turn_udp_max_port: '50100',
      coturn_container_stun_plain_host_bind_port_udp: '203.0.113.10:3480',
    });
    expect(portsOf(plan, 'coturn')).toEqual(['3478/tcp', '3480/udp', '5349/tcp', '5349/udp', '50000-50100/udp']);
  });

  it("honours Jitsi's and LiveKit's port variables, including a LiveKit UDP port pool", () => {
    const plan = planWith({
      jitsi_enabled: true,
      coturn_enabled: false,
      jitsi_jvb_rtp_udp_port: 10001,
      matrix_rtc_enabled: true,
      livekit_server_config_rtc_udp_port: '7882-7892',
    });
    expect(portsOf(plan, 'jitsi')).toEqual(['10001/udp']);
    expect(portsOf(plan, 'matrix-rtc')).toEqual(['3479/udp', '5350/tcp', '7881/tcp', '7882-7892/udp', '30000-30020/udp']);
  });

  it('a non-default federation port moves the federation listener and the m.server value', () => {
    const plan = planWith({ matrix_federation_public_port: 8449 });
    expect(portsOf(plan, 'federation')).toEqual(['8449/tcp', '8449/udp']);
    expect(plan.wellKnown.server).toEqual({ 'm.server': 'matrix.example.org:8449' });
  });

  it('without HTTP/3 there are no UDP web ports', () => {
    const plan = planWith({ traefik_config_entrypoint_web_secure_http3_enabled: false });
    expect(portsOf(plan)).toEqual(['80/tcp', '443/tcp', '8448/tcp']);
  });

  it('with your own reverse proxy, 80/443 stay open (no QUIC) and LiveKit has no TURN', () => {
    const plan = planWith({ matrix_playbook_reverse_proxy_type: 'none', matrix_rtc_enabled: true });
    expect(enabledIds(plan)).toContain('reverse-proxy');
    expect(enabledIds(plan)).not.toContain('traefik');
    expect(portsOf(plan, 'reverse-proxy')).toEqual(['80/tcp', '443/tcp']);
    expect(portsOf(plan, 'federation')).toEqual(['8448/tcp']);
    expect(portsOf(plan, 'matrix-rtc')).toEqual(['7881/tcp', '7882/udp']);
    const other = planWith({ matrix_playbook_reverse_proxy_type: 'other-traefik-container', matrix_rtc_enabled: true });
    expect(portsOf(other, 'matrix-rtc')).toContain('5350/tcp');
  });

  it('reports ports two programs would both bind', () => {
    const plan = planWith({
      coturn_enabled: true,
      matrix_rtc_enabled: true,
      livekit_server_config_turn_relay_range_start: 49000,
      livekit_server_config_turn_relay_range_end: 49200,
    });
    expect(issue(plan, 'livekit_server_config_turn_relay_range_start')).toMatchObject({
      kind: 'invalid',
      reason: expect.stringContaining('49152-49172/udp'),
    });
    expect(portsOf(plan)).toContain('49000-49200/udp');
  });

  it('fills the SPF record when the inventory address is an IPv4 literal, for each Postmoogle domain', () => {
    const host = { name: 'matrix.example.org', address: '203.0.113.10' };
    const plan = planWith(
      { matrix_bridge_postmoogle_enabled: true, matrix_bridge_postmoogle_domains: ['example.org', 'matrix.example.org'] },
      { host },
    );
    expect(recordsOf(plan, 'postmoogle')).toEqual([
      'MX example.org 10 matrix.example.org',
      'TXT example.org v=spf1 ip4:203.0.113.10 -all',
      'TXT _dmarc.example.org v=DMARC1; p=quarantine;',
      'TXT postmoogle._domainkey.example.org',
      'MX matrix.example.org 10 matrix.example.org',
      'TXT matrix.example.org v=spf1 ip4:203.0.113.10 -all',
      'TXT _dmarc.matrix.example.org v=DMARC1; p=quarantine;',
      'TXT postmoogle._domainkey.matrix.example.org',
    ]);
    const dkim = plan.records.find((r) => r.name === 'postmoogle._domainkey.example.org')!;
    expect(dkim.required).toBe(false);
    expect(dkim.note).toContain('!pm dkim');
    const noIp = planWith({ matrix_bridge_postmoogle_enabled: true }, { host: { name: 'm', address: 'matrix.example.org' } });
    expect(noIp.records.find((r) => r.type === 'TXT' && r.name === 'matrix.example.org')).toMatchObject({
      required: true,
      note: expect.stringContaining('v=spf1'),
    });
  });

  it('lower-cases names and drops a trailing dot', () => {
    const plan = planFromVars({ ...MINIMAL, matrix_domain: 'Example.ORG.' });
    expect(plan.serverName).toBe('example.org');
    expect(plan.matrixHost).toBe('matrix.example.org');
    expect(issue(plan, 'matrix_domain')?.kind).toBe('invalid');
  });
});

describe('planFromVars: SRV delegation', () => {
  it('asks for _matrix-fed._tcp only when the server well-known file is disabled', () => {
    const plan = planWith({ matrix_static_files_file_matrix_server_enabled: false });
    expect(plan.wellKnown.server).toBeUndefined();
    expect(recordsOf(plan, 'federation')).toEqual(['SRV _matrix-fed._tcp.example.org 10 0 8448 matrix.example.org']);
    expect(plan.records.find((r) => r.type === 'SRV')!.note).toContain('_matrix._tcp');
    expect(planWith().records.some((r) => r.type === 'SRV')).toBe(false);
  });

  it('needs no SRV with federation off, or when the server name is the Matrix host on 8448', () => {
    expect(
      planWith({ matrix_static_files_file_matrix_server_enabled: false, matrix_homeserver_federation_enabled: false }).records.some(
        (r) => r.type === 'SRV',
      ),
    ).toBe(false);
    const same = planWith({
      matrix_domain: 'matrix.example.org',
      matrix_server_fqn_matrix: 'matrix.example.org',
      matrix_static_files_file_matrix_server_enabled: false,
    });
    expect(same.records.some((r) => r.type === 'SRV')).toBe(false);
  });
});

describe('planFromVars: well-known documents', () => {
  it('adds the MatrixRTC focus when the LiveKit JWT service is on', () => {
    expect(planWith({ matrix_rtc_enabled: true }).wellKnown.client['org.matrix.msc4143.rtc_foci']).toEqual([
      { type: 'livekit', livekit_service_url: 'https://matrix.example.org/livekit-jwt-service' },
    ]);
  });

  it('adds the Jitsi preferred domain under both keys', () => {
    const client = planWith({ jitsi_enabled: true }).wellKnown.client;
    expect(client['io.element.jitsi']).toEqual({ preferredDomain: 'jitsi.example.org' });
    expect(client['im.vector.riot.jitsi']).toEqual({ preferredDomain: 'jitsi.example.org' });
  });

  it('adds MAS, identity server, integration manager, tile server and E2EE keys when configured', () => {
    const client = planWith({
      matrix_authentication_service_enabled: true,
      matrix_identity_server_url: 'https://vector.im',
      matrix_integration_manager_rest_url: 'https://scalar.vector.im/api',
      matrix_integration_manager_ui_url: 'https://scalar.vector.im/',
      matrix_client_element_location_sharing_enabled: true,
      matrix_static_files_file_matrix_client_property_io_element_e2ee_default: false,
    }).wellKnown.client;
    expect(client['org.matrix.msc2965.authentication']).toEqual({
      issuer: 'https://matrix.example.org/auth/',
      account: 'https://matrix.example.org/auth/account',
    });
    expect(client['m.identity_server']).toEqual({ base_url: 'https://vector.im' });
    expect(client['m.integrations']).toEqual({
      managers: [{ api_url: 'https://scalar.vector.im/api', ui_url: 'https://scalar.vector.im/' }],
    });
    expect(client['m.tile_server']).toEqual({ map_style_url: 'https://element.example.org/map_style.json' });
    expect(client['io.element.e2ee']).toEqual({ default: false, force_disable: false });
    expect(client['im.vector.riot.e2ee']).toEqual({ default: false });
    expect((client['cc.etke.ketesa'] as Record<string, unknown>)['externalAuthProvider']).toBe(true);
    // Same key order as MDAD's client.j2.
    expect(Object.keys(client)).toEqual([
      'm.homeserver',
      'm.identity_server',
      'm.integrations',
      'org.matrix.msc2965.authentication',
      'm.tile_server',
      'io.element.e2ee',
      'im.vector.riot.e2ee',
      'cc.etke.ketesa',
    ]);
  });

  it('lists the catalogue bots Ketesa should treat as managed users', () => {
    const ketesa = planWith({ matrix_bridge_postmoogle_enabled: true }).wellKnown.client['cc.etke.ketesa'] as Record<string, unknown>;
    expect(ketesa['asManagedUsers']).toEqual(['^@postmoogle:example\\.org$']);
  });

  it('publishes no Ketesa config for other homeservers', () => {
    const plan = planWith({ matrix_homeserver_implementation: 'continuwuity' });
    expect(plan.homeserver).toBe('continuwuity');
    expect(plan.wellKnown.client).toEqual({ 'm.homeserver': { base_url: 'https://matrix.example.org' } });
  });

  it('merges the configuration extension JSON recursively', () => {
    const plan = planWith({
      matrix_static_files_file_matrix_client_configuration_extension_json:
        '{"m.homeserver": {"server_name": "example.org"}, "io.element.e2ee": {"default": false}}',
      matrix_static_files_file_matrix_server_configuration_extension_json: { 'org.example.extra': 1 },
    });
    expect(plan.wellKnown.client['m.homeserver']).toEqual({ base_url: 'https://matrix.example.org', server_name: 'example.org' });
    expect(plan.wellKnown.client['io.element.e2ee']).toEqual({ default: false });
    expect(plan.wellKnown.server).toEqual({ 'm.server': 'matrix.example.org:8448', 'org.example.extra': 1 });
  });

  it('reports an extension that is not JSON', () => {
    const plan = planWith({ matrix_static_files_file_matrix_client_configuration_extension_json: '{oops' });
    expect(issue(plan, 'matrix_static_files_file_matrix_client_configuration_extension_json')?.kind).toBe('invalid');
    expect(plan.wellKnown.client['m.homeserver']).toEqual({ base_url: 'https://matrix.example.org' });
  });

  it('serves the support file when enabled', () => {
    const plan = planWith({
      matrix_static_files_file_matrix_support_enabled: true,
      matrix_static_files_file_matrix_support_property_m_contacts: [{ matrix_id: '@admin:example.org', role: 'm.role.admin' }],
      matrix_static_files_file_matrix_support_property_m_support_page: 'https://example.org/help',
    });
    expect(plan.wellKnown.support).toEqual({
      contacts: [{ matrix_id: '@admin:example.org', role: 'm.role.admin' }],
      support_page: 'https://example.org/help',
    });
  });
});

describe('obsolete and rejected variables', () => {
  const cases: Array<[string, PlanIssue['kind'], RegExp]> = [
    ['matrix_nginx_proxy_base_domain_serving_enabled', 'rejected', /matrix_static_files_container_labels_base_domain_enabled/],
    ['matrix_nginx_proxy_proxy_matrix_client_api_forwarded_location_synapse_oidc_api_enabled', 'rejected', /not a 1:1 rename/],
    ['matrix_nginx_proxy_something_else', 'rejected', /^Remove it/],
    ['matrix_ssl_lets_encrypt_support_email', 'rejected', /traefik_config_certificatesResolvers_acme_email/],
    ['matrix_ssl_retrieval_method', 'rejected', /^Remove it/],
    ['matrix_synapse_admin_path_prefix', 'rejected', /matrix_ketesa_path_prefix/],
    ['matrix_dimension_enabled', 'rejected', /dimension/],
    ['matrix_ma1sd_enabled', 'rejected', /_matrix-identity\._tcp/],
    ['matrix_sliding_sync_enabled', 'rejected', /^Remove it/],
    ['matrix_jitsi_enabled', 'rejected', /`jitsi_enabled`/],
    ['matrix_coturn_turn_static_auth_secret', 'rejected', /`coturn_turn_static_auth_secret`/],
    ['matrix_mautrix_telegram_enabled', 'rejected', /`matrix_bridge_mautrix_telegram_enabled`/],
    ['matrix_mautrix_imessage_enabled', 'rejected', /`matrix_bridge_mautrix_wsproxy_imessage_enabled`/],
    ['matrix_sms_bridge_enabled', 'rejected', /`matrix_bridge_sms_enabled`/],
    ['matrix_bot_postmoogle_enabled', 'rejected', /`matrix_bridge_postmoogle_enabled`/],
    ['matrix_mautrix_facebook_enabled', 'rejected', /meta_messenger/],
    ['devture_traefik_config_entrypoint_web_secure_enabled', 'rejected', /`traefik_config_entrypoint_web_secure_enabled`/],
    ['devture_traefik_certs_dumper_enabled', 'rejected', /`traefik_certs_dumper_enabled`/],
    ['devture_postgres_backup_enabled', 'rejected', /`postgres_backup_enabled`/],
    ['devture_postgres_connection_password', 'rejected', /`postgres_connection_password`/],
    ['matrix_postgres_connection_password', 'rejected', /`postgres_connection_password`/],
    ['matrix_redis_enabled', 'rejected', /`valkey_enabled`/],
    ['keydb_enabled', 'rejected', /`valkey_enabled`/],
    ['matrix_bot_matrix_registration_bot_enabled', 'rejected', /registration_requires_token/],
    ['matrix_synapse_ext_synapse_auto_accept_invite_enabled', 'rejected', /matrix_synapse_auto_accept_invites_enabled/],
    ['matrix_conduwuit_enabled', 'rejected', /continuwuity/],
    ['hostname_identity', 'rejected', /`matrix_domain`/],
    ['matrix_mx_puppet_skype_enabled', 'rejected', /^Remove it/],
    ['jitsi_jicofo_auth_password', 'ignored', /^Remove the line/],
    ['jitsi_jicofo_component_secret', 'ignored', /^Remove the line/],
  ];

  for (const [variable, kind, fix] of cases) {
    it(`${variable} is ${kind}`, () => {
      const found = issue(obsoleteIssues({ [variable]: true }), variable);
      expect(found?.kind).toBe(kind);
      expect(found?.fix).toMatch(fix);
      expect(found?.reason.length).toBeGreaterThan(5);
    });
  }

  it('leaves current variables alone, including Synapse settings that share the synapse_admin prefix', () => {
    const current = {
      ...MINIMAL,
      matrix_synapse_admin_contact: 'mailto:admin@example.org',
      matrix_synapse_container_labels_public_client_synapse_admin_api_enabled: true,
      matrix_bridge_mautrix_telegram_enabled: true,
      matrix_ketesa_enabled: true,
      matrix_static_files_container_labels_base_domain_enabled: true,
      jitsi_enabled: true,
      jitsi_jibri_recorder_password: 'x',
      postgres_backup_enabled: true,
      traefik_config_certificatesResolvers_acme_email: 'ssl@example.org',
    };
    expect(obsoleteIssues(current)).toEqual([]);
  });

  it('reports each variable once, the exact rename winning over the prefix rule', () => {
    const issues = obsoleteIssues({ matrix_nginx_proxy_base_domain_serving_enabled: true });
    expect(issues).toHaveLength(1);
    expect(issues[0]!.reason).toBe('renamed to matrix_static_files_container_labels_base_domain_enabled');
  });

  it('hand-made Jitsi passwords are dropped from the plan as ignored, yet still used for the secrets', () => {
    const plan = planWith({ jitsi_enabled: true, jitsi_jvb_auth_password: 'hand-made' });
    expect(issue(plan, 'jitsi_jvb_auth_password')?.kind).toBe('ignored');
    expect(plan.secrets.jitsiJvbAuthPassword).toBe('hand-made');
  });
});

describe("the playbook's own validation", () => {
  const only = (vars: Record<string, unknown>, expected?: string): PlanIssue[] =>
    validationIssues({ ...MINIMAL, ...vars }, expected ? { expectedMigrationVersion: expected } : {});

  it('passes the minimal configuration', () => {
    expect(only({}, EXPECTED)).toEqual([]);
  });

  it('compares the migration version as MDAD does (string order)', () => {
    expect(
      issue(
        only({ matrix_playbook_migration_validated_version: 'v2026.04.03.0' }, EXPECTED),
        'matrix_playbook_migration_validated_version',
      ),
    ).toMatchObject({
      kind: 'invalid',
      reason: expect.stringContaining('older'),
      fix: expect.stringContaining(EXPECTED),
    });
    expect(only({ matrix_playbook_migration_validated_version: 'v2026.09.01.0' }, EXPECTED)).toEqual([]);
    expect(only({ matrix_playbook_migration_validated_version: 'v2020.01.01.0' })).toEqual([]);
    expect(issue(only({ matrix_playbook_migration_validated_version: '' }), 'matrix_playbook_migration_validated_version')?.fix).toContain(
      'roles/custom/matrix_playbook_migration/defaults/main.yml',
    );
  });

  it('requires the generic secret unless it is vault-encrypted', () => {
    expect(issue(only({ matrix_homeserver_generic_secret_key: '' }), 'matrix_homeserver_generic_secret_key')?.kind).toBe('invalid');
    expect(issue(only({ matrix_homeserver_generic_secret_key: null }), 'matrix_homeserver_generic_secret_key')?.kind).toBe('invalid');
    expect(
      issue(only({ matrix_homeserver_generic_secret_key: { vaulted: true } }), 'matrix_homeserver_generic_secret_key'),
    ).toBeUndefined();
  });

  it('refuses upper case in matrix_domain and the derived hostnames', () => {
    expect(issue(only({ matrix_domain: 'Example.org' }), 'matrix_domain')).toMatchObject({
      kind: 'invalid',
      fix: expect.stringContaining('example.org'),
    });
    expect(issue(only({ matrix_server_fqn_matrix: 'Matrix.example.org' }), 'matrix_server_fqn_matrix')?.kind).toBe('invalid');
    expect(issue(only({ matrix_server_fqn_element: '' }), 'matrix_server_fqn_element')?.reason).toBe('empty');
  });

  it('allows only the known homeserver implementations', () => {
    expect(issue(only({ matrix_homeserver_implementation: 'conduwuit' }), 'matrix_homeserver_implementation')?.kind).toBe('invalid');
    for (const implementation of ['synapse', 'dendrite', 'conduit', 'continuwuity', 'tuwunel']) {
      expect(only({ matrix_homeserver_implementation: implementation }, EXPECTED), implementation).toEqual([]);
    }
  });

  it('needs a valid reverse proxy type', () => {
    const { matrix_playbook_reverse_proxy_type: _unset, ...withoutProxy } = MINIMAL;
    expect(issue(validationIssues(withoutProxy), 'matrix_playbook_reverse_proxy_type')?.reason).toMatch(/not set/);
    expect(issue(only({ matrix_playbook_reverse_proxy_type: 'nginx' }), 'matrix_playbook_reverse_proxy_type')?.kind).toBe('invalid');
    // With Traefik run by someone else, MDAD needs to know where its certificates are.
    expect(
      issue(only({ matrix_playbook_reverse_proxy_type: 'other-traefik-container' }, EXPECTED), 'traefik_certs_dumper_ssl_path')?.reason,
    ).toMatch(/required by MDAD and empty/);
    expect(
      only({ matrix_playbook_reverse_proxy_type: 'other-traefik-container', traefik_certs_dumper_ssl_path: '/traefik/ssl' }, EXPECTED),
    ).toEqual([]);
  });

  it('checks the Postgres password only when the playbook runs Postgres', () => {
    expect(issue(only({ postgres_connection_password: '' }), 'postgres_connection_password')?.reason).toMatch(/empty/);
    expect(issue(only({ postgres_connection_password: 'a'.repeat(100) }), 'postgres_connection_password')?.reason).toMatch(
      /100 characters/,
    );
    expect(only({ postgres_connection_password: 'a'.repeat(99) }, EXPECTED)).toEqual([]);
    // With its own Postgres gone, MDAD needs the external one's host.
    expect(only({ postgres_enabled: false, postgres_connection_password: '' }, EXPECTED).map((i) => i.variable)).toEqual([
      'matrix_synapse_database_host',
    ]);
    expect(
      only({ postgres_enabled: false, postgres_connection_password: '', matrix_synapse_database_host: 'db.example.org' }, EXPECTED),
    ).toEqual([]);
  });

  it('flags prose placeholders in secret variables only', () => {
    const issues = only({ matrix_bridge_postmoogle_password: 'any password', matrix_synapse_admin_contact: 'mailto:a b' }, EXPECTED);
    expect(issues.map((i) => i.variable)).toEqual(['matrix_bridge_postmoogle_password']);
  });
});

describe('planFromServerName', () => {
  const plan = planFromServerName('example.org');

  it('is the plan of a minimal MDAD configuration', () => {
    const judged = planFromVars(minimalVars('example.org'));
    expect(judged.issues.map((i) => i.variable)).toContain('matrix_homeserver_generic_secret_key');
    expect(plan).toEqual({ ...judged, issues: [] });
    expect(plan.matrixHost).toBe('matrix.example.org');
    expect(recordsOf(plan, 'element')).toEqual(['CNAME element.example.org matrix.example.org']);
    expect(portsOf(plan)).toEqual(['80/tcp', '443/tcp', '443/udp', '8448/tcp', '8448/udp']);
    expect(plan.wellKnown.server).toEqual({ 'm.server': 'matrix.example.org:8448' });
  });

  it('has no issues and unknown (empty) secrets', () => {
    expect(plan.issues).toEqual([]);
    expect(plan.secrets).toEqual({ synapseMacaroonSecretKey: '', registrationSharedSecret: '' });
  });

  it('normalises case and a trailing dot', () => {
    expect(planFromServerName('Example.ORG.').serverName).toBe('example.org');
  });

  it('refuses what is not a bare domain', () => {
    for (const bad of ['', 'example.org:8448', 'https://example.org', '203.0.113.10', 'exa mple.org', '-bad.example.org']) {
      expect(() => planFromServerName(bad), bad).toThrow(InputError);
    }
  });
});

describe('planFromVars: bad input', () => {
  it('throws InputError without matrix_domain', () => {
    expect(() => planFromVars({})).toThrow(InputError);
    expect(() => planFromVars({ matrix_domain: '  ' })).toThrow(/matrix_domain is missing or empty/);
  });
});

describe('combineRecursive', () => {
  it('merges mappings and replaces everything else', () => {
    expect(combineRecursive({ a: { b: 1, c: [1] }, d: 1 }, { a: { c: [2], e: 3 }, d: { x: 1 } })).toEqual({
      a: { b: 1, c: [2], e: 3 },
      d: { x: 1 },
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The loader

async function inputError(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).not.toContain('\n');
    return e as Error;
  }
  throw new Error('expected an InputError');
}

describe('loadPlan', () => {
  it('--vars reads one vars.yml', async () => {
    const plan = await loadPlan({ vars: fixture('many-services-vars.yml') });
    expect(plan.serverName).toBe('example.org');
    expect(enabledIds(plan)).toContain('hydrogen'); // `yes` read as a YAML 1.1 boolean
    expect(plan.issues).toEqual([]);
    expect(plan.host).toBeUndefined();
  });

  it('--vars refuses a different server name', async () => {
    const error = await inputError(loadPlan({ vars: fixture('modern-minimal-vars.yml'), serverName: 'example.net' }));
    expect(error.message).toContain('modern-minimal-vars.yml: matrix_domain is example.org, not the server name example.net');
    await expect(loadPlan({ vars: fixture('modern-minimal-vars.yml'), serverName: 'example.org' })).resolves.toMatchObject({
      serverName: 'example.org',
    });
  });

  it('--playbook reads the inventory, the host vars and the expected migration version', async () => {
    const plan = await loadPlan({ playbook: fixture('playbook') });
    expect(plan.host).toEqual({
      name: 'matrix.example.org',
      address: '203.0.113.10',
      sshUser: 'deploy',
      sshPort: 2222,
      sshKey: '~/.ssh/matrix key',
      become: true,
    });
    expect(issue(plan, 'matrix_playbook_migration_validated_version')).toMatchObject({
      kind: 'invalid',
      reason: 'v2026.05.18.0 is older than the version this playbook expects (v2026.08.01.0)',
    });
    expect(recordsOf(plan, 'postmoogle')).toContain('TXT matrix.example.org v=spf1 ip4:203.0.113.10 -all');
  });

  it('--vars with --playbook: vars from the file, version and host from the checkout', async () => {
    const varsFile = join(fixture('playbook'), 'inventory', 'host_vars', 'matrix.example.org', 'vars.yml');
    const plan = await loadPlan({ vars: varsFile, playbook: fixture('playbook') });
    expect(plan.host?.name).toBe('matrix.example.org');
    expect(issue(plan, 'matrix_playbook_migration_validated_version')?.reason).toContain('v2026.08.01.0');
    const other = await loadPlan({ vars: fixture('modern-minimal-vars.yml'), playbook: fixture('playbook') });
    expect(other.host).toBeUndefined();
    expect(issue(other, 'matrix_playbook_migration_validated_version')?.kind).toBe('invalid');
  });

  it('--playbook with several hosts picks the one for the server name', async () => {
    const net = await loadPlan({ playbook: fixture('playbook-multi'), serverName: 'example.net' });
    expect(net.serverName).toBe('example.net');
    expect(net.matrixHost).toBe('chat.example.net');
    expect(net.host).toEqual({ name: 'chat.example.net', address: '198.51.100.20', sshUser: 'admin', become: true });
    const org = await loadPlan({ playbook: fixture('playbook-multi'), serverName: 'example.org' });
    expect(org.host?.name).toBe('matrix.example.org');
  });

  it('--playbook with several hosts and no or an unknown server name lists them', async () => {
    const none = await inputError(loadPlan({ playbook: fixture('playbook-multi') }));
    expect(none.message).toMatch(/several \[matrix_servers\] hosts \(matrix\.example\.org, chat\.example\.net\); give the server name/);
    const unknown = await inputError(loadPlan({ playbook: fixture('playbook-multi'), serverName: 'example.com' }));
    expect(unknown.message).toContain(
      'no [matrix_servers] host has matrix_domain example.com; hosts: matrix.example.org (example.org), chat.example.net (example.net)',
    );
  });

  it('a server name alone gives the server-name plan', async () => {
    expect(await loadPlan({ serverName: 'example.org' })).toEqual(planFromServerName('example.org'));
    await inputError(loadPlan({}));
  });

  it('loadInventory and readExpectedMigrationVersion read the checkout', async () => {
    expect((await loadInventory(fixture('playbook'))).map((h) => h.name)).toEqual(['matrix.example.org']);
    expect(await readExpectedMigrationVersion(fixture('playbook'))).toBe('v2026.08.01.0');
    expect(await readExpectedMigrationVersion(fixture('playbook-multi'))).toBeUndefined();
  });
});

describe('loadPlan: every problem is one InputError line naming the file', () => {
  let dir = '';
  const write = (path: string, text: string): string => {
    const file = join(dir, path);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, text);
    return file;
  };
  const MINIMAL_TEXT = readFileSync(fixture('modern-minimal-vars.yml'), 'utf8');

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'plan-load-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('missing file', async () => {
    const file = join(dir, 'nope.yml');
    expect((await inputError(loadPlan({ vars: file }))).message).toBe(`${file}: file not found`);
  });

  it('a directory instead of a file', async () => {
    mkdirSync(join(dir, 'adir'), { recursive: true });
    expect((await inputError(loadPlan({ vars: join(dir, 'adir') }))).message).toBe(`${join(dir, 'adir')}: is a directory, expected a file`);
  });

  it('unreadable file', async () => {
    const file = write('secret.yml', MINIMAL_TEXT);
    chmodSync(file, 0o000);
    try {
      let readable = true;
      try {
        readFileSync(file);
      } catch {
        readable = false;
      }
      if (readable) {
        // Running as root: permissions do not stop reads, so check the message through a path that fails otherwise.
        expect((await inputError(loadPlan({ vars: join(file, 'below') }))).message).toMatch(
          /secret\.yml\/below: (cannot be read|file not found)/,
        );
      } else {
        expect((await inputError(loadPlan({ vars: file }))).message).toBe(`${file}: permission denied`);
      }
    } finally {
      chmodSync(file, 0o600);
    }
  });

  it('YAML syntax error, with its line', async () => {
    const file = write('broken.yml', 'matrix_domain: example.org\nmatrix_homeserver_implementation: synapse\njitsi_enabled: [true\n');
    expect((await inputError(loadPlan({ vars: file }))).message).toMatch(
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: YAML syntax error at line \\d+: `),
    );
    const tabbed = write('tabbed.yml', 'matrix_domain: example.org\n\tjitsi_enabled: true\n');
    expect((await inputError(loadPlan({ vars: tabbed }))).message).toContain('tabbed.yml: YAML syntax error at line 2');
  });

  it('not a mapping', async () => {
    const list = write('list.yml', '- matrix_domain: example.org\n');
    expect((await inputError(loadPlan({ vars: list }))).message).toBe(`${list}: expected a mapping of variables, found a list`);
    const scalar = write('scalar.yml', 'just text\n');
    expect((await inputError(loadPlan({ vars: scalar }))).message).toBe(`${scalar}: expected a mapping of variables, found a string`);
    const empty = write('empty.yml', '# nothing here\n');
    expect((await inputError(loadPlan({ vars: empty }))).message).toBe(`${empty}: expected a mapping of variables, found nothing`);
  });

  it('missing matrix_domain', async () => {
    const file = write('nodomain.yml', 'matrix_homeserver_implementation: synapse\n');
    expect((await inputError(loadPlan({ vars: file }))).message).toBe(`${file}: matrix_domain is missing or empty`);
    const blank = write('blankdomain.yml', "matrix_domain: ''\n");
    expect((await inputError(loadPlan({ vars: blank }))).message).toBe(`${blank}: matrix_domain is missing or empty`);
  });

  it('vault-encrypted values are accepted as opaque', async () => {
    const file = write(
      'vaulted.yml',
      MINIMAL_TEXT.replace(
        "matrix_homeserver_generic_secret_key: 'example-generic-secret'",
        'matrix_homeserver_generic_secret_key: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162636465666768\n',
      ),
    );
    const plan = await loadPlan({ vars: file });
    expect(plan.issues).toEqual([]);
    expect(plan.secrets.synapseMacaroonSecretKey).toBe('');
  });

  it('--playbook without inventory/hosts', async () => {
    mkdirSync(join(dir, 'empty-checkout'), { recursive: true });
    expect((await inputError(loadPlan({ playbook: join(dir, 'empty-checkout') }))).message).toBe(
      `${join(dir, 'empty-checkout', 'inventory', 'hosts')}: file not found`,
    );
  });

  it('--playbook whose inventory has no [matrix_servers] host', async () => {
    const hosts = write('nohosts/inventory/hosts', '[web]\nwww.example.org\n');
    expect((await inputError(loadPlan({ playbook: join(dir, 'nohosts') }))).message).toBe(`${hosts}: no host under [matrix_servers]`);
  });

  it('--playbook with a malformed inventory line', async () => {
    const hosts = write('badinv/inventory/hosts', '[matrix_servers]\nmatrix.example.org ansible_host="203.0.113.10\n');
    expect((await inputError(loadPlan({ playbook: join(dir, 'badinv') }))).message).toBe(`${hosts}: line 2: unclosed quote`);
  });

  it('--playbook whose host_vars folder does not match the host name', async () => {
    write('typo/inventory/hosts', '[matrix_servers]\nmatrix.example.org ansible_host=203.0.113.10\n');
    write('typo/inventory/host_vars/matrix.exmaple.org/vars.yml', MINIMAL_TEXT);
    const error = await inputError(loadPlan({ playbook: join(dir, 'typo') }));
    expect(error.message).toBe(
      `${join(dir, 'typo', 'inventory', 'host_vars', 'matrix.example.org', 'vars.yml')}: file not found (the folder under inventory/host_vars/ must be named exactly like the host in inventory/hosts)`,
    );
  });

  it('--playbook with a broken migration defaults file', async () => {
    write('badroles/inventory/hosts', '[matrix_servers]\nmatrix.example.org\n');
    write('badroles/inventory/host_vars/matrix.example.org/vars.yml', MINIMAL_TEXT);
    const defaults = write(
      'badroles/roles/custom/matrix_playbook_migration/defaults/main.yml',
      'matrix_playbook_migration_expected_version: "v2026\n',
    );
    expect((await inputError(loadPlan({ playbook: join(dir, 'badroles') }))).message).toMatch(
      new RegExp(`^${defaults.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: YAML syntax error`),
    );
  });

  it('--playbook whose single host is for another server name', async () => {
    const error = await inputError(loadPlan({ playbook: fixture('playbook'), serverName: 'example.net' }));
    expect(error.message).toContain('matrix_domain is example.org, not the server name example.net');
  });
});
