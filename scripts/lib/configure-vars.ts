// What configure.ts writes into vars.yml, as pure text transformations (unit-tested):
// the basics every server needs, services switched by the plan's ids, and the migration of a
// tutorial-era file using the plan's rules for rejected and ignored variables
// (docs/playbook.md "Removed and renamed variables").
import { randomBytes } from 'node:crypto';
import { InputError } from '../../checks/core/errors.ts';
import { parseServerName } from '../../checks/core/server-name.ts';
import { mdadRefusals } from '../../checks/plan/mdad.ts';
import { generatedSecretFormat } from '../../checks/plan/mdad-issues.ts';
import type { SecretFormat } from '../../checks/plan/mdad-issues.ts';
import { finalName, obsoleteIssues } from '../../checks/plan/obsolete.ts';
import { isServiceEnabled, MANAGED_TRAEFIK, readVars, SERVICES } from '../../checks/plan/services.ts';
import type { ServiceDef } from '../../checks/plan/services.ts';
import { randomSecret } from './secrets.ts';
import { SWITCHABLE } from './switchable.ts';
import { removeVar, renameVar, setVar, varsOf } from './vars-text.ts';
import type { VarValue } from './vars-text.ts';

/** The base domain, checked as MDAD checks matrix_domain (non-empty, lower case) and as a DNS name. */
export function validDomain(input: string): string {
  const given = input.trim();
  if (given.toLowerCase().startsWith('matrix.')) {
    throw new InputError(`--domain ${given}: give the base domain (${given.slice(7)}); user ids would otherwise be @alice:${given}`);
  }
  const name = parseServerName(given);
  if (name.isIpLiteral || name.port !== undefined) {
    throw new InputError(`--domain ${given}: a domain name like example.org is needed, without port or IP address`);
  }
  return name.host;
}

// -------------------------------------------------------------------------------------------
// Services by the plan's ids

export { SWITCHABLE } from './switchable.ts';

function switchable(id: string): ServiceDef {
  const def = SWITCHABLE.find((d) => d.id === id);
  if (!def) throw new InputError(`unknown service "${id}"; known: ${SWITCHABLE.map((d) => d.id).join(', ')}`);
  return def;
}

/** The variables --enable/--disable set, in the order given. */
export function serviceSwitches(enable: readonly string[], disable: readonly string[]): Array<[string, boolean]> {
  const both = enable.filter((id) => disable.includes(id));
  if (both.length) throw new InputError(`${both.join(', ')}: both --enable and --disable`);
  return [
    ...enable.map((id): [string, boolean] => [switchable(id).enabledBy, true]),
    ...disable.map((id): [string, boolean] => [switchable(id).enabledBy, false]),
  ];
}

/** Whether a service is on under these vars (the plan's own rule). */
export function serviceEnabled(vars: Record<string, unknown>, id: string): boolean {
  return isServiceEnabled(SERVICES.find((d) => d.id === id)!, readVars(vars));
}

// -------------------------------------------------------------------------------------------
// Editing the text

export interface Edit {
  variable: string;
  /** What happened, for the report (never contains a secret value). */
  note: string;
}

/** Applies `set` when the value differs; returns the new text. */
function ensure(text: string, file: string, variable: string, value: VarValue, note: string, edits: Edit[]): string {
  const current = varsOf(text, file)[variable];
  const same = Array.isArray(value) ? JSON.stringify(current) === JSON.stringify(value) : current === value;
  if (same) return text;
  edits.push({ variable, note });
  return setVar(text, variable, value);
}

/**
 * A secret that is missing or empty gets a fresh value; with `placeholders`, so does tutorial
 * prose ("большой ключ", anything with a space), which only --migrate replaces: elsewhere a
 * value with spaces may be a real passphrase of a running server.
 */
function needsSecret(value: unknown, placeholders: boolean): boolean {
  if (value === undefined || value === null) return true;
  return typeof value === 'string' && (value.trim() === '' || (placeholders && /\s/.test(value)));
}

