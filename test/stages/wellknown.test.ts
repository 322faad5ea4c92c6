// wellknown.ts as a process: the command line, files written atomically with backups, --dry-run,
// and Debian's nginx loading every nginx snippet (`nginx -t` with a prefix folder). Serving them
// with a real Matrix host behind: test/lab/wellknown-nginx.test.ts.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readVarsFile } from '../../checks/plan/load.ts';
import { planFromVars } from '../../checks/plan/plan.ts';
import { testNginxSnippet } from '../../scripts/lib/nginx-test.ts';
import { SNIPPET_FILES, wellKnownOutput } from '../../scripts/lib/wellknown-files.ts';
import { modeOf, runStage, snapshot } from './helpers.ts';

const MINIMAL = 'test/fixtures/modern-minimal-vars.yml';
const MANY = 'test/fixtures/many-services-vars.yml';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wellknown-stage-'));
  dirs.push(dir);
  return dir;
}
const wk = (...args: string[]) => runStage('wellknown', args);

describe('nginx loads every nginx snippet (nginx -t)', async () => {
  const plans = {
    minimal: planFromVars(await readVarsFile(MINIMAL)),
    'every service': planFromVars(await readVarsFile(MANY)),
    'MatrixRTC on': planFromVars({ ...(await readVarsFile(MINIMAL)), matrix_rtc_enabled: true }),
    'SRV delegation': planFromVars({ ...(await readVarsFile(MINIMAL)), matrix_static_files_file_matrix_server_enabled: false }),
  };
  const cases = Object.entries(plans).flatMap(([name, plan]) =>
    (['proxy', 'static'] as const).map((serve) => [name, serve, plan] as const),
  );

  it.each(cases)('%s, %s', async (_name, serve, plan) => {
    const out = wellKnownOutput(plan, { flavor: 'nginx', serve, webRoot: '/var/www/example.org', contacts: [] });
    const result = await testNginxSnippet(out.files.find((f) => f.path === SNIPPET_FILES.nginx)!.content, plan);
    expect(result.output).toMatch(/syntax is ok[\s\S]*test is successful/);
    expect(result.ok).toBe(true);
  });

  it("a broken snippet is refused with nginx's own line", async () => {
    const result = await testNginxSnippet('location ^~ /.well-known/matrix/ {\n    retrun 200;\n}\n', plans.minimal);
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/\[emerg\] \d+#\d+: unknown directive "retrun" in <snippet>:2\n.*test failed/);
  });
});

