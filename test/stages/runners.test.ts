// Every stage, started each way the README gives: `node scripts/<stage>.ts`, `./scripts/<stage>.ts`
// (shebang and run bit) and `npx zx scripts/<stage>.ts`. Each way prints the same, exits the same
// and does the same work (the same files written, the same commands run by the stand-in playbook).
// A stage file that something else imports cannot tell how it was started: it says so and exits 3.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStandin } from '../lab/servers/standin.ts';
import type { Standin } from '../lab/servers/standin.ts';
import { ORIGIN } from '../lab/dns-zones.ts';
import { RUNNERS, runStage, snapshot, TS_HOOK } from './helpers.ts';
import type { Runner, StageRun } from './helpers.ts';

const STAGES = ['prepare', 'configure', 'install', 'update', 'register', 'remove', 'firewall', 'wellknown'] as const;

/** Runs the stage each way, one after the other; every way must print and exit as `node` does. */
async function eachWay(
  stage: string,
  args: string[],
  env: Record<string, string> = {},
  normalize: (text: string) => string = (text) => text,
): Promise<Record<Runner, StageRun>> {
  const runs = {} as Record<Runner, StageRun>;
  for (const runner of RUNNERS) runs[runner] = await runStage(stage, args, env, undefined, runner);
  const seen = (run: StageRun) => ({ code: run.code, stdout: normalize(run.stdout), stderr: normalize(run.stderr) });
  for (const runner of RUNNERS) expect(seen(runs[runner]), `${stage} started by ${runner}`).toEqual(seen(runs.node));
  return runs;
}

describe('every stage runs the same each way', () => {
  it.each(STAGES)('%s: shebang and run bit', (stage) => {
    const file = join('scripts', `${stage}.ts`);
    expect(spawnSync('head', ['-n', '1', file], { encoding: 'utf8' }).stdout).toBe('#!/usr/bin/env node\n');
    expect(statSync(file).mode & 0o111).toBe(0o111);
  });

  it.each(STAGES)('%s --help: the same help, exit 0', async (stage) => {
    const runs = await eachWay(stage, ['--help']);
    expect(runs.zx.code).toBe(0);
    expect(runs.zx.stdout).toContain(`Usage: ${stage}.ts`);
  });

  it.each(STAGES)('%s with an unknown option: the same one line, exit 3', async (stage) => {
    const runs = await eachWay(stage, ['--no-such-option']);
    expect(runs.zx.code).toBe(3);
    expect(runs.zx.stderr).toBe(`${stage}: Unknown option '--no-such-option'\n`);
  });

  it.each(STAGES)('%s imported by another module: says it cannot tell how it was started, exit 3, does nothing', (stage) => {
    const run = spawnSync(process.execPath, [...TS_HOOK, '--input-type=module', '-e', `await import("./scripts/${stage}.ts")`], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(run.status).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      new RegExp(
        `^${stage}: cannot tell how this stage was started \\(by .+\\), so it does nothing; run it as: npx zx scripts/${stage}\\.ts …`,
      ),
    );
  });
});

