// Findings of the turn area: the homeserver's TURN configuration as a logged-in client gets it,
// which TURN URIs were probed, each URI step by step on the wire ({uri} is its subject, e.g.
// turn-udp-3478 or turns-tcp-5349, with the host appended when two URIs would share one), and
// MatrixRTC (the LiveKit focus, its JWT service, LiveKit's TCP port).
import { declareFindings } from '../core/catalogue.ts';

export const TURN = declareFindings('turn', {
  // The homeserver, as a logged-in client
  homeserverDiscovery: {
    id: 'turn.homeserver.discovery',
    pass: 'Homeserver found',
    fail: 'Homeserver not found',
    about:
      'To ask the homeserver for its TURN servers, the check first finds it the way a client does: through the client well-known (m.homeserver), or --homeserver. When the well-known is unreadable the homeserver of vars.yml is used instead, with a warning: clients cannot find it either.',
  },
  homeserverApi: {
    id: 'turn.homeserver.api',
    pass: 'Client API reachable',
    fail: 'Client API unreachable',
    about:
      'GET /_matrix/client/versions must answer 200 over HTTPS with a certificate that verifies before any token or password is sent. When it does not, no credentials leave this machine and the TURN configuration the homeserver hands out stays unknown.',
  },
  homeserverLogin: {
    id: 'turn.homeserver.login',
    pass: 'Logged in as a test user',
    fail: 'Login as the test user failed',
    about:
      'With --user the check logs in with a password, as a client does, to ask for TURN credentials (it logs out afterwards). A refused login is usually a wrong user or password; with MAS, password login is off: pass an access token instead.',
  },
  homeserverTurnServer: {
    id: 'turn.homeserver.turnserver',
    pass: 'Homeserver hands out a TURN server',
    fail: 'Homeserver hands out no usable TURN server',
    about:
      'GET /_matrix/client/v3/voip/turnServer is what every calling client asks. Synapse answers 200 with an empty object when no TURN server is configured: Element then says "Call failed due to misconfigured server" and calls between different networks ring but never connect. URIs without a username and password are as useless.',
  },
  homeserverLogout: {
    id: 'turn.homeserver.logout',
    pass: 'Session of the check closed',
    fail: 'Session of the check still open',
    about:
      "After logging in with --user the check logs out again, so its access token stops working. When logout fails, the session stays in the user's session list until removed by hand.",
  },

  // Which URIs were probed
  configUris: {
    id: 'turn.config.uris',
    pass: 'TURN URIs to probe',
    fail: 'No TURN server configured',
    about:
      "Which TURN URIs were probed and with which credentials: the homeserver's first, then the plan's coturn settings, then --turn-uri. A plan that does not enable coturn (MDAD turns it on by default only with Jitsi) leaves calls between networks without a relay.",
  },
  configSyntax: {
    id: 'turn.config.syntax',
    pass: 'TURN URIs well-formed',
    fail: 'TURN URIs malformed',
    about:
      'Every URI handed out must be turn: or turns: HOST[:PORT][?transport=udp|tcp] (RFC 7065). Clients skip the ones that are not, so a call may have no relay at all.',
  },
  configPlan: {
    id: 'turn.config.plan',
    pass: 'Homeserver and vars.yml agree on coturn',
    fail: 'Homeserver and vars.yml disagree on coturn',
    about:
      "When vars.yml enables coturn, the homeserver should hand out coturn's host. Another host means Synapse runs with old or hand-set turn_uris: the playbook has not been run since vars.yml changed.",
  },

  // One URI, step by step
  uriDns: {
    id: 'turn.{uri}.dns',
    pass: '{host} resolves to the server',
    fail: '{host} does not resolve to the server',
    about:
      "The host of a TURN URI must resolve, and to the server (--expect-ip, the inventory's ansible_host, else the homeserver's address). A name that does not resolve, or that also points at another machine, sends clients nowhere or elsewhere.",
  },
  uriReach: {
    id: 'turn.{uri}.reach',
    pass: '{turnUri} answers',
    fail: '{turnUri} does not answer',
    about:
      'The port of the URI must accept the connection and answer a STUN Binding request (over UDP with the retransmissions RFC 8489 prescribes). Silence is a firewall that drops the port, or coturn not running; an answer that is not STUN is another program on the port. TURN over DTLS is listed as not probed.',
  },
  uriTls: {
    id: 'turn.{uri}.tls',
    pass: 'Certificate on {port} valid for {host}',
    fail: 'Certificate on {port} not valid for {host}',
    about:
      "turns: URIs are TURN over TLS: the certificate must verify and be for the URI's host. Clients refuse another one and fall back to plain TURN, which fails behind firewalls that only let TLS through.",
  },
  uriAuth: {
    id: 'turn.{uri}.auth',
    pass: 'TURN allocation on {turnUri}',
    fail: 'TURN allocation on {turnUri} fails',
    about:
      'A TURN Allocate must first get the 401 challenge (REALM, NONCE), then succeed with the REST credentials. A 401 to the signed request means the secrets of Synapse and coturn differ; the check then tries the other known secret to say which side holds the wrong one. An allocation without credentials is an open relay.',
  },
  uriIntegrity: {
    id: 'turn.{uri}.integrity',
    pass: 'Answers authentic (FINGERPRINT, MESSAGE-INTEGRITY)',
    fail: 'Answers not authentic (FINGERPRINT, MESSAGE-INTEGRITY)',
    about:
      'The FINGERPRINT of every answer, and the MESSAGE-INTEGRITY of the authenticated ones, must verify. Wrong ones mean something between this machine and the server rewrites the traffic; clients discard such answers.',
  },
  uriRelayedAddress: {
    id: 'turn.{uri}.relayed-address',
    pass: "Relayed address is the server's public address",
    fail: "Relayed address is not the server's public address",
    about:
      'The relayed address coturn hands out is where the other side of a call sends media. A private, CGNAT or loopback one (coturn\'s external-ip missing behind NAT) or a stale one cannot be reached, so calls ring but stay "connecting". A port outside the configured relay range is blocked by the firewall opened for it.',
  },
  uriRelay: {
    id: 'turn.{uri}.relay',
    pass: 'Data through the relay',
    fail: 'No data through the relay',
    about:
      'Two allocations permit each other and data goes from one relay port to the other and back, as media does in a relayed call. It fails when the relay port range is closed in a firewall, coturn refuses its own address as a peer, or it has no relay port left.',
  },
  uriRelease: {
    id: 'turn.{uri}.release',
    pass: 'Allocations released',
    fail: 'Allocations not released',
    about:
      'Everything the check allocated is released (Refresh with lifetime 0), so it holds no relay port. What is not released expires by itself after its lifetime.',
  },

  // MatrixRTC
  rtcFoci: {
    id: 'turn.rtc.foci',
    pass: 'MatrixRTC focus in the client well-known',
    fail: 'No MatrixRTC focus in the client well-known',
    about:
      'Element Call and Element X group calls find their LiveKit focus in org.matrix.msc4143.rtc_foci of the client well-known. Without one while the deployment runs MatrixRTC, calls fail with MISSING_MATRIX_RTC_FOCUS (Element Web: MISSING_MATRIX_RTC_TRANSPORT).',
  },
  rtcJwtService: {
    id: 'turn.rtc.jwt-service',
    pass: 'LiveKit JWT service answers',
    fail: 'LiveKit JWT service does not answer',
    about:
      'Clients get their LiveKit token from the JWT service named by the focus. GET …/sfu/get answers 405 when the service is there (it wants POST); anything else means calls fail when clients ask for a token.',
  },
  rtcJwtServiceN: {
    id: 'turn.rtc.jwt-service-{n}',
    pass: 'LiveKit JWT service answers',
    fail: 'LiveKit JWT service does not answer',
    about: 'As turn.rtc.jwt-service, for each focus when the client well-known names several (numbered in their order).',
  },
  rtcLivekitTcp: {
    id: 'turn.rtc.livekit-tcp',
    pass: 'LiveKit accepts ICE over TCP on {port}',
    fail: 'LiveKit unreachable over TCP on {port}',
    about:
      "LiveKit's ICE/TCP port (7881 by default) must accept connections: clients on networks that block UDP reach LiveKit only through it.",
  },
  withheld: {
    id: 'turn.withheld.{secret}',
    pass: 'The {secret} went only to its own server',
    fail: 'The {secret} was not sent',
    about:
      'A request that carries a secret (the access token or the password) goes only to the origin the secret belongs to, over a connection whose TLS verified (or plain HTTP to loopback), and follows a redirect only within that origin (docs/security.md). When one of these does not hold, nothing is sent: the finding says which rule held and what to change.',
  },
});
