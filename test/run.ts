// `npm test`: runs vitest (type check included, see test/unit/typecheck.test.ts), then checks
// that every finding id the suites emitted (in this process and in every command the tests ran)
// is in the finding catalogue, and ends with the line CI reads: "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { specOf } from '../checks/core/catalogue.ts';
import { CATALOGUE } from '../checks/findings/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'vitest-'));
const output = join(dir, 'results.json');
const recorded = join(dir, 'findings.txt');
writeFileSync(recorded, '');
const run = spawnSync(
  process.execPath,
  ['node_modules/vitest/vitest.mjs', 'run', '--reporter=default', '--reporter=json', `--outputFile=${output}`, ...process.argv.slice(2)],
  { stdio: 'inherit', env: { ...process.env, FINDINGS_RECORD: recorded } },
);
let passed = 0;
let failed = 0;
let skipped = 0;
// CI shows only the end of its output: the failures are named again just above the summary line.
const failures: string[] = [];
try {
  const results = JSON.parse(readFileSync(output, 'utf8'));
  passed = results.numPassedTests;
  skipped = results.numPendingTests + results.numTodoTests;
  for (const file of results.testResults as VitestFile[]) {
    const where = file.name.slice(process.cwd().length + 1);
    const failedTests = file.assertionResults.filter((test) => test.status === 'failed');
    for (const test of failedTests) failures.push(`${where} > ${test.fullName}: ${firstLine(test.failureMessages[0])}`);
    // A file that fails before any test runs (a setup error) has no failed test: count it too.
    if (file.status === 'failed' && failedTests.length === 0) failures.push(`${where}: ${firstLine(file.message)}`);
  }
  failed = failures.length;
} catch {
  failed = Math.max(1, failed);
  console.error('test runner: vitest wrote no results');
}

// The catalogue check counts as one more test.
const emitted = new Set(readFileSync(recorded, 'utf8').split('\n').filter(Boolean));
const undeclared = [...emitted].filter((id) => !specOf(id, CATALOGUE)).sort();
const covered = new Set([...emitted].map((id) => specOf(id, CATALOGUE)).filter(Boolean));
if (emitted.size === 0 || undeclared.length > 0) {
  failed++;
  console.error(
    emitted.size === 0
      ? 'finding catalogue: the suites emitted no finding'
      : `finding catalogue: emitted but not declared in checks/findings/: ${undeclared.join(', ')}`,
  );
} else {
  passed++;
  console.log(
    `finding catalogue: ${emitted.size} distinct ids emitted, all declared (${covered.size} of ${CATALOGUE.length} declarations seen)`,
  );
}

rmSync(dir, { recursive: true, force: true });
for (const failure of failures) console.log(`failed: ${failure}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(run.status === 0 && failed === 0 && passed > 0 ? 0 : 1);

interface VitestFile {
  name: string;
  status: string;
  message?: string;
  assertionResults: { status: string; fullName: string; failureMessages: string[] }[];
}

function firstLine(text: string | undefined): string {
  return (text ?? 'no message').split('\n')[0].slice(0, 300);
}
