// doctor's reports made to be shared: --redact (checks/core/redact.ts) over every format, the
// HTML page (checks/core/report-html.ts), and --output FILE, written whole or not at all.
import { renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { renderDoctorTable, renderFleetTable, renderPrometheus } from '../core/doctor-report.ts';
import { InputError } from '../core/errors.ts';
import { createRedactor } from '../core/redact.ts';
import { renderHtml } from '../core/report-html.ts';
import { renderJson } from '../core/report.ts';
import type { Plan } from '../plan/types.ts';
import type { ServerCredentials } from './credentials.ts';
import type { ServerResult } from './diagnose.ts';

/** The secrets a run may have used (from the environment, and the servers' own tokens): hidden wherever they would appear. */
export function settingsSecrets(servers: Iterable<ServerCredentials> = []): string[] {
  const fromEnv = ['MATRIX_ACCESS_TOKEN', 'MATRIX_ADMIN_TOKEN', 'MATRIX_PASSWORD', 'MATRIX_REGISTRATION_SHARED_SECRET', 'TURN_SECRET'].map(
    (name) => process.env[name]?.trim(),
  );
  const own = [...servers].flatMap((c) => [c.auth?.kind === 'token' ? c.auth.token : undefined, c.adminToken]);
  return [...fromEnv, ...own].filter((v): v is string => Boolean(v));
}

export interface SharedOutput {
  /** Undefined when the report goes to stdout unredacted in a terminal format (the command renders it). */
  prepare(results: ServerResult[], plan?: Plan, fleet?: boolean): { write(format: string, colour: boolean): number } | undefined;
}

/** Writes `text` to `path` through a temporary file beside it, so that a reader never sees half a report. */
export function writeWhole(path: string, text: string): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, text, { mode: 0o644 });
    renameSync(temporary, path);
  } catch (error) {
    throw new InputError(`--output ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

export function sharedOutput(values: { output?: string; redact?: boolean; format?: string }, secrets: readonly string[]): SharedOutput {
  if (values.output === '') throw new InputError('--output needs a file name');
  return {
    prepare(results, plan, fleet = false) {
      const html = values.format === 'html';
      if (!values.redact && values.output === undefined && !html) return undefined;
      let shown = results;
      if (values.redact) {
        const domains = [...results.map((r) => r.report.serverName), ...(plan ? [plan.serverName, plan.matrixHost] : [])];
        const planSecrets = plan ? Object.values(plan.secrets).filter((v): v is string => typeof v === 'string') : [];
        const redactor = createRedactor({ domains, secrets: [...secrets, ...planSecrets] });
        shown = redactor.redact(results.map((r) => ({ report: r.report, areas: r.areas })));
      }
      return {
        write(format, colour) {
          const toFile = values.output !== undefined;
          const reports = shown.map((r) => r.report);
          const text =
            format === 'html'
              ? renderHtml(reports, { redacted: values.redact, generatedAt: new Date().toISOString() })
              : format === 'json'
                ? fleet
                  ? `${reports.map((r) => JSON.stringify(r)).join('\n')}\n`
                  : renderJson(reports[0])
                : format === 'prom'
                  ? renderPrometheus(reports)
                  : fleet
                    ? renderFleetTable(reports, colour && !toFile)
                    : renderDoctorTable(reports[0], shown[0].areas, colour && !toFile);
          if (toFile) writeWhole(values.output!, text);
          else process.stdout.write(text);
          return Math.max(...results.map((r) => r.report.exitCode));
        },
      };
    },
  };
}
