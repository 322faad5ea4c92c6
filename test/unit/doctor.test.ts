// doctor's own logic without network: a crashing or hanging area becomes a finding and the
// other areas still report; fleet concurrency is bounded; the renderings.
import { describe, expect, it } from 'vitest';
import type { Area, RunSettings, ServerTarget } from '../../checks/areas/area.ts';
import { diagnose } from '../../checks/areas/diagnose.ts';
import { mapBounded } from '../../checks/areas/fleet.ts';
import type { Finding } from '../../checks/core/finding.ts';
import { renderFleetTable, renderPrometheus } from '../../checks/core/doctor-report.ts';
import { buildReport } from '../../checks/core/report.ts';

const target: ServerTarget = { name: { given: 'example.org', host: 'example.org', isIpLiteral: false }, expected: {} };
const settings = (areas: string[]): RunSettings => ({ resolvers: [], timeoutMs: 50, areas });
/** An area whose gathering is `run` and whose judging passes the findings on. */
function area(id: string, run: () => Promise<Finding[]>): Area<Finding[]> {
  return { id, title: id, gather: run, judge: (findings) => ({ findings }) };
}

describe('doctor isolates areas', () => {
  it('turns a crash and a hang into findings while the healthy area reports', async () => {
    const registry = [
      area('healthy', async () => [{ id: 'healthy.ok', status: 'pass', title: 'fine' }]),
      area('crashing', async () => {
        throw new Error('rule exploded');
      }),
      area('hanging', () => new Promise(() => {})),
    ];
    const started = performance.now();
    const { report } = await diagnose(target, settings(['healthy', 'crashing', 'hanging']), registry);
    expect(performance.now() - started).toBeLessThan(2000);
    const byId = Object.fromEntries(report.findings.map((f) => [f.id, f]));
    expect(byId['healthy.ok'].status).toBe('pass');
    expect(byId['doctor.crashing.crashed']).toMatchObject({ status: 'skip', detail: 'Could not run: rule exploded' });
    expect(byId['doctor.hanging.unfinished'].detail).toContain('Did not finish within 1100 ms');
  });
});

describe('doctor reports a judgement once', () => {
  it("drops the TURN area's focus finding when the well-known area made the same one", async () => {
    const registry = [
      area('first', async () => [{ id: 'wellknown.client.rtc_foci', status: 'pass', title: 'focus' }]),
      area('second', async () => [
        { id: 'turn.rtc.foci', status: 'pass', title: 'focus' },
        { id: 'turn.rtc.jwt-service', status: 'pass', title: 'jwt' },
      ]),
    ];
    const { report, areas } = await diagnose(target, settings(['first', 'second']), registry);
    expect(report.findings.map((f) => f.id)).toEqual(['wellknown.client.rtc_foci', 'turn.rtc.jwt-service']);
    expect(areas.second.findings.map((f) => f.id)).toEqual(['turn.rtc.jwt-service']);
  });
});

describe('mapBounded', () => {
  it('never runs more than the limit at once and keeps the order', async () => {
    let running = 0;
    let peak = 0;
    const results = await mapBounded([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 10 * (8 - n)));
      running--;
      return n * 2;
    });
    expect(results).toEqual([2, 4, 6, 8, 10, 12, 14]);
    expect(peak).toBe(3);
  });
});

describe('renderings', () => {
  const report = buildReport('doctor', 'exa"mple.org', new Date(), [
    { id: 'dns.record.matrix.a', status: 'fail', title: 'matrix A', fix: 'add it' },
    { id: 'federation.discovery', status: 'info', title: 'discovery' },
  ]);

  it('escapes Prometheus label values', () => {
    const text = renderPrometheus([report]);
    expect(text).toContain('matrix_doctor_findings{server="exa\\"mple.org",status="fail"} 1');
    expect(text).toContain('matrix_doctor_check_status{server="exa\\"mple.org",id="dns.record.matrix.a",status="fail"} 2');
    expect(text).toContain('matrix_doctor_exit_code{server="exa\\"mple.org"} 2');
  });

  it('summarizes a fleet with the worst finding of each server', () => {
    const healthy = buildReport('doctor', 'good.example', new Date(), [{ id: 'x.y', status: 'pass', title: 'ok' }]);
    const text = renderFleetTable([healthy, report]);
    expect(text.indexOf('exa"mple.org')).toBeLessThan(text.indexOf('good.example'));
    expect(text).toContain('matrix A (dns.record.matrix.a)');
    expect(text).toContain('1 failing, 0 with warnings, 1 passing');
  });
});
