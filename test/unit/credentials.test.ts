// The one rule for secrets (docs/security.md): no module of the checks or the stages puts a
// token in a request itself, only checks/probes/credentialed.ts does; the credentials file is
// read only when its owner alone can read it; the environment's tokens never spread over a fleet.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { fleetCredentials, readCredentials } from '../../checks/areas/credentials.ts';
import { targetRefusal } from '../../checks/areas/probe-target.ts';
import type { ServerTarget } from '../../checks/areas/area.ts';
import { InputError } from '../../checks/core/errors.ts';
import { withheldMessage } from '../../checks/facts/http.ts';
import { plainHttpAllowed } from '../../checks/probes/credentialed.ts';
import { withheldFix } from '../../checks/rules/credentials.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const SENDER = 'checks/probes/credentialed.ts';
/** The lab's stand-in of lk-jwt-service: another program, which asks the federation API as the real one does. */
const OTHER_PROGRAMS = new Set(['test/lab/servers/jwt-service.ts']);

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The shapes of code that put a secret into a request: each with a line that does it. */
const SECRET_IN_REQUEST: [RegExp, string][] = [
  [/\bheaders\s*(?:\.\s*authorization|\[\s*['"`]authorization['"`]\s*\])/i, "headers['authorization'] = `Bearer ${token}`"],
  [/['"`]?\bauthorization['"`]?\s*:\s*[`'"]Bearer\s*(?:\$\{|['"]\s*\+)/i, 'headers: { authorization: `Bearer ${token}` }'],
  [/\bsetHeader\(\s*['"`]authorization/i, "request.setHeader('Authorization', value)"],
  [/access_token=\$\{/, 'fetch(`${url}?access_token=${encodeURIComponent(token)}`)'],
  [/searchParams\.(?:set|append)\(\s*(?:place\.name|['"`]access_token)/, "url.searchParams.set('access_token', token)"],
];

describe('one sender for requests with a secret', () => {
  it.each(SECRET_IN_REQUEST)('the pattern %s catches its example', (pattern, example) => {
    expect(pattern.test(example)).toBe(true);
  });

  it('only checks/probes/credentialed.ts puts a secret into a request (the lab and the bench included), and it does', () => {
    const offenders: string[] = [];
    const files = ['checks', 'scripts', 'test/lab/servers', 'sandbox', 'tools'].flatMap(sources).filter((f) => !OTHER_PROGRAMS.has(f));
    for (const file of files) {
      const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (SECRET_IN_REQUEST.some(([pattern]) => pattern.test(line))) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    const elsewhere = offenders.filter((o) => !o.startsWith(`${SENDER}:`));
    expect(elsewhere).toEqual([]);
    // The sender itself sets the Authorization header and the query parameter: the patterns see it.
    expect(offenders.filter((o) => o.startsWith(`${SENDER}:`)).length).toBeGreaterThanOrEqual(2);
  });

  it('plain HTTP carries a secret only to a loopback name on a loopback address', () => {
    expect(plainHttpAllowed('http://127.0.0.1:8008', '127.0.0.1')).toBe(true);
    expect(plainHttpAllowed('http://[::1]:8008', undefined)).toBe(true);
    expect(plainHttpAllowed('http://localhost:8008', '127.0.0.1')).toBe(true);
    // A loopback name routed elsewhere (--connect-to), and names or addresses beyond this machine.
    expect(plainHttpAllowed('http://localhost:8008', '203.0.113.5')).toBe(false);
    expect(plainHttpAllowed('http://matrix.example.org', '127.0.0.1')).toBe(false);
    expect(plainHttpAllowed('http://10.0.0.5:8008', '10.0.0.5')).toBe(false);
  });

  it('a refusal says which rule held and what to change, in one line, without the secret', () => {
    const base = { kind: 'access token', origin: 'https://matrix.example.org', from: '--homeserver' } as const;
    const cases = [
      [
        { ...base, rule: 'origin', url: 'https://evil.test/_matrix/client/v3/account/whoami' },
        'not sent to https://evil.test/_matrix/client/v3/account/whoami: the access token belongs to https://matrix.example.org (--homeserver), another origin',
        'If https://evil.test really is your homeserver, say so with --homeserver https://evil.test; otherwise nothing to do: the access token stayed on this machine',
      ],
      [
        { ...base, rule: 'tls', url: 'https://matrix.example.org/x', tlsError: 'DEPTH_ZERO_SELF_SIGNED_CERT' },
        'not sent to https://matrix.example.org/x: its certificate does not verify (DEPTH_ZERO_SELF_SIGNED_CERT), so no access token went over that connection',
        "Give matrix.example.org a certificate that verifies for that name (the playbook's Traefik gets one from Let's Encrypt), or trust your own CA with --ca-file CA.pem",
      ],
      [
        { ...base, rule: 'redirect', url: 'https://sso.example.net/login' },
        'not sent to https://sso.example.net/login: the answer redirected there, and the access token belongs to https://matrix.example.org (--homeserver)',
        'If https://sso.example.net is where your homeserver answers, give --homeserver https://sso.example.net (or serve it as m.homeserver in the client well-known)',
      ],
      [
        { ...base, rule: 'plain-http', url: 'http://matrix.example.org/x' },
        'not sent to http://matrix.example.org/x: plain HTTP carries no access token beyond this machine',
        'Use the https:// URL of the homeserver (--homeserver https://…, or m.homeserver in the client well-known)',
      ],
    ] as const;
    for (const [withheld, message, fix] of cases) {
      expect(withheldMessage(withheld)).toBe(message);
      expect(withheldFix(withheld)).toBe(fix);
    }
  });
});

describe('scoped credentials', () => {
  const dir = mkdtempSync(join(tmpdir(), 'credentials-'));
  const saved = { token: process.env.MATRIX_ACCESS_TOKEN, admin: process.env.MATRIX_ADMIN_TOKEN };
  afterEach(() => {
    for (const [name, value] of [
      ['MATRIX_ACCESS_TOKEN', saved.token],
      ['MATRIX_ADMIN_TOKEN', saved.admin],
    ] as const)
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, text: string, mode = 0o600) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    chmodSync(path, mode);
    return path;
  };
  const target = (host: string): ServerTarget => ({ name: { given: host, host, isIpLiteral: false }, expected: {} });

  it('reads each server’s tokens from a file only its owner can read', async () => {
    const path = file('ok.yml', 'Example.org:\n  access_token: syt_user\n  admin_token: syt_admin\nother.org:\n  admin_token: syt_other\n');
    const read = await readCredentials(path, '--credentials');
    expect(read.get('example.org')).toEqual({ auth: { kind: 'token', token: 'syt_user' }, adminToken: 'syt_admin' });
    expect(read.get('other.org')).toEqual({ adminToken: 'syt_other' });
  });

  it('refuses a file others can read, and entries it cannot read, in one line', async () => {
    const open = file('open.yml', 'example.org:\n  access_token: syt_user\n', 0o644);
    await expect(readCredentials(open, '--credentials')).rejects.toThrow(
      new InputError(`--credentials ${open}: readable by others (mode 644); it holds tokens: chmod 600 ${open}`),
    );
    const typo = file('typo.yml', 'example.org:\n  acess_token: syt_user\n');
    await expect(readCredentials(typo, '--credentials')).rejects.toThrow(
      `--credentials ${typo}: example.org: give access_token and/or admin_token as strings (unknown: acess_token)`,
    );
  });

  it('the environment’s tokens are refused for a fleet, and kept for an inventory of one server', async () => {
    process.env.MATRIX_ACCESS_TOKEN = 'syt_env';
    const inventory = join(dir, 'hosts');
    await expect(fleetCredentials([target('a.org'), target('b.org')], { inventory }, 'a fleet run')).rejects.toThrow(
      /^a fleet run: MATRIX_ACCESS_TOKEN and MATRIX_ADMIN_TOKEN belong to one server; give each server's tokens in --credentials FILE/,
    );
    await expect(fleetCredentials([target('a.org')], { list: 'servers.txt' } as never, 'a fleet run')).rejects.toThrow(InputError);
    const one = await fleetCredentials([target('a.org')], { inventory }, 'serve');
    expect([...one]).toEqual([['a.org', { auth: { kind: 'token', token: 'syt_env' } }]]);
  });
});

describe('exporter targets', () => {
  const resolvers = [{ label: 'none', endpoint: { host: '127.0.0.1', port: 9 } }];
  const ip = (host: string) => ({ given: host, host, isIpLiteral: true });

  it.each([
    ['127.0.0.1', '127.0.0.1 is a loopback address'],
    ['10.1.2.3', '10.1.2.3 is a private (RFC 1918 / ULA) address'],
    ['192.168.1.1', '192.168.1.1 is a private (RFC 1918 / ULA) address'],
    ['fd00::1', 'fd00::1 is a private (RFC 1918 / ULA) address'],
    ['100.64.0.1', '100.64.0.1 is a carrier-grade NAT (100.64.0.0/10) address'],
    ['169.254.169.254', '169.254.169.254 is a link-local address'],
    ['::ffff:127.0.0.1', '::ffff:127.0.0.1 is a loopback address'],
  ])('refuses %s by its address, without a lookup', async (host, reason) => {
    expect(await targetRefusal(ip(host), resolvers, 500)).toBe(reason);
  });

  it('refuses localhost by name', async () => {
    expect(await targetRefusal({ given: 'localhost', host: 'localhost', isIpLiteral: false }, resolvers, 500)).toBe(
      'localhost names this machine',
    );
  });

  it('lets a public address through', async () => {
    expect(await targetRefusal(ip('203.0.113.7'), resolvers, 500)).toBeUndefined();
  });
});
