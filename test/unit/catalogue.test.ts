// The finding catalogue: its machinery, its declarations, docs/findings.md kept in step with it,
// and rules that emit only through it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { declareFindings, docsAnchor, emit, idPattern, specOf } from '../../checks/core/catalogue.ts';
import { CATALOGUE } from '../../checks/findings/index.ts';
import { FINDINGS_DOC, renderFindingsDoc } from '../../tools/findings-doc.ts';

const ROOT = join(import.meta.dirname, '..', '..');

describe('catalogue machinery', () => {
  // The demo declarations below are not the project's: keep them out of npm test's recorder.
  const recorder = process.env.FINDINGS_RECORD;
  beforeAll(() => {
    delete process.env.FINDINGS_RECORD;
  });
  afterAll(() => {
    if (recorder !== undefined) process.env.FINDINGS_RECORD = recorder;
  });

  const SPECS = declareFindings('demo', {
    plain: { id: 'demo.record.a', pass: 'A record', fail: 'A record is wrong', about: 'About it.' },
    perTarget: { id: 'demo.{target}.tls', pass: '{label} TLS', fail: '{label} TLS fails', about: 'About it.' },
  });

  it('takes the pass title for pass, info and skip, the failure title for warn and fail', () => {
    expect(emit(SPECS.plain, 'pass').title).toBe('A record');
    expect(emit(SPECS.plain, 'info').title).toBe('A record');
    expect(emit(SPECS.plain, 'skip').title).toBe('A record');
    expect(emit(SPECS.plain, 'warn', { detail: 'd', fix: 'f' })).toEqual({
      id: 'demo.record.a',
      status: 'warn',
      title: 'A record is wrong',
      detail: 'd',
      fix: 'f',
    });
    expect(emit(SPECS.plain, 'fail').title).toBe('A record is wrong');
  });

  it('fills an id pattern with idPart and the titles with the value as it is', () => {
    const finding = emit(SPECS.perTarget, 'fail', {}, { target: '[2001:db8::10]:443', label: '[2001:db8::10]:443 (IPv6)' });
    expect(finding).toMatchObject({ id: 'demo.2001_db8_10_443.tls', title: '[2001:db8::10]:443 (IPv6) TLS fails' });
    expect(() => emit(SPECS.perTarget, 'pass', {}, { target: 'x' })).toThrow(/needs \{label\}/);
  });

  it('matches emitted ids to their declaration, one id part a placeholder', () => {
    const specs = Object.values(SPECS);
    expect(specOf('demo.record.a', specs)).toBe(SPECS.plain);
    expect(specOf('demo.192_0_2_1_8448.tls', specs)).toBe(SPECS.perTarget);
    expect(specOf('demo.a.b.tls', specs)).toBeUndefined();
    expect(specOf('demo.record.aaaa', specs)).toBeUndefined();
    expect(idPattern(SPECS.perTarget).test('demo..tls')).toBe(false);
  });

  it('refuses a declaration filed under another area', () => {
    expect(() => declareFindings('dns', { x: { id: 'turn.x', pass: 'x', fail: 'x', about: 'x' } })).toThrow(/declared in area dns/);
  });
});

describe('the catalogue', () => {
  it('declares every area the registry runs, and doctor and prepare', () => {
    const areas = new Set(CATALOGUE.map((s) => s.area));
    for (const area of ['dns', 'wellknown', 'federation', 'turn', 'doctor', 'prepare']) expect(areas).toContain(area);
  });

  it('has unique ids and anchors, titles and an explanation for each', () => {
    const ids = CATALOGUE.map((s) => s.id);
    expect(ids.length).toBe(new Set(ids).size);
    const anchors = CATALOGUE.map(docsAnchor);
    expect(anchors.length).toBe(new Set(anchors).size);
    for (const spec of CATALOGUE) {
      expect(spec.id, spec.id).toMatch(/^[a-z]+(\.([a-z0-9_-]+|\{\w+\}|[a-z0-9_-]*\{\w+\}[a-z0-9_-]*))+$/);
      expect(spec.pass.trim(), spec.id).not.toBe('');
      expect(spec.fail.trim(), spec.id).not.toBe('');
      expect(spec.about.length, spec.id).toBeGreaterThan(40);
    }
  });

  it('no declared pattern swallows another declaration', () => {
    for (const spec of CATALOGUE) {
      const other = CATALOGUE.find((s) => s !== spec && s.id.includes('{') && idPattern(s).test(spec.id));
      expect(other?.id, spec.id).toBeUndefined();
    }
  });

  it('docs/findings.md is generated from it and up to date (npm run docs)', () => {
    expect(readFileSync(FINDINGS_DOC, 'utf8')).toBe(renderFindingsDoc());
  });
});

describe('rules emit only through the catalogue', () => {
  // Everything but the catalogue itself, which is where ids are written.
  const sources = ['checks', 'scripts', 'sandbox']
    .flatMap((dir) => readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' }).map((f) => join(dir, f)))
    .filter((f) => f.endsWith('.ts') && !f.startsWith('checks/findings/'));

  it('no finding is written as an object literal', () => {
    const literals = sources.flatMap((file) =>
      readFileSync(join(ROOT, file), 'utf8')
        .split('\n')
        .map((line, i) => [line, i + 1] as const)
        .filter(([line]) => /\bid:\s*[`'"][a-z]+\.[^`'"]*[`'"]/.test(line) && !/^\s*(\/\/|\/\*|\*)/.test(line))
        .map(([line, n]) => `${file}:${n}: ${line.trim()}`),
    );
    expect(literals).toEqual([]);
  });
});
