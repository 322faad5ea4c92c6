// verifyServerKeys on hand-made /_matrix/key/v2/server bodies (docs/federation.md "Server keys",
// and the spec's cryptographic test vectors). Keys are made here with node:crypto; no network.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalJson } from '../../checks/core/canonical-json.ts';
import {
  canonicalSigningInput,
  decodeBase64,
  ed25519Verify,
  encodeUnpaddedBase64,
  MAX_KEY_VALIDITY_MS,
  verifyServerKeys,
  type ServerKeysVerdict,
} from '../../checks/rules/server-keys.ts';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NAME = 'example.com';

// ---------------------------------------------------------------------------------------------
// Helpers

interface Signer {
  keyId: string;
  privateKey: KeyObject;
  /** Raw 32-byte public key. */
  raw: Buffer;
  /** Unpadded standard base64 of raw. */
  publicKey: string;
}

function signerFrom(privateKey: KeyObject, keyId: string): Signer {
  const raw = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(12);
  return { keyId, privateKey, raw, publicKey: encodeUnpaddedBase64(raw) };
}

function newSigner(keyId = 'ed25519:a_1'): Signer {
  return signerFrom(generateKeyPairSync('ed25519').privateKey, keyId);
}

/** An unsigned key document serving the given signers' keys. */
function keyDoc(signers: Signer[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    server_name: NAME,
    valid_until_ts: NOW + DAY,
    verify_keys: Object.fromEntries(signers.map((s) => [s.keyId, { key: s.publicKey }])),
    old_verify_keys: {},
    ...overrides,
  };
}

/** Adds signatures[entity][keyId] for each signer over the canonical signing input. */
function signAs(doc: Record<string, unknown>, entity: string, signers: Signer[]): Record<string, unknown> {
  const data = Buffer.from(canonicalSigningInput(doc), 'utf8');
  const existing = (doc.signatures ?? {}) as Record<string, Record<string, string>>;
  const forEntity = { ...(existing[entity] ?? {}) };
  for (const s of signers) forEntity[s.keyId] = encodeUnpaddedBase64(sign(null, data, s.privateKey));
  return { ...doc, signatures: { ...existing, [entity]: forEntity } };
}

function signed(signers: Signer[], overrides: Record<string, unknown> = {}, entity = NAME): Record<string, unknown> {
  return signAs(keyDoc(signers, overrides), entity, signers);
}

function judge(doc: unknown, requested = NAME, now = NOW): ServerKeysVerdict {
  return verifyServerKeys(JSON.stringify(doc), requested, now);
}

function sigOf(doc: Record<string, unknown>, entity: string, keyId: string): string {
  return ((doc.signatures as Record<string, Record<string, string>>)[entity] ?? {})[keyId] ?? '';
}

function withSig(doc: Record<string, unknown>, entity: string, keyId: string, sig: string): Record<string, unknown> {
  return { ...doc, signatures: { [entity]: { [keyId]: sig } } };
}

// ---------------------------------------------------------------------------------------------

