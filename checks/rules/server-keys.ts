// Judging a `/_matrix/key/v2/server` response (docs/federation.md "Server keys", steps 3–7).
// Pure: raw body, requested server name and the clock in, plain facts out. No findings here: the
// caller turns the verdict into findings (keys.server_name, keys.valid_until, keys.ed25519,
// keys.canonical, keys.key_id, keys.old, keys.consistency).
import { createPublicKey, verify } from 'node:crypto';
import { canonicalJson, compareCodePoints, nonCanonicalNumbers } from '../core/canonical-json.ts';

// ---------------------------------------------------------------------------------------------
// Verdict

export type RequiredField = 'server_name' | 'verify_keys' | 'signatures' | 'valid_until_ts';

export interface ServerKeysVerdict {
  requestedServerName: string;
  nowMs: number;
  /** JSON.parse of the body, which must give an object. When not ok, the rest is empty. */
  parse: { ok: true } | { ok: false; error: string };
  /** Required members that are absent ("Server keys" step 3). */
  missingFields: RequiredField[];
  /** Required members of the wrong type: server_name not a string, verify_keys or signatures not
   * an object, valid_until_ts not a finite number. */
  malformedFields: RequiredField[];
  serverName: ServerNameFacts;
  validUntil: ValidUntilFacts;
  /** One entry per `verify_keys` member whose ID starts with `ed25519:`, in code-point order. */
  ed25519Keys: Ed25519KeyCheck[];
  /** Other `verify_keys` IDs (other algorithms, or no `ed25519:` prefix): listed and ignored. */
  otherAlgorithmKeys: string[];
  /** At least one `ed25519:` key is served ("Server keys" step 6: none is a failure). */
  hasEd25519Key: boolean;
  /** hasEd25519Key and every ed25519 key check is ok. */
  allEd25519KeysOk: boolean;
  /** Why the signed part could not be encoded as canonical JSON (e.g. a float), else undefined. */
  canonicalError: string | undefined;
  oldVerifyKeys: OldVerifyKeysFacts;
  /** From nonCanonicalNumbers() over the raw body (only when it parsed). */
  nonCanonicalNumbers: string[];
  /** Sorted `keyId=key` of every verify_keys member, space-separated; keys that decode are
   * re-encoded as unpadded standard base64, so encodings of the same key compare equal. */
  fingerprint: string;
  /** The spec's MUSTs of "Server keys" steps 3–7: parsed, nothing missing or malformed, server_name
   * matches, valid_until_ts in the future, allEd25519KeysOk. Short validity, a long
   * validity, key-ID grammar, base64 deviations, old_verify_keys problems and non-canonical
   * numbers do not clear it; the caller judges those. */
  ok: boolean;
}

export interface ServerNameFacts {
  /** The served server_name when it is a string. */
  value: string | undefined;
  requested: string;
  status: 'match' | 'mismatch' | 'missing' | 'malformed';
  /** A mismatch that disappears when both are lower-cased (server names are case-sensitive). */
  differsOnlyInCase: boolean;
}

export interface ValidUntilFacts {
  /** valid_until_ts as parsed, when it is a finite number. */
  ts: number | undefined;
  /** ts - now. */
  remainingMs: number | undefined;
  /** What a receiver caches the keys until: min(ts, now + 7 d) ("Server keys" step 5). */
  effectiveUntilMs: number | undefined;
  /**
   * - expired: ts <= now (fail);
   * - short: now < ts < now + 1 h (SHOULD not);
   * - ok: now + 1 h <= ts <= now + 7 d;
   * - long: ts > now + 7 d (informational: receivers cap at 7 days).
   */
  status: 'missing' | 'malformed' | 'expired' | 'short' | 'ok' | 'long';
}

/** How a base64 string was written, when it decoded. Spec form: all false. */
export interface Base64Form {
  /** Ends in `=` padding (decoders SHOULD accept it). */
  padded: boolean;
  /** Uses the URL-safe alphabet `-` `_` (the Go tester accepts it; the spec does not). */
  urlSafe: boolean;
  /** The last character carries non-zero unused bits (Node and Go ignore them; strict decoders
   * such as Rust's base64 crate reject them). */
  strayBits: boolean;
}

