// Secrets from the person: a line typed on the terminal without echo, or the first line of a
// file named by an option. The one hidden prompt of the checks (checks/turn.ts) and the stages
// (scripts/lib/prompt.ts), so that both follow the same rules.
import { StringDecoder } from 'node:string_decoder';
import { InputError } from './errors.ts';
import { readInputFileSync } from './input-file.ts';

/** What the prompt needs of a terminal (process.stdin when it is a TTY). */
export interface HiddenInput {
  setRawMode(mode: boolean): unknown;
  resume(): unknown;
  pause(): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
}

const ESC = '\u001b';

/** Where the reader is in what the terminal sends: typed text, or inside an escape sequence. */
type State =
  | 'text'
  // after ESC: a sequence follows, or it was the Escape key (or an Alt-modified key)
  | 'escape'
  // ESC [ parameters, intermediates, final byte (arrows, Delete, function keys, paste markers)
  | 'csi'
  // ESC [ [ x: function keys on the Linux console
  | 'csi-linux'
  // ESC O x (SS3): arrows and F1–F4 in application mode
  | 'ss3';

const isControl = (char: string): boolean => {
  const code = char.codePointAt(0)!;
  return code < 0x20 || code === 0x7f || (code >= 0x80 && code <= 0x9f);
};
const inRange = (char: string, low: number, high: number): boolean => {
  const code = char.codePointAt(0)!;
  return code >= low && code <= high;
};

/**
 * Reads a line from a terminal in raw mode: nothing typed is echoed. Enter ends the line;
 * Ctrl-C cancels, and so does Ctrl-D on an empty line (an InputError 'cancelled'); backspace
 * and DEL remove the last character (a whole code point); the escape sequences of arrows,
 * function and editing keys are dropped, as are the Escape key, Alt-modified keys and other
 * control characters. An Escape that ends a chunk is taken as the Escape key unless the next
 * chunk continues it as a sequence.
 */
export function readHidden(stdin: HiddenInput): Promise<string> {
  return new Promise((resolve, reject) => {
    const typed: string[] = [];
    const decoder = new StringDecoder('utf8');
    let state: State = 'text';
    let csiStart = false;
    let escapeAlone = false;
    let finished = false;
    stdin.setRawMode(true);
    stdin.resume();
    const done = (error?: Error): void => {
      finished = true;
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      if (error) reject(error);
      else resolve(typed.join(''));
    };
    const text = (char: string): void => {
      if (char === '\r' || char === '\n') return done();
      if (char === '\u0003') return done(new InputError('cancelled'));
      if (char === '\u0004') {
        if (typed.length === 0) done(new InputError('cancelled'));
        return;
      }
      if (char === '\u007f' || char === '\b') {
        typed.pop();
        return;
      }
      if (char === ESC) {
        state = 'escape';
        escapeAlone = false;
        return;
      }
      if (!isControl(char)) typed.push(char);
    };
    const next = (char: string): void => {
      switch (state) {
        case 'text':
          return text(char);
        case 'escape':
          if (char === '[') {
            state = 'csi';
            csiStart = true;
          } else if (char === 'O') {
            state = 'ss3';
          } else if (char === ESC) {
            escapeAlone = false;
          } else {
            state = 'text';
            // A control character, or a key typed after the Escape key alone, counts; ESC x is Alt-x.
            if (escapeAlone || isControl(char)) text(char);
          }
          return;
        case 'csi': {
          const first = csiStart;
          csiStart = false;
          if (first && char === '[') state = 'csi-linux';
          else if (inRange(char, 0x20, 0x3f)) return;
          else if (inRange(char, 0x40, 0x7e)) state = 'text';
          else {
            state = 'text';
            text(char);
          }
          return;
        }
        case 'csi-linux':
        case 'ss3':
          if (state === 'ss3' && inRange(char, 0x30, 0x3f)) return;
          state = 'text';
          if (!inRange(char, 0x20, 0x7e)) text(char);
          return;
      }
    };
    const onData = (chunk: Buffer | string): void => {
      for (const char of typeof chunk === 'string' ? chunk : decoder.write(chunk)) {
        next(char);
        if (finished) return;
      }
      if (state === 'escape') escapeAlone = true;
    };
    stdin.on('data', onData);
  });
}

/** Asks on stderr (or `output`) and reads the answer without echo; the line ends either way. */
export async function askHidden(
  question: string,
  stdin: HiddenInput = process.stdin,
  output: { write(text: string): unknown } = process.stderr,
): Promise<string> {
  output.write(question);
  try {
    return await readHidden(stdin);
  } finally {
    output.write('\n');
  }
}

/** A secret from a file: the first line, without its newline; the content is never echoed. */
export function readSecretFile(path: string, option: string): string {
  const secret = readInputFileSync(path, option).split(/\r?\n/)[0]!.trim();
  if (secret === '') throw new InputError(`${option} ${path}: the file is empty`);
  return secret;
}
