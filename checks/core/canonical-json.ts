// Canonical JSON (Matrix spec appendices, "Canonical JSON"; docs/federation.md "Canonical JSON"):
// the byte string that Matrix signatures cover. Pure, no I/O.
//
// Two halves:
// - canonicalJson() encodes a parsed value the way a Matrix server signs it;
// - nonCanonicalNumbers() reads the RAW text of a response, because JSON.parse hides exactly the
//   number problems that make a document non-canonical (it rounds integers beyond 2^53, turns
//   1.0 and 1e10 into integers and -0 into a number that JSON.stringify prints as 0).

/** Largest integer canonical JSON allows: (2^53)-1. The smallest is its negation. */
export const MAX_CANONICAL_INTEGER = Number.MAX_SAFE_INTEGER;

/**
 * Encodes `value` as canonical JSON: object keys sorted by Unicode code point at every level, no
 * whitespace, characters raw except the escapes the spec allows, integers only.
 *
 * Accepts what JSON.parse produces: null, booleans, strings, numbers, arrays and plain objects
 * (prototype Object.prototype or null). `-0` is written as `0` (spec example
 * `{"a":-0,"b":1e10}` → `{"a":0,"b":10000000000}`). A bigint within the integer range is accepted.
 *
 * Throws an Error (message starting with "not canonical JSON:" and naming the path) for:
 * non-integer or non-finite numbers, integers outside [-(2^53)+1, (2^53)-1], strings or keys
 * holding a lone UTF-16 surrogate (it has no UTF-8 encoding, so it cannot be signed), undefined,
 * functions, symbols, non-plain objects (Date, Map, class instances…) and cycles.
 * Callers that judge untrusted documents must catch it.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  encode(value, '', out, new Set());
  return out.join('');
}

function fail(path: string, what: string): never {
  throw new Error(`not canonical JSON: ${what} at ${path === '' ? 'the top level' : path}`);
}

function encode(value: unknown, path: string, out: string[], ancestors: Set<object>): void {
  switch (typeof value) {
    case 'string':
      out.push(encodeString(value, path));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      out.push(encodeNumber(value, path));
      return;
    case 'bigint':
      if (value > BigInt(MAX_CANONICAL_INTEGER) || value < -BigInt(MAX_CANONICAL_INTEGER)) {
        fail(path, `integer out of range (${value})`);
      }
      out.push(value.toString());
      return;
    case 'object':
      break;
    default:
      fail(path, `a value of type ${typeof value}`);
  }
  if (value === null) {
    out.push('null');
    return;
  }
  if (ancestors.has(value)) fail(path, 'a cycle');
  ancestors.add(value);
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      encode(value[i], `${path}[${i}]`, out, ancestors);
    }
    out.push(']');
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) fail(path, 'an object that is not a plain object');
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort(compareCodePoints);
    out.push('{');
    keys.forEach((key, i) => {
      const childPath = joinPath(path, key);
      if (i > 0) out.push(',');
      out.push(encodeString(key, childPath), ':');
      encode(record[key], childPath, out, ancestors);
    });
    out.push('}');
  }
  ancestors.delete(value);
}

function encodeNumber(n: number, path: string): string {
  if (!Number.isFinite(n)) fail(path, `a non-finite number (${n})`);
  if (!Number.isInteger(n)) fail(path, `a float (${n})`);
  if (Math.abs(n) > MAX_CANONICAL_INTEGER) fail(path, `integer out of range (${n})`);
  // Integers in range print without exponent (toString switches to exponents only from 1e21),
  // and -0 prints as "0".
  return String(n);
}

const SHORT_ESCAPES: Record<number, string> = {
  0x08: '\\b',
  0x09: '\\t',
  0x0a: '\\n',
  0x0c: '\\f',
  0x0d: '\\r',
  0x22: '\\"',
  0x5c: '\\\\',
};

function encodeString(s: string, path: string): string {
  let out = '"';
  let start = 0; // start of the pending run of characters copied raw
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      // A high surrogate must be followed by a low one; anything else cannot be written as UTF-8.
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      fail(path, `a lone surrogate (U+${c.toString(16).toUpperCase()})`);
    }
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(start, i);
    // Spec: the short forms where they exist, else lower-case \u00xx for U+0000..U+001F.
    out += SHORT_ESCAPES[c] ?? `\\u00${c.toString(16).padStart(2, '0')}`;
    start = i + 1;
  }
  return out + s.slice(start) + '"';
}

/**
 * Orders strings by Unicode code point, as canonical JSON requires. JavaScript's default sort
 * compares UTF-16 code units, which puts astral characters (surrogate pairs, D800–DFFF) before
 * U+E000–U+FFFF although their code points are larger.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return rankUnit(x) - rankUnit(y);
  }
  return a.length - b.length;
}

// Moves surrogates above U+E000..U+FFFF; at the first differing unit of two well-formed strings
// this gives code-point order.
function rankUnit(u: number): number {
  if (u >= 0xe000) return u - 0x800;
  if (u >= 0xd800) return u + 0x2000;
  return u;
}

// ---------------------------------------------------------------------------------------------
// Paths, shared by both halves

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_KEY_IN_PATH = 60;

/** `a.b` for identifier-like keys, `a["example.com"]` otherwise; long keys are shortened. */
function joinPath(path: string, key: string): string {
  if (IDENTIFIER.test(key) && key.length <= MAX_KEY_IN_PATH) return path === '' ? key : `${path}.${key}`;
  const shown = key.length > MAX_KEY_IN_PATH ? `${key.slice(0, MAX_KEY_IN_PATH)}…` : key;
  return `${path}[${JSON.stringify(shown)}]`;
}