describe('the same work each way', () => {
  let standin: Standin;
  const stamp = (text: string) => text.replace(/\d{8}T\d{6}Z?|\d{4}-\d\d-\d\dT[\d:.]+Z|\d{4}-?\d\d-?\d\d[-T]?\d{4,6}/g, 'TIME');
  beforeAll(async () => {
    standin = createStandin();
    const run = await runStage('configure', ['--playbook', standin.checkout, '--domain', ORIGIN, '--local'], standin.env);
    expect(run.code, run.stderr).toBe(0);
  });
  afterAll(() => standin?.cleanup());
  const vars = () => join(standin.checkout, 'inventory', 'host_vars', `matrix.${ORIGIN}`, 'vars.yml');

  it('configure writes the same files each way', async () => {
    const results: Record<string, string[]>[] = [];
    for (const runner of RUNNERS) {
      const fresh = createStandin();
      try {
        const run = await runStage(
          'configure',
          ['--playbook', fresh.checkout, '--domain', ORIGIN, '--local'],
          fresh.env,
          undefined,
          runner,
        );
        expect(run.code, `${runner}: ${run.stderr}`).toBe(0);
        expect(run.stdout.replaceAll(fresh.checkout, 'CHECKOUT')).toMatch(/inventory\/hosts/);
        // The secrets are drawn anew each time: compare the files, their modes and their keys.
        const files = snapshot(join(fresh.checkout, 'inventory'));
        results.push({ files: Object.keys(files).sort(), modes: Object.values(files).map((v) => v.split(' ')[0]!) });
      } finally {
        fresh.cleanup();
      }
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });

  it('install --dry-run lists the same commands each way and changes nothing', async () => {
    const before = snapshot(standin.root);
    const runs = await eachWay('install', ['--playbook', standin.checkout, '--dry-run'], standin.env, stamp);
    expect(runs.zx.stdout).toContain('ansible-playbook -i inventory/hosts setup.yml --tags=install-all,ensure-matrix-users-created,start');
    expect(snapshot(standin.root)).toEqual(before);
  });

  it('install runs the same playbook commands each way', async () => {
    for (const runner of RUNNERS) {
      const fresh = createStandin();
      try {
        const configure = await runStage('configure', ['--playbook', fresh.checkout, '--domain', ORIGIN, '--local'], fresh.env);
        expect(configure.code, configure.stderr).toBe(0);
        const run = await runStage(
          'install',
          ['--playbook', fresh.checkout, '--skip-preflight', '--after-checks', 'dns', '--resolver', '127.13.0.1', '--timeout', '1'],
          fresh.env,
          undefined,
          runner,
        );
        // The after-picture asks a resolver that does not answer (exit 2); the playbook ran.
        expect(run.code, `${runner}: ${run.stderr}`).toBe(2);
        expect(run.stdout).toContain('The playbook finished, but the checks above found failures.');
        expect(fresh.records().map((r) => r.tag)).toEqual(['install-all', 'ensure-matrix-users-created', 'start', 'self-check']);
        expect(fresh.records()[0]!.argv).toMatch(
          /ansible-playbook -i inventory\/hosts setup\.yml --tags=install-all,ensure-matrix-users-created,start$/,
        );
      } finally {
        fresh.cleanup();
      }
    }
  });

  it('update --dry-run, register --dry-run, remove --dry-run: the same each way', async () => {
    await eachWay('update', ['--playbook', standin.checkout, '--dry-run'], standin.env, stamp);
    const register = await eachWay('register', ['--playbook', standin.checkout, 'user', 'alice', '--dry-run'], {
      ...standin.env,
      MATRIX_PASSWORD: 'alice password',
    });
    expect(register.zx.code).toBe(0);
    const remove = await eachWay('remove', ['--playbook', standin.checkout, '--yes-really-remove-everything', '--dry-run'], standin.env);
    expect(remove.zx.stdout).toContain('Dry run: nothing was changed.');
  });

  it('firewall, wellknown and prepare: the same each way', async () => {
    const firewall = await eachWay('firewall', ['--vars', vars(), '--ssh-port', '22']);
    expect(firewall.zx.code).toBe(0);
    const wellknown = await eachWay('wellknown', ['--vars', vars(), '--flavor', 'nginx']);
    expect(wellknown.zx.stdout).toContain('location ^~ /.well-known/matrix/');
    const prepare = await eachWay('prepare', ['--playbook', standin.checkout, '--json'], standin.env, (text) =>
      text
        .replace(/"(startedAt|durationMs)":\s*("[^"]*"|\d+)/g, '"$1": X')
        .replace(/prepare-facts-\w+/g, 'prepare-facts-X')
        // The disk's free space drifts between the runs (prepare.test.ts checks this finding).
        .replace(/\d+\.\d GB free/g, 'N GB free')
        .replace(/\b\d+:\d\d\b/g, 'M:SS'),
    );
    expect(prepare.zx.code).not.toBeNull();
  });
});
