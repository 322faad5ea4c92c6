// What the federation gatherer saw: the inputs and outcome of server discovery, and for every
// address of every target the version, keys and certificate answers.
import type { Discovery, DiscoveryInput } from './discovery.ts';
import type { AddressLookup } from './dns.ts';
import type { HttpOutcome } from './http.ts';

export interface AddressProbe {
  target: string;
  port: number;
  address: string;
  version: HttpOutcome;
  keys: HttpOutcome;
  /** The same requests as a browser, made only when the homeserver's got a 4xx or 5xx. */
  versionAsBrowser?: HttpOutcome;
  keysAsBrowser?: HttpOutcome;
  /** /version again with the bare host name as Host, made only when "Host: name:port" got a 4xx or 5xx. */
  versionBareHost?: HttpOutcome;
  /** An invented federation path: a JSON M_UNRECOGNIZED shows the homeserver answered, HTML a proxy. */
  unknownPath?: HttpOutcome;
  /** The issuer fetched from the leaf's AIA URL when the chain could not be built (body in base64). */
  aiaIssuer?: { url: string; outcome: HttpOutcome };
}

export interface FederationFacts {
  serverName: string;
  input: DiscoveryInput;
  discovery: Discovery;
  lookups: AddressLookup[];
  probes: AddressProbe[];
  /** Set when discovery used up the run's time, so the targets were not probed. */
  unprobed?: string;
}
