// The firewall rules of a plan, pure: every port of every service of the catalogue, SSH first,
// the Docker-published ports, and the comparison with what a server's ufw has (which makes
// --apply idempotent). Real ufw runs these commands in test/stages/firewall.test.ts.
import { describe, expect, it } from 'vitest';
import { planFromVars } from '../../checks/plan/plan.ts';
import { SERVICES } from '../../checks/plan/services.ts';
import {
  allCommands,
  allowArgs,
  BINDERS,
  compareFirewall,
  deleteArgs,
  dockerExplanation,
  firewallRules,
  missingCommands,
  parseAddedLine,
  parseShowAdded,
  parseState,
  portSpec,
  readStateScript,
  renderCommands,
  renderComparison,
  ruleComment,
  sshProblem,
} from '../../scripts/lib/firewall-rules.ts';
import type { FirewallRule, UfwState } from '../../scripts/lib/firewall-rules.ts';

const BASE = {
  matrix_domain: 'example.org',
  matrix_homeserver_implementation: 'synapse',
  matrix_homeserver_generic_secret_key: 'a-generic-secret-for-the-tests',
  matrix_playbook_reverse_proxy_type: 'playbook-managed-traefik',
};

/** Every switch of the catalogue on (the reverse proxy type decides traefik versus your own proxy). */
function everyService(reverseProxy = 'playbook-managed-traefik'): Record<string, unknown> {
  const vars: Record<string, unknown> = { ...BASE, matrix_playbook_reverse_proxy_type: reverseProxy };
  for (const def of SERVICES) {
    if (!['matrix_homeserver_implementation', 'matrix_playbook_reverse_proxy_type'].includes(def.enabledBy)) vars[def.enabledBy] = true;
  }
  return vars;
}

const key = (r: { port: number; endPort?: number; protocol: string }) => `${r.port}${r.endPort ? `-${r.endPort}` : ''}/${r.protocol}`;
const emptyState = (over: Partial<UfwState> = {}): UfwState => ({
  installed: true,
  active: false,
  incoming: 'deny',
  outgoing: 'allow',
  added: [],
  sshdPorts: [],
  ...over,
});
/** A ufw that has exactly these rules, as `ufw show added` prints them. */
const stateWith = (rules: readonly FirewallRule[], over: Partial<UfwState> = {}): UfwState =>
  emptyState({
    added: parseShowAdded(rules.map((r) => `ufw ${allowArgs(r).slice(0, 2).join(' ')} comment '${ruleComment(r)}'`).join('\n')),
    ...over,
  });

