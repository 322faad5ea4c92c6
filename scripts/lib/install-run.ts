// The install steps, shared by the install and update stages: the preflight (the plan's own
// validation and the DNS check), the roles, the playbook with install-all (or setup-all),
// ensure-matrix-users-created and start, its self-check, and doctor as the after-picture.
import { parseResolvers, parseTimeout } from '../../checks/core/cli.ts';
import { defaultLogFile, playbookCommand, runStep } from './ansible.ts';
import type { RunContext } from './ansible.ts';
import { type parseCommandLine, requireCheckout, StageFailure } from './cli.ts';
import type { INSTALL_OPTIONS } from './install-options.ts';
import { loadHostPlans, rolesCommands } from './checkout.ts';
import type { HostPlan } from './checkout.ts';
import { execute, showCommand } from './commands.ts';
import type { Command, Step } from './commands.ts';
import { stamp } from './files.ts';
import { AFTER_CHECK, checkCommand, PREFLIGHT_CHECK, renderCheck, runCheck } from './project-checks.ts';
import type { CheckOptions } from './project-checks.ts';
import { masker, secretsOf } from './secrets.ts';

export { INSTALL_HELP, INSTALL_OPTIONS } from './install-options.ts';

export type InstallValues = ReturnType<typeof parseCommandLine<typeof INSTALL_OPTIONS>>['values'];

export interface Install {
  checkout: string;
  hosts: HostPlan[];
  values: InstallValues;
  ctx: RunContext;
}

/** Reads the checkout's inventory and plans; the log file and the masking of every secret. */
export async function prepareInstall(values: InstallValues, stage: string): Promise<Install> {
  // Bad DNS options are bad input now, not a failure halfway through.
  parseResolvers([...values.resolver, ...values.authoritative]);
  if (values.timeout !== undefined) parseTimeout(values.timeout);
  // The check areas (and their probes) load only now, not for --help.
  const [{ parseExpectIp }, { selectAreas }] = await Promise.all([
    import('../../checks/areas/dns.ts'),
    import('../../checks/areas/registry.ts'),
  ]);
  if (values['expect-ip'] !== undefined) parseExpectIp(values['expect-ip']);
  if (values['after-checks']) selectAreas(values['after-checks'], undefined, { only: '--after-checks', skip: '--skip' });
  const checkout = requireCheckout(values.playbook);
  const hosts = await loadHostPlans(checkout);
  const mask = masker(hosts.flatMap((h) => secretsOf(h.vars, h.plan)));
  return { checkout, hosts, values, ctx: { logFile: values.log ?? defaultLogFile(checkout, stage, stamp()), mask } };
}

function checkOptions(values: InstallValues): CheckOptions {
  const o: CheckOptions = { resolvers: values.resolver, authoritative: values.authoritative };
  if (values['expect-ip']) o.expectIp = values['expect-ip'];
  if (values.timeout) o.timeout = values.timeout;
  return o;
}

/** The DNS check before the playbook; doctor (every area, or --after-checks) after it. */
function checkCommands(install: Install, when: 'before' | 'after'): Command[] {
  const only = install.values['after-checks'];
  const [script, extra] = when === 'before' ? [PREFLIGHT_CHECK, []] : [AFTER_CHECK, only ? ['--only', only] : []];
  return install.hosts.map((h) => checkCommand(script, h.plan.serverName, install.checkout, checkOptions(install.values), extra));
}

function playbookRuns(install: Install): Array<{ title: string; command: Command }> {
  const { checkout, values } = install;
  const main = values['setup-all'] ? 'setup-all' : 'install-all';
  const become = { askBecomePass: values['ask-become-pass'] };
  return [
    { title: `Playbook: ${main}`, command: playbookCommand({ checkout, tags: [main, 'ensure-matrix-users-created', 'start'], ...become }) },
    { title: 'Playbook: self-check', command: playbookCommand({ checkout, tags: ['self-check'], ...become }) },
  ];
}

/** The plan's own validation: what the playbook would stop on anyway. */
function planProblems(install: Install): string[] {
  return install.hosts.flatMap((h) =>
    h.plan.issues
      .filter((issue) => issue.kind !== 'ignored')
      .map((issue) => `${h.host.name}: ${issue.variable}: ${issue.reason}\n    → ${issue.fix}`),
  );
}

/** Runs the checks; true when none failed. */
async function runChecks(commands: readonly Command[], title: string): Promise<boolean> {
  let ok = true;
  for (const command of commands) {
    process.stdout.write(`${title}\n  $ ${showCommand(command)}\n`);
    const run = await runCheck(command);
    process.stdout.write(renderCheck(run));
    if (!run.report || run.report.exitCode >= 2) ok = false;
  }
  return ok;
}

/**
 * Steps 1–5 (update.ts runs them too, after the pull), in the order they run. One executor lists
 * them for --dry-run or runs them, so the list is the run.
 */
export async function runInstall(install: Install): Promise<number> {
  const { values, ctx } = install;
  let checksPassed = true;
  const steps: Step[] = [];
  // 1. Preflight: the plan's own validation, then the DNS check of each host.
  if (!values['skip-preflight']) {
    steps.push({
      note: 'preflight: the plan of each host is validated, then:',
      commands: checkCommands(install, 'before'),
      run: async (commands) => {
        const problems = planProblems(install);
        if (problems.length) {
          throw new StageFailure(
            `stopped before the playbook: vars.yml has what the playbook would refuse:\n  ${problems.join('\n  ')}\n(fix them, or run again with --skip-preflight)`,
          );
        }
        if (!(await runChecks(commands, 'Preflight: DNS'))) {
          throw new StageFailure(
            'stopped before the playbook: the DNS preflight found failures (see the fixes above); run again when they are fixed, or with --skip-preflight',
          );
        }
      },
    });
  }
  // 2. The roles.
  steps.push({
    commands: rolesCommands(install.checkout),
    run: async (commands) => {
      for (const command of commands) await runStep(command, 'Roles', ctx);
    },
  });
  // 3, 4. The playbook: install-all (or setup-all), then its self-check.
  for (const { title, command } of playbookRuns(install)) {
    steps.push({ commands: [command], run: async () => void (await runStep(command, title, ctx)) });
  }
  // 5. The after-picture: doctor.
  steps.push({
    note: 'after-picture:',
    commands: checkCommands(install, 'after'),
    run: async (commands) => {
      checksPassed = await runChecks(commands, 'After-picture: every check (doctor)');
    },
  });

  if (values['dry-run']) {
    const lines = await execute(steps, true);
    process.stdout.write(
      `Would run, in this order (log: ${ctx.logFile}):\n${lines.map((l) => `  ${l}`).join('\n')}\nDry run: nothing was changed.\n`,
    );
    return 0;
  }
  process.stdout.write(`Full log: ${ctx.logFile}\n`);
  await execute(steps, false);
  if (!checksPassed) {
    process.stdout.write('The playbook finished, but the checks above found failures.\n');
    return 2;
  }
  process.stdout.write(
    `Installed. Next: create your first user: npx tsx scripts/register.ts user NAME --admin --playbook ${values.playbook}\n`,
  );
  return 0;
}