export interface Ed25519KeyCheck {
  keyId: string;
  /** `ed25519:` + `[a-zA-Z0-9_]+`. */
  keyIdValid: boolean;
  /** `verify_keys[keyId].key` as served, when it is a string. */
  key: string | undefined;
  keyEncoding: Base64Form | undefined;
  /** Decoded key length; must be 32. */
  keyBytes: number | undefined;
  /**
   * Where `signatures[entity][keyId]` was found: under the requested name (what the spec
   * requires), else under the response's server_name (where the Go tester looks), else under
   * any other entity (first in code-point order), else none.
   */
  signatureUnder: 'requested' | 'server_name' | 'other' | 'none';
  signatureEntity: string | undefined;
  signatureEncoding: Base64Form | undefined;
  /** Decoded signature length; must be 64. */
  signatureBytes: number | undefined;
  /** Ed25519 result for the signature found (wherever found); undefined when not attempted. */
  signatureValid: boolean | undefined;
  /** keyBytes 32, signature under the requested name, 64 bytes, and it verifies. */
  ok: boolean;
  /** Short problem strings, including deviations that do not clear ok. */
  problems: string[];
}

export interface OldVerifyKeysFacts {
  present: boolean;
  keyIds: string[];
  /** Short strings, e.g. `ed25519:old: missing expired_ts`. */
  problems: string[];
}

// ---------------------------------------------------------------------------------------------
// Constants

const HOUR_MS = 60 * 60 * 1000;
/** Receivers use min(valid_until_ts, now + 7 d) ("Server keys" step 5). */
export const MAX_KEY_VALIDITY_MS = 7 * 24 * HOUR_MS;
/** Originating servers SHOULD avoid lifetimes shorter than 1 h ("Server keys" step 5). */
export const MIN_KEY_VALIDITY_MS = HOUR_MS;

const KEY_ID = /^ed25519:[a-zA-Z0-9_]+$/;
const ED25519_PREFIX = 'ed25519:';
/** SPKI DER header for a raw 32-byte Ed25519 public key (RFC 8410). */
export const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

// ---------------------------------------------------------------------------------------------
// The rule

/**
 * Judges the raw body of `GET /_matrix/key/v2/server`, requested for `requestedServerName` (the
 * pre-delegation name, e.g. `example.com`, not `matrix.example.com`), at `nowMs`.
 * Never throws.
 */
export function verifyServerKeys(rawBody: string, requestedServerName: string, nowMs: number): ServerKeysVerdict {
  const verdict = emptyVerdict(requestedServerName, nowMs);
  try {
    judge(verdict, String(rawBody));
  } catch (error) {
    // Not expected; keeps the promise. The verdict is then not ok.
    verdict.parse = { ok: false, error: `internal error: ${error instanceof Error ? error.message : String(error)}` };
    verdict.ok = false;
  }
  return verdict;
}

function emptyVerdict(requested: string, nowMs: number): ServerKeysVerdict {
  return {
    requestedServerName: requested,
    nowMs,
    parse: { ok: false, error: 'not judged' },
    missingFields: [],
    malformedFields: [],
    serverName: { value: undefined, requested, status: 'missing', differsOnlyInCase: false },
    validUntil: { ts: undefined, remainingMs: undefined, effectiveUntilMs: undefined, status: 'missing' },
    ed25519Keys: [],
    otherAlgorithmKeys: [],
    hasEd25519Key: false,
    allEd25519KeysOk: false,
    canonicalError: undefined,
    oldVerifyKeys: { present: false, keyIds: [], problems: [] },
    nonCanonicalNumbers: [],
    fingerprint: '',
    ok: false,
  };
}