export interface BasicsInput {
  domain: string;
  /** matrix_playbook_migration_expected_version of the checkout. */
  expectedVersion: string;
  /** Replace placeholder secrets of a tutorial-era file (--migrate). */
  replacePlaceholders?: boolean;
}

/**
 * The settings every server needs. Existing values are kept: the migration version (only
 * update.ts raises it), the secrets (generated once), the proxy type and the implementation.
 */
export function ensureBasics(text: string, file: string, input: BasicsInput, edits: Edit[]): string {
  const vars = varsOf(text, file);
  const domain = vars['matrix_domain'];
  if (typeof domain === 'string' && domain !== '' && domain !== input.domain) {
    throw new InputError(
      `${file}: matrix_domain is ${domain}, not ${input.domain}; it cannot change after the first install (remove and reinstall instead)`,
    );
  }
  let out = ensure(text, file, 'matrix_domain', input.domain, `set to ${input.domain}`, edits);
  if (!vars['matrix_playbook_migration_validated_version']) {
    out = ensure(
      out,
      file,
      'matrix_playbook_migration_validated_version',
      input.expectedVersion,
      `set to ${input.expectedVersion}, the version this checkout expects`,
      edits,
    );
  }
  for (const variable of ['matrix_homeserver_generic_secret_key', 'postgres_connection_password']) {
    const value = vars[variable];
    if (needsSecret(value, input.replacePlaceholders ?? false)) {
      out = ensure(
        out,
        file,
        variable,
        randomSecret(64),
        value ? 'placeholder replaced by a generated secret' : 'generated (64 random letters and digits)',
        edits,
      );
    }
  }
  if (!vars['matrix_homeserver_implementation'])
    out = ensure(out, file, 'matrix_homeserver_implementation', 'synapse', 'set to synapse', edits);
  if (!vars['matrix_playbook_reverse_proxy_type']) {
    out = ensure(out, file, 'matrix_playbook_reverse_proxy_type', MANAGED_TRAEFIK, `set to ${MANAGED_TRAEFIK}`, edits);
  }
  return out;
}

export function applySwitches(text: string, file: string, switches: ReadonlyArray<[string, boolean]>, edits: Edit[]): string {
  return switches.reduce((out, [variable, on]) => ensure(out, file, variable, on, on ? 'switched on' : 'switched off', edits), text);
}

/**
 * Invite-only sign-up with registration tokens, or no sign-up (docs/playbook.md "Registering
 * users"): Synapse's own registration, or MAS's when Synapse hands sign-in to MAS (MDAD refuses
 * Synapse's registration then: roles/custom/matrix-synapse/tasks/validate_config.yml).
 */
export function applyRegistration(text: string, file: string, mode: 'token' | 'closed', edits: Edit[]): string {
  if (serviceEnabled(varsOf(text, file), 'matrix-authentication-service')) return applyMasRegistration(text, file, mode, edits);
  const on = mode === 'token';
  let out = ensure(text, file, 'matrix_synapse_enable_registration', on, on ? 'sign-up with a registration token' : 'no sign-up', edits);
  out = ensure(out, file, 'matrix_synapse_registration_requires_token', on, on ? 'a token is required' : 'no token sign-up', edits);
  // The token admin API is not public unless Ketesa or Element Admin exposes it.
  const vars = varsOf(out, file);
  if (on && !serviceEnabled(vars, 'ketesa') && !serviceEnabled(vars, 'element-admin')) {
    out = ensure(
      out,
      file,
      'matrix_synapse_container_labels_public_client_synapse_admin_api_enabled',
      true,
      'admin API reachable for token management',
      edits,
    );
  }
  return out;
}

