// Address helpers shared by probes and argument parsing.
import { isIP } from 'node:net';

export interface Endpoint {
  host: string;
  port: number;
}

/** The canonical text of an IP address (compressed, lower-case IPv6), or undefined when it is not one. */
export function canonicalIp(text: string): string | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const family = isIP(bare);
  if (family === 4) return bare;
  if (family === 6) return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  return undefined;
}

/**
 * Parses "IP", "IP:PORT", "[IPv6]" or "[IPv6]:PORT". A bare IPv6 address takes the default port.
 * Returns undefined when the text is not of that form.
 */
export function parseEndpoint(text: string, defaultPort: number): Endpoint | undefined {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  const v4 = /^([\d.]+)(?::(\d{1,5}))?$/.exec(text);
  let host: string | undefined;
  let port = defaultPort;
  if (bracketed) {
    host = isIP(bracketed[1]) === 6 ? canonicalIp(bracketed[1]) : undefined;
    if (bracketed[2]) port = Number(bracketed[2]);
  } else if (v4) {
    host = isIP(v4[1]) === 4 ? v4[1] : undefined;
    if (v4[2]) port = Number(v4[2]);
  } else if (isIP(text) === 6) {
    host = canonicalIp(text);
  }
  if (host === undefined || port < 1 || port > 65535) return undefined;
  return { host, port };
}

export function formatEndpoint({ host, port }: Endpoint): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A DNS server to ask, with the name it has in reports. */
export interface NamedServer {
  label: string;
  endpoint: Endpoint;
}

/** curl's --connect-to: requests for host:port go to address:toPort, whatever DNS says. */
export interface ConnectTo {
  host: string;
  port: number;
  address: string;
  toPort: number;
}

/** The --connect-to route for host:port, if any. */
export function routeFor(connectTo: readonly ConnectTo[] | undefined, host: string, port: number): ConnectTo | undefined {
  const name = host.toLowerCase();
  return connectTo?.find((r) => r.host === name && r.port === port);
}
