// What configure.ts writes, held against MDAD's own validation: for every service it offers
// (alone) and for the feature sets the README shows, the real stage writes vars.yml on a
// stand-in checkout; the project's copy of MDAD's rules (checks/plan/mdad-rules.json) must find
// nothing to refuse, and so must ansible-core itself judging the same checks (test/lab/servers/mdad-referee).
// Then each rule that configure's output depends on refuses a deliberately broken file, again
// with Ansible agreeing check by check.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mdadIssues } from '../../checks/plan/mdad-issues.ts';
import { mdadRefusals, mdadTables } from '../../checks/plan/mdad.ts';
import { ansibleVerdicts } from '../lab/servers/mdad-referee.ts';
import type { RefereeVerdict } from '../lab/servers/mdad-referee.ts';
import { createStandin, MIGRATION_DEFAULTS } from '../lab/servers/standin.ts';
import type { Standin } from '../lab/servers/standin.ts';
import { SWITCHABLE } from '../../scripts/lib/switchable.ts';
import { varsOf } from '../../scripts/lib/vars-text.ts';
import { runStage } from './helpers.ts';

const tables = mdadTables();
let standin: Standin;
const written = new Map<string, Record<string, unknown>>();

/** The README's feature sets (Quick start and the stages table), and MAS with its sign-up. */
const FEATURE_SETS: Record<string, string[]> = {
  'readme-quick-start': ['--enable', 'element,ketesa'],
  'readme-stages-table': ['--enable', 'element,ketesa,coturn'],
  'readme-token-sign-up': ['--enable', 'element,ketesa', '--registration', 'token'],
  calls: ['--enable', 'element,element-call,matrix-rtc,coturn'],
  'mas-token-sign-up': ['--enable', 'element,matrix-authentication-service', '--registration', 'token'],
};
/** Sygnal needs the operator's push credentials: configure refuses it until vars.yml has them. */
const NEEDS_THE_OPERATOR = new Set(['sygnal']);
const ALONE = SWITCHABLE.map((d) => d.id).filter((id) => !NEEDS_THE_OPERATOR.has(id));

const hostVars = (name: string) => join(standin.checkout, 'inventory', 'host_vars', `matrix.${name}.example.test`, 'vars.yml');

async function configure(name: string, args: string[]): Promise<void> {
  const run = await runStage(
    'configure',
    ['--playbook', standin.checkout, '--domain', `${name}.example.test`, '--local', ...args],
    standin.env,
  );
  expect(run.code, run.stderr).toBe(0);
  written.set(name, varsOf(readFileSync(hostVars(name), 'utf8'), 'vars.yml'));
}

/** "check index#item index" of our refusals, in the referee's notation. */
function ours(vars: Record<string, unknown>): Set<string> {
  return new Set(mdadRefusals(vars).map((r) => `${tables.checks.indexOf(r.check)}#${r.itemIndex ?? -1}`));
}

let verdicts: Map<string, RefereeVerdict>;
const broken = new Map<string, { vars: Record<string, unknown>; variable: string }>();

beforeAll(async () => {
  standin = createStandin();
  // The checkout expects the tables' migration version, so that both judge the same playbook.
  const defaults = join(standin.checkout, MIGRATION_DEFAULTS);
  const expected = String(tables.defaults['matrix_playbook_migration_expected_version']);
  const text = readFileSync(defaults, 'utf8').replace(
    /matrix_playbook_migration_expected_version: "[^"]+"/,
    `matrix_playbook_migration_expected_version: "${expected}"`,
  );
  writeFileSync(defaults, text);
  for (const id of ALONE) await configure(id, ['--enable', id]);
  for (const [name, args] of Object.entries(FEATURE_SETS)) await configure(name, args);

  // Broken on purpose: each generated secret emptied, and the combinations MDAD refuses.
  for (const [name, vars] of written) {
    for (const variable of Object.keys(vars).filter((v) => !Object.hasOwn(written.get('federation')!, v))) {
      // The secrets configure generated: 64 characters (letters and digits, or hex).
      if (!/(secret|password|token|encryption)$/.test(variable) || String(vars[variable]).length !== 64) continue;
      broken.set(`${name} without ${variable}`, { vars: { ...vars, [variable]: '' }, variable });
    }
  }
  const mas = written.get('mas-token-sign-up')!;
  broken.set('MAS with Synapse registration', {
    vars: { ...mas, matrix_synapse_enable_registration: true },
    variable: 'matrix_synapse_enable_registration',
  });
  broken.set('MAS with a short encryption secret', {
    vars: { ...mas, matrix_authentication_service_config_secrets_encryption: 'ab'.repeat(16) },
    variable: 'matrix_authentication_service_config_secrets_encryption',
  });
  broken.set('Sygnal without apps', { vars: { ...written.get('element')!, matrix_sygnal_enabled: true }, variable: 'matrix_sygnal_apps' });
  verdicts = await ansibleVerdicts(tables, {
    ...Object.fromEntries(written),
    ...Object.fromEntries([...broken].map(([name, b]) => [name, b.vars])),
  });
}, 600_000);
afterAll(() => standin?.cleanup());

describe("configure's vars.yml against MDAD's validation", () => {
  it('covers every service configure offers, and the feature sets', () => {
    expect([...written.keys()].sort()).toEqual([...ALONE, ...Object.keys(FEATURE_SETS)].sort());
    expect(broken.size).toBeGreaterThanOrEqual(10);
  });

  for (const name of [...ALONE, ...Object.keys(FEATURE_SETS)]) {
    it(`${name}: nothing refused, by our tables or by ansible-core`, () => {
      const vars = written.get(name)!;
      expect(mdadIssues(vars)).toEqual([]);
      expect([...verdicts.get(name)!.fired]).toEqual([]);
      expect([...verdicts.get(name)!.errors]).toEqual([]);
    });
  }

  it('each broken file is refused, on the broken variable, and ansible-core refuses the same checks', () => {
    for (const [name, { vars, variable }] of broken) {
      const issues = mdadIssues(vars);
      expect(
        issues.map((i) => i.variable),
        name,
      ).toContain(variable);
      expect([...verdicts.get(name)!.fired].sort(), name).toEqual([...ours(vars)].sort());
      expect(verdicts.get(name)!.fired.size, name).toBeGreaterThan(0);
    }
  });

  it('sygnal is refused by configure until vars.yml holds its apps, then written', async () => {
    const refused = await runStage(
      'configure',
      ['--playbook', standin.checkout, '--domain', 'sygnal.example.test', '--local', '--enable', 'sygnal'],
      standin.env,
    );
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(
      /^configure: MDAD would refuse matrix_sygnal_apps: Sygnal needs at least one push app .*Nothing was written\.\n$/,
    );

    mkdirSync(dirname(hostVars('sygnal')), { recursive: true });
    writeFileSync(hostVars('sygnal'), 'matrix_sygnal_apps:\n  org.example.app:\n    type: gcm\n    api_key: example-fcm-key\n', {
      mode: 0o600,
    });
    await configure('sygnal', ['--enable', 'sygnal']);
    const vars = written.get('sygnal')!;
    expect(vars['matrix_sygnal_enabled']).toBe(true);
    expect(mdadIssues(vars)).toEqual([]);
  });
});
