// Variables the current playbook rejects or ignores, and the playbook's own validation
// (docs/playbook.md "vars.yml and the playbook's validation", "Removed and renamed variables").
// The exact names and families are MDAD's, from the generated tables (mdad-rules.ts: every
// validate_config task of MDAD and its pinned roles); the families below carry our own reason and
// fix, and MDAD's families without one are refused with MDAD's file named.

import { mdadIssues } from './mdad-issues.ts';
import { mdadLocation, mdadTables } from './mdad.ts';
import type { MdadRename } from './mdad.ts';
import type { PlanIssue } from './types.ts';
import { isVaulted, readVars, REVERSE_PROXY_TYPES } from './services.ts';
import type { VarReader } from './services.ts';

export const HOMESERVER_IMPLEMENTATIONS = ['synapse', 'dendrite', 'conduit', 'continuwuity', 'tuwunel'] as const;
export const POSTGRES_PASSWORD_MAX = 99;

const REGISTER_TOKEN_FIX =
  'Remove it. For invite-only sign-up set `matrix_synapse_enable_registration: true` and ' +
  '`matrix_synapse_registration_requires_token: true`, then create tokens with `npx tsx scripts/register.ts token create`.';

interface PrefixRule {
  pattern: RegExp;
  /** Old prefix → new prefix for renames; absent when the component is gone. */
  rename?: [string, string];
  reason: string;
  /** Fix text when it is not a plain rename or removal. */
  fix?: (variable: string) => string;
}

const renamed = (from: string, to: string, reason: string): PrefixRule => ({
  pattern: new RegExp(`^${from}.+`),
  rename: [from, to],
  reason,
});
const removed = (prefix: string, reason: string, fix?: (variable: string) => string): PrefixRule => ({
  pattern: new RegExp(`^${prefix}.+`),
  reason,
  ...(fix ? { fix } : {}),
});

/** Bridge prefixes renamed on 2026-07-16 (CHANGELOG "Bridge variables have been renamed"). */
const BRIDGE_RENAMES: ReadonlyArray<readonly [string, string]> = [
  ['matrix_appservice_discord_', 'matrix_bridge_appservice_discord_'],
  ['matrix_appservice_irc_', 'matrix_bridge_appservice_irc_'],
  ['matrix_beeper_linkedin_', 'matrix_bridge_beeper_linkedin_'],
  ['matrix_heisenbridge_', 'matrix_bridge_heisenbridge_'],
  ['matrix_hookshot_', 'matrix_bridge_hookshot_'],
  ['matrix_mautrix_androidsms_', 'matrix_bridge_mautrix_wsproxy_androidsms_'],
  ['matrix_mautrix_bluesky_', 'matrix_bridge_mautrix_bluesky_'],
  ['matrix_mautrix_discord_', 'matrix_bridge_mautrix_discord_'],
  ['matrix_mautrix_gmessages_', 'matrix_bridge_mautrix_gmessages_'],
  ['matrix_mautrix_googlechat_', 'matrix_bridge_mautrix_googlechat_'],
  ['matrix_mautrix_gvoice_', 'matrix_bridge_mautrix_gvoice_'],
  ['matrix_mautrix_imessage_', 'matrix_bridge_mautrix_wsproxy_imessage_'],
  ['matrix_mautrix_meta_instagram_', 'matrix_bridge_mautrix_meta_instagram_'],
  ['matrix_mautrix_meta_messenger_', 'matrix_bridge_mautrix_meta_messenger_'],
  ['matrix_mautrix_signal_', 'matrix_bridge_mautrix_signal_'],
  ['matrix_mautrix_slack_', 'matrix_bridge_mautrix_slack_'],
  ['matrix_mautrix_telegram_', 'matrix_bridge_mautrix_telegram_'],
  ['matrix_mautrix_twitter_', 'matrix_bridge_mautrix_twitter_'],
  ['matrix_mautrix_whatsapp_', 'matrix_bridge_mautrix_whatsapp_'],
  ['matrix_mautrix_wsproxy_', 'matrix_bridge_mautrix_wsproxy_'],
  ['matrix_meshtastic_relay_', 'matrix_bridge_meshtastic_relay_'],
  ['matrix_mx_puppet_groupme_', 'matrix_bridge_mx_puppet_groupme_'],
  ['matrix_mx_puppet_steam_', 'matrix_bridge_mx_puppet_steam_'],
  ['matrix_postmoogle_', 'matrix_bridge_postmoogle_'],
  ['matrix_rustpush_bridge_', 'matrix_bridge_rustpush_'],
  ['matrix_sms_bridge_', 'matrix_bridge_sms_'],
  ['matrix_steam_bridge_', 'matrix_bridge_steam_'],
  ['matrix_wechat_', 'matrix_bridge_wechat_'],
];

