// install: the guide's "run the playbook" step, done today's way: a preflight that stops early
// (the plan's own validation and the DNS check), the roles, the playbook with
// install-all,ensure-matrix-users-created,start (docs/mdad.md "Tags and commands"), its self-check, and the
// project's checks as the after-picture.
//   npx tsx scripts/install.ts --playbook ./matrix-docker-ansible-deploy
import { INSTALL_HELP, INSTALL_OPTIONS, prepareInstall, runInstall } from './lib/install-run.ts';
import { isMain, runStage, STAGE_HELP, stageCommandLine } from './lib/cli.ts';

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

async function main(): Promise<number> {
  const { values } = stageCommandLine(INSTALL_OPTIONS, HELP);
  if (values.help) return 0;
  return runInstall(await prepareInstall(values, 'install'));
}

if (isMain(import.meta.url)) runStage('install', main);
