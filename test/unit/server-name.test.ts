import { describe, expect, it } from 'vitest';
import { parseServerName } from '../../checks/core/server-name.ts';
import { InputError } from '../../checks/core/errors.ts';
import { canonicalIp, formatEndpoint, parseEndpoint } from '../../checks/core/net.ts';

describe('server name', () => {
  it('accepts a base domain, with or without a port', () => {
    expect(parseServerName('example.org')).toMatchObject({ host: 'example.org', isIpLiteral: false, converted: false });
    expect(parseServerName('example.org:8448')).toMatchObject({ host: 'example.org', port: 8448 });
    expect(parseServerName(' example.org. ').host).toBe('example.org');
  });

  it('accepts IP literals, IPv6 only in brackets', () => {
    expect(parseServerName('192.0.2.1')).toMatchObject({ host: '192.0.2.1', isIpLiteral: true });
    expect(parseServerName('[2001:DB8::1]:8448'.toLowerCase())).toMatchObject({ host: '2001:db8::1', port: 8448, isIpLiteral: true });
    expect(() => parseServerName('2001:db8::1')).toThrow(/in brackets/);
  });

  it('converts an internationalized name to punycode', () => {
    expect(parseServerName('пример.рф')).toMatchObject({ host: 'xn--e1afmkfd.xn--p1ai', converted: true });
  });

  it.each([
    ['https://example.org/', /without scheme or path: example\.org$/],
    ['example.org/_matrix', /without scheme or path: example\.org$/],
    ['Example.ORG', /use example\.org$/],
    ['ПРИМЕР.РФ', /use пример\.рф$/],
    ['matrix.example.org', /@alice:matrix\.example\.org.*base domain \(example\.org\)/],
    ['', /empty/],
    ['exa_mple.org', /not a valid domain name/],
    ['example.org:99999', /invalid port/],
  ])('rejects %j with one clear line', (input, message) => {
    let caught: unknown;
    try {
      parseServerName(input);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message).not.toContain('\n');
  });

  it('accepts a matrix. name when the configuration says so', () => {
    expect(parseServerName('matrix.example.org', { allowMatrixPrefix: true }).host).toBe('matrix.example.org');
  });
});

describe('endpoints', () => {
  it('parses IPv4 and bracketed IPv6 with optional ports', () => {
    expect(parseEndpoint('192.0.2.1', 53)).toEqual({ host: '192.0.2.1', port: 53 });
    expect(parseEndpoint('192.0.2.1:5353', 53)).toEqual({ host: '192.0.2.1', port: 5353 });
    expect(parseEndpoint('[2001:db8:0::1]:5353', 53)).toEqual({ host: '2001:db8::1', port: 5353 });
    expect(parseEndpoint('2001:db8::1', 53)).toEqual({ host: '2001:db8::1', port: 53 });
  });

  it.each(['1.2.3', '1.2.3.4:0', '1.2.3.4:70000', 'dns.example', '[::1', '256.1.1.1'])('rejects %j', (text) => {
    expect(parseEndpoint(text, 53)).toBeUndefined();
  });

  it('formats and canonicalizes', () => {
    expect(formatEndpoint({ host: '2001:db8::1', port: 53 })).toBe('[2001:db8::1]:53');
    expect(canonicalIp('2001:0DB8:0000::0001')).toBe('2001:db8::1');
    expect(canonicalIp('nonsense')).toBeUndefined();
  });
});
