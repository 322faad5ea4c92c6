// Outbound federation seen from inside the server, through the inventory: one Ansible ad-hoc
// command on the host and one inside the Synapse container (`docker exec matrix-synapse …`, the
// container name matrix-docker-ansible-deploy gives Synapse: roles/custom/matrix-synapse/
// defaults/main.yml, matrix_synapse_container_name). Each runs the same small Python program
// (Python is on every Ansible host and in the Synapse image): resolve each remote's federation
// host, GET https://HOST:PORT/_matrix/federation/v1/version, and the remote's Date header
// against the local clock. Nothing is written on the server. A probe: it never throws.
import { spawn } from 'node:child_process';
import type { InsideFact, InsideFacts, InsideStep } from '../facts/outbound.ts';

export interface InventoryRef {
  /** The Ansible inventory file (an MDAD checkout's inventory/hosts). */
  file: string;
  /** The inventory host. */
  host: string;
  /** Where ansible runs (the checkout, so that its ansible.cfg applies). */
  cwd?: string;
}

export const SYNAPSE_CONTAINER = 'matrix-synapse';

/** The program run on the host and in the container (argv[1]: JSON {targets, timeout, ca?}). */
export const INSIDE_SCRIPT = `import sys, json, socket, ssl, time, email.utils, urllib.request, urllib.error
from concurrent.futures import ThreadPoolExecutor
a = json.loads(sys.argv[1])
def one(t):
    host, port = t.rsplit(':', 1)
    r = {'target': t, 'addresses': []}
    try:
        r['addresses'] = sorted({i[4][0] for i in socket.getaddrinfo(host.strip('[]'), int(port), type=socket.SOCK_STREAM)})
    except Exception as e:
        r['dnsError'] = str(e)
        return r
    ctx = ssl.create_default_context()
    if a.get('ca'):
        ctx.load_verify_locations(cadata=a['ca'])
    start = time.time()
    date = None
    try:
        with urllib.request.urlopen('https://' + t + '/_matrix/federation/v1/version', timeout=a['timeout'], context=ctx) as resp:
            r['status'] = resp.status
            date = resp.headers.get('Date')
    except urllib.error.HTTPError as e:
        r['status'] = e.code
        date = e.headers.get('Date')
    except Exception as e:
        r['httpError'] = str(getattr(e, 'reason', e))
    end = time.time()
    r['elapsedMs'] = round((end - start) * 1000)
    if date:
        # A Date header is cut to the second: its middle is half a second later.
        r['clockOffsetS'] = round(email.utils.parsedate_to_datetime(date).timestamp() + 0.5 - (start + end) / 2, 1)
    return r
with ThreadPoolExecutor(max(1, len(a['targets']))) as pool:
    print(json.dumps(list(pool.map(one, a['targets']))))
`;

export interface InsideOptions {
  timeoutMs: number;
  ca?: string;
}

/** The argv run on the host; inside the container it is prefixed with docker exec. */
export function insideArgv(targets: readonly string[], options: InsideOptions, where: 'host' | 'container'): string[] {
  const args = JSON.stringify({
    targets,
    timeout: Math.max(1, Math.round(options.timeoutMs / 1000)),
    ...(options.ca ? { ca: options.ca } : {}),
  });
  const program = ['python3', '-c', INSIDE_SCRIPT, args];
  return where === 'host' ? program : ['docker', 'exec', SYNAPSE_CONTAINER, ...program];
}

/** The ansible command line (module arguments as JSON: nothing is parsed as key=value). */
export function adhocArgv(ref: InventoryRef, argv: readonly string[]): string[] {
  return ['-i', ref.file, ref.host, '-m', 'ansible.builtin.command', '-a', JSON.stringify({ argv })];
}

interface AdhocResult {
  ok: boolean;
  stdout: string;
  /** Why it failed: Ansible's message, the program's stderr, or the timeout. */
  problem?: string;
}

