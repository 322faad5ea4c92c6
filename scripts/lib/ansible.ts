// Running ansible-playbook for the stages: the command line (docs/playbook.md "Tags and commands"), progress while it
// runs (current task, count, elapsed), the full log in a file with secrets masked, and the
// known failures explained in plain words with the next step.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StageFailure } from './cli.ts';
import { showCommand, stream } from './commands.ts';
import type { Command } from './commands.ts';

export const INVENTORY = 'inventory/hosts';

export interface PlaybookOptions {
  checkout: string;
  /** The playbook file; default MDAD's setup.yml (relative to the checkout). */
  playbook?: string;
  tags?: readonly string[];
  askBecomePass?: boolean;
  /** `--extra-vars @FILE` for each: how secrets reach Ansible. */
  extraVarsFiles?: readonly string[];
  /** Non-secret extra variables, passed as JSON on the command line. */
  extraVars?: Readonly<Record<string, string>>;
  limit?: string;
}

/** `ansible-playbook -i inventory/hosts setup.yml --tags=…`, run from the checkout (its ansible.cfg). */
export function playbookCommand(o: PlaybookOptions): Command {
  const args = ['-i', INVENTORY, o.playbook ?? 'setup.yml'];
  if (o.tags?.length) args.push(`--tags=${o.tags.join(',')}`);
  if (o.limit) args.push(`--limit=${o.limit}`);
  if (o.extraVars && Object.keys(o.extraVars).length) args.push(`--extra-vars=${JSON.stringify(o.extraVars)}`);
  for (const file of o.extraVarsFiles ?? []) args.push(`--extra-vars=@${file}`);
  if (o.askBecomePass) args.push('--ask-become-pass');
  // No colour codes in the log; lines as they happen.
  return { program: 'ansible-playbook', args, cwd: o.checkout, env: { ANSIBLE_NOCOLOR: '1', PYTHONUNBUFFERED: '1' } };
}

// -------------------------------------------------------------------------------------------
// Failures in plain words

export interface Explanation {
  /** The failing task, when the output names one. */
  task?: string;
  /** The reason in plain words. */
  reason: string;
  /** What to do next. */
  next: string;
  /** The relevant lines of Ansible's own message (masked, shortened). */
  detail?: string;
}

interface KnownFailure {
  pattern: RegExp;
  explain: (match: RegExpExecArray) => Pick<Explanation, 'reason' | 'next'>;
}

const KNOWN_FAILURES: readonly KnownFailure[] = [
  {
    pattern: /the role '([^']+)' was not found/,
    explain: (m) => ({
      reason: `the role ${m[1]} is missing: the roles in roles/galaxy do not match the playbook (usually after a git pull without fetching roles)`,
      next: 'fetch the roles again: npx tsx scripts/install.ts (it fetches them first), or by hand: rm -rf roles/galaxy && ansible-galaxy install -r requirements.yml -p roles/galaxy/ --force',
    }),
  },
  {
    pattern: /matrix_playbook_migration_validated_version/,
    explain: () => ({
      reason:
        "the playbook has breaking changes that this server's vars.yml has not acknowledged yet (matrix_playbook_migration_validated_version)",
      next: 'see them with: npx tsx scripts/update.ts; after reading them, run it again with --acknowledge VERSION',
    }),
  },
  {
    pattern: /Incorrect sudo password|Incorrect su password/,
    explain: () => ({
      reason: 'the sudo password was wrong',
      next: 'run again with --ask-become-pass and type the password of the login user on the server',
    }),
  },
  {
    pattern: /Missing sudo password|sudo: a password is required|Missing su password/,
    explain: () => ({
      reason: 'sudo on the server wants a password and none was given',
      next: 'run again with --ask-become-pass (-K); Ansible asks for it once',
    }),
  },
  {
    pattern: /Host key verification failed/,
    explain: () => ({
      reason:
        "SSH does not know the server's host key yet, and Ansible cannot ask (ansible-core 2.21 and newer never can, MDAD issue #5472)",
      next: 'connect once by hand and accept the key: ssh [-p PORT] USER@SERVER; then run again',
    }),
  },
  {
    pattern: /Permission denied \((publickey[^)]*)\)/,
    explain: () => ({
      reason: 'the server refused the SSH login: the key is not accepted for that user',
      next: 'check ansible_ssh_user and ansible_ssh_private_key_file in inventory/hosts; a key with a passphrase must be loaded into ssh-agent (ssh-add KEY)',
    }),
  },
  {
    pattern: /UNREACHABLE!|Failed to connect to the host via ssh|Data could not be sent to remote host/,
    explain: () => ({
      reason: 'Ansible could not reach the server over SSH',
      next: 'check ansible_host and the SSH port in inventory/hosts, that the server is up and that its firewall lets SSH in; test with: ssh -o BatchMode=yes [-p PORT] USER@SERVER true',
    }),
  },
  {
    pattern: /^.*not detected to be running.*$/m,
    explain: (m) => {
      const unit = /(matrix-[\w.@-]+)\.service/.exec(m[0])?.[1];
      return {
        reason: `a service stopped right after it was started${unit ? ` (${unit})` : ''}`,
        next: `read its log on the server: journalctl -fu ${unit ?? 'matrix-<service>'}; fix the setting it complains about, then run install again`,
      };
    },
  },
];

