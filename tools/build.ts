// `npm run build`: the package in dist/, each command one self-contained ESM file that needs no
// type stripping (Node 20.19 and newer) and resolves none of the project's modules at run time:
//   dist/checks/<check>.mjs, dist/scripts/<stage>.mjs   esbuild bundles of the entry points
//   dist/bin/matrix-doctor.mjs, matrix-selfhost.mjs     the commands: compile cache on, then one bundle
//   dist/templates, dist/scripts/lib/playbooks, dist/checks/plan/mdad-rules.json
//                                                       the files the commands read, at the same
//                                                       paths relative to them as in the repository
//   dist/package.json                                   the root's, with bin and no dependencies
// `npm run pack` then makes the tarball (npm pack ./dist).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { CHECKS, PACKAGE_BINS, STAGES } from './package-commands.ts';

const ROOT = join(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');

/**
 * Node's own modules loaded when first used, as the sources' dynamic imports load them: esbuild
 * hoists an ESM import of a built-in module to the top of the bundle, so that `--help` would load
 * zlib, tls and http first; a CommonJS wrapper is required only when the module using it starts.
 */
const builtinsOnFirstUse: Plugin = {
  name: 'builtins-on-first-use',
  setup(build) {
    const builtin = new RegExp(`^(node:.*|${builtinModules.map((name) => name.replace(/[/]/g, '\\/')).join('|')})$`);
    build.onResolve({ filter: builtin }, (args) =>
      args.namespace === 'builtin' ? { path: args.path, external: true } : { path: args.path, namespace: 'builtin' },
    );
    build.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

rmSync(DIST, { recursive: true, force: true });
await build({
  absWorkingDir: ROOT,
  entryPoints: [...[...CHECKS, 'doctor'].map((name) => `checks/${name}.ts`), ...STAGES.map((name) => `scripts/${name}.ts`)],
  outdir: DIST,
  outbase: '.',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  minify: true,
  // Functions and classes keep their names (errors and stack traces read as in the sources).
  keepNames: true,
  legalComments: 'none',
  // ws loads these native speed-ups when installed, and works without them.
  external: ['bufferutil', 'utf-8-validate'],
  // The CommonJS dependencies (dns2, undici, …) call require() for Node's own modules.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  plugins: [builtinsOnFirstUse],
  logLevel: 'warning',
});

for (const path of ['templates', 'scripts/lib/playbooks', 'checks/plan/mdad-rules.json', 'README.md'])
  cpSync(join(ROOT, path), join(DIST, path), { recursive: true });

mkdirSync(join(DIST, 'bin'));
for (const [bin, commands] of Object.entries(PACKAGE_BINS))
  writeFileSync(join(DIST, 'bin', `${bin}.mjs`), binFile(bin, commands), { mode: 0o755 });

const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const manifest = {
  name: root.name,
  version: root.version,
  description: root.description,
  license: root.license,
  type: 'module',
  engines: root.engines,
  bin: Object.fromEntries(Object.keys(PACKAGE_BINS).map((bin) => [bin, `bin/${bin}.mjs`])),
  files: ['bin', 'checks', 'scripts', 'templates'],
};
writeFileSync(join(DIST, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`built ${CHECKS.length + 1 + STAGES.length} commands into dist/`);

/** The help of a built command, as it prints it. */
function helpOf(file: string): string {
  const run = spawnSync(process.execPath, [join(DIST, file), '--help'], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`build: ${file} --help: exit ${run.status}: ${run.stderr.trim()}`);
  return run.stdout;
}

/**
 * A command of the package. A bare --help (or -h) prints the command's help, taken from the built
 * file at build time, without loading that file (a few MB to read and compile). Anything else turns
 * Node's compile cache on and starts the built file as if it had been started directly.
 */
function binFile(bin: string, commands: Record<string, string>): string {
  const names = Object.keys(commands);
  const helps = Object.fromEntries(names.map((name) => [name, helpOf(commands[name]!)]));
  const usage = `Usage: ${bin} COMMAND [options]   (COMMAND --help for its own)\nCommands: ${names.join(', ')}\n`;
  const pick =
    names.length === 1
      ? `const name = ${JSON.stringify(names[0])};\n`
      : `const name = process.argv[2];
if (name === undefined || !Object.hasOwn(COMMANDS, name)) {
  const help = name === '--help' || name === '-h';
  if (help) process.stdout.write(USAGE);
  else process.stderr.write(name === undefined ? USAGE : \`${bin}: unknown command "\${name}"\\n\${USAGE}\`);
  process.exit(help ? 0 : 3);
}
process.argv.splice(2, 1);
`;
  return `#!/usr/bin/env node
// ${bin}: built by tools/build.ts.
import module from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const COMMANDS = ${JSON.stringify(commands)};
const HELPS = ${JSON.stringify(helps)};
${names.length === 1 ? '' : `const USAGE = ${JSON.stringify(usage)};\n`}${pick}const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) process.stdout.write(HELPS[name]);
else {
  module.enableCompileCache?.();
  process.argv[1] = join(import.meta.dirname, '..', COMMANDS[name]);
  await import(pathToFileURL(process.argv[1]).href);
}
`;
}