/** Runs `ansible` (its minimal callback) and reads the host's result; bounded by `limitMs`. */
export function runAdhoc(ref: InventoryRef, argv: readonly string[], limitMs: number): Promise<AdhocResult> {
  return new Promise((resolve) => {
    let out = '';
    let err = '';
    let done = false;
    const finish = (result: AdhocResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(result);
    };
    const child = spawn('ansible', adhocArgv(ref, argv), {
      cwd: ref.cwd,
      // The minimal callback whatever the checkout's ansible.cfg says: its format is read below.
      env: { ...process.env, ANSIBLE_LOAD_CALLBACK_PLUGINS: '1', ANSIBLE_STDOUT_CALLBACK: 'ansible.builtin.minimal', ANSIBLE_NOCOLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ ok: false, stdout: '', problem: `ansible did not finish within ${Math.round(limitMs / 1000)} s` });
    }, limitMs);
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', (error) => finish({ ok: false, stdout: '', problem: `ansible could not be started: ${error.message}` }));
    child.on('close', () => finish(readMinimal(out, ref.host, err)));
  });
}

const lastLine = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '')
    .at(-1)
    ?.trim()
    .slice(0, 300);

/**
 * The minimal callback's answer for one host (ansible-core lib/ansible/plugins/callback/minimal.py):
 * `HOST | CHANGED | rc=0 >>` then the command's stdout (and stderr), or `HOST | FAILED! => {json}`,
 * `HOST | UNREACHABLE! => {json}`.
 */
export function readMinimal(stdout: string, host: string, stderr = ''): AdhocResult {
  const escaped = host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const header = new RegExp(`^${escaped} \\| ([A-Z!]+)(?: \\| rc=(-?\\d+) >>| => )`, 'm').exec(stdout);
  if (!header) {
    const line = stderr.split('\n').find((l) => /ERROR/.test(l)) ?? lastLine(stderr) ?? lastLine(stdout) ?? 'no output';
    return { ok: false, stdout: '', problem: `ansible: ${line.trim().slice(0, 300)}` };
  }
  const body = stdout.slice(header.index + header[0].length);
  if (header[2] === undefined) {
    let msg = '';
    try {
      const json = JSON.parse(body.trim()) as { msg?: unknown };
      msg = typeof json.msg === 'string' ? json.msg : '';
    } catch {
      msg = lastLine(body) ?? '';
    }
    return { ok: false, stdout: '', problem: `${header[1] === 'UNREACHABLE!' ? 'host unreachable: ' : ''}${msg.trim().slice(0, 300)}` };
  }
  if (header[2] !== '0') return { ok: false, stdout: body, problem: `${lastLine(body) ?? ''} (exit code ${header[2]})`.trim() };
  return { ok: true, stdout: body };
}

function readSteps(stdout: string): Map<string, InsideStep> | undefined {
  try {
    const line = stdout.split('\n').find((l) => l.startsWith('[{')) ?? '';
    const list = JSON.parse(line) as (InsideStep & { target: string })[];
    return new Map(list.map(({ target, ...step }) => [target, step]));
  } catch {
    return undefined;
  }
}

export async function gatherInside(
  ref: InventoryRef,
  remotes: readonly { remote: string; target: string }[],
  options: InsideOptions,
): Promise<InsideFacts> {
  const targets = [...new Set(remotes.map((r) => r.target))];
  // Ansible itself takes a few seconds to start; the remotes inside share one --timeout.
  const limit = options.timeoutMs + 30_000;
  const [host, container] = await Promise.all([
    runAdhoc(ref, insideArgv(targets, options, 'host'), limit),
    runAdhoc(ref, insideArgv(targets, options, 'container'), limit),
  ]);
  const facts: InsideFacts = { inventory: ref.file, host: ref.host, remotes: [] };
  const hostSteps = host.ok ? readSteps(host.stdout) : undefined;
  if (!hostSteps) {
    facts.problem = host.problem ?? 'the program on the host printed no result';
    return facts;
  }
  const containerSteps = container.ok ? readSteps(container.stdout) : undefined;
  if (!containerSteps) facts.containerProblem = container.problem ?? 'the program in the container printed no result';
  facts.remotes = remotes.map(({ remote, target }): InsideFact => {
    const fact: InsideFact = { remote, target };
    const h = hostSteps.get(target);
    const c = containerSteps?.get(target);
    if (h) fact.host = h;
    if (c) fact.container = c;
    return fact;
  });
  return facts;
}