/** Whole families the playbook fails on. Order matters: the first match wins. */
const PREFIX_RULES: readonly PrefixRule[] = [
  removed(
    'matrix_registration_',
    'matrix-registration was removed from the playbook in May 2026 (the upstream project is archived)',
    () => REGISTER_TOKEN_FIX,
  ),
  {
    // Only these suffixes: matrix_synapse_admin_contact and friends belong to Synapse itself.
    pattern: /^matrix_synapse_admin_(enabled|base_path|config|container|hostname|path_prefix|http_|floc_|hsts_|restart_|systemd_)/,
    rename: ['matrix_synapse_admin_', 'matrix_ketesa_'],
    reason: 'synapse-admin became Ketesa on 2026-04-03; its variables were renamed',
    fix: (variable) =>
      variable === 'matrix_synapse_admin_enabled'
        ? 'Replace it with `matrix_ketesa_enabled: true` (served at https://matrix.<domain>/synapse-admin; consider `matrix_ketesa_path_prefix: /ketesa`).'
        : `Rename it to \`${variable.replace(/^matrix_synapse_admin_/, 'matrix_ketesa_')}\`.`,
  },
  removed(
    'matrix_dimension_',
    'the Dimension integration manager was removed from the playbook in February 2026',
    () => 'Remove it; there is no replacement. Also drop the `dimension` DNS record.',
  ),
  removed(
    'matrix_ma1sd_',
    'the ma1sd identity server was removed from the playbook in February 2026',
    () => 'Remove it; there is no replacement. Also drop the `_matrix-identity._tcp` SRV record. For LDAP logins see matrix-synapse-ldap3.',
  ),
  removed(
    'matrix_sliding_sync_',
    'the Sliding Sync proxy was removed from the playbook in November 2025; Synapse serves sliding sync itself',
  ),
  removed(
    'matrix_nginx_proxy_',
    'matrix-nginx-proxy was removed from the playbook (Traefik replaced it in 2024)',
    () => 'Remove it. To put your own web server in front, see docs/configuring-playbook-own-webserver.md in the playbook.',
  ),
  removed('matrix_ssl_', 'certificate handling moved to Traefik when matrix-nginx-proxy was removed'),
  renamed('matrix_jitsi_', 'jitsi_', 'the Jitsi role moved to the MASH organisation and its variables were renamed'),
  renamed('matrix_coturn_', 'coturn_', 'the coturn role moved to the MASH organisation and its variables were renamed'),
  renamed('matrix_postgres_', 'postgres_', 'the Postgres role was replaced and its variables were renamed'),
  renamed('matrix_mailer_', 'exim_relay_', 'matrix-mailer was replaced by exim-relay'),
  renamed('matrix_prometheus_nginxlog_exporter_', 'prometheus_nginxlog_exporter_', 'the role was replaced and its variables were renamed'),
  renamed('matrix_prometheus_node_exporter_', 'prometheus_node_exporter_', 'the role was replaced and its variables were renamed'),
  renamed('matrix_prometheus_postgres_exporter_', 'prometheus_postgres_exporter_', 'the role was replaced and its variables were renamed'),
  renamed('matrix_backup_borg_', 'backup_borg_', 'the role was replaced and its variables were renamed'),
  renamed('matrix_grafana_', 'grafana_', 'the role was replaced and its variables were renamed'),
  renamed('matrix_ntfy_', 'ntfy_', 'the role was replaced and its variables were renamed'),
  // matrix_redis_ first became redis_, and redis_ then became valkey_.
  renamed('matrix_redis_', 'valkey_', 'Redis was replaced by Valkey'),
  renamed('redis_', 'valkey_', 'Redis was replaced by Valkey'),
  renamed('keydb_', 'valkey_', 'KeyDB was replaced by Valkey'),
  renamed('matrix_etherpad_', 'etherpad_', 'the role was replaced and its variables were renamed'),
  renamed('matrix_aux_', 'aux_', 'the role was replaced and its variables were renamed'),
  renamed('matrix_bot_postmoogle_', 'matrix_bridge_postmoogle_', 'Postmoogle is now configured as a bridge'),
  renamed('devture_postgres_backup_', 'postgres_backup_', 'the role moved to the MASH organisation and its variables were renamed'),
  renamed('devture_postgres_', 'postgres_', 'the role moved to the MASH organisation and its variables were renamed'),
  renamed(
    'devture_traefik_certs_dumper_',
    'traefik_certs_dumper_',
    'the role moved to the MASH organisation and its variables were renamed',
  ),
  renamed('devture_traefik_', 'traefik_', 'the role moved to the MASH organisation and its variables were renamed'),
  renamed(
    'devture_container_socket_proxy_',
    'container_socket_proxy_',
    'the role moved to the MASH organisation and its variables were renamed',
  ),
  renamed('matrix_client_cinny_', 'cinny_', 'the Cinny role moved to the MASH organisation and its variables were renamed'),
  renamed('matrix_client_hydrogen_', 'hydrogen_', 'the Hydrogen role moved to the MASH organisation and its variables were renamed'),
  renamed('matrix_dynamic_dns_', 'ddclient_', 'the dynamic DNS role was replaced by ddclient'),
  removed('matrix_synapse_container_labels_public_client_synapse_oidc_', 'these labels were removed'),
  removed('matrix_synapse_reverse_proxy_companion_container_labels_public_client_synapse_oidc_', 'these labels were removed'),
  removed('matrix_bot_go_neb_', 'Go-NEB was removed from the playbook in May 2026'),
  removed('matrix_bot_chatgpt_', 'matrix-chatgpt-bot was removed from the playbook in November 2025'),
  removed(
    'matrix_bot_matrix_registration_bot_',
    'matrix-registration-bot was removed from the playbook in July 2026',
    () => REGISTER_TOKEN_FIX,
  ),
  removed(
    'matrix_appservice_slack_',
    'matrix-appservice-slack was removed from the playbook in February 2026',
    () => 'Remove it; mautrix-slack (`matrix_bridge_mautrix_slack_enabled`) is the Slack bridge now.',
  ),
  removed('matrix_appservice_webhooks_', 'matrix-appservice-webhooks was removed from the playbook in November 2025'),
  removed('matrix_appservice_kakaotalk_', 'matrix-appservice-kakaotalk was removed from the playbook in July 2026'),
  removed(
    'matrix_conduwuit',
    'conduwuit was removed from the playbook in February 2026',
    () => 'Remove it; Continuwuity (`matrix_homeserver_implementation: continuwuity`) is its successor.',
  ),
  removed('matrix_ldap_registration_proxy_', 'matrix-ldap-registration-proxy was removed from the playbook in May 2026'),
  removed(
    'matrix_mautrix_facebook_',
    'mautrix-facebook was removed from the playbook in November 2025',
    () => 'Remove it; mautrix-meta (`matrix_bridge_mautrix_meta_messenger_enabled`) bridges Messenger now.',
  ),
  removed(
    'matrix_mautrix_instagram_',
    'mautrix-instagram was removed from the playbook in November 2025',
    () => 'Remove it; mautrix-meta (`matrix_bridge_mautrix_meta_instagram_enabled`) bridges Instagram now.',
  ),
  removed('matrix_mautrix_hangouts_', 'mautrix-hangouts was removed from the playbook in February 2025 (Hangouts was shut down)'),
  removed('matrix_mx_puppet_discord_', 'the MX Puppet Discord bridge was removed from the playbook in November 2025'),
  removed('matrix_mx_puppet_instagram_', 'the MX Puppet Instagram bridge was removed from the playbook in November 2025'),
  removed('matrix_mx_puppet_slack_', 'the MX Puppet Slack bridge was removed from the playbook in November 2025'),
  removed('matrix_mx_puppet_twitter_', 'the MX Puppet Twitter bridge was removed from the playbook in November 2025'),
  removed(
    'matrix_email2matrix_',
    'Email2Matrix was removed from the playbook in February 2025',
    () => 'Remove it; Postmoogle (`matrix_bridge_postmoogle_enabled`) is the email bridge now.',
  ),
  removed('matrix_go_skype_bridge_', 'go-skype-bridge was removed from the playbook in November 2025 (Skype was shut down)'),
  removed(
    'matrix_synapse_ext_synapse_auto_accept_invite_',
    'synapse-auto-accept-invite was removed; Synapse (>= 1.109) does this itself',
    () => 'Remove it and set `matrix_synapse_auto_accept_invites_enabled: true` instead.',
  ),
  ...BRIDGE_RENAMES.map(([from, to]) =>
    renamed(from, to, 'bridge variables were renamed on 2026-07-16 so that each prefix matches its role'),
  ),
];

