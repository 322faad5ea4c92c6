// `npm start` (sandbox/start.ts) as a process: doctor's full report on the in-process sandbox,
// every area (DNS, well-known, federation, TURN) answered on loopback, and with --broken the
// mistakes it stages, each failing with its fix. The checks themselves are tested on the lab.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { runCli } from '../lab/run-cli.ts';
import type { Report } from '../../checks/core/report.ts';

const URI_STEPS = ['dns', 'reach', 'auth', 'integrity', 'relayed-address', 'relay', 'release'];
const PROBED_URIS = ['turn-udp-3478', 'turn-tcp-3478', 'turns-tcp-5349'];

async function sandbox(args: string[]): Promise<Report> {
  const run = await runCli('sandbox/start.ts', [...args, '--json']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as Report;
}

const byId = (report: Report, id: string) => {
  const finding = report.findings.find((f) => f.id === id);
  if (!finding) throw new Error(`no finding ${id} among ${report.findings.map((f) => f.id).join(', ')}`);
  return finding;
};

describe('npm start: doctor on the built-in sandbox', () => {
  it('reports every area of a nearly ready deployment: no failure, TURN relayed and released on each transport', async () => {
    const report = await sandbox([]);
    expect(Object.keys((report.extra as { areas: object }).areas).sort()).toEqual(['dns', 'federation', 'turn', 'wellknown']);
    expect(report.summary.fail).toBe(0);
    // What is not ready yet: a resolver still caches the old records.
    expect(
      report.findings
        .filter((f) => f.status === 'warn')
        .map((f) => f.id)
        .every((id) => id.startsWith('dns.propagation.')),
    ).toBe(true);
    for (const uri of PROBED_URIS) {
      for (const step of URI_STEPS) expect(byId(report, `turn.${uri}.${step}`).status, `${uri} ${step}`).toBe('pass');
    }
    expect(byId(report, 'turn.turns-udp-5349.reach').status).toBe('skip');
    expect(byId(report, 'turn.turn-udp-3478.relayed-address').detail).toContain('Relayed 203.0.113.80:');
    for (const aspect of ['connect', 'certificate', 'version', 'keys'])
      expect(byId(report, `federation.203_0_113_80_8448.${aspect}`).status, aspect).toBe('pass');
  });

  it('--broken stages the common mistakes, each a failure with its fix', async () => {
    const report = await sandbox(['--broken']);
    const failures = report.findings.filter((f) => f.status === 'fail');
    for (const id of [
      'dns.record.matrix.a',
      'dns.caa.letsencrypt',
      'wellknown.client.cors',
      'wellknown.client.content_type',
      'turn.turn-udp-3478.relayed-address',
    ]) {
      expect(
        failures.map((f) => f.id),
        id,
      ).toContain(id);
    }
    expect(failures.some((f) => /^federation\..*\.keys$/.test(f.id))).toBe(true);
    for (const failure of failures) expect(failure.fix, failure.id).toBeTruthy();
    const relayed = byId(report, 'turn.turn-udp-3478.relayed-address');
    expect(relayed.detail).toContain('10.0.0.5');
    expect(relayed.fix).toContain("coturn_turn_external_ip_addresses: ['203.0.113.80']");
    expect(report.exitCode).toBe(2);
  });

  it('prints a table readable without colour, within 100 columns', async () => {
    const run = await runCli('sandbox/start.ts', ['--broken']);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(/\u001b\[/);
    const lines = run.stdout.split('\n');
    expect(lines.filter((line) => [...line].length > 100)).toEqual([]);
    expect(run.stdout).toContain('turn');
    expect(run.stdout).toMatch(/\d+ failed/);
  });

  it('--broken opens with the root causes, each with its consequences grouped under it and one fix', async () => {
    const run = await runCli('sandbox/start.ts', ['--broken']);
    const out = run.stdout;
    const heading = out.indexOf('Root causes, each with its fix');
    const root = out.indexOf('(dns.record.matrix.a)');
    const grouped = out.indexOf('findings follow from dns.record.matrix.a; the fix above is theirs too:');
    const firstArea = out.search(/│ (dns|wellknown|federation|turn): /);
    expect(heading).toBeGreaterThan(0);
    expect(root).toBeGreaterThan(heading);
    expect(grouped).toBeGreaterThan(root);
    // The TURN lookups of the wrong name follow from it; coturn's own NAT fault stays a root of its own.
    const group = out.slice(grouped, out.indexOf('\n├', grouped));
    expect(group).toContain('(turn.turn-udp-3478.dns)');
    expect(group).not.toContain('relayed-address');
    expect(out.slice(out.indexOf('\n├', grouped), firstArea)).toContain('(turn.turn-udp-3478.relayed-address)');
    expect(firstArea).toBeGreaterThan(grouped);
    // Passes are counted per area, not listed.
    expect(out).toMatch(/│ dns: .*\d+ pass \(--verbose lists passes and info\)/);
  });

  it('a healthy run fits on one screen: the passes are one count per area unless --verbose', async () => {
    const quiet = await runCli('sandbox/start.ts', []);
    const verbose = await runCli('sandbox/start.ts', ['--verbose']);
    expect(quiet.code).toBe(0);
    expect(quiet.stdout.split('\n').length).toBeLessThanOrEqual(60);
    expect(verbose.stdout.split('\n').length).toBeGreaterThan(quiet.stdout.split('\n').length * 3);
    expect(verbose.stdout).toContain('(federation.203_0_113_80_8448.keys)');
    expect(quiet.stdout).not.toContain('(federation.203_0_113_80_8448.keys)');
  });

  it('stops quietly when its reader goes away (npm start | head)', async () => {
    const child = spawn(process.execPath, ['--import', './scripts/lib/typescript.mjs', 'sandbox/start.ts'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    // The header comes first; the table is written to a closed pipe.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
