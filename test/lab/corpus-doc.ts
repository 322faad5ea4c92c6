// Writes docs/what-it-catches.md from the corpus (npm run docs:corpus); --check exits 1 when it
// is out of date. The rendering is tools/corpus-doc.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { isMain } from '../../checks/core/cli.ts';
import { CORPUS_DOC, renderCorpusDoc } from '../../tools/corpus-doc.ts';
import { CASES, SCENARIOS } from './corpus-cases.ts';

export function corpusDoc(): string {
  return renderCorpusDoc(CASES, SCENARIOS);
}

if (isMain(import.meta.url)) {
  const text = corpusDoc();
  let current = '';
  try {
    current = readFileSync(CORPUS_DOC, 'utf8');
  } catch {}
  if (process.argv.includes('--check')) {
    if (current !== text) {
      process.stderr.write('docs/what-it-catches.md is out of date: run npm run docs:corpus\n');
      process.exit(1);
    }
  } else {
    writeFileSync(CORPUS_DOC, text);
    process.stdout.write(`wrote docs/what-it-catches.md (${CASES.length} reports)\n`);
  }
}