describe('firewallRules: the port table of every service', () => {
  // Federation off is the third: the LiveKit JWT service then needs 8448 for itself (docs/playbook.md "Firewall ports").
  const named = [
    ['playbook-managed Traefik', planFromVars(everyService())],
    ['own reverse proxy', planFromVars(everyService('none'))],
    ['federation off', planFromVars({ ...everyService(), matrix_homeserver_federation_enabled: false })],
  ] as const;
  const plans = named.map(([, plan]) => plan);

  it('the plans enable every service of the catalogue', () => {
    const enabled = new Set(plans.flatMap((p) => p.services.filter((s) => s.enabled).map((s) => s.id)));
    expect([...enabled].sort()).toEqual(SERVICES.map((s) => s.id).sort());
  });

  it.each(named)('%s: one rule per port of plan.ports, SSH first', (_name, plan) => {
    const rules = firewallRules(plan, 2222);
    expect(rules[0]).toMatchObject({ port: 2222, protocol: 'tcp', service: 'ssh', binder: { kind: 'host', name: 'sshd' } });
    expect(rules.slice(1).map(key)).toEqual(plan.ports.map(key));
    for (const [i, spec] of plan.ports.entries()) expect(rules[i + 1]).toMatchObject({ service: spec.service, purpose: spec.purpose });
  });

  it('covers every service that has ports in the catalogue, each with a known binder', () => {
    const withPorts = SERVICES.filter((s) => (s.ports ?? []).length > 0)
      .map((s) => s.id)
      .sort();
    const covered = new Set(plans.flatMap((p) => firewallRules(p, 22).map((r) => r.service)));
    for (const id of withPorts) expect(covered.has(id), id).toBe(true);
    expect(Object.keys(BINDERS).sort()).toEqual(withPorts);
  });

  it('has the ports of the MDAD table (docs/playbook.md "Firewall ports"), and never the obsolete 4443/tcp', () => {
    const specs = firewallRules(plans[0]!, 22).map(portSpec);
    expect(specs).toEqual([
      '22/tcp',
      '25/tcp',
      '80/tcp',
      '443/tcp',
      '443/udp',
      '587/tcp',
      '3478/tcp',
      '3478/udp',
      '3479/udp',
      '5349/tcp',
      '5349/udp',
      '5350/tcp',
      '7881/tcp',
      '7882/udp',
      '8448/tcp',
      '8448/udp',
      '10000/udp',
      '30000:30020/udp',
      '49152:49172/udp',
    ]);
    expect(specs.join(' ')).not.toContain('4443');
    expect(renderCommands(firewallRules(plans[0]!, 22), true)).not.toContain('4443');
  });

  it("coturn's ports and relay range only with coturn on; the SSH port left out when unknown", () => {
    const plain = firewallRules(planFromVars(BASE), undefined);
    expect(plain.map(portSpec)).toEqual(['80/tcp', '443/tcp', '443/udp', '8448/tcp', '8448/udp']);
    const coturn = firewallRules(
      planFromVars({ ...BASE, coturn_enabled: true, coturn_turn_udp_min_port: 50000, coturn_turn_udp_max_port: 50100 }),
      undefined,
    );
    expect(coturn.filter((r) => r.service === 'coturn').map(portSpec)).toEqual([
      '3478/tcp',
      '3478/udp',
      '5349/tcp',
      '5349/udp',
      '50000:50100/udp',
    ]);
    expect(renderCommands(plain, false).split('\n')[0]).toContain('the SSH port is unknown: give --ssh-port N');
  });

  it('same input, same output', () => {
    const a = firewallRules(planFromVars(everyService()), 22);
    const b = firewallRules(planFromVars(everyService()), 22);
    expect(b).toEqual(a);
    expect(renderCommands(b, true)).toBe(renderCommands(a, true));
    expect(dockerExplanation(b)).toBe(dockerExplanation(a));
  });

  it('commands: one allow per rule with the service in the comment, then deny incoming and allow outgoing', () => {
    const rules = firewallRules(planFromVars({ ...BASE, coturn_enabled: true }), 22);
    const commands = allCommands(rules);
    expect(commands[0]).toEqual(['allow', '22/tcp', 'comment', 'ssh: SSH login (Ansible and you)']);
    expect(commands).toContainEqual(['allow', '8448/tcp', 'comment', 'federation: federation (server-server API)']);
    expect(commands).toContainEqual(['allow', '49152:49172/udp', 'comment', 'coturn: TURN relay range']);
    expect(commands.slice(-2)).toEqual([
      ['default', 'deny', 'incoming'],
      ['default', 'allow', 'outgoing'],
    ]);
    expect(commands).toHaveLength(rules.length + 2);
  });
});

describe('Docker publishes ports past ufw', () => {
  it("with the playbook's Traefik: Traefik's, coturn's, Jitsi's, LiveKit's and Postmoogle's ports are Docker's; SSH is the host's", () => {
    const text = dockerExplanation(firewallRules(planFromVars(everyService()), 22));
    expect(text).toContain("80/tcp, 443/tcp, 443/udp, 8448/tcp, 8448/udp: Traefik's container");
    expect(text).toContain("3478/tcp, 3478/udp, 5349/tcp, 5349/udp, 49152:49172/udp: coturn's container");
    expect(text).toContain("10000/udp: Jitsi's video bridge container");
    expect(text).toContain("3479/udp, 5350/tcp, 7881/tcp, 7882/udp, 30000:30020/udp: LiveKit's container");
    expect(text).toContain("25/tcp, 587/tcp: Postmoogle's container");
    expect(text).toContain('a ufw "deny", and the default "deny incoming", change nothing');
    expect(text).toMatch(/ufw does filter the ports of programs on the host itself:\n {4}22\/tcp: sshd/);
  });

  it('without it: 80, 443 and 8448 belong to your own reverse proxy, which ufw filters', () => {
    const rules = firewallRules(planFromVars({ ...BASE, matrix_playbook_reverse_proxy_type: 'none' }), 22);
    expect(rules.every((r) => r.binder.kind === 'host')).toBe(true);
    const text = dockerExplanation(rules);
    expect(text).toContain('None of these ports is published by a Docker container');
    expect(text).toContain('80/tcp, 443/tcp, 8448/tcp: your own reverse proxy');
  });
});

