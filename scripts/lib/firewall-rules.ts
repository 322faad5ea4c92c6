// The firewall of a deployment plan (docs/playbook.md "Firewall ports") as ufw commands, what a server's ufw already
// has, and which ports Docker publishes past ufw (docs/failure-modes.md "Docker bypasses ufw"). Pure: the firewall
// stage gathers and runs through Ansible, this module decides.
import { splitWords } from '../../checks/plan/inventory.ts';
import type { Plan } from '../../checks/plan/types.ts';
import { shellQuote, showCommand } from './commands.ts';
import type { Command } from './commands.ts';

export type Protocol = 'tcp' | 'udp';

/** Who binds a port on the server: a container whose port Docker publishes, or a program on the host. */
export interface Binder {
  kind: 'docker' | 'host';
  name: string;
}

export interface FirewallRule {
  port: number;
  /** Last port of a range, inclusive. */
  endPort?: number;
  protocol: Protocol;
  /** The plan's service id, or 'ssh'. */
  service: string;
  purpose: string;
  binder: Binder;
}

const TRAEFIK: Binder = { kind: 'docker', name: "Traefik's container" };
const OWN_PROXY: Binder = { kind: 'host', name: 'your own reverse proxy' };

/**
 * Who binds each service's ports with MDAD's defaults: every container publishes its ports with
 * `docker run -p` (Traefik's entrypoints, coturn's *_host_bind_port, the Jitsi video bridge,
 * LiveKit's RTC and TURN ports, Postmoogle's SMTP ports). Without the playbook's Traefik, 80, 443
 * and 8448 are your own web server's.
 */
export const BINDERS: Readonly<Record<string, (plan: Plan) => Binder>> = {
  traefik: () => TRAEFIK,
  'reverse-proxy': () => OWN_PROXY,
  federation: (plan) => (traefikManaged(plan) ? TRAEFIK : OWN_PROXY),
  'livekit-jwt-service': (plan) => (traefikManaged(plan) ? TRAEFIK : OWN_PROXY),
  coturn: () => ({ kind: 'docker', name: "coturn's container" }),
  jitsi: () => ({ kind: 'docker', name: "Jitsi's video bridge container" }),
  'matrix-rtc': () => ({ kind: 'docker', name: "LiveKit's container" }),
  postmoogle: () => ({ kind: 'docker', name: "Postmoogle's container" }),
};

function traefikManaged(plan: Plan): boolean {
  return plan.services.some((s) => s.id === 'traefik' && s.enabled);
}

export const SSH_SERVICE = 'ssh';

/** Ports that 2024-era guides open and today's MDAD does not use. */
export const OBSOLETE_PORTS: Readonly<Record<string, string>> = {
  '4443/tcp': "Jitsi's old TCP media fallback: MDAD's Jitsi role no longer has it",
};

/**
 * Every port of every enabled service, one rule each, in the plan's order; the SSH port first
 * when it is known, so that it is in place before anything else.
 */
export function firewallRules(plan: Plan, sshPort: number | undefined): FirewallRule[] {
  const rules: FirewallRule[] = [];
  if (sshPort !== undefined) {
    rules.push({
      port: sshPort,
      protocol: 'tcp',
      service: SSH_SERVICE,
      purpose: 'SSH login (Ansible and you)',
      binder: { kind: 'host', name: 'sshd' },
    });
  }
  for (const spec of plan.ports) {
    const rule: FirewallRule = {
      port: spec.port,
      protocol: spec.protocol,
      service: spec.service,
      purpose: spec.purpose,
      binder: BINDERS[spec.service]?.(plan) ?? { kind: 'docker', name: `${spec.service}'s container` },
    };
    if (spec.endPort !== undefined) rule.endPort = spec.endPort;
    if (!rules.some((r) => portSpec(r) === portSpec(rule))) rules.push(rule);
  }
  return rules;
}

