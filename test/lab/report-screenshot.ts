// Makes the README's picture of the HTML report: the sandbox's --broken deployment, checked by
// checks/doctor.ts, written with --format html, shown in headless Chromium.
//   npx tsx test/lab/report-screenshot.ts docs/report-broken.png
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { launchChromium } from './report-browser.ts';
import { startSandbox } from './report-sandbox.ts';
import { runCli } from './run-cli.ts';

const out = resolve(process.argv[2] ?? 'docs/report-broken.png');
const dir = mkdtempSync(join(tmpdir(), 'report-shot-'));
const sandbox = await startSandbox(true);
const browser = await launchChromium();
try {
  const file = join(dir, 'broken.html');
  const run = await runCli('checks/doctor.ts', [...sandbox.args, '--format', 'html', '--output', file]);
  if (run.code !== 2) throw new Error(`doctor exited ${run.code}: ${run.stderr}`);
  const page = await browser.page();
  await page.viewport(1200, 1100, false);
  await page.open(`file://${file}`);
  if (page.errors.length) throw new Error(`the page logged errors: ${page.errors.join('; ')}`);
  writeFileSync(out, await page.screenshot(false));
  console.log(`wrote ${out}`);
} finally {
  await Promise.all([browser.close(), sandbox.stop()]);
  rmSync(dir, { recursive: true, force: true });
}
