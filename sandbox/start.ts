// `npm start`: the checks against a built-in sandbox, with no server and no network.
// A nameserver, two resolvers (one still caching old answers) and an HTTPS homeserver (well-known
// files, client API, a federation key server signing with ed25519) run in this process on
// loopback; the real checks ask them as they would ask the internet.
//   npm start              a deployment that is nearly ready
//   npm start -- --broken  the mistakes people make most, each with its fix
import { startDnsServer } from '../lab/dns-server.ts';
import { emitReport, isMain, runCommand } from '../checks/core/cli.ts';
import type { Finding } from '../checks/core/finding.ts';
import { loadPlan } from '../checks/plan/load.ts';
import { runDnsCheck } from '../checks/dns.ts';
import { runWellKnownCheck } from '../checks/wellknown.ts';
import { runFederationCheck } from '../checks/federation.ts';
import { renderZoneSnippet } from '../checks/rules/dns.ts';
import type { ConnectTo } from '../checks/probes/http.ts';
import { DOMAIN, SERVER_IPV4, SERVER_IPV6, sourceRecords, staleResolverRecords } from './zone.ts';
import { SANDBOX_CA, startSandboxHomeserver } from './homeserver.ts';

const VARS = new URL('./vars.yml', import.meta.url).pathname;
const TIMEOUT_MS = 2000;

async function main(): Promise<number> {
  const broken = process.argv.includes('--broken');
  const json = process.argv.includes('--json');
  const plan = await loadPlan({ vars: VARS });
  const source = await startDnsServer({ address: '127.0.0.1', zones: [{ origin: DOMAIN, records: sourceRecords(broken) }] });
  const upToDate = await startDnsServer({ address: '127.0.0.1', role: 'resolver', zones: [{ origin: DOMAIN, records: sourceRecords(broken) }] });
  const lagging = await startDnsServer({ address: '127.0.0.1', role: 'resolver', zones: [{ origin: DOMAIN, records: staleResolverRecords(broken) }] });
  const homeserver = await startSandboxHomeserver(plan, broken);
  try {
    const endpoint = (port: number) => ({ host: '127.0.0.1', port });
    const fresh = { label: `127.0.0.1:${upToDate.port} (up to date)`, endpoint: endpoint(upToDate.port) };
    // Every HTTPS connection of the run goes to the sandbox homeserver, whatever the records say.
    const connectTo: ConnectTo[] = [
      { host: plan.serverName, port: 443, address: '127.0.0.1', toPort: homeserver.port },
      { host: plan.matrixHost, port: 443, address: '127.0.0.1', toPort: homeserver.port },
      { host: plan.matrixHost, port: 8448, address: '127.0.0.1', toPort: homeserver.port },
    ];
    if (!json) {
      process.stdout.write(
        `Sandbox: ${DOMAIN} on loopback: a nameserver (127.0.0.1:${source.port}), two resolvers (one up to date, one still\n` +
          `caching) and a homeserver (127.0.0.1:${homeserver.port}) with the sandbox CA. Each report below is what\n` +
          `checks/dns.ts, checks/wellknown.ts and checks/federation.ts print for a real server.\n\n`,
      );
    }
    const started = new Date();
    const dns = await runDnsCheck({
      plan,
      expected: { ipv4: SERVER_IPV4, ipv6: SERVER_IPV6, from: 'the sandbox' },
      authoritative: [endpoint(source.port)],
      resolvers: [fresh, { label: `127.0.0.1:${lagging.port} (lagging)`, endpoint: endpoint(lagging.port) }],
      timeoutMs: TIMEOUT_MS,
    });
    const snippet = renderZoneSnippet(dns.missing, plan.serverName);
    const reports: { check: string; findings: Finding[]; appendix?: string }[] = [
      { check: 'DNS preflight (sandbox)', findings: dns.findings, appendix: snippet },
      { check: '.well-known (sandbox)', findings: (await runWellKnownCheck({ serverName: plan.serverName, plan, resolvers: [fresh], timeoutMs: TIMEOUT_MS, ca: SANDBOX_CA, connectTo })).findings },
      {
        check: 'Federation (sandbox)',
        findings: await runFederationCheck({ name: { host: plan.serverName, isIpLiteral: false }, resolvers: [fresh], timeoutMs: TIMEOUT_MS, ca: SANDBOX_CA, connectTo }),
      },
    ];
    for (const report of reports) {
      emitReport({ ...report, serverName: plan.serverName, started }, json);
      if (!json) process.stdout.write('\n');
    }
    if (!json && !broken) process.stdout.write('See a broken deployment with: npm start -- --broken\n');
    return 0;
  } finally {
    await Promise.all([source.close(), upToDate.close(), lagging.close(), homeserver.close()]);
  }
}

if (isMain(import.meta.url)) runCommand('sandbox', main);
