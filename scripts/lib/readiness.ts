// Is the control machine, and the server, ready for the playbook? Pure rules from gathered
// facts to findings (docs/playbook.md "Controller and server prerequisites", "Inventory"), and the commands `prepare --apply` runs for what is
// missing. prepare.ts gathers the facts (local programs, ssh, an Ansible fact run).
import { emit } from '../../checks/core/catalogue.ts';
import type { Finding } from '../../checks/core/finding.ts';
import { PREPARE } from '../../checks/findings/prepare.ts';
import type { InventoryHost } from '../../checks/plan/types.ts';
import type { Command } from './commands.ts';

// ---------------------------------------------------------------------------------------------
// Versions

export type Version = readonly number[];

/** "ansible-playbook [core 2.19.14]" → [2, 19, 14]; "git version 2.39.5" → [2, 39, 5]. */
export function parseVersion(text: string | undefined, marker = ''): Version | undefined {
  if (!text) return undefined;
  const m = new RegExp(`${marker}\\s*v?(\\d+(?:\\.\\d+)+)`).exec(text);
  return m ? m[1]!.split('.').map(Number) : undefined;
}

export function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const show = (v: Version): string => v.join('.');

/** docs/ansible.md: the lowest ansible-core known to work (geerlingguy.docker's minimum). */
export const MIN_ANSIBLE_CORE: Version = [2, 15, 1];
/** From this version on, forked workers lose the terminal: SSH cannot prompt (MDAD #5472). */
export const ANSIBLE_NO_PROMPT: Version = [2, 21];
/** docker_image_pull / docker_image_build. */
export const MIN_COMMUNITY_DOCKER: Version = [3, 6, 0];
/**
 * MDAD's roles call community.general.docker_network (roles/galaxy/traefik/tasks/install.yml and
 * 64 more), a redirect to community.docker that community.general has from 2.0.0 and announces
 * to remove in 18.0.0 (its meta/runtime.yml).
 */
export const MIN_COMMUNITY_GENERAL: Version = [2, 0, 0];
export const END_COMMUNITY_GENERAL: Version = [18, 0, 0];
/** community.general's requires_ansible (meta/runtime.yml): 11.x needs core 2.16, 12.x 2.17, 13.x 2.18. */
const COMMUNITY_GENERAL_FOR_CORE: ReadonlyArray<readonly [core: Version, below: Version]> = [
  [[2, 18], END_COMMUNITY_GENERAL],
  [
    [2, 17],
    [13, 0, 0],
  ],
  [
    [2, 16],
    [12, 0, 0],
  ],
  [
    [2, 15],
    [11, 0, 0],
  ],
];

/** The community.general versions that work with this ansible-core and keep the redirect MDAD uses. */
export function communityGeneralRange(core: Version | undefined): string {
  const below = COMMUNITY_GENERAL_FOR_CORE.find(([min]) => core === undefined || compareVersions(core, min) >= 0)?.[1] ?? [11, 0, 0];
  return `community.general:>=${show(MIN_COMMUNITY_GENERAL)},<${show(below)}`;
}

// ---------------------------------------------------------------------------------------------
// The control machine

export interface ControlFacts {
  /** Output of `git --version`, `python3 --version`, `ansible-playbook --version`; undefined when missing. */
  git?: string;
  python?: string;
  ansible?: string;
  /** Versions of the community.docker and community.general collections Ansible sees, undefined when none. */
  communityDocker?: string;
  communityGeneral?: string;
  just: boolean;
  agru: boolean;
  /** Some inventory host is reached over SSH (not ansible_connection=local). */
  usesSsh: boolean;
}