const TASK_LINE = /^(?:TASK|RUNNING HANDLER) \[(.+)\] \**$/;
const FAILURE_LINE = /^(?:fatal|failed): \[[^\]]+\]|^\[ERROR\]:|^ERROR!/;

/** Why a playbook run failed, from its output. */
export function explainFailure(output: string): Explanation {
  const lines = output.split('\n');
  const failureAt = lines.findIndex((line) => FAILURE_LINE.test(line));
  const task = lines
    .slice(0, failureAt < 0 ? lines.length : failureAt)
    .map((l) => TASK_LINE.exec(l)?.[1])
    .filter(Boolean)
    .at(-1);
  const detail =
    failureAt < 0
      ? undefined
      : lines
          .slice(failureAt, failureAt + 8)
          .join('\n')
          .slice(0, 800)
          .trim();
  for (const known of KNOWN_FAILURES) {
    const match = known.pattern.exec(output);
    if (match) return { ...(task ? { task } : {}), ...known.explain(match), ...(detail ? { detail } : {}) };
  }
  return {
    ...(task ? { task } : {}),
    reason: 'the playbook stopped with an error (see the message below and the full log)',
    next: "read the failing task's message; fix the setting it names in vars.yml, then run the stage again",
    ...(detail ? { detail } : {}),
  };
}

export function renderExplanation(e: Explanation, log?: string): string {
  const lines = [e.task ? `Failed at task: ${e.task}` : 'The playbook failed.', `Why: ${e.reason}`, `Next: ${e.next}`];
  if (e.detail) lines.push('Ansible said:', ...e.detail.split('\n').map((l) => `  ${l}`));
  if (log) lines.push(`Full log: ${log}`);
  return lines.join('\n');
}

// -------------------------------------------------------------------------------------------
// Running with progress and a log

export interface RunContext {
  /** The log file; created with mode 0600, appended to. */
  logFile: string;
  /** Masks every known secret in text shown or logged. */
  mask: (text: string) => string;
  out?: NodeJS.WriteStream;
}

export interface PlaybookResult {
  ok: boolean;
  code: number | null;
  tasks: number;
  explanation?: Explanation;
}

function elapsed(since: number): string {
  const s = Math.floor((Date.now() - since) / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * Runs a command (ansible-playbook or ansible-galaxy) with progress on the terminal: one line
 * per task (redrawn in place on a terminal), elapsed time, and the recap. Every line goes,
 * masked, into the log file.
 */
export async function runWithProgress(command: Command, title: string, ctx: RunContext): Promise<PlaybookResult> {
  const out = ctx.out ?? process.stdout;
  await mkdir(dirname(ctx.logFile), { recursive: true, mode: 0o700 });
  const log = createWriteStream(ctx.logFile, { flags: 'a', mode: 0o600 });
  log.write(`\n### ${new Date().toISOString()} ${title}\n$ ${showCommand(command)}\n`);
  out.write(`${title}\n  $ ${showCommand(command)}\n`);
  const started = Date.now();
  const kept: string[] = [];
  let tasks = 0;
  let recap = false;
  let redraw = false;
  const result = await stream(command, (raw) => {
    const line = ctx.mask(raw);
    log.write(`${line}\n`);
    kept.push(line);
    if (kept.length > 4000) kept.splice(0, 1000);
    const task = TASK_LINE.exec(line);
    if (task) {
      tasks++;
      const status = `  [task ${tasks}, ${elapsed(started)}] ${task[1]}`;
      if (out.isTTY) {
        out.write(`\r\u001b[K${status.slice(0, (out.columns ?? 100) - 1)}`);
        redraw = true;
      } else out.write(`${status}\n`);
      return;
    }
    if (/^PLAY RECAP/.test(line)) recap = true;
    if (recap && line.trim() !== '') {
      if (redraw) out.write('\n');
      redraw = false;
      out.write(`  ${line}\n`);
    }
  });
  if (redraw) out.write('\n');
  const ok = result.code === 0;
  const summary = result.error
    ? `${command.program} could not be started (${result.error})`
    : `${ok ? 'done' : `failed (exit ${result.code})`}${tasks ? ` after ${tasks} tasks` : ''} in ${elapsed(started)}`;
  out.write(`  ${summary}\n`);
  log.write(`### ${summary}\n`);
  await new Promise<void>((resolve) => log.end(resolve));
  const res: PlaybookResult = { ok, code: result.code, tasks };
  if (!ok) {
    res.explanation =
      result.error === 'ENOENT'
        ? { reason: `${command.program} is not installed or not on PATH`, next: 'install it: npx tsx scripts/prepare.ts --apply' }
        : explainFailure(kept.join('\n'));
  }
  return res;
}

/** Runs a command with progress; a failure ends the stage with the explanation (exit 2). */
export async function runStep(command: Command, title: string, ctx: RunContext): Promise<PlaybookResult> {
  const result = await runWithProgress(command, title, ctx);
  if (!result.ok) throw new StageFailure(renderExplanation(result.explanation!, ctx.logFile));
  return result;
}

/** Where a stage keeps its full log by default: inventory/logs/ of the checkout (private, like inventory/). */
export function defaultLogFile(checkout: string, stage: string, when: string): string {
  return join(checkout, 'inventory', 'logs', `${stage}-${when}.log`);
}
