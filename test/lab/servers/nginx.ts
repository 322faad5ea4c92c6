// The lab's nginx (Debian nginx-light), run by hand with its own prefix folder: TLS termination,
// well-known files and the reverse proxy in front of the lab Synapse. Stopped by its recorded pid.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_DIR } from './provision.ts';
import { stopProcess } from './process.ts';

export interface RunningNginx {
  dir: string;
  pid: number;
  /** Replaces the http{} body and restarts nginx with it. */
  reconfigure(httpBody: string): Promise<void>;
  stop(): Promise<void>;
}

/** A whole nginx.conf around an http{} body, with every path inside the prefix folder. */
export function nginxConfig(prefix: string, httpBody: string): string {
  // Run as root (as the lab is), nginx's workers would become nobody and could not read a
  // checkout under a private folder (mktemp -d is mode 0700): they stay root, on loopback only.
  const user = process.getuid?.() === 0 ? 'user root root;\n' : '';
  return `${user}daemon off;
master_process on;
worker_processes 1;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'error.log')} warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${join(prefix, 'client_body')};
  proxy_temp_path ${join(prefix, 'proxy')};
  fastcgi_temp_path ${join(prefix, 'fastcgi')};
  uwsgi_temp_path ${join(prefix, 'uwsgi')};
  scgi_temp_path ${join(prefix, 'scgi')};
  default_type application/octet-stream;
${httpBody}
}
`;
}

export function newNginxPrefix(): string {
  mkdirSync(join(LAB_DIR, 'nginx'), { recursive: true });
  return mkdtempSync(join(LAB_DIR, 'nginx', 'run-'));
}

/** `nginx -t` on a configuration file: ok, and what nginx said (it speaks on stderr). */
export function testNginxConfig(prefix: string, configFile: string): { ok: boolean; output: string } {
  const result = spawnSync('nginx', ['-t', '-p', prefix, '-c', configFile], { encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
}

export async function startNginx(httpBody: string, prefix = newNginxPrefix()): Promise<RunningNginx> {
  let child = await launch(prefix, httpBody);
  return {
    dir: prefix,
    get pid() {
      return child.pid!;
    },
    async reconfigure(body: string) {
      await stopProcess(child);
      child = await launch(prefix, body);
    },
    async stop() {
      await stopProcess(child);
      if (!process.env.LAB_KEEP) rmSync(prefix, { recursive: true, force: true });
    },
  };
}

async function launch(prefix: string, httpBody: string): Promise<ChildProcess> {
  const configFile = join(prefix, 'nginx.conf');
  const pidFile = join(prefix, 'nginx.pid');
  rmSync(pidFile, { force: true });
  writeFileSync(configFile, nginxConfig(prefix, httpBody));
  const checked = testNginxConfig(prefix, configFile);
  if (!checked.ok) throw new Error(`lab nginx configuration rejected: ${checked.output}`);
  const child = spawn('nginx', ['-p', prefix, '-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  // The master writes its pid file once every listening socket is bound.
  const deadline = Date.now() + 10_000;
  while (!(existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() === String(child.pid))) {
    if (child.exitCode !== null) throw new Error(`lab nginx exited: ${stderr.trim() || readFileSync(join(prefix, 'error.log'), 'utf8')}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('lab nginx did not start within 10 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return child;
}
