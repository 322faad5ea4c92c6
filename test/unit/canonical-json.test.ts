// Canonical JSON (spec appendices; docs/federation.md "Canonical JSON") and the raw-number inspection.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalJson, compareCodePoints, MAX_NUMBER_PROBLEMS, nonCanonicalNumbers } from '../../checks/core/canonical-json.ts';

const viaParse = (text: string): string => canonicalJson(JSON.parse(text));

describe('canonicalJson: the spec examples', () => {
  it('sorts keys', () => {
    expect(viaParse('{"b":"2","a":"1"}')).toBe('{"a":"1","b":"2"}');
  });
  it('sorts non-ASCII keys by code point', () => {
    // 日 U+65E5 < 本 U+672C
    expect(viaParse('{"本":2,"日":1}')).toBe('{"日":1,"本":2}');
  });
  it('writes non-ASCII characters raw', () => {
    expect(viaParse('{"a":"\\u65E5"}')).toBe('{"a":"日"}');
  });
  it('keeps null', () => {
    expect(viaParse('{"a":null}')).toBe('{"a":null}');
  });
  it('writes -0 as 0 and 1e10 as an integer', () => {
    expect(viaParse('{"a":-0,"b":1e10}')).toBe('{"a":0,"b":10000000000}');
  });
  it('drops insignificant whitespace', () => {
    expect(viaParse('{ "one" : 1,\n\t"two" : [ "Two" , true , false ] }')).toBe('{"one":1,"two":["Two",true,false]}');
  });
  it('the longer spec example with nested objects and arrays', () => {
    const input = `{
      "auth": {
        "success": true,
        "mxid": "@john.doe:example.com",
        "profile": {
          "display_name": "John Doe",
          "three_pids": [
            { "medium": "email", "address": "john.doe@example.org" },
            { "medium": "msisdn", "address": "123456789" }
          ]
        }
      }
    }`;
    expect(viaParse(input)).toBe(
      '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":' +
        '[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},"success":true}}',
    );
  });
});

describe('canonicalJson: key order by code point, not UTF-16 unit', () => {
  it('puts an astral character after U+E000..U+FFFF', () => {
    // "😀" is U+1F600 (UTF-16 D83D DE00); "\uFF21" (Ａ) is U+FF21. JS's default sort puts 😀 first.
    const value = { '\u{1F600}': 1, '\uFF21': 2, '\uE000': 3, z: 4 };
    expect(Object.keys(value).sort()).toEqual(['z', '\u{1F600}', '\uE000', '\uFF21']);
    expect(canonicalJson(value)).toBe('{"z":4,"\uE000":3,"\uFF21":2,"\u{1F600}":1}');
  });
  it('orders astral characters among themselves and prefixes first', () => {
    expect(canonicalJson({ '\u{20000}': 1, '\u{1F600}': 2, '\u{1F600}a': 3, '\u{10000}': 4 })).toBe(
      '{"\u{10000}":4,"\u{1F600}":2,"\u{1F600}a":3,"\u{20000}":1}',
    );
  });
  it('sorts integer-like keys as strings, unlike JS property order', () => {
    const value = { a: 3, 2: 2, 10: 1 };
    expect(Object.keys(value)).toEqual(['2', '10', 'a']);
    expect(canonicalJson(value)).toBe('{"10":1,"2":2,"a":3}');
  });
  it('compareCodePoints agrees with comparing code point arrays', () => {
    const codePoints = (s: string) => Array.from(s, (c) => c.codePointAt(0) ?? 0);
    const reference = (a: string, b: string): number => {
      const x = codePoints(a);
      const y = codePoints(b);
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
      return x.length - y.length;
    };
    const text = fc.string({ unit: 'binary', maxLength: 6 });
    fc.assert(fc.property(text, text, (a, b) => Math.sign(compareCodePoints(a, b)) === Math.sign(reference(a, b))));
  });
  it('sorts at every level', () => {
    expect(canonicalJson({ b: [{ d: 1, c: 2 }, { f: { h: 1, g: 2 } }], a: {} })).toBe('{"a":{},"b":[{"c":2,"d":1},{"f":{"g":2,"h":1}}]}');
  });
});