/** ufw's port notation: 8448/tcp, 49152:49172/udp. */
export function portSpec(rule: Pick<FirewallRule, 'port' | 'endPort' | 'protocol'>): string {
  return `${rule.port}${rule.endPort !== undefined ? `:${rule.endPort}` : ''}/${rule.protocol}`;
}

/** The rule's comment in ufw: the service and what the port is for, in characters ufw shows as typed. */
export function ruleComment(rule: FirewallRule): string {
  return `${rule.service}: ${rule.purpose}`.replace(/[^A-Za-z0-9 .,:/()+_-]/g, '');
}

// ---------------------------------------------------------------------------------------------
// ufw commands

/** Test switches: ufw's own --dry-run, and --datadir (its configuration under DIR instead of /). */
export interface UfwOptions {
  dryRun?: boolean;
  datadir?: string;
}

/** The ufw command for some ufw arguments. ufw reads --dry-run only right after the program. */
export function ufwCommand(args: readonly string[], o: UfwOptions = {}): Command {
  return { program: 'ufw', args: [...(o.datadir ? [`--datadir=${o.datadir}`] : []), ...(o.dryRun ? ['--dry-run'] : []), ...args] };
}

/** The ufw command as a shell line. */
export function ufwLine(args: readonly string[], o: UfwOptions = {}): string {
  return showCommand(ufwCommand(args, o));
}

export function allowArgs(rule: FirewallRule): string[] {
  return ['allow', portSpec(rule), 'comment', ruleComment(rule)];
}

export type PolicyDirection = 'incoming' | 'outgoing';
export type Policy = 'allow' | 'deny' | 'reject';

/** What the plan wants: nothing comes in unless allowed, everything may go out. */
export const WANTED_POLICIES: ReadonlyArray<{ direction: PolicyDirection; policy: Policy }> = [
  { direction: 'incoming', policy: 'deny' },
  { direction: 'outgoing', policy: 'allow' },
];

export function policyArgs(p: { direction: PolicyDirection; policy: Policy }): string[] {
  return ['default', p.policy, p.direction];
}

/** Every command of the plan, for a server whose ufw has nothing yet: the allows (SSH first), then the policies. */
export function allCommands(rules: readonly FirewallRule[]): string[][] {
  return [...rules.map(allowArgs), ...WANTED_POLICIES.map(policyArgs)];
}

// ---------------------------------------------------------------------------------------------
// What the server's ufw has

export interface PortRange {
  port: number;
  endPort?: number;
}

/** One line of `ufw show added`. Fields are absent when this module does not read that form. */
export interface AddedRule {
  /** The line as ufw prints it: "ufw allow 8448/tcp comment 'federation: …'". */
  line: string;
  action?: 'allow' | 'limit' | 'deny' | 'reject';
  ranges?: PortRange[];
  protocol?: Protocol | 'any';
  comment?: string;
}

export interface UfwState {
  installed: boolean;
  /** ENABLED=yes in ufw.conf: the rules are in force. */
  active: boolean;
  incoming?: Policy;
  outgoing?: Policy;
  added: AddedRule[];
  /** TCP ports sshd listens on (empty when unknown, e.g. socket activation or no sshd). */
  sshdPorts: number[];
}

const ACTIONS = new Set(['allow', 'limit', 'deny', 'reject']);
/** ufw application profiles that name a fixed port (Debian's openssh-server ships OpenSSH). */
const APP_PORTS: Readonly<Record<string, { ranges: PortRange[]; protocol: Protocol }>> = {
  OpenSSH: { ranges: [{ port: 22 }], protocol: 'tcp' },
};

function parsePorts(text: string): PortRange[] | undefined {
  const ranges: PortRange[] = [];
  for (const part of text.split(',')) {
    const m = /^(\d{1,5})(?::(\d{1,5}))?$/.exec(part);
    if (!m) return undefined;
    ranges.push(m[2] ? { port: Number(m[1]), endPort: Number(m[2]) } : { port: Number(m[1]) });
  }
  return ranges;
}

