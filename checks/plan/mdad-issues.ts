// MDAD's refusals (mdad.ts) as plan issues a person acts on: the variable, why the playbook
// stops, and the fix. Required secrets say that configure generates them; the refusals people
// meet most have our own explanation; every other one names MDAD's condition and its file.
import { parse } from 'yaml';
import { mdadLocation, mdadRefusals, mdadTables } from './mdad.ts';
import type { MdadRefusal, MdadTables } from './mdad.ts';
import { classifyTasks, walkTasks } from './mdad-extract.ts';
import { SECRET_VARIABLE } from './secrets.ts';
import type { PlanIssue } from './types.ts';

/** How configure generates a required secret MDAD leaves empty. */
export type SecretFormat = 'hex32' | 'alphanumeric64';

/**
 * MAS reads secrets.encryption as 32 bytes written as 64 hex digits
 * (https://element-hq.github.io/matrix-authentication-service/reference/configuration.html#secrets);
 * MDAD checks only its length (roles/custom/matrix-authentication-service/tasks/validate_config.yml).
 */
const HEX_SECRETS = new Set(['matrix_authentication_service_config_secrets_encryption']);

/** The format configure generates for a required variable, or undefined when a person must supply it. */
export function generatedSecretFormat(variable: string): SecretFormat | undefined {
  if (HEX_SECRETS.has(variable)) return 'hex32';
  return SECRET_VARIABLE.test(variable) ? 'alphanumeric64' : undefined;
}

interface Explanation {
  variable: string;
  reason: string;
  fix: string;
}

const CONFIGURE = 'npx tsx scripts/configure.ts --domain DOMAIN';

/**
 * Our own words for the refusals configure's users meet, keyed by MDAD's file and condition
 * (a unit test proves each key still names a check of the tables).
 */
export const EXPLAINED: Readonly<Record<string, Explanation>> = {
  'roles/custom/matrix-synapse/tasks/validate_config.yml#matrix_synapse_matrix_authentication_service_enabled and matrix_synapse_enable_registration':
    {
      variable: 'matrix_synapse_enable_registration',
      reason:
        'Synapse hands sign-in to the Matrix Authentication Service, so its own registration must stay off (Synapse refuses to start otherwise)',
      fix: `Remove \`matrix_synapse_enable_registration\` and \`matrix_synapse_registration_requires_token\`; sign-up goes through MAS: \`${CONFIGURE} --registration token\` (or closed) sets MAS's own settings.`,
    },
  'roles/custom/matrix-synapse/tasks/validate_config.yml#matrix_synapse_matrix_authentication_service_enabled and matrix_synapse_enable_registration_captcha':
    {
      variable: 'matrix_synapse_enable_registration_captcha',
      reason:
        "Synapse hands sign-in to the Matrix Authentication Service, so Synapse's registration CAPTCHA does nothing and Synapse refuses to start",
      fix: 'Remove `matrix_synapse_enable_registration_captcha`; MAS has its own (`matrix_authentication_service_config_captcha_service`).',
    },
  'roles/custom/matrix-authentication-service/tasks/validate_config.yml#matrix_authentication_service_config_secrets_encryption | length != 64':
    {
      variable: 'matrix_authentication_service_config_secrets_encryption',
      reason: 'must be 32 random bytes written as 64 hexadecimal characters',
      fix: `Set it to the output of \`openssl rand -hex 32\` (when empty, \`${CONFIGURE}\` generates it). If MAS already ran with another value, keep that one: MAS cannot read what it encrypted without it.`,
    },
  'roles/custom/matrix-sygnal/tasks/validate_config.yml#matrix_sygnal_apps | length == 0': {
    variable: 'matrix_sygnal_apps',
    reason: 'Sygnal needs at least one push app (your app id with its APNs or FCM credentials)',
    fix: "Add `matrix_sygnal_apps` as MDAD's docs/configuring-playbook-sygnal.md shows, with your app's credentials; configure cannot make them up.",
  },
};