describe('unpadded base64', () => {
  const cases: [string, string][] = [
    ['', ''],
    ['f', 'Zg'],
    ['fo', 'Zm8'],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg'],
    ['fooba', 'Zm9vYmE'],
    ['foobar', 'Zm9vYmFy'],
  ];
  it.each(cases)('%j ↔ %j', (plain, encoded) => {
    expect(encodeUnpaddedBase64(Buffer.from(plain))).toBe(encoded);
    const decoded = decodeBase64(encoded);
    expect(decoded).toEqual({
      ok: true,
      bytes: new Uint8Array(Buffer.from(plain)),
      form: { padded: false, urlSafe: false, strayBits: false },
    });
  });
  it('accepts padding and says so', () => {
    for (const [plain, padded] of [
      ['f', 'Zg=='],
      ['fo', 'Zm8='],
      ['fooba', 'Zm9vYmE='],
    ] as const) {
      const decoded = decodeBase64(padded);
      expect(decoded.ok && Buffer.from(decoded.bytes).toString()).toBe(plain);
      expect(decoded.ok && decoded.form.padded).toBe(true);
    }
  });
  it('accepts the URL-safe alphabet and says so', () => {
    const bytes = Uint8Array.from([0xfb, 0xff, 0xbf]);
    expect(encodeUnpaddedBase64(bytes)).toBe('+/+/');
    const decoded = decodeBase64('-_-_');
    expect(decoded).toEqual({ ok: true, bytes, form: { padded: false, urlSafe: true, strayBits: false } });
    expect(decodeBase64('-_8=')).toMatchObject({ ok: true, form: { padded: true, urlSafe: true } });
  });
  it('notes non-zero unused bits in the last character (the spec seed has them)', () => {
    expect(decodeBase64('Zh')).toMatchObject({ ok: true, form: { strayBits: true } });
    expect(decodeBase64('Zm9')).toMatchObject({ ok: true, form: { strayBits: true } });
    expect(decodeBase64('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1')).toMatchObject({ ok: true, form: { strayBits: true } });
  });
  it('rejects what is not base64', () => {
    for (const bad of ['Z', 'Zm9vY', 'Zg=', 'Zg===', 'Zm9v=', 'Zm9v==', 'Z=g=', 'Zm+_', 'Zm 9v', 'Zm9v\n', 'Zm.v', '日本', '====']) {
      expect(decodeBase64(bad).ok, bad).toBe(false);
    }
  });
});

describe('the spec signing vectors', () => {
  const seed = decodeBase64('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1');
  if (!seed.ok) throw new Error('seed does not decode');
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed.bytes]);
  const vectorKey = signerFrom(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }), 'ed25519:1');
  const vectors: [Record<string, unknown>, string][] = [
    [{}, 'K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ'],
    [{ one: 1, two: 'Two' }, 'KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw'],
  ];

  it('the seed and its public key', () => {
    expect(Buffer.from(seed.bytes).toString('hex')).toBe('6090c103d5e7af6b15a970fd563ed75549e6159719ae5c3c31dee4316fb75c0d');
    expect(vectorKey.publicKey).toBe('XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI');
  });

  it.each(vectors)('signing %j gives the spec signature, which verifies', (input, expected) => {
    expect(signAs(input, 'domain', [vectorKey])).toEqual({ ...input, signatures: { domain: { 'ed25519:1': expected } } });
    // The spec's output, with an `unsigned` member added: top-level unsigned is not signed.
    const output = { ...input, signatures: { domain: { 'ed25519:1': expected } }, unsigned: { age_ts: 1 } };
    const sig = decodeBase64(expected);
    expect(sig.ok && sig.bytes.length).toBe(64);
    if (!sig.ok) return;
    const data = Buffer.from(canonicalSigningInput(output));
    expect(ed25519Verify(data, vectorKey.raw, sig.bytes)).toBe(true);
    expect(ed25519Verify(Buffer.from(canonicalJson({ ...input, extra: 1 })), vectorKey.raw, sig.bytes)).toBe(false);
  });

  it('the `{}` vector as a key response: a valid signature, but not a key document', () => {
    const v = verifyServerKeys(`{"signatures":{"domain":{"ed25519:1":"${vectors[0]?.[1]}"}}}`, 'domain', NOW);
    expect(v.parse).toEqual({ ok: true });
    expect(v.missingFields).toEqual(['server_name', 'verify_keys', 'valid_until_ts']);
    expect(v.hasEd25519Key).toBe(false);
    expect(v.ok).toBe(false);
  });

  it('a key document for "domain" signed with the vector key verifies', () => {
    const doc = signAs(keyDoc([vectorKey], { server_name: 'domain' }), 'domain', [vectorKey]);
    const v = judge(doc, 'domain');
    expect(v.ok).toBe(true);
    expect(v.ed25519Keys).toEqual([
      {
        keyId: 'ed25519:1',
        keyIdValid: true,
        key: 'XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI',
        keyEncoding: { padded: false, urlSafe: false, strayBits: false },
        keyBytes: 32,
        signatureUnder: 'requested',
        signatureEntity: 'domain',
        signatureEncoding: { padded: false, urlSafe: false, strayBits: false },
        signatureBytes: 64,
        signatureValid: true,
        ok: true,
        problems: [],
      },
    ]);
    expect(v.fingerprint).toBe('ed25519:1=XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI');
  });
});

