// DNS preflight: are the records the deployment needs right at the source, and have they
// propagated to the resolvers? Run it before the playbook, and again while waiting.
//   npx tsx checks/dns.ts example.org --vars inventory/host_vars/matrix.example.org/vars.yml --expect-ip 203.0.113.10 --public
import module from 'node:module';
import type { ParseArgsConfig } from 'node:util';
import type { Finding } from './core/finding.ts';
import type { ServerName } from './core/server-name.ts';
import type { RunSettings, ServerTarget } from './areas/area.ts';

// Start-up: Node's module compile cache first (Node 22.1 and newer; docs/runtimes.md), then
// the modules, so that from the second start on none of them is compiled again.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { HELP_WITHOUT_CONNECT_TO, OPTIONS_WITHOUT_CONNECT_TO, answerHelpEarly } = await import('./core/check-start.ts');

const HELP = `Usage: dns.ts <server-name> [options]

Checks the DNS records a matrix-docker-ansible-deploy server needs: at the zone's
authoritative servers (the source) and at resolvers (propagation), plus SRV, CAA and
Cloudflare proxying.

  --expect-ip IPV4[,IPV6]   the server's public address(es) the records must point at
  --authoritative IP[:PORT] ask this server as the source instead of the zone's NS (repeatable)
  --public                  also ask large public resolvers (Cloudflare, Google, Quad9, OpenDNS)
  --zone                    print the missing records as a BIND snippet and a registrar table
  --verbose            list every passed check too (default: counted on one line)
${HELP_WITHOUT_CONNECT_TO}

Example:
  npx tsx checks/dns.ts example.org --expect-ip 203.0.113.10,2001:db8::10 --public --zone`;

const OPTIONS = {
  ...OPTIONS_WITHOUT_CONNECT_TO,
  'expect-ip': { type: 'string' },
  authoritative: { type: 'string', multiple: true, default: [] as string[] },
  public: { type: 'boolean', default: false },
  zone: { type: 'boolean', default: false },
  verbose: { type: 'boolean' },
} satisfies ParseArgsConfig['options'];

await answerHelpEarly(import.meta.url, OPTIONS, HELP);
const { emitReport, isMain, namedResolvers, parseCheckCommand, parseResolvers, runCommand } = await import('./core/cli.ts');
const { emit } = await import('./core/catalogue.ts');
const { DNS } = await import('./findings/dns.ts');
const { setVerbose } = await import('./core/report.ts');

async function main(): Promise<number> {
  const started = new Date();
  const command = parseCheckCommand(process.argv.slice(2), OPTIONS, HELP);
  if (!command) return 0;
  // What the run needs loads only now, not for --help or bad input.
  const [
    { loadPlan },
    { planFromServerName },
    { linkCauses, runArea },
    { PUBLIC_RESOLVERS, dnsArea, inventoryAddress, parseExpectIp, planTarget, renderZoneSnippet },
  ] = await Promise.all([import('./plan/load.ts'), import('./plan/plan.ts'), import('./areas/area.ts'), import('./areas/dns.ts')]);
  const { values, name, configured, timeoutMs } = command;
  setVerbose(values.verbose);
  const resolvers = namedResolvers(values.resolver, values.public ? PUBLIC_RESOLVERS : []);
  const authoritative = values.authoritative.length ? parseResolvers(values.authoritative) : undefined;
  const plan = configured
    ? await loadPlan({ vars: values.vars, playbook: values.playbook, serverName: name?.host })
    : planFromServerName(name!.host);
  const expected = values['expect-ip'] ? parseExpectIp(values['expect-ip']) : inventoryAddress(plan);
  const target: ServerTarget = name ? { name, plan, expected } : planTarget(plan, expected);
  const settings: RunSettings = { resolvers, authoritative, timeoutMs, areas: [dnsArea.id] };

  const verdict = await runArea(dnsArea, target, settings);
  const missing = 'missing' in verdict ? verdict.missing : [];
  const findings: Finding[] = linkCauses([...nameFindings(name), ...verdict.findings]);
  const snippet = values.zone ? renderZoneSnippet(missing, plan.serverName) : undefined;
  return emitReport(
    {
      check: 'DNS preflight',
      serverName: plan.serverName,
      started,
      findings,
      extra: values.zone ? { missingRecords: missing, zoneSnippet: snippet } : undefined,
      appendix: snippet,
    },
    values.json,
  );
}

/** An internationalized name is checked in its punycode form: said once, by this command. */
function nameFindings(name: ServerName | undefined): Finding[] {
  if (!name?.converted) return [];
  return [
    emit(DNS.namePunycode, 'info', {
      detail: `${name.given} is written ${name.host} in DNS and in Matrix ids; the records below use that form`,
    }),
  ];
}

if (isMain(import.meta.url)) runCommand('dns', main);
