#!/usr/bin/env node
// install: the guide's "run the playbook" step, done today's way: a preflight that stops early
// (the plan's own validation and the DNS check), the roles, the playbook with
// install-all,ensure-matrix-users-created,start (docs/playbook.md "Tags and commands"), its self-check, and the
// project's checks as the after-picture.
//   npx tsx scripts/install.ts --playbook ./matrix-docker-ansible-deploy
import module from 'node:module';

// Start-up: Node's module compile cache first (Node 22.1 and newer; docs/runtimes.md), then
// the modules, so that from the second start on none of them is compiled again.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { answerEarly, STAGE_HELP } = await import('./lib/stage-start.ts');
const { INSTALL_HELP, INSTALL_OPTIONS } = await import('./lib/install-options.ts');

const HELP = `Usage: install.ts [--playbook DIR] [options]

Installs (or re-applies) the Matrix server described by the checkout's inventory:
  1. preflight: what the playbook would refuse in vars.yml, and the DNS check; stops on failures
  2. roles: agru when installed, otherwise a clean roles/galaxy from ansible-galaxy
  3. ansible-playbook -i inventory/hosts setup.yml --tags=install-all,ensure-matrix-users-created,start
  4. ansible-playbook … --tags=self-check
  5. the after-picture: every check of the project (checks/doctor.ts)
Progress shows the current task; the whole output (secrets masked) goes to the log file.

${INSTALL_HELP}
${STAGE_HELP}

Example:
  npx tsx scripts/install.ts --playbook ./matrix-docker-ansible-deploy --ask-become-pass`;

// --help and bad options answer here, before the modules the run needs load.
await answerEarly('install', import.meta.url, INSTALL_OPTIONS, HELP);
const { prepareInstall, runInstall } = await import('./lib/install-run.ts');
const { runStage, stageCommandLine } = await import('./lib/cli.ts');

async function main(): Promise<number> {
  const { values } = stageCommandLine(INSTALL_OPTIONS, HELP);
  if (values.help) return 0;
  return runInstall(await prepareInstall(values, 'install'));
}

runStage('install', import.meta.url, main);
