// The command-line contract shared by every check (docs/architecture.md "Command-line contract").
import type { ParseArgsConfig } from 'node:util';
import { parseCommandLine } from './command-line.ts';
import { InputError } from './errors.ts';
import { readInputFileSync } from './input-file.ts';
import { parseServerName } from './server-name.ts';
import { getServers } from 'node:dns';
import { formatEndpoint, parseEndpoint, type Endpoint } from './net.ts';
import type { NamedServer } from './net.ts';
import type { ConnectTo } from './net.ts';
import { buildReport, renderJson, renderTable, useColour } from './report.ts';
import type { Finding } from './finding.ts';
import { recordFindings } from './catalogue.ts';

export { COMMON_HELP, COMMON_OPTIONS, HELP_WITHOUT_CONNECT_TO, isMain, OPTIONS_WITHOUT_CONNECT_TO } from './check-start.ts';

export { parseCommandLine } from './command-line.ts';

/**
 * The start every check shares: --help, then one server name or a configuration (--vars or
 * --playbook), and the timeout. Returns undefined when the help was printed.
 */
export function parseCheckCommand<O extends ParseArgsConfig['options']>(argv: string[], options: O, help: string) {
  const { values, positionals } = parseCommandLine(argv, options);
  const common = values as { help?: boolean; vars?: string; playbook?: string; timeout: string };
  if (common.help) {
    process.stdout.write(`${help}\n`);
    return undefined;
  }
  if (positionals.length > 1) throw new InputError(`one server name expected, got ${positionals.length}: ${positionals.join(' ')}`);
  const configured = common.vars !== undefined || common.playbook !== undefined;
  const name = positionals[0] === undefined ? undefined : parseServerName(positionals[0], { allowMatrixPrefix: configured });
  if (!name && !configured) throw new InputError('give the server name (e.g. example.org), or --vars/--playbook');
  return { values, name, configured, timeoutMs: parseTimeout(common.timeout) };
}

export function parseTimeout(text: string): number {
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 300) {
    throw new InputError(`--timeout must be a number of seconds between 0 and 300, got "${text}"`);
  }
  return Math.round(seconds * 1000);
}

export function parseResolvers(values: readonly string[]): Endpoint[] {
  return values.map((value) => {
    const endpoint = parseEndpoint(value, 53);
    if (!endpoint) throw new InputError(`--resolver "${value}" is not an IP address with an optional port (IP, IP:PORT, [IPv6]:PORT)`);
    return endpoint;
  });
}

/** The --resolver servers, then the given extras; the system's resolvers when there are none. */
export function namedResolvers(values: readonly string[], extra: readonly NamedServer[] = []): NamedServer[] {
  const given = [...parseResolvers(values).map((endpoint) => ({ label: formatEndpoint(endpoint), endpoint })), ...extra];
  return given.length > 0 ? given : systemResolvers();
}

function systemResolvers(): NamedServer[] {
  return getServers().flatMap((server) => {
    const endpoint = parseEndpoint(server, 53);
    return endpoint ? [{ label: `${formatEndpoint(endpoint)} (system)`, endpoint }] : [];
  });
}

export function parseConnectTo(values: readonly string[]): ConnectTo[] {
  return values.map((value) => {
    const match = /^([^:\[\]]+):(\d{1,5}):(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(value);
    const target = match ? parseEndpoint(`${match[3]}:${match[4]}`, 0) : undefined;
    if (!match || !target || Number(match[2]) < 1 || Number(match[2]) > 65535) {
      throw new InputError(`--connect-to "${value}" is not HOST:PORT:ADDRESS:PORT (e.g. example.org:443:192.0.2.10:443)`);
    }
    return { host: match[1].toLowerCase(), port: Number(match[2]), address: target.host, toPort: target.port };
  });
}

export function readCaFile(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const text = readInputFileSync(path, '--ca-file');
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new InputError(`--ca-file ${path}: no PEM certificate in it`);
  return text;
}

export interface CheckOutput {
  check: string;
  serverName: string;
  started: Date;
  findings: Finding[];
  extra?: Record<string, unknown>;
  /** Printed after the table (never in --json mode). */
  appendix?: string;
}

/** Prints the report as asked and returns the exit code. */
export function emitReport(output: CheckOutput, json: boolean): number {
  const report = buildReport(output.check, output.serverName, output.started, output.findings, output.extra);
  recordFindings(report.findings);
  if (json) process.stdout.write(renderJson(report));
  else process.stdout.write(renderTable(report, useColour(process.stdout)) + (output.appendix ? `\n${output.appendix}` : ''));
  return report.exitCode;
}

/** How an error ends a command: expected ones are their message alone, others get `label`. */
export interface ErrorEnding {
  expected: boolean;
  label: string;
  code: number;
}

/**
 * Runs a main function: its error becomes one line on stderr and the exit code `ending` gives,
 * without a stack trace unless DEBUG is set (and the error was not expected). Output is flushed
 * before exiting.
 */
export function runMain(name: string, main: () => Promise<number>, ending: (error: unknown) => ErrorEnding): void {
  quietOnClosedPipe();
  main().then(
    (code) => exitAfterFlush(code),
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      const { expected, label, code } = ending(error);
      process.stderr.write(expected ? `${name}: ${message}\n` : `${name}: ${label}: ${message}\n`);
      if (!expected && process.env.DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
      exitAfterFlush(code);
    },
  );
}

/** A check: bad input and anything unexpected exit 3 (the check could not run). */
export function runCommand(name: string, main: () => Promise<number>): void {
  runMain(name, main, (error) => ({ expected: error instanceof InputError, label: 'could not run', code: 3 }));
}

function exitAfterFlush(code: number): void {
  // Exit explicitly: a probe's abandoned socket must not keep the process alive.
  process.stdout.write('', () => process.exit(code));
}

/**
 * The reader of stdout went away (`… | head`): the rest of the output is dropped, without a
 * stack trace; the work goes on to its end and its own exit code (a stage is never cut short).
 */
function quietOnClosedPipe(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
}
