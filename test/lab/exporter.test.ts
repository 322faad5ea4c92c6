// The doctor exporter (checks/doctor.ts serve) as a real process, scraped by Debian's real
// Prometheus with blackbox_exporter's relabelling over several lab servers; the alert rules
// checked and unit-tested with promtool, once with series the exporter gave for a failing server.
//
//   s1.fleet.test, s2.fleet.test   healthy: nginx on 127.16.2.1 (:443) and 127.16.2.2 (:443, :8448)
//   s3.fleet.test                  federation broken: no key document, no version
//   resolver 127.16.2.3:53, authoritative 127.16.2.4:53 (dns2)
//   127.16.2.20:8448…8450          a tarpit: accepts TCP and never answers (a hanging target)
//   exporter 127.16.2.10, Prometheus 127.16.2.11
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FleetLab, startFleetLab } from '../../tools/bench/lab-fleet.ts';
import { LAB_DIR } from './servers/provision.ts';
import { stopProcess } from './servers/process.ts';
import { freePort } from './servers/ports.ts';
import { startExporter } from './run-cli.ts';

const EXPORTER = '127.16.2.10';
const PROMETHEUS = '127.16.2.11';
const TARPIT = '127.16.2.20';
const AREAS = 'wellknown,federation';

let lab: FleetLab;
let dir: string;
let exporter: ChildProcess;
let exporterUrl: string;
let prometheus: ChildProcess | undefined;
let prometheusUrl: string;
const tarpits: Server[] = [];
const held: Socket[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(LAB_DIR, 'exporter-'));
  lab = await startFleetLab({
    count: 3,
    domain: 'fleet.test',
    listen: { base: '127.16.2.1', matrix: '127.16.2.2' },
    dns: { resolver: { host: '127.16.2.3', port: 53 }, authoritative: { host: '127.16.2.4', port: 53 } },
  });
  const site = join(dirname(lab.listFile), 'sites', 's3.fleet.test');
  unlinkSync(join(site, '_matrix/key/v2/server'));
  unlinkSync(join(site, '_matrix/federation/v1/version'));
  for (const port of [8448, 8449, 8450]) {
    const server = createServer((socket) => held.push(socket.on('error', () => {})));
    await new Promise<void>((done) => server.listen(port, TARPIT, done));
    tarpits.push(server);
  }
  // The fleet lab's servers resolve to loopback addresses, which the exporter refuses without this.
  ({ child: exporter, url: exporterUrl } = await startExporter([
    '--allow-private',
    '--listen',
    `${EXPORTER}:0`,
    '--resolver',
    '127.16.2.3',
    '--ca-file',
    lab.caFile,
    '--timeout',
    '2',
    '--concurrency',
    '2',
    '--cache-seconds',
    '0',
  ]));
}, 120_000);