/**
 * Hand-made Jitsi secrets from older guides. MDAD now derives them from
 * matrix_homeserver_generic_secret_key (docs/playbook.md "Derived secrets"), or no template reads them. A value set here
 * still overrides the derived one; deleting it is safe because the next run configures every
 * Jitsi component with the derived value. (The macaroon key is deliberately not listed: changing
 * it on a running server changes the registration shared secret.)
 */
export const SUPERFLUOUS_VARIABLES: ReadonlyArray<readonly [string, string]> = [
  ['jitsi_jicofo_auth_password', 'derived from the generic secret (suffix :jicofo) by group_vars/matrix_servers'],
  ['jitsi_jvb_auth_password', 'derived from the generic secret (suffix :jvb) by group_vars/matrix_servers'],
  ['jitsi_jibri_xmpp_password', 'derived from the generic secret (suffix :jibri) by group_vars/matrix_servers'],
  // Still a default in ansible-role-jitsi, but no template uses it (checked at 8f42131).
  ['jitsi_jicofo_component_secret', 'no longer used by the Jitsi role'],
];

function renameFix(variable: string, rule: PrefixRule): string {
  if (rule.fix) return rule.fix(variable);
  if (rule.rename) return `Rename it to \`${rule.rename[1]}${variable.slice(rule.rename[0].length)}\`.`;
  return 'Remove it.';
}

