// The sandbox's servers (sandbox/start.ts: a nameserver, two resolvers, the HTTPS homeserver
// and the TURN responder, all on 127.0.0.1 with free ports), started for checks/doctor.ts run as
// a process: the arguments that point doctor at them, as --connect-to routes would.
import { startDnsServer } from '../../sandbox/dns-server.ts';
import { loadPlan } from '../../checks/plan/load.ts';
import { DOMAIN, SERVER_IPV4, SERVER_IPV6, sourceRecords, staleResolverRecords } from '../../sandbox/zone.ts';
import { SANDBOX_TLS, startSandboxHomeserver } from '../../sandbox/homeserver.ts';
import { startSandboxTurnServer } from '../../sandbox/turn-server.ts';

export const SANDBOX_VARS = 'sandbox/vars.yml';
export const SANDBOX_CA_FILE = 'sandbox/pki/ca.crt';

export interface RunningSandbox {
  /** doctor's arguments: the plan, resolvers, the nameserver, the CA, the routes, the expected addresses. */
  args: string[];
  serverName: string;
  stop(): Promise<void>;
}

export async function startSandbox(broken: boolean): Promise<RunningSandbox> {
  const plan = await loadPlan({ vars: SANDBOX_VARS });
  const zone = (records: ReturnType<typeof sourceRecords>) => [{ origin: DOMAIN, records }];
  const source = await startDnsServer({ address: '127.0.0.1', zones: zone(sourceRecords(broken)) });
  const upToDate = await startDnsServer({ address: '127.0.0.1', role: 'resolver', zones: zone(sourceRecords(broken)) });
  const lagging = await startDnsServer({ address: '127.0.0.1', role: 'resolver', zones: zone(staleResolverRecords(broken)) });
  const homeserver = await startSandboxHomeserver(plan, broken);
  const turn = await startSandboxTurnServer({
    secret: plan.secrets.coturnStaticAuthSecret!,
    realm: `turn.${plan.matrixHost}`,
    relayAddress: broken ? '10.0.0.5' : SERVER_IPV4,
    ...SANDBOX_TLS,
  });
  const route = (host: string, port: number, to: number) => ['--connect-to', `${host}:${port}:127.0.0.1:${to}`];
  return {
    serverName: plan.serverName,
    args: [
      '--vars',
      SANDBOX_VARS,
      '--expect-ip',
      `${SERVER_IPV4},${SERVER_IPV6}`,
      '--resolver',
      `127.0.0.1:${upToDate.port}`,
      '--resolver',
      `127.0.0.1:${lagging.port}`,
      '--authoritative',
      `127.0.0.1:${source.port}`,
      '--ca-file',
      SANDBOX_CA_FILE,
      ...route(plan.serverName, 443, homeserver.port),
      ...route(plan.matrixHost, 443, homeserver.port),
      ...route(plan.matrixHost, 8448, homeserver.port),
      ...route(plan.matrixHost, 3478, turn.port),
      ...route(plan.matrixHost, 5349, turn.tlsPort),
      '--timeout',
      '2',
    ],
    stop: async () => {
      await Promise.all([source.close(), upToDate.close(), lagging.close(), homeserver.close(), turn.close()]);
    },
  };
}
