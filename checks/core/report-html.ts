// doctor's report as one self-contained HTML page to share (doctor --format html --output FILE):
// no external asset and no network (a Content-Security-Policy forbids any, and allows only the
// page's own copy script by its hash), root causes first with what they cause beneath them, each
// finding with its detail, fix and evidence, the commands in the fix copyable, the passes folded
// away. Everything shown is escaped: a hostile body quoted in a finding is text, never markup.
// Pure: no I/O.
import { createHash } from 'node:crypto';
import { STATUS_ORDER, type Finding, type Status } from './finding.ts';
import type { Report } from './report.ts';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' })[c] ?? c);
}

/** A root cause and the findings it causes (through causedBy, transitively). */
export interface CauseGroup {
  root: Finding;
  caused: Finding[];
}

const problem = (f: Finding) => f.status === 'fail' || f.status === 'warn';
const byStatus = (a: Finding, b: Finding) => STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status);

/**
 * The failures and warnings grouped under their root causes: a finding others point to through
 * causedBy (and that points nowhere) is a root; a failure without a link is its own root. Roots
 * that cause the most come first, then by status. Links to an id not in the report, and cycles,
 * leave the finding as its own root.
 */
export function causeGroups(findings: readonly Finding[]): CauseGroup[] {
  const byId = new Map(findings.map((f) => [f.id, f] as const));
  const rootOf = (f: Finding): Finding => {
    const seen = new Set<string>([f.id]);
    let at = f;
    while (at.causedBy && byId.has(at.causedBy)) {
      // A cycle names no root: the finding stands alone.
      if (seen.has(at.causedBy)) return f;
      seen.add(at.causedBy);
      at = byId.get(at.causedBy)!;
    }
    return at;
  };
  const groups = new Map<string, CauseGroup>();
  for (const f of findings) {
    const root = rootOf(f);
    if (root === f) {
      if (problem(f) && !groups.has(f.id)) groups.set(f.id, { root: f, caused: [] });
      continue;
    }
    if (!problem(f) && !problem(root)) continue;
    const group = groups.get(root.id) ?? { root, caused: [] };
    groups.set(root.id, group);
    group.caused.push(f);
  }
  for (const group of groups.values()) group.caused.sort(byStatus);
  return [...groups.values()].sort((a, b) => byStatus(a.root, b.root) || b.caused.length - a.caused.length);
}

const LABEL: Record<Status, string> = { fail: 'FAIL', warn: 'WARN', skip: 'SKIP', info: 'INFO', pass: 'PASS' };
const areaOf = (f: Finding) => f.id.split('.')[0];