function explanationKey(refusal: MdadRefusal): string {
  return `${refusal.check.file}#${refusal.check.when.at(-1)}`;
}

function issueOf(refusal: MdadRefusal, tables: MdadTables): PlanIssue {
  const where = mdadLocation(refusal.check, tables);
  const explained = EXPLAINED[explanationKey(refusal)];
  if (explained)
    return { variable: explained.variable, kind: 'invalid', reason: `${explained.reason} (MDAD: ${where})`, fix: explained.fix };
  if (refusal.required) {
    const generated = generatedSecretFormat(refusal.variable) !== undefined;
    return {
      variable: refusal.variable,
      kind: 'invalid',
      reason: `required by MDAD and empty (${where})`,
      fix: generated
        ? `Run \`${CONFIGURE}\` again: it generates this secret once (or set it to a long random value yourself).`
        : `Set \`${refusal.variable}\` in vars.yml (MDAD's documentation of the service says what it holds).`,
    };
  }
  return {
    variable: refusal.variable,
    kind: 'invalid',
    reason: `MDAD's validation stops on \`${refusal.check.when.at(-1)}\` (${where})`,
    fix: `Change ${refusal.variable ? `\`${refusal.variable}\`` : 'the variables it reads'} so that this condition no longer holds; MDAD's task at that line says what it expects.`,
  };
}

/**
 * The migration version is judged by obsolete.ts against the checkout's own expected version,
 * which may be newer than the tables'.
 */
const JUDGED_BY_THE_CHECKOUT = ['matrix_playbook_migration_validated_version'];

/** One issue per refusal of MDAD's validation; variables in `skip` are already reported. */
export function mdadIssues(
  raw: Readonly<Record<string, unknown>>,
  skip: ReadonlySet<string> = new Set(),
  tables = mdadTables(),
): PlanIssue[] {
  const issues: PlanIssue[] = [];
  const seen = new Set([...skip, ...JUDGED_BY_THE_CHECKOUT]);
  for (const refusal of mdadRefusals(raw, tables)) {
    const issue = issueOf(refusal, tables);
    if (seen.has(issue.variable)) continue;
    seen.add(issue.variable);
    issues.push(issue);
  }
  return issues;
}

/** MDAD's migration role, whose renamed-variable lists apply to every server. */
export const MIGRATION_VALIDATION_FILE = 'roles/custom/matrix_playbook_migration/tasks/validate_config.yml';

/**
 * The variables of a vars.yml that another MDAD version's migration role refuses by name (its
 * validate_config.yml as text, for example the one `git show @{u}:…` gives before a pull).
 */
export function refusedByMigrationRole(vars: Readonly<Record<string, unknown>>, validateText: string): PlanIssue[] {
  const walk = { tasks: [], facts: new Map<string, string>() };
  walkTasks(parse(validateText, { version: '1.1', uniqueKeys: false }), MIGRATION_VALIDATION_FILE, [], walk);
  const { renames, prefixes } = classifyTasks(walk);
  const exact = new Map(renames.map((row) => [row.old, row]));
  const families = prefixes.map((family) => ({ ...family, regex: new RegExp(family.pattern) }));
  const issues: PlanIssue[] = [];
  for (const variable of Object.keys(vars)) {
    const row = exact.get(variable);
    const family = row ? undefined : families.find((f) => f.regex.test(variable));
    if (!row && !family) continue;
    const to = row?.to || (family?.renameFrom && family.renameTo ? family.renameTo + variable.slice(family.renameFrom.length) : '');
    issues.push({
      variable,
      kind: 'rejected',
      reason: to ? `the new playbook renamed it to ${to}` : 'the new playbook removed it',
      fix: to ? `Rename it to \`${to}\` in vars.yml.` : `Remove it from vars.yml${row?.see?.length ? ` (see ${row.see.join(', ')})` : ''}.`,
    });
  }
  return issues;
}