// ---------------------------------------------------------------------------------------------
// Raw-text inspection

/** At most this many problems are listed; a last entry says how many more there were. */
export const MAX_NUMBER_PROBLEMS = 50;
const MAX_NUMBER_IN_MESSAGE = 40;

/**
 * Lists the numbers in the raw JSON text that canonical JSON forbids, each as a short string
 * with its path:
 * - `valid_until_ts is a float (1.5e12)`: a fraction or exponent, even when the value is whole;
 * - `-0 at signatures.x[0]`;
 * - `integer out of range at valid_until_ts (9007199254740992)`: beyond ±((2^53)-1).
 * Paths use `.key` for identifier-like keys, `["key"]` for others and `[i]` for array items;
 * `(top level)` is the document itself. Numbers inside strings are never read as numbers.
 *
 * Never throws. When the text is not a single valid JSON document (same grammar as JSON.parse:
 * no BOM, whitespace only space, tab, CR and LF) the result is exactly one entry starting with
 * `not JSON:`, so a caller never mistakes garbage for "no problems". Problems beyond
 * MAX_NUMBER_PROBLEMS are summarised in one final entry (`… and N more`).
 */
export function nonCanonicalNumbers(rawJsonText: string): string[] {
  try {
    return new NumberInspector(String(rawJsonText)).run();
  } catch (error) {
    // Not expected: the inspector reports malformed text itself. Keeps the promise never to throw.
    return [`not JSON: ${error instanceof Error ? error.message : String(error)}`];
  }
}

interface Frame {
  kind: 'object' | 'array';
  path: string;
  index: number;
}

class NotJson extends Error {}

class NumberInspector {
  readonly text: string;
  pos = 0;
  readonly problems: string[] = [];
  extra = 0;

  constructor(text: string) {
    this.text = text;
  }

  run(): string[] {
    try {
      this.document();
    } catch (error) {
      if (error instanceof NotJson) return [`not JSON: ${error.message}`];
      throw error;
    }
    if (this.extra > 0) this.problems.push(`… and ${this.extra} more`);
    return this.problems;
  }

