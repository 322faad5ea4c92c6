// The TURN check's secret inputs (checks/core/prompt.ts): files, and the hidden password prompt
// (nothing echoed).
import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readHidden, readSecretFile, type HiddenInput } from '../../checks/core/prompt.ts';
import { InputError } from '../../checks/core/errors.ts';

/** A terminal stand-in: records raw mode, emits what is "typed". */
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
  return { stdin, modes, type: (text: string) => events.emit('data', Buffer.from(text)) };
}

describe('secret inputs of the TURN check', () => {
  it('reads a typed password in raw mode, with backspace, and restores the terminal', async () => {
    const terminal = fakeTerminal();
    const password = readHidden(terminal.stdin);
    terminal.type('sec');
    terminal.type('x\u007fret\r');
    expect(await password).toBe('secret');
    expect(terminal.modes).toEqual([true, false]);
  });

  it('cancels on Ctrl-C with an input error', async () => {
    const terminal = fakeTerminal();
    const password = readHidden(terminal.stdin);
    terminal.type('abc\u0003');
    await expect(password).rejects.toThrow(InputError);
    expect(terminal.modes).toEqual([true, false]);
  });

  it('reads the first line of a secret file and never echoes its content in errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'turn-secret-'));
    writeFileSync(join(dir, 'secret'), 'the-secret\nsecond line\n');
    writeFileSync(join(dir, 'empty'), '\n');
    expect(readSecretFile(join(dir, 'secret'), '--turn-secret-file')).toBe('the-secret');
    expect(() => readSecretFile(join(dir, 'empty'), '--turn-secret-file')).toThrow('the file is empty');
    expect(() => readSecretFile(join(dir, 'missing'), '--access-token-file')).toThrow(/^--access-token-file .*missing: file not found$/);
  });
});
