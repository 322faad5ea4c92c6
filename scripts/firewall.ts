#!/usr/bin/env node
// firewall: the guide's hand-copied ufw rule list, derived from the deployment plan instead:
// every port of every enabled service plus SSH. By default it prints the commands; --apply adds
// what is missing on the server through Ansible (SSH first), --check compares. It also says
// which ports Docker publishes past ufw (docs/failure-modes.md "Docker bypasses ufw").
//   npx tsx scripts/firewall.ts --playbook ./matrix-docker-ansible-deploy --apply
import module from 'node:module';
import { isAbsolute } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import type { InventoryHost } from '../checks/plan/types.ts';
import type { UfwOptions, UfwState } from './lib/firewall-rules.ts';

// Start-up: Node's module compile cache first (Node 22.1 and newer; docs/runtimes.md), then
// the modules, so that from the second start on none of them is compiled again.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { answerEarly, STAGE_HELP, STAGE_OPTIONS } = await import('./lib/stage-start.ts');

const HELP = `Usage: firewall.ts [--playbook DIR | --vars FILE] [--ssh-port N] [--apply | --check] [options]

The Matrix server's host firewall (ufw), derived from the deployment plan: one allow rule
per port of every enabled service (Traefik's 80/443, federation 8448, coturn, Jitsi,
LiveKit, Postmoogle…), the SSH port, then default deny incoming and allow outgoing.
Without --apply or --check it prints the ufw commands and changes nothing. It also lists
the ports Docker publishes past ufw, for which a ufw "deny" has no effect.

  --vars FILE            the plan from this vars.yml (else from the checkout's inventory)
  --domain DOMAIN        which server of the inventory, when it has several
  --ssh-port N           the SSH port to keep open (default: ansible_port in inventory/hosts)
  --apply                add what is missing on the server through Ansible, as root: the
                         SSH rule first, then the others, then the default policies; refuses
                         while the SSH port is unknown. It never enables ufw.
  --check                read the server's ufw through Ansible and show missing and
                         superfluous rules (exit 2 when rules or policies are missing)
  -K, --ask-become-pass  ask for the sudo password
  --log FILE             the full log of --apply
${STAGE_HELP}

For tests, so that no real firewall is touched:
  --ufw-dry-run          run every ufw change on the server as "ufw --dry-run …"
  --ufw-datadir DIR      pass ufw its own --datadir=DIR: configuration under DIR, not /etc

Examples:
  npx tsx scripts/firewall.ts --vars inventory/host_vars/matrix.example.org/vars.yml --ssh-port 22
  npx tsx scripts/firewall.ts --playbook ./matrix-docker-ansible-deploy --apply`;

const OPTIONS = {
  ...STAGE_OPTIONS,
  vars: { type: 'string' },
  domain: { type: 'string' },
  'ssh-port': { type: 'string' },
  apply: { type: 'boolean', default: false },
  check: { type: 'boolean', default: false },
  'ask-become-pass': { type: 'boolean', short: 'K', default: false },
  log: { type: 'string' },
  'ufw-dry-run': { type: 'boolean', default: false },
  'ufw-datadir': { type: 'string' },
} satisfies ParseArgsConfig['options'];

// --help and bad options answer here, before the modules the run needs load.
await answerEarly('firewall', import.meta.url, OPTIONS, HELP);
const { InputError } = await import('../checks/core/errors.ts');
const { rootScript, runAdhoc } = await import('./lib/adhoc.ts');
const { defaultLogFile, explainFailure, renderExplanation, runStep } = await import('./lib/ansible.ts');
const { positiveInt, runStage, stageCommandLine, StageFailure } = await import('./lib/cli.ts');
const { showCommand } = await import('./lib/commands.ts');
const { stamp } = await import('./lib/files.ts');
const {
  compareFirewall,
  dockerExplanation,
  firewallRules,
  missingCommands,
  parseState,
  readStateScript,
  renderAfterApply,
  renderCommands,
  renderComparison,
  renderObsolete,
  sshProblem,
  ufwLine,
} = await import('./lib/firewall-rules.ts');
const { masker, secretsOf } = await import('./lib/secrets.ts');
const { stagePlan } = await import('./lib/stage-plan.ts');

