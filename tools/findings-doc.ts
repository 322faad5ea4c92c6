// docs/findings.md, generated from the finding catalogue (checks/findings/):
//   npm run docs          writes it
//   npm run docs -- --check   exits 1 when the file is out of date
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { docsAnchor, type FindingSpec } from '../checks/core/catalogue.ts';
import { isMain } from '../checks/core/cli.ts';
import { CATALOGUE } from '../checks/findings/index.ts';

export const FINDINGS_DOC = join(import.meta.dirname, '..', 'docs', 'findings.md');

const AREA_TITLES: Record<string, string> = {
  dns: 'DNS',
  wellknown: '.well-known',
  federation: 'Federation',
  turn: 'TURN and MatrixRTC',
  doctor: 'doctor itself',
  prepare: 'The prepare stage',
};

function entry(spec: FindingSpec): string {
  const titles = spec.pass === spec.fail ? `“${spec.pass}”` : `passes as “${spec.pass}”, fails as “${spec.fail}”`;
  return `### \`${spec.id}\`\n<a id="${docsAnchor(spec)}"></a>\n\n${titles}\n\n${spec.about}\n`;
}

export function renderFindingsDoc(catalogue: readonly FindingSpec[] = CATALOGUE): string {
  const areas = [...new Set(catalogue.map((s) => s.area))];
  const sections = areas.map((area) => {
    const specs = catalogue.filter((s) => s.area === area);
    return `## ${AREA_TITLES[area] ?? area}\n\n${specs.map(entry).join('\n')}`;
  });
  return [
    '# Findings',
    '',
    '<!-- Generated from checks/findings/ by `npm run docs`; edit the catalogue, not this file. -->',
    '',
    `Every finding the toolkit can report, ${catalogue.length} in all, by area. An id with a \`{part}\``,
    'stands for a family of findings, one per host, address or port: the report fills it in.',
    'A finding is `pass`, `info`, `skip`, `warn` or `fail`; every `warn` and `fail` comes with a fix.',
    '',
    ...areas.map((area) => `- [${AREA_TITLES[area] ?? area}](#${docsAnchor({ id: AREA_TITLES[area] ?? area })})`),
    '',
    sections.join('\n'),
  ].join('\n');
}

if (isMain(import.meta.url)) {
  const text = renderFindingsDoc();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(FINDINGS_DOC, 'utf8');
    } catch {}
    if (current !== text) {
      process.stderr.write('docs/findings.md is out of date: run npm run docs\n');
      process.exit(1);
    }
  } else {
    writeFileSync(FINDINGS_DOC, text);
    process.stdout.write(`wrote docs/findings.md (${CATALOGUE.length} findings)\n`);
  }
}