/** "80,443/tcp", "3478", "OpenSSH" → ports and protocol; undefined for anything else. */
function parseTarget(spec: string, proto: string | undefined): Pick<AddedRule, 'ranges' | 'protocol'> | undefined {
  const app = APP_PORTS[spec];
  if (app && proto === undefined) return { ranges: app.ranges, protocol: app.protocol };
  const slash = spec.lastIndexOf('/');
  const ports = slash >= 0 ? spec.slice(0, slash) : spec;
  const protocol = slash >= 0 ? spec.slice(slash + 1) : (proto ?? 'any');
  const ranges = parsePorts(ports);
  if (!ranges || !['tcp', 'udp', 'any'].includes(protocol)) return undefined;
  return { ranges, protocol: protocol as Protocol | 'any' };
}

/**
 * One `ufw show added` line. Read: `ACTION [in] PORTS[/PROTO]`, `ACTION [in] APP` and
 * `ACTION [in] [from any] to any port PORTS [proto PROTO]`, each with an optional comment.
 * Other forms (addresses, interfaces, routes, out) keep only `line`: they are not judged.
 */
export function parseAddedLine(line: string): AddedRule {
  const rule: AddedRule = { line };
  let words: string[];
  try {
    words = splitWords(line);
  } catch {
    return rule;
  }
  const at = words.indexOf('comment');
  if (at >= 0) {
    if (words[at + 1] !== undefined) rule.comment = words[at + 1];
    words = words.slice(0, at);
  }
  if (words[0] !== 'ufw' || !ACTIONS.has(words[1] ?? '')) return rule;
  let rest = words.slice(2);
  if (rest[0] === 'in') rest = rest.slice(1);
  let target: Pick<AddedRule, 'ranges' | 'protocol'> | undefined;
  if (rest.length === 1) target = parseTarget(rest[0]!, undefined);
  else {
    const to = rest.join(' ').replace(/^from any /, '');
    const m = /^to any port (\S+)(?: proto (tcp|udp))?$/.exec(to);
    if (m) target = parseTarget(m[1]!, m[2]);
  }
  if (!target) return rule;
  return { ...rule, action: words[1] as AddedRule['action'], ...target };
}

/** The rules of `ufw show added` ("(None)" and the heading are skipped). */
export function parseShowAdded(text: string): AddedRule[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('ufw '))
    .map(parseAddedLine);
}

const POLICY_WORDS: Readonly<Record<string, Policy>> = { DROP: 'deny', ACCEPT: 'allow', REJECT: 'reject' };

/** DEFAULT_INPUT_POLICY / DEFAULT_OUTPUT_POLICY of /etc/default/ufw. */
export function parseDefaults(text: string): Pick<UfwState, 'incoming' | 'outgoing'> {
  const read = (name: string): Policy | undefined => {
    const m = new RegExp(`^${name}="?([A-Z]+)"?\\s*$`, 'm').exec(text);
    return m ? POLICY_WORDS[m[1]!] : undefined;
  };
  const out: Pick<UfwState, 'incoming' | 'outgoing'> = {};
  const incoming = read('DEFAULT_INPUT_POLICY');
  const outgoing = read('DEFAULT_OUTPUT_POLICY');
  if (incoming) out.incoming = incoming;
  if (outgoing) out.outgoing = outgoing;
  return out;
}

/** Listening ports of sshd in `ss -Htlnp` lines. */
export function parseSshdPorts(text: string): number[] {
  const ports = new Set<number>();
  for (const line of text.split('\n')) {
    if (!line.includes('"sshd"')) continue;
    const local = line.trim().split(/\s+/)[3];
    const m = local ? /:(\d{1,5})$/.exec(local) : null;
    if (m) ports.add(Number(m[1]));
  }
  return [...ports].sort((a, b) => a - b);
}