/** The fix with `code` and each command copyable: backquoted parts, else commands after "run:" or a DNS record. */
function renderFix(fix: string): string {
  const parts = fix.split(/`([^`]+)`/);
  const commands: string[] = [];
  const prose = parts
    .map((part, i) => {
      if (i % 2 === 1) {
        commands.push(part);
        return `<code>${escapeHtml(part)}</code>`;
      }
      return escapeHtml(part);
    })
    .join('');
  if (commands.length === 0) {
    // "… to: matrix.example.org. 3600 IN A …", "… vars.yml: key: value (…), then run: ansible-playbook …"
    for (const match of fix.matchAll(/(?:\brun|\bto|DNS provider|vars\.yml):\s+(.+?)(?=\s+\((?:or|behind|e\.g\.)|,\s+then\b|$)/g))
      commands.push(match[1]);
  }
  const blocks = commands
    .map(
      (command) =>
        `<div class="cmd"><pre><code>${escapeHtml(command)}</code></pre><button type="button" class="copy" data-copy="${escapeHtml(command)}">Copy</button></div>`,
    )
    .join('');
  return `<div class="fix"><strong>Fix:</strong> ${prose}${blocks}</div>`;
}

function renderEvidence(evidence: Record<string, unknown> | undefined): string {
  if (!evidence || Object.keys(evidence).length === 0) return '';
  return `<details class="evidence"><summary>Evidence</summary><pre>${escapeHtml(JSON.stringify(evidence, null, 2))}</pre></details>`;
}

function renderFinding(f: Finding, tag: 'article' | 'li' = 'article', causes = ''): string {
  const body = [
    `<header><span class="badge ${f.status}">${LABEL[f.status]}</span> <span class="title">${escapeHtml(f.title)}</span> <code class="id">${escapeHtml(f.id)}</code></header>`,
    f.detail ? `<p class="detail">${escapeHtml(f.detail)}</p>` : '',
    f.fix && problem(f) ? renderFix(f.fix) : '',
    f.causedBy ? `<p class="because">Caused by <a href="#${escapeHtml(anchor(f.causedBy))}">${escapeHtml(f.causedBy)}</a></p>` : '',
    renderEvidence(f.evidence),
    causes,
  ];
  return `<${tag} class="finding ${f.status}" id="${escapeHtml(anchor(f.id))}" data-id="${escapeHtml(f.id)}" data-status="${f.status}">${body.join('')}</${tag}>`;
}

const anchor = (id: string) => `f-${id.replace(/[^A-Za-z0-9_.-]/g, '_')}`;

function renderGroup(group: CauseGroup): string {
  const caused = group.caused.length
    ? `<div class="caused"><p>This causes ${group.caused.length} more finding${group.caused.length === 1 ? '' : 's'}:</p><ul>${group.caused
        .map((f) => renderFinding(f, 'li'))
        .join('')}</ul></div>`
    : '';
  return renderFinding(group.root, 'article', caused).replace('class="finding ', 'class="finding root ');
}

function folded(title: string, findings: readonly Finding[], className: string): string {
  if (findings.length === 0) return '';
  const areas = [...new Set(findings.map(areaOf))];
  const lists = areas
    .map((area) => {
      const items = findings.filter((f) => areaOf(f) === area);
      return `<h3>${escapeHtml(area)} (${items.length})</h3><ul class="plain">${items
        .map(
          (f) =>
            `<li class="finding ${f.status}" data-id="${escapeHtml(f.id)}" data-status="${f.status}"><span class="badge ${f.status}">${LABEL[f.status]}</span> <span class="title">${escapeHtml(f.title)}</span> <code class="id">${escapeHtml(f.id)}</code>${f.detail ? `<div class="detail">${escapeHtml(f.detail)}</div>` : ''}${renderEvidence(f.evidence)}</li>`,
        )
        .join('')}</ul>`;
    })
    .join('');
  return `<details class="${className}"><summary>${escapeHtml(title)} (${findings.length})</summary>${lists}</details>`;
}

function renderServer(report: Report): string {
  const groups = causeGroups(report.findings);
  const shown = new Set(groups.flatMap((g) => [g.root.id, ...g.caused.map((f) => f.id)]));
  const rest = report.findings.filter((f) => !shown.has(f.id));
  const s = report.summary;
  const verdict = report.exitCode === 2 ? 'fail' : report.exitCode === 1 ? 'warn' : 'pass';
  const counts = STATUS_ORDER.filter((st) => s[st] > 0)
    .map((st) => `<span class="badge ${st}">${s[st]} ${LABEL[st].toLowerCase()}</span>`)
    .join(' ');
  return `<section class="server" data-server="${escapeHtml(report.serverName)}">
