// The readiness findings of prepare.ts come from the prepare catalogue (checks/findings/prepare.ts):
// every id a readiness rule emits is declared there, with the title of its status.
import { describe, expect, it } from 'vitest';
import { specOf } from '../../checks/core/catalogue.ts';
import type { Finding } from '../../checks/core/finding.ts';
import { PREPARE } from '../../checks/findings/prepare.ts';
import { controlFindings, serverFindings, sshFindings, type ServerFacts } from '../../scripts/lib/readiness.ts';

const SPECS = Object.values(PREPARE);

const SERVER: ServerFacts = {
  distribution: 'Debian',
  version: '12',
  osFamily: 'Debian',
  serviceManager: 'systemd',
  memTotalMb: 8000,
  mounts: [{ mount: '/', size_available: 50e9 }],
  sudo: true,
  listening: '',
  mdadTraefik: false,
  user: 'root',
};

function everyFinding(): Finding[] {
  const out: Finding[] = [];
  for (const ansible of [undefined, 'ansible-playbook [core 2.14.1]', 'ansible-playbook [core 2.21.0]']) {
    for (const present of [true, false]) {
      out.push(
        ...controlFindings({
          ...(present ? { git: 'git version 2.39.5', python: 'Python 3.11.2', communityDocker: '4.1.0' } : {}),
          ansible,
          just: present,
          agru: present,
          usesSsh: true,
        }),
      );
    }
  }
  for (const known of [true, false])
    out.push(...sshFindings({ name: 'matrix.example.org', address: '192.0.2.1' }, { known, batchOk: known, error: 'Permission denied' }));
  const taken = 'LISTEN 0 4096 0.0.0.0:80 0.0.0.0:* users:(("nginx",pid=1,fd=6))';
  for (const change of [
    {},
    { serviceManager: 'openrc', memTotalMb: 1000, mounts: [], sudo: false, listening: taken },
    { memTotalMb: 3000, listening: undefined },
  ] as Partial<ServerFacts>[]) {
    out.push(...serverFindings('matrix.example.org', { ...SERVER, ...change }));
  }
  return out;
}

describe('readiness findings', () => {
  it('are all declared in the prepare catalogue, with the title of their status', () => {
    const findings = everyFinding();
    for (const finding of findings) {
      const spec = specOf(finding.id, SPECS);
      expect(spec, finding.id).toBeDefined();
      const template = finding.status === 'warn' || finding.status === 'fail' ? spec!.fail : spec!.pass;
      expect(finding.title, finding.id).toMatch(new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '.+')}$`));
    }
  });

  it('keep their ids and titles', () => {
    const byId = (findings: Finding[]) => Object.fromEntries(findings.map((f) => [f.id, f.title]));
    expect(byId(serverFindings('matrix.example.org', SERVER))).toEqual({
      'prepare.server.os': 'matrix.example.org: operating system',
      'prepare.server.ram': 'matrix.example.org: memory',
      'prepare.server.disk': 'matrix.example.org: free disk for /matrix',
      'prepare.server.port-80': 'matrix.example.org: port 80/tcp',
      'prepare.server.port-443': 'matrix.example.org: port 443/tcp',
      'prepare.server.port-8448': 'matrix.example.org: port 8448/tcp',
      'prepare.server.sudo': 'matrix.example.org: sudo',
    });
    expect(sshFindings({ name: 'm1' }, { known: false, batchOk: true }).map((f) => [f.id, f.status, f.title])).toEqual([
      ['prepare.ssh.host-key', 'fail', 'm1: host key not known'],
      ['prepare.ssh.login', 'pass', 'm1: SSH login without prompts'],
    ]);
  });
});