describe('what the server has: `ufw show added`', () => {
  it('reads the forms ufw prints, and leaves others unjudged', () => {
    const added = parseShowAdded(`Added user rules (see 'ufw status' for running firewall):
ufw allow 8448/tcp comment 'federation: federation (server-server API)'
ufw allow 49152:49172/udp
ufw limit 22/tcp
ufw allow 3478
ufw allow 80,443/tcp
ufw allow in to any port 10000 proto udp
ufw allow OpenSSH
ufw deny 4443/tcp
ufw allow from 10.0.0.0/8 to any port 9000
ufw route allow in on eth0 out on docker0`);
    expect(added.map((a) => [a.action, a.ranges, a.protocol])).toEqual([
      ['allow', [{ port: 8448 }], 'tcp'],
      ['allow', [{ port: 49152, endPort: 49172 }], 'udp'],
      ['limit', [{ port: 22 }], 'tcp'],
      ['allow', [{ port: 3478 }], 'any'],
      ['allow', [{ port: 80 }, { port: 443 }], 'tcp'],
      ['allow', [{ port: 10000 }], 'udp'],
      ['allow', [{ port: 22 }], 'tcp'],
      ['deny', [{ port: 4443 }], 'tcp'],
      [undefined, undefined, undefined],
      [undefined, undefined, undefined],
    ]);
    expect(added[0]!.comment).toBe('federation: federation (server-server API)');
    expect(parseShowAdded("Added user rules (see 'ufw status' for running firewall):\n(None)\n")).toEqual([]);
  });

  it('a rule for both protocols or a wider range covers the plan; a deny does not', () => {
    const rules = firewallRules(planFromVars({ ...BASE, coturn_enabled: true }), 22);
    const state = emptyState({
      added: parseShowAdded(
        ['ufw allow 22/tcp', 'ufw allow 3478', 'ufw allow 49000:50000/udp', 'ufw deny 8448/tcp', 'ufw allow 5349/tcp'].join('\n'),
      ),
    });
    const c = compareFirewall(rules, state);
    expect(c.present.map(portSpec)).toEqual(['22/tcp', '3478/tcp', '3478/udp', '5349/tcp', '49152:49172/udp']);
    expect(c.missing.map(portSpec)).toEqual(['80/tcp', '443/tcp', '443/udp', '5349/udp', '8448/tcp', '8448/udp']);
    expect(c.superfluous).toEqual([]);
  });
});

describe('compareFirewall and --apply: only what is missing', () => {
  const plan = planFromVars(everyService());
  const rules = firewallRules(plan, 2222);

  it('a server with every rule and the policies: nothing to run (the second --apply adds nothing)', () => {
    const c = compareFirewall(rules, stateWith(rules));
    expect(c.missing).toEqual([]);
    expect(c.present).toEqual(rules);
    expect(missingCommands(c)).toEqual([]);
  });

  it('a fresh server: every allow, SSH first, and no policy already right', () => {
    const commands = missingCommands(compareFirewall(rules, emptyState()));
    expect(commands).toEqual(rules.map(allowArgs));
    expect(commands[0]).toEqual(['allow', '2222/tcp', 'comment', 'ssh: SSH login (Ansible and you)']);
  });

  it('part of the rules and a wrong policy: the missing allows, then the policy; leftovers listed with their delete', () => {
    const state = emptyState({
      incoming: 'allow',
      added: parseShowAdded('ufw allow 2222/tcp\nufw allow 80/tcp\nufw allow 4443/tcp\nufw allow 9999/udp'),
    });
    const c = compareFirewall(rules, state);
    const commands = missingCommands(c);
    expect(commands.map((a) => a.slice(0, 2).join(' '))).not.toContain('allow 80/tcp');
    expect(commands.map((a) => a[1])).not.toContain('2222/tcp');
    expect(commands).toHaveLength(rules.length - 2 + 1);
    expect(commands.at(-1)).toEqual(['default', 'deny', 'incoming']);
    expect(c.superfluous.map((a) => a.line)).toEqual(['ufw allow 4443/tcp', 'ufw allow 9999/udp']);
    expect(deleteArgs(c.superfluous[0]!)).toEqual(['delete', 'allow', '4443/tcp']);
    const text = renderComparison('matrix.example.org', state, c, true);
    expect(text).toContain(
      "ufw allow 4443/tcp (Jitsi's old TCP media fallback: MDAD's Jitsi role no longer has it)   -> ufw delete allow 4443/tcp",
    );
    expect(text).toContain('policy incoming  is allow, the plan wants deny   -> ufw default deny incoming');
    expect(text).toContain(`Rules of the plan: 2 present, ${rules.length - 2} missing.`);
  });

  it('a comment is not part of the identity: `ufw delete` without it', () => {
    expect(deleteArgs(parseAddedLine("ufw allow 4443/tcp comment 'jitsi tcp'"))).toEqual(['delete', 'allow', '4443/tcp']);
  });
});

