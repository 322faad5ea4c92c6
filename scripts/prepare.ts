#!/usr/bin/env node
// prepare: the guide's "prepare the system" steps as checks, and with --apply as actions:
// the control machine (git, Python, ansible-core >= 2.15.1, community.docker and community.general, optional
// just/agru), the playbook checkout (cloned when missing), SSH to each server, and each
// server through Ansible (OS, RAM, disk, ports 80/443/8448, sudo).
//   npx tsx scripts/prepare.ts --playbook ./matrix-docker-ansible-deploy --apply
import module from 'node:module';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import type { Finding } from '../checks/core/finding.ts';
import type { InventoryHost } from '../checks/plan/types.ts';
import type { RunContext } from './lib/ansible.ts';
import type { Command } from './lib/commands.ts';
import type { ControlFacts, ServerFacts } from './lib/readiness.ts';
import type { parseCommandLine } from './lib/cli.ts';

// Start-up: Node's module compile cache first (Node 22.1 and newer; docs/runtimes.md), then
// the modules, so that from the second start on none of them is compiled again.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { answerEarly, STAGE_HELP, STAGE_OPTIONS } = await import('./lib/stage-start.ts');

export const PLAYBOOK_REPO = 'https://github.com/spantaleev/matrix-docker-ansible-deploy.git';

const HELP = `Usage: prepare.ts [--playbook DIR] [--apply] [options]

Checks that this machine can run the playbook (git, Python, ansible-core ${'>='} 2.15.1, the
community.docker and community.general collections; just and agru are optional), that the checkout exists, and,
once configure.ts has written inventory/hosts, each server: SSH without prompts (host key
known), the operating system, memory (under 2 GB fails, under 4 GB warns), free disk,
ports 80/443/8448 free (or already the playbook's) and sudo.

  --apply                install what is missing: apt-get (git, pipx), pipx install
                         ansible-core, the community.docker and community.general collections; clone the playbook
                         into DIR (or pull it while no server is configured yet); on each
                         Debian/Ubuntu server install sudo and apt update/upgrade
  --repo URL             where to clone the playbook from (default ${PLAYBOOK_REPO})
  -K, --ask-become-pass  ask for the sudo password (for the server's apt upgrade)
  --log FILE             the full log of the Ansible runs
  --json                 the report as JSON on stdout (progress goes to stderr)
${STAGE_HELP}

Example:
  npx tsx scripts/prepare.ts --playbook ./matrix-docker-ansible-deploy --apply`;

const OPTIONS = {
  ...STAGE_OPTIONS,
  apply: { type: 'boolean', default: false },
  repo: { type: 'string', default: PLAYBOOK_REPO },
  'ask-become-pass': { type: 'boolean', short: 'K', default: false },
  log: { type: 'string' },
  json: { type: 'boolean', default: false },
} satisfies ParseArgsConfig['options'];

// --help and bad options answer here, before the modules the run needs load.
await answerEarly('prepare', import.meta.url, OPTIONS, HELP);
const { emit } = await import('../checks/core/catalogue.ts');
const { PREPARE } = await import('../checks/findings/prepare.ts');
const { buildReport, renderJson, renderTable } = await import('../checks/core/report.ts');
const { INVENTORY_FILE, loadInventory, readExpectedMigrationVersion } = await import('../checks/plan/load.ts');
const { defaultLogFile, playbookCommand, renderExplanation, runStep, runWithProgress } = await import('./lib/ansible.ts');
const { runStage, stageCommandLine } = await import('./lib/cli.ts');
const { git, isGitCheckout } = await import('./lib/checkout.ts');
const { capture, onPath, showCommand } = await import('./lib/commands.ts');
const { stamp } = await import('./lib/files.ts');
const { controlActions, controlFindings, serverActions, serverFindings, sshFindings, sshTarget } = await import('./lib/readiness.ts');

type Values = ReturnType<typeof parseCommandLine<typeof OPTIONS>>['values'];

// ---------------------------------------------------------------------------------------------
// Gathering

async function output(program: string, ...args: string[]): Promise<string | undefined> {
  const run = await capture({ program, args });
  return run.code === 0 ? `${run.stdout}${run.stderr}`.split('\n')[0] : undefined;
}

/** The version of a collection Ansible sees (the first of its collection paths that has it). */
async function collectionVersion(name: string): Promise<string | undefined> {
  const run = await capture({ program: 'ansible-galaxy', args: ['collection', 'list', name, '--format', 'json'] });
  try {
    const found = JSON.parse(run.stdout) as Record<string, Record<string, { version?: string }>>;
    return Object.values(found)
      .map((c) => c[name]?.version)
      .find(Boolean);
  } catch {
    return undefined;
  }
}

