#!/usr/bin/env node
// wellknown: /.well-known/matrix on a base domain that another web server hosts (docs/playbook.md "Well-known files"),
// derived from the deployment plan: a reverse-proxy snippet to the Matrix host for nginx,
// Apache or Caddy (preferred), or copies of the documents with the headers clients need.
//   npx tsx scripts/wellknown.ts --vars inventory/host_vars/matrix.example.org/vars.yml --flavor nginx --out ./well-known
import module from 'node:module';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import type { FileChange } from './lib/files.ts';
import type { Flavor, Serve, WellKnownRequest } from './lib/wellknown-files.ts';

// Start-up: Node's module compile cache first (Node 22.1 and newer; docs/runtimes.md), then
// the modules, so that from the second start on none of them is compiled again.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { answerEarly, STAGE_HELP, STAGE_OPTIONS } = await import('./lib/stage-start.ts');

const HELP = `Usage: wellknown.ts [--playbook DIR | --vars FILE] --flavor nginx|apache|caddy|static [options]

/.well-known/matrix/server, client (and support) on your base domain when another web server
hosts it, derived from the deployment plan so that they never disagree with what the
playbook serves on the Matrix host.

  --flavor F             nginx, apache or caddy: configuration for that web server;
                         static: the document files and the headers to set (any host)
  --serve proxy|static   proxy (default): forward /.well-known/matrix/ to the Matrix host,
                         which the playbook keeps current; static: serve copies of the
                         documents as JSON with Access-Control-Allow-Origin: *
  --web-root DIR         where the copies live on the web server (default /var/www/<domain>)
  --out DIR              write the files there (atomically; a changed file is backed up),
                         else print them
  --validate             run nginx -t on the nginx snippet inside a minimal configuration
  --support-contact ROLE:ADDRESS
                         a contact for /.well-known/matrix/support (MSC1929), repeatable:
                         admin:@alice:example.org, security:security@example.org
  --support-page URL     the support page for the same file
  --vars FILE            the plan from this vars.yml (else from the checkout's inventory)
  --domain DOMAIN        which server of the inventory, when it has several
${STAGE_HELP}

Examples:
  npx tsx scripts/wellknown.ts --vars inventory/host_vars/matrix.example.org/vars.yml --flavor nginx --validate --out ./well-known
  npx tsx scripts/wellknown.ts --flavor static --support-contact admin:@alice:example.org --out ./site`;

const OPTIONS = {
  ...STAGE_OPTIONS,
  vars: { type: 'string' },
  domain: { type: 'string' },
  flavor: { type: 'string' },
  serve: { type: 'string' },
  'web-root': { type: 'string' },
  out: { type: 'string' },
  validate: { type: 'boolean', default: false },
  'support-contact': { type: 'string', multiple: true, default: [] as string[] },
  'support-page': { type: 'string' },
} satisfies ParseArgsConfig['options'];

// --help and bad options answer here, before the modules the run needs load.
await answerEarly('wellknown', import.meta.url, OPTIONS, HELP);
const { InputError } = await import('../checks/core/errors.ts');
const { runStage, stageCommandLine, StageFailure } = await import('./lib/cli.ts');
const { applyChange, describeChange, fileChange } = await import('./lib/files.ts');
const { testNginxSnippet } = await import('./lib/nginx-test.ts');
const { stagePlan } = await import('./lib/stage-plan.ts');
const { checkSupportPage, checkWebRoot, FLAVORS, parseSupportContact, SERVE_MODES, SNIPPET_FILES, wellKnownOutput } = await import(
  './lib/wellknown-files.ts'
);

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], option: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value))
    throw new InputError(`${option} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}

function serveMode(flavor: Flavor, serve: Serve | undefined): Serve {
  if (flavor === 'static') {
    if (serve === 'proxy')
      throw new InputError('--flavor static publishes copies; for --serve proxy choose --flavor nginx, apache or caddy');
    return 'static';
  }
  return serve ?? 'proxy';
}

async function main(): Promise<number> {
  const { values, positionals } = stageCommandLine(OPTIONS, HELP);
  if (values.help) return 0;
  if (positionals.length > 0) throw new InputError(`unexpected argument "${positionals[0]}"`);
  const flavor = oneOf(values.flavor, FLAVORS, '--flavor');
  if (!flavor) throw new InputError(`give --flavor ${FLAVORS.join('|')}`);
  const serve = serveMode(flavor, oneOf(values.serve, SERVE_MODES, '--serve'));
  if (values.validate && flavor !== 'nginx')
    throw new InputError('--validate runs nginx -t: it goes with --flavor nginx (nginx is what this project can run)');
  const contacts = values['support-contact'].map(parseSupportContact);
  const supportPage = values['support-page'] === undefined ? undefined : checkSupportPage(values['support-page']);
  const webRoot = values['web-root'] === undefined ? undefined : checkWebRoot(values['web-root']);
  const out = values.out === undefined ? undefined : resolve(values.out);
  const { plan } = await stagePlan({ vars: values.vars, playbook: values.playbook, domain: values.domain, needHost: false });
  const request: WellKnownRequest = {
    flavor,
    serve,
    webRoot: webRoot ?? `/var/www/${plan.serverName}`,
    contacts,
    ...(supportPage ? { supportPage } : {}),
  };
  const output = wellKnownOutput(plan, request);
  // Printed files own stdout (so that `> snippet.conf` works); everything else then goes to stderr.
  const say = (text: string) => (out ? process.stdout : process.stderr).write(`${text}\n`);

  if (values.validate) {
    const snippet = output.files.find((f) => f.path === SNIPPET_FILES.nginx)!;
    const result = await testNginxSnippet(snippet.content, plan);
    if (!result.ok) throw new StageFailure(`nginx -t rejects the snippet; nothing was written:\n${result.output}`);
    say(
      `nginx -t accepts the snippet (${plan.matrixHost} pinned to 127.0.0.1 for the test, so DNS plays no part):\n${result.output
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n')}`,
    );
  }

  if (!out) {
    const many = output.files.length > 1;
    for (const file of output.files) process.stdout.write(`${many ? `==> ${file.path} <==\n` : ''}${file.content}${many ? '\n' : ''}`);
  } else {
    const changes = (await Promise.all(output.files.map((f) => fileChange(join(out, f.path), f.content, 0o644)))).filter(
      (c): c is FileChange => c !== undefined,
    );
    if (changes.length === 0) say(`Nothing to change: the files in ${out} are up to date.`);
    for (const change of changes) say(describeChange(change));
    if (!values['dry-run']) {
      for (const change of changes) {
        // The documents are public: folders the web server can enter (applyChange makes private ones).
        await mkdir(dirname(change.path), { recursive: true, mode: 0o755 });
        const backup = await applyChange(change);
        say(`wrote ${change.path}${backup ? `; the previous version is in ${backup}` : ''}`);
      }
    }
  }
  for (const note of output.notes) say(note);
  if (values['dry-run']) say('Dry run: nothing was written.');
  return 0;
}

runStage('wellknown', import.meta.url, main);
