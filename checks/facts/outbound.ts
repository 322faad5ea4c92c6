// What the outbound gatherer saw: whether the homeserver itself reaches other servers. Four
// vantage points, each optional: the notary endpoint (no credentials), the client API with a
// user's token, the admin API's federation destinations, and commands run on the server through
// the inventory (host and Synapse container). Secrets never appear here.

import type { Withheld } from './http.ts';

/** A few well-known public servers, when no --remote is given. */
export const DEFAULT_REMOTES: readonly string[] = ['matrix.org', 'mozilla.org', 'kde.org'];

/** One HTTP call the check made, reduced to what the rules read. */
export interface CallFact {
  url: string;
  /** Absent when no answer came (then `failure` says why). */
  status?: number;
  errcode?: string;
  error?: string;
  failure?: string;
  /** The failure was the check's own --timeout. */
  timedOut?: boolean;
  /** The call carried a token and was not sent: which rule held (checks/probes/credentialed.ts). */
  withheld?: Withheld;
  elapsedMs: number;
}

/** A remote server as seen from this machine (discovery + /_matrix/key/v2/server). */
export interface RemoteFact {
  name: string;
  /** Where discovery sent us, e.g. matrix.example.org:8448. */
  target?: string;
  /** Its current key ids and the keys' valid_until_ts, read from its own key endpoint. */
  keyIds: string[];
  validUntilTs?: number;
  /** Why its keys could not be read from here. */
  problem?: string;
}

/** POST /_matrix/key/v2/query on a notary, asking for a server's key by id. */
export interface NotaryFact {
  /** The server asked (the notary). */
  notary: string;
  /** The server whose keys were asked for. */
  about: string;
  call: CallFact;
  /** The key ids the answer carried for `about`, signed by the notary. */
  keyIds: string[];
  signedByNotary: boolean;
  /** valid_until_ts of the freshest key object of the answer. */
  validUntilTs?: number;
  minimumValidUntilTs?: number;
}

export interface ClientProbeFact {
  remote: string;
  alias: { alias: string; call: CallFact };
  profile: { userId: string; call: CallFact };
}

export interface DestinationFact {
  destination: string;
  /** ms since the epoch; null when never failed. */
  failureTs: number | null;
  retryLastTs: number;
  retryIntervalMs: number;
  lastSuccessfulStreamOrdering: number | null;
  /** Set after --apply: the outcome of the reset_connection call. */
  reset?: CallFact;
}

export interface InsideStep {
  /** Resolution of the remote's federation host from there. */
  addresses: string[];
  dnsError?: string;
  /** HTTPS GET /_matrix/federation/v1/version from there. */
  status?: number;
  httpError?: string;
  elapsedMs?: number;
  /** The remote's Date header minus the clock there, in seconds. */
  clockOffsetS?: number;
}

export interface InsideFact {
  remote: string;
  target: string;
  host?: InsideStep;
  container?: InsideStep;
}

export interface InsideFacts {
  inventory: string;
  host: string;
  /** Ansible could not run or the host did not answer: why (nothing else is known). */
  problem?: string;
  /** The container step could not run (docker missing, container absent): why. */
  containerProblem?: string;
  remotes: InsideFact[];
}

/** What --canary asks for: a room where an echo bot answers "!ping", and how long to wait. */
export interface CanaryRequest {
  /** #alias:server or !roomid:server. */
  room: string;
  /** The bound of the join and, again, of the wait for the reply. */
  waitMs: number;
}

/** A destination as Synapse's admin API shows it, read before the ping and after the wait. */
export interface DeliveryFact {
  destination: string;
  /** GET …/federation/destinations/{destination} before the ping (404: never contacted). */
  before: CallFact;
  after?: CallFact;
  /** last_successful_stream_ordering before and after: it grows when a transaction with events went through. */
  orderingBefore?: number | null;
  orderingAfter?: number | null;
  failureTs?: number | null;
  retryIntervalMs?: number;
}

/**
 * The canary: one "!ping" into a room on another server where an echo bot answers (maubot's echo
 * plugin, as in the community's ping rooms), and its pong coming back. Room and event ids only;
 * no token.
 */
export interface CanaryFact {
  room: string;
  /** The server the room's alias or id names: where the bot is expected to answer from. */
  roomServer: string;
  waitMs: number;
  /** Why nothing was sent (no token, the token refused). */
  notRun?: string;
  /** GET /directory/room/{alias}, for an alias. */
  resolve?: CallFact;
  roomId?: string;
  /** The user was in the room before: nothing is joined or left. */
  wasMember?: boolean;
  joinedRooms?: CallFact;
  join?: CallFact;
  send?: CallFact;
  eventId?: string;
  /** The bot's answer: its pong.ms is its clock at arrival less our event's origin_server_ts. */
  pong?: { sender: string; eventId: string; roundTripMs: number; outboundMs?: number };
  /** How long the reply was waited for, when none came. */
  waitedMs?: number;
  /** Asking for the ping's relations while waiting failed (the wait then ended). */
  watch?: CallFact;
  delivery?: DeliveryFact;
  leave?: CallFact;
}

export interface OutboundFacts {
  serverName: string;
  /** The homeserver's federation endpoint the notary query went to. */
  localFederation?: string;
  localProblem?: string;
  remotes: RemoteFact[];
  /** The local homeserver fetching each remote's keys. */
  outboundNotary: NotaryFact[];
  /** Each remote's notary fetching the local server's keys (the inbound direction). */
  inboundNotary: NotaryFact[];
  /** The local server's own key ids (what inbound asks for). */
  localKeyIds: string[];
  /** Tokens were given but no homeserver to send them to was found: why. */
  homeserverProblem?: string;
  client?: { baseUrl: string; whoami: CallFact; probes: ClientProbeFact[] };
  admin?: { list: CallFact; destinations: DestinationFact[]; applied: boolean };
  inside?: InsideFacts;
  canary?: CanaryFact;
}