async function controlFacts(hosts: readonly InventoryHost[]): Promise<ControlFacts> {
  const facts: ControlFacts = {
    just: Boolean(onPath('just')),
    agru: Boolean(onPath('agru')),
    usesSsh: hosts.some((h) => h.connection !== 'local'),
  };
  const [gitVersion, python, ansible] = await Promise.all([
    output('git', '--version'),
    output('python3', '--version'),
    output('ansible-playbook', '--version'),
  ]);
  if (gitVersion) facts.git = gitVersion;
  if (python) facts.python = python;
  if (ansible) {
    facts.ansible = ansible;
    const [docker, general] = await Promise.all([collectionVersion('community.docker'), collectionVersion('community.general')]);
    if (docker) facts.communityDocker = docker;
    if (general) facts.communityGeneral = general;
  }
  return facts;
}

interface CheckoutState {
  findings: Finding[];
  hosts: InventoryHost[];
}

async function checkoutState(dir: string, values: Values): Promise<CheckoutState> {
  if (!existsSync(dir)) {
    return {
      hosts: [],
      findings: [
        emit(PREPARE.checkout, 'fail', {
          detail: `${values.playbook} does not exist`,
          fix: `prepare.ts --apply clones it (git clone ${values.repo} ${values.playbook})`,
        }),
      ],
    };
  }
  if (!existsSync(join(dir, 'setup.yml'))) {
    const detail = `${values.playbook} exists but is not a matrix-docker-ansible-deploy checkout (no setup.yml)`;
    return {
      hosts: [],
      findings: [emit(PREPARE.checkout, 'fail', { detail, fix: 'give the right --playbook DIR, or move that folder away' })],
    };
  }
  const expected = await readExpectedMigrationVersion(dir);
  const findings: Finding[] = [
    emit(PREPARE.checkout, 'pass', { detail: `${values.playbook}${expected ? `, expects migration version ${expected}` : ''}` }),
  ];
  if (!existsSync(join(dir, INVENTORY_FILE))) {
    findings.push(
      emit(PREPARE.inventory, 'info', { detail: `no ${INVENTORY_FILE} yet: run configure.ts, then prepare.ts again to check the server` }),
    );
    return { hosts: [], findings };
  }
  return { hosts: await loadInventory(dir), findings };
}

async function sshCheck(host: InventoryHost): Promise<Finding[]> {
  const { address, port, user } = sshTarget(host);
  const known = await capture({ program: 'ssh-keygen', args: ['-F', port === 22 ? address : `[${address}]:${port}`] });
  const args = [
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=10',
    '-p',
    String(port),
    ...(host.sshKey ? ['-i', host.sshKey.replace(/^~(?=\/)/, process.env.HOME ?? '~')] : []),
    `${user}@${address}`,
    'true',
  ];
  const login = await capture({ program: 'ssh', args }, undefined, 30_000);
  const error = login.stderr.trim().split('\n').at(-1) || login.error;
  return sshFindings(host, {
    known: known.code === 0 && known.stdout.trim() !== '',
    batchOk: login.code === 0,
    ...(error ? { error } : {}),
  });
}

