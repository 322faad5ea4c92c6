// Variables the current playbook rejects or ignores, and the playbook's own validation
// (docs/playbook.md "vars.yml and the playbook's validation", "Removed and renamed variables").
// The prefixes and exact names mirror MDAD's checks in
// roles/custom/matrix_playbook_migration/tasks/validate_config.yml and
// roles/custom/matrix-base/tasks/validate_config.yml (both at c0681e4); wording is our own.

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
export const PREFIX_RULES: readonly PrefixRule[] = [
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
 * Single variables that were renamed or dropped: [old, replacement ('' = none), hint].
 * From the "renamed settings" lists of MDAD's two validate_config.yml files.
 */
export const RENAMED_VARIABLES: ReadonlyArray<readonly [string, string, string?]> = [
  ['matrix_vars_yml_snapshotting_enabled', 'devture_playbook_state_preserver_vars_preservation_enabled'],
  ['matrix_vars_yml_snapshotting_src', 'devture_playbook_state_preserver_vars_preservation_src'],
  ['matrix_playbook_commit_hash_preservation_enabled', 'devture_playbook_state_preserver_commit_hash_preservation_enabled'],
  ['matrix_ntpd_package', 'devture_timesync_ntpd_package'],
  ['matrix_ntpd_service', 'devture_timesync_ntpd_service'],
  ['matrix_systemd_unit_home_path', 'devture_systemd_docker_base_systemd_unit_home_path'],
  ['matrix_systemd_path', 'devture_systemd_docker_base_systemd_path'],
  ['matrix_host_command_docker', 'devture_systemd_docker_base_host_command_docker'],
  ['matrix_host_command_sh', 'devture_systemd_docker_base_host_command_sh'],
  ['matrix_host_command_systemctl', 'devture_systemd_docker_base_host_command_systemctl'],
  ['matrix_container_retries_count', 'devture_playbook_help_container_retries_count'],
  ['matrix_container_retries_delay', 'devture_playbook_help_container_retries_delay'],
  ['matrix_geturl_retries_count', 'devture_playbook_help_geturl_retries_count'],
  ['matrix_geturl_retries_delay', 'devture_playbook_help_geturl_retries_delay'],
  ['matrix_nginx_proxy_synapse_cache_path', 'matrix_synapse_reverse_proxy_companion_synapse_cache_path'],
  ['matrix_nginx_proxy_synapse_cache_enabled', 'matrix_synapse_reverse_proxy_companion_synapse_cache_enabled'],
  ['matrix_docker_installation_enabled', 'matrix_playbook_docker_installation_enabled'],
  ['matrix_docker_package_name', ''],
  ['matrix_systemd_services_list', 'devture_systemd_service_manager_services_list_additional'],
  ['matrix_common_after_systemd_service_start_wait_for_timeout_seconds', 'devture_systemd_service_manager_up_verification_delay_seconds'],
  ['matrix_systemd_services_autostart_enabled', 'devture_systemd_service_manager_services_autostart_enabled'],
  [
    'matrix_prometheus_node_exporter_metrics_proxying_enabled',
    'prometheus_node_exporter_container_labels_metrics_enabled',
    'or matrix_metrics_exposure_enabled',
  ],
  [
    'matrix_prometheus_postgres_exporter_metrics_proxying_enabled',
    'prometheus_postgres_exporter_container_labels_metrics_enabled',
    'or matrix_metrics_exposure_enabled',
  ],
  ['matrix_playbook_traefik_certs_dumper_role_enabled', 'traefik_certs_dumper_enabled'],
  ['matrix_playbook_traefik_role_enabled', 'traefik_enabled'],
  ['matrix_prometheus_enabled', 'prometheus_enabled'],
  ['matrix_prometheus_process_default_arguments', 'prometheus_process_default_arguments'],
  ['matrix_prometheus_process_extra_arguments', 'prometheus_process_extra_arguments'],
  ['matrix_prometheus_configuration_extension_yaml', 'prometheus_configuration_extension_yaml'],
  ['matrix_prometheus_scraper_synapse_enabled', 'matrix_prometheus_services_connect_synapse_enabled'],
  [
    'matrix_prometheus_scraper_synapse_targets',
    'matrix_prometheus_services_connect_scraper_synapse_main_process_static_configs_target',
    'not a 1:1 rename',
  ],
  ['matrix_prometheus_scraper_synapse_workers_enabled_list', 'matrix_prometheus_services_connect_scraper_synapse_workers_enabled_list'],
  ['matrix_prometheus_scraper_synapse_rules_synapse_tag', 'matrix_prometheus_services_connect_synapse_rules_download_synapse_tag'],
  ['matrix_prometheus_scraper_node_enabled', 'prometheus_self_node_scraper_enabled'],
  ['matrix_prometheus_scraper_node_targets', 'prometheus_self_node_scraper_static_configs_target', 'not a 1:1 rename'],
  ['matrix_prometheus_scraper_postgres_enabled', 'matrix_prometheus_services_connect_scraper_postgres_enabled'],
  [
    'matrix_prometheus_scraper_postgres_targets',
    'matrix_prometheus_services_connect_scraper_postgres_static_configs_target',
    'not a 1:1 rename',
  ],
  ['matrix_prometheus_scraper_hookshot_enabled', 'matrix_prometheus_services_connect_scraper_hookshot_enabled'],
  [
    'matrix_prometheus_scraper_hookshot_targets',
    'matrix_prometheus_services_connect_scraper_hookshot_static_configs_target',
    'not a 1:1 rename',
  ],
  ['matrix_prometheus_scraper_nginxlog_enabled', 'matrix_prometheus_services_connect_scraper_nginxlog_enabled'],
  ['matrix_prometheus_scraper_nginxlog_server_port', 'matrix_prometheus_services_connect_scraper_nginxlog_static_configs_target'],
  ['matrix_prosody_jitsi_max_participants', 'jitsi_prosody_max_participants'],
  ['jitsi_require_well_known', 'jitsi_web_well_known_element_jitsi_enabled'],
  ['jitsi_wellknown_element_jitsi_json', 'jitsi_web_well_known_element_jitsi_json'],
  ['exim_relay_docker_image', 'exim_relay_container_image'],
  ['exim_relay_docker_image_name_prefix', 'exim_relay_container_image_name_prefix'],
  ['exim_relay_docker_image_force_pull', 'exim_relay_container_image_force_pull'],
  [
    'matrix_playbook_reverse_proxy_traefik_middleware_compession_enabled',
    'matrix_playbook_reverse_proxy_traefik_middleware_compression_enabled',
  ],
  ['matrix_playbook_reverse_proxy_traefik_middleware_compession_name', 'matrix_playbook_reverse_proxy_traefik_middleware_compression_name'],
  ['matrix_synapse_account_threepid_delegates_msisdn_mas1sd_url', ''],
  ['cinny_docker_image', 'cinny_container_image'],
  ['cinny_docker_image_registry_prefix', 'cinny_container_image_registry_prefix'],
  ['cinny_docker_image_registry_prefix_upstream', 'cinny_container_image_registry_prefix_upstream'],
  ['cinny_docker_image_registry_prefix_upstream_default', 'cinny_container_image_registry_prefix_upstream_default'],
  ['coturn_docker_image', 'coturn_container_image'],
  ['coturn_docker_image_registry_prefix', 'coturn_container_image_registry_prefix'],
  ['coturn_docker_image_registry_prefix_upstream', 'coturn_container_image_registry_prefix_upstream'],
  ['coturn_docker_image_registry_prefix_upstream_default', 'coturn_container_image_registry_prefix_upstream_default'],
  ['ddclient_docker_image', 'ddclient_container_image'],
  ['ddclient_docker_image_registry_prefix', 'ddclient_container_image_registry_prefix'],
  ['ddclient_docker_image_registry_prefix_upstream', 'ddclient_container_image_registry_prefix_upstream'],
  ['ddclient_docker_image_registry_prefix_upstream_default', 'ddclient_container_image_registry_prefix_upstream_default'],
  ['hydrogen_docker_image', 'hydrogen_container_image'],
  ['hydrogen_docker_image_registry_prefix', 'hydrogen_container_image_registry_prefix'],
  ['hydrogen_docker_image_registry_prefix_upstream', 'hydrogen_container_image_registry_prefix_upstream'],
  ['hydrogen_docker_image_registry_prefix_upstream_default', 'hydrogen_container_image_registry_prefix_upstream_default'],
  ['prometheus_nginxlog_exporter_docker_image', 'prometheus_nginxlog_exporter_container_image'],
  ['prometheus_nginxlog_exporter_docker_image_registry_prefix', 'prometheus_nginxlog_exporter_container_image_registry_prefix'],
  [
    'prometheus_nginxlog_exporter_docker_image_registry_prefix_upstream',
    'prometheus_nginxlog_exporter_container_image_registry_prefix_upstream',
  ],
  [
    'prometheus_nginxlog_exporter_docker_image_registry_prefix_upstream_default',
    'prometheus_nginxlog_exporter_container_image_registry_prefix_upstream_default',
  ],
  ['prometheus_nginxlog_exporter_docker_image_arch_check_enabled', 'prometheus_nginxlog_exporter_container_image_arch_check_enabled'],
  ['prometheus_nginxlog_exporter_metrics_proxying_enabled', 'prometheus_nginxlog_exporter_container_labels_metrics_enabled'],
  ['prometheus_nginxlog_exporter_metrics_proxying_hostname', 'prometheus_nginxlog_exporter_container_labels_metrics_hostname'],
  ['prometheus_nginxlog_exporter_metrics_proxying_path_prefix', 'prometheus_nginxlog_exporter_container_labels_metrics_path_prefix'],
  [
    'prometheus_nginxlog_exporter_config_namespaces_matrix_source_tags_custom',
    'prometheus_nginxlog_exporter_config_namespaces_source_tags_custom',
  ],
  ['matrix_nginx_proxy_proxy_matrix_metrics_enabled', 'matrix_metrics_exposure_enabled'],
  ['matrix_nginx_proxy_proxy_matrix_metrics_basic_auth_enabled', 'matrix_metrics_exposure_http_basic_auth_enabled'],
  ['matrix_nginx_proxy_proxy_matrix_metrics_basic_auth_username', 'matrix_metrics_exposure_http_basic_auth_users', 'not a 1:1 rename'],
  ['matrix_nginx_proxy_proxy_matrix_metrics_basic_auth_password', 'matrix_metrics_exposure_http_basic_auth_users', 'not a 1:1 rename'],
  ['matrix_nginx_proxy_proxy_matrix_metrics_basic_auth_raw_content', 'matrix_metrics_exposure_http_basic_auth_users', 'not a 1:1 rename'],
  [
    'matrix_nginx_proxy_proxy_matrix_metrics_additional_location_configuration_blocks',
    '',
    'expose each service with its own container labels instead',
  ],
  [
    'matrix_nginx_proxy_proxy_matrix_metrics_additional_system_location_configuration_blocks',
    '',
    'expose each service with its own container labels instead',
  ],
  [
    'matrix_nginx_proxy_proxy_matrix_metrics_additional_user_location_configuration_blocks',
    '',
    'expose each service with its own container labels instead',
  ],
  ['matrix_well_known_matrix_server_enabled', 'matrix_static_files_file_matrix_server_enabled'],
  ['matrix_well_known_matrix_support_enabled', 'matrix_static_files_file_matrix_support_enabled'],
  ['matrix_homeserver_admin_contacts', 'matrix_static_files_file_matrix_support_property_m_contacts'],
  ['matrix_homeserver_support_url', 'matrix_static_files_file_matrix_support_property_m_support_page'],
  ['matrix_well_known_matrix_client_io_element_e2ee_default', 'matrix_static_files_file_matrix_client_property_io_element_e2ee_default'],
  [
    'matrix_well_known_matrix_client_io_element_e2ee_secure_backup_required',
    'matrix_static_files_file_matrix_client_property_io_element_e2ee_secure_backup_required',
  ],
  [
    'matrix_well_known_matrix_client_io_element_e2ee_secure_backup_setup_methods',
    'matrix_static_files_file_matrix_client_property_io_element_e2ee_secure_backup_setup_methods',
  ],
  ['matrix_well_known_matrix_client_configuration_extension_json', 'matrix_static_files_file_matrix_client_configuration_extension_json'],
  ['matrix_well_known_matrix_server_configuration_extension_json', 'matrix_static_files_file_matrix_server_configuration_extension_json'],
  ['matrix_well_known_matrix_support_configuration_extension_json', 'matrix_static_files_file_matrix_support_configuration_extension_json'],
  ['matrix_nginx_proxy_self_check_validate_certificates', 'matrix_static_files_self_check_validate_certificates'],
  [
    'matrix_nginx_proxy_self_check_well_known_matrix_client_follow_redirects',
    'matrix_static_files_self_check_well_known_matrix_client_follow_redirects',
  ],
  ['matrix_nginx_proxy_base_domain_serving_enabled', 'matrix_static_files_container_labels_base_domain_enabled'],
  ['matrix_nginx_proxy_base_domain_hostname', 'matrix_static_files_container_labels_base_domain_traefik_hostname'],
  ['matrix_nginx_proxy_base_domain_homepage_enabled', 'matrix_static_files_file_index_html_enabled'],
  ['matrix_nginx_proxy_base_domain_homepage_template', 'matrix_static_files_file_index_html_template'],
  ['matrix_nginx_proxy_base_domain_create_directory', ''],
  [
    'matrix_nginx_proxy_proxy_riot_compat_redirect_enabled',
    '',
    'no replacement; add your own labels to Element (matrix_client_element_container_labels_additional_labels)',
  ],
  [
    'matrix_nginx_proxy_proxy_riot_compat_redirect_hostname',
    '',
    'no replacement; add your own labels to Element (matrix_client_element_container_labels_additional_labels)',
  ],
  [
    'matrix_nginx_proxy_proxy_matrix_client_redirect_enabled',
    'matrix_synapse_container_labels_public_client_root_redirection_enabled',
    'not a 1:1 rename',
  ],
  [
    'matrix_nginx_proxy_proxy_matrix_client_redirect_root_uri_to_domain',
    'matrix_synapse_container_labels_public_client_root_redirection_url',
    'not a 1:1 rename',
  ],
  [
    'matrix_nginx_proxy_proxy_matrix_client_api_forwarded_location_synapse_client_api_enabled',
    'matrix_synapse_container_labels_public_client_synapse_client_api_enabled',
  ],
  [
    'matrix_nginx_proxy_proxy_matrix_client_api_forwarded_location_synapse_oidc_api_enabled',
    'matrix_synapse_container_labels_public_client_synapse_oidc_api_enabled',
    'not a 1:1 rename',
  ],
  [
    'matrix_nginx_proxy_proxy_matrix_client_api_forwarded_location_synapse_admin_api_enabled',
    'matrix_synapse_container_labels_public_client_synapse_admin_api_enabled',
  ],
  ['matrix_nginx_proxy_proxy_matrix_identity_api_enabled', ''],
  ['matrix_nginx_proxy_proxy_matrix_identity_api_addr_with_container', ''],
  ['matrix_nginx_proxy_proxy_matrix_identity_api_addr_sans_container', ''],
  ['matrix_nginx_proxy_proxy_matrix_user_directory_search_enabled', ''],
  ['matrix_nginx_proxy_proxy_matrix_user_directory_search_addr_with_container', ''],
  ['matrix_nginx_proxy_proxy_matrix_user_directory_search_addr_sans_container', ''],
  ['matrix_nginx_proxy_proxy_matrix_user_directory_search_v3_to_r0_redirect_enabled', ''],
  ['matrix_nginx_proxy_proxy_matrix_3pid_registration_enabled', ''],
  ['matrix_nginx_proxy_proxy_matrix_3pid_registration_addr_with_container', ''],
  ['matrix_nginx_proxy_proxy_matrix_3pid_registration_addr_sans_container', ''],
  ['matrix_nginx_proxy_proxy_matrix_3pid_registration_v3_to_r0_redirect_enabled', ''],
  ['matrix_nginx_proxy_proxy_conduit_enabled', 'matrix_conduit_container_labels_traefik_enabled'],
  [
    'matrix_nginx_proxy_proxy_conduit_block_federation_api_on_client_port',
    '',
    'no replacement; federation endpoints are also served on the client port now',
  ],
  ['matrix_nginx_proxy_proxy_conduit_federation_api_enabled', 'matrix_conduit_container_labels_public_federation_api_enabled'],
  ['matrix_nginx_proxy_proxy_conduit_client_api_addr_with_container', ''],
  ['matrix_nginx_proxy_proxy_conduit_client_api_addr_sans_container', ''],
  ['matrix_nginx_proxy_proxy_conduit_federation_api_addr_with_container', ''],
  ['matrix_nginx_proxy_proxy_conduit_federation_api_addr_sans_container', ''],
  ['matrix_nginx_proxy_proxy_conduit_additional_server_configuration_blocks', ''],
  ['matrix_nginx_proxy_proxy_dendrite_enabled', 'matrix_dendrite_container_labels_traefik_enabled'],
  [
    'matrix_nginx_proxy_proxy_dendrite_block_federation_api_on_client_port',
    '',
    'no replacement; federation endpoints are also served on the client port now',
  ],
  ['matrix_nginx_proxy_proxy_dendrite_federation_api_enabled', 'matrix_dendrite_container_labels_public_federation_api_enabled'],
  ['matrix_nginx_proxy_proxy_dendrite_client_api_addr_with_container', ''],
  ['matrix_nginx_proxy_proxy_dendrite_client_api_addr_sans_container', ''],
  ['matrix_nginx_proxy_proxy_dendrite_federation_api_addr_with_container', ''],
  ['matrix_nginx_proxy_proxy_dendrite_federation_api_addr_sans_container', ''],
  ['matrix_nginx_proxy_proxy_dendrite_additional_server_configuration_blocks', ''],
  ['matrix_nginx_proxy_proxy_synapse_enabled', 'matrix_synapse_container_labels_traefik_enabled'],
  ['matrix_nginx_proxy_proxy_synapse_federation_api_enabled', 'matrix_synapse_container_labels_public_federation_api_enabled'],
  ['matrix_nginx_proxy_proxy_synapse_client_api_addr_with_container', ''],
  ['matrix_nginx_proxy_proxy_synapse_client_api_addr_sans_container', ''],
  ['matrix_nginx_proxy_proxy_synapse_federation_api_addr_with_container', ''],
  ['matrix_nginx_proxy_proxy_synapse_federation_api_addr_sans_container', ''],
  ['matrix_nginx_proxy_proxy_synapse_additional_server_configuration_blocks', ''],
  ['matrix_nginx_proxy_proxy_matrix_additional_server_configuration_blocks', ''],
  ['matrix_nginx_proxy_access_log_enabled', 'traefik_config_accessLog_enabled'],
  ['matrix_nginx_proxy_container_labels_traefik_proxy_matrix_federation_hostname', 'matrix_server_fqn_matrix_federation'],
  ['etherpad_nginx_proxy_dimension_integration_enabled', ''],
  ['etherpad_nginx_proxy_dimension_integration_path_prefix', ''],
  ['matrix_prometheus_services_proxy_connect_prometheus_node_exporter_metrics_proxying_enabled', ''],
  ['matrix_prometheus_services_proxy_connect_prometheus_node_exporter_matrix_nginx_proxy_not_enabled_proxy_pass_host', ''],
  ['matrix_prometheus_services_proxy_connect_prometheus_postgres_exporter_metrics_proxying_enabled', ''],
  ['matrix_prometheus_services_proxy_connect_prometheus_postgres_exporter_matrix_nginx_proxy_not_enabled_proxy_pass_host', ''],
  ['matrix_docker_network', ''],
  ['matrix_playbook_ssl_retrieval_method', ''],
  ['matrix_ssl_lets_encrypt_support_email', 'traefik_config_certificatesResolvers_acme_email'],
  ['matrix_federation_traefik_entrypoint', 'matrix_federation_traefik_entrypoint_name'],
  ['host_specific_hostname_identity', 'matrix_domain'],
  ['hostname_identity', 'matrix_domain'],
  ['hostname_matrix', 'matrix_server_fqn_matrix'],
  ['hostname_riot', 'matrix_server_fqn_element'],
  ['matrix_server_fqn_riot', 'matrix_server_fqn_element'],
  ['matrix_local_bin_path', '', 'no replacement; each role has its own bin path'],
  ['matrix_client_element_e2ee_default', 'matrix_static_files_file_matrix_client_property_io_element_e2ee_default'],
  [
    'matrix_client_element_e2ee_secure_backup_required',
    'matrix_static_files_file_matrix_client_property_io_element_e2ee_secure_backup_required',
  ],
  [
    'matrix_client_element_e2ee_secure_backup_setup_methods',
    'matrix_static_files_file_matrix_client_property_io_element_e2ee_secure_backup_setup_methods',
  ],
  ['matrix_static_files_file_matrix_client_property_io_element_e2ee_secure_backup_required', ''],
  ['matrix_static_files_file_matrix_client_property_io_element_e2ee_secure_backup_setup_methods', ''],
  ['matrix_container_global_registry_prefix', '', "no replacement; set each component's *_registry_prefix variable"],
  ['matrix_user_username', 'matrix_user_name'],
  ['matrix_user_groupname', 'matrix_group_name'],
  ['matrix_playbook_public_matrix_federation_api_traefik_entrypoint_config_http_encodedCharacters_allowEncodedSlash', ''],
  ['matrix_playbook_public_matrix_federation_api_traefik_entrypoint_config_http_encodedCharacters_allowEncodedHash', ''],
  ['matrix_playbook_internal_matrix_client_api_traefik_entrypoint_config_http_encodedCharacters_allowEncodedSlash', ''],
  ['matrix_playbook_internal_matrix_client_api_traefik_entrypoint_config_http_encodedCharacters_allowEncodedHash', ''],
  ['matrix_mx_puppet_skype_enabled', '', 'mx-puppet-skype was removed; drop every matrix_mx_puppet_skype_* line'],
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

/** One issue per variable the playbook refuses (renamed or removed) or ignores. */
export function obsoleteIssues(vars: Readonly<Record<string, unknown>>): PlanIssue[] {
  const exact = new Map(RENAMED_VARIABLES.map((row) => [row[0], row] as const));
  const superfluous = new Map(SUPERFLUOUS_VARIABLES);
  const issues: PlanIssue[] = [];
  for (const variable of Object.keys(vars)) {
    const row = exact.get(variable);
    if (row) {
      const [, replacement, hint] = row;
      issues.push({
        variable,
        kind: 'rejected',
        reason: replacement ? `renamed to ${replacement}` : 'removed from the playbook',
        fix: replacement ? `Rename it to \`${replacement}\`${hint ? ` (${hint})` : ''}.` : `Remove it${hint ? `; ${hint}` : ''}.`,
      });
      continue;
    }
    const rule = PREFIX_RULES.find((r) => r.pattern.test(variable));
    if (rule) {
      issues.push({ variable, kind: 'rejected', reason: rule.reason, fix: renameFix(variable, rule) });
      continue;
    }
    const why = superfluous.get(variable);
    if (why) {
      issues.push({ variable, kind: 'ignored', reason: `not needed: ${why}`, fix: 'Remove the line.' });
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
  return issues;
}
