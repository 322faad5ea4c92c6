// docs/what-it-catches.md, generated from the corpus of real failures (test/lab/corpus-cases.ts):
// one row per public report, with what was reported, how the lab reproduces it, and the
// root-cause finding the checks name for it. The corpus lives with the tests that prove it, so
// the writer is test/lab/corpus-doc.ts (npm run docs:corpus); this module only renders, and
// test/unit/corpus-doc.test.ts fails when the page is out of date.
import { join } from 'node:path';
import { docsAnchor, specOf } from '../checks/core/catalogue.ts';
import { CATALOGUE } from '../checks/findings/index.ts';

export const CORPUS_DOC = join(import.meta.dirname, '..', 'docs', 'what-it-catches.md');

export interface CorpusCaseDoc {
  url: string;
  tracker: string;
  reported: string;
  scenario: string;
  root: RegExp;
  breaks: string;
  exit?: number;
}

/** A readable id from a case's pattern: the first alternative, without anchors and escapes. */
export function exampleId(pattern: RegExp): string {
  return pattern.source
    .replace(/^\^|\$$/g, '')
    .replace(/\(([^|)]+)(\|[^)]*)?\)/g, '$1')
    .replace(/\\\./g, '.');
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function reportLabel(url: string): string {
  const m = /github\.com\/([^/]+)\/([^/]+)\/(issues|pull)\/(\d+)/.exec(url);
  return m ? `${m[2]}#${m[4]}` : url;
}

export function renderCorpusDoc(cases: readonly CorpusCaseDoc[], scenarios: Record<string, { change: string }>): string {
  const rows = cases.map((c) => {
    const id = exampleId(c.root);
    const spec = specOf(id, CATALOGUE);
    const finding = spec ? `[\`${spec.id}\`](findings.md#${docsAnchor(spec)})` : `\`${id}\``;
    const breaks = c.breaks === 'nothing' ? 'slows federation' : c.breaks;
    return `| [${reportLabel(c.url)}](${c.url}) | ${cell(c.tracker)} | ${cell(c.reported)} | ${cell(scenarios[c.scenario]?.change ?? c.scenario)} | ${finding} | ${breaks} | ${c.exit ?? 2} |`;
  });
  const trackers = [...new Set(cases.map((c) => c.tracker))];
  return [
    '# What it catches',
    '',
    '<!-- Generated from test/lab/corpus-cases.ts by `npm run docs:corpus`; edit the corpus, not this file. -->',
    '',
    `Failures people reported in public trackers, ${cases.length} reports from ${trackers.length} trackers, each reproduced`,
    'in the corpus lab with the real programs (the lab DNS, openssl certificates with AIA URLs, nginx,',
    'Synapse, coturn) and checked by `test/lab/corpus.test.ts`: the root-cause finding below must come',
    'out failing (or warning, for what only slows federation) with no cause of its own, with its fix,',
    'and the run must end with the exit code shown. Each class has a healthy twin that must raise no',
    "warning and no failure. Addresses in the ids are the lab's; on your server they are yours.",
    '',
    '| report | tracker | what was reported | reproduced as | root cause | breaks | exit |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
