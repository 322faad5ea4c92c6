// `npm run bench`: measured figures against the targets the issues name. Not part of `npm test`.
// Prints one table (figure, target, result) and exits non-zero when a target is missed.
import { startDnsServer, type RunningDnsServer, type LabRecord } from '../../sandbox/dns-server.ts';
import { planFromVars } from '../../checks/plan/plan.ts';
import { runArea, type RunSettings } from '../../checks/areas/area.ts';
import { dnsArea, planTarget } from '../../checks/areas/dns.ts';
import { dnsQuestions } from '../../checks/rules/dns.ts';
import { provisionLab } from '../../test/lab/servers/provision.ts';
import { federationCase } from './federation.ts';
import { corpusCase } from './corpus.ts';
import { turnCase } from './turn.ts';
import { rtcCase } from './rtc.ts';
import { outboundCase } from './outbound.ts';
import { doctorCases } from './doctor.ts';
import { exporterCase } from './exporter.ts';
import { startupCases } from './startup.ts';
import type { Figure } from './figure.ts';

const RUNS = 15;
const SERVER_IPV4 = '203.0.113.10';

/** A deployment with many services on, so that the plan needs about thirty records. */
const BENCH_VARS = {
  matrix_domain: 'bench.test',
  matrix_homeserver_generic_secret_key: 'bench-generic-secret',
  matrix_static_files_container_labels_base_domain_enabled: true,
  jitsi_enabled: true,
  grafana_enabled: true,
  etherpad_enabled: true,
  matrix_element_call_enabled: true,
  matrix_client_schildichat_enabled: true,
  matrix_client_fluffychat_enabled: true,
  matrix_sygnal_enabled: true,
  ntfy_enabled: true,
  matrix_rageshake_enabled: true,
  matrix_bot_buscarron_enabled: true,
  hydrogen_enabled: true,
  cinny_enabled: true,
  sable_enabled: true,
  matrix_client_commet_enabled: true,
  matrix_matrixto_enabled: true,
  matrix_bridge_mautrix_wsproxy_enabled: true,
  matrix_bridge_postmoogle_enabled: true,
  matrix_element_admin_enabled: true,
  matrix_ketesa_enabled: true,
  matrix_ketesa_hostname: 'ketesa.bench.test',
  coturn_enabled: true,
  coturn_hostname: 'turn.bench.test',
  // SRV delegation instead of /.well-known/matrix/server: one more record to check.
  matrix_static_files_file_matrix_server_enabled: false,
};

function zoneFor(records: { name: string; type: string; value?: string }[]): LabRecord[] {
  const origin = BENCH_VARS.matrix_domain;
  const lab: LabRecord[] = [
    { name: origin, type: 'SOA', value: `ns1.${origin} hostmaster.${origin} 1 3600 600 86400 300` },
    { name: origin, type: 'NS', value: `ns1.${origin}` },
  ];
  for (const r of records) {
    if (r.type === 'A') lab.push({ name: r.name, type: 'A', value: SERVER_IPV4 });
    else if (r.type === 'TXT' && !r.value) lab.push({ name: r.name, type: 'TXT', value: `v=spf1 ip4:${SERVER_IPV4} -all` });
    else if (r.type !== 'AAAA' && r.value) lab.push({ name: r.name, type: r.type as LabRecord['type'], value: r.value });
  }
  return lab;
}

async function dnsCase(): Promise<Figure[]> {
  const plan = planFromVars(BENCH_VARS);
  const zones = [{ origin: plan.serverName, records: zoneFor(plan.records) }];
  const servers: RunningDnsServer[] = [await startDnsServer({ address: '127.0.0.1', zones })];
  for (let i = 0; i < 5; i++) servers.push(await startDnsServer({ address: '127.0.0.1', zones, role: 'resolver' }));
  const [source, ...resolvers] = servers;
  const target = planTarget(plan, { ipv4: SERVER_IPV4 });
  const settings: RunSettings = {
    authoritative: [{ host: '127.0.0.1', port: source.port }],
    resolvers: resolvers.map((r) => ({ label: `127.0.0.1:${r.port}`, endpoint: { host: '127.0.0.1', port: r.port } })),
    timeoutMs: 5000,
    areas: ['dns'],
  };
  const times: number[] = [];
  try {
    await runArea(dnsArea, target, settings); // warm-up: module code compiled, sockets path exercised
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      const verdict = await runArea(dnsArea, target, settings);
      times.push(performance.now() - started);
      const failed = verdict.findings.filter((f) => f.status === 'fail').map((f) => f.id);
      if (failed.length > 0) throw new Error(`the bench zone should be healthy, but failed: ${failed.join(', ')}`);
    }
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
  const questions = dnsQuestions(plan).length;
  const median = times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
  const peakMb = process.resourceUsage().maxRSS / 1024;
  return [
    {
      name: `DNS preflight, ${plan.records.length} records (${questions} questions) × (5 resolvers + source), median of ${RUNS}`,
      value: `${median.toFixed(0)} ms`,
      target: '< 300 ms',
      met: median < 300,
    },
    { name: 'DNS preflight, peak RSS of the process', value: `${peakMb.toFixed(0)} MB`, target: 'printed', met: true },
  ];
}

function printTable(figures: Figure[]): void {
  const widths = [Math.max(6, ...figures.map((f) => f.name.length)), 10, 10];
  const row = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  console.log(row(['figure', 'value', 'target']) + '  result');
  for (const f of figures) console.log(row([f.name, f.value, f.target]) + `  ${f.met ? 'met' : 'MISSED'}`);
}

const CASES: Record<string, () => Promise<Figure[]>> = {
  dns: dnsCase,
  federation: federationCase,
  corpus: corpusCase,
  turn: turnCase,
  rtc: rtcCase,
  outbound: outboundCase,
  doctor: doctorCases,
  exporter: exporterCase,
  startup: startupCases,
};
// `npm run bench -- doctor startup` runs only those cases; no names: all of them. `--long`: the
// exporter's soak runs 30 minutes instead of 5.
const chosen = process.argv.slice(2).filter((arg) => arg !== '--long');
if (process.argv.includes('--long')) process.env.BENCH_EXPORTER_SECONDS ??= '1800';
const unknown = chosen.filter((name) => !(name in CASES));
if (unknown.length) {
  console.error(`bench: unknown case ${unknown.join(', ')} (cases: ${Object.keys(CASES).join(', ')})`);
  process.exit(3);
}
await provisionLab();
const figures: Figure[] = [];
for (const name of chosen.length ? chosen : Object.keys(CASES)) figures.push(...(await CASES[name]()));
printTable(figures);
process.exit(figures.every((f) => f.met) ? 0 : 1);
