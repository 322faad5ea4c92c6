// checks/doctor.ts as a real process against the federation lab (real nginx and Synapse): one
// report for all areas, shared probes, the formats, and fleets where one server's trouble stays
// that server's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFederationLab, LAB, type FederationLab } from './federation-lab.ts';
import { runCli } from './run-cli.ts';
import { LAB_DIR } from './servers/provision.ts';
import type { Report } from '../../checks/core/report.ts';

let lab: FederationLab;
let dir: string;
beforeAll(async () => {
  lab = await startFederationLab();
  dir = mkdtempSync(join(LAB_DIR, 'doctor-'));
});
afterAll(async () => {
  await lab?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const common = () => ['--resolver', lab.resolver, '--ca-file', lab.caFile, '--timeout', '2'];

describe('doctor, one server', () => {
  it('runs every area, shares probes between them, and takes the worst exit code', async () => {
    await lab.use('redirect-no-cors');
    const run = await runCli('checks/doctor.ts', [LAB.serverName, ...common(), '--json']);
    const report = JSON.parse(run.stdout) as Report & {
      extra: { areas: Record<string, unknown>; probes: { sent: number; shared: number } };
    };
    expect(Object.keys(report.extra.areas).sort()).toEqual(['dns', 'federation', 'outbound', 'rtc', 'turn', 'wellknown']);
    const ids = report.findings.map((f) => f.id);
    expect(ids).toContain('dns.zone.nameservers');
    expect(ids).toContain('wellknown.client.cors');
    expect(ids).toContain('federation.discovery');
    expect(ids.some((id) => id.startsWith('turn.'))).toBe(true);
    // The well-known file, the SRV lookups and the matrix host's addresses are asked once for all areas.
    expect(report.extra.probes.shared).toBeGreaterThan(0);
    expect(report.findings.find((f) => f.id === 'wellknown.client.cors')?.status).toBe('fail');
    expect(report.exitCode).toBe(2);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('');
  });

  it('prints one table grouped by area, failing areas first, within 100 columns and without colour', async () => {
    await lab.use('redirect-no-cors');
    const run = await runCli('checks/doctor.ts', [LAB.serverName, ...common(), '--only', 'wellknown,federation']);
    const lines = run.stdout.split('\n');
    const wellknown = lines.findIndex((l) => /│ wellknown: 1 fail/.test(l));
    const federation = lines.findIndex((l) => /│ federation: /.test(l));
    expect(wellknown).toBeGreaterThan(0);
    expect(federation).toBeGreaterThan(wellknown);
    expect(run.stdout).not.toMatch(/│ dns: /);
    expect(run.stdout).not.toMatch(/\u001b\[/);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(100);
    expect(lines.at(-2)).toMatch(/^1 failed, \d+ warnings, \d+ passed.*exit 2$/);
  });

  it('writes Prometheus text with a gauge per status and the duration', async () => {
    await lab.use('healthy-wellknown');
    // outbound is left out: its default remotes are public servers, which the closed lab cannot resolve.
    const run = await runCli('checks/doctor.ts', [LAB.serverName, ...common(), '--skip', 'dns,outbound', '--format', 'prom']);
    expect(run.stdout).toContain('# TYPE matrix_doctor_findings gauge');
    expect(run.stdout).toMatch(/^matrix_doctor_findings\{server="example\.test",status="fail"\} 0$/m);
    expect(run.stdout).toMatch(
      /^matrix_doctor_check_status\{server="example\.test",id="federation\.127_0_1_2_8448\.keys",status="pass"\} 0$/m,
    );
    expect(run.stdout).toMatch(/^matrix_doctor_duration_seconds\{server="example\.test"\} \d+\.\d{3}$/m);
    expect(run.code).toBe(0);
  });

  it.each([
    [['--only', 'dns,bogus'], /--only: unknown area bogus \(areas: dns, wellknown, federation, turn/],
    [['--format', 'xml'], /--format must be table, json or prom/],
    [['--concurrency', '0'], /--concurrency must be a whole number/],
  ])('rejects %j with one line and exit 3', async (args, message) => {
    const run = await runCli('checks/doctor.ts', [LAB.serverName, ...args]);
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(message);
  });
});

describe('doctor, a fleet', () => {
  it('checks a list of servers: one summary table, the worst exit code, a broken server stays its own', async () => {
    await lab.use('healthy-wellknown');
    const list = join(dir, 'servers.txt');
    writeFileSync(list, `# our servers\n${LAB.serverName}\nnowhere.example.test\nhttps://typo.example.test/\n\n`);
    const run = await runCli('checks/doctor.ts', ['--list', list, ...common(), '--only', 'wellknown,federation']);
    expect(run.stdout).toMatch(/doctor for 3 servers/);
    // A line that is no server name is that line's failure; the others are still checked.
    expect(run.stdout).toMatch(/│ FAIL │ https:\/\/typo\.example\.test\/ .*│ Configuration of this server/);
    expect(run.stdout).toMatch(/│ FAIL │ nowhere\.example\.test/);
    expect(run.stdout).toMatch(/│ PASS │ example\.test/);
    expect(run.stdout).toContain('2 failing, 0 with warnings, 1 passing');
    expect(run.code).toBe(2);
  });

  it('checks every host of an MDAD inventory with the plan from its host_vars', async () => {
    await lab.use('healthy-wellknown');
    const run = await runCli('checks/doctor.ts', [
      '--inventory',
      'test/fixtures/lab/playbook/inventory/hosts',
      ...common(),
      '--only',
      'dns',
      '--json',
    ]);
    const [report] = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Report);
    expect(report.serverName).toBe(LAB.serverName);
    // The plan comes from host_vars (Jitsi on) and the address from ansible_host.
    expect(report.findings.map((f) => f.id)).toContain('dns.record.jitsi.cname');
    expect(report.findings.find((f) => f.id === 'dns.server.address')?.detail).toContain(
      '203.0.113.10 (from ansible_host of matrix.example.test)',
    );
  });

  it('writes one JSON report a line', async () => {
    await lab.use('healthy-wellknown');
    const list = join(dir, 'servers.txt');
    writeFileSync(list, `${LAB.serverName}\nnowhere.example.test\n`);
    const run = await runCli('checks/doctor.ts', ['--list', list, ...common(), '--only', 'federation', '--json', '--concurrency', '1']);
    const reports = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Report);
    expect(reports.map((r) => [r.serverName, r.exitCode])).toEqual([
      [LAB.serverName, 0],
      ['nowhere.example.test', 2],
    ]);
  });
});
