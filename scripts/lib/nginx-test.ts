// `nginx -t` on a snippet (docs/lab.md "nginx"): the snippet inside a minimal configuration in a
// private prefix folder, so that nothing of the machine's own nginx is read or written.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Plan } from '../../checks/plan/types.ts';
import { capture } from './commands.ts';
import { nginxTestConfig } from './wellknown-files.ts';

export interface NginxTest {
  ok: boolean;
  /** What nginx said (it speaks on stderr), or why it could not run. */
  output: string;
}

export async function testNginxSnippet(snippet: string, plan: Plan, nginx = 'nginx'): Promise<NginxTest> {
  const prefix = await mkdtemp(join(tmpdir(), 'wellknown-nginx-'));
  try {
    const snippetFile = join(prefix, 'snippet.conf');
    const configFile = join(prefix, 'nginx.conf');
    await writeFile(snippetFile, snippet);
    await writeFile(configFile, nginxTestConfig(prefix, snippetFile, plan));
    const run = await capture({ program: nginx, args: ['-t', '-p', prefix, '-c', configFile] }, undefined, 30_000);
    if (run.error)
      return {
        ok: false,
        output:
          run.error === 'ENOENT'
            ? `${nginx} is not installed (apt-get install nginx-light)`
            : `${nginx} could not be started (${run.error})`,
      };
    // Paths of the throwaway folder mean nothing to the person: name the snippet instead.
    const output = `${run.stdout}${run.stderr}`.trim().split(snippetFile).join('<snippet>').split(prefix).join('<test folder>');
    return { ok: run.code === 0, output };
  } finally {
    await rm(prefix, { recursive: true, force: true });
  }
}
