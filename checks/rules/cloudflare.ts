// Cloudflare's published proxy ranges (cloudflare.com/ips-v4 and /ips-v6). An address in them
// means the record is proxied ("orange cloud"): port 8448 is not among the ports Cloudflare
// proxies and ACME HTTP-01 breaks (docs/failure-modes.md "Cloudflare proxy in front of the Matrix host";
// MDAD docs/configuring-dns.md).
import { BlockList, isIPv6 } from 'node:net';

const IPV4 = [
  '173.245.48.0/20',
  '103.21.244.0/22',
  '103.22.200.0/22',
  '103.31.4.0/22',
  '141.101.64.0/18',
  '108.162.192.0/18',
  '190.93.240.0/20',
  '188.114.96.0/20',
  '197.234.240.0/22',
  '198.41.128.0/17',
  '162.158.0.0/15',
  '104.16.0.0/13',
  '104.24.0.0/14',
  '172.64.0.0/13',
  '131.0.72.0/22',
];
const IPV6 = ['2400:cb00::/32', '2606:4700::/32', '2803:f800::/32', '2405:b500::/32', '2405:8100::/32', '2a06:98c0::/29', '2c0f:f248::/32'];

const proxyRanges = new BlockList();
for (const range of IPV4) proxyRanges.addSubnet(range.split('/')[0], Number(range.split('/')[1]), 'ipv4');
for (const range of IPV6) proxyRanges.addSubnet(range.split('/')[0], Number(range.split('/')[1]), 'ipv6');

export function isCloudflareProxy(address: string): boolean {
  return proxyRanges.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
}
