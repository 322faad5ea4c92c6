// Faults the HTTP-based checks must survive: redirect loops and endless redirects, an oversized
// body, garbage, a server that accepts and never speaks TLS, and one that never answers HTTP.
// Each must end as a finding with its cause, within --timeout. Real nginx serves the first four.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import tls from 'node:tls';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startNginx, type RunningNginx } from './servers/nginx.ts';
import { createLabPki, issueCertificate } from './servers/certs.ts';
import { startDnsServer, type RunningDnsServer } from '../../sandbox/dns-server.ts';
import { LAB_DIR } from './servers/provision.ts';
import { runCli } from './run-cli.ts';
import type { Report } from '../../checks/core/report.ts';

const ZONE = 'faults.test';
const NGINX = '127.0.3.1';
const HANG = '127.0.3.2';
const SLOW = '127.0.3.3';
const LAN_COPY = 'lan-copy.chat';
const names = ['loop', 'chain', 'big', 'garbage', 'hang', 'slow'].map((n) => `${n}.${ZONE}`);
let dir: string;
let caFile: string;
let nginx: RunningNginx;
let resolver: RunningDnsServer;
let hang: net.Server;
let slow: tls.Server;
const sockets = new Set<net.Socket>();

beforeAll(async () => {
  dir = mkdtempSync(join(LAB_DIR, 'faults-'));
  chmodSync(dir, 0o755); // nginx workers run unprivileged and read the bodies from here
  const pki = createLabPki(join(dir, 'pki'));
  caFile = pki.caFile;
  const cert = issueCertificate(pki, 'faults', names);
  writeFileSync(join(dir, 'big.json'), `{"m.server": "${'x'.repeat(1024 * 1024)}"}`);
  writeFileSync(join(dir, 'garbage.bin'), randomBytes(4096));
  const site = (name: string, body: string) =>
    `server { listen ${NGINX}:443 ssl; server_name ${name}.${ZONE}; ssl_certificate ${cert.fullchain}; ssl_certificate_key ${cert.key}; ${body} }`;
  nginx = await startNginx(
    [
      site('loop', `location / { return 302 https://loop.${ZONE}/.well-known/matrix/server; }`),
      site('chain', `location = /.well-known/matrix/server { return 302 /hop/1; } location ~ ^/hop/(.*)$ { return 302 /hop/$1x; }`),
      site('big', `location = /.well-known/matrix/server { default_type application/json; alias ${join(dir, 'big.json')}; }`),
      // Both files: client discovery must read the garbage too; a 404 there is IGNORE, not FAIL_PROMPT.
      site(
        'garbage',
        ['server', 'client']
          .map((file) => `location = /.well-known/matrix/${file} { default_type application/json; alias ${join(dir, 'garbage.bin')}; }`)
          .join(' '),
      ),
    ].join('\n'),
  );
  resolver = await startDnsServer({
    address: '127.0.3.53',
    role: 'resolver',
    zones: [
      {
        origin: ZONE,
        records: names.map((name) => ({
          name,
          type: 'A' as const,
          value: name.startsWith('hang') ? HANG : name.startsWith('slow') ? SLOW : NGINX,
        })),
      },
      // A name that is not reserved for tests, resolving to an address of this machine: the
      // checks must not connect there (loopback, so that a check that did would stay here).
      { origin: LAN_COPY, records: [{ name: LAN_COPY, type: 'A' as const, value: NGINX }] },
    ],
  });
  // Accepts TCP and never speaks TLS.
  hang = net.createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => hang.listen({ host: HANG, port: 443 }, resolve));
  // Completes TLS and never answers the HTTP request.
  slow = tls.createServer({ key: readFileSync(cert.key), cert: readFileSync(cert.fullchain) }, (socket) => sockets.add(socket));
  await new Promise<void>((resolve) => slow.listen({ host: SLOW, port: 443 }, resolve));
});

