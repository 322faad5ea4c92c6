// addressScope judges an address by the range it falls in (IANA special-purpose registries), not
// by how its text happens to start: an IPv4-mapped IPv6 address is judged as its IPv4 address,
// and any spelling of an IPv6 address (compressed, full, upper-case) gets the same answer.
// A public name that resolves to such an address is not connected to (facts/public-names.ts).
import { describe, expect, it } from 'vitest';
import { isIP } from 'node:net';
import { isLanName, isTestName, unreachableNameProblem } from '../../checks/facts/public-names.ts';
import { unreachableNameRefusal, withRunCache } from '../../checks/probes/run-cache.ts';
import { addressRange, addressScope, type AddressScope } from '../../checks/facts/turn-config.ts';

const TABLE: [string, AddressScope][] = [
  // IPv4
  ['8.8.8.8', 'public'],
  ['1.1.1.1', 'public'],
  ['192.0.2.1', 'public'], // documentation ranges stand for public addresses in examples
  ['198.51.100.7', 'public'],
  ['203.0.113.10', 'public'],
  ['10.1.2.3', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['172.32.0.1', 'public'],
  ['192.168.1.1', 'private'],
  ['100.64.0.1', 'cgnat'],
  ['100.127.255.255', 'cgnat'],
  ['100.128.0.1', 'public'],
  ['127.0.0.1', 'loopback'],
  ['127.78.0.2', 'loopback'],
  ['169.254.1.1', 'link-local'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['224.0.0.1', 'reserved'], // multicast
  ['239.255.255.250', 'reserved'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.255', 'reserved'],
  ['198.18.0.1', 'reserved'], // benchmarking
  ['192.0.0.8', 'reserved'], // IETF protocol assignments
  // IPv6
  ['2001:4860:4860::8888', 'public'],
  ['2a00:1450::1', 'public'],
  ['2001:db8::1', 'public'], // documentation
  ['3fff::1', 'public'], // documentation (RFC 9637)
  ['::1', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['0000:0000:0000:0000:0000:0000:0000:0001', 'loopback'],
  ['::', 'unspecified'],
  ['0:0:0:0:0:0:0:0', 'unspecified'],
  ['fd00::1', 'private'],
  ['fc00::1', 'private'],
  ['FD12:3456::1', 'private'],
  ['fd::1', 'public'], // 00fd::1, outside fc00::/7
  ['fe80::1', 'link-local'],
  ['febf::1', 'link-local'],
  ['FE80::1', 'link-local'],
  ['fe8::1', 'public'], // 0fe8::1, outside fe80::/10
  ['ff02::1', 'reserved'], // multicast
  ['ff0e::101', 'reserved'],
  ['100::1', 'reserved'], // discard-only
  // IPv4-mapped IPv6: judged as the IPv4 address, in any spelling
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:192.0.2.1', 'public'],
  ['::ffff:c000:201', 'public'], // the form the STUN decoder produces for ::ffff:192.0.2.1
  ['::ffff:a00:1', 'private'],
  ['::FFFF:7f00:1', 'loopback'],
  ['0:0:0:0:0:ffff:6440:1', 'cgnat'],
  ['::ffff:0:0', 'unspecified'],
  ['::ffff:e000:1', 'reserved'],
];

describe('addressScope', () => {
  it.each(TABLE)('%s is %s', (address, scope) => {
    expect(addressScope(address)).toBe(scope);
  });
});

// addressRange is the same judgement with the documentation ranges told apart: they stand for
// public addresses in examples, yet a DNS answer carrying one reaches nobody.
describe('addressRange', () => {
  it.each([
    '192.0.2.1',
    '198.51.100.7',
    '203.0.113.10',
    '2001:db8::1',
    '2001:0DB8:0:0:0:0:0:1',
    '3fff::1',
    '3fff:fff::1',
    '::ffff:203.0.113.10',
  ])('%s is documentation', (address) => {
    expect(addressRange(address)).toBe('documentation');
  });

  it.each(['192.0.3.1', '198.51.101.1', '203.0.114.1', '2001:db9::1', '3fff:1000::1'])(
    '%s, next to a documentation range, is public',
    (address) => {
      expect(addressRange(address)).toBe('public');
    },
  );

  it.each(TABLE.filter(([address]) => addressScope(address) !== 'public'))('%s is %s, as for addressScope', (address, scope) => {
    expect(addressRange(address)).toBe(scope);
  });
});

describe('a public name is not connected to an address nobody outside reaches', () => {
  it.each([
    ['matrix.example-club.de', '192.168.1.20', 'a private (RFC 1918 / ULA) address'],
    ['matrix.example-club.de', 'fd00::20', 'a private (RFC 1918 / ULA) address'],
    ['matrix.example-club.de', '127.0.0.1', 'a loopback address'],
    ['matrix.example-club.de', '100.64.1.1', 'a carrier-grade NAT (100.64.0.0/10) address'],
    ['matrix.example-club.de', '203.0.113.10', 'a documentation address (reserved for examples, never routed)'],
    ['matrix.example-club.de', '::ffff:10.0.0.5', 'a private (RFC 1918 / ULA) address'],
  ])('%s at %s (%s)', (host, address, scope) => {
    const port = 8448;
    const routed = isIP(address) === 6 ? `[${address}]` : address;
    expect(unreachableNameProblem(host, address, port)).toBe(
      `${host} resolves to ${address}, ${scope}, which no server or client elsewhere reaches (the dns area names the record); to test that address on purpose, --connect-to ${host}:${port}:${routed}:${port}`,
    );
  });
  it.each([
    ['a public address', 'matrix.example-club.de', '11.22.33.44'],
    ['an IP literal, given on purpose', '192.168.1.20', '192.168.1.20'],
    ['a name reserved for tests', 'matrix.sandbox.test', '127.0.0.1'],
    ['an RFC 2606 example name', 'matrix.example.org', '203.0.113.10'],
    ['a LAN-only name', 'matrix.home.arpa', '192.168.1.20'],
    ['a LAN-only name written with a final dot', 'nas.LOCAL.', '192.168.1.20'],
  ])('connected: %s', (_, host, address) => {
    expect(unreachableNameProblem(host, address, 443)).toBeUndefined();
  });
  it('test and LAN names are told by their last labels only', () => {
    expect(isTestName('test.example-club.de')).toBe(false);
    expect(isLanName('lan.example-club.de')).toBe(false);
    expect(isTestName('a.b.test')).toBe(true);
    expect(isLanName('router.home.arpa')).toBe(true);
  });
});

describe('serve --allow-private lets a run connect to those addresses', () => {
  it('refused in a plain run, connected in one that allows private addresses', async () => {
    expect(unreachableNameRefusal('matrix.example-club.de', '10.0.0.5', 443)).toMatch(/^matrix\.example-club\.de resolves to 10\.0\.0\.5/);
    const refused = await withRunCache(async () => unreachableNameRefusal('matrix.example-club.de', '10.0.0.5', 443));
    expect(refused.result).toMatch(/resolves to 10\.0\.0\.5/);
    const allowed = await withRunCache(async () => unreachableNameRefusal('matrix.example-club.de', '10.0.0.5', 443), undefined, true);
    expect(allowed.result).toBeUndefined();
  });
});
