// A real Synapse (PyPI matrix-synapse in .lab/venv) on loopback, plain HTTP, SQLite; nginx or the
// checks talk to it. Each instance lives in its own folder under .lab/synapse/ and is stopped by
// the pid this module recorded.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { LAB_DIR, venvBin } from './provision.ts';
import { freePort } from './ports.ts';
import { stopProcess } from './process.ts';
import { credentialFor, sendWithCredential } from '../../../checks/probes/credentialed.ts';

export interface SynapseOptions {
  serverName: string;
  /** What clients are told (public_baseurl); default https://matrix.<serverName>/ */
  publicBaseUrl?: string;
  address?: string;
  /** Settings merged over the lab defaults (turn_uris, enable_registration, …). */
  config?: Record<string, unknown>;
  /** Default: a random lab secret. */
  registrationSharedSecret?: string;
  /**
   * Run Synapse in its own mount namespace (unshare, root only) where /etc/resolv.conf is this
   * file: the homeserver gets its own resolver, as a container does (the outbound lab).
   */
  resolvConf?: string;
}

export interface RunningSynapse {
  serverName: string;
  /** http://address:port, the listener nginx proxies to. */
  url: string;
  address: string;
  port: number;
  dir: string;
  registrationSharedSecret: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startSynapse(options: SynapseOptions): Promise<RunningSynapse> {
  const address = options.address ?? '127.0.0.1';
  const port = await freePort(address);
  mkdirSync(join(LAB_DIR, 'synapse'), { recursive: true });
  const dir = mkdtempSync(join(LAB_DIR, 'synapse', `${options.serverName}-`));
  const registrationSharedSecret = options.registrationSharedSecret ?? randomBytes(24).toString('hex');
  const configPath = join(dir, 'homeserver.yaml');
  writeFileSync(join(dir, 'log.yaml'), stringify(logConfig(join(dir, 'homeserver.log'))));
  writeFileSync(
    configPath,
    stringify({
      server_name: options.serverName,
      public_baseurl: options.publicBaseUrl ?? `https://matrix.${options.serverName}/`,
      pid_file: join(dir, 'homeserver.pid'),
      listeners: [
        {
          port,
          bind_addresses: [address],
          type: 'http',
          tls: false,
          x_forwarded: true,
          resources: [{ names: ['client', 'federation'], compress: false }],
        },
      ],
      database: { name: 'sqlite3', args: { database: join(dir, 'homeserver.db') } },
      log_config: join(dir, 'log.yaml'),
      media_store_path: join(dir, 'media'),
      signing_key_path: join(dir, `${options.serverName}.signing.key`),
      registration_shared_secret: registrationSharedSecret,
      macaroon_secret_key: randomBytes(24).toString('hex'),
      form_secret: randomBytes(24).toString('hex'),
      report_stats: false,
      // Never contact matrix.org or anything outside the lab.
      trusted_key_servers: [],
      suppress_key_server_warning: true,
      enable_metrics: false,
      // Tests make many requests in a short time.
      rc_login: {
        address: { per_second: 1000, burst_count: 1000 },
        account: { per_second: 1000, burst_count: 1000 },
        failed_attempts: { per_second: 1000, burst_count: 1000 },
      },
      rc_registration: { per_second: 1000, burst_count: 1000 },
      rc_message: { per_second: 1000, burst_count: 1000 },
      ...options.config,
    }),
  );
  const keys = spawnSync(venvBin('python'), ['-m', 'synapse.app.homeserver', '-c', configPath, '--generate-keys'], { encoding: 'utf8' });
  if (keys.status !== 0) throw new Error(`synapse --generate-keys failed: ${keys.stderr}`);

  const output = createWriteStream(join(dir, 'stdout.log'));
  const command = [venvBin('python'), '-m', 'synapse.app.homeserver', '-c', configPath];
  // unshare execs sh, which execs Python: the recorded pid stays Synapse's.
  const [program, ...args] = options.resolvConf
    ? ['unshare', '--mount', 'sh', '-c', 'mount --bind "$0" /etc/resolv.conf && exec "$@"', options.resolvConf, ...command]
    : command;
  const child = spawn(program!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(output);
  child.stderr.pipe(output);
  const url = `http://${address}:${port}`;
  await waitHealthy(url, child, dir);
  return {
    serverName: options.serverName,
    url,
    address,
    port,
    dir,
    registrationSharedSecret,
    pid: child.pid!,
    async stop() {
      await stopProcess(child);
      // Keep the folder for a post-mortem with LAB_KEEP=1.
      if (!process.env.LAB_KEEP) rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitHealthy(url: string, child: ChildProcess, dir: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  let exited = false;
  child.once('exit', () => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`synapse exited during start-up; see ${join(dir, 'stdout.log')} and homeserver.log`);
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      if (response.ok && (await response.text()) === 'OK') return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  child.kill('SIGKILL');
  throw new Error(`synapse did not become healthy within 90 s; see ${dir}`);
}

function logConfig(file: string): Record<string, unknown> {
  return {
    version: 1,
    formatters: { precise: { format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s' } },
    handlers: { file: { class: 'logging.FileHandler', formatter: 'precise', filename: file, encoding: 'utf8' } },
    root: { level: 'INFO', handlers: ['file'] },
    disable_existing_loggers: false,
  };
}

export interface UserToken {
  userId: string;
  /** Secret: for the environment of a check, never its arguments. */
  token: string;
}

/** Registers a user through Synapse's shared-secret admin API (docs/lab.md "Synapse"); returns its id and access token. */
export async function registerUser(synapse: RunningSynapse, user: string, password: string, admin = false): Promise<UserToken> {
  const url = `${synapse.url}/_synapse/admin/v1/register`;
  const { nonce } = (await (await fetch(url)).json()) as { nonce: string };
  const mac = createHmac('sha1', synapse.registrationSharedSecret)
    .update(`${nonce}\0${user}\0${password}\0${admin ? 'admin' : 'notadmin'}`)
    .digest('hex');
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ nonce, username: user, password, admin, mac }),
  });
  const text = await response.text();
  const body = (response.ok ? JSON.parse(text) : {}) as { access_token?: string; user_id?: string };
  if (!body.access_token || !body.user_id) throw new Error(`registering ${user} failed: ${response.status} ${text}`);
  return { userId: body.user_id, token: body.access_token };
}

/** Logs in at Synapse directly (no proxy) and returns an access token. */
export async function accessToken(synapse: RunningSynapse, user: string, password: string): Promise<string> {
  const response = await fetch(`${synapse.url}/_matrix/client/v3/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user }, password }),
  });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`login of ${user} failed: ${response.status}`);
  return body.access_token;
}

/** A client API call of a lab user to its own Synapse, through the toolkit's one credentialed sender. */
export async function clientCall(
  synapse: RunningSynapse,
  token: string,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  json?: unknown,
  timeoutMs = 10_000,
): Promise<{ status: number; body: string }> {
  const url = `${synapse.url}${path}`;
  const outcome = await sendWithCredential(url, credentialFor('access token', token, url, 'the lab'), {
    method,
    ...(json !== undefined ? { json } : {}),
    timeoutMs,
    maxBodyBytes: 4 * 1024 * 1024,
  });
  if (!outcome.ok) throw new Error(`${method} ${path}: ${outcome.message}`);
  return { status: outcome.status, body: outcome.body };
}