function judge(v: ServerKeysVerdict, rawBody: string): void {
  // Step 3: parse, require the four members.
  let doc: unknown;
  try {
    doc = JSON.parse(rawBody);
  } catch (error) {
    v.parse = { ok: false, error: `invalid JSON: ${error instanceof Error ? error.message : String(error)}` };
    return;
  }
  if (!isObject(doc)) {
    v.parse = { ok: false, error: `not a JSON object but ${describeType(doc)}` };
    return;
  }
  v.parse = { ok: true };
  v.nonCanonicalNumbers = nonCanonicalNumbers(rawBody);

  const field = (name: RequiredField, ok: (x: unknown) => boolean): unknown => {
    if (!Object.hasOwn(doc, name)) v.missingFields.push(name);
    else if (!ok(doc[name])) v.malformedFields.push(name);
    else return doc[name];
    return undefined;
  };
  const serverName = field('server_name', (x) => typeof x === 'string') as string | undefined;
  const verifyKeys = field('verify_keys', isObject) as Record<string, unknown> | undefined;
  const signatures = field('signatures', isObject) as Record<string, unknown> | undefined;
  const validUntil = field('valid_until_ts', (x) => typeof x === 'number' && Number.isFinite(x)) as number | undefined;

  // Step 4: exact string comparison with the requested (pre-delegation) name.
  const requested = v.requestedServerName;
  v.serverName.value = serverName;
  v.serverName.status = Object.hasOwn(doc, 'server_name')
    ? serverName === undefined
      ? 'malformed'
      : serverName === requested
        ? 'match'
        : 'mismatch'
    : 'missing';
  v.serverName.differsOnlyInCase =
    v.serverName.status === 'mismatch' && serverName !== undefined && serverName.toLowerCase() === requested.toLowerCase();

  // Step 5.
  v.validUntil = classifyValidUntil(Object.hasOwn(doc, 'valid_until_ts'), validUntil, v.nowMs);

  // Steps 6 and 7. The signed bytes: canonical JSON without the top-level signatures and unsigned.
  let signed: Buffer | undefined;
  try {
    signed = Buffer.from(canonicalSigningInput(doc), 'utf8');
  } catch (error) {
    v.canonicalError = error instanceof Error ? error.message : String(error);
  }
  const fingerprint: string[] = [];
  if (verifyKeys !== undefined) {
    for (const keyId of Object.keys(verifyKeys).sort(compareCodePoints)) {
      const entry = verifyKeys[keyId];
      const key = isObject(entry) && typeof entry.key === 'string' ? entry.key : undefined;
      const decoded = key === undefined ? undefined : decodeBase64(key);
      fingerprint.push(`${keyId}=${decoded?.ok ? encodeUnpaddedBase64(decoded.bytes) : (key ?? '?')}`);
      if (!keyId.startsWith(ED25519_PREFIX)) {
        v.otherAlgorithmKeys.push(keyId);
        continue;
      }
      v.ed25519Keys.push(checkEd25519Key(keyId, entry, signatures, serverName, requested, signed, v.canonicalError));
    }
  }
  v.fingerprint = fingerprint.join(' ');
  v.hasEd25519Key = v.ed25519Keys.length > 0;
  v.allEd25519KeysOk = v.hasEd25519Key && v.ed25519Keys.every((k) => k.ok);

  v.oldVerifyKeys = checkOldVerifyKeys(doc);

  v.ok =
    v.missingFields.length === 0 &&
    v.malformedFields.length === 0 &&
    v.serverName.status === 'match' &&
    v.validUntil.status !== 'expired' &&
    v.allEd25519KeysOk;
}

function classifyValidUntil(present: boolean, ts: number | undefined, nowMs: number): ValidUntilFacts {
  if (ts === undefined) {
    return { ts: undefined, remainingMs: undefined, effectiveUntilMs: undefined, status: present ? 'malformed' : 'missing' };
  }
  const remainingMs = ts - nowMs;
  const status =
    remainingMs <= 0 ? 'expired' : remainingMs < MIN_KEY_VALIDITY_MS ? 'short' : remainingMs > MAX_KEY_VALIDITY_MS ? 'long' : 'ok';
  return { ts, remainingMs, effectiveUntilMs: Math.min(ts, nowMs + MAX_KEY_VALIDITY_MS), status };
}

