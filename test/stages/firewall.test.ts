// firewall.ts with the real programs: Debian's ufw, only ever with --dry-run (it then changes
// nothing: docs/lab.md "ufw"; `ufw enable` is never run), and --apply/--check through the real
// `ansible` against the stand-in checkout (ansible_connection=local, become with su).
//
// Where --apply's changes land: the stage's test switches make every ufw change run as
// `ufw --datadir=SANDBOX --dry-run …`, SANDBOX being a copy of /etc/ufw and /etc/default/ufw
// with ENABLED=no. ufw's dry run prints the rules file it would write; to stand for a real run,
// the test writes that output into the sandbox itself (materialize()), so that the next --apply
// or --check reads, through real `ufw show added`, what the previous one added.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { planFromVars } from '../../checks/plan/plan.ts';
import { readVarsFile } from '../../checks/plan/load.ts';
import { LAB_DIR } from '../lab/servers/provision.ts';
import { createStandin } from '../lab/servers/standin.ts';
import type { Standin } from '../lab/servers/standin.ts';
import { allCommands, firewallRules, ruleComment } from '../../scripts/lib/firewall-rules.ts';
import type { FirewallRule } from '../../scripts/lib/firewall-rules.ts';
import { runStage, snapshot } from './helpers.ts';

const MANY = 'test/fixtures/many-services-vars.yml';
/** The files of the machine's own ufw; no test may change them. */
const UFW_FILES = ['/etc/ufw/user.rules', '/etc/ufw/user6.rules', '/etc/ufw/ufw.conf', '/etc/default/ufw'];
const machineUfw = () => UFW_FILES.map((f) => `${f} ${createHash('sha256').update(readFileSync(f)).digest('hex')}`);
let before: string[];
beforeAll(() => {
  before = machineUfw();
});
afterAll(() => {
  expect(machineUfw()).toEqual(before);
});