afterAll(async () => {
  await Promise.all([exporter && stopProcess(exporter), prometheus && stopProcess(prometheus)]);
  for (const socket of held) socket.destroy();
  await Promise.all(tarpits.map((t) => new Promise((done) => t.close(done))));
  await lab?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function get(path: string, headers: Record<string, string> = {}) {
  const started = performance.now();
  const response = await fetch(`${exporterUrl}${path}`, { headers });
  return {
    status: response.status,
    text: await response.text(),
    type: response.headers.get('content-type'),
    ms: performance.now() - started,
  };
}

const sample = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);

describe('doctor serve', () => {
  it('probes a server as blackbox_exporter does: a gauge per finding with id, area and status, area durations, probe_success', async () => {
    const healthy = await get(`/probe?target=s1.fleet.test&area=${AREAS}`, { 'X-Prometheus-Scrape-Timeout-Seconds': '5' });
    expect(healthy.status).toBe(200);
    expect(healthy.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(sample(healthy.text, 'probe_success')).toBe(1);
    expect(healthy.text).toMatch(/^matrix_doctor_area_duration_seconds\{area="federation"\} \d+(\.\d+)?$/m);
    expect(healthy.text).toMatch(/^matrix_doctor_finding_status\{id="wellknown\.server\.m_server",area="wellknown",status="pass"\} 0$/m);
    expect(healthy.text).toMatch(
      /^matrix_doctor_certificate_days_left\{id="federation\.127_16_2_2_8448\.certificate",area="federation"\} \d+$/m,
    );
    const broken = await get(`/probe?target=s3.fleet.test&area=federation`, { 'X-Prometheus-Scrape-Timeout-Seconds': '5' });
    expect(sample(broken.text, 'probe_success')).toBe(0);
    expect(broken.text).toMatch(/^matrix_doctor_finding_status\{id="federation\.[^"]+",area="federation",status="fail"\} 2$/m);
    expect(broken.text).not.toMatch(/area="wellknown"/);
  }, 30_000);

  it.each([
    ['/probe', /^target is missing/],
    ['/probe?target=s1.fleet.test&area=bogus', /^area: unknown area bogus/],
    ['/probe?target=s1.fleet.test&token=secret', /^unknown parameter "token" \(allowed: target, area\)\n$/],
    ['/probe?target=https://s1.fleet.test/x', /./],
    ['/probe?target=a.test&target=b.test', /^give one target\n$/],
  ])('answers %s with 400 and one line', async (path, message) => {
    const answer = await get(path);
    expect(answer.status).toBe(400);
    expect(answer.text.endsWith('\n')).toBe(true);
    expect(answer.text.trim().split('\n')).toHaveLength(1);
    expect(answer.text).toMatch(message);
    expect(answer.text).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('answers only its three paths: / a status page, /metrics the process metrics', async () => {
    const status = await get('/');
    expect(status.status).toBe(200);
    expect(status.text).toContain('Recent probes');
    expect(status.text).toContain('s3.fleet.test');
    const metrics = await get('/metrics');
    expect(metrics.text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(metrics.text).toMatch(/^process_resident_memory_bytes \d/m);
    expect(metrics.text).toMatch(/^matrix_doctor_exporter_probes_total\{result="bad_request"\} [1-9]/m);
    for (const path of ['/probe/', '/favicon.ico', '/api', '/metrics/x']) expect((await get(path)).status).toBe(404);
    expect((await fetch(`${exporterUrl}/probe?target=s1.fleet.test`, { method: 'POST' })).status).toBe(405);
  });

  it('answers within the scrape timeout while a target hangs, and the hang blocks no other scrape', async () => {
    // A 6 s scrape leaves the hanging probe its whole 2 s --timeout per step: the hang lasts
    // seconds, not the fraction of one that a healthy probe takes on a loaded machine too.
    const hanging = get(`/probe?target=${TARPIT}:8448&area=federation`, { 'X-Prometheus-Scrape-Timeout-Seconds': '6' });
    await new Promise((done) => setTimeout(done, 200));
    const other = await get(`/probe?target=s1.fleet.test&area=${AREAS}`, { 'X-Prometheus-Scrape-Timeout-Seconds': '3' });
    expect(sample(other.text, 'probe_success')).toBe(1);
    const hung = await hanging;
    expect(hung.status).toBe(200);
    expect(sample(hung.text, 'probe_success')).toBe(0);
    // Answered before Prometheus would give up (6 s), the other scrape well before the hang ended.
    expect(hung.ms).toBeLessThan(6000);
    expect(hung.ms).toBeGreaterThan(2000);
    expect(other.ms).toBeLessThan(hung.ms);
  }, 30_000);

  it('answers by its deadline when every probe slot is taken: timed out, probe_success 0', async () => {
    // --concurrency 2: two hanging probes hold both slots for seconds; the third waits its turn.
    const slow = { 'X-Prometheus-Scrape-Timeout-Seconds': '6' };
    const hanging = [8449, 8450].map((port) => get(`/probe?target=${TARPIT}:${port}&area=federation`, slow));
    while (sample((await get('/metrics')).text, 'matrix_doctor_exporter_runs_in_flight') < 2)
      await new Promise((done) => setTimeout(done, 20));
    const queued = await get(`/probe?target=s2.fleet.test&area=${AREAS}`, { 'X-Prometheus-Scrape-Timeout-Seconds': '1.5' });
    expect(queued.status).toBe(200);
    expect(sample(queued.text, 'probe_success')).toBe(0);
    expect(sample(queued.text, 'matrix_doctor_probe_timed_out')).toBe(1);
    expect(queued.text).not.toMatch(/^matrix_doctor_finding_status/m);
    // Held until its deadline (1.5 s less blackbox_exporter's 0.5 s offset), and answered before Prometheus gives up.
    expect(queued.ms).toBeGreaterThan(900);
    expect(queued.ms).toBeLessThan(1500);
    for (const probe of await Promise.all(hanging)) expect(sample(probe.text, 'probe_success')).toBe(0);
    const metrics = await get('/metrics');
    expect(metrics.text).toMatch(/^matrix_doctor_exporter_probes_total\{result="timeout"\} [1-9]/m);
  }, 30_000);

  it('listens on loopback unless --listen says otherwise', async () => {
    const { child, url } = await startExporter(['--listen', `${EXPORTER}:0`]);
    await stopProcess(child);
    expect(url).toMatch(/^http:\/\/127\.16\.2\.10:\d+$/);
    const help = spawnSync(process.execPath, ['--import', 'tsx', 'checks/doctor.ts', 'serve', '--help'], { encoding: 'utf8' });
    expect(help.stdout).toContain('default 127.0.0.1:9869: loopback only');
    const bad = spawnSync(process.execPath, ['--import', 'tsx', 'checks/doctor.ts', 'serve', '--listen', 'everywhere'], {
      encoding: 'utf8',
    });
    expect(bad.status).toBe(3);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  }, 30_000);
});

describe('with Prometheus', () => {
  it('scrapes several lab servers through relabel_configs: probe_success and a failing finding in its HTTP API', async () => {
    const port = await freePort(PROMETHEUS);
    prometheusUrl = `http://${PROMETHEUS}:${port}`;
    const exporterAddress = exporterUrl.replace(/^http:\/\//, '');
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      `global:
  scrape_interval: 5s
  scrape_timeout: 5s
  evaluation_interval: 5s
rule_files:
  - ${resolve('docs/alerts.yml')}
scrape_configs:
  - job_name: matrix_doctor
    metrics_path: /probe
    params:
      area: [wellknown, federation]
    static_configs:
      - targets: [s1.fleet.test, s2.fleet.test, s3.fleet.test]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: ${exporterAddress}
  - job_name: matrix_doctor_exporter
    static_configs:
      - targets: ['${exporterAddress}']
`,
    );
    const check = spawnSync('promtool', ['check', 'config', config], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=${PROMETHEUS}:${port}`,
        '--log.level=warn',
      ],
      { stdio: 'ignore' },
    );
    // Stopped at the end of this test: its scrapes would otherwise share the exporter's probes with
    // the tests below (identical requests in flight are merged).
    try {
      const query = async (expr: string) => {
        const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
        const body = (await response.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
        return body.data.result;
      };
      // Until Prometheus has scraped both jobs once (each on its own schedule).
      let success: { metric: Record<string, string>; value: [number, string] }[] = [];
      let own: typeof success = [];
      for (let waited = 0; waited < 60_000 && (success.length < 3 || own.length === 0); waited += 1000) {
        await new Promise((done) => setTimeout(done, 1000));
        success = await query('probe_success{job="matrix_doctor"}').catch(() => []);
        own = await query('process_resident_memory_bytes{job="matrix_doctor_exporter"}').catch(() => []);
      }
      const byServer = Object.fromEntries(success.map((r) => [r.metric.instance, r.value[1]]));
      expect(byServer).toEqual({ 's1.fleet.test': '1', 's2.fleet.test': '1', 's3.fleet.test': '0' });
      const failing = await query('matrix_doctor_finding_status{instance="s3.fleet.test",area="federation",status="fail"}');
      expect(failing.length).toBeGreaterThan(0);
      expect(failing[0].value[1]).toBe('2');
      expect(failing[0].metric.id).toMatch(/^federation\./);
      expect(await query('matrix_doctor_finding_status{instance="s1.fleet.test",status="fail"}')).toEqual([]);
      expect(Number(own[0]?.value[1])).toBeGreaterThan(0);
      const rules = (await (await fetch(`${prometheusUrl}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string }[] }[] } };
      expect(rules.data.groups[0].rules.map((r) => r.name)).toContain('MatrixFederationDown');
    } finally {
      await stopProcess(prometheus);
      prometheus = undefined;
    }
  }, 90_000);
});

describe('the alert rules', () => {
  it('pass promtool check rules and their unit tests', () => {
    const check = spawnSync('promtool', ['check', 'rules', 'docs/alerts.yml'], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain('SUCCESS: 4 rules found');
    const test = spawnSync('promtool', ['test', 'rules', 'docs/alerts.test.yml'], { encoding: 'utf8' });
    expect(test.status, test.stdout + test.stderr).toBe(0);
  });

  it('and the Grafana dashboard name only metrics the exporter gives', async () => {
    const header = { 'X-Prometheus-Scrape-Timeout-Seconds': '5' };
    const given = new Set(
      [(await get(`/probe?target=s1.fleet.test&area=${AREAS}`, header)).text, (await get('/metrics')).text]
        .join('\n')
        .split('\n')
        .filter((line) => line && !line.startsWith('#'))
        .map((line) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0]),
    );
    given.add('up');
    const dashboard = JSON.parse(readFileSync('docs/grafana-dashboard.json', 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const exprs = [
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ...[...readFileSync('docs/alerts.yml', 'utf8').matchAll(/expr: (.+)/g)].map((m) => m[1]),
    ];
    expect(exprs.length).toBeGreaterThan(6);
    const named = exprs.flatMap((e) => e.replace(/\{[^}]*\}|\([^)]*\)\s*\(/g, ' (').match(/\b(?:probe|matrix|up|process)[a-z_]*\b/g) ?? []);
    for (const name of named) expect(given, name).toContain(name);
  }, 30_000);

  it('fire MatrixFederationDown for the failing lab server, with the series the exporter gave for it, and not for a healthy one', async () => {
    const header = { 'X-Prometheus-Scrape-Timeout-Seconds': '5' };
    const series: string[] = [];
    for (const server of ['s1.fleet.test', 's3.fleet.test']) {
      const answer = await get(`/probe?target=${server}&area=${AREAS}`, header);
      for (const line of answer.text.split('\n')) {
        const match = /^(matrix_doctor_finding_status)\{(.*)\} (\d+)$/.exec(line);
        if (match)
          series.push(
            `      - series: '${match[1]}{job="matrix_doctor",instance="${server}",${match[2]}}'\n        values: '${match[3]}x20'`,
          );
      }
    }
    expect(series.some((s) => s.includes('s3.fleet.test') && s.includes('status="fail"'))).toBe(true);
    const test = join(dir, 'lab-alerts.test.yml');
    writeFileSync(
      test,
      `rule_files:
  - ${resolve('docs/alerts.yml')}
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
${series.join('\n')}
    alert_rule_test:
      - eval_time: 10m
        alertname: MatrixFederationDown
        exp_alerts:
          - exp_labels:
              severity: critical
              instance: s3.fleet.test
            exp_annotations:
              summary: "Federation of s3.fleet.test fails"
              description: "A federation finding of s3.fleet.test fails: other servers cannot reach it. Run: npx tsx checks/doctor.ts s3.fleet.test --only federation"
`,
    );
    const run = spawnSync('promtool', ['test', 'rules', test], { encoding: 'utf8' });
    expect(run.status, run.stdout + run.stderr).toBe(0);
  }, 30_000);
});