describe('verifyServerKeys: a valid document', () => {
  const s = newSigner();
  const doc = signed([s]);

  it('passes every step', () => {
    const v = judge(doc);
    expect(v).toMatchObject({
      requestedServerName: NAME,
      nowMs: NOW,
      parse: { ok: true },
      missingFields: [],
      malformedFields: [],
      serverName: { value: NAME, requested: NAME, status: 'match', differsOnlyInCase: false },
      validUntil: { ts: NOW + DAY, remainingMs: DAY, effectiveUntilMs: NOW + DAY, status: 'ok' },
      otherAlgorithmKeys: [],
      hasEd25519Key: true,
      allEd25519KeysOk: true,
      canonicalError: undefined,
      oldVerifyKeys: { present: true, keyIds: [], problems: [] },
      nonCanonicalNumbers: [],
      fingerprint: `ed25519:a_1=${s.publicKey}`,
      ok: true,
    });
    expect(v.ed25519Keys[0]).toMatchObject({ keyId: 'ed25519:a_1', ok: true, signatureValid: true, problems: [] });
  });

  it('does not depend on member order or whitespace in the body', () => {
    const reordered = Object.fromEntries(Object.entries(doc).reverse());
    expect(verifyServerKeys(JSON.stringify(reordered, null, 2), NAME, NOW).ok).toBe(true);
  });

  it('ignores a top-level unsigned member, but not a nested one', () => {
    expect(judge({ ...doc, unsigned: { anything: [1, 'x'] } }).ok).toBe(true);
    const verifyKeys = doc.verify_keys as Record<string, Record<string, unknown>>;
    const nested = { ...doc, verify_keys: { [s.keyId]: { ...verifyKeys[s.keyId], unsigned: {} } } };
    expect(judge(nested).ed25519Keys[0]?.signatureValid).toBe(false);
  });

  it('verifies every ed25519 key, and lists other algorithms without judging them', () => {
    const t = newSigner('ed25519:second');
    const both = signAs(
      keyDoc([s, t], {
        verify_keys: { [s.keyId]: { key: s.publicKey }, [t.keyId]: { key: t.publicKey }, 'curve25519:x': { key: 'AAAA' } },
      }),
      NAME,
      [s, t],
    );
    const v = judge(both);
    expect(v.ok).toBe(true);
    expect(v.ed25519Keys.map((k) => k.keyId)).toEqual(['ed25519:a_1', 'ed25519:second']);
    expect(v.otherAlgorithmKeys).toEqual(['curve25519:x']);
  });

  it('fails when one of two ed25519 keys has no signature', () => {
    const t = newSigner('ed25519:unsigned');
    const v = judge(signAs(keyDoc([s, t]), NAME, [s]));
    expect(v.ok).toBe(false);
    expect(v.allEd25519KeysOk).toBe(false);
    expect(v.ed25519Keys.map((k) => [k.keyId, k.ok, k.signatureUnder])).toEqual([
      ['ed25519:a_1', true, 'requested'],
      ['ed25519:unsigned', false, 'none'],
    ]);
    expect(v.ed25519Keys[1]?.problems).toEqual(['no signature under signatures["example.com"]["ed25519:unsigned"]']);
  });
});

