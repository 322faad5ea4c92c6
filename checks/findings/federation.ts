// Findings of the federation area.
import { declareFindings } from '../core/catalogue.ts';

export const FEDERATION = declareFindings('federation', {
  discovery: {
    id: 'federation.discovery',
    pass: 'Server discovery',
    fail: 'Server discovery fails',
    about:
      'How other servers find this one: the server name itself, /.well-known/matrix/server, the SRV records or port 8448, step by step as the spec prescribes. It says which step decided, where servers connect, and which TLS name and Host header they use; when discovery ends in an error, no server can federate with this one.',
  },
  targetsUnprobed: {
    id: 'federation.targets.unprobed',
    pass: 'Federation targets probed',
    fail: 'Federation targets could not be probed',
    about:
      'The addresses servers connect to could not be tried. A step that could not finish is never a pass: it is a failure until a run shows the targets answer.',
  },
  wellKnownUserAgent: {
    id: 'federation.wellknown_user_agent',
    pass: 'Server well-known answers homeservers as it answers browsers',
    fail: 'Server well-known refuses homeservers but not browsers',
    about:
      "/.well-known/matrix/server is requested with Synapse's User-Agent, as homeservers ask for it, and once more with a browser's after an error. When the homeserver gets an error and the browser the file, a firewall, bot protection or a hosting provider's rule treats homeservers differently: they never see the delegation and fall back to port 8448 of the base domain.",
  },
  targetAddress: {
    id: 'federation.target.{host}.address',
    pass: '{host} has an address',
    fail: '{host} has no address',
    about:
      'The host discovery leads to must have an A or AAAA record. Without one, other servers have nowhere to connect, and federation with this server fails.',
  },
  cloudflare: {
    id: 'federation.{address}.cloudflare',
    pass: '{label} not behind Cloudflare',
    fail: '{label} behind Cloudflare',
    about:
      'The address is a Cloudflare proxy, and federation goes to port 8448, which Cloudflare does not proxy: other servers cannot reach the homeserver. Set the record to "DNS only", or delegate federation to port 443.',
  },
  connect: {
    id: 'federation.{address}.connect',
    pass: '{label} connection',
    fail: '{label} connection fails',
    about:
      'Other servers open a TCP connection and a TLS session to every IPv4 and IPv6 address of the target. When one address cannot be reached (a closed port, a firewall that drops packets), the servers that pick it cannot federate.',
  },
  userAgent: {
    id: 'federation.{address}.user_agent',
    pass: '{label} answers homeservers as it answers browsers',
    fail: '{label} refuses homeservers but not browsers',
    about:
      "Federation requests are sent with Synapse's User-Agent; after an error they are repeated once with a browser's. When the homeserver's request fails and the browser's succeeds, a WAF, bot protection or a hosting provider's rule blocks homeservers: federation fails although a browser test looks fine.",
  },
  tls: {
    id: 'federation.{address}.tls',
    pass: '{label} TLS',
    fail: '{label} TLS fails',
    about:
      'The TCP connection works but the TLS handshake does not: the port does not serve HTTPS for the name servers ask for. Federation is HTTPS only, so servers that reach this address cannot federate.',
  },
  tlsVersion: {
    id: 'federation.{address}.tls_version',
    pass: '{label} TLS version',
    fail: '{label} uses an obsolete TLS version',
    about: 'TLS 1.0 and 1.1 are obsolete and insecure; servers and libraries are dropping them. Allow only TLS 1.2 and 1.3.',
  },
  certificate: {
    id: 'federation.{address}.certificate',
    pass: '{label} certificate',
    fail: '{label} certificate is refused or expires soon',
    about:
      'The certificate must be valid for the name discovery gives (the server name or the delegated host, never an SRV target), chain to a CA servers trust with every intermediate sent, and be within its dates. Servers refuse anything else, so federation with this address fails; a certificate that expires within 14 days is a warning.',
  },
  version: {
    id: 'federation.{address}.version',
    pass: '{label} /_matrix/federation/v1/version',
    fail: '{label} /_matrix/federation/v1/version fails',
    about:
      'The federation version endpoint must be answered by the homeserver itself. A proxy error, a web page or a router miss here means the reverse proxy does not send federation traffic to the homeserver.',
  },
  keys: {
    id: 'federation.{address}.keys',
    pass: '{label} server keys',
    fail: '{label} server keys have problems',
    about:
      "/_matrix/key/v2/server must serve the homeserver's signing keys: JSON for the right server_name, not expired, signed with a valid ed25519 signature. Servers that cannot verify the keys reject every event and request from this server; lesser deviations (a short validity, a key altered by a proxy) are warnings.",
  },
  send: {
    id: 'federation.{address}.send',
    pass: '{label} takes a full-size transaction',
    fail: '{label} refuses a full-size transaction',
    about:
      "Other servers push messages with PUT /_matrix/federation/v1/send/{txnId}; a busy room's transaction carries up to 50 events of up to 64 KiB and 100 EDUs, over 3 MiB, and Synapse accepts 12.5 MiB. The check sends one of 3.2 MiB, once per single-server run (a fleet run and the exporter leave it out) (with an X-Matrix header Synapse refuses while parsing it, so nothing is processed) and expects Synapse's own JSON error. A 413 from a proxy (nginx's default client_max_body_size is 1m, a Traefik buffering middleware's maxRequestBodyBytes), a 404, a redirect or a web page means large transactions never arrive while every GET test passes: messages, read receipts and keys from busy rooms go missing.",
  },
  authorization: {
    id: 'federation.{address}.authorization',
    pass: '{label} forwards the X-Matrix Authorization header',
    fail: '{label} strips the Authorization header',
    about:
      'Every federation request is signed in its Authorization: X-Matrix header. Synapse says whether the header it got was malformed (it arrived) or missing: a proxy that strips or replaces it leaves every signed request unauthenticated, and Synapse refuses them all with 401.',
  },
  media: {
    id: 'federation.{address}.media',
    pass: '{label} routes media over federation',
    fail: '{label} does not route media over federation',
    about:
      "Since Matrix v1.11 (authenticated media) other servers fetch this server's media with GET /_matrix/federation/v1/media/download/{mediaId}. Unauthenticated, the homeserver answers its own JSON error (Synapse: 401); a proxy's 404, a web page or a 502 means images and files posted here do not load on other servers.",
  },
  keysConsistency: {
    id: 'federation.keys.consistency',
    pass: 'Same keys on every address',
    fail: 'Addresses serve different keys',
    about:
      "Every address of the target must serve the same keys. When they differ (an old server, a stale AAAA record), a peer's result depends on which address it reaches, and some servers fail to federate.",
  },
});
