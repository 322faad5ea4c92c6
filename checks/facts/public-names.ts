// Which names are meant to be reached from the internet, and what a connection to one of them may
// not lead to. A public name whose answer is an address nobody outside reaches (a LAN address
// copied from the router, loopback, a documentation example) is the dns area's failure
// (dns.reach.*); the other areas do not connect there: they would test the checker's own network,
// not what other servers see. An address given on purpose (an IP literal, a --connect-to route)
// is the operator's choice and is connected to.
import { isIP } from 'node:net';
import { addressRange, SCOPE_TEXT } from './turn-config.ts';

// Names reserved for testing and documentation never exist in public DNS (RFC 2606 §2-3,
// RFC 6761 §6): whatever they resolve to is a test network's, so their reach is not judged.
const TEST_NAMES = /(^|\.)(test|example|invalid|localhost|example\.(com|net|org))$/;
// Names of a home or site network (home.arpa, RFC 8375; .local, RFC 6762, and the private names
// its Appendix G lists; .internal, reserved by ICANN for private use): LAN addresses are what
// they are for. Such a name cannot federate at all, but that is the name's doing.
const LAN_NAMES = /(^|\.)(home\.arpa|local|internal|intranet|private|corp|home|lan)$/;

export function isTestName(name: string): boolean {
  return TEST_NAMES.test(name.toLowerCase().replace(/\.$/, ''));
}

export function isLanName(name: string): boolean {
  return LAN_NAMES.test(name.toLowerCase().replace(/\.$/, ''));
}

/**
 * Why `address`, which the public name `host` resolved to, is not connected to; undefined when it
 * may be (a public address, an IP literal, a test or LAN name).
 */
export function unreachableNameProblem(host: string, address: string, port: number): string | undefined {
  if (isIP(host) !== 0 || isTestName(host) || isLanName(host)) return undefined;
  const range = addressRange(address);
  if (range === 'public') return undefined;
  return `${host} resolves to ${address}, ${SCOPE_TEXT[range]}, which no server or client elsewhere reaches (the dns area names the record); to test that address on purpose, --connect-to ${host}:${port}:${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
}
