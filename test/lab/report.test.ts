// doctor's reports to share, from real runs: the HTML page in a real browser (Debian's headless
// Chromium) on a phone and a wide screen, a hostile well-known body served by real nginx that
// stays text, and --redact over every format, grepped for every original value.
//
//   the sandbox (--broken), on 127.0.0.1 with free ports   many failures with root causes
//   s1.hostile.test  A 127.16.1.1 (nginx :443)              /.well-known/matrix/server is a <script>
//   matrix.s1.…      A 127.16.1.2 (nginx :443, :8448)
//   resolver 127.16.1.3:53, authoritative 127.16.1.4:53 (dns2)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../checks/core/report.ts';
import { LAB_DIR } from './servers/provision.ts';
import { type FleetLab, startFleetLab } from '../../tools/bench/lab-fleet.ts';
import { type Browser, type BrowserPage, launchChromium } from './report-browser.ts';
import { type RunningSandbox, startSandbox } from './report-sandbox.ts';
import { runCli } from './run-cli.ts';

const HOSTILE = '<script>window.pwned=1</script>';
let sandbox: RunningSandbox;
let hostile: FleetLab;
let browser: Browser;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(LAB_DIR, 'report-'));
  sandbox = await startSandbox(true);
  hostile = await startFleetLab({
    count: 1,
    domain: 'hostile.test',
    listen: { base: '127.16.1.1', matrix: '127.16.1.2' },
    dns: { resolver: { host: '127.16.1.3', port: 53 }, authoritative: { host: '127.16.1.4', port: 53 } },
  });
  // nginx reads the file on every request: the server's well-known answer becomes a script.
  writeFileSync(join(dirname(hostile.listFile), 'sites', hostile.names[0], '.well-known/matrix/server'), HOSTILE);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await Promise.all([sandbox?.stop(), hostile?.stop(), browser?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const hostileArgs = () => [hostile.names[0], '--resolver', '127.16.1.3', '--ca-file', hostile.caFile, '--timeout', '2', '--skip', 'turn'];

async function page(file: string, width: number, height: number, mobile: boolean): Promise<BrowserPage> {
  const p = await browser.page();
  await p.viewport(width, height, mobile);
  await p.open(`file://${file}`);
  return p;
}

describe('the HTML report in Chromium', () => {
  it('shows the failures with their fixes, root causes first, the passes folded, on a phone and a wide screen', async () => {
    const json = await runCli('checks/doctor.ts', [...sandbox.args, '--json']);
    const report = JSON.parse(json.stdout) as Report;
    const file = join(dir, 'broken.html');
    const run = await runCli('checks/doctor.ts', [...sandbox.args, '--format', 'html', '--output', file]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('');
    const html = readFileSync(file, 'utf8');
    // Self-contained: nothing is loaded from anywhere.
    expect(html).not.toMatch(/<(?:link|img|iframe)\b|\bsrc=|@import|url\(/i);
    expect(html).toContain("default-src 'none'");

    for (const [width, height, mobile] of [
      [390, 844, true],
      [1440, 900, false],
    ] as const) {
      const p = await page(file, width, height, mobile);
      const dom = await p.evaluate<{
        failing: string[];
        withFix: number;
        firstRoot: number;
        passesAt: number;
        passesOpen: boolean;
        passes: number;
        overflow: number;
        copies: string[];
        causedBy: number;
      }>(`(() => {
        const all = [...document.querySelectorAll('[data-status="fail"]')];
        const order = [...document.querySelectorAll('.finding.root, details.passes')];
        return {
          failing: all.map((e) => e.dataset.id),
          withFix: all.filter((e) => e.querySelector(':scope > .fix')).length,
          firstRoot: order.findIndex((e) => e.matches('.finding.root')),
          passesAt: order.findIndex((e) => e.matches('details.passes')),
          passesOpen: document.querySelector('details.passes').open,
          passes: document.querySelectorAll('details.passes [data-status="pass"]').length,
          overflow: document.documentElement.scrollWidth - window.innerWidth,
          copies: [...document.querySelectorAll('button.copy')].map((b) => b.dataset.copy),
          causedBy: document.querySelectorAll('.caused [data-status]').length,
        };
      })()`);
      const failing = report.findings.filter((f) => f.status === 'fail').map((f) => f.id);
      expect(dom.failing.sort()).toEqual([...failing].sort());
      expect(dom.withFix).toBe(failing.length);
      // Root causes come first; the passes are folded away below them.
      expect(dom.firstRoot).toBe(0);
      expect(dom.passesAt).toBeGreaterThan(0);
      expect(dom.passesOpen).toBe(false);
      expect(dom.passes).toBe(report.summary.pass);
      // The commands of the fixes are copyable, e.g. the DNS record to set.
      expect(dom.copies).toContain('matrix.sandbox.test. 3600 IN A 203.0.113.80');
      expect(dom.copies.some((c) => c.startsWith('ansible-playbook -i inventory/hosts setup.yml'))).toBe(true);
      // Nothing wider than the screen.
      expect(dom.overflow).toBeLessThanOrEqual(0);
      // The page's own script runs under its Content-Security-Policy: the copy button answers.
      const copied = await p.evaluate<{ said: string; command: string; selected: string }>(
        `(async () => {
          const b = document.querySelector('button.copy');
          b.click();
          for (let i = 0; i < 50 && b.textContent === 'Copy'; i++) await new Promise((r) => setTimeout(r, 20));
          return { said: b.textContent, command: b.dataset.copy, selected: String(window.getSelection()) };
        })()`,
      );
      // Headless Chromium has no clipboard: the page then selects the command for Ctrl+C.
      expect(['Copied', 'Selected']).toContain(copied.said);
      if (copied.said === 'Selected') expect(copied.selected).toBe(copied.command);
      const shot = await p.screenshot();
      expect(shot.subarray(1, 4).toString()).toBe('PNG');
      expect(shot.length).toBeGreaterThan(20_000);
      writeFileSync(join(dir, `broken-${width}.png`), shot);
      expect(p.errors).toEqual([]);
    }
  }, 120_000);

  it('shows a hostile well-known body as text: no script of it runs, nothing is injected', async () => {
    const file = join(dir, 'hostile.html');
    const run = await runCli('checks/doctor.ts', [...hostileArgs(), '--format', 'html', '--output', file]);
    expect(run.code).toBe(2);
    const html = readFileSync(file, 'utf8');
    expect(html).not.toContain(HOSTILE);
    const p = await page(file, 1280, 900, false);
    const dom = await p.evaluate<{ pwned: unknown; scripts: number; shown: boolean; failing: string[] }>(`(() => ({
      pwned: window.pwned,
      scripts: document.scripts.length,
      shown: document.body.textContent.includes(${JSON.stringify(HOSTILE.slice(0, 25))}),
      failing: [...document.querySelectorAll('[data-status="fail"]')].map((e) => e.dataset.id),
    }))()`);
    expect(dom.pwned).toBeUndefined();
    expect(dom.scripts).toBe(1);
    expect(dom.shown).toBe(true);
    expect(dom.failing).toContain('wellknown.server.json');
    expect(p.errors).toEqual([]);
  }, 60_000);
});

/** Every value a reader must not learn: the names under the server name, the addresses, the secrets. */
function originals(unredacted: string, serverName: string, extra: string[] = []): string[] {
  const escaped = serverName.replace(/\./g, '\\.');
  const hosts = unredacted.match(new RegExp(`[a-z0-9_.-]*${escaped}`, 'gi')) ?? [];
  const ipv4 = unredacted.match(/\b\d{1,3}(?:\.\d{1,3}){3}\b/g) ?? [];
  const ipv6 = (unredacted.match(/\b[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}\b/gi) ?? []).filter((v) => v.includes('::'));
  const underscored = ipv4.map((ip) => ip.replace(/\./g, '_'));
  return [...new Set([serverName, ...hosts, ...ipv4, ...ipv6, ...underscored, ...extra])].filter((v) => v.length > 3);
}

describe('--redact', () => {
  it.each([
    ['the sandbox (--broken)', () => sandbox.args, 'sandbox.test'],
    ['the hostile lab server', hostileArgs, 's1.hostile.test'],
  ] as const)(
    'hides every name, address and secret of %s in every format',
    async (_, args, serverName) => {
      const plain = await runCli('checks/doctor.ts', [...args(), '--json']);
      const secret = readFileSync('sandbox/vars.yml', 'utf8').match(/generic_secret_key:\s*["']?([^"'\s]+)/)?.[1];
      const hidden = originals(plain.stdout, serverName, secret ? [secret] : []);
      expect(hidden.length).toBeGreaterThan(4);
      for (const format of ['table', 'json', 'prom', 'html']) {
        const file = join(dir, `redacted.${format}`);
        const run = await runCli('checks/doctor.ts', [...args(), '--redact', '--format', format, '--output', file]);
        expect(run.code).toBe(2);
        const text = readFileSync(file, 'utf8');
        expect(text).toContain('example.org');
        for (const value of hidden) expect(text.toLowerCase(), `${format} shows ${value}`).not.toContain(value.toLowerCase());
      }
      // The same to stdout, and consistently: one placeholder per original in the JSON.
      const json = await runCli('checks/doctor.ts', [...args(), '--redact', '--json']);
      const redacted = JSON.parse(json.stdout) as Report;
      expect(redacted.serverName).toBe('example.org');
      for (const value of hidden) expect(json.stdout).not.toContain(value);
    },
    120_000,
  );
});