  // Iterative (explicit stack), so deeply nested input cannot overflow the call stack.
  document(): void {
    const stack: Frame[] = [];
    let path = '';
    for (;;) {
      // A value starts here.
      this.skipWhitespace();
      const c = this.text[this.pos];
      if (c === '{') {
        this.pos++;
        this.skipWhitespace();
        if (this.text[this.pos] === '}') {
          this.pos++;
        } else {
          stack.push({ kind: 'object', path, index: 0 });
          path = this.member(path);
          continue;
        }
      } else if (c === '[') {
        this.pos++;
        this.skipWhitespace();
        if (this.text[this.pos] === ']') {
          this.pos++;
        } else {
          stack.push({ kind: 'array', path, index: 0 });
          path = `${path}[0]`;
          continue;
        }
      } else if (c === '"') {
        this.string();
      } else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
        this.number(path);
      } else if (!this.literal('true') && !this.literal('false') && !this.literal('null')) {
        throw this.unexpected();
      }

      // The value is complete: close containers until one continues with another element.
      for (;;) {
        this.skipWhitespace();
        const top = stack[stack.length - 1];
        if (top === undefined) {
          if (this.pos < this.text.length) throw this.unexpected();
          return;
        }
        const d = this.text[this.pos];
        if (d === ',') {
          this.pos++;
          top.index++;
          path = top.kind === 'object' ? this.member(top.path) : `${top.path}[${top.index}]`;
          break;
        }
        if ((top.kind === 'object' && d === '}') || (top.kind === 'array' && d === ']')) {
          this.pos++;
          stack.pop();
          continue;
        }
        throw this.unexpected();
      }
    }
  }

  /** Reads `"key" :` and returns the member's path. */
  member(parent: string): string {
    this.skipWhitespace();
    if (this.text[this.pos] !== '"') throw this.unexpected('an object key');
    const start = this.pos;
    this.string();
    let key: string;
    try {
      key = JSON.parse(this.text.slice(start, this.pos)) as string;
    } catch {
      throw new NotJson(`bad string at offset ${start}`);
    }
    this.skipWhitespace();
    if (this.text[this.pos] !== ':') throw this.unexpected("':'");
    this.pos++;
    return joinPath(parent, key);
  }

  /** Skips a string token, validating it as JSON.parse would. */
  string(): void {
    const text = this.text;
    const start = this.pos;
    this.pos++; // opening quote
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (c === 0x22) {
        this.pos++;
        return;
      }
      if (c < 0x20) throw new NotJson(`control character in a string at offset ${this.pos}`);
      if (c === 0x5c) {
        const e = text[this.pos + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(this.pos + 2, this.pos + 6))) {
            throw new NotJson(`bad \\u escape at offset ${this.pos}`);
          }
          this.pos += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) throw new NotJson(`bad escape at offset ${this.pos}`);
        this.pos += 2;
        continue;
      }
      this.pos++;
    }
    throw new NotJson(`unterminated string starting at offset ${start}`);
  }

  /** Reads a number token (JSON grammar) and records what canonical JSON forbids in it. */
  number(path: string): void {
    const text = this.text;
    const start = this.pos;
    if (text[this.pos] === '-') this.pos++;
    if (text[this.pos] === '0') {
      this.pos++;
    } else if (this.digits() === 0) {
      throw this.unexpected('a digit');
    }
    const integerEnd = this.pos;
    let float = false;
    if (text[this.pos] === '.') {
      this.pos++;
      if (this.digits() === 0) throw this.unexpected('a digit');
      float = true;
    }
    if (text[this.pos] === 'e' || text[this.pos] === 'E') {
      this.pos++;
      if (text[this.pos] === '+' || text[this.pos] === '-') this.pos++;
      if (this.digits() === 0) throw this.unexpected('a digit');
      float = true;
    }
    const raw = text.slice(start, this.pos);
    const where = path === '' ? '(top level)' : path;
    if (float) {
      this.report(`${where} is a float (${shorten(raw)})`);
    } else if (raw === '-0') {
      this.report(`-0 at ${where}`);
    } else if (!integerInRange(text.slice(start, integerEnd))) {
      this.report(`integer out of range at ${where} (${shorten(raw)})`);
    }
  }

  digits(): number {
    const from = this.pos;
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c < 0x30 || c > 0x39) break;
      this.pos++;
    }
    return this.pos - from;
  }

  literal(word: string): boolean {
    if (!this.text.startsWith(word, this.pos)) return false;
    this.pos += word.length;
    return true;
  }

  skipWhitespace(): void {
    const text = this.text;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.pos++;
    }
  }

  report(problem: string): void {
    if (this.problems.length < MAX_NUMBER_PROBLEMS) this.problems.push(problem);
    else this.extra++;
  }

  unexpected(expected = 'a value'): NotJson {
    if (this.pos >= this.text.length) return new NotJson(`unexpected end of text, expected ${expected}`);
    const ch = this.text.codePointAt(this.pos) ?? 0;
    const shown = ch >= 0x21 && ch <= 0x7e ? `'${String.fromCodePoint(ch)}'` : `U+${ch.toString(16).toUpperCase().padStart(4, '0')}`;
    return new NotJson(`unexpected ${shown} at offset ${this.pos}`);
  }
}

/** `digits` is an optional '-' and decimal digits without leading zeros (already validated). */
function integerInRange(digits: string): boolean {
  const magnitude = digits.startsWith('-') ? digits.slice(1) : digits;
  if (magnitude.length < 16) return true; // at most 999999999999999 < 2^53
  if (magnitude.length > 16) return false; // 2^53 - 1 = 9007199254740991 has 16 digits
  return magnitude <= '9007199254740991'; // same length: string order is numeric order
}

function shorten(raw: string): string {
  return raw.length > MAX_NUMBER_IN_MESSAGE ? `${raw.slice(0, MAX_NUMBER_IN_MESSAGE)}…` : raw;
}