/** Runs server-facts.yml for the given hosts; the facts of each, or the failure as a finding. */
async function serverFacts(
  checkout: string,
  hosts: readonly InventoryHost[],
  values: Values,
  ctx: RunContext,
): Promise<{ facts: Map<string, ServerFacts>; findings: Finding[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'prepare-facts-'));
  try {
    const command = playbookCommand({
      checkout,
      playbook: join(import.meta.dirname, 'lib', 'playbooks', 'server-facts.yml'),
      limit: hosts.map((h) => h.name).join(','),
      extraVars: { prepare_facts_dir: dir },
      askBecomePass: values['ask-become-pass'],
    });
    const run = await runWithProgress(command, 'Reading the server facts through Ansible', ctx);
    const facts = new Map<string, ServerFacts>();
    for (const host of hosts) {
      const file = join(dir, `${host.name}.json`);
      if (existsSync(file)) {
        const raw = JSON.parse(await readFile(file, 'utf8')) as ServerFacts & { listening?: string | null };
        facts.set(host.name, { ...raw, listening: raw.listening ?? undefined });
      }
    }
    const findings: Finding[] =
      run.ok || !run.explanation
        ? []
        : [
            emit(
              PREPARE.serverFacts,
              'fail',
              { detail: renderExplanation(run.explanation), fix: run.explanation.next },
              { host: 'every host' },
            ),
          ];
    return { facts, findings };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Picture {
  control: ControlFacts;
  findings: Finding[];
  servers: Map<string, ServerFacts>;
  hosts: InventoryHost[];
}

async function takePicture(checkout: string, values: Values, ctx: RunContext): Promise<Picture> {
  const state = await checkoutState(checkout, values);
  const control = await controlFacts(state.hosts);
  const findings = [...controlFindings(control), ...state.findings];
  const reachable: InventoryHost[] = [];
  for (const host of state.hosts) {
    if (host.connection === 'local') {
      findings.push(
        emit(
          PREPARE.sshLogin,
          'info',
          { detail: 'ansible_connection=local: the playbook runs on this machine, no SSH' },
          { host: host.name },
        ),
      );
      reachable.push(host);
      continue;
    }
    const ssh = await sshCheck(host);
    findings.push(...ssh);
    if (ssh.every((f) => f.status === 'pass')) reachable.push(host);
    else
      findings.push(emit(PREPARE.serverFacts, 'skip', { detail: 'skipped: SSH does not work without prompts yet' }, { host: host.name }));
  }
  const servers = new Map<string, ServerFacts>();
  if (reachable.length && control.ansible) {
    const gathered = await serverFacts(checkout, reachable, values, ctx);
    findings.push(...gathered.findings);
    for (const [name, facts] of gathered.facts) {
      servers.set(name, facts);
      findings.push(...serverFindings(name, facts));
    }
  }
  return { control, findings, servers, hosts: state.hosts };
}

function printPicture(p: Picture, started: Date, json: boolean): number {
  const report = buildReport('Preparation', 'this machine and the servers', started, p.findings);
  process.stdout.write(json ? renderJson(report) : renderTable(report));
  return report.exitCode >= 2 ? 2 : 0;
}

// ---------------------------------------------------------------------------------------------
// --apply

function checkoutActions(checkout: string, values: Values, hasInventory: boolean): Command[] {
  if (!existsSync(checkout)) return [{ program: 'git', args: ['clone', values.repo, checkout] }];
  // With a server configured, pulling may bring breaking changes: that is update.ts's job.
  if (isGitCheckout(checkout) && !hasInventory) return [git(checkout, 'pull', '--ff-only')];
  return [];
}

function actions(p: Picture, checkout: string, values: Values): Command[] {
  const isRoot = process.getuid?.() === 0;
  return [
    ...controlActions(p.control, { isRoot, hasApt: Boolean(onPath('apt-get')), hasPipx: Boolean(onPath('pipx')) }),
    ...checkoutActions(checkout, values, p.hosts.length > 0),
    ...p.hosts.flatMap((h) => {
      const facts = p.servers.get(h.name);
      return facts ? serverActions(checkout, h.name, facts, values['ask-become-pass']) : [];
    }),
  ];
}

async function main(): Promise<number> {
  const started = new Date();
  const { values } = stageCommandLine(OPTIONS, HELP);
  if (values.help) return 0;
  const checkout = resolve(values.playbook);
  const when = stamp();
  const logFile =
    values.log ??
    (existsSync(join(checkout, 'inventory')) ? defaultLogFile(checkout, 'prepare', when) : join(tmpdir(), `prepare-${when}.log`));
  // prepare reads no secrets: nothing to mask. With --json, stdout holds the report only.
  const out = values.json ? process.stderr : process.stdout;
  const ctx: RunContext = { logFile, mask: (t) => t, out };

  // 1. The picture as it is, and with --apply the commands for what is missing.
  const before = await takePicture(checkout, values, ctx);
  const todo = values.apply ? actions(before, checkout, values) : [];
  if (todo.length === 0 || values['dry-run']) {
    const code = printPicture(before, started, values.json);
    if (values.apply)
      out.write(todo.length ? `Would run:\n${todo.map((c) => `  ${showCommand(c)}`).join('\n')}\n` : 'Nothing to install.\n');
    if (values['dry-run']) out.write('Dry run: nothing was changed.\n');
    return code;
  }

  // 2. --apply: run them, then the picture again (only that one with --json).
  if (!values.json) printPicture(before, started, false);
  // pipx installs programs into ~/.local/bin, which this process must see right away.
  process.env.PATH = `${join(homedir(), '.local', 'bin')}${delimiter}${process.env.PATH ?? ''}`;
  for (const command of todo) await runStep(command, `Running ${command.program}`, ctx);
  out.write('After the changes:\n');
  return printPicture(await takePicture(checkout, values, ctx), new Date(), values.json);
}

runStage('prepare', import.meta.url, main);
