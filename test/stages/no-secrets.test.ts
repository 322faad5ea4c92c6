// No secret on a command line, in a log or on the terminal: a whole deployment run through the
// stages (configure, install, register through Ansible), then every byte they printed, every
// log file, every stage's arguments and every ansible-playbook command line the stand-in
// playbook saw are searched for the generated secrets, the derived ones and the user password.
// The same again with the stages run by zx with its verbose logging on (ZX_VERBOSE, as
// `npx zx --verbose` sets it): zx never prints a command or an output of the stages' own.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planFromVars } from '../../checks/plan/plan.ts';
import { startDnsServer } from '../../sandbox/dns-server.ts';
import type { RunningDnsServer } from '../../sandbox/dns-server.ts';
import { createStandin } from '../lab/servers/standin.ts';
import type { Standin } from '../lab/servers/standin.ts';
import { varsOf } from '../../scripts/lib/vars-text.ts';
import { healthyRecords, ORIGIN, zone } from '../lab/dns-zones.ts';
import { runStage } from './helpers.ts';
import type { Runner, StageRun } from './helpers.ts';

let dns: RunningDnsServer;
const standins: Standin[] = [];
beforeAll(async () => {
  dns = await startDnsServer({ address: '127.53.9.5', zones: zone(healthyRecords()) });
});
afterAll(async () => {
  await dns?.close();
  for (const standin of standins) standin.cleanup();
});

describe('secrets', () => {
  it.each([
    ['node', {}],
    ['zx', { ZX_VERBOSE: 'true' }],
  ] as [Runner, Record<string, string>][])('never appear in output, logs or command lines (started by %s)', async (runner, runnerEnv) => {
    const standin = createStandin();
    standins.push(standin);
    const password = 'the user password 42';
    const at = `${dns.address}:${dns.port}`;
    const runs: StageRun[] = [];
    const stage = async (name: string, args: string[], env: Record<string, string> = {}) => {
      const run = await runStage(
        name,
        ['--playbook', standin.checkout, ...args],
        { ...standin.env, ...runnerEnv, ...env },
        undefined,
        runner,
      );
      runs.push(run);
      expect(run.code, `${name}: ${run.stderr}`).toBe(0);
    };

    await stage('configure', ['--domain', ORIGIN, '--local', '--enable', 'element,jitsi,coturn']);
    await stage('configure', ['--domain', ORIGIN, '--enable', 'ketesa']);
    await stage('install', ['--authoritative', at, '--resolver', at, '--timeout', '2', '--after-checks', 'dns']);
    await stage('register', ['user', 'alice', '--admin'], { MATRIX_PASSWORD: password });
    await stage('register', ['user', 'bob', '--dry-run'], { MATRIX_PASSWORD: password });

    const vars = varsOf(readFileSync(join(standin.checkout, 'inventory', 'host_vars', `matrix.${ORIGIN}`, 'vars.yml'), 'utf8'), 'vars.yml');
    const plan = planFromVars(vars);
    const secrets = [
      vars['matrix_homeserver_generic_secret_key'],
      vars['postgres_connection_password'],
      ...Object.values(plan.secrets),
      password,
    ] as string[];
    // Two generated, six derived (Synapse macaroon and registration, coturn, three for Jitsi), one password.
    expect(secrets.filter((s) => typeof s === 'string' && s.length >= 8)).toHaveLength(9);

    const logDir = join(standin.checkout, 'inventory', 'logs');
    const logs = readdirSync(logDir).map((f) => readFileSync(join(logDir, f), 'utf8'));
    expect(logs.length).toBeGreaterThanOrEqual(2);
    const records = standin.records();
    expect(records.map((r) => r.tag)).toContain('register-user');
    const everything = [...runs.flatMap((r) => [r.stdout, r.stderr, r.argv.join(' ')]), ...logs, ...records.map((r) => r.argv)].join('\n');
    for (const secret of secrets) expect(everything.includes(secret), `a secret of length ${secret.length} leaked`).toBe(false);
    // The stand-in printed the password in a task's message: the log has it masked.
    expect(logs.join('\n')).toContain('register-user alice ******** 1');
  });
});