// The script that reads a server's ufw state in one Ansible call, and its output.
const MARK = '### firewall-stage: ';
const SECTIONS = ['installed', 'ufw.conf', 'default', 'added', 'sshd'] as const;
type Section = (typeof SECTIONS)[number];

/**
 * A read-only shell script: is ufw installed, its configuration files, its added rules (with
 * --dry-run, so that ufw takes no lock and can change nothing), and sshd's listening ports.
 */
export function readStateScript(o: UfwOptions = {}): string {
  const root = o.datadir ?? '';
  const section = (name: Section, ...lines: string[]) => [`echo '${MARK}${name}'`, ...lines];
  return [
    'exec 2>&1',
    ...section('installed', 'if command -v ufw >/dev/null; then echo yes; else echo no; fi'),
    ...section('ufw.conf', `cat ${shellQuote(`${root}/etc/ufw/ufw.conf`)} || true`),
    ...section('default', `cat ${shellQuote(`${root}/etc/default/ufw`)} || true`),
    ...section('added', `if command -v ufw >/dev/null; then ${ufwLine(['show', 'added'], { ...o, dryRun: true })}; fi`),
    ...section('sshd', `ss -Htlnp 2>/dev/null | grep '"sshd"' || true`),
  ].join('\n');
}

/** The state from the output of readStateScript (other lines, e.g. Ansible's, are ignored). */
export function parseState(output: string): UfwState {
  const parts: Partial<Record<Section, string>> = {};
  let current: Section | undefined;
  for (const line of output.split('\n')) {
    if (line.startsWith(MARK)) {
      const name = line.slice(MARK.length).trim() as Section;
      current = SECTIONS.includes(name) ? name : undefined;
      continue;
    }
    if (current) parts[current] = `${parts[current] ?? ''}${line}\n`;
  }
  if (parts.installed === undefined) throw new Error('the output does not hold the firewall read-out');
  return {
    installed: parts.installed.trim().split('\n')[0] === 'yes',
    active: /^ENABLED=yes\s*$/m.test(parts['ufw.conf'] ?? ''),
    ...parseDefaults(parts.default ?? ''),
    added: parseShowAdded(parts.added ?? ''),
    sshdPorts: parseSshdPorts(parts.sshd ?? ''),
  };
}

// ---------------------------------------------------------------------------------------------
// Plan against server

function covers(added: AddedRule, rule: FirewallRule): boolean {
  if ((added.action !== 'allow' && added.action !== 'limit') || !added.ranges) return false;
  if (added.protocol !== 'any' && added.protocol !== rule.protocol) return false;
  const end = rule.endPort ?? rule.port;
  return added.ranges.some((r) => r.port <= rule.port && (r.endPort ?? r.port) >= end);
}

export interface Comparison {
  present: FirewallRule[];
  missing: FirewallRule[];
  /** Allow rules that open nothing the plan needs. */
  superfluous: AddedRule[];
  /** Rules in forms this stage does not read. */
  unjudged: AddedRule[];
  /** Default policies that differ from WANTED_POLICIES. */
  policies: Array<{ direction: PolicyDirection; policy: Policy; current?: Policy }>;
}

export function compareFirewall(rules: readonly FirewallRule[], state: UfwState): Comparison {
  const present = rules.filter((r) => state.added.some((a) => covers(a, r)));
  return {
    present,
    missing: rules.filter((r) => !present.includes(r)),
    superfluous: state.added.filter((a) => (a.action === 'allow' || a.action === 'limit') && a.ranges && !rules.some((r) => covers(a, r))),
    unjudged: state.added.filter((a) => a.action === undefined),
    policies: WANTED_POLICIES.flatMap((p) => {
      const current = state[p.direction];
      if (current === p.policy) return [];
      return [current === undefined ? { ...p } : { ...p, current }];
    }),
  };
}

