// Runs a corpus scenario (corpus-cases.ts) the way a person would: the lab switched to its
// layout, then the real command as a process with --json. Shared by the corpus test and the bench.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Report } from '../../checks/core/report.ts';
import { SCENARIOS } from './corpus-cases.ts';
import { CORPUS, type CorpusLab, TURN_SECRET } from './corpus-lab.ts';
import { runCli, type CliResult } from './run-cli.ts';

export interface ScenarioOutcome {
  run: CliResult;
  report: Report;
}

/** The files a scenario's arguments name: a vars.yml with MatrixRTC on, and the TURN secret. */
function labFiles(lab: CorpusLab): { vars: string; secret: string } {
  const vars = join(lab.dir, 'rtc-vars.yml');
  const secret = join(lab.dir, 'turn-secret');
  if (!existsSync(vars)) {
    writeFileSync(
      vars,
      [
        'matrix_playbook_migration_validated_version: v2026.05.18.0',
        `matrix_domain: ${CORPUS.serverName}`,
        'matrix_homeserver_implementation: synapse',
        "matrix_homeserver_generic_secret_key: 'corpus-generic-secret-not-for-production-0123456789'",
        'matrix_playbook_reverse_proxy_type: playbook-managed-traefik',
        "postgres_connection_password: 'corpus-postgres-password'",
        'matrix_rtc_enabled: true',
        '',
      ].join('\n'),
    );
    writeFileSync(secret, TURN_SECRET, { mode: 0o600 });
  }
  return { vars, secret };
}

export async function runScenario(lab: CorpusLab, key: string): Promise<ScenarioOutcome> {
  const scenario = SCENARIOS[key];
  const { vars, secret } = labFiles(lab);
  await lab.use(key, scenario.layout());
  const command = scenario.command ?? 'doctor';
  const args = [
    scenario.serverName ?? CORPUS.serverName,
    '--resolver',
    lab.resolver,
    '--ca-file',
    lab.caFile,
    '--timeout',
    '2',
    '--json',
    ...(command === 'doctor' ? ['--only', scenario.only ?? 'wellknown,federation'] : []),
    ...(scenario.args ?? []).map((a) => a.replace('{vars}', vars).replace('{secret}', secret)),
  ];
  const run = await runCli(`checks/${command}.ts`, args);
  try {
    return { run, report: JSON.parse(run.stdout) as Report };
  } catch {
    throw new Error(`${command} gave no JSON (exit ${run.code}): ${run.stderr}`);
  }
}
