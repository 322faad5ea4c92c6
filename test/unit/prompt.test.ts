// The hidden prompt and secret files (checks/core/prompt.ts), on a stand-in terminal: what is typed is never
// echoed, Enter ends, Ctrl-C cancels, Ctrl-D on an empty line cancels, escape sequences of
// arrows and function keys are dropped, backspace removes one whole character, and other
// control characters are ignored.
import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { askHidden, readHidden, readSecretFile, type HiddenInput } from '../../checks/core/prompt.ts';
import { InputError } from '../../checks/core/errors.ts';

/** A terminal stand-in: records raw mode, emits what is "typed" (text or raw bytes). */
function fakeTerminal() {
  const events = new EventEmitter();
  const modes: boolean[] = [];
  const stdin: HiddenInput = {
    setRawMode: (mode) => modes.push(mode),
    resume: () => undefined,
    pause: () => undefined,
    on: (event, listener) => events.on(event, listener),
    off: (event, listener) => events.off(event, listener),
  };
  return {
    stdin,
    modes,
    listeners: () => events.listenerCount('data'),
    emitText: (text: string) => events.emit('data', text),
    type: (...chunks: (string | number[])[]) => {
      for (const chunk of chunks) events.emit('data', typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
    },
  };
}

async function typed(...chunks: (string | number[])[]): Promise<string> {
  const terminal = fakeTerminal();
  const answer = readHidden(terminal.stdin);
  terminal.type(...chunks);
  try {
    return await answer;
  } finally {
    expect(terminal.modes).toEqual([true, false]);
    expect(terminal.listeners()).toBe(0);
  }
}

describe('readHidden', () => {
  it('reads a typed password in raw mode, with backspace, and restores the terminal', async () => {
    expect(await typed('sec', 'x\u007fret\r')).toBe('secret');
  });

  it('ends at Enter (CR or LF) and keeps what follows out', async () => {
    expect(await typed('secret\r')).toBe('secret');
    expect(await typed('secret\n')).toBe('secret');
    expect(await typed('sec', 'ret\rmore')).toBe('secret');
    expect(await typed('\r')).toBe('');
  });

  it('cancels on Ctrl-C with an input error', async () => {
    await expect(typed('abc\u0003def\r')).rejects.toThrow(new InputError('cancelled'));
  });

  it('cancels on Ctrl-D on an empty line, and ignores it after something was typed', async () => {
    await expect(typed('\u0004')).rejects.toThrow(new InputError('cancelled'));
    await expect(typed('ab\u007f\u007f\u0004')).rejects.toThrow(new InputError('cancelled'));
    expect(await typed('ab\u0004c\r')).toBe('abc');
  });

  it('drops the escape sequences of arrows, function and editing keys', async () => {
    expect(await typed('a\u001b[Db\u001b[Cc\r')).toBe('abc'); // left, right
    expect(await typed('\u001b[Aup\u001b[B\r')).toBe('up'); // up, down
    expect(await typed('x\u001bOPy\u001bOA\r')).toBe('xy'); // F1 and up in application mode (SS3)
    expect(await typed('x\u001b[15~y\u001b[3~z\r')).toBe('xyz'); // F5, Delete
    expect(await typed('x\u001b[1;5Cy\r')).toBe('xy'); // Ctrl-right
    expect(await typed('x\u001b[[Ay\r')).toBe('xy'); // F1 on the Linux console
    expect(await typed('\u001b[200~pasted\u001b[201~\r')).toBe('pasted'); // bracketed paste
  });

  it('drops an escape sequence cut between two chunks', async () => {
    expect(await typed('a\u001b', '[', '1;5', 'Cb\r')).toBe('ab');
    expect(await typed('a\u001bO', 'Pb\r')).toBe('ab');
  });

  it('drops a lone Escape key and an Alt-modified key', async () => {
    expect(await typed('a\u001b', 'b\r')).toBe('ab'); // Escape pressed on its own
    expect(await typed('a\u001bxb\r')).toBe('ab'); // Alt-x
  });

  it('removes one whole character on backspace or DEL, even outside the BMP', async () => {
    expect(await typed('sec', 'x\u007fret\r')).toBe('secret');
    expect(await typed('abc\b\bx\r')).toBe('ax');
    expect(await typed('pass😀\u007fword\r')).toBe('password');
    expect(await typed('pässwörd\u007f\u007fd\r')).toBe('pässwöd');
    expect(await typed('\u007f\u007fok\r')).toBe('ok');
  });

  it('keeps a multi-byte character cut between two chunks', async () => {
    expect(await typed([0x70, 0xc3], [0xa4, 0x73, 0x73, 0x0d])).toBe('päss');
    expect(await typed([0xf0, 0x9f], [0x98, 0x80], '\u007fx\r')).toBe('x');
  });

  it('ignores other control characters', async () => {
    expect(await typed('a\u0000b\tc\u0015d\u001ae\u0085f\r')).toBe('abcdef');
  });

  it('drops Alt-modified arrows (ESC ESC [ A) and still cancels on Ctrl-C after Escape', async () => {
    expect(await typed('a\u001b\u001b[Ab\r')).toBe('ab');
    await expect(typed('a\u001b\u0003')).rejects.toThrow(new InputError('cancelled'));
  });

  it('reads chunks that arrive as text, when an encoding was set on the stream', async () => {
    const terminal = fakeTerminal();
    const answer = readHidden(terminal.stdin);
    terminal.emitText('pä😀\u007fss\u001b[D\r');
    expect(await answer).toBe('päss');
  });

  it('keeps spaces and printable characters as typed', async () => {
    expect(await typed(' a b ~!@#$%^&*()[]{}\\|;:\'",.<>/? \r')).toBe(' a b ~!@#$%^&*()[]{}\\|;:\'",.<>/? ');
  });
});

describe('askHidden', () => {
  it('asks, reads without echo and ends the line', async () => {
    const terminal = fakeTerminal();
    const written: string[] = [];
    const answer = askHidden('Password: ', terminal.stdin, { write: (text) => written.push(text) });
    terminal.type('secret\r');
    expect(await answer).toBe('secret');
    expect(written).toEqual(['Password: ', '\n']);
  });

  it('ends the line when cancelled too', async () => {
    const terminal = fakeTerminal();
    const written: string[] = [];
    const answer = askHidden('Password: ', terminal.stdin, { write: (text) => written.push(text) });
    terminal.type('\u0003');
    await expect(answer).rejects.toThrow(new InputError('cancelled'));
    expect(written).toEqual(['Password: ', '\n']);
  });
});

describe('readSecretFile', () => {
  it('reads the first line of a secret file and never echoes its content in errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'turn-secret-'));
    writeFileSync(join(dir, 'secret'), 'the-secret\nsecond line\n');
    writeFileSync(join(dir, 'empty'), '\n');
    expect(readSecretFile(join(dir, 'secret'), '--turn-secret-file')).toBe('the-secret');
    expect(() => readSecretFile(join(dir, 'empty'), '--turn-secret-file')).toThrow('the file is empty');
    expect(() => readSecretFile(join(dir, 'missing'), '--access-token-file')).toThrow(/^--access-token-file .*missing: file not found$/);
  });
});