export function controlFindings(c: ControlFacts): Finding[] {
  const findings: Finding[] = [];
  findings.push(
    c.git
      ? emit(PREPARE.controlGit, 'pass', { detail: c.git.trim() })
      : emit(PREPARE.controlGit, 'fail', {
          detail: 'git is not installed; the playbook is fetched and updated with it',
          fix: 'apt-get install git (prepare.ts --apply does it)',
        }),
  );
  findings.push(
    c.python
      ? emit(PREPARE.controlPython, 'pass', { detail: c.python.trim() })
      : emit(PREPARE.controlPython, 'fail', { detail: 'python3 is not installed; Ansible runs on it', fix: 'apt-get install python3' }),
  );
  const ansible = parseVersion(c.ansible, 'core');
  if (!ansible) {
    findings.push(
      emit(PREPARE.controlAnsible, 'fail', {
        detail: 'ansible-playbook is not installed (or not on PATH)',
        fix: "pipx install ansible-core (prepare.ts --apply does it; Debian 12's own package is too old)",
      }),
    );
  } else if (compareVersions(ansible, MIN_ANSIBLE_CORE) < 0) {
    findings.push(
      emit(PREPARE.controlAnsible, 'fail', {
        detail: `ansible-core ${show(ansible)} is older than ${show(MIN_ANSIBLE_CORE)}, the lowest the playbook works with`,
        fix: 'pipx install --force ansible-core (prepare.ts --apply does it)',
      }),
    );
  } else {
    findings.push(
      emit(PREPARE.controlAnsible, 'pass', { detail: `ansible-core ${show(ansible)} (at least ${show(MIN_ANSIBLE_CORE)} is needed)` }),
    );
    if (compareVersions(ansible, ANSIBLE_NO_PROMPT) >= 0 && c.usesSsh) {
      findings.push(
        emit(PREPARE.controlAnsibleSshPrompt, 'warn', {
          detail:
            'Ansible workers have no terminal: an unknown host key or a key passphrase makes the run fail ("Host key verification failed") instead of asking (MDAD issue #5472)',
          fix: 'connect once by hand (ssh -p PORT USER@SERVER) to accept the host key, and load a key with a passphrase into ssh-agent (ssh-add)',
        }),
      );
    }
  }
  if (ansible) {
    const docker = parseVersion(c.communityDocker);
    findings.push(
      docker && compareVersions(docker, MIN_COMMUNITY_DOCKER) >= 0
        ? emit(PREPARE.controlCommunityDocker, 'pass', { detail: `version ${show(docker)}` })
        : emit(PREPARE.controlCommunityDocker, 'warn', {
            detail: docker
              ? `version ${show(docker)} is older than ${show(MIN_COMMUNITY_DOCKER)}`
              : 'not installed (ansible-core alone does not include it)',
            fix: 'ansible-galaxy collection install --upgrade community.docker (prepare.ts --apply does it)',
          }),
    );
    const general = parseVersion(c.communityGeneral);
    const usable = general && compareVersions(general, MIN_COMMUNITY_GENERAL) >= 0 && compareVersions(general, END_COMMUNITY_GENERAL) < 0;
    findings.push(
      usable
        ? emit(PREPARE.controlCommunityGeneral, 'pass', { detail: `version ${show(general)}` })
        : emit(PREPARE.controlCommunityGeneral, 'fail', {
            detail: general
              ? `version ${show(general)} has no community.general.docker_network, which the playbook's roles call`
              : 'not installed (ansible-core alone does not include it); the playbook stops at its first container network',
            fix: `ansible-galaxy collection install --upgrade '${communityGeneralRange(ansible)}' (prepare.ts --apply does it)`,
          }),
    );
  }
  findings.push(
    emit(PREPARE.controlJust, 'info', { detail: c.just ? 'installed' : 'not installed; the stages call ansible-playbook directly' }),
  );
  findings.push(
    emit(PREPARE.controlAgru, 'info', {
      detail: c.agru ? 'installed: roles are fetched with it' : 'not installed; roles are fetched with ansible-galaxy (slower)',
    }),
  );
  return findings;
}

export interface ControlSetup {
  isRoot: boolean;
  hasApt: boolean;
  hasPipx: boolean;
}