interface MdadNames {
  exact: ReadonlyMap<string, MdadRename>;
  /** MDAD's families, refused with MDAD's file named (after the rules with our own reason above). */
  families: readonly PrefixRule[];
}
let mdadNames: MdadNames | undefined;

function namesOfMdad(): MdadNames {
  mdadNames ??= {
    exact: new Map(mdadTables().renames.map((row) => [row.old, row])),
    families: mdadTables().prefixes.map((family) => ({
      pattern: new RegExp(family.pattern),
      ...(family.renameFrom && family.renameTo ? { rename: [family.renameFrom, family.renameTo] as [string, string] } : {}),
      reason: `MDAD refuses every variable matching ${family.pattern} (${mdadLocation(family)})`,
    })),
  };
  return mdadNames;
}

/** The rule that refuses a variable: MDAD's exact names first, then the families. */
function obsoleteRule(variable: string): { exact: MdadRename } | { family: PrefixRule } | undefined {
  const { exact, families } = namesOfMdad();
  const row = exact.get(variable);
  if (row) return { exact: row };
  const family = PREFIX_RULES.find((r) => r.pattern.test(variable)) ?? families.find((r) => r.pattern.test(variable));
  return family ? { family } : undefined;
}

/** What --migrate does with a refused variable: today's final name (following every later rename), or removal. */
export function finalName(variable: string): string | undefined {
  let name = variable;
  for (let step = 0; step < 16; step++) {
    const rule = obsoleteRule(name);
    if (!rule) return name === variable ? undefined : name;
    if ('exact' in rule) {
      if (!rule.exact.to) return undefined;
      name = rule.exact.to;
    } else {
      if (!rule.family.rename) return undefined;
      name = rule.family.rename[1] + name.slice(rule.family.rename[0].length);
    }
  }
  return undefined;
}

