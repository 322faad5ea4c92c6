// The lab's LiveKit: the real livekit-server, built from its own source on the Go module proxy
// (github.com/livekit/livekit-server, a Go module like any other) once into .lab/livekit/ and
// reused; run on a loopback address with a config file (keys, rtc.node_ip, the UDP and TCP ICE
// ports) in a temp folder, like the lab's coturn, and stopped by the pid this module recorded.
//
// What builds it, exactly (and what CI repeats on a fresh machine):
//   mkdir fetch && cd fetch && go mod init lkfetch
//   GOFLAGS=-mod=mod go mod download -json github.com/livekit/livekit-server@v1.13.5   # → "Dir"
//   cp -r <Dir> src && chmod -R u+w src && cd src
//   GOFLAGS=-mod=mod go build -buildvcs=false -o livekit-server ./cmd/server
// v1.13.5 is the newest version whose dependencies the proxy serves: v1.13.6 and later require
// forks of pion that the proxy refuses. The module's go.mod says `go 1.26`; a Go 1.21 or newer
// switches to that toolchain by itself (GOTOOLCHAIN=auto, from the proxy's
// golang.org/toolchain module). Debian 12's golang-go is 1.19, which cannot: then the same
// toolchain module is fetched with `go mod download` and its bin/go builds (toolchainGo below).
// Both paths were run: about 3 minutes on 2 cores with Go 1.26, about 7 with Debian's Go 1.19 and
// an empty module cache.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { arch } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { freePort } from './ports.ts';
import { stopProcess } from './process.ts';

export const LIVEKIT_VERSION = '1.13.5';
/** The toolchain go.mod of v1.13.5 asks for (go 1.26), as a module of the proxy. */
const TOOLCHAIN = 'go1.26.8';
// The lab's folder (.lab/, as test/lab/servers/provision.ts has it; not imported from there, which builds this).
const LIVEKIT_DIR = join(fileURLToPath(new URL('../../..', import.meta.url)), '.lab', 'livekit');
export const LIVEKIT_BINARY = join(LIVEKIT_DIR, `livekit-server-${LIVEKIT_VERSION}`);

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) {
    throw new Error(
      `lab LiveKit build: ${command} ${args.join(' ')} exited ${result.status ?? result.signal}: ${result.stderr.slice(-2000)}`,
    );
  }
  return result.stdout;
}

/** Major.minor of `go version`, or undefined without a go on PATH. */
function goVersion(go: string): [number, number] | undefined {
  const result = spawnSync(go, ['version'], { encoding: 'utf8' });
  const match = /go(\d+)\.(\d+)/.exec(result.stdout ?? '');
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

function findGo(): string {
  for (const candidate of ['go', '/usr/local/go/bin/go', '/usr/lib/go/bin/go']) if (goVersion(candidate)) return candidate;
  // Debian's Go (1.19 in Debian 12) is enough to fetch the toolchain module below.
  if (process.getuid?.() !== 0)
    throw new Error('the lab builds LiveKit with Go: install it (sudo apt-get install -y golang-go) or run as root');
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'golang-go'], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
  if (goVersion('go')) return 'go';
  throw new Error('lab LiveKit build: no go after installing golang-go');
}

/**
 * A go that can build a `go 1.26` module: this one when it switches toolchains by itself
 * (1.21+), else the proxy's golang.org/toolchain module fetched with the old go.
 */
function toolchainGo(go: string, env: NodeJS.ProcessEnv): string {
  const version = goVersion(go)!;
  if (version[0] > 1 || version[1] >= 21) return go;
  const goarch = { x64: 'amd64', arm64: 'arm64' }[arch()] ?? arch();
  const fetch = mkdtempSync(join(LIVEKIT_DIR, 'toolchain-'));
  run(go, ['mod', 'init', 'toolchainfetch'], { cwd: fetch, env });
  const info = JSON.parse(
    run(go, ['mod', 'download', '-json', `golang.org/toolchain@v0.0.1-${TOOLCHAIN}.linux-${goarch}`], { cwd: fetch, env }),
  );
  const root = join(LIVEKIT_DIR, TOOLCHAIN);
  cpSync(info.Dir, root, { recursive: true });
  // Module zips carry no modes: make the toolchain's programs executable again (as Go does).
  const executable = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) executable(path);
      else chmodSync(path, 0o755);
    }
  };
  executable(join(root, 'bin'));
  executable(join(root, 'pkg', 'tool'));
  rmSync(fetch, { recursive: true, force: true });
  return join(root, 'bin', 'go');
}

/** Builds livekit-server once into .lab/livekit/; later calls reuse the binary. */
export function ensureLivekit(): string {
  if (existsSync(LIVEKIT_BINARY) && spawnSync(LIVEKIT_BINARY, ['--version'], { encoding: 'utf8' }).stdout?.includes(LIVEKIT_VERSION)) {
    return LIVEKIT_BINARY;
  }
  buildLivekit(LIVEKIT_BINARY);
  return LIVEKIT_BINARY;
}