function checkEd25519Key(
  keyId: string,
  entry: unknown,
  signatures: Record<string, unknown> | undefined,
  serverName: string | undefined,
  requested: string,
  signed: Buffer | undefined,
  canonicalError: string | undefined,
): Ed25519KeyCheck {
  const check: Ed25519KeyCheck = {
    keyId,
    keyIdValid: KEY_ID.test(keyId),
    key: undefined,
    keyEncoding: undefined,
    keyBytes: undefined,
    signatureUnder: 'none',
    signatureEntity: undefined,
    signatureEncoding: undefined,
    signatureBytes: undefined,
    signatureValid: undefined,
    ok: false,
    problems: [],
  };
  const problems = check.problems;
  if (!check.keyIdValid) problems.push(`key ID ${keyId} does not match ed25519:[a-zA-Z0-9_]+`);

  // The public key.
  let publicKey: Uint8Array | undefined;
  if (!isObject(entry)) {
    problems.push('verify_keys entry is not an object');
  } else if (!Object.hasOwn(entry, 'key')) {
    problems.push('no key');
  } else if (typeof entry.key !== 'string') {
    problems.push('key is not a string');
  } else {
    check.key = entry.key;
    const decoded = decodeBase64(entry.key);
    if (!decoded.ok) {
      problems.push(`key is not base64 (${decoded.error})`);
    } else {
      check.keyEncoding = decoded.form;
      check.keyBytes = decoded.bytes.length;
      problems.push(...formProblems('key', decoded.form));
      if (decoded.bytes.length === 32) publicKey = decoded.bytes;
      else problems.push(`key decodes to ${decoded.bytes.length} bytes, not 32`);
    }
  }

  // The signature: under the requested name (spec), else where else it can be found.
  const found = findSignature(keyId, signatures, serverName, requested);
  check.signatureUnder = found.under;
  check.signatureEntity = found.entity;
  let signature: Uint8Array | undefined;
  if (found.under === 'none') {
    problems.push(`no signature under signatures[${JSON.stringify(requested)}][${JSON.stringify(keyId)}]`);
  } else {
    if (found.under !== 'requested') {
      problems.push(`signature found under ${JSON.stringify(found.entity)}, not the requested ${JSON.stringify(requested)}`);
    }
    if (typeof found.value !== 'string') {
      problems.push('signature is not a string');
    } else {
      const decoded = decodeBase64(found.value);
      if (!decoded.ok) {
        problems.push(`signature is not base64 (${decoded.error})`);
      } else {
        check.signatureEncoding = decoded.form;
        check.signatureBytes = decoded.bytes.length;
        problems.push(...formProblems('signature', decoded.form));
        if (decoded.bytes.length === 64) signature = decoded.bytes;
        else problems.push(`signature decodes to ${decoded.bytes.length} bytes, not 64`);
      }
    }
  }

  if (publicKey !== undefined && signature !== undefined) {
    if (signed === undefined) {
      problems.push(`signature not checked: ${canonicalError ?? 'no canonical JSON'}`);
    } else {
      check.signatureValid = ed25519Verify(signed, publicKey, signature);
      if (!check.signatureValid) problems.push('signature does not verify');
    }
  }
  check.ok = check.signatureValid === true && check.signatureUnder === 'requested';
  return check;
}

function findSignature(
  keyId: string,
  signatures: Record<string, unknown> | undefined,
  serverName: string | undefined,
  requested: string,
): { under: Ed25519KeyCheck['signatureUnder']; entity: string | undefined; value: unknown } {
  if (signatures === undefined) return { under: 'none', entity: undefined, value: undefined };
  const lookup = (entity: string): { value: unknown } | undefined => {
    const forEntity = Object.hasOwn(signatures, entity) ? signatures[entity] : undefined;
    return isObject(forEntity) && Object.hasOwn(forEntity, keyId) ? { value: forEntity[keyId] } : undefined;
  };
  const atRequested = lookup(requested);
  if (atRequested) return { under: 'requested', entity: requested, ...atRequested };
  if (serverName !== undefined && serverName !== requested) {
    const atServerName = lookup(serverName);
    if (atServerName) return { under: 'server_name', entity: serverName, ...atServerName };
  }
  for (const entity of Object.keys(signatures).sort(compareCodePoints)) {
    const other = lookup(entity);
    if (other) return { under: 'other', entity, ...other };
  }
  return { under: 'none', entity: undefined, value: undefined };
}

function formProblems(what: string, form: Base64Form): string[] {
  const problems: string[] = [];
  if (form.urlSafe) problems.push(`${what} uses the URL-safe base64 alphabet`);
  if (form.padded) problems.push(`${what} is padded base64`);
  if (form.strayBits) problems.push(`${what} has non-zero trailing bits in its last base64 character`);
  return problems;
}

