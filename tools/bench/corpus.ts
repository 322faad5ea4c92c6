// The corpus of real failures (test/lab/corpus-cases.ts) as a benchmark: every scenario (the
// failures and their healthy twins) run once through the real command against the corpus lab.
// Figures: the whole corpus (lab start included) and the median time per reported case.
import { CASES, SCENARIOS } from '../../test/lab/corpus-cases.ts';
import { startCorpusLab } from '../../test/lab/corpus-lab.ts';
import { runScenario } from '../../test/lab/corpus-run.ts';
import type { Figure } from './figure.ts';

export async function corpusCase(): Promise<Figure[]> {
  const started = performance.now();
  const lab = await startCorpusLab();
  const perScenario = new Map<string, number>();
  try {
    for (const key of Object.keys(SCENARIOS)) {
      const t0 = performance.now();
      await runScenario(lab, key);
      perScenario.set(key, performance.now() - t0);
    }
  } finally {
    await lab.stop();
  }
  const total = (performance.now() - started) / 1000;
  // A case costs its scenario's run; cases of one scenario share it in the test.
  const perCase = CASES.map((c) => perScenario.get(c.scenario) ?? 0).sort((a, b) => a - b);
  const median = perCase[Math.floor(perCase.length / 2)];
  return [
    {
      name: `Corpus: ${CASES.length} reports in ${perScenario.size} scenarios (lab start included), total`,
      value: `${total.toFixed(0)} s`,
      target: '< 300 s',
      met: total < 300,
    },
    {
      name: 'Corpus: median per reported case (its scenario, switch and run)',
      value: `${median.toFixed(0)} ms`,
      target: 'printed',
      met: true,
    },
  ];
}