<h2><span class="badge ${verdict}">${LABEL[verdict]}</span> ${escapeHtml(report.serverName)}</h2>
<p class="summary">${counts} <span class="when">checked ${escapeHtml(report.startedAt)} in ${(report.durationMs / 1000).toFixed(1)} s</span></p>
${
  groups.length
    ? `<h3 class="roots-title">Root causes first (${groups.length})</h3><div class="roots">${groups.map(renderGroup).join('\n')}</div>`
    : '<p class="allgood">Nothing to fix.</p>'
}
${folded(
  'Skipped and informational',
  rest.filter((f) => f.status !== 'pass'),
  'notes',
)}
${folded(
  'Passed',
  rest.filter((f) => f.status === 'pass'),
  'passes',
)}
</section>`;
}

// Copies a fix to the clipboard; the CSP allows this script alone, by its hash.
const SCRIPT = `document.addEventListener('click', function (event) {
  var button = event.target.closest && event.target.closest('button.copy');
  if (!button) return;
  var text = button.getAttribute('data-copy');
  var say = function (words) { button.textContent = words; setTimeout(function () { button.textContent = 'Copy'; }, 2000); };
  var fallback = function () {
    var area = document.createElement('textarea');
    area.value = text; document.body.appendChild(area); area.select();
    var ok = false; try { ok = document.execCommand('copy'); } catch (e) {}
    area.remove();
    if (ok) { say('Copied'); return; }
    var code = button.parentNode.querySelector('code'); var range = document.createRange(); range.selectNodeContents(code);
    var selection = window.getSelection(); selection.removeAllRanges(); selection.addRange(range); say('Selected');
  };
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(function () { say('Copied'); }, fallback);
  else fallback();
});`;

const STYLE = `
:root { color-scheme: light dark; --fail: #c62828; --warn: #b26a00; --pass: #2e7d32; --info: #1565c0; --skip: #616161; --line: #8884; --code: #8881; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 72rem; padding: 1rem; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; overflow-wrap: anywhere; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; } h2 { font-size: 1.25rem; margin: 1.5rem 0 .25rem; } h3 { font-size: 1rem; margin: 1rem 0 .5rem; }
.badge { display: inline-block; padding: 0 .45em; border-radius: .3em; font-size: .8rem; font-weight: 700; color: #fff; vertical-align: .1em; }
.badge.fail { background: var(--fail); } .badge.warn { background: var(--warn); } .badge.pass { background: var(--pass); }
.badge.info { background: var(--info); } .badge.skip { background: var(--skip); }
.summary .when { color: var(--skip); font-size: .9rem; }
.roots { display: grid; gap: .75rem; grid-template-columns: 1fr; }
@media (min-width: 64rem) { .roots { grid-template-columns: 1fr 1fr; } }
.finding { border: 1px solid var(--line); border-left: .3rem solid var(--skip); border-radius: .4rem; padding: .6rem .8rem; min-width: 0; }
.finding.fail { border-left-color: var(--fail); } .finding.warn { border-left-color: var(--warn); } .finding.pass { border-left-color: var(--pass); } .finding.info { border-left-color: var(--info); }
.finding header .title { font-weight: 600; }
code.id { font-size: .8rem; color: var(--skip); }
.detail { margin: .4rem 0; }
.fix { background: var(--code); border-radius: .3rem; padding: .5rem .6rem; margin: .4rem 0; }
.cmd { display: flex; gap: .5rem; align-items: flex-start; margin-top: .4rem; }
pre { margin: 0; padding: .4rem .5rem; background: var(--code); border-radius: .3rem; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; font-size: .85rem; flex: 1; min-width: 0; }
button.copy { flex: none; font: inherit; font-size: .85rem; padding: .25rem .7rem; border-radius: .3rem; border: 1px solid var(--line); background: Canvas; color: CanvasText; cursor: pointer; }
.caused ul, ul.plain { list-style: none; padding: 0; margin: .3rem 0; display: grid; gap: .4rem; }
.caused { margin-top: .5rem; } .caused p { margin: .2rem 0; font-size: .9rem; }
details > summary { cursor: pointer; font-weight: 600; padding: .3rem 0; }
details.notes, details.passes { border-top: 1px solid var(--line); margin-top: 1rem; }
.evidence summary { font-weight: 400; font-size: .85rem; }
footer { margin-top: 2rem; color: var(--skip); font-size: .85rem; }
`;

export interface HtmlOptions {
  /** When the page was written (shown; not read from the clock, so the renderer stays pure). */
  generatedAt?: string;
  redacted?: boolean;
}

/** One page for one server or a fleet. */
export function renderHtml(reports: readonly Report[], options: HtmlOptions = {}): string {
  const scriptHash = createHash('sha256').update(SCRIPT).digest('base64');
  const csp = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${scriptHash}'; img-src data:; base-uri 'none'; form-action 'none'`;
  const title = reports.length === 1 ? `doctor for ${reports[0].serverName}` : `doctor for ${reports.length} servers`;
  const failing = reports.filter((r) => r.exitCode === 2).length;
  const fleet =
    reports.length > 1
      ? `<p class="summary">${failing} failing, ${reports.filter((r) => r.exitCode === 1).length} with warnings, ${reports.filter((r) => r.exitCode === 0).length} passing</p>`
      : '';
  const ordered = [...reports].sort((a, b) => b.exitCode - a.exitCode || a.serverName.localeCompare(b.serverName));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${fleet}${options.redacted ? '<p class="summary">Redacted: names, addresses, user and room ids and tokens are placeholders.</p>' : ''}
${ordered.map(renderServer).join('\n')}
<footer>matrix-selfhost-toolkit doctor${options.generatedAt ? `, ${escapeHtml(options.generatedAt)}` : ''}. Every failure and warning comes with its fix.</footer>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