describe('wellknown.ts', () => {
  it('--help shows the options and an example', async () => {
    const run = await wk('--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Examples:\n {2}npx tsx scripts\/wellknown\.ts --vars /);
    expect(run.stdout).toContain('--playbook DIR   the matrix-docker-ansible-deploy checkout (default ./matrix-docker-ansible-deploy)');
    expect(run.stdout).toContain('--dry-run');
    expect(run.stdout).toContain('Exit codes: 0 done, 2 failed, 3 bad input (nothing was changed).');
  });

  it('prints the snippet alone on stdout (ready for > file), the rest on stderr', async () => {
    const run = await wk('--vars', MINIMAL, '--flavor', 'nginx', '--validate');
    expect(run.code, run.stderr).toBe(0);
    const plan = planFromVars(await readVarsFile(MINIMAL));
    expect(run.stdout).toBe(
      wellKnownOutput(plan, { flavor: 'nginx', serve: 'proxy', webRoot: '/var/www/example.org', contacts: [] }).files[0]!.content,
    );
    expect(run.stderr).toContain(
      'nginx -t accepts the snippet (matrix.example.org pinned to 127.0.0.1 for the test, so DNS plays no part)',
    );
    expect(run.stderr).toContain('Then check it from outside: npx tsx checks/wellknown.ts example.org');
  });

  it('--out: files written with mode 0644 in folders a web server can enter; the same run again changes nothing', async () => {
    const dir = tempDir();
    const out = join(dir, 'site');
    const run = await wk(
      '--vars',
      MINIMAL,
      '--flavor',
      'nginx',
      '--serve',
      'static',
      '--web-root',
      out,
      '--out',
      out,
      '--support-contact',
      'admin:@alice:example.org',
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain(`new file ${join(out, '.well-known/matrix/client')} (mode 0644):`);
    const plan = planFromVars(await readVarsFile(MINIMAL));
    expect(JSON.parse(readFileSync(join(out, '.well-known/matrix/client'), 'utf8'))).toEqual(plan.wellKnown.client);
    expect(JSON.parse(readFileSync(join(out, '.well-known/matrix/server'), 'utf8'))).toEqual(plan.wellKnown.server);
    expect(JSON.parse(readFileSync(join(out, '.well-known/matrix/support'), 'utf8'))).toEqual({
      contacts: [{ role: 'm.role.admin', matrix_id: '@alice:example.org' }],
    });
    expect(readFileSync(join(out, SNIPPET_FILES.nginx), 'utf8')).toContain(`    root ${out};\n`);
    for (const f of ['.well-known/matrix/client', SNIPPET_FILES.nginx]) expect(modeOf(join(out, f))).toBe('644');
    for (const d of ['', '.well-known', '.well-known/matrix']) expect(modeOf(join(out, d))).toBe('755');

    const picture = snapshot(dir);
    const again = await wk(
      '--vars',
      MINIMAL,
      '--flavor',
      'nginx',
      '--serve',
      'static',
      '--web-root',
      out,
      '--out',
      out,
      '--support-contact',
      'admin:@alice:example.org',
    );
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`Nothing to change: the files in ${out} are up to date.`);
    expect(snapshot(dir)).toEqual(picture);
  });

  it('a changed plan: --dry-run shows the diff and writes nothing; the real run keeps a backup', async () => {
    const dir = tempDir();
    const out = join(dir, 'site');
    const vars = join(dir, 'vars.yml');
    writeFileSync(vars, readFileSync(MINIMAL, 'utf8'));
    expect((await wk('--vars', vars, '--flavor', 'static', '--out', out)).code).toBe(0);
    const oldClient = readFileSync(join(out, '.well-known/matrix/client'), 'utf8');
    writeFileSync(vars, `${readFileSync(MINIMAL, 'utf8')}\nmatrix_rtc_enabled: true\n`);

    const picture = snapshot(dir);
    const dry = await wk('--vars', vars, '--flavor', 'static', '--out', out, '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`change ${join(out, '.well-known/matrix/client')}:`);
    expect(dry.stdout).toMatch(/\n\+ {5}"org\.matrix\.msc4143\.rtc_foci": \[\n/);
    expect(dry.stdout).toContain('Dry run: nothing was written.');
    expect(snapshot(dir)).toEqual(picture);

    const real = await wk('--vars', vars, '--flavor', 'static', '--out', out);
    expect(real.code, real.stderr).toBe(0);
    const backups = readdirSync(join(out, '.well-known/matrix')).filter((f) => f.endsWith('.bak'));
    expect(backups).toHaveLength(1);
    expect(readFileSync(join(out, '.well-known/matrix', backups[0]!), 'utf8')).toBe(oldClient);
    expect(real.stdout).toContain('; the previous version is in');
    expect(JSON.parse(readFileSync(join(out, '.well-known/matrix/client'), 'utf8'))).toHaveProperty('org.matrix.msc4143.rtc_foci');
  });

  it.each([
    [['--vars', MINIMAL], 'wellknown: give --flavor nginx|apache|caddy|static'],
    [['--vars', MINIMAL, '--flavor', 'lighttpd'], 'wellknown: --flavor must be one of nginx, apache, caddy, static, got "lighttpd"'],
    [['--vars', MINIMAL, '--flavor', 'nginx', '--serve', 'redirect'], 'wellknown: --serve must be one of proxy, static, got "redirect"'],
    [
      ['--vars', MINIMAL, '--flavor', 'static', '--serve', 'proxy'],
      'wellknown: --flavor static publishes copies; for --serve proxy choose --flavor nginx, apache or caddy',
    ],
    [
      ['--vars', MINIMAL, '--flavor', 'apache', '--validate'],
      'wellknown: --validate runs nginx -t: it goes with --flavor nginx (nginx is what this project can run)',
    ],
    [
      ['--vars', MINIMAL, '--flavor', 'nginx', '--support-contact', 'boss:alice'],
      'wellknown: --support-contact "boss:alice": expected ROLE:ADDRESS, e.g. admin:@alice:example.org or security:security@example.org (ROLE is admin, security or a namespaced role like m.role.admin)',
    ],
    [
      ['--vars', MINIMAL, '--flavor', 'nginx', '--support-page', 'example.org/help'],
      'wellknown: --support-page "example.org/help" is not a web address like https://example.org/help',
    ],
    [
      ['--vars', MINIMAL, '--flavor', 'nginx', '--serve', 'static', '--web-root', 'www'],
      'wellknown: --web-root www: give an absolute path of letters, digits and . _ - / only',
    ],
    [['--vars', 'no/such/vars.yml', '--flavor', 'nginx'], 'wellknown: no/such/vars.yml: file not found'],
    [
      ['--flavor', 'nginx', '--playbook', '/nonexistent/mdad'],
      'wellknown: --playbook /nonexistent/mdad: no such directory; get the playbook with: npx tsx scripts/prepare.ts --playbook /nonexistent/mdad --apply',
    ],
  ])('bad input %j: one line, exit 3, nothing written', async (args, line) => {
    const dir = tempDir();
    const out = join(dir, 'out');
    const run = await wk(...args, '--out', out);
    expect(run.code).toBe(3);
    expect(run.stderr).toBe(`${line}\n`);
    expect(run.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  });
});
