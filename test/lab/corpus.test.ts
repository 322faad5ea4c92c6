// The corpus of real failures (corpus-cases.ts), each reproduced in the corpus lab with real
// nginx, Synapse, coturn, openssl certificates and the lab DNS, and run through the real
// commands as processes. For each reported failure: the exit code is 2 (it breaks federation,
// calls or sign-in), the named finding is a failing root cause (no cause of its own) and its fix
// says what to do. For each class, its healthy twin raises no warning and no failure.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../checks/core/finding.ts';
import { CASES, SCENARIOS, TWINS } from './corpus-cases.ts';
import { type CorpusLab, startCorpusLab } from './corpus-lab.ts';
import { runScenario, type ScenarioOutcome } from './corpus-run.ts';

let lab: CorpusLab;
beforeAll(async () => {
  lab = await startCorpusLab();
}, 180_000);
afterAll(async () => lab?.stop());

// One run per scenario, shared by every case of it (scenarios run one after the other).
const runs = new Map<string, ScenarioOutcome>();
async function outcomeOf(key: string): Promise<ScenarioOutcome> {
  const known = runs.get(key) ?? (await runScenario(lab, key));
  runs.set(key, known);
  return known;
}

const summary = (findings: Finding[]) =>
  findings.map((f) => `${f.id}=${f.status}${f.causedBy ? ` (caused by ${f.causedBy})` : ''}`).join(', ');

describe('the corpus: real reported failures, reproduced', () => {
  it('has at least 40 cases, each citing its report', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
    expect(new Set(CASES.map((c) => c.url)).size).toBe(CASES.length);
    for (const c of CASES) expect(c.url).toMatch(/^https:\/\/github\.com\/[^/]+\/[^/]+\/(issues|pull)\/\d+$/);
  });

  for (const c of CASES) {
    it(`${c.url}: ${c.reported}`, async () => {
      const { run, report } = await outcomeOf(c.scenario);
      const exit = c.exit ?? 2;
      const status = exit === 2 ? 'fail' : 'warn';
      const root = report.findings.find((f) => c.root.test(f.id) && f.status === status && !f.causedBy);
      expect(root, `no root cause ${c.root} (${status}) among ${summary(report.findings)}`).toBeDefined();
      expect(root!.fix).toMatch(c.fix);
      // What breaks federation, calls or sign-in never ends with exit 0 or 1; what only slows it, with 1.
      if (c.breaks !== 'nothing') expect(exit).toBe(2);
      expect(run.code, run.stderr).toBe(exit);
      expect(report.exitCode).toBe(exit);
      // A link to a cause never hides a failure: every failing finding keeps its own status.
      for (const f of report.findings.filter((f) => f.causedBy)) {
        expect(report.findings.some((g) => g.id === f.causedBy)).toBe(true);
      }
    });
  }

  it("asks as homeservers and clients ask: a server that answers only Synapse/x.y.z with the spec's Host, and browsers with an Origin, passes", async () => {
    const { run, report } = await outcomeOf('as-homeservers-ask');
    const alarms = report.findings.filter((f) => f.status === 'fail' || f.status === 'warn');
    expect(alarms, summary(alarms)).toEqual([]);
    expect(report.findings.find((f) => f.id.endsWith('_8448.keys'))?.status).toBe('pass');
    expect(run.code).toBe(0);
  });

  it('a base domain whose 443 accepts TCP and never answers: federation fails (Synapse does not fall back), exit 2', async () => {
    const { run, report } = await outcomeOf('wellknown-stalls');
    const discovery = report.findings.find((f) => f.id === 'federation.discovery');
    expect(discovery, summary(report.findings)).toMatchObject({ status: 'fail' });
    expect(discovery!.detail).toContain('it does not fall back');
    expect(run.code).toBe(2);
  });

  for (const twin of TWINS) {
    it(`healthy twin ${twin}: no false alarm (${SCENARIOS[twin].change})`, async () => {
      const { run, report } = await outcomeOf(twin);
      const alarms = report.findings.filter((f) => f.status === 'fail' || f.status === 'warn');
      expect(alarms, summary(alarms)).toEqual([]);
      expect(run.code).toBe(0);
    });
  }
});
