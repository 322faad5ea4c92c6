// The HTML report (checks/core/report-html.ts) without a browser: root causes from causedBy,
// escaping, the fix commands, the folded passes, the page's own Content-Security-Policy. The
// browser tests are in test/lab/report.test.ts.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../checks/core/finding.ts';
import { causeGroups, escapeHtml, renderHtml } from '../../checks/core/report-html.ts';
import { buildReport } from '../../checks/core/report.ts';

const f = (id: string, status: Finding['status'], extra: Partial<Finding> = {}): Finding => ({
  id,
  status,
  title: `${id} title`,
  ...(status === 'fail' || status === 'warn' ? { fix: `fix ${id}` } : {}),
  ...extra,
});

describe('root causes', () => {
  it('puts what others point to first, with what it causes beneath it, transitively', () => {
    const findings = [
      f('turn.udp.reach', 'fail', { causedBy: 'dns.record.matrix.a' }),
      f('wellknown.client.cors', 'fail'),
      f('federation.keys', 'warn', { causedBy: 'turn.udp.reach' }),
      f('dns.record.matrix.a', 'fail'),
      f('federation.version', 'pass', { causedBy: 'dns.record.matrix.a' }),
      f('dns.zone', 'info'),
    ];
    const groups = causeGroups(findings);
    expect(groups.map((g) => g.root.id)).toEqual(['dns.record.matrix.a', 'wellknown.client.cors']);
    expect(groups[0].caused.map((c) => c.id)).toEqual(['turn.udp.reach', 'federation.keys', 'federation.version']);
    expect(groups[1].caused).toEqual([]);
  });

  it('keeps a finding linked to an id not in the report, or in a cycle, as its own root', () => {
    const groups = causeGroups([
      f('a', 'fail', { causedBy: 'missing.id' }),
      f('b', 'fail', { causedBy: 'c' }),
      f('c', 'fail', { causedBy: 'b' }),
    ]);
    expect(groups.flatMap((g) => [g.root.id, ...g.caused.map((c) => c.id)]).sort()).toEqual(['a', 'b', 'c']);
    expect(groups.find((g) => g.root.id === 'a')?.caused).toEqual([]);
  });
});

describe('the page', () => {
  const report = buildReport('doctor', 'example.org', new Date('2026-01-01T00:00:00Z'), [
    f('wellknown.server.json', 'fail', {
      detail: 'Not a JSON object (starts with "<script>alert(1)</script>")',
      evidence: { body: '<img src=x onerror=alert(1)>', 'q\'"': '`' },
      fix: 'Serve exactly {"m.server": "matrix.example.org:443"}',
    }),
    f('dns.record.matrix.a', 'fail', { fix: 'Change the record at your DNS provider to: matrix.example.org. 3600 IN A 203.0.113.10' }),
    f('wellknown.client.cors', 'fail', {
      fix: 'Add the header: nginx `add_header Access-Control-Allow-Origin * always;` (npx tsx scripts/wellknown.ts --flavor nginx)',
    }),
    f('turn.relay', 'fail', {
      fix: "Set in vars.yml: coturn_turn_external_ip_addresses: ['203.0.113.10'] (behind NAT forward the ports), then run: ansible-playbook -i inventory/hosts setup.yml --tags=install-coturn,start-group (or: just install-service coturn)",
    }),
    f('dns.resolver.one', 'pass', { detail: 'Answered <b>20</b>' }),
    f('dns.zone', 'info'),
  ]);
  const html = renderHtml([report], { generatedAt: '2026-01-01T00:00:01Z' });

  it('escapes everything it shows: no markup from a finding reaches the page', () => {
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>20');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(escapeHtml(`<a href="x" title='y'>\`&`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&#96;&amp;');
    // One script only: the page's own.
    expect(html.match(/<script\b/g)).toHaveLength(1);
  });

  it('allows its own script by hash and nothing else from anywhere', () => {
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? '';
    expect(csp).toContain("default-src 'none'");
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    expect(csp).toContain(`'sha256-${createHash('sha256').update(script).digest('base64')}'`);
    expect(html).not.toMatch(/<[a-z]+\b[^>]*\bsrc=|<link\b|@import|url\(/);
  });

  it('makes the commands of the fixes copyable', () => {
    const copies = [...html.matchAll(/data-copy="([^"]*)"/g)].map((m) => m[1]);
    expect(copies).toEqual([
      'matrix.example.org. 3600 IN A 203.0.113.10',
      'add_header Access-Control-Allow-Origin * always;',
      'coturn_turn_external_ip_addresses: [&#39;203.0.113.10&#39;]',
      'ansible-playbook -i inventory/hosts setup.yml --tags=install-coturn,start-group',
    ]);
  });

  it('folds the passes and the notes away, after the root causes', () => {
    const roots = html.indexOf('Root causes first');
    const notes = html.indexOf('<details class="notes">');
    const passes = html.indexOf('<details class="passes">');
    expect(roots).toBeGreaterThan(0);
    expect(notes).toBeGreaterThan(roots);
    expect(passes).toBeGreaterThan(notes);
    expect(html).not.toMatch(/<details class="passes" open/);
    expect(html).toContain('Passed (1)');
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
  });

  it('shows a fleet worst first, and says when it is redacted', () => {
    const healthy = buildReport('doctor', 'b.example.org', new Date(), [f('dns.zone', 'pass')]);
    const page = renderHtml([healthy, report], { redacted: true });
    expect(page.indexOf('data-server="example.org"')).toBeLessThan(page.indexOf('data-server="b.example.org"'));
    expect(page).toContain('1 failing, 0 with warnings, 1 passing');
    expect(page).toContain('Redacted:');
    expect(page).toContain('Nothing to fix.');
  });
});
