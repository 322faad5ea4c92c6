// Redaction (checks/core/redact.ts): every name under the server name, every address, Matrix
// ids and tokens become placeholders, the same original always the same placeholder, ids of
// findings included; nothing else changes.
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../checks/core/finding.ts';
import { createRedactor } from '../../checks/core/redact.ts';

const redactor = () => createRedactor({ domains: ['chat.example.test'], secrets: ['s3cret-turn-value'] });

describe('redaction', () => {
  it('replaces the server name and the hosts under it, keeping the labels MDAD uses', () => {
    const r = redactor();
    expect(r.text('chat.example.test, matrix.chat.example.test. and element.chat.example.test')).toBe(
      'example.org, matrix.example.org. and element.example.org',
    );
    // A label that is not one of MDAD's could tell something: it becomes host1.
    expect(r.text('alice-laptop.chat.example.test and alice-laptop.chat.example.test')).toBe('host1.example.org and host1.example.org');
    // Names that merely end alike, and names elsewhere, stay.
    expect(r.text('notchat.example.test letsencrypt.org example.test')).toBe('notchat.example.test letsencrypt.org example.test');
    expect(r.text('MATRIX.Chat.Example.Test')).toBe('matrix.example.org');
  });

  it('gives every address a documentation address, the same one every time, in ids too', () => {
    const r = redactor();
    const text = r.text('203.0.113.10 then 10.0.0.5:49152, [2001:db8:1::10]:8448, 203.0.113.10 again, ::ffff:198.51.100.7');
    expect(text).toBe('192.0.2.1 then 192.0.2.2:49152, [2001:db8::1]:8448, 192.0.2.1 again, 2001:db8::2');
    // Ids spell addresses with underscores: the same placeholder, spelled the same way.
    expect(r.text('federation.203_0_113_10_8448.keys federation.2001_db8_1_10_8448.tls')).toBe(
      'federation.192_0_2_1_8448.keys federation.2001_db8_1_8448.tls',
    );
  });

  it('leaves what only looks like an address: times, versions, key ids, fingerprints', () => {
    const r = redactor();
    const text = 'at 10:06:34 (v1.11, 1.140.0) ed25519:a_bc AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB';
    expect(r.text(text)).toBe(text);
  });

  it('replaces user ids, room ids and aliases, tokens and the secrets of the run', () => {
    const r = redactor();
    expect(
      r.text('@alice:chat.example.test @bob:other.test @alice:chat.example.test !AbCdEf:chat.example.test #general:chat.example.test'),
    ).toBe('@user1:example.org @user2:other.test @user1:example.org !room1:example.org #alias1:example.org');
    expect(r.text('syt_YWxpY2U_kDhu2qMnEzZvEN_1a2b3c and https://h/_matrix/client?access_token=abc123&x=1')).toBe(
      '<token1> and https://h/_matrix/client?access_token=<redacted>&x=1',
    );
    expect(r.text('Authorization: Bearer abcdefghijklmnop; secret s3cret-turn-value')).toBe(
      'Authorization: Bearer <redacted>; secret <secret1>',
    );
    // A TURN REST user name is "expiry:user": the number is no Matrix user.
    expect(r.text('1733300000:@alice:chat.example.test')).toBe('1733300000:@user1:example.org');
  });

  it('walks a whole report, keys too, with one table for all of it', () => {
    const findings: Finding[] = [
      {
        id: 'federation.203_0_113_10_8448.keys',
        status: 'fail',
        title: 'Keys of 203.0.113.10',
        fix: 'Point matrix.chat.example.test at 198.51.100.1',
      },
      {
        id: 'dns.record.matrix.a',
        status: 'fail',
        title: 'matrix.chat.example.test A',
        detail: 'Points at 198.51.100.1, not 203.0.113.10',
        evidence: { '203.0.113.10': ['198.51.100.1'], when: 5 },
        causedBy: 'federation.203_0_113_10_8448.keys',
      },
    ];
    const out = redactor().redact({ serverName: 'chat.example.test', findings });
    // The id comes before the detail that names the address: still the same placeholder.
    expect(out.findings[0].id).toBe('federation.192_0_2_1_8448.keys');
    expect(out.findings[0].title).toBe('Keys of 192.0.2.1');
    expect(out.findings[1].causedBy).toBe('federation.192_0_2_1_8448.keys');
    expect(out.findings[1].detail).toBe('Points at 192.0.2.2, not 192.0.2.1');
    expect(out.findings[1].evidence).toEqual({ '192.0.2.1': ['192.0.2.2'], when: 5 });
    expect(out.serverName).toBe('example.org');
    expect(JSON.stringify(out)).not.toMatch(/chat\.example|203\.0\.113|198\.51\.100|203_0_113/);
    // The input is not changed.
    expect(findings[0].id).toBe('federation.203_0_113_10_8448.keys');
  });

  it('gives a second domain its own placeholder', () => {
    const r = createRedactor({ domains: ['one.test', 'two.test'] });
    expect(r.text('matrix.one.test matrix.two.test one_test')).toBe('matrix.example.org matrix.example.net example_org');
  });
});