describe('verifyServerKeys: signatures', () => {
  const s = newSigner();

  it('a tampered field no longer verifies', () => {
    const doc = { ...signed([s]), valid_until_ts: NOW + 2 * DAY };
    const v = judge(doc);
    expect(v.ed25519Keys[0]).toMatchObject({ signatureValid: false, ok: false, signatureBytes: 64, keyBytes: 32 });
    expect(v.ed25519Keys[0]?.problems).toEqual(['signature does not verify']);
    expect(v.ok).toBe(false);
  });

  it('a signature under another entity: found, valid, but not where the spec looks', () => {
    const doc = signed([s], {}, 'matrix.example.com');
    const v = judge(doc);
    expect(v.ed25519Keys[0]).toMatchObject({
      signatureUnder: 'other',
      signatureEntity: 'matrix.example.com',
      signatureValid: true,
      ok: false,
    });
    expect(v.ed25519Keys[0]?.problems).toEqual(['signature found under "matrix.example.com", not the requested "example.com"']);
    expect(v.ok).toBe(false);
  });

  it('testing the delegated host (#87): server_name mismatch, signature under the response server_name', () => {
    const doc = signed([s]); // server_name example.com, signed as example.com
    const v = judge(doc, 'matrix.example.com');
    expect(v.serverName).toEqual({ value: NAME, requested: 'matrix.example.com', status: 'mismatch', differsOnlyInCase: false });
    // The Go tester would pass the signature (it looks under server_name); the spec does not.
    expect(v.ed25519Keys[0]).toMatchObject({ signatureUnder: 'server_name', signatureEntity: NAME, signatureValid: true, ok: false });
    expect(v.ok).toBe(false);
  });

  it('a server_name that differs only in case is still a mismatch', () => {
    const v = judge(signed([s], { server_name: 'Example.com' }, 'Example.com'));
    expect(v.serverName).toMatchObject({ status: 'mismatch', differsOnlyInCase: true });
    expect(v.ed25519Keys[0]?.signatureUnder).toBe('server_name');
    expect(v.ok).toBe(false);
  });

  it('a 31-byte key', () => {
    const short = encodeUnpaddedBase64(s.raw.subarray(0, 31));
    const doc = signAs(keyDoc([s], { verify_keys: { [s.keyId]: { key: short } } }), NAME, [s]);
    const k = judge(doc).ed25519Keys[0];
    expect(k).toMatchObject({ keyBytes: 31, signatureBytes: 64, signatureValid: undefined, ok: false });
    expect(k?.problems).toEqual(['key decodes to 31 bytes, not 32']);
  });

  it('a 63-byte signature', () => {
    const doc = signed([s]);
    const sig = decodeBase64(sigOf(doc, NAME, s.keyId));
    if (!sig.ok) throw new Error('unexpected');
    const k = judge(withSig(doc, NAME, s.keyId, encodeUnpaddedBase64(sig.bytes.subarray(0, 63)))).ed25519Keys[0];
    expect(k).toMatchObject({ keyBytes: 32, signatureBytes: 63, signatureValid: undefined, ok: false });
    expect(k?.problems).toEqual(['signature decodes to 63 bytes, not 64']);
  });

  it('a signature that is not base64 or not a string', () => {
    const doc = signed([s]);
    expect(judge(withSig(doc, NAME, s.keyId, 'not base64!')).ed25519Keys[0]?.problems).toEqual([
      'signature is not base64 (characters outside the base64 alphabet)',
    ]);
    expect(judge({ ...doc, signatures: { [NAME]: { [s.keyId]: 7 } } }).ed25519Keys[0]?.problems).toEqual(['signature is not a string']);
  });

  it('a key entry without a usable key', () => {
    const cases: [unknown, string][] = [
      ['just a string', 'verify_keys entry is not an object'],
      [{}, 'no key'],
      [{ key: 42 }, 'key is not a string'],
      [{ key: 'a!b' }, 'key is not base64 (characters outside the base64 alphabet)'],
      [{ key: '' }, 'key decodes to 0 bytes, not 32'],
    ];
    for (const [entry, problem] of cases) {
      const k = judge(signAs(keyDoc([s], { verify_keys: { [s.keyId]: entry } }), NAME, [s])).ed25519Keys[0];
      expect(k?.problems, JSON.stringify(entry)).toEqual([problem]);
      expect(k?.ok).toBe(false);
    }
  });

  it('a 32-byte key that is not the signer is just a signature that does not verify', () => {
    const other = newSigner();
    const doc = signAs(keyDoc([s], { verify_keys: { [s.keyId]: { key: other.publicKey } } }), NAME, [s]);
    expect(judge(doc).ed25519Keys[0]).toMatchObject({ signatureValid: false, ok: false });
  });

  it('padded base64 key and signature: accepted, reported as deviations', () => {
    const doc = signAs(keyDoc([s], { verify_keys: { [s.keyId]: { key: `${s.publicKey}=` } } }), NAME, [s]);
    const padded = withSig(doc, NAME, s.keyId, `${sigOf(doc, NAME, s.keyId)}==`);
    const v = judge(padded);
    expect(v.ok).toBe(true);
    expect(v.ed25519Keys[0]).toMatchObject({
      keyEncoding: { padded: true, urlSafe: false },
      signatureEncoding: { padded: true, urlSafe: false },
      ok: true,
    });
    expect(v.ed25519Keys[0]?.problems).toEqual(['key is padded base64', 'signature is padded base64']);
  });

  it('URL-safe base64 key and signature: accepted, reported as deviations', () => {
    const urlSafe = (b64: string) => b64.replace(/\+/g, '-').replace(/\//g, '_');
    // Find a key and signature whose base64 uses + or /, so the alphabet actually differs.
    for (let attempt = 0; attempt < 200; attempt++) {
      const t = newSigner();
      const doc = signAs(keyDoc([t], { verify_keys: { [t.keyId]: { key: urlSafe(t.publicKey) } } }), NAME, [t]);
      const sig = sigOf(doc, NAME, t.keyId);
      if (!/[+/]/.test(t.publicKey) || !/[+/]/.test(sig)) continue;
      const v = judge(withSig(doc, NAME, t.keyId, urlSafe(sig)));
      expect(v.ok).toBe(true);
      expect(v.ed25519Keys[0]).toMatchObject({ keyEncoding: { urlSafe: true }, signatureEncoding: { urlSafe: true } });
      expect(v.ed25519Keys[0]?.problems).toEqual(['key uses the URL-safe base64 alphabet', 'signature uses the URL-safe base64 alphabet']);
      // The fingerprint normalises the encoding.
      expect(v.fingerprint).toBe(`${t.keyId}=${t.publicKey}`);
      return;
    }
    throw new Error('no key with + or / in 200 attempts');
  });

  it('key-ID grammar is reported but does not clear ok', () => {
    for (const keyId of ['ed25519:a-b', 'ed25519:', 'ed25519:x.y', 'ed25519:日']) {
      const t = newSigner(keyId);
      const v = judge(signed([t]));
      expect(v.ed25519Keys[0]?.keyIdValid, keyId).toBe(false);
      expect(v.ed25519Keys[0]?.problems).toEqual([`key ID ${keyId} does not match ed25519:[a-zA-Z0-9_]+`]);
      expect(v.ok).toBe(true);
    }
    expect(judge(signed([newSigner('ed25519:Az09_')])).ed25519Keys[0]?.keyIdValid).toBe(true);
  });
});

describe('verifyServerKeys: valid_until_ts ("Server keys" step 5)', () => {
  const s = newSigner();
  const at = (ts: unknown) => judge(signed([s], { valid_until_ts: ts })).validUntil;

  it('classifies by the distance from now, boundaries included', () => {
    expect(at(NOW - 1)).toEqual({ ts: NOW - 1, remainingMs: -1, effectiveUntilMs: NOW - 1, status: 'expired' });
    expect(at(NOW).status).toBe('expired');
    expect(at(NOW + 1).status).toBe('short');
    expect(at(NOW + HOUR - 1).status).toBe('short');
    expect(at(NOW + HOUR).status).toBe('ok');
    expect(at(NOW + 7 * DAY).status).toBe('ok');
    expect(at(NOW + 7 * DAY + 1)).toEqual({
      ts: NOW + 7 * DAY + 1,
      remainingMs: 7 * DAY + 1,
      effectiveUntilMs: NOW + MAX_KEY_VALIDITY_MS,
      status: 'long',
    });
  });

  it('expired fails the verdict; short and long do not', () => {
    expect(judge(signed([s], { valid_until_ts: NOW - DAY })).ok).toBe(false);
    expect(judge(signed([s], { valid_until_ts: NOW + 10 * 60_000 })).ok).toBe(true);
    expect(judge(signed([s], { valid_until_ts: NOW + 365 * DAY })).ok).toBe(true);
  });

  it('missing or not a number', () => {
    const { valid_until_ts: _dropped, ...rest } = signed([s]);
    const v = judge(rest);
    expect(v.validUntil.status).toBe('missing');
    expect(v.missingFields).toEqual(['valid_until_ts']);
    expect(at(String(NOW + DAY)).status).toBe('malformed');
    expect(judge(signed([s], { valid_until_ts: null })).malformedFields).toEqual(['valid_until_ts']);
  });
});

describe('verifyServerKeys: the body', () => {
  const s = newSigner();

  it('invalid JSON', () => {
    for (const body of ['', 'not json', '{"server_name":', '<html><body>502 Bad Gateway</body></html>']) {
      const v = verifyServerKeys(body, NAME, NOW);
      expect(v.parse.ok, body).toBe(false);
      expect(!v.parse.ok && v.parse.error).toMatch(/^invalid JSON: /);
      expect(v.ok).toBe(false);
      expect(v.nonCanonicalNumbers).toEqual([]);
      expect(v.fingerprint).toBe('');
    }
  });

  it('JSON that is not an object', () => {
    expect(verifyServerKeys('[]', NAME, NOW).parse).toEqual({ ok: false, error: 'not a JSON object but an array' });
    expect(verifyServerKeys('null', NAME, NOW).parse).toEqual({ ok: false, error: 'not a JSON object but null' });
    expect(verifyServerKeys('"x"', NAME, NOW).parse).toEqual({ ok: false, error: 'not a JSON object but a string' });
  });

  it('missing and malformed required members are listed', () => {
    const { signatures: _s, ...unsignedDoc } = signed([s]);
    const v = judge(unsignedDoc);
    expect(v.missingFields).toEqual(['signatures']);
    expect(v.ed25519Keys[0]).toMatchObject({ signatureUnder: 'none', ok: false });
    expect(v.ok).toBe(false);

    const w = judge({ server_name: 5, verify_keys: [], signatures: 'x', valid_until_ts: '1' });
    expect(w.malformedFields).toEqual(['server_name', 'verify_keys', 'signatures', 'valid_until_ts']);
    expect(w.serverName.status).toBe('malformed');
    expect(w.hasEd25519Key).toBe(false);

    expect(judge({}).missingFields).toEqual(['server_name', 'verify_keys', 'signatures', 'valid_until_ts']);
    expect(judge({}).serverName.status).toBe('missing');
  });

  it('a document with only non-ed25519 keys fails', () => {
    const doc = keyDoc([], { verify_keys: { 'curve25519:abc': { key: s.publicKey }, rsa: { key: 'AAAA' } }, signatures: {} });
    const v = judge(doc);
    expect(v.otherAlgorithmKeys).toEqual(['curve25519:abc', 'rsa']);
    expect(v.hasEd25519Key).toBe(false);
    expect(v.allEd25519KeysOk).toBe(false);
    expect(v.ok).toBe(false);
  });

  it('an empty verify_keys fails', () => {
    const v = judge(keyDoc([], { signatures: {} }));
    expect(v.hasEd25519Key).toBe(false);
    expect(v.ok).toBe(false);
  });

  it('a float written in the raw body is listed; the signature still verifies over the parsed value', () => {
    const doc = signed([s], { valid_until_ts: 1_800_000_000_000 });
    const raw = JSON.stringify(doc).replace('"valid_until_ts":1800000000000', '"valid_until_ts":1.8e12');
    expect(raw).toContain('1.8e12');
    const v = verifyServerKeys(raw, NAME, NOW);
    expect(v.nonCanonicalNumbers).toEqual(['valid_until_ts is a float (1.8e12)']);
    expect(v.ok).toBe(true);
  });

  it('a real float in the signed part cannot be encoded, so the signature is not checked', () => {
    const doc = { ...signed([s]), ratio: 1.5 };
    const v = judge(doc);
    expect(v.canonicalError).toBe('not canonical JSON: a float (1.5) at ratio');
    expect(v.nonCanonicalNumbers).toEqual(['ratio is a float (1.5)']);
    expect(v.ed25519Keys[0]).toMatchObject({ signatureValid: undefined, ok: false });
    expect(v.ed25519Keys[0]?.problems).toEqual(['signature not checked: not canonical JSON: a float (1.5) at ratio']);
    expect(v.ok).toBe(false);
  });

  it('numbers in top-level unsigned are listed but do not break the signature', () => {
    const raw = JSON.stringify({ ...signed([s]), unsigned: { x: 1 } }).replace('"x":1', '"x":-0');
    const v = verifyServerKeys(raw, NAME, NOW);
    expect(v.nonCanonicalNumbers).toEqual(['-0 at unsigned.x']);
    expect(v.ok).toBe(true);
  });

  it('an out-of-range integer is listed', () => {
    const raw = JSON.stringify(signed([s])).replace(/"valid_until_ts":\d+/, '"valid_until_ts":99999999999999999999');
    const v = verifyServerKeys(raw, NAME, NOW);
    expect(v.nonCanonicalNumbers).toEqual(['integer out of range at valid_until_ts (99999999999999999999)']);
    expect(v.validUntil.status).toBe('long');
    expect(v.canonicalError).toMatch(/out of range/);
    expect(v.ok).toBe(false);
  });

  it('names like __proto__ or constructor are looked up as own members only', () => {
    for (const requested of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const v = judge(signed([s], { server_name: requested }, requested), requested);
      expect(v.ok, requested).toBe(true);
      const w = judge(signed([s]), requested);
      expect(w.ed25519Keys[0]?.signatureUnder).toBe('server_name');
    }
    const v = verifyServerKeys(
      '{"server_name":"x","valid_until_ts":1,"verify_keys":{"__proto__":{"key":"AAAA"}},"signatures":{"__proto__":{}}}',
      'x',
      NOW,
    );
    expect(v.otherAlgorithmKeys).toEqual(['__proto__']);
  });
});

describe('verifyServerKeys: old_verify_keys', () => {
  const s = newSigner();
  const old = newSigner('ed25519:old');
  // Unsigned documents: these facts do not depend on the signature (and a float cannot be signed).
  const problems = (oldKeys: unknown) => judge(keyDoc([s], { old_verify_keys: oldKeys })).oldVerifyKeys;

  it('absent, empty or complete entries have no problems', () => {
    const { old_verify_keys: _o, ...without } = signed([s]);
    expect(judge(without).oldVerifyKeys).toEqual({ present: false, keyIds: [], problems: [] });
    expect(problems({})).toEqual({ present: true, keyIds: [], problems: [] });
    expect(problems({ [old.keyId]: { key: old.publicKey, expired_ts: NOW - DAY } })).toEqual({
      present: true,
      keyIds: ['ed25519:old'],
      problems: [],
    });
  });

  it('each entry needs key and expired_ts', () => {
    expect(
      problems({
        'ed25519:a': { expired_ts: 1 },
        'ed25519:b': { key: old.publicKey },
        'ed25519:c': 'x',
        'ed25519:d': { key: 5, expired_ts: 1.5 },
        'ed25519:e': { key: encodeUnpaddedBase64(old.raw.subarray(1)), expired_ts: 1 },
        'ed25519:f-g': { key: old.publicKey, expired_ts: 1 },
        'other:h': { key: 'not even base64!', expired_ts: 1 },
      }).problems,
    ).toEqual([
      'ed25519:a: missing key',
      'ed25519:b: missing expired_ts',
      'ed25519:c: not an object',
      'ed25519:d: key is not a string',
      'ed25519:d: expired_ts is not an integer',
      'ed25519:e: key decodes to 31 bytes, not 32',
      'ed25519:f-g: key ID does not match ed25519:[a-zA-Z0-9_]+',
    ]);
    expect(problems([]).problems).toEqual(['old_verify_keys is not an object']);
  });

  it('problems there do not clear ok', () => {
    expect(judge(signed([s], { old_verify_keys: { 'ed25519:x': {} } })).ok).toBe(true);
  });
});

describe('verifyServerKeys: fingerprint', () => {
  const s = newSigner('ed25519:b');
  const t = newSigner('ed25519:a');

  it('is sorted and ignores member order and encoding', () => {
    const one = judge(signed([s, t])).fingerprint;
    expect(one).toBe(`ed25519:a=${t.publicKey} ed25519:b=${s.publicKey}`);
    const other = keyDoc([], { verify_keys: { 'ed25519:b': { key: `${s.publicKey}=` }, 'ed25519:a': { key: t.publicKey } } });
    expect(judge(other).fingerprint).toBe(one);
  });

  it('differs when a key differs, and covers other algorithms and unusable keys', () => {
    const one = judge(signed([s, t])).fingerprint;
    expect(judge(signed([s, newSigner('ed25519:a')])).fingerprint).not.toBe(one);
    const odd = judge(keyDoc([], { verify_keys: { 'curve25519:x': { key: 'Zg' }, 'ed25519:y': {}, 'ed25519:z': { key: '!' } } }));
    expect(odd.fingerprint).toBe('curve25519:x=Zg ed25519:y=? ed25519:z=!');
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

describe('properties', () => {
  const s = newSigner();
  const valid = JSON.stringify(signed([s]));

  it('verifyServerKeys never throws, whatever the body and names', () => {
    const mutated = fc.tuple(fc.nat(), fc.nat({ max: 4 }), fc.string({ maxLength: 4 })).map(([at, drop, insert]) => {
      const i = at % (valid.length + 1);
      return valid.slice(0, i) + insert + valid.slice(i + drop);
    });
    const body = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.json(), fc.json({ stringUnit: 'binary' }), mutated);
    fc.assert(
      fc.property(body, fc.oneof(fc.constant(NAME), fc.string()), fc.oneof(fc.constant(NOW), fc.double()), (text, requested, now) => {
        const v = verifyServerKeys(text, requested, now);
        expect(typeof v.ok).toBe('boolean');
        if (!v.parse.ok) expect(v.ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('arbitrary JSON objects as bodies never throw and never pass', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(verifyServerKeys(JSON.stringify(value), NAME, NOW).ok).toBe(false);
      }),
    );
  });

  it('a valid document with arbitrary extra members still verifies; changing one breaks it', () => {
    const extra = fc.dictionary(
      fc
        .string({ unit: 'binary', maxLength: 6 })
        .filter((k) => !['signatures', 'unsigned', 'server_name', 'verify_keys', 'valid_until_ts', 'old_verify_keys'].includes(k)),
      fc.oneof(
        fc.maxSafeInteger(),
        fc.string({ unit: 'binary' }),
        fc.boolean(),
        fc.constant(null),
        fc.array(fc.string({ unit: 'binary' }), { maxLength: 3 }),
      ),
      { minKeys: 1, maxKeys: 4 },
    );
    fc.assert(
      fc.property(extra, (members) => {
        const doc = signed([s], members);
        expect(judge(doc).ok).toBe(true);
        const [first] = Object.keys(members);
        if (first === undefined) return;
        expect(judge({ ...doc, [first]: { changed: true } }).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