describe('canonicalJson: strings', () => {
  it('uses the short escapes', () => {
    expect(canonicalJson('"\\\b\t\n\f\r')).toBe('"\\"\\\\\\b\\t\\n\\f\\r"');
  });
  it('uses lower-case \\u00xx for the other control characters', () => {
    expect(canonicalJson('\u0000\u0001\u000b\u000e\u001a\u001f')).toBe('"\\u0000\\u0001\\u000b\\u000e\\u001a\\u001f"');
  });
  it('writes everything else raw, including DEL, U+2028 and the slash', () => {
    expect(canonicalJson('/\u007f\u2028\u2029é😀 ')).toBe('"/\u007f\u2028\u2029é😀 "');
  });
  it('escapes keys the same way', () => {
    expect(canonicalJson({ 'a\nb': 1, 'q"': 2 })).toBe('{"a\\nb":1,"q\\"":2}');
  });
  it('every control character round-trips through JSON.parse', () => {
    for (let c = 0; c < 0x20; c++) {
      const s = `x${String.fromCharCode(c)}y`;
      expect(JSON.parse(canonicalJson(s))).toBe(s);
    }
  });
  it('rejects a lone surrogate, which has no UTF-8 encoding', () => {
    expect(() => canonicalJson('a\uD800')).toThrow(/lone surrogate/);
    expect(() => canonicalJson({ x: '\uDC00b' })).toThrow(/lone surrogate .* at x/);
    expect(() => canonicalJson({ ['\uD83D']: 1 })).toThrow(/lone surrogate/);
  });
});

describe('canonicalJson: numbers and other values', () => {
  it('accepts integers at the edges of the range', () => {
    expect(canonicalJson([9007199254740991, -9007199254740991, 0, -1])).toBe('[9007199254740991,-9007199254740991,0,-1]');
  });
  it('accepts a bigint in range', () => {
    expect(canonicalJson({ n: 9007199254740991n })).toBe('{"n":9007199254740991}');
    expect(() => canonicalJson(9007199254740992n)).toThrow(/out of range/);
  });
  it('throws a clear error for floats, non-finite numbers and out-of-range integers, naming the path', () => {
    expect(() => canonicalJson({ a: { b: [1, 1.5] } })).toThrow('not canonical JSON: a float (1.5) at a.b[1]');
    expect(() => canonicalJson(Number.NaN)).toThrow(/non-finite number \(NaN\) at the top level/);
    expect(() => canonicalJson([Infinity])).toThrow(/non-finite/);
    expect(() => canonicalJson({ 'example.com': 2 ** 53 })).toThrow(
      'not canonical JSON: integer out of range (9007199254740992) at ["example.com"]',
    );
    expect(() => canonicalJson(-(2 ** 53))).toThrow(/out of range/);
    expect(() => canonicalJson(1e21)).toThrow(/out of range/);
  });
  it('throws for values JSON cannot hold', () => {
    expect(() => canonicalJson(undefined)).toThrow(/undefined/);
    expect(() => canonicalJson({ a: undefined })).toThrow(/undefined at a/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/function/);
    expect(() => canonicalJson(Symbol('s'))).toThrow(/symbol/);
    expect(() => canonicalJson(new Date(0))).toThrow(/not a plain object/);
    expect(() => canonicalJson(new Map())).toThrow(/not a plain object/);
  });
  it('throws for a cycle but accepts a shared (acyclic) reference', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => canonicalJson(a)).toThrow(/cycle at self/);
    const shared = { x: 1 };
    expect(canonicalJson([shared, shared])).toBe('[{"x":1},{"x":1}]');
  });
  it('accepts null-prototype objects and keeps a member named __proto__', () => {
    const bare = Object.create(null) as Record<string, unknown>;
    bare.b = 1;
    bare.a = 2;
    expect(canonicalJson(bare)).toBe('{"a":2,"b":1}');
    expect(viaParse('{"__proto__":{"x":1},"a":1}')).toBe('{"__proto__":{"x":1},"a":1}');
  });
  it('encodes scalars and empty containers at the top level', () => {
    expect([null, true, false, 0, '', [], {}].map(canonicalJson)).toEqual(['null', 'true', 'false', '0', '""', '[]', '{}']);
  });
});

