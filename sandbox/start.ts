// `npm start`: the DNS preflight against a built-in sandbox, with no server and no network.
// An authoritative nameserver and two resolvers (one still caching old answers) run in this
// process on loopback; the real check asks them as it would ask the internet.
//   npm start              a deployment that is nearly ready
//   npm start -- --broken  the mistakes people make most, each with its fix
import { startDnsServer } from '../lab/dns-server.ts';
import { emitReport, isMain, runCommand } from '../checks/core/cli.ts';
import { loadPlan } from '../checks/plan/load.ts';
import { runDnsCheck } from '../checks/dns.ts';
import { renderZoneSnippet } from '../checks/rules/dns.ts';
import { DOMAIN, SERVER_IPV4, SERVER_IPV6, sourceRecords, staleResolverRecords } from './zone.ts';

const VARS = new URL('./vars.yml', import.meta.url).pathname;

async function main(): Promise<number> {
  const broken = process.argv.includes('--broken');
  const json = process.argv.includes('--json');
  const started = new Date();
  const source = await startDnsServer({ address: '127.0.0.1', zones: [{ origin: DOMAIN, records: sourceRecords(broken) }] });
  const upToDate = await startDnsServer({ address: '127.0.0.1', role: 'resolver', zones: [{ origin: DOMAIN, records: sourceRecords(broken) }] });
  const lagging = await startDnsServer({ address: '127.0.0.1', role: 'resolver', zones: [{ origin: DOMAIN, records: staleResolverRecords(broken) }] });
  try {
    if (!json) {
      process.stdout.write(
        `Sandbox: ${DOMAIN}, served by a nameserver on 127.0.0.1:${source.port} and two resolvers ` +
          `(127.0.0.1:${upToDate.port} up to date, 127.0.0.1:${lagging.port} still caching).\n` +
          `The same as: npx tsx checks/dns.ts ${DOMAIN} --vars sandbox/vars.yml --expect-ip ${SERVER_IPV4},${SERVER_IPV6} ` +
          `--authoritative 127.0.0.1:${source.port} --resolver … --zone\n\n`,
      );
    }
    const plan = await loadPlan({ vars: VARS });
    const endpoint = (port: number) => ({ host: '127.0.0.1', port });
    const verdict = await runDnsCheck({
      plan,
      expected: { ipv4: SERVER_IPV4, ipv6: SERVER_IPV6, from: 'the sandbox' },
      authoritative: [endpoint(source.port)],
      resolvers: [
        { label: `127.0.0.1:${upToDate.port} (up to date)`, endpoint: endpoint(upToDate.port) },
        { label: `127.0.0.1:${lagging.port} (lagging)`, endpoint: endpoint(lagging.port) },
      ],
      timeoutMs: 2000,
    });
    const snippet = renderZoneSnippet(verdict.missing, plan.serverName);
    emitReport({ check: 'DNS preflight (sandbox)', serverName: plan.serverName, started, findings: verdict.findings, appendix: snippet }, json);
    if (!json && !broken) process.stdout.write('\nSee a broken deployment with: npm start -- --broken\n');
    return 0;
  } finally {
    await Promise.all([source.close(), upToDate.close(), lagging.close()]);
  }
}

if (isMain(import.meta.url)) runCommand('sandbox', main);
