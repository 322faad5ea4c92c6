// What the federation gatherer saw: the inputs and outcome of server discovery, and for every
// address of every target the version, keys and certificate answers, and how the proxy in front
// treats a transaction and a media request as other servers send them.
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
  /**
   * PUT /_matrix/federation/v1/send/{txnId} with a transaction of `bytes` and a deliberately
   * malformed X-Matrix header: made once, only when the connection and TLS handshake worked.
   */
  send?: { bytes: number; outcome: HttpOutcome };
  /** GET /_matrix/federation/v1/media/download/{mediaId}, unauthenticated; made as `send` is. */
  media?: HttpOutcome;
  /** The issuer fetched from the leaf's AIA URL when the chain could not be built (body in base64). */
  aiaIssuer?: { url: string; outcome: HttpOutcome };
}

/**
 * The largest request body Synapse accepts, whatever the listener: MAX_REQUEST_SIZE = 200 *
 * MAX_PDU_SIZE (65536), 12.5 MiB (element-hq/synapse 1.163.2 synapse/api/constants.py), which
 * max_request_body_size() in synapse/app/_base.py raises to max_upload_size (default 50M) in a
 * process that loads the media repository; SynapseSite (synapse/http/site.py) answers a larger
 * Content-Length with its own 413 M_TOO_LARGE.
 */
export const SYNAPSE_MAX_REQUEST_BYTES = 200 * 65536;

/**
 * The transaction the /send probe sends: the most events a transaction carries, 50 PDUs (spec,
 * server-server API "Transactions") at the largest size a PDU may have, 65536 bytes (spec,
 * client-server API "Size limits"), and its 100 EDUs at 1 KiB (typing, receipts and presence are
 * far smaller; the spec sets no EDU size). 3.2 MiB: what busy rooms really send, over three times
 * nginx's default client_max_body_size of 1m and well under Synapse's limit, at an upload cost a
 * run from a home connection can afford.
 */
export const LARGEST_TRANSACTION = { pdus: 50, pduBytes: 65536, edus: 100, eduBytes: 1024 } as const;

export interface FederationFacts {
  serverName: string;
  input: DiscoveryInput;
  discovery: Discovery;
  lookups: AddressLookup[];
  probes: AddressProbe[];
  /** Set when discovery used up the run's time, so the targets were not probed. */
  unprobed?: string;
}