/** What --apply runs on the control machine for the failures above. */
export function controlActions(c: ControlFacts, s: ControlSetup): Command[] {
  const sudo = (program: string, args: string[]): Command => (s.isRoot ? { program, args } : { program: 'sudo', args: [program, ...args] });
  const ansible = parseVersion(c.ansible, 'core');
  const needAnsible = !ansible || compareVersions(ansible, MIN_ANSIBLE_CORE) < 0;
  const apt: string[] = [];
  if (!c.git) apt.push('git');
  if (!c.python) apt.push('python3');
  if (needAnsible && !s.hasPipx) apt.push('pipx');
  const out: Command[] = [];
  if (apt.length && s.hasApt) out.push(sudo('apt-get', ['update']), sudo('apt-get', ['install', '-y', ...apt]));
  if (needAnsible) out.push({ program: 'pipx', args: ['install', '--force', 'ansible-core'] }, { program: 'pipx', args: ['ensurepath'] });
  const docker = parseVersion(c.communityDocker);
  if (needAnsible || !docker || compareVersions(docker, MIN_COMMUNITY_DOCKER) < 0) {
    out.push({ program: 'ansible-galaxy', args: ['collection', 'install', '--upgrade', 'community.docker'] });
  }
  const general = parseVersion(c.communityGeneral);
  if (
    needAnsible ||
    !general ||
    compareVersions(general, MIN_COMMUNITY_GENERAL) < 0 ||
    compareVersions(general, END_COMMUNITY_GENERAL) >= 0
  ) {
    // A new ansible-core is the newest release, which takes the newest community.general of the range.
    out.push({
      program: 'ansible-galaxy',
      args: ['collection', 'install', '--upgrade', communityGeneralRange(needAnsible ? undefined : ansible)],
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// SSH from the control machine

export interface SshFacts {
  /** `ssh-keygen -F` found the host (or [host]:port) in known_hosts. */
  known: boolean;
  /** `ssh -o BatchMode=yes … true` worked; otherwise its last error line. */
  batchOk: boolean;
  error?: string;
}

export function sshTarget(host: InventoryHost): { address: string; port: number; user: string } {
  return { address: host.address ?? host.name, port: host.sshPort ?? 22, user: host.sshUser ?? 'root' };
}

export function sshFindings(host: InventoryHost, f: SshFacts): Finding[] {
  const { address, port, user } = sshTarget(host);
  const by = `ssh${port === 22 ? '' : ` -p ${port}`} ${user}@${address}`;
  const subject = { host: host.name };
  const known = f.known
    ? emit(PREPARE.sshHostKey, 'pass', { detail: `${address} is in known_hosts` }, subject)
    : emit(
        PREPARE.sshHostKey,
        'fail',
        {
          detail: `${address} is not in known_hosts; Ansible cannot ask you to accept it (and with ansible-core 2.21+ never can)`,
          fix: `connect once by hand and accept the key: ${by}`,
        },
        subject,
      );
  const batch = f.batchOk
    ? emit(PREPARE.sshLogin, 'pass', { detail: `${by} works with BatchMode=yes` }, subject)
    : emit(
        PREPARE.sshLogin,
        'fail',
        {
          detail: `${by} -o BatchMode=yes failed: ${f.error ?? 'no reason given'}`,
          fix: 'check the address, port, user and key in inventory/hosts; a key with a passphrase must be in ssh-agent (ssh-add KEY)',
        },
        subject,
      );
  return [known, batch];
}

// ---------------------------------------------------------------------------------------------
// The server (facts from an Ansible run of scripts/lib/playbooks/server-facts.yml)

export interface ServerFacts {
  distribution: string;
  version: string;
  osFamily: string;
  serviceManager: string;
  memTotalMb: number;
  mounts: ReadonlyArray<{ mount: string; size_available: number }>;
  sudo: boolean;
  /** Output of `ss -Htlnp`, undefined when ss failed. */
  listening?: string;
  /** The playbook's Traefik unit exists (a previous install). */
  mdadTraefik: boolean;
  /** ansible_user_id: the SSH login. */
  user: string;
}

/** RAM limits in decimal gigabytes, so that a VPS sold as "2 GB" (about 1.9 GiB usable) passes. */
const GB = 1_000_000_000;
const MIB = 1024 * 1024;
export const RAM_FAIL_BELOW = 2 * GB;
export const RAM_WARN_BELOW = 4 * GB;
/** Docker images alone take several gigabytes; the database and media grow from there. */
export const DISK_FAIL_BELOW = 5 * GB;
export const DISK_WARN_BELOW = 15 * GB;
export const MDAD_PORTS = [80, 443, 8448] as const;

function osFinding(f: ServerFacts, host: string): Finding {
  const os = (status: 'pass' | 'warn' | 'fail', detail: string, fix?: string): Finding =>
    emit(PREPARE.serverOs, status, { detail, ...(fix !== undefined ? { fix } : {}) }, { host });
  const name = `${f.distribution} ${f.version}`;
  if (f.serviceManager !== 'systemd') {
    return os(
      'fail',
      `${name} runs ${f.serviceManager}, not systemd; the playbook installs systemd services`,
      'use a systemd distribution: Debian, Ubuntu, Rocky/AlmaLinux/CentOS or Arch Linux',
    );
  }
  const version = parseVersion(f.version) ?? [0];
  const dist = f.distribution.toLowerCase();
  if (dist === 'debian' && compareVersions(version, [10]) < 0) {
    return os('fail', `${name} is older than Debian 10`, 'reinstall the server with a current Debian');
  }
  if (dist === 'ubuntu') {
    if (compareVersions(version, [18, 4]) < 0)
      return os('fail', `${name} is older than Ubuntu 18.04`, 'reinstall the server with a current Ubuntu LTS');
    if (compareVersions(version, [20, 4]) === 0)
      return os('warn', `${name}: the playbook's docs call 20.04 possibly problematic`, 'prefer Ubuntu 22.04 or 24.04 LTS');
  }
  const supported = ['debian', 'ubuntu', 'centos', 'rocky', 'almalinux', 'redhat', 'archlinux'].includes(dist);
  return supported
    ? os('pass', name)
    : os(
        'warn',
        `${name} is not among the distributions the playbook documents`,
        'Debian, Ubuntu, Rocky/AlmaLinux/CentOS or Arch Linux are known to work',
      );
}

function ramFinding(f: ServerFacts, host: string): Finding {
  const bytes = f.memTotalMb * MIB;
  const shown = `${(bytes / GB).toFixed(1)} GB of RAM`;
  const subject = { host };
  if (bytes < RAM_FAIL_BELOW)
    return emit(
      PREPARE.serverRam,
      'fail',
      {
        detail: `${shown}; Synapse with Postgres needs at least 2 GB`,
        fix: 'use a server with 2 GB or more (4 GB for comfort, 6 GB with Jitsi)',
      },
      subject,
    );
  if (bytes < RAM_WARN_BELOW)
    return emit(
      PREPARE.serverRam,
      'warn',
      {
        detail: `${shown}: enough for a small server; large federated rooms or Jitsi need 4 GB or more`,
        fix: 'add swap, or choose 4 GB if you join big rooms or host calls',
      },
      subject,
    );
  return emit(PREPARE.serverRam, 'pass', { detail: shown }, subject);
}

/** The mount holding /matrix (or the closest parent). */
export function mountFor(mounts: ServerFacts['mounts'], path = '/matrix'): ServerFacts['mounts'][number] | undefined {
  return [...mounts]
    .filter((m) => path === m.mount || path.startsWith(m.mount.endsWith('/') ? m.mount : `${m.mount}/`))
    .sort((a, b) => b.mount.length - a.mount.length)[0];
}

function diskFinding(f: ServerFacts, host: string): Finding {
  const subject = { host };
  const mount = mountFor(f.mounts);
  if (!mount) return emit(PREPARE.serverDisk, 'skip', { detail: 'the mounts were not reported' }, subject);
  const free = `${(mount.size_available / GB).toFixed(1)} GB free on ${mount.mount}`;
  if (mount.size_available < DISK_FAIL_BELOW)
    return emit(
      PREPARE.serverDisk,
      'fail',
      { detail: `${free}; the containers alone need several GB`, fix: 'free space or grow the disk (at least 5 GB, better 15 GB or more)' },
      subject,
    );
  if (mount.size_available < DISK_WARN_BELOW)
    return emit(
      PREPARE.serverDisk,
      'warn',
      { detail: `${free}; media and the database grow with use`, fix: 'plan for more space (15 GB or more)' },
      subject,
    );
  return emit(PREPARE.serverDisk, 'pass', { detail: free }, subject);
}

/** Listening TCP ports and their programs from `ss -Htlnp`. */
export function listeners(ss: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of ss.split('\n')) {
    const cols = line.trim().split(/\s+/);
    const local = cols[3];
    const port = local ? Number(/:(\d+)$/.exec(local)?.[1]) : NaN;
    if (!Number.isInteger(port)) continue;
    const program = /users:\(\("([^"]+)"/.exec(line)?.[1] ?? 'an unknown program';
    if (!out.has(port)) out.set(port, program);
  }
  return out;
}

function portFindings(f: ServerFacts, host: string): Finding[] {
  if (f.listening === undefined) {
    return [
      emit(
        PREPARE.serverPorts,
        'warn',
        { detail: 'could not list the listening ports (ss failed)', fix: 'check by hand on the server: ss -tlnp' },
        { host },
      ),
    ];
  }
  const used = listeners(f.listening);
  return MDAD_PORTS.map((port): Finding => {
    const subject = { host, port };
    const program = used.get(port);
    if (program === undefined) return emit(PREPARE.serverPort, 'pass', { detail: 'free' }, subject);
    if (f.mdadTraefik && /docker-proxy|traefik|unknown/.test(program))
      return emit(PREPARE.serverPort, 'pass', { detail: `used by the playbook's Traefik (${program})` }, subject);
    return emit(
      PREPARE.serverPort,
      'fail',
      {
        detail: `used by ${program}; the playbook's Traefik needs it`,
        fix:
          port === 8448
            ? `stop ${program} or move it off 8448`
            : `stop ${program}, or keep it and put it in front of Traefik (the playbook's docs/configuring-playbook-own-webserver.md)`,
      },
      subject,
    );
  });
}

export function serverFindings(host: string, f: ServerFacts): Finding[] {
  return [
    osFinding(f, host),
    ramFinding(f, host),
    diskFinding(f, host),
    ...portFindings(f, host),
    f.sudo
      ? emit(PREPARE.serverSudo, 'pass', { detail: 'installed' }, { host })
      : emit(
          PREPARE.serverSudo,
          'fail',
          {
            detail: 'not installed; the playbook needs it even when it logs in as root',
            fix: 'apt-get install sudo on the server (prepare.ts --apply does it when the login is root)',
          },
          { host },
        ),
  ];
}

/** Ad-hoc Ansible commands --apply runs on the server: sudo if missing, then apt update/upgrade. */
export function serverActions(checkout: string, host: string, f: ServerFacts, askBecomePass: boolean): Command[] {
  if (f.osFamily !== 'Debian') return [];
  const adhoc = (args: string[]): Command => ({
    program: 'ansible',
    args: ['-i', 'inventory/hosts', host, ...args],
    cwd: checkout,
    env: { ANSIBLE_NOCOLOR: '1' },
  });
  const out: Command[] = [];
  // Without sudo, become cannot work; only a root login can install it.
  if (!f.sudo && f.user === 'root')
    out.push(adhoc(['-e', 'ansible_become=false', '-m', 'ansible.builtin.apt', '-a', 'name=sudo state=present update_cache=true']));
  if (f.sudo || f.user === 'root') {
    out.push(
      adhoc([
        '--become',
        ...(askBecomePass ? ['--ask-become-pass'] : []),
        '-m',
        'ansible.builtin.apt',
        '-a',
        'update_cache=true upgrade=safe',
      ]),
    );
  }
  return out;
}
