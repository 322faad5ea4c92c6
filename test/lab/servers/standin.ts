// A stand-in MDAD checkout for the stage tests: the playbook of test/fixtures/standin-playbook,
// committed to a local bare "upstream" repository and cloned, with its one external role in a
// local git repository (so that fetching roles and pulling work without any network). Ansible
// runs it against this machine with ansible_connection=local; it only records what ran.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_DIR, VENV_DIR } from './provision.ts';

const FIXTURE = join(PROJECT_DIR, 'test', 'fixtures', 'standin-playbook');
const SERVER_FIXTURE = join(PROJECT_DIR, 'test', 'fixtures', 'standin-server');

/** Identity for the commits the tests and `git stash` make. */
const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Stage tests',
  GIT_AUTHOR_EMAIL: 'stage-tests@example.test',
  GIT_COMMITTER_NAME: 'Stage tests',
  GIT_COMMITTER_EMAIL: 'stage-tests@example.test',
};

export interface StandinRecord {
  tag: string;
  matrix_domain: string;
  validated_version: string;
  username: string;
  admin: string;
  password_sha256: string;
  argv: string;
}

export interface Standin {
  /** Folder holding everything of this stand-in. */
  root: string;
  /** The checkout the stages are pointed at (--playbook). */
  checkout: string;
  /** Where the stand-in playbook appends its records (env STANDIN_RECORD). */
  recordFile: string;
  /** Environment for stage processes: the lab's ansible first on PATH, the record file, git identity. */
  env: Record<string, string>;
  records(): StandinRecord[];
  /** Commits files (path → content) to the upstream repository, for `git pull` to find. */
  publish(files: Record<string, string>, message: string): void;
  /** A fake server data folder (bin/remove-all, synapse/config) named `matrix`, for remove tests. */
  serverData(): string;
  cleanup(): void;
}

export function git(cwd: string, ...args: string[]): string {
  const run = spawnSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, ...GIT_ENV } });
  if (run.status !== 0) throw new Error(`git ${args.join(' ')} in ${cwd}: ${run.stderr}`);
  return run.stdout;
}

export function createStandin(): Standin {
  const root = mkdtempSync(join(tmpdir(), 'standin-'));
  const roleRepo = join(root, 'roles-src', 'standin_base');
  cpSync(join(FIXTURE, 'role-src', 'standin_base'), roleRepo, { recursive: true });
  git(roleRepo, 'init', '-q', '-b', 'main');
  git(roleRepo, 'add', '.');
  git(roleRepo, 'commit', '-q', '-m', 'stand-in role');
  git(roleRepo, 'tag', 'v1.0.0');

  const work = join(root, 'upstream-work');
  cpSync(FIXTURE, work, { recursive: true, filter: (src) => !src.startsWith(join(FIXTURE, 'role-src')) });
  const requirements = join(work, 'requirements.yml');
  writeFileSync(requirements, readFileSync(requirements, 'utf8').replace('STANDIN_ROLE_REPO', roleRepo));
  git(work, 'init', '-q', '-b', 'master');
  git(work, 'add', '.');
  git(work, 'commit', '-q', '-m', 'stand-in playbook');
  const upstream = join(root, 'upstream.git');
  git(root, 'clone', '-q', '--bare', work, upstream);
  git(work, 'remote', 'add', 'origin', upstream);
  git(work, 'fetch', '-q', 'origin');
  git(work, 'branch', '-q', '--set-upstream-to=origin/master', 'master');
  const checkout = join(root, 'matrix-docker-ansible-deploy');
  git(root, 'clone', '-q', upstream, checkout);

  const recordFile = join(root, 'record.jsonl');
  return {
    root,
    checkout,
    recordFile,
    env: {
      PATH: `${join(VENV_DIR, 'bin')}:${process.env.PATH}`,
      STANDIN_RECORD: recordFile,
      // The machine's own python3 (a pyenv shim may be first on PATH), and su as the become
      // method: the playbook becomes root like MDAD's, without needing sudo on this machine.
      ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
      ANSIBLE_BECOME_METHOD: 'su',
      ...GIT_ENV,
    },
    records: () =>
      existsSync(recordFile)
        ? readFileSync(recordFile, 'utf8')
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line) as StandinRecord)
        : [],
    publish(files, message) {
      for (const [path, content] of Object.entries(files)) writeFileSync(join(work, path), content);
      git(work, 'add', '.');
      git(work, 'commit', '-q', '-m', message);
      git(work, 'push', '-q', 'origin', 'master');
    },
    serverData() {
      const data = join(root, 'server', 'matrix');
      cpSync(SERVER_FIXTURE, data, { recursive: true });
      return data;
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Path of a file of the checkout's migration role, for publish(). */
export const MIGRATION_DEFAULTS = join('roles', 'custom', 'matrix_playbook_migration', 'defaults', 'main.yml');