describe('nonCanonicalNumbers', () => {
  it('finds nothing in canonical or merely pretty-printed integer JSON', () => {
    expect(nonCanonicalNumbers('{"a":1,"b":[-2,0,9007199254740991,-9007199254740991]}')).toEqual([]);
    expect(nonCanonicalNumbers('{\n  "a" : 1 ,\r\n\t"b": [ ]\n}\n')).toEqual([]);
    expect(nonCanonicalNumbers('0')).toEqual([]);
  });
  it('flags floats, including integral values written with a fraction or an exponent', () => {
    expect(nonCanonicalNumbers('{"valid_until_ts":1.5e12}')).toEqual(['valid_until_ts is a float (1.5e12)']);
    expect(nonCanonicalNumbers('{"a":1.0,"b":1e10,"c":2E+3,"d":-3.25e-1}')).toEqual([
      'a is a float (1.0)',
      'b is a float (1e10)',
      'c is a float (2E+3)',
      'd is a float (-3.25e-1)',
    ]);
  });
  it('flags -0 (but -0.0 is a float)', () => {
    expect(nonCanonicalNumbers('{"signatures":{"example.com":{"x":[1,-0]}}}')).toEqual(['-0 at signatures["example.com"].x[1]']);
    expect(nonCanonicalNumbers('[-0.0]')).toEqual(['[0] is a float (-0.0)']);
  });
  it('flags integers beyond ±(2^53 - 1), which JSON.parse silently rounds', () => {
    expect(JSON.parse('9007199254740993')).toBe(9007199254740992);
    expect(nonCanonicalNumbers('{"valid_until_ts":9007199254740992}')).toEqual([
      'integer out of range at valid_until_ts (9007199254740992)',
    ]);
    expect(nonCanonicalNumbers('[-9007199254740992, 9007199254740991, 10000000000000000]')).toEqual([
      'integer out of range at [0] (-9007199254740992)',
      'integer out of range at [2] (10000000000000000)',
    ]);
  });
  it('shortens very long numbers in messages', () => {
    const [problem] = nonCanonicalNumbers(`{"n":${'9'.repeat(500)}}`);
    expect(problem).toBe(`integer out of range at n (${'9'.repeat(40)}…)`);
  });
  it('ignores digits inside strings and keys, escapes included', () => {
    expect(nonCanonicalNumbers('{"1.5":"1.5e12","-0":"-0 \\" 1.0 \\\\","k":"\\u0031.0","9007199254740993":"x"}')).toEqual([]);
  });
  it('names the top level and paths with odd keys', () => {
    expect(nonCanonicalNumbers('1.5')).toEqual(['(top level) is a float (1.5)']);
    expect(nonCanonicalNumbers('{"a b":{"ed25519:1":[[0.5]]},"ok_key":{"x":-0}}')).toEqual([
      '["a b"]["ed25519:1"][0][0] is a float (0.5)',
      '-0 at ok_key.x',
    ]);
  });
  it('returns exactly one "not JSON" entry for text that is not JSON', () => {
    for (const garbage of [
      '',
      '   ',
      'nope',
      '{',
      '{"a":1,}',
      '[1,]',
      '{"a" 1}',
      '01',
      '1.',
      '.5',
      '-',
      '1e',
      '+1',
      'NaN',
      '"\u0001"',
      '"\\x"',
      '"\\u12"',
      '{"a":1}x',
      '\uFEFF{}',
      '{a:1}',
      "{'a':1}",
      '[1.5 2]',
      'tru',
      '<html>',
    ]) {
      const result = nonCanonicalNumbers(garbage);
      expect(result, garbage).toHaveLength(1);
      expect(result[0], garbage).toMatch(/^not JSON: /);
      expect(() => JSON.parse(garbage), garbage).toThrow();
    }
    // Problems seen before the text broke are not reported.
    expect(nonCanonicalNumbers('{"a":1.5,')).toEqual(['not JSON: unexpected end of text, expected an object key']);
  });
  it('caps the list', () => {
    const result = nonCanonicalNumbers(
      `[${Array(MAX_NUMBER_PROBLEMS + 7)
        .fill('1.5')
        .join(',')}]`,
    );
    expect(result).toHaveLength(MAX_NUMBER_PROBLEMS + 1);
    expect(result.at(-1)).toBe('… and 7 more');
  });
  it('survives very deep nesting', () => {
    const depth = 200_000;
    expect(nonCanonicalNumbers(`${'['.repeat(depth)}-0${']'.repeat(depth)}`)).toHaveLength(1);
    expect(nonCanonicalNumbers('['.repeat(depth))[0]).toMatch(/^not JSON/);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

/** JSON values canonical JSON can hold: safe integers, any well-formed Unicode strings. */
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.integer(),
    fc.string({ unit: 'binary' }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 4 }), tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** The same value with every object's keys inserted in reverse order. */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reversedKeys(v)]),
    );
  }
  return value;
}

