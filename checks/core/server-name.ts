// Validation of the server name given on a command line (the part after ':' in user ids).
// Grammar: Matrix spec appendix "Server Name"; MDAD additionally rejects upper case
// (docs/playbook.md "vars.yml and the playbook's validation").
import { domainToASCII } from 'node:url';
import { InputError } from './errors.ts';
import { canonicalIp } from './net.ts';

export interface ServerName {
  /** As given (after trimming). */
  given: string;
  /** The ASCII (punycode) host, lower case, no port. */
  host: string;
  port?: number;
  isIpLiteral: boolean;
  /** True when the given name was an internationalized name converted to punycode. */
  converted: boolean;
}

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export function parseServerName(input: string, options: { allowMatrixPrefix?: boolean } = {}): ServerName {
  const given = input.trim();
  if (given === '') throw new InputError('the server name is empty; give the base domain, e.g. example.org');
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(given);
  if (scheme || /[/?#]/.test(given)) {
    const bare = given.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/[/?#].*$/, '');
    throw new InputError(`"${given}" is a URL; give the server name alone, without scheme or path: ${bare}`);
  }
  if (given !== given.toLowerCase()) {
    throw new InputError(
      `"${given}" has upper case; server names are case-sensitive and MDAD refuses upper case: use ${given.toLowerCase()}`,
    );
  }
  const { host: rawHost, port } = splitPort(given);
  const ip = canonicalIp(rawHost);
  if (ip !== undefined && rawHost.includes(':') && !rawHost.startsWith('[')) {
    throw new InputError(`"${given}": an IPv6 server name must be in brackets, e.g. [${ip}]`);
  }
  if (ip !== undefined) return { given, host: ip, port, isIpLiteral: true, converted: false };
  if (rawHost.includes(':')) throw new InputError(`"${given}": an IPv6 server name must be in brackets, e.g. [2001:db8::1]`);
  const host = domainToASCII(rawHost.replace(/\.$/, ''));
  if (host === '' || !DNS_NAME.test(host)) throw new InputError(`"${given}" is not a valid domain name`);
  if (host.startsWith('matrix.') && !options.allowMatrixPrefix) {
    const base = host.slice('matrix.'.length);
    throw new InputError(
      `"${given}" starts with "matrix.": user ids would become @alice:${host}. Give the base domain (${base}); ` +
        `if that is really intended, pass --vars with matrix_domain: ${host}`,
    );
  }
  return { given, host, port, isIpLiteral: false, converted: host !== rawHost.replace(/\.$/, '') };
}

function splitPort(name: string): { host: string; port?: number } {
  const bracketed = /^(\[[^\]]+\])(?::(\d{1,5}))?$/.exec(name);
  if (bracketed) return withPort(bracketed[1], bracketed[2], name);
  const colons = name.split(':').length - 1;
  if (colons === 1) {
    const [host, port] = name.split(':');
    return withPort(host, port, name);
  }
  return { host: name };
}

function withPort(host: string, port: string | undefined, name: string): { host: string; port?: number } {
  if (port === undefined) return { host };
  const value = Number(port);
  if (!/^\d{1,5}$/.test(port) || value < 1 || value > 65535) throw new InputError(`"${name}" has an invalid port`);
  return { host, port: value };
}

export type GrammarResult =
  | { ok: true; host: string; port?: number; isIpLiteral: boolean }
  | { ok: false; problem: string; suggestion?: string };

// Spec appendix "Server Name": hostname [":" port]; DNS names of 1–255 chars from A-Z a-z 0-9 - .
const GRAMMAR_DNS = /^[A-Za-z0-9.-]{1,255}$/;

/**
 * The spec's server-name grammar, for names found in documents (m.server, SRV targets): never
 * throws; says what is wrong and, for the classic mistakes (a scheme, a path), the fixed value.
 */
export function parseServerNameGrammar(value: string): GrammarResult {
  if (value === '') return { ok: false, problem: 'it is empty' };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value);
  if (scheme || /[/?#]/.test(value)) {
    const bare = value.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/[/?#].*$/, '');
    return { ok: false, problem: scheme ? `it has a scheme (${scheme[1]}://)` : 'it has a path', suggestion: bare || undefined };
  }
  let split: { host: string; port?: number };
  try {
    split = splitPort(value);
  } catch {
    return { ok: false, problem: 'its port is not a number from 1 to 65535' };
  }
  const bracketed = split.host.startsWith('[');
  const ip = canonicalIp(split.host);
  if (ip !== undefined) {
    if (ip.includes(':') && !bracketed) return { ok: false, problem: 'an IPv6 address must be in brackets', suggestion: `[${ip}]` };
    return { ok: true, host: ip, port: split.port, isIpLiteral: true };
  }
  if (!GRAMMAR_DNS.test(split.host)) return { ok: false, problem: `"${split.host}" is not a host name` };
  return { ok: true, host: split.host, port: split.port, isIpLiteral: false };
}