/** The build itself (the commands at the top of this file), with `go` or the first one found. */
export function buildLivekit(output: string, goProgram?: string): void {
  mkdirSync(LIVEKIT_DIR, { recursive: true });
  // GOFLAGS=-mod=mod: the fetch module has no go.sum; the proxy's checksum database verifies.
  const env: NodeJS.ProcessEnv = { GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'auto', GOPROXY: process.env.GOPROXY || 'https://proxy.golang.org' };
  const go = toolchainGo(goProgram ?? findGo(), env);
  const work = mkdtempSync(join(LIVEKIT_DIR, 'build-'));
  try {
    run(go, ['mod', 'init', 'lkfetch'], { cwd: work, env });
    const info = JSON.parse(
      run(go, ['mod', 'download', '-json', `github.com/livekit/livekit-server@v${LIVEKIT_VERSION}`], { cwd: work, env }),
    );
    const src = join(work, 'src');
    // Built in a copy: the module cache is read-only.
    cpSync(info.Dir, src, { recursive: true });
    spawnSync('chmod', ['-R', 'u+w', src]);
    run(go, ['build', '-buildvcs=false', '-o', `${output}.partial`, './cmd/server'], { cwd: src, env });
    cpSync(`${output}.partial`, output);
    chmodSync(output, 0o755);
    rmSync(`${output}.partial`, { force: true });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface LivekitOptions {
  /** The loopback address it listens on (signalling, ICE over UDP). */
  address: string;
  /** API key and secret (keys:). */
  key: string;
  secret: string;
  /** rtc.node_ip: the address advertised in ICE candidates; default `address`. */
  nodeIp?: string;
  /** Signalling (HTTP/WebSocket) port; default a free one. */
  port?: number;
  /** rtc.udp_port (ICE over UDP, one multiplexed port) and rtc.tcp_port (ICE over TCP). */
  udpPort?: number;
  tcpPort?: number;
}

export interface RunningLivekit {
  address: string;
  port: number;
  udpPort: number;
  tcpPort: number;
  nodeIp: string;
  /** http://address:port, where a reverse proxy sends /livekit-server. */
  url: string;
  dir: string;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

/** The config file, as MDAD's livekit-server role writes its keys and rtc: section. */
export function livekitConfig(options: Required<LivekitOptions>): string {
  return stringify({
    port: options.port,
    bind_addresses: [options.address],
    rtc: {
      udp_port: options.udpPort,
      tcp_port: options.tcpPort,
      node_ip: options.nodeIp,
      use_external_ip: false,
      // The lab's addresses are loopback ones, which LiveKit leaves out of its candidates by default.
      enable_loopback_candidate: true,
      ips: { includes: [`${options.address}/32`] },
    },
    keys: { [options.key]: options.secret },
    // As lk-jwt-service's README asks: rooms only through the JWT service (full-access users).
    room: { auto_create: false },
    logging: { level: 'info', json: false },
  });
}

/**
 * LiveKit gathers its ICE candidates from the interfaces' addresses (rtc.ips filters them), and
 * only 127.0.0.1 is on lo by default: the lab's own loopback address is added to lo for the
 * run (and removed after) so that LiveKit binds its UDP port there and offers it.
 */
function addLoopbackAddress(address: string): () => void {
  const shown = spawnSync('ip', ['-o', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' });
  if (shown.stdout?.includes(` ${address}/`)) return () => {};
  const added = spawnSync('ip', ['addr', 'add', `${address}/32`, 'dev', 'lo'], { encoding: 'utf8' });
  if (added.status !== 0)
    throw new Error(`lab LiveKit: ip addr add ${address}/32 dev lo: ${added.stderr || added.error?.message} (run as root)`);
  return () => spawnSync('ip', ['addr', 'del', `${address}/32`, 'dev', 'lo']);
}

export async function startLivekit(options: LivekitOptions): Promise<RunningLivekit> {
  const binary = ensureLivekit();
  const removeAddress = addLoopbackAddress(options.address);
  mkdirSync(LIVEKIT_DIR, { recursive: true });
  const dir = mkdtempSync(join(LIVEKIT_DIR, 'run-'));
  // rtc.tcp_port listens on every address (pion's TCP mux): a port free on all of them.
  const full: Required<LivekitOptions> = {
    ...options,
    nodeIp: options.nodeIp ?? options.address,
    port: options.port ?? (await freePort(options.address)),
    udpPort: options.udpPort ?? (await freePort(options.address)),
    tcpPort: options.tcpPort ?? (await freePort('0.0.0.0')),
  };
  const configFile = join(dir, 'livekit.yaml');
  writeFileSync(configFile, livekitConfig(full), { mode: 0o600 });
  const logFile = join(dir, 'livekit.log');
  const log = createWriteStream(logFile);
  const child = spawn(binary, ['--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const url = `http://${full.address}:${full.port}`;
  try {
    await waitReady(child, url, logFile);
  } catch (error) {
    await stopProcess(child, 2000);
    removeAddress();
    throw error;
  }
  return {
    address: full.address,
    port: full.port,
    udpPort: full.udpPort,
    tcpPort: full.tcpPort,
    nodeIp: full.nodeIp,
    url,
    dir,
    pid: child.pid!,
    logFile,
    async stop() {
      await stopProcess(child, 5000);
      removeAddress();
      log.end();
      if (!process.env.LAB_KEEP) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Ready when GET / answers "OK" (LiveKit's health answer). */
async function waitReady(child: ChildProcess, url: string, logFile: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`lab LiveKit exited during start-up; see ${logFile}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(500) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`lab LiveKit did not answer on ${url} within 20 s; see ${logFile}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