function exactIssue(variable: string, row: MdadRename): PlanIssue {
  const final = finalName(variable);
  if (final) return { variable, kind: 'rejected', reason: `renamed to ${final}`, fix: `Rename it to \`${final}\`.` };
  const see = row.see?.length ? row.see.map((name) => `\`${name}\``).join(' or ') : undefined;
  return {
    variable,
    kind: 'rejected',
    reason: see ? `replaced by ${see}, not one to one` : 'removed from the playbook',
    fix: see ? `Remove it and set ${see} instead (not a 1:1 rename: see its documentation for the new form).` : 'Remove it.',
  };
}

/** One issue per variable the playbook refuses (renamed or removed) or ignores. */
export function obsoleteIssues(vars: Readonly<Record<string, unknown>>): PlanIssue[] {
  const superfluous = new Map(SUPERFLUOUS_VARIABLES);
  const issues: PlanIssue[] = [];
  for (const variable of Object.keys(vars)) {
    const rule = obsoleteRule(variable);
    if (rule && 'exact' in rule) {
      issues.push(exactIssue(variable, rule.exact));
    } else if (rule) {
      const final = finalName(variable);
      const fix = rule.family.fix || !final ? renameFix(variable, rule.family) : `Rename it to \`${final}\`.`;
      issues.push({ variable, kind: 'rejected', reason: rule.family.reason, fix });
    } else {
      const why = superfluous.get(variable);
      if (why) issues.push({ variable, kind: 'ignored', reason: `not needed: ${why}`, fix: 'Remove the line.' });
    }
  }
  return issues;
}

// ---------------------------------------------------------------------------------------------
// The playbook's own validation (docs/playbook.md "vars.yml and the playbook's validation")

export interface ValidationOptions {
  /** matrix_playbook_migration_expected_version of the checkout, when known. */
  expectedMigrationVersion?: string;
}

const SECRET_NAME = /(secret|password|_key)$/;

function migrationIssue(vars: VarReader, expected?: string): PlanIssue | undefined {
  const variable = 'matrix_playbook_migration_validated_version';
  const value = vars.str(variable)?.trim() ?? '';
  const setTo = expected
    ? `\`${variable}: ${expected}\``
    : `\`${variable}:\` with the value of matrix_playbook_migration_expected_version in roles/custom/matrix_playbook_migration/defaults/main.yml`;
  if (!value) {
    return {
      variable,
      kind: 'invalid',
      reason: 'missing: every playbook run stops until the breaking-changes list has been acknowledged',
      fix: `Read the playbook's CHANGELOG, then add ${setTo} to vars.yml.`,
    };
  }
  // MDAD compares the strings; the vYYYY.MM.DD.N format makes that chronological.
  if (expected && value < expected) {
    return {
      variable,
      kind: 'invalid',
      reason: `${value} is older than the version this playbook expects (${expected})`,
      fix: `Review the breaking changes after ${value} in the playbook's CHANGELOG, then set ${setTo}.`,
    };
  }
  return undefined;
}

function domainIssues(vars: VarReader): PlanIssue[] {
  const issues: PlanIssue[] = [];
  for (const variable of ['matrix_domain', 'matrix_server_fqn_matrix', 'matrix_server_fqn_element']) {
    if (!vars.has(variable)) continue;
    const value = vars.str(variable);
    if (value === undefined || value.trim() === '') {
      issues.push({ variable, kind: 'invalid', reason: 'empty', fix: `Set \`${variable}\` (see the playbook's examples/vars.yml).` });
    } else if (value !== value.toLowerCase()) {
      issues.push({
        variable,
        kind: 'invalid',
        reason: `contains upper-case letters (${value}); the playbook refuses them`,
        fix: `Write it in lower case: \`${variable}: ${value.toLowerCase()}\`.`,
      });
    }
  }
  return issues;
}

