// capture() collects a program's output as bytes and decodes it once: a UTF-8 character cut
// across two chunks of the pipe arrives whole.
import { describe, expect, it } from 'vitest';
import { capture } from '../../scripts/lib/commands.ts';

// Writes "€" (e2 82 ac) to stdout and "ü" (c3 bc) to stderr, each in two writes 50 ms apart,
// so that the pipe delivers the halves in separate chunks.
const SPLIT_WRITER = `
  process.stdout.write(Buffer.from([0x61, 0xe2, 0x82]));
  process.stderr.write(Buffer.from([0x62, 0xc3]));
  setTimeout(() => {
    process.stdout.write(Buffer.from([0xac, 0x7a]));
    process.stderr.write(Buffer.from([0xbc, 0x79]));
  }, 50);
`;

describe('capture', () => {
  it('keeps a multi-byte character whole when it arrives in two chunks', async () => {
    const result = await capture({ program: process.execPath, args: ['-e', SPLIT_WRITER] });
    expect(result).toEqual({ code: 0, stdout: 'a€z', stderr: 'büy' });
  });

  it('passes input and reports the exit code', async () => {
    const result = await capture(
      { program: process.execPath, args: ['-e', 'process.stdin.pipe(process.stdout); process.exitCode = 3'] },
      'grüße\n',
    );
    expect(result).toEqual({ code: 3, stdout: 'grüße\n', stderr: '' });
  });

  it('reports a program that cannot be started', async () => {
    const result = await capture({ program: '/nonexistent/program', args: [] });
    expect(result).toMatchObject({ code: null, stdout: '', stderr: '', error: 'ENOENT' });
  });
});