describe('properties', () => {
  it('canonicalJson is idempotent under parse and re-encode, and parses back to the value', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        const once = canonicalJson(value);
        expect(canonicalJson(JSON.parse(once))).toBe(once);
        expect(JSON.parse(once)).toEqual(value);
      }),
    );
  });
  it('canonicalJson does not depend on key insertion order or input formatting', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        const once = canonicalJson(value);
        expect(canonicalJson(reversedKeys(value))).toBe(once);
        expect(viaParse(JSON.stringify(value, null, 2))).toBe(once);
      }),
    );
  });
  it('canonicalJson output has no whitespace outside strings and no numbers nonCanonicalNumbers flags', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        const once = canonicalJson(value);
        expect(nonCanonicalNumbers(once)).toEqual([]);
        expect(nonCanonicalNumbers(JSON.stringify(value, null, '\t'))).toEqual([]);
        // Removing string contents leaves no whitespace at all.
        expect(once.replace(/"(?:[^"\\]|\\.)*"/g, '""')).not.toMatch(/\s/);
      }),
    );
  });
  it('canonicalJson throws for every non-integer number', () => {
    fc.assert(
      fc.property(
        fc.double().filter((d) => !Number.isInteger(d)),
        (d) => {
          expect(() => canonicalJson({ a: [d] })).toThrow(/^not canonical JSON: /);
        },
      ),
    );
  });
  it('nonCanonicalNumbers never throws, and says "not JSON" exactly when JSON.parse fails', () => {
    const mutated = fc.tuple(fc.json(), fc.nat(), fc.nat({ max: 3 }), fc.string({ maxLength: 3 })).map(([text, at, drop, insert]) => {
      const i = at % (text.length + 1);
      return text.slice(0, i) + insert + text.slice(i + drop);
    });
    const texts = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.json(), fc.json({ stringUnit: 'binary' }), mutated);
    fc.assert(
      fc.property(texts, (text) => {
        const result = nonCanonicalNumbers(text);
        let parses = true;
        try {
          JSON.parse(text);
        } catch {
          parses = false;
        }
        const notJson = result.length === 1 && result[0]?.startsWith('not JSON: ');
        expect(notJson).toBe(!parses);
      }),
      { numRuns: 2000 },
    );
  });
  it('nonCanonicalNumbers flags exactly the non-integer doubles fast-check puts into JSON', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (d) => {
        const text = JSON.stringify({ d });
        const result = nonCanonicalNumbers(text);
        const canonical = Number.isInteger(d) && Math.abs(d) <= Number.MAX_SAFE_INTEGER && !/[.eE]/.test(text);
        expect(result.length === 0).toBe(canonical);
      }),
    );
  });
});