/** What --apply runs: only what is missing, the allows (SSH first) before the policies. */
export function missingCommands(c: Comparison): string[][] {
  return [...c.missing.map(allowArgs), ...c.policies.map(policyArgs)];
}

/** `ufw delete …` for a superfluous rule (the comment is not part of a rule's identity). */
export function deleteArgs(added: AddedRule): string[] {
  const words = splitWords(added.line).slice(1);
  const at = words.indexOf('comment');
  return ['delete', ...(at >= 0 ? words.slice(0, at) : words)];
}

/** Why a superfluous rule is there, when it is a known leftover. */
export function obsoleteNote(added: AddedRule): string | undefined {
  if (!added.ranges || added.ranges.length !== 1 || added.ranges[0]!.endPort !== undefined) return undefined;
  const port = added.ranges[0]!.port;
  return OBSOLETE_PORTS[`${port}/${added.protocol}`] ?? (added.protocol === 'any' ? OBSOLETE_PORTS[`${port}/tcp`] : undefined);
}

/**
 * Whether SSH stays reachable: the port must be known, and when sshd's listening ports are
 * known, be one of them. The problem in one line, or undefined.
 */
export function sshProblem(sshPort: number | undefined, host: string, sshdPorts: readonly number[]): string | undefined {
  if (sshPort === undefined) {
    return `the SSH port of ${host} is unknown (inventory/hosts sets no ansible_port for it); give it with --ssh-port N (22 is SSH's default) so that the firewall keeps your login open`;
  }
  if (sshdPorts.length > 0 && !sshdPorts.includes(sshPort)) {
    return `sshd on ${host} listens on ${sshdPorts.join(', ')}, not on ${sshPort}: allowing only ${sshPort}/tcp could lock you out; give the port sshd uses with --ssh-port`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Docker and ufw

function joinPorts(rules: readonly FirewallRule[]): string {
  return rules.map(portSpec).join(', ');
}

/** Rules grouped by who binds them, in first-seen order. */
function byBinder(rules: readonly FirewallRule[]): Array<{ binder: Binder; rules: FirewallRule[] }> {
  const groups: Array<{ binder: Binder; rules: FirewallRule[] }> = [];
  for (const rule of rules) {
    const group = groups.find((g) => g.binder.kind === rule.binder.kind && g.binder.name === rule.binder.name);
    if (group) group.rules.push(rule);
    else groups.push({ binder: rule.binder, rules: [rule] });
  }
  return groups;
}

/** The explanation of what ufw does and does not control for these rules (docs/failure-modes.md "Docker bypasses ufw"). */
export function dockerExplanation(rules: readonly FirewallRule[]): string {
  const docker = byBinder(rules.filter((r) => r.binder.kind === 'docker'));
  const host = byBinder(rules.filter((r) => r.binder.kind === 'host'));
  const lines = ['Docker and ufw:'];
  if (docker.length === 0) {
    lines.push('  None of these ports is published by a Docker container: ufw filters all of them.');
  } else {
    lines.push(
      '  Docker publishes these ports past ufw: it writes its own iptables rules (DNAT in the nat',
      "  table, ACCEPT in its FORWARD chains), so traffic to them never reaches ufw's INPUT rules.",
    );
    for (const g of docker) lines.push(`    ${joinPorts(g.rules)}: ${g.binder.name}`);
    lines.push(
      '  For these ports a ufw "deny", and the default "deny incoming", change nothing: they stay',
      '  reachable from everywhere, and their allow rules above only record the intent. To close',
      "  one, bind it to 127.0.0.1 in vars.yml (MDAD's *_host_bind_port variables) or filter in",
      "  Docker's DOCKER-USER chain; an outside port scan shows what is really open.",
    );
  }
  if (host.length > 0) {
    lines.push('  ufw does filter the ports of programs on the host itself:');
    for (const g of host) lines.push(`    ${joinPorts(g.rules)}: ${g.binder.name}`);
  }
  lines.push('  The default "deny incoming" also protects everything else on the host that Docker does not publish.');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// What the stage prints

const pad = (text: string, width: number): string => (text.length >= width ? `${text} ` : text.padEnd(width));

/** The commands of the plan, one a line, with a placeholder where the SSH port is unknown. */
export function renderCommands(rules: readonly FirewallRule[], sshKnown: boolean): string {
  const lines = sshKnown
    ? []
    : [
        '  # ufw allow <SSH port>/tcp   <- the SSH port is unknown: give --ssh-port N (or ansible_port in inventory/hosts), and add it before ufw is enabled',
      ];
  for (const args of allCommands(rules)) lines.push(`  ${ufwLine(args)}`);
  return lines.join('\n');
}

export function renderObsolete(): string {
  return Object.entries(OBSOLETE_PORTS)
    .map(([port, why]) => `Not opened: ${port} (${why}).`)
    .join('\n');
}

function stateLine(host: string, state: UfwState): string {
  const policies = `default incoming ${state.incoming ?? 'unknown'}, outgoing ${state.outgoing ?? 'unknown'}`;
  return state.active
    ? `ufw on ${host} is active (${policies}).`
    : `ufw on ${host} is inactive (${policies}): its rules are stored but nothing is filtered until someone runs \`sudo ufw enable\` there. This stage never enables it.`;
}

/** --check: every rule of the plan, present or missing, then what the server has beyond the plan. */
export function renderComparison(host: string, state: UfwState, c: Comparison, sshKnown: boolean): string {
  const lines = [stateLine(host, state)];
  for (const p of c.policies) {
    lines.push(`  policy ${pad(p.direction, 9)} is ${p.current ?? 'unknown'}, the plan wants ${p.policy}   -> ${ufwLine(policyArgs(p))}`);
  }
  const all = [...c.present, ...c.missing].sort((a, b) => Number(c.missing.includes(a)) - Number(c.missing.includes(b)));
  lines.push(`Rules of the plan: ${c.present.length} present, ${c.missing.length} missing.`);
  for (const rule of all) {
    const missing = c.missing.includes(rule);
    lines.push(`  ${pad(missing ? 'MISSING' : 'present', 12)}${pad(portSpec(rule), 17)}${rule.service}: ${rule.purpose}`);
  }
  if (!sshKnown) lines.push('  (the SSH rule is not judged: the SSH port is unknown; give --ssh-port N)');
  if (c.superfluous.length > 0) {
    lines.push(`Beyond the plan: ${c.superfluous.length} allow rule(s) that open nothing it needs.`);
    for (const added of c.superfluous) {
      const why = obsoleteNote(added);
      lines.push(`  ${pad('SUPERFLUOUS', 12)}${added.line}${why ? ` (${why})` : ''}   -> ${ufwLine(deleteArgs(added))}`);
    }
  }
  for (const added of c.unjudged) lines.push(`  ${pad('not judged', 12)}${added.line}`);
  return lines.join('\n');
}

/** After --apply: what ufw does with the rules now, and what is left to the person. */
export function renderAfterApply(host: string, state: UfwState, c: Comparison, sshPort: number): string {
  const lines = [];
  if (!state.active) {
    lines.push(
      `ufw on ${host} is inactive: the rules take effect when you run \`sudo ufw enable\` there.`,
      `SSH (${sshPort}/tcp) is allowed first, so enabling it keeps your login open. This stage never enables ufw.`,
    );
  }
  if (c.superfluous.length > 0) {
    lines.push('Rules beyond the plan were left alone; remove them if nothing else needs them:');
    for (const added of c.superfluous) {
      const why = obsoleteNote(added);
      lines.push(`  ${ufwLine(deleteArgs(added))}${why ? `   # ${why}` : ''}`);
    }
  }
  return lines.join('\n');
}
