// Findings of the wellknown area: /.well-known/matrix/server, /client and /support on the base
// domain, as federation peers, browsers and strict clients (Element X) read them.
import { declareFindings } from '../core/catalogue.ts';

export const WELLKNOWN = declareFindings('wellknown', {
  skipped: {
    id: 'wellknown.skipped',
    pass: '.well-known',
    fail: '.well-known',
    about:
      'The server name is an IP address or carries a port, so nobody looks for its /.well-known/matrix files: servers and clients connect to that address directly. Nothing is checked in this area.',
  },
  baseAddress: {
    id: 'wellknown.base.address',
    pass: '{host} has an address',
    fail: '{host} has no address',
    about:
      'The base domain (the server name) needs an A or AAAA record, because the /.well-known/matrix files are fetched from it. Without one, other servers and clients cannot find the homeserver through the base domain at all.',
  },
  serverStatus: {
    id: 'wellknown.server.status',
    pass: 'Server well-known answers',
    fail: 'Server well-known does not answer',
    about:
      'Other servers fetch https://<server name>/.well-known/matrix/server to learn where federation goes. It must answer 200 over a certificate they trust; without it they fall back to SRV records or port 8448 on the base domain, which usually leads nowhere. A 404 is fine when federation is delegated by SRV on purpose.',
  },
  serverRedirects: {
    id: 'wellknown.server.redirects',
    pass: 'Server well-known redirects',
    fail: 'Server well-known redirects',
    about: 'The server file is reached through redirects. Servers follow them, so this is only noted, with the path they take.',
  },
  serverSize: {
    id: 'wellknown.server.size',
    pass: 'Server well-known size',
    fail: 'Server well-known is too large',
    about: 'Synapse and other servers ignore a server file larger than 50 KiB, so federation falls back as if there were none.',
  },
  serverContentType: {
    id: 'wellknown.server.content_type',
    pass: 'Server well-known content type',
    fail: 'Server well-known is not served as JSON',
    about: 'The spec asks for Content-Type: application/json. Servers parse the file anyway, so another type is a warning only.',
  },
  serverJson: {
    id: 'wellknown.server.json',
    pass: 'Server well-known is JSON',
    fail: 'Server well-known is not JSON',
    about:
      'The server file must be a JSON object. An HTML page or anything else is ignored, and servers fall back to SRV records or port 8448 on the base domain.',
  },
  serverMServer: {
    id: 'wellknown.server.m_server',
    pass: 'm.server names a server',
    fail: 'm.server does not name the right server',
    about:
      'm.server tells other servers which host and port to connect to for federation. It must be a host name with an optional port, without scheme or path, or servers ignore it; it should also be what the configuration serves.',
  },
  serverCache: {
    id: 'wellknown.server.cache',
    pass: 'Server well-known caching',
    fail: 'Server well-known caching',
    about:
      'How long servers keep the server file, from its Cache-Control header: this is how long a change takes to reach everyone (24 h by default, 48 h at most).',
  },
  addresses: {
    id: 'wellknown.{file}.addresses',
    pass: 'Same {file} well-known on every address',
    fail: 'Different {file} well-known on the addresses',
    about:
      'When the base domain has several addresses (IPv4 and IPv6, or several A records), every one must serve the same file. Otherwise peers and clients see a different server depending on the address they reach; a stale AAAA record is the usual cause.',
  },
  clientDiscovery: {
    id: 'wellknown.client.discovery',
    pass: 'Clients discover the homeserver',
    fail: 'Clients do not discover the homeserver',
    about:
      'Runs the spec’s client discovery on /.well-known/matrix/client: the file, m.homeserver.base_url, that URL answering /_matrix/client/versions, and the identity server if one is named. When it fails, users must type the homeserver URL by hand, or their client refuses to log in.',
  },
  clientCors: {
    id: 'wellknown.client.cors',
    pass: 'CORS on the client well-known',
    fail: 'CORS on the client well-known',
    about:
      'Web clients (Element Web, admin UIs) can only read the client file when every answer on the way, redirects included, carries Access-Control-Allow-Origin. Without it they cannot discover the homeserver.',
  },
  clientContentType: {
    id: 'wellknown.client.content_type',
    pass: 'Client well-known content type',
    fail: 'Client well-known is not served as JSON',
    about:
      'Element X and Element Call refuse a client file that is not served as application/json, and then report the server as not supported.',
  },
  clientHttps: {
    id: 'wellknown.client.https',
    pass: 'Homeserver URL is HTTPS',
    fail: 'Homeserver URL is not HTTPS',
    about: 'm.homeserver.base_url must be an https:// address, or clients send passwords and messages over plain HTTP.',
  },
  clientHomeserver: {
    id: 'wellknown.client.homeserver',
    pass: 'Homeserver URL matches the configuration',
    fail: 'Homeserver URL differs from the configuration',
    about: 'The homeserver URL the client file names should be the one the configuration sets up, or clients are sent somewhere else.',
  },
  versionsCors: {
    id: 'wellknown.client.versions_cors',
    pass: 'CORS on /_matrix/client/versions',
    fail: 'CORS on /_matrix/client/versions',
    about:
      'Web clients check the homeserver URL with /_matrix/client/versions; every answer on the way, redirects included, must carry Access-Control-Allow-Origin or they cannot.',
  },
  rtcFoci: {
    id: 'wellknown.client.rtc_foci',
    pass: 'MatrixRTC focus advertised',
    fail: 'MatrixRTC focus not advertised',
    about:
      'When the configuration enables MatrixRTC (Element Call), the client file must list the focus in org.matrix.msc4143.rtc_foci; without it calls fail with MISSING_MATRIX_RTC_FOCUS.',
  },
  support: {
    id: 'wellknown.support',
    pass: 'Support well-known',
    fail: 'Support well-known is not valid',
    about:
      'The optional /.well-known/matrix/support file (MSC1929) tells people how to reach the server’s admins: contacts with a role and a Matrix ID or email address, or a support page.',
  },
  copy: {
    id: 'wellknown.copy.{file}',
    pass: '{file} file on {host} equals the Matrix host’s',
    fail: '{file} file on {host} differs from the Matrix host’s',
    about:
      'The playbook keeps the authoritative /.well-known/matrix files on the Matrix host. A copy on the base domain made once goes stale when the playbook changes them, so it must equal the Matrix host’s; proxying or redirecting avoids copies.',
  },
});
