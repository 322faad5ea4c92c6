// `npm start`: doctor against a built-in sandbox, with no server and no network.
// A nameserver, two resolvers (one still caching old answers), an HTTPS homeserver (well-known
// files, client API, a federation key server signing with ed25519) and a STUN/TURN responder run
// in this process on loopback; the real checks ask them as they would ask the internet.
//   npm start              a deployment that is nearly ready
//   npm start -- --broken  the mistakes people make most, each with its fix
import { startDnsServer } from './dns-server.ts';
import { isMain, runCommand } from '../checks/core/cli.ts';
import { renderJson, setVerbose, useColour } from '../checks/core/report.ts';
import { renderDoctorTable } from '../checks/core/doctor-report.ts';
import { loadPlan } from '../checks/plan/load.ts';
import { parseServerName } from '../checks/core/server-name.ts';
import { diagnose } from '../checks/areas/diagnose.ts';
import { recordFindings } from '../checks/core/catalogue.ts';
import type { ConnectTo } from '../checks/core/net.ts';
import { DOMAIN, SERVER_IPV4, SERVER_IPV6, sourceRecords, staleResolverRecords } from './zone.ts';
import { SANDBOX_CA, SANDBOX_TLS, startSandboxHomeserver } from './homeserver.ts';
import { startSandboxTurnServer } from './turn-server.ts';

const VARS = new URL('./vars.yml', import.meta.url).pathname;
/** What coturn behind NAT, without its external IP, calls its relayed address. */
const PRIVATE_RELAY_IPV4 = '10.0.0.5';

async function main(): Promise<number> {
  const broken = process.argv.includes('--broken');
  const json = process.argv.includes('--json');
  setVerbose(process.argv.includes('--verbose'));
  const plan = await loadPlan({ vars: VARS });
  const source = await startDnsServer({ address: '127.0.0.1', zones: [{ origin: DOMAIN, records: sourceRecords(broken) }] });
  const upToDate = await startDnsServer({
    address: '127.0.0.1',
    role: 'resolver',
    zones: [{ origin: DOMAIN, records: sourceRecords(broken) }],
  });
  const lagging = await startDnsServer({
    address: '127.0.0.1',
    role: 'resolver',
    zones: [{ origin: DOMAIN, records: staleResolverRecords(broken) }],
  });
  const homeserver = await startSandboxHomeserver(plan, broken);
  // coturn with the secret MDAD derives; broken: behind NAT without its external IP, so it hands
  // out a private relayed address no peer can reach.
  const turn = await startSandboxTurnServer({
    secret: plan.secrets.coturnStaticAuthSecret!,
    realm: `turn.${plan.matrixHost}`,
    relayAddress: broken ? PRIVATE_RELAY_IPV4 : SERVER_IPV4,
    ...SANDBOX_TLS,
  });
  try {
    const at = (port: number) => ({ host: '127.0.0.1', port });
    // Every HTTPS connection of the run goes to the sandbox homeserver, whatever the records say.
    const connectTo: ConnectTo[] = [
      { host: plan.serverName, port: 443, address: '127.0.0.1', toPort: homeserver.port },
      { host: plan.matrixHost, port: 443, address: '127.0.0.1', toPort: homeserver.port },
      { host: plan.matrixHost, port: 8448, address: '127.0.0.1', toPort: homeserver.port },
      // And TURN (UDP and TCP on 3478, TLS on 5349) to the sandbox coturn.
      { host: plan.matrixHost, port: 3478, address: '127.0.0.1', toPort: turn.port },
      { host: plan.matrixHost, port: 5349, address: '127.0.0.1', toPort: turn.tlsPort },
    ];
    if (!json) {
      process.stdout.write(
        `Sandbox: ${DOMAIN} on loopback: a nameserver (127.0.0.1:${source.port}), two resolvers (one up to\n` +
          `date, one still caching old answers), a homeserver (127.0.0.1:${homeserver.port}, sandbox CA) and a\n` +
          `TURN server (127.0.0.1:${turn.port}, TLS on ${turn.tlsPort}). Below is what checks/doctor.ts prints for a\n` +
          `real server; run each area alone with checks/dns.ts, wellknown.ts, federation.ts, turn.ts.\n\n`,
      );
    }
    const { report, areas } = await diagnose(
      { name: parseServerName(plan.serverName), plan, expected: { ipv4: SERVER_IPV4, ipv6: SERVER_IPV6, from: 'the sandbox' } },
      {
        // The up-to-date resolver first: HTTPS checks resolve through the first that answers.
        resolvers: [
          { label: `127.0.0.1:${upToDate.port} (up to date)`, endpoint: at(upToDate.port) },
          { label: `127.0.0.1:${lagging.port} (lagging)`, endpoint: at(lagging.port) },
        ],
        authoritative: [at(source.port)],
        timeoutMs: 2000,
        ca: SANDBOX_CA,
        connectTo,
        areas: ['dns', 'wellknown', 'federation', 'turn'],
      },
    );
    recordFindings(report.findings);
    process.stdout.write(json ? renderJson(report) : renderDoctorTable(report, areas, useColour(process.stdout)));
    if (!json && !broken) process.stdout.write('\nSee a broken deployment with: npm start -- --broken\n');
    return 0;
  } finally {
    await Promise.all([source.close(), upToDate.close(), lagging.close(), homeserver.close(), turn.close()]);
  }
}

if (isMain(import.meta.url)) runCommand('sandbox', main);
