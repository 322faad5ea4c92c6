// docs/what-it-catches.md is generated from the corpus (npm run docs:corpus) and kept current.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { specOf } from '../../checks/core/catalogue.ts';
import { CATALOGUE } from '../../checks/findings/index.ts';
import { CORPUS_DOC, exampleId } from '../../tools/corpus-doc.ts';
import { CASES } from '../lab/corpus-cases.ts';
import { corpusDoc } from '../lab/corpus-doc.ts';

describe('docs/what-it-catches.md', () => {
  it('is generated from the corpus and up to date (npm run docs:corpus)', () => {
    expect(readFileSync(CORPUS_DOC, 'utf8')).toBe(corpusDoc());
  });

  it('links every report, and every root cause is a declared finding', () => {
    const text = corpusDoc();
    for (const c of CASES) {
      expect(text).toContain(`(${c.url})`);
      expect(specOf(exampleId(c.root), CATALOGUE), c.url).toBeDefined();
    }
  });
});