afterAll(async () => {
  sockets.forEach((socket) => socket.destroy());
  await Promise.all([nginx?.stop(), resolver?.close(), new Promise((r) => hang?.close(r)), new Promise((r) => slow?.close(r))]);
  rmSync(dir, { recursive: true, force: true });
});

async function wellknown(name: string, timeout = '1', extra: string[] = []) {
  const run = await runCli('checks/wellknown.ts', [
    name.includes('.') ? name : `${name}.${ZONE}`,
    ...extra,
    '--resolver',
    `127.0.3.53:${resolver.port}`,
    '--ca-file',
    caFile,
    '--timeout',
    timeout,
    '--json',
  ]);
  expect(run.stderr).toBe('');
  const report = JSON.parse(run.stdout) as Report;
  return {
    report,
    status: report.findings.find((f) => f.id === 'wellknown.server.status'),
    byId: (id: string) => report.findings.find((f) => f.id === id),
  };
}

describe('faults end as findings, within the timeout', () => {
  it('a redirect loop', async () => {
    const { status } = await wellknown('loop');
    expect(status).toMatchObject({ status: 'fail', detail: expect.stringContaining('redirect loop') });
  });

  it('endless distinct redirects stop after 10', async () => {
    // Eleven TLS connections: a budget that a loaded machine can meet, the point is the limit.
    const { status } = await wellknown('chain', '5');
    expect(status).toMatchObject({ status: 'fail', detail: expect.stringContaining('more than 10 redirects') });
  });

  it('an oversized body is capped and failed', async () => {
    const { byId } = await wellknown('big');
    expect(byId('wellknown.server.size')).toMatchObject({ status: 'fail', detail: expect.stringContaining('over 50 KiB') });
  });

  it('a public name resolving to an address nobody outside reaches: not connected, unless routed on purpose', async () => {
    const { status } = await wellknown(LAN_COPY);
    expect(status).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining(
        `not connected: ${LAN_COPY} resolves to ${NGINX}, a loopback address, which no server or client elsewhere reaches (the dns area names the record); to test that address on purpose, --connect-to ${LAN_COPY}:443:${NGINX}:443`,
      ),
    });
    // Routed with --connect-to, the same address is the operator's choice: the request is made
    // (nginx has no site of that name: its first site, the redirect loop, answers).
    const routed = await wellknown(LAN_COPY, '1', ['--connect-to', `${LAN_COPY}:443:${NGINX}:443`]);
    expect(routed.status?.detail).toMatch(
      new RegExp(`^https://${LAN_COPY.replace('.', '\\.')}/\\.well-known/matrix/server from ${NGINX.replaceAll('.', '\\.')}: `),
    );
  });

  it('garbage served as JSON', async () => {
    const { byId } = await wellknown('garbage');
    expect(byId('wellknown.server.json')?.status).toBe('fail');
    expect(byId('wellknown.client.discovery')?.evidence).toMatchObject({ state: 'FAIL_PROMPT' });
  });

  it('a server that never finishes the TLS handshake', async () => {
    const { report, status } = await wellknown('hang');
    expect(status).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('no answer within the timeout during the TLS handshake'),
    });
    expect(report.durationMs).toBeLessThan(2000);
  });

  it('a server that never answers the request', async () => {
    const { report, status } = await wellknown('slow');
    expect(status).toMatchObject({ status: 'fail', detail: expect.stringContaining('during the HTTP exchange') });
    expect(report.durationMs).toBeLessThan(2000);
  });

  it('federation against a port that never speaks TLS: a TLS finding within the timeout', async () => {
    const run = await runCli('checks/federation.ts', [
      `hang.${ZONE}:443`,
      '--resolver',
      `127.0.3.53:${resolver.port}`,
      '--timeout',
      '1',
      '--json',
    ]);
    const report = JSON.parse(run.stdout) as Report;
    const tlsFinding = report.findings.find((f) => f.id === 'federation.127_0_3_2_443.tls');
    expect(tlsFinding).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('no answer within the timeout during the TLS handshake'),
    });
    expect(report.durationMs).toBeLessThan(2000);
    expect(run.code).toBe(2);
  });
});
