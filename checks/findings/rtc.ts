// Findings of the rtc area: the MatrixRTC path of an Element Call / Element X call, end to end
// (docs/turn.md "MatrixRTC and LiveKit"): discovery of the LiveKit focus, the test user's OpenID
// token, the LiveKit JWT service, the homeserver's federation userinfo it relies on, LiveKit's
// signalling, the media path over UDP and over TCP, and the clean-up.
import { declareFindings } from '../core/catalogue.ts';

export const RTC = declareFindings('rtc', {
  wellKnown: {
    id: 'rtc.discovery.wellknown',
    pass: 'LiveKit focus in the client well-known',
    fail: 'No LiveKit focus in the client well-known',
    about:
      'org.matrix.msc4143.rtc_foci in /.well-known/matrix/client names the LiveKit JWT service. Element Call inside Element Web (a widget, which holds no access token for the transports API) reads only this key, as do older Element X releases: without it their calls fail with MISSING_MATRIX_RTC_TRANSPORT or MISSING_MATRIX_RTC_FOCUS. MDAD writes it with matrix_rtc_enabled: true.',
  },
  transports: {
    id: 'rtc.discovery.transports',
    pass: 'LiveKit transport from the homeserver (MSC4143)',
    fail: 'No LiveKit transport from the homeserver (MSC4143)',
    about:
      "GET /_matrix/client/unstable/org.matrix.msc4143/rtc/transports (authenticated) is MSC4143's replacement for the well-known key. Current Element X (matrix-rust-sdk's Client::discover_rtc_transports) asks it and falls back to the well-known only when it is not implemented (404 M_UNRECOGNIZED); standalone Element Call from v0.24 reads no well-known at all; Element Web's widget driver asks it on a widget's behalf. So any other answer is trusted: a 200 with an empty list, or Synapse's {} when msc4143_enabled is on without transports, breaks their calls even when the well-known is right. Synapse serves it with experimental_features.msc4143_enabled and matrix_rtc.transports, which MDAD sets with MatrixRTC on.",
  },
  agree: {
    id: 'rtc.discovery.agree',
    pass: 'Well-known and transports API name the same focus',
    fail: 'Well-known and transports API name different foci',
    about:
      'Where both exist, clients that read the transports API and clients that read the well-known must end up at the same JWT service, or participants of one call land on different LiveKit servers and never see each other.',
  },
  auth: {
    id: 'rtc.homeserver.auth',
    pass: 'Acting as the test user',
    fail: 'Cannot act as the test user',
    about:
      'Everything after discovery needs a real user, as a calling client is one: an access token (MATRIX_ACCESS_TOKEN or --access-token-file) or --user with a password. It is sent only to a homeserver whose certificate verifies.',
  },
  openid: {
    id: 'rtc.homeserver.openid',
    pass: 'OpenID token issued',
    fail: 'No OpenID token',
    about:
      'POST /_matrix/client/v3/user/{userId}/openid/request_token gives the token a client hands to the JWT service, which proves the user to it. The token itself is never printed.',
  },
  cors: {
    id: 'rtc.jwt.cors',
    pass: "JWT service answers Element Call's CORS preflight",
    fail: "JWT service refuses Element Call's CORS preflight",
    about:
      'Element Call is a web app on another origin: before its POST the browser sends OPTIONS with Origin and Access-Control-Request-Method: POST, and needs 2xx with Access-Control-Allow-Origin (and POST, Content-Type allowed). lk-jwt-service sets these itself; a reverse proxy that answers OPTIONS otherwise breaks calls in browsers only.',
  },
  getToken: {
    id: 'rtc.jwt.get-token',
    pass: 'LiveKit token from POST /get_token',
    fail: 'No LiveKit token from POST /get_token',
    about:
      'Current Element Call asks the JWT service for {url, jwt} at POST <livekit_service_url>/get_token with the OpenID token. The service validates the token at the homeserver over federation, creates the LiveKit room for users of its full-access homeservers, and signs the LiveKit token. Failures show in clients as "SFU Config fetch failed".',
  },
  sfuGet: {
    id: 'rtc.jwt.sfu-get',
    pass: 'LiveKit token from POST /sfu/get (legacy)',
    fail: 'No LiveKit token from POST /sfu/get (legacy)',
    about:
      'Older clients use POST /sfu/get. When the service cannot validate the OpenID token there it answers 500 M_LOOKUP_FAILED ("SFU Config fetch failed with status code 500"), where /get_token answers 401.',
  },
  claims: {
    id: 'rtc.jwt.claims',
    pass: 'LiveKit token grants the call',
    fail: 'LiveKit token does not grant the call',
    about:
      "The LiveKit token's claims (printed; the token never is): the room, the identity (sub), the video grant (roomJoin, canPublish, canSubscribe for that room) and an expiry in the future. A token without them is refused by LiveKit or lets the user in without sound or picture.",
  },
  federation: {
    id: 'rtc.jwt.federation',
    pass: "Homeserver's federation userinfo answers, as the JWT service asks it",
    fail: "Homeserver's federation userinfo fails: the JWT service cannot validate OpenID tokens",
    about:
      'lk-jwt-service validates the OpenID token with GET /_matrix/federation/v1/openid/userinfo on the user\'s homeserver, found by server discovery (well-known, SRV, port 8448), with a certificate that must verify. Federation turned off, discovery pointing nowhere or a bad certificate there make every token request fail ("SFU Config fetch failed with status code 500") even though the client API works.',
  },
  signal: {
    id: 'rtc.livekit.signal',
    pass: 'LiveKit signalling accepts the token',
    fail: 'LiveKit signalling fails',
    about:
      "The client opens wss://…/rtc?access_token=… at the url the JWT service gave and gets LiveKit's join response (decoded here: server version, ICE servers). A 401 means LiveKit does not accept the token: the JWT service signs with another key or secret than LiveKit's. No connection means the reverse proxy does not route the path or upgrade the WebSocket, or LiveKit is down.",
  },
  nodeIp: {
    id: 'rtc.livekit.node-ip',
    pass: 'LiveKit advertises a reachable address',
    fail: 'LiveKit advertises an address clients cannot reach',
    about:
      "LiveKit's ICE candidates carry its node IP: the address clients send media to. A private, loopback or other wrong address (LiveKit behind NAT without its public IP, rtc.use_external_ip off or a wrong rtc.node_ip) lets calls ring and join, then stay silent and black. The check sends nothing to a private address it was not pointed at.",
  },
  media: {
    id: 'rtc.livekit.media-{transport}',
    pass: 'Media path to LiveKit over {transport}',
    fail: 'No media path to LiveKit over {transport}',
    about:
      'A real WebRTC peer (werift) completes ICE and DTLS with LiveKit over that transport only and opens a data channel through it: media can flow. UDP (rtc.udp_port, 7882/udp in MDAD) is what calls use; TCP (rtc.tcp_port, 7881/tcp) is the fallback for networks that block UDP. Which one fails tells a firewall that drops UDP from LiveKit being unreachable altogether.',
  },
  unfinished: {
    id: 'rtc.unfinished',
    pass: 'Every step finished in time',
    fail: 'Steps left unfinished',
    about:
      'Every step of the area waits at most --timeout, and the whole area at most --timeout × its steps (checks/rtc.ts --help). When that bound runs out, the steps done so far are judged and the rest is named here.',
  },
  cleanup: {
    id: 'rtc.cleanup',
    pass: 'Test participants left; nothing left behind',
    fail: 'Clean-up incomplete',
    about:
      'The check joins a room of its own (a random room id), leaves it as livekit-client does (a LeaveRequest, then LiveKit closes the connection) and logs out when it logged in. LiveKit closes the empty room by itself (departure_timeout, 20 s as lk-jwt-service creates it); the OpenID and LiveKit tokens cannot be revoked and expire (about an hour).',
  },
  withheld: {
    id: 'rtc.withheld.{secret}',
    pass: 'The {secret} went only to its own server',
    fail: 'The {secret} was not sent',
    about:
      'A request that carries a secret (the access token, the password or the OpenID token) goes only to the origin the secret belongs to, over a connection whose TLS verified (or plain HTTP to loopback), and follows a redirect only within that origin (docs/security.md). When one of these does not hold, nothing is sent: the finding says which rule held and what to change.',
  },
});