/** Values that read like tutorial prose ("большой ключ") rather than generated secrets. */
function placeholderIssues(raw: Readonly<Record<string, unknown>>, skip: ReadonlySet<string>): PlanIssue[] {
  const issues: PlanIssue[] = [];
  for (const [variable, value] of Object.entries(raw)) {
    if (skip.has(variable) || !SECRET_NAME.test(variable) || typeof value !== 'string') continue;
    if (/\s/.test(value.trim())) {
      issues.push({
        variable,
        kind: 'invalid',
        reason: 'looks like placeholder text (it contains spaces); the playbook accepts it, but it is not a secret',
        fix: `Replace it with a random value, e.g. the output of \`pwgen -s 64 1\`${variable === 'postgres_connection_password' ? ' (at most 99 characters)' : ''}.`,
      });
    }
  }
  return issues;
}

/** What the playbook's validation tasks would stop on, plus placeholder secrets. */
export function validationIssues(raw: Readonly<Record<string, unknown>>, options: ValidationOptions = {}): PlanIssue[] {
  const vars = readVars(raw);
  const issues: PlanIssue[] = [];
  const migration = migrationIssue(vars, options.expectedMigrationVersion);
  if (migration) issues.push(migration);

  const generic = raw['matrix_homeserver_generic_secret_key'];
  if (!isVaulted(generic) && !vars.str('matrix_homeserver_generic_secret_key')) {
    issues.push({
      variable: 'matrix_homeserver_generic_secret_key',
      kind: 'invalid',
      reason: 'missing or empty; every derived secret is built from it',
      fix: 'Set it to a random value, e.g. `pwgen -s 64 1`. With --playbook, also check that inventory/host_vars/<host>/ matches the host name in inventory/hosts.',
    });
  }
  issues.push(...domainIssues(vars));

  const implementation = vars.str('matrix_homeserver_implementation') ?? 'synapse';
  if (!(HOMESERVER_IMPLEMENTATIONS as readonly string[]).includes(implementation)) {
    issues.push({
      variable: 'matrix_homeserver_implementation',
      kind: 'invalid',
      reason: `"${implementation}" is not one of ${HOMESERVER_IMPLEMENTATIONS.join(', ')}`,
      fix: 'Use `matrix_homeserver_implementation: synapse`.',
    });
  }

  const proxy = vars.str('matrix_playbook_reverse_proxy_type') ?? '';
  if (!(REVERSE_PROXY_TYPES as readonly string[]).includes(proxy)) {
    issues.push({
      variable: 'matrix_playbook_reverse_proxy_type',
      kind: 'invalid',
      reason: proxy ? `"${proxy}" is not one of ${REVERSE_PROXY_TYPES.join(', ')}` : 'not set; the playbook has no default',
      fix: 'Set `matrix_playbook_reverse_proxy_type: playbook-managed-traefik` (or other-traefik-container / none for your own proxy).',
    });
  }

  // The Postgres role checks its password only when the playbook manages Postgres.
  if (vars.bool('postgres_enabled', true) && !isVaulted(raw['postgres_connection_password'])) {
    const password = vars.str('postgres_connection_password') ?? '';
    if (!password) {
      issues.push({
        variable: 'postgres_connection_password',
        kind: 'invalid',
        reason: 'missing or empty',
        fix: 'Set it to a random value of at most 99 characters, e.g. `pwgen -s 64 1`.',
      });
    } else if ([...password].length > POSTGRES_PASSWORD_MAX) {
      issues.push({
        variable: 'postgres_connection_password',
        kind: 'invalid',
        reason: `${[...password].length} characters; the Postgres role allows at most ${POSTGRES_PASSWORD_MAX}`,
        fix: 'Use a shorter random value, e.g. `pwgen -s 64 1`.',
      });
    }
  }

  const flagged = new Set(issues.map((i) => i.variable));
  for (const issue of obsoleteIssues(raw)) flagged.add(issue.variable);
  issues.push(...placeholderIssues(raw, flagged));
  // The rest of MDAD's validation, from its own tasks.
  for (const issue of issues) flagged.add(issue.variable);
  issues.push(...mdadIssues(raw, flagged));
  return issues;
}
