// Findings of the outbound area: whether the homeserver itself reaches other servers ({remote}
// is a remote server name, {destination} one of Synapse's federation destinations).
import { declareFindings } from '../core/catalogue.ts';

export const OUTBOUND = declareFindings('outbound', {
  remote: {
    id: 'outbound.remote.{remote}',
    pass: 'Remote {remote} answers federation from here',
    fail: 'Remote {remote} does not answer federation from here either',
    about:
      "Each remote is first found and asked for its keys from the machine running the check, by the spec's discovery. When that fails too, the remote (its server, its well-known, its DNS) is the likely cause of the failures below, not your server.",
  },
  local: {
    id: 'outbound.local.federation',
    pass: 'Federation endpoint of the homeserver found',
    fail: 'Federation endpoint of the homeserver unreachable',
    about:
      "The notary query goes to the homeserver's own federation endpoint. When it cannot be reached (federation turned off, port 8448 closed), the outbound check from outside cannot run; inbound federation is broken as well (see the federation area).",
  },
  notary: {
    id: 'outbound.notary.{remote}',
    pass: 'Homeserver fetched the keys of {remote} (notary)',
    fail: 'Homeserver could not fetch the keys of {remote}',
    about:
      "POST /_matrix/key/v2/query with a key id the remote really has and a minimum_valid_until_ts the cache cannot meet makes the homeserver fetch the remote's keys itself and sign them. An empty answer means it could not reach the remote; an answer with an older key means it served its cache. A server that turns its notary off (a proxy closing /_matrix/key/v2/query; Synapse itself has no switch for it) gives no answer: the check then says so and relies on the client and inside steps.",
  },
  inbound: {
    id: 'outbound.inbound.{remote}',
    pass: '{remote} fetched the keys of this server (inbound)',
    fail: '{remote} could not fetch the keys of this server (inbound)',
    about:
      "The other direction, side by side: the remote's notary is asked for this server's keys. When it cannot fetch them, servers like it cannot reach yours (see the federation area).",
  },
  client: {
    id: 'outbound.client.{remote}',
    pass: 'Homeserver federates with {remote} for its users',
    fail: 'Homeserver cannot reach {remote} for its users',
    about:
      "With a user's access token, the client API makes the homeserver federate: resolving a room alias on the remote and fetching a remote profile. A 404 from the remote counts as reached. Synapse's errors are mapped to causes: 502 'Failed to fetch' (the remote could not be reached: DNS, firewall, the remote down), 504 or the check's timeout (the remote is slow or packets are dropped), 403 federation denied (federation_domain_whitelist).",
  },
  token: {
    id: 'outbound.user.token',
    pass: "User's token accepted",
    fail: "User's token refused",
    about: 'The client steps need a valid access token (MATRIX_ACCESS_TOKEN or --access-token-file). Without one they are skipped.',
  },
  destinations: {
    id: 'outbound.admin.destinations',
    pass: 'Federation destinations read (admin API)',
    fail: 'Federation destinations could not be read',
    about:
      'With an admin token (MATRIX_ADMIN_TOKEN or --admin-token-file), GET /_synapse/admin/v1/federation/destinations lists the servers Synapse sends to, with their backoff. A non-admin token gets 403.',
  },
  backoff: {
    id: 'outbound.admin.backoff.{destination}',
    pass: 'Destination {destination} is not in backoff',
    fail: 'Destination {destination} is in backoff',
    about:
      'After failures Synapse waits longer and longer (up to days) before it tries a destination again, long after the cause went away: messages to that server wait. POST …/destinations/{destination}/reset_connection ends the wait; the check runs it only with --apply.',
  },
  inside: {
    id: 'outbound.inside.run',
    pass: 'Commands ran on the server through the inventory',
    fail: 'Commands could not run on the server through the inventory',
    about:
      'The inside steps run one Ansible ad-hoc command on the inventory host and one in the Synapse container (docker exec matrix-synapse). When Ansible cannot reach the host or the container is missing, they are not known.',
  },
  host: {
    id: 'outbound.inside.host.{remote}',
    pass: 'The server reaches {remote} (host)',
    fail: 'The server cannot reach {remote} (host)',
    about:
      "From the host: the remote's federation host resolves, and HTTPS to it answers. A failure here and not from outside points at the host's resolver or an outgoing firewall.",
  },
  container: {
    id: 'outbound.inside.container.{remote}',
    pass: 'The Synapse container reaches {remote}',
    fail: 'The Synapse container cannot reach {remote}',
    about:
      "From inside the Synapse container, where Synapse resolves and connects: Docker's embedded resolver and the container's routes (a broken IPv6 route) differ from the host's.",
  },
  clock: {
    id: 'outbound.inside.clock',
    pass: 'Server clock agrees with the remotes',
    fail: 'Server clock is off',
    about:
      "The host's clock against the Date headers of the remotes. A clock off by minutes makes signatures and tokens look expired or not yet valid to other servers.",
  },
  canary: {
    id: 'outbound.canary',
    pass: 'Canary: a ping left and its reply came back',
    fail: 'Canary: the ping had no reply',
    about:
      "With --canary ROOM and a user's token: one message (\"!ping …\", saying what it is) into a room on another server where an echo bot answers, such as #ping:maunium.net (maubot's echo plugin). The bot's pong proves both directions, each with its latency: the bot measures the ping's way out, the rest of the round trip is the way back. Without a reply the check tells apart a room it cannot reach or join, a ping that never left (with an admin token: the room's server in Synapse's backoff, or no transaction to it went through), and a ping that left while no reply came back (the inbound path). A room joined for the ping is left again; it runs only when asked, one ping per run, never from the exporter.",
  },
  withheld: {
    id: 'outbound.withheld.{secret}',
    pass: 'The {secret} went only to its own server',
    fail: 'The {secret} was not sent',
    about:
      "A request that carries a secret (the user's or the admin's token) goes only to the origin the secret belongs to, over a connection whose TLS verified (or plain HTTP to loopback), and follows a redirect only within that origin (docs/security.md). When one of these does not hold, nothing is sent: the finding says which rule held and what to change.",
  },
});