/** MAS's password sign-up with its registration tokens (roles/custom/matrix-authentication-service/defaults/main.yml). */
function applyMasRegistration(text: string, file: string, mode: 'token' | 'closed', edits: Edit[]): string {
  const on = mode === 'token';
  let out = text;
  for (const variable of ['matrix_synapse_enable_registration', 'matrix_synapse_registration_requires_token']) {
    if (variable in varsOf(out, file)) out = ensure(out, file, variable, false, 'off: MAS handles sign-up', edits);
  }
  const mas = 'matrix_authentication_service_config_account_';
  out = ensure(out, file, `${mas}password_registration_enabled`, on, on ? 'sign-up through MAS' : 'no sign-up', edits);
  out = ensure(out, file, `${mas}registration_token_required`, on, on ? 'a registration token is required' : 'no token sign-up', edits);
  // MAS asks new accounts for an email address by default; without a mail transport none arrives.
  const transport = varsOf(out, file)['matrix_authentication_service_config_email_transport'];
  if (on && transport !== 'smtp' && transport !== 'aws_ses') {
    out = ensure(out, file, `${mas}password_registration_email_required`, false, 'no email asked: MAS has no mail transport', edits);
  }
  return out;
}

function generated(format: SecretFormat): string {
  return format === 'hex32' ? randomBytes(32).toString('hex') : randomSecret(64);
}

/**
 * The secrets MDAD requires and leaves empty for the services that are on (its validate_config
 * tasks, through the plan's tables), generated once; a later rule may need one more, hence the loop.
 */
export function applyRequiredSecrets(text: string, file: string, edits: Edit[]): string {
  let out = text;
  for (let round = 0; round < 4; round++) {
    const missing = mdadRefusals(varsOf(out, file)).filter((r) => r.required && generatedSecretFormat(r.variable));
    if (missing.length === 0) break;
    for (const variable of new Set(missing.map((r) => r.variable))) {
      const format = generatedSecretFormat(variable)!;
      const note = format === 'hex32' ? 'generated (32 random bytes as 64 hex digits)' : 'generated (64 random letters and digits)';
      out = ensure(out, file, variable, generated(format), note, edits);
    }
  }
  return out;
}

/** coturn should be told the public address rather than look it up on ifconfig.co (docs/playbook.md "Removed and renamed variables"). */
export function applyTurnAddress(text: string, file: string, address: string, edits: Edit[]): string {
  if (!serviceEnabled(varsOf(text, file), 'coturn')) return text;
  return ensure(text, file, 'coturn_turn_external_ip_addresses', [address], `set to ${address}`, edits);
}

// -------------------------------------------------------------------------------------------
// Migrating a tutorial-era vars.yml

export interface MigrationStep {
  variable: string;
  kind: 'rejected' | 'ignored';
  reason: string;
  fix: string;
  /** What --migrate does: rename to `to`, or remove the line. */
  action: 'rename' | 'remove';
  to?: string;
}

/** One step per variable the current playbook rejects or ignores (the plan's obsolete rules). */
export function migrationSteps(vars: Readonly<Record<string, unknown>>): MigrationStep[] {
  return obsoleteIssues(vars).map((issue) => {
    const kind = issue.kind === 'ignored' ? 'ignored' : 'rejected';
    const to = kind === 'rejected' ? finalName(issue.variable) : undefined;
    const step: MigrationStep = { variable: issue.variable, kind, reason: issue.reason, fix: issue.fix, action: to ? 'rename' : 'remove' };
    if (to) step.to = to;
    return step;
  });
}

const truthy = (value: unknown): boolean => readVars({ v: value }).bool('v', false);

/** Applies the steps; a removed line is replaced by a comment naming it (never its value). */
export function applyMigration(text: string, file: string, steps: readonly MigrationStep[], edits: Edit[]): string {
  const before = varsOf(text, file);
  let out = text;
  for (const step of steps) {
    if (step.to && !(step.to in before)) {
      out = renameVar(out, step.variable, step.to);
      edits.push({ variable: step.variable, note: `renamed to ${step.to}` });
    } else {
      out = removeVar(out, step.variable, `removed by configure.ts --migrate (${step.reason})`);
      edits.push({ variable: step.variable, note: step.to ? `removed (${step.to} is already set)` : 'removed' });
    }
  }
  // The tutorial's invite-only sign-up (matrix-registration) is Synapse's own token sign-up now.
  if (truthy(before['matrix_registration_enabled'])) out = applyRegistration(out, file, 'token', edits);
  return out;
}