function checkOldVerifyKeys(doc: Record<string, unknown>): OldVerifyKeysFacts {
  const facts: OldVerifyKeysFacts = { present: Object.hasOwn(doc, 'old_verify_keys'), keyIds: [], problems: [] };
  if (!facts.present) return facts;
  const old = doc.old_verify_keys;
  if (!isObject(old)) {
    facts.problems.push('old_verify_keys is not an object');
    return facts;
  }
  for (const keyId of Object.keys(old).sort(compareCodePoints)) {
    facts.keyIds.push(keyId);
    const entry = old[keyId];
    if (!isObject(entry)) {
      facts.problems.push(`${keyId}: not an object`);
      continue;
    }
    if (keyId.startsWith(ED25519_PREFIX) && !KEY_ID.test(keyId)) {
      facts.problems.push(`${keyId}: key ID does not match ed25519:[a-zA-Z0-9_]+`);
    }
    if (!Object.hasOwn(entry, 'key')) {
      facts.problems.push(`${keyId}: missing key`);
    } else if (typeof entry.key !== 'string') {
      facts.problems.push(`${keyId}: key is not a string`);
    } else if (keyId.startsWith(ED25519_PREFIX)) {
      const decoded = decodeBase64(entry.key);
      if (!decoded.ok) facts.problems.push(`${keyId}: key is not base64 (${decoded.error})`);
      else if (decoded.bytes.length !== 32) facts.problems.push(`${keyId}: key decodes to ${decoded.bytes.length} bytes, not 32`);
    }
    if (!Object.hasOwn(entry, 'expired_ts')) {
      facts.problems.push(`${keyId}: missing expired_ts`);
    } else if (typeof entry.expired_ts !== 'number' || !Number.isInteger(entry.expired_ts)) {
      facts.problems.push(`${keyId}: expired_ts is not an integer`);
    }
  }
  return facts;
}

// ---------------------------------------------------------------------------------------------
// Building blocks, exported for tests and for other rules that check Matrix signatures

/**
 * The bytes a Matrix signature covers, as a string: canonical JSON of `doc` without its
 * top-level `signatures` and `unsigned` members (nested ones are kept). Throws what
 * canonicalJson throws.
 */
export function canonicalSigningInput(doc: Record<string, unknown>): string {
  // Object.fromEntries defines properties, so a member named __proto__ stays a member.
  return canonicalJson(Object.fromEntries(Object.entries(doc).filter(([k]) => k !== 'signatures' && k !== 'unsigned')));
}

/** Ed25519 verification with a raw 32-byte public key. Never throws: false on any error. */
export function ed25519Verify(message: Uint8Array, publicKey: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (publicKey.length !== 32 || signature.length !== 64) return false;
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

export type Base64Decoded = { ok: true; bytes: Uint8Array; form: Base64Form } | { ok: false; error: string };

const STANDARD = /^[A-Za-z0-9+/]*$/;
const URL_SAFE = /^[A-Za-z0-9\-_]*$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * Decodes Matrix base64 (appendices, "Unpadded Base64"): the standard alphabet without `=`.
 * Also accepts correct padding and the URL-safe alphabet (as the Go tester does), and reports
 * them in `form`. Rejects mixed alphabets, wrong padding, whitespace and impossible lengths.
 */
export function decodeBase64(text: string): Base64Decoded {
  const body = text.replace(/={1,2}$/, '');
  const padded = body.length !== text.length;
  if (padded && text.length % 4 !== 0) return { ok: false, error: 'wrong padding' };
  if (body.includes('=')) return { ok: false, error: 'misplaced =' };
  let urlSafe = false;
  if (!STANDARD.test(body)) {
    if (!URL_SAFE.test(body)) return { ok: false, error: 'characters outside the base64 alphabet' };
    urlSafe = true;
  }
  if (body.length % 4 === 1) return { ok: false, error: 'impossible length' };
  const standard = urlSafe ? body.replace(/-/g, '+').replace(/_/g, '/') : body;
  // Unused low bits of the last character: 4 when 2 characters remain, 2 when 3 remain.
  const rest = standard.length % 4;
  const last = rest === 0 ? 0 : ALPHABET.indexOf(standard[standard.length - 1] ?? 'A');
  const strayBits = rest === 2 ? (last & 0x0f) !== 0 : rest === 3 ? (last & 0x03) !== 0 : false;
  return { ok: true, bytes: new Uint8Array(Buffer.from(standard, 'base64')), form: { padded, urlSafe, strayBits } };
}

/** Unpadded standard base64, the Matrix encoding. */
export function encodeUnpaddedBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}

// ---------------------------------------------------------------------------------------------

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function describeType(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  return `a ${typeof x}`;
}