function ufwDryRun(args: readonly string[], datadir?: string) {
  const run = spawnSync('ufw', [...(datadir ? [`--datadir=${datadir}`] : []), '--dry-run', ...args], { encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** The iptables lines ufw --dry-run prints for an allow rule, IPv4 and IPv6. */
function expectedIptables(rule: FirewallRule): string[] {
  const match = rule.endPort === undefined ? `--dport ${rule.port}` : `-m multiport --dports ${rule.port}:${rule.endPort}`;
  return [`-A ufw-user-input -p ${rule.protocol} ${match} -j ACCEPT`, `-A ufw6-user-input -p ${rule.protocol} ${match} -j ACCEPT`];
}

describe('every generated command is accepted by the real ufw (--dry-run)', async () => {
  const plan = planFromVars(await readVarsFile(MANY));
  const rules = firewallRules(plan, 2222);
  const commands = allCommands(rules);

  it.each(rules.map((rule, i) => [commands[i]!.join(' '), rule] as const))('ufw --dry-run %s', (_line, rule) => {
    const run = ufwDryRun(commands[rules.indexOf(rule)]!);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split('\n');
    for (const line of expectedIptables(rule)) expect(lines).toContain(line);
    // The comment travels hex-encoded in ufw's rule tuple.
    expect(run.stdout).toContain(`comment=${Buffer.from(ruleComment(rule)).toString('hex')}`);
    expect(run.stdout).toMatch(/Rules updated\nRules updated \(v6\)/);
  });

  it.each([
    ['incoming', 'deny'],
    ['outgoing', 'allow'],
  ])('ufw --dry-run default … %s', (direction, policy) => {
    const run = ufwDryRun(['default', policy!, direction!]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`Default ${direction} policy changed to '${policy}'`);
    expect(commands).toContainEqual(['default', policy, direction]);
  });
});

// ---------------------------------------------------------------------------------------------

/** A copy of the machine's ufw configuration, inactive, for --datadir. Not under /tmp: ufw warns about world-writable parents. */
function ufwSandbox(): string {
  mkdirSync(LAB_DIR, { recursive: true });
  const dir = mkdtempSync(join(LAB_DIR, 'ufw-sandbox-'));
  mkdirSync(join(dir, 'etc', 'default'), { recursive: true });
  mkdirSync(join(dir, 'lib', 'ufw'), { recursive: true });
  cpSync('/etc/ufw', join(dir, 'etc', 'ufw'), { recursive: true });
  cpSync('/etc/default/ufw', join(dir, 'etc', 'default', 'ufw'));
  const conf = join(dir, 'etc', 'ufw', 'ufw.conf');
  writeFileSync(conf, readFileSync(conf, 'utf8').replace(/^ENABLED=.*$/m, 'ENABLED=no'));
  return dir;
}

/**
 * What a real `ufw ARGS` would leave in the sandbox: the rules files ufw --dry-run prints
 * (IPv4 then IPv6, each ending in COMMIT), or the policy line it says it changed.
 */
function materialize(sandbox: string, args: readonly string[]): void {
  const run = ufwDryRun(args, sandbox);
  expect(run.code, run.stderr).toBe(0);
  if (args[0] === 'default') {
    const file = join(sandbox, 'etc', 'default', 'ufw');
    const name = args[2] === 'incoming' ? 'DEFAULT_INPUT_POLICY' : 'DEFAULT_OUTPUT_POLICY';
    const value = { deny: 'DROP', allow: 'ACCEPT', reject: 'REJECT' }[args[1] as 'deny' | 'allow' | 'reject'];
    expect(run.stdout).toContain(`Default ${args[2]} policy changed to '${args[1]}'`);
    writeFileSync(file, readFileSync(file, 'utf8').replace(new RegExp(`^${name}=.*$`, 'm'), `${name}="${value}"`));
    return;
  }
  const lines = run.stdout.split('\n');
  const commits = lines.flatMap((line, i) => (line === 'COMMIT' ? [i] : []));
  expect(commits).toHaveLength(2);
  writeFileSync(join(sandbox, 'etc', 'ufw', 'user.rules'), `${lines.slice(0, commits[0]! + 1).join('\n')}\n`);
  writeFileSync(join(sandbox, 'etc', 'ufw', 'user6.rules'), `${lines.slice(commits[0]! + 1, commits[1]! + 1).join('\n')}\n`);
}

/** The ufw commands an --apply listed under "To add on …", without the test switches. */
function listedCommands(stdout: string, sandbox: string): string[][] {
  const prefix = `ufw --datadir=${sandbox} --dry-run `;
  return stdout
    .split('\n')
    .filter((l) => l.startsWith(`  ${prefix}`))
    .map((l) => {
      const words = l.trim().slice(prefix.length);
      const comment = /^(\S+ \S+(?: \S+)?) comment '([^']*)'$/.exec(words);
      return comment ? [...comment[1]!.split(' '), 'comment', comment[2]!] : words.split(' ');
    });
}

describe('firewall.ts', () => {
  const standins: Standin[] = [];
  const sandboxes: string[] = [];
  afterEach(() => {
    for (const s of standins.splice(0)) s.cleanup();
    for (const d of sandboxes.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** The stand-in checkout configured for this machine, with coturn on, and the SSH port in inventory/hosts when given. */
  async function configured(
    sshPort?: string,
  ): Promise<{ standin: Standin; sandbox: string; fw: (...args: string[]) => ReturnType<typeof runStage> }> {
    const standin = createStandin();
    standins.push(standin);
    const port = sshPort === undefined ? [] : ['--ssh-port', sshPort];
    const run = await runStage(
      'configure',
      ['--playbook', standin.checkout, '--domain', 'example.test', '--local', '--enable', 'coturn', ...port],
      standin.env,
    );
    expect(run.code, run.stderr).toBe(0);
    const sandbox = ufwSandbox();
    sandboxes.push(sandbox);
    const fw = (...args: string[]) => runStage('firewall', ['--playbook', standin.checkout, ...args], standin.env);
    return { standin, sandbox, fw };
  }
  const logsOf = (standin: Standin) => {
    const dir = join(standin.checkout, 'inventory', 'logs');
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('firewall-')) : [];
  };

  it('prints the commands of the plan with their services, SSH first, and what Docker means; writes nothing', async () => {
    const dir = mkdtempSync(join(LAB_DIR, 'fw-print-'));
    try {
      cpSync(MANY, join(dir, 'vars.yml'));
      const picture = snapshot(dir);
      const run = await runStage('firewall', ['--vars', join(dir, 'vars.yml'), '--ssh-port', '2222']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toBe('');
      const plan = planFromVars(await readVarsFile(MANY));
      const commands = run.stdout.split('\n').filter((l) => /^  ufw (allow|default) /.test(l));
      expect(commands).toEqual(
        allCommands(firewallRules(plan, 2222)).map((args) => `  ufw ${args.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}`),
      );
      expect(commands[0]).toBe("  ufw allow 2222/tcp comment 'ssh: SSH login (Ansible and you)'");
      expect(commands).toContain("  ufw allow 10000/udp comment 'jitsi: Jitsi video bridge media (RTP)'");
      expect(commands).toContain("  ufw allow 25/tcp comment 'postmoogle: SMTP: incoming mail'");
      expect(run.stdout).not.toMatch(/ufw allow 4443/);
      expect(run.stdout).toContain("Not opened: 4443/tcp (Jitsi's old TCP media fallback");
      expect(run.stdout).toContain("    80/tcp, 443/tcp, 443/udp, 8448/tcp, 8448/udp: Traefik's container");
      expect(run.stdout).toContain('For these ports a ufw "deny", and the default "deny incoming", change nothing');
      expect(snapshot(dir)).toEqual(picture);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--help shows the options, the test switches and an example', async () => {
    const run = await runStage('firewall', ['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Examples:\n {2}npx tsx scripts\/firewall\.ts --vars /);
    expect(run.stdout).toContain('--playbook DIR   the matrix-docker-ansible-deploy checkout (default ./matrix-docker-ansible-deploy)');
    expect(run.stdout).toContain('--ufw-dry-run');
    expect(run.stdout).toContain('Exit codes: 0 done, 2 failed, 3 bad input (nothing was changed).');
  });

  it.each([
    [['--vars', MANY, '--apply', '--check'], 'firewall: --apply and --check do not go together (--check only reads)'],
    [['--vars', MANY, '--ssh-port', '70000'], 'firewall: --ssh-port must be a whole number from 1 to 65535, got "70000"'],
    [['--vars', MANY, '--ufw-dry-run'], 'firewall: --ufw-dry-run and --ufw-datadir go with --apply or --check'],
    [['--vars', 'no/such/vars.yml'], 'firewall: no/such/vars.yml: file not found'],
    [['--vars', MANY, '--enable'], "firewall: Unknown option '--enable'"],
    [['--vars', MANY, 'extra'], 'firewall: unexpected argument "extra"'],
    [
      ['--playbook', '/nonexistent/mdad'],
      'firewall: --playbook /nonexistent/mdad: no such directory; get the playbook with: npx tsx scripts/prepare.ts --playbook /nonexistent/mdad --apply',
    ],
    [
      ['--vars', MANY, '--check', '--playbook', '/nonexistent/mdad'],
      'firewall: --playbook /nonexistent/mdad: no such directory; get the playbook with: npx tsx scripts/prepare.ts --playbook /nonexistent/mdad --apply',
    ],
  ])('bad input %j: one line, exit 3', async (args, line) => {
    const run = await runStage('firewall', args);
    expect(run.code).toBe(3);
    expect(run.stderr).toBe(`${line}\n`);
    expect(run.stdout).toBe('');
  });

  it('--apply refuses while the SSH port is unknown, before anything runs; --vars of another server is bad input', async () => {
    const { standin, sandbox, fw } = await configured();
    const picture = snapshot(standin.root);
    const run = await fw('--apply', '--ufw-dry-run', '--ufw-datadir', sandbox);
    expect(run.code).toBe(3);
    expect(run.stderr).toBe(
      "firewall: the SSH port of matrix.example.test is unknown (inventory/hosts sets no ansible_port for it); give it with --ssh-port N (22 is SSH's default) so that the firewall keeps your login open\n",
    );
    expect(run.stdout).toBe('');
    expect(snapshot(standin.root)).toEqual(picture);

    const other = await fw('--check', '--vars', MANY, '--ufw-dry-run', '--ufw-datadir', sandbox);
    expect(other.code).toBe(3);
    expect(other.stderr).toBe(
      `firewall: ${MANY}: matrix_domain example.org is not a server of ${join(standin.checkout, 'inventory', 'hosts')} (example.test)\n`,
    );
  });

  it('--apply adds every rule through Ansible, SSH (port from the inventory) first; a second --apply adds nothing', async () => {
    const { standin, sandbox, fw } = await configured('2222');
    const printed = await fw();
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).toContain(
      "Firewall (ufw) for example.test on matrix.example.test, from the deployment plan:\n  ufw allow 2222/tcp comment 'ssh: SSH login (Ansible and you)'\n",
    );
    const picture = snapshot(sandbox);
    const first = await fw('--apply', '--ufw-dry-run', '--ufw-datadir', sandbox);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('To add on matrix.example.test (0 rule(s) of the plan are there already):');
    const listed = listedCommands(first.stdout, sandbox);
    const plan = planFromVars(await readVarsFile(join(standin.checkout, 'inventory', 'host_vars', 'matrix.example.test', 'vars.yml')));
    const rules = firewallRules(plan, 2222);
    // The sandbox starts with Debian's policies (deny in, allow out): only the allows are missing.
    expect(listed).toEqual(rules.map((r) => allCommands([r])[0]!));
    expect(rules.map((r) => r.service)).toContain('coturn');
    expect(first.stdout).toContain('ufw on matrix.example.test is inactive: the rules take effect when you run `sudo ufw enable` there.');
    expect(first.stdout).toContain('Docker publishes these ports past ufw');
    // Ansible ran each command on the "server"; ufw's dry run printed the rules, SSH's first.
    const log = readFileSync(/Full log: (\S+)/.exec(first.stdout)![1]!, 'utf8');
    expect(log).toContain('matrix.example.test | CHANGED | rc=0 >>');
    const firstAt = (line: string) => log.indexOf(line);
    for (const rule of rules) expect(firstAt(expectedIptables(rule)[0]!), rule.service).toBeGreaterThan(0);
    expect(firstAt('--dport 2222 -j ACCEPT')).toBeLessThan(firstAt('--dport 80 -j ACCEPT'));
    expect(log).toContain('-A ufw-user-input -p udp -m multiport --dports 49152:49172 -j ACCEPT');
    expect(log).not.toContain('enable');
    expect(snapshot(sandbox)).toEqual(picture);

    // What a real run would have left, then the same --apply again: nothing to add.
    for (const args of listed) materialize(sandbox, args);
    const logs = logsOf(standin);
    const second = await fw('--apply', '--ufw-dry-run', '--ufw-datadir', sandbox);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(
      `Nothing to add: ufw on matrix.example.test has every rule of the plan (${rules.length}) and its default policies.`,
    );
    expect(listedCommands(second.stdout, sandbox)).toEqual([]);
    expect(logsOf(standin)).toEqual(logs);

    const check = await fw('--check', '--ufw-dry-run', '--ufw-datadir', sandbox);
    expect(check.code, check.stdout).toBe(0);
    expect(check.stdout).toContain(`Rules of the plan: ${rules.length} present, 0 missing.`);
  });

  it('--check shows missing and superfluous rules and a wrong policy; --apply --dry-run lists only what is missing', async () => {
    const { standin, sandbox, fw } = await configured();
    for (const args of [
      ['allow', '2222/tcp'],
      ['allow', '80/tcp', 'comment', 'web'],
      ['allow', '4443/tcp'],
      ['default', 'allow', 'incoming'],
    ])
      materialize(sandbox, args);
    const check = await fw('--check', '--ssh-port', '2222', '--ufw-dry-run', '--ufw-datadir', sandbox);
    expect(check.code).toBe(2);
    expect(check.stdout).toContain('ufw on matrix.example.test is inactive (default incoming allow, outgoing allow)');
    expect(check.stdout).toContain('policy incoming  is allow, the plan wants deny   -> ufw default deny incoming');
    expect(check.stdout).toMatch(/present {5}2222\/tcp {9}ssh: SSH login/);
    expect(check.stdout).toMatch(/present {5}80\/tcp {11}traefik: HTTP/);
    expect(check.stdout).toMatch(/MISSING {5}49152:49172\/udp {2}coturn: TURN relay range/);
    expect(check.stdout).toContain(
      "SUPERFLUOUS ufw allow 4443/tcp (Jitsi's old TCP media fallback: MDAD's Jitsi role no longer has it)   -> ufw delete allow 4443/tcp",
    );
    expect(check.stdout).toContain('Add what is missing: npx tsx scripts/firewall.ts');

    const picture = snapshot(standin.root);
    const dry = await fw('--apply', '--dry-run', '--ssh-port', '2222', '--ufw-dry-run', '--ufw-datadir', sandbox);
    expect(dry.code, dry.stderr).toBe(0);
    const listed = listedCommands(dry.stdout, sandbox);
    expect(listed.map((a) => a[1])).not.toContain('2222/tcp');
    expect(listed.map((a) => a[1])).not.toContain('80/tcp');
    expect(listed.at(-1)).toEqual(['default', 'deny', 'incoming']);
    expect(dry.stdout).toContain('To add on matrix.example.test (2 rule(s) of the plan are there already):');
    expect(dry.stdout).toMatch(
      /Would run:\n {2}cd \S+ && ANSIBLE_NOCOLOR=1 ansible -i inventory\/hosts matrix\.example\.test --become -m ansible\.builtin\.shell -a /,
    );
    expect(dry.stdout).toContain('Dry run: nothing was changed.');
    expect(logsOf(standin)).toEqual([]);
    expect(snapshot(standin.root)).toEqual(picture);

    const apply = await fw('--apply', '--ssh-port', '2222', '--ufw-dry-run', '--ufw-datadir', sandbox);
    expect(apply.code, apply.stderr).toBe(0);
    const log = readFileSync(/Full log: (\S+)/.exec(apply.stdout)![1]!, 'utf8');
    expect(log).toContain("Default incoming policy changed to 'deny'");
    expect(log).not.toContain('--dport 80 -j ACCEPT\n### tuple');
    expect(apply.stdout).toContain(
      'Rules beyond the plan were left alone; remove them if nothing else needs them:\n  ufw delete allow 4443/tcp',
    );
  });
});