function testSwitches(dryRun: boolean, datadir: string | undefined, remote: boolean): UfwOptions {
  if ((dryRun || datadir !== undefined) && !remote) throw new InputError('--ufw-dry-run and --ufw-datadir go with --apply or --check');
  if (datadir !== undefined && (!isAbsolute(datadir) || /[\s'"]/.test(datadir))) {
    throw new InputError(`--ufw-datadir ${datadir}: give an absolute path without spaces or quotes`);
  }
  return { ...(dryRun ? { dryRun } : {}), ...(datadir !== undefined ? { datadir } : {}) };
}

/** The server's ufw, read through Ansible (read-only). */
async function readState(checkout: string, host: InventoryHost, ufw: UfwOptions, askBecomePass: boolean): Promise<UfwState> {
  const command = rootScript({ checkout, host: host.name, askBecomePass }, readStateScript(ufw));
  process.stdout.write(`Reading the firewall of ${host.name} through Ansible (read-only):\n  $ ${showCommand(command)}\n`);
  const run = await runAdhoc(command);
  if (!run.ok) {
    throw new StageFailure(
      run.error === 'ENOENT'
        ? 'ansible is not installed or not on PATH; install it: npx tsx scripts/prepare.ts --apply'
        : `could not read the firewall of ${host.name}.\n${renderExplanation(explainFailure(run.output))}`,
    );
  }
  try {
    return parseState(run.output);
  } catch {
    throw new StageFailure(`could not read the firewall of ${host.name}: Ansible said:\n${run.output.split('\n').slice(-8).join('\n')}`);
  }
}

async function main(): Promise<number> {
  const { values, positionals } = stageCommandLine(OPTIONS, HELP);
  if (values.help) return 0;
  if (positionals.length > 0) throw new InputError(`unexpected argument "${positionals[0]}"`);
  if (values.apply && values.check) throw new InputError('--apply and --check do not go together (--check only reads)');
  const remote = values.apply || values.check;
  const ufw = testSwitches(values['ufw-dry-run'], values['ufw-datadir'], remote);
  const sshFlag = values['ssh-port'] === undefined ? undefined : positiveInt(values['ssh-port'], '--ssh-port', 65535);
  const target = await stagePlan({ vars: values.vars, playbook: values.playbook, domain: values.domain, needHost: remote });
  const sshPort = sshFlag ?? target.host?.sshPort;
  const rules = firewallRules(target.plan, sshPort);
  const { plan } = target;

  // Without --apply or --check: the commands, and what Docker means for them.
  if (!remote) {
    process.stdout.write(
      `Firewall (ufw) for ${plan.serverName} on ${plan.matrixHost}, from the deployment plan:\n${renderCommands(rules, sshPort !== undefined)}\n` +
        `${renderObsolete()}\n\n${dockerExplanation(rules)}\n\n` +
        'To add what is missing on the server through Ansible (SSH first; ufw is never enabled by it):\n' +
        `  npx tsx scripts/firewall.ts --playbook ${values.playbook} --apply\n`,
    );
    if (values['dry-run']) process.stdout.write('Dry run: nothing was changed.\n');
    return 0;
  }

  const host = target.host!;
  const checkout = target.checkout!;
  const become = values['ask-become-pass'];
  // Never a firewall without the way back in: the SSH port must be known before anything runs.
  const unknownSsh = values.apply ? sshProblem(sshPort, host.name, []) : undefined;
  if (unknownSsh) throw new InputError(unknownSsh);
  const state = await readState(checkout, host, ufw, become);
  if (!state.installed)
    throw new StageFailure(`ufw is not installed on ${host.name}; install it there (apt-get install ufw), then run this again`);
  if (sshPort !== undefined) {
    const problem = sshProblem(sshPort, host.name, state.sshdPorts);
    if (problem && values.apply) throw new InputError(problem);
    if (problem) process.stdout.write(`Warning: ${problem}\n`);
  }
  const comparison = compareFirewall(rules, state);

  if (values.check) {
    process.stdout.write(`${renderComparison(host.name, state, comparison, sshPort !== undefined)}\n\n${dockerExplanation(rules)}\n`);
    const incomplete = comparison.missing.length > 0 || comparison.policies.length > 0;
    if (incomplete) process.stdout.write(`Add what is missing: npx tsx scripts/firewall.ts --playbook ${values.playbook} --apply\n`);
    return incomplete ? 2 : 0;
  }

  // --apply: only what is missing, SSH first.
  const todo = missingCommands(comparison);
  if (todo.length === 0) {
    process.stdout.write(
      `Nothing to add: ufw on ${host.name} has every rule of the plan (${comparison.present.length}) and its default policies.\n`,
    );
    const after = renderAfterApply(host.name, state, comparison, sshPort!);
    if (after) process.stdout.write(`${after}\n`);
    if (values['dry-run']) process.stdout.write('Dry run: nothing was changed.\n');
    return 0;
  }
  const script = todo.map((args) => ufwLine(args, ufw)).join('\n');
  const command = rootScript({ checkout, host: host.name, askBecomePass: become }, script);
  process.stdout.write(
    `To add on ${host.name} (${comparison.present.length} rule(s) of the plan are there already):\n${script
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n')}\n`,
  );
  if (values['dry-run']) {
    process.stdout.write(`Would run:\n  ${showCommand(command)}\nDry run: nothing was changed.\n`);
    return 0;
  }
  const ctx = { logFile: values.log ?? defaultLogFile(checkout, 'firewall', stamp()), mask: masker(secretsOf(target.vars, plan)) };
  await runStep(command, `Adding ${todo.length} firewall change(s) on ${host.name}`, ctx);
  process.stdout.write(`Added. Full log: ${ctx.logFile}\n`);
  const after = renderAfterApply(host.name, state, comparison, sshPort!);
  process.stdout.write(`${after ? `${after}\n` : ''}\n${dockerExplanation(rules)}\n`);
  return 0;
}

runStage('firewall', import.meta.url, main);
