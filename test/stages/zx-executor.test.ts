// The stages' commands run through zx: the line --dry-run prints is the line zx hands to bash
// (zx's `$` with the quoting showCommand uses), every argument arrives as one word, and one
// executor either lists the steps or runs them, in the same order.
import { describe, expect, it } from 'vitest';
import { capture, commandLine, execute, onPath, shellQuote, showCommand, stream } from '../../scripts/lib/commands.ts';
import type { Command, Step } from '../../scripts/lib/commands.ts';

const AWKWARD = [
  'plain',
  'two words',
  "it's",
  '',
  '$HOME',
  '`id`',
  'a;b',
  'tab\there',
  'line\nbreak',
  'grüße',
  '--extra-vars={"a": "b"}',
  '*',
];

describe('zx runs what --dry-run prints', () => {
  it('builds the command line with shellQuote, word by word', () => {
    const command: Command = { program: 'printf', args: ['%s\\n', ...AWKWARD] };
    expect(commandLine(command)).toBe(['printf', '%s\\n', ...AWKWARD].map(shellQuote).join(' '));
    expect(showCommand({ ...command, cwd: '/tmp/a b', env: { X: 'y z' } })).toBe(`cd '/tmp/a b' && X='y z' ${commandLine(command)}`);
  });

  it('every argument reaches the program as one word, unchanged', async () => {
    const run = await capture({
      program: process.execPath,
      args: ['-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))', ...AWKWARD],
    });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(AWKWARD);
  });

  it('runs in the cwd with the extra environment; a missing program or folder is ENOENT, as before', async () => {
    const run = await capture({ program: 'sh', args: ['-c', 'pwd; echo "$GREETING"'], cwd: '/tmp', env: { GREETING: 'hello there' } });
    expect(run).toEqual({ code: 0, stdout: '/tmp\nhello there\n', stderr: '' });
    expect(await capture({ program: 'no-such-program-anywhere', args: [] })).toMatchObject({ code: null, error: 'ENOENT' });
    expect(await capture({ program: 'true', args: [], cwd: '/nonexistent/folder' })).toMatchObject({ code: null, error: 'ENOENT' });
    expect(onPath('sh')).toMatch(/\/sh$/);
    expect(onPath('no-such-program-anywhere')).toBeUndefined();
  });

  it('ends a command that outlives its timeout (SIGTERM, no exit code)', async () => {
    const run = await capture({ program: 'sleep', args: ['10'] }, undefined, 200);
    expect(run).toEqual({ code: null, stdout: '', stderr: '' });
  });

  it('streams stdout and stderr line by line and reports the exit code', async () => {
    const lines: string[] = [];
    const run = await stream({ program: 'sh', args: ['-c', 'echo one; echo two >&2; exit 4'] }, (line) => lines.push(line));
    expect(run.code).toBe(4);
    expect(lines.sort()).toEqual(['one', 'two']);
  });

  it('zx --verbose and ZX_VERBOSE change nothing: zx prints no command of its own', async () => {
    const { $ } = await import('zx/core');
    const before = $.verbose;
    $.verbose = true;
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      await capture({ program: 'echo', args: ['not-a-secret-but-watched'] });
    } finally {
      process.stderr.write = write;
      $.verbose = before;
    }
    expect(written.join('')).not.toContain('not-a-secret-but-watched');
  });
});

describe('the one executor', () => {
  const ran: string[] = [];
  const steps: Step[] = [
    { note: 'first:', commands: [{ program: 'echo', args: ['a b'] }], run: async (c) => void ran.push(...c.map(showCommand)) },
    {
      commands: [
        { program: 'true', args: [] },
        { program: 'echo', args: ["it's"] },
      ],
      run: async (c) => void ran.push(...c.map(showCommand)),
    },
  ];

  it('a dry run lists each note and command and runs nothing', async () => {
    ran.length = 0;
    expect(await execute(steps, true)).toEqual(['# first:', "echo 'a b'", 'true', "echo 'it'\\''s'"]);
    expect(ran).toEqual([]);
  });

  it('a real run runs the same commands in the same order', async () => {
    ran.length = 0;
    expect(await execute(steps, false)).toEqual([]);
    expect(ran).toEqual((await execute(steps, true)).filter((line) => !line.startsWith('#')));
  });
});