describe('the SSH port: never a firewall without the way back in', () => {
  it('unknown: refused with the fix', () => {
    expect(sshProblem(undefined, 'matrix.example.org', [])).toBe(
      "the SSH port of matrix.example.org is unknown (inventory/hosts sets no ansible_port for it); give it with --ssh-port N (22 is SSH's default) so that the firewall keeps your login open",
    );
  });
  it('not one sshd listens on: refused', () => {
    expect(sshProblem(22, 'matrix.example.org', [2222])).toContain('sshd on matrix.example.org listens on 2222, not on 22');
  });
  it('known, and sshd listens on it or its ports are unknown: fine', () => {
    expect(sshProblem(2222, 'h', [22, 2222])).toBeUndefined();
    expect(sshProblem(22, 'h', [])).toBeUndefined();
  });
});

describe('reading the state through Ansible', () => {
  it('parses the read-out between the lines Ansible adds', () => {
    const script = readStateScript({ dryRun: true, datadir: '/srv/ufw' });
    expect(script).toContain('ufw --datadir=/srv/ufw --dry-run show added');
    expect(script).toContain('cat /srv/ufw/etc/default/ufw');
    const output = `[WARNING]: Platform linux on host matrix.example.org is using the discovered Python interpreter
matrix.example.org | CHANGED | rc=0 >>
### firewall-stage: installed
yes
### firewall-stage: ufw.conf
# /etc/ufw/ufw.conf
ENABLED=yes
LOGLEVEL=low
### firewall-stage: default
IPV6=yes
DEFAULT_INPUT_POLICY="DROP"
DEFAULT_OUTPUT_POLICY="ACCEPT"
### firewall-stage: added
Added user rules (see 'ufw status' for running firewall):
ufw allow 22/tcp comment 'ssh: SSH login'
### firewall-stage: sshd
LISTEN 0      128          0.0.0.0:22        0.0.0.0:*    users:(("sshd",pid=612,fd=3))
LISTEN 0      128             [::]:22           [::]:*    users:(("sshd",pid=612,fd=4))`;
    expect(parseState(output)).toEqual({
      installed: true,
      active: true,
      incoming: 'deny',
      outgoing: 'allow',
      added: [
        {
          line: "ufw allow 22/tcp comment 'ssh: SSH login'",
          action: 'allow',
          ranges: [{ port: 22 }],
          protocol: 'tcp',
          comment: 'ssh: SSH login',
        },
      ],
      sshdPorts: [22],
    });
  });

  it('ufw missing, inactive, no sshd', () => {
    const state = parseState(
      'h | CHANGED | rc=0 >>\n### firewall-stage: installed\nno\n### firewall-stage: ufw.conf\n### firewall-stage: default\n### firewall-stage: added\n### firewall-stage: sshd\n',
    );
    expect(state).toEqual({ installed: false, active: false, added: [], sshdPorts: [] });
  });

  it('output without the read-out is an error, not an empty firewall', () => {
    expect(() => parseState('h | UNREACHABLE! => {}')).toThrow('does not hold the firewall read-out');
  });
});
