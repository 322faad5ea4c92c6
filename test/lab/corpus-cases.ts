// The corpus: failures people reported in public trackers, each reproduced in the corpus lab
// (corpus-lab.ts) by a scenario, the healthy layout with the one change the report describes.
// Several reports of one class share a scenario. Every case names the finding that must come out
// as the root cause (failing, with no cause of its own) and words its fix must contain; every
// class has a healthy twin that must raise no warning or failure. docs/what-it-catches.md is
// generated from this file (npm run docs:corpus).
import {
  BROWSERS_ONLY,
  CORPUS,
  healthy,
  type Layout,
  setClientWellKnown,
  setServerWellKnown,
  site,
  synapseProxy,
  TRAEFIK_404,
  TURN_SECRET,
  wellKnown,
} from './corpus-lab.ts';

/** What the reported failure breaks; 'nothing' when it only degrades (slow, not broken). */
export type Breaks = 'federation' | 'calls' | 'sign-in' | 'nothing';

export interface Scenario {
  /** What the scenario changes, in one line. */
  change: string;
  layout: () => Layout;
  /** The command run against it (doctor's wellknown and federation areas unless said otherwise). */
  command?: 'doctor' | 'turn' | 'wellknown';
  /** The server name checked (default corpus.test). */
  serverName?: string;
  /** doctor's areas (default wellknown,federation). */
  only?: string;
  /** Extra arguments ({vars} is replaced by the lab's vars.yml with MatrixRTC on, {secret} by a TURN secret file). */
  args?: string[];
}

export interface Case {
  /** The public report. */
  url: string;
  /** Where it was reported. */
  tracker: string;
  /** What was reported, in our words. */
  reported: string;
  scenario: string;
  /** The root-cause finding id (a pattern: addresses are filled in). */
  root: RegExp;
  /** Words its fix must contain. */
  fix: RegExp;
  breaks: Breaks;
  /** The exit code: 2 (default) when it breaks something, 1 when it only degrades. */
  exit?: 1 | 2;
  /** The healthy scenario of the same class. */
  twin: string;
}

const M = CORPUS.matrix.replaceAll('.', '_');
const B = CORPUS.base.replaceAll('.', '_');
const HAPROXY_503 = '<html><body><h1>503 Service Unavailable</h1>\\nNo server is available to handle this request.\\n</body></html>\\n';

const change = (edit: (l: Layout) => void) => () => {
  const layout = healthy();
  edit(layout);
  return layout;
};

/** A site of the base domain's own on 8448 (no delegation): the homeserver behind it, with this certificate. */
const base8448 = (cert: 'base' | 'matrix') => ({ cert, guards: [], locations: [synapseProxy('/_matrix')] });

const turnLayout = (externalIp: string | undefined, secret = TURN_SECRET) =>
  change((l) => {
    l.records.push({ name: `turn.${CORPUS.serverName}`, type: 'A', value: CORPUS.turn });
    l.coturn = { secret, ...(externalIp ? { externalIp } : {}) };
  });

const SERVER_JSON_FOR_GUARD = `{"m.server": "${CORPUS.matrixHost}:8448"}`;

const RTC_CLIENT_JSON = `{"m.homeserver": {"base_url": "https://${CORPUS.matrixHost}"}, "org.matrix.msc4143.rtc_foci": [{"type": "livekit", "livekit_service_url": "https://${CORPUS.matrixHost}/livekit-jwt-service"}]}`;

/** The Matrix host's own copy of the client well-known (MDAD keeps it current). */
function setMatrixClientWellKnown(layout: Layout, body: string): void {
  for (const s of [site(layout.matrix443), site(layout.matrix8448)]) {
    s.locations = s.locations.filter((l) => !l.includes('/.well-known/matrix/client'));
    s.locations.push(wellKnown('client', body));
  }
}

const TURN_ARGS = [
  '--turn-uri',
  `turn:turn.${CORPUS.serverName}?transport=udp`,
  '--turn-secret-file',
  '{secret}',
  '--expect-ip',
  CORPUS.turn,
];

export const SCENARIOS: Record<string, Scenario> = {
  // Healthy twins.
  'healthy-wellknown': { change: 'none: MDAD delegation by /.well-known/matrix/server to matrix.corpus.test:8448', layout: healthy },
  'healthy-srv': {
    change: 'delegation by SRV _matrix-fed._tcp.corpus.test to matrix.corpus.test:8448, whose certificate covers corpus.test',
    layout: change((l) => {
      setServerWellKnown(l, null);
      l.records.push({ name: `_matrix-fed._tcp.${CORPUS.serverName}`, type: 'SRV', value: `10 0 8448 ${CORPUS.matrixHost}` });
      site(l.matrix8448).cert = 'matrix-and-base';
    }),
  },
  'healthy-direct': {
    change: 'no delegation: the base domain itself serves federation on 8448 with a certificate for corpus.test',
    layout: change((l) => {
      setServerWellKnown(l, null);
      l.base8448 = base8448('base');
    }),
  },
  'healthy-explicit-port-servfail': {
    change: "the SRV names answer SERVFAIL, but m.server has an explicit port, so servers never look them up (synapse#5882's workaround)",
    layout: change((l) => {
      l.servfail = [`_matrix-fed._tcp.${CORPUS.serverName}`, `_matrix._tcp.${CORPUS.serverName}`];
    }),
  },
  'healthy-rtc': {
    change: 'MatrixRTC on: the base domain and the Matrix host serve the client well-known with org.matrix.msc4143.rtc_foci',
    layout: change((l) => {
      setClientWellKnown(l, RTC_CLIENT_JSON);
      setMatrixClientWellKnown(l, RTC_CLIENT_JSON);
    }),
    command: 'wellknown',
    args: ['--vars', '{vars}'],
  },
  'healthy-turn': {
    change: "coturn with external-ip set to the server's address and the secret the homeserver hands out",
    layout: turnLayout(undefined),
    command: 'turn',
    args: TURN_ARGS,
  },

  // Not a report: a server that answers only requests made exactly as homeservers and clients
  // make them, to prove the checks ask that way (User-Agent, Host, Origin).
  'as-homeservers-ask': {
    change:
      'healthy, but matrix.corpus.test:8448 answers only "User-Agent: Synapse/x.y.z" with "Host: matrix.corpus.test:8448", the server file only Synapse, the client file only a browser with an Origin',
    layout: change((l) => {
      site(l.matrix8448).guards.push(
        `if ($http_user_agent !~ "^Synapse/[0-9]+[.][0-9]+[.][0-9]+$") { return 403; }`,
        `if ($http_host != "${CORPUS.matrixHost}:8448") { return 421; }`,
      );
      const base = site(l.base443);
      base.locations = [
        `location = /.well-known/matrix/server { if ($http_user_agent !~ "^Synapse/") { return 403; } default_type application/json; add_header Access-Control-Allow-Origin '*'; return 200 '${SERVER_JSON_FOR_GUARD}'; }`,
        `location = /.well-known/matrix/client { if ($http_user_agent !~ "^Mozilla/5[.]0 ") { return 403; } if ($http_origin = "") { return 403; } default_type application/json; add_header Access-Control-Allow-Origin '*'; return 200 '{"m.homeserver": {"base_url": "https://${CORPUS.matrixHost}"}}'; }`,
      ];
    }),
    only: 'wellknown,federation',
  },

  // Failures.
  'wellknown-bot-rule': {
    change: '/.well-known/matrix/server on the base domain answers 403 to every non-browser User-Agent (a hosting provider rule)',
    layout: change((l) => site(l.base443).guards.push(BROWSERS_ONLY)),
  },
  'federation-bot-rule': {
    change: 'matrix.corpus.test:8448 answers 403 to every non-browser User-Agent (a WAF or bot protection)',
    layout: change((l) => site(l.matrix8448).guards.push(BROWSERS_ONLY)),
  },
  'mserver-url': {
    change: 'm.server is written as a URL ("https://matrix.corpus.test:8448"); corpus.test:8448 is a Traefik answering 404',
    layout: change((l) => {
      setServerWellKnown(l, `{"m.server": "https://${CORPUS.matrixHost}:8448"}`);
      l.base8448 = { cert: 'base', guards: [], locations: [TRAEFIK_404] };
    }),
  },
  'self-signed': {
    change: 'matrix.corpus.test (443 and 8448) presents a self-signed certificate',
    layout: change((l) => {
      site(l.matrix443).cert = 'self-signed';
      site(l.matrix8448).cert = 'self-signed';
    }),
  },
  'no-delegation-wrong-cert': {
    change: 'no server well-known and no SRV; corpus.test:8448 serves the homeserver with a certificate for matrix.corpus.test only',
    layout: change((l) => {
      setServerWellKnown(l, null);
      l.base8448 = base8448('matrix');
    }),
  },
  'missing-intermediate': {
    change: "matrix.corpus.test serves its leaf without the intermediate (cert.pem, not fullchain.pem); the leaf's AIA URL serves it",
    layout: change((l) => {
      site(l.matrix443).cert = 'aia-leaf-only';
      site(l.matrix8448).cert = 'aia-leaf-only';
    }),
  },
  'traefik-default-cert': {
    change: "Traefik got no certificate: matrix.corpus.test presents Traefik's default certificate and answers 404 page not found",
    layout: change((l) => {
      site(l.matrix443).cert = 'traefik-default';
      l.matrix8448 = { cert: 'traefik-default', guards: [], locations: [TRAEFIK_404] };
    }),
  },
  'srv-traefik-404': {
    change: 'delegation by SRV to matrix.corpus.test:8448, where Traefik has no federation router (404 page not found)',
    layout: change((l) => {
      setServerWellKnown(l, null);
      l.records.push({ name: `_matrix-fed._tcp.${CORPUS.serverName}`, type: 'SRV', value: `10 0 8448 ${CORPUS.matrixHost}` });
      l.matrix8448 = { cert: 'matrix-and-base', guards: [], locations: [TRAEFIK_404] };
    }),
  },
  'host-with-port-503': {
    change:
      'm.server "matrix.corpus.test:443"; the proxy on 443 routes by the exact Host header and answers HAProxy\'s 503 to "matrix.corpus.test:443"',
    layout: change((l) => {
      setServerWellKnown(l, `{"m.server": "${CORPUS.matrixHost}:443"}`);
      site(l.matrix443).guards.push(`if ($http_host != "${CORPUS.matrixHost}") { return 503 '${HAPROXY_503}'; }`);
    }),
  },
  'proxy-pass-trailing-slash': {
    change: 'nginx on matrix.corpus.test:8448 proxies /_matrix with "proxy_pass http://synapse/;" (a URI after the upstream)',
    layout: change((l) => {
      const s = site(l.matrix8448);
      s.locations = [synapseProxy('/_matrix', true)];
    }),
  },
  'federation-port-dropped': {
    change: 'a firewall drops every packet to matrix.corpus.test:8448 (443 is open)',
    layout: change((l) => {
      l.matrix8448 = 'drop';
    }),
  },
  'no-delegation-refused': {
    change: 'no server well-known and no SRV; nothing listens on corpus.test:8448',
    layout: change((l) => setServerWellKnown(l, null)),
  },
  'federation-paths-404': {
    change: "the proxy on matrix.corpus.test:8448 forwards only /_matrix/client; federation paths get nginx's 404 page",
    layout: change((l) => {
      site(l.matrix8448).locations = [synapseProxy('/_matrix/client')];
    }),
  },
  'cloudflare-base': {
    change: 'no delegation, and corpus.test is proxied by Cloudflare (its A record is a Cloudflare address), which does not proxy 8448',
    layout: change((l) => {
      setServerWellKnown(l, null);
      const a = l.records.find((r) => r.name === CORPUS.serverName && r.type === 'A')!;
      a.value = CORPUS.cloudflare;
    }),
    // Nothing is sent to the published address: both ports are routed back to loopback.
    args: ['--connect-to', `${CORPUS.serverName}:443:${CORPUS.base}:443`, '--connect-to', `${CORPUS.serverName}:8448:${CORPUS.base}:8448`],
  },
  'server-name-mismatch': {
    change: 'chat.corpus.test delegates to matrix.corpus.test:8448, whose homeserver is configured with server_name corpus.test',
    layout: change((l) => l.records.push({ name: `chat.${CORPUS.serverName}`, type: 'A', value: CORPUS.base })),
    serverName: `chat.${CORPUS.serverName}`,
  },
  'wellknown-dropped-srv': {
    change: 'a firewall drops every packet to corpus.test:443; federation is delegated by SRV to matrix.corpus.test:8448',
    layout: change((l) => {
      l.base443 = 'drop';
      l.records.push({ name: `_matrix-fed._tcp.${CORPUS.serverName}`, type: 'SRV', value: `10 0 8448 ${CORPUS.matrixHost}` });
      site(l.matrix8448).cert = 'matrix-and-base';
    }),
    only: 'federation',
  },
  'wellknown-stalls': {
    change: 'corpus.test:443 accepts TCP connections and never answers (a hung server or proxy)',
    layout: change((l) => {
      l.base443 = 'hang';
    }),
    only: 'federation',
  },
  'srv-servfail': {
    change: 'no server well-known; resolvers answer SERVFAIL for the SRV names (broken DNSSEC)',
    layout: change((l) => {
      setServerWellKnown(l, null);
      l.servfail = [`_matrix-fed._tcp.${CORPUS.serverName}`, `_matrix._tcp.${CORPUS.serverName}`];
    }),
  },
  'srv-cert-for-target': {
    change: 'delegation by SRV to matrix.corpus.test:8448, whose certificate covers only matrix.corpus.test, not corpus.test',
    layout: change((l) => {
      setServerWellKnown(l, null);
      l.records.push({ name: `_matrix-fed._tcp.${CORPUS.serverName}`, type: 'SRV', value: `10 0 8448 ${CORPUS.matrixHost}` });
    }),
  },
  expired: {
    change: 'matrix.corpus.test (443 and 8448) presents a certificate that expired (renewal failed)',
    layout: change((l) => {
      site(l.matrix443).cert = 'expired';
      site(l.matrix8448).cert = 'expired';
    }),
  },
  'client-no-cors': {
    change: 'the base domain serves /.well-known/matrix/client without Access-Control-Allow-Origin',
    layout: change((l) => setClientWellKnown(l, `{"m.homeserver": {"base_url": "https://${CORPUS.matrixHost}"}}`, { cors: false })),
  },
  'versions-redirect-no-cors': {
    change: 'matrix.corpus.test 301-redirects /_matrix/client/versions without Access-Control-Allow-Origin on the redirect',
    layout: change((l) => {
      site(l.matrix443).locations.unshift(
        'location = /_matrix/client/versions { return 301 https://matrix.corpus.test/_matrix/client/versions/; }',
        'location = /_matrix/client/versions/ { default_type application/json; add_header Access-Control-Allow-Origin \'*\'; return 200 \'{"versions": ["v1.11"]}\'; }',
      );
    }),
  },
  'client-text-plain': {
    change: 'the base domain serves /.well-known/matrix/client as text/plain',
    layout: change((l) =>
      setClientWellKnown(l, `{"m.homeserver": {"base_url": "https://${CORPUS.matrixHost}"}}`, { contentType: 'text/plain' }),
    ),
  },
  'rtc-foci-missing': {
    change:
      "MatrixRTC on; the Matrix host's client well-known has org.matrix.msc4143.rtc_foci, the base domain's is an old copy without it",
    layout: change((l) => setMatrixClientWellKnown(l, RTC_CLIENT_JSON)),
    command: 'wellknown',
    args: ['--vars', '{vars}'],
  },
  'turn-private-relay': {
    change: 'coturn behind NAT without its public external-ip: it hands out a private relayed address (10.20.30.40)',
    layout: turnLayout(`10.20.30.40/${CORPUS.turn}`),
    command: 'turn',
    args: TURN_ARGS,
  },
  'turn-secret-mismatch': {
    change: "coturn's static-auth-secret differs from the homeserver's turn_shared_secret",
    layout: turnLayout(undefined, 'a-different-static-auth-secret'),
    command: 'turn',
    args: TURN_ARGS,
  },
};

export const CASES: Case[] = [
  {
    url: 'https://github.com/matrix-org/matrix-federation-tester/issues/144',
    tracker: 'matrix-federation-tester',
    reported: 'The server well-known is there, yet "No .well-known found": the hosting provider blocks non-browser user agents with 403',
    scenario: 'wellknown-bot-rule',
    root: /^federation\.wellknown_user_agent$/,
    fix: /User-Agent/,
    breaks: 'federation',
    twin: 'healthy-wellknown',
  },
  {
    url: 'https://github.com/matrix-org/matrix-federation-tester/issues/159',
    tracker: 'matrix-federation-tester',
    reported:
      "The well-known files are in place, but the server blocks the tester's user agent with a 403, so the report says none was found",
    scenario: 'wellknown-bot-rule',
    root: /^federation\.wellknown_user_agent$/,
    fix: /User-Agent/,
    breaks: 'federation',
    twin: 'healthy-wellknown',
  },
  {
    url: 'https://github.com/spantaleev/matrix-docker-ansible-deploy/issues/1020',
    tracker: 'MDAD',
    reported: "Behind Cloudflare, allowing the tester's addresses does not help: the user agent is still blocked",
    scenario: 'federation-bot-rule',
    root: new RegExp(`^federation\\.${M}_8448\\.user_agent$`),
    fix: /User-Agent/,
    breaks: 'federation',
    twin: 'healthy-wellknown',
  },
  {
    url: 'https://github.com/matrix-org/matrix-federation-tester/issues/106',
    tracker: 'matrix-federation-tester',
    reported: 'm.server contains "https://"; the file is ignored and the report shows nothing useful',
    scenario: 'mserver-url',
    root: /^wellknown\.server\.m_server$/,
    fix: /m\.server/,
    breaks: 'federation',
    twin: 'healthy-wellknown',
  },
  {
    url: 'https://github.com/spantaleev/matrix-docker-ansible-deploy/issues/3069',
    tracker: 'MDAD',
    reported: 'Federation not working; the self-check fails with "certificate verify failed: self-signed certificate"',
    scenario: 'self-signed',
    root: new RegExp(`^federation\\.${M}_8448\\.certificate$`),
    fix: /public CA|Let's Encrypt/,
    breaks: 'federation',
    twin: 'healthy-wellknown',
  },
  {
    url: 'https://github.com/spantaleev/matrix-docker-ansible-deploy/issues/471',
    tracker: 'MDAD',
    reported: 'Without the base domain serving the well-known, federation fails with a certificate error for the base domain',
    scenario: 'no-delegation-wrong-cert',
    root: new RegExp(`^federation\\.${B}_8448\\.certificate$`),
    fix: /well-known/,
    breaks: 'federation',
    twin: 'healthy-direct',
  },
  ...[
    [
      'https://github.com/matrix-org/matrix-federation-tester/issues/90',
      'matrix-federation-tester',
      'cert.pem instead of fullchain.pem: "certificate signed by unknown authority" although the certificate is valid',
    ],
    [
      'https://github.com/matrix-org/synapse/issues/5429',
      'Synapse',
      'Federation silently breaks with "x509: certificate signed by unknown authority" with a Let\'s Encrypt certificate: the chain was missing',
    ],
    [
      'https://github.com/matrix-org/synapse/issues/5428',
      'Synapse',
      'Federation breaks with "x509: certificate signed by unknown authority" (the same server: leaf without its intermediate)',
    ],
    [
      'https://github.com/matrix-org/synapse/issues/6445',
      'Synapse',
      'Public room list gives 401; browsers accept the certificate on 8448, servers do not: the full chain is not served',
    ],
  ].map(
    ([url, tracker, reported]): Case => ({
      url,
      tracker,
      reported,
      scenario: 'missing-intermediate',
      root: new RegExp(`^federation\\.${M}_8448\\.certificate$`),
      fix: /fullchain/,
      breaks: 'federation',
      twin: 'healthy-wellknown',
    }),
  ),
  ...[
    [
      'https://github.com/spantaleev/matrix-docker-ansible-deploy/issues/2657',
      'MDAD',
      'Traefik publishes its "TRAEFIK DEFAULT CERT" instead of a Let\'s Encrypt certificate',
    ],
    [
      'https://github.com/spantaleev/matrix-docker-ansible-deploy/issues/2591',
      'MDAD',
      'Fresh install: TRAEFIK DEFAULT CERT and "404 page not found" for every request',
    ],
  ].map(
    ([url, tracker, reported]): Case => ({
      url,
      tracker,
      reported,
      scenario: 'traefik-default-cert',
      root: new RegExp(`^federation\\.${M}_8448\\.certificate$`),
      fix: /Let's Encrypt/,
      breaks: 'federation',
      twin: 'healthy-wellknown',
    }),
  ),
  ...[
    [
      'https://github.com/spantaleev/matrix-docker-ansible-deploy/issues/2555',
      'MDAD',
      '/_matrix/federation/v1/version answers "404 page not found" when delegating with SRV records',
    ],
    [
      'https://github.com/matrix-org/matrix-federation-tester/issues/133',
      'matrix-federation-tester',
      'SRV delegation to the Matrix host; the target answers "Non-200 response 404" (404 page not found)',
    ],
  ].map(
    ([url, tracker, reported]): Case => ({
      url,
      tracker,
      reported,
      scenario: 'srv-traefik-404',
      root: new RegExp(`^federation\\.${M}_8448\\.version$`),
      fix: /Route \/_matrix\/federation/,
      breaks: 'federation',
      twin: 'healthy-srv',
    }),
  ),
  {
    url: 'https://github.com/matrix-org/matrix-federation-tester/issues/114',
    tracker: 'matrix-federation-tester',
    reported: 'HAProxy answers 503 "No server is available" to the tester, whose Host header is "name:443"; curl with the bare name works',
    scenario: 'host-with-port-503',
    root: new RegExp(`^federation\\.${M}_443\\.version$`),
    fix: /Host/,
    breaks: 'federation',
    twin: 'healthy-wellknown',
  },
  {
    url: 'https://github.com/matrix-org/fed-tester-ui/issues/24',
    tracker: 'fed-tester-ui',
    reported: 'A trailing slash in "proxy_pass http://localhost:8008/;" broke federation (404s, invalid keys) while the tester said OK',
    scenario: 'proxy-pass-trailing-slash',
    root: new RegExp(`^federation\\.${M}_8448\\.(version|keys)$`),
    fix: /Route|proxy/,
    breaks: 'federation',
    twin: 'healthy-wellknown',
  },
  ...[
    [
      'https://github.com/spantaleev/matrix-docker-ansible-deploy/issues/1607',
      'MDAD',
      'Federation API check times out on matrix.DOMAIN:8448 behind Apache',
    ],
    [
      'https://github.com/spantaleev/matrix-docker-ansible-deploy/issues/927',
      'MDAD',
      'Federation API timeout on :8448 after moving to an own nginx ("Is port 8448 open in your firewall?")',
    ],
    [
      'https://github.com/element-hq/synapse/issues/17102',
      'Synapse',
      '401s on federation; the tester times out on IP:8448 (the router does not forward the port)',
    ],
    [
      'https://github.com/element-hq/ess-helm/issues/1148',
      'Element (ess-helm)',
      'Calls fail: the JWT service cannot reach the homeserver, "dial tcp …:8448: i/o timeout" (8448 not exposed)',
    ],
  ].map(
    ([url, tracker, reported]): Case => ({
      url,
      tracker,
      reported,
      scenario: 'federation-port-dropped',
      root: new RegExp(`^federation\\.${M}_8448\\.connect$`),
      fix: /Open TCP port 8448/,
      breaks: 'federation',
      twin: 'healthy-wellknown',
    }),
  ),
  {
    url: 'https://github.com/spantaleev/matrix-docker-ansible-deploy/issues/2487',
    tracker: 'MDAD',
    reported: 'Cannot reach other homeservers: "dial tcp IP:8448: connect: connection refused", no SRV records, works with matrix.domain',
    scenario: 'no-delegation-refused',
    root: new RegExp(`^federation\\.${B}_8448\\.connect$`),
    fix: /well-known\/matrix\/server/,
    breaks: 'federation',
    twin: 'healthy-direct',
  },
  {
    url: 'https://github.com/spantaleev/matrix-docker-ansible-deploy/issues/706',
    tracker: 'MDAD',
    reported: "matrix.org's requests to /_matrix/federation/… get 404 from the proxy",
    scenario: 'federation-paths-404',
    root: new RegExp(`^federation\\.${M}_8448\\.version$`),
    fix: /Route \/_matrix\/federation/,
    breaks: 'federation',
    twin: 'healthy-wellknown',
  },
  {
    url: 'https://github.com/matrix-org/synapse/issues/15771',
    tracker: 'Synapse',
    reported: 'Port 8448 not reachable; the home page (the base domain) is behind Cloudflare',
    scenario: 'cloudflare-base',
    root: /^federation\.104_16_132_229_8448\.cloudflare$/,
    fix: /DNS only/,
    breaks: 'federation',
    twin: 'healthy-direct',
  },
  {
    url: 'https://github.com/spantaleev/matrix-docker-ansible-deploy/issues/1198',
    tracker: 'MDAD',
    reported: 'MatchingServerName error and "Failed to find any key to satisfy" for a server_name that is not the domain',
    scenario: 'server-name-mismatch',
    root: new RegExp(`^federation\\.${M}_8448\\.keys$`),
    fix: /server name \(matrix_domain/,
    breaks: 'federation',
    twin: 'healthy-wellknown',
  },
  ...[
    [
      'https://github.com/matrix-org/matrix-federation-tester/issues/113',
      'matrix-federation-tester',
      'SRV delegation works, but the .well-known request times out and the report only shows a timeout',
    ],
    [
      'https://github.com/matrix-org/fed-tester-ui/issues/27',
      'fed-tester-ui',
      'The tester says it times out when the .well-known times out although an SRV record is present',
    ],
    [
      'https://github.com/matrix-org/matrix-federation-tester/issues/98',
      'matrix-federation-tester',
      'FederationOK, but the version check times out because port 443 gets an i/o timeout',
    ],
    [
      'https://github.com/matrix-org/synapse/issues/7231',
      'Synapse',
      'A firewall drops requests to :443 (no well-known): every media request waits 30 s for the .well-known timeout',
    ],
  ].map(
    ([url, tracker, reported]): Case => ({
      url,
      tracker,
      reported,
      scenario: 'wellknown-dropped-srv',
      root: /^federation\.discovery$/,
      fix: /refuse connections|answer promptly/,
      breaks: 'nothing',
      exit: 1,
      twin: 'healthy-srv',
    }),
  ),
  ...[
    [
      'https://github.com/matrix-org/synapse/issues/7762',
      'Synapse',
      '401 for the public room list: a resolver answers SERVFAIL for the SRV record (a DNSSEC failure)',
    ],
    [
      'https://github.com/matrix-org/synapse/issues/6589',
      'Synapse',
      'Synapse refuses to federate with a server whose SRV lookup gets SERVFAIL, while the tester says all is fine',
    ],
    [
      'https://github.com/madnuttah/unbound-docker/issues/95',
      "unbound (a homeserver's resolver)",
      'Validating resolver: SERVFAIL for _matrix._tcp and _matrix-fed._tcp of a server whose DNSSEC is broken',
    ],
  ].map(
    ([url, tracker, reported]): Case => ({
      url,
      tracker,
      reported,
      scenario: 'srv-servfail',
      root: /^federation\.discovery$/,
      fix: /DNSSEC/,
      breaks: 'federation',
      twin: 'healthy-explicit-port-servfail',
    }),
  ),
  ...[
    [
      'https://github.com/matrix-org/matrix-federation-tester/issues/115',
      'matrix-federation-tester',
      'SRV record present, yet the certificate is checked against the main domain (x509 error)',
    ],
    [
      'https://github.com/matrix-org/matrix-federation-tester/issues/101',
      'matrix-federation-tester',
      'SRV delegation to matrix.example.com; the tester reports MatchingServerName',
    ],
  ].map(
    ([url, tracker, reported]): Case => ({
      url,
      tracker,
      reported,
      scenario: 'srv-cert-for-target',
      root: new RegExp(`^federation\\.${M}_8448\\.certificate$`),
      fix: new RegExp(`valid for ${CORPUS.serverName.replace('.', '\\.')}`),
      breaks: 'federation',
      twin: 'healthy-srv',
    }),
  ),
  ...[
    [
      'https://github.com/YunoHost-Apps/synapse_ynh/issues/147',
      'Synapse (YunoHost)',
      '"x509: certificate has expired or is not yet valid" on :8448',
    ],
    [
      'https://github.com/matrix-org/synapse/issues/7098',
      'Synapse',
      'Cannot federate with anyone: "certificate verify failed"; the certificate had not been renewed',
    ],
    [
      'https://github.com/matrix-org/synapse/issues/2394',
      'Synapse',
      "Clients spin forever at login: the certificate expired (Let's Encrypt automation failed)",
    ],
  ].map(
    ([url, tracker, reported]): Case => ({
      url,
      tracker,
      reported,
      scenario: 'expired',
      root: new RegExp(`^federation\\.${M}_8448\\.certificate$`),
      fix: /Renew/,
      breaks: 'federation',
      twin: 'healthy-wellknown',
    }),
  ),
  ...[
    [
      'https://github.com/element-hq/element-web/issues/15914',
      'Element Web',
      'Sign-in with mozilla.org fails: the client well-known has no Access-Control-Allow-Origin',
    ],
    [
      'https://github.com/element-hq/element-web/issues/7760',
      'Element Web',
      'Most people setting up .well-known are caught by the missing Access-Control-Allow-Origin: * header',
    ],
    [
      'https://github.com/matrix-org/synapse/issues/4672',
      'Synapse',
      '.well-known/matrix/client needs Access-Control-Allow-Origin: * to work with web clients',
    ],
  ].map(
    ([url, tracker, reported]): Case => ({
      url,
      tracker,
      reported,
      scenario: 'client-no-cors',
      root: /^wellknown\.client\.cors$/,
      fix: /Access-Control-Allow-Origin/,
      breaks: 'sign-in',
      twin: 'healthy-wellknown',
    }),
  ),
  {
    url: 'https://github.com/element-hq/element-web/issues/23352',
    tracker: 'Element Web',
    reported: '"Homeserver URL does not appear to be valid": /_matrix/client/versions answers a 301 that CORS blocks',
    scenario: 'versions-redirect-no-cors',
    root: /^wellknown\.client\.versions_cors$/,
    fix: /Access-Control-Allow-Origin/,
    breaks: 'sign-in',
    twin: 'healthy-wellknown',
  },
  {
    url: 'https://github.com/spantaleev/matrix-docker-ansible-deploy/issues/4763',
    tracker: 'MDAD',
    reported: 'MatrixRTC "not available" with a copied client well-known on the base domain',
    scenario: 'client-text-plain',
    root: /^wellknown\.client\.content_type$/,
    fix: /application\/json/,
    breaks: 'calls',
    twin: 'healthy-wellknown',
  },
  ...[
    [
      'https://github.com/spantaleev/matrix-docker-ansible-deploy/issues/4224',
      'MDAD',
      "Element Call: MISSING_MATRIX_RTC_FOCUS, the base domain's client well-known is an outdated copy",
    ],
    [
      'https://github.com/element-hq/element-docker-demo/issues/15',
      'Element Call / Element X',
      'Calls in Element X fail with MISSING_MATRIX_RTC_FOCUS',
    ],
  ].map(
    ([url, tracker, reported]): Case => ({
      url,
      tracker,
      reported,
      scenario: 'rtc-foci-missing',
      root: /^wellknown\.client\.rtc_foci$/,
      fix: /rtc_foci/,
      breaks: 'calls',
      twin: 'healthy-rtc',
    }),
  ),
  {
    url: 'https://github.com/coturn/coturn/issues/501',
    tracker: 'coturn',
    reported: 'coturn hands out its private address instead of the public one; fixed with external-ip',
    scenario: 'turn-private-relay',
    root: /^turn\.turn-udp-3478\.relayed-address$/,
    fix: /external_ip|external-ip/,
    breaks: 'calls',
    twin: 'healthy-turn',
  },
  ...[
    [
      'https://github.com/coturn/coturn/issues/954',
      'coturn',
      'Element/Synapse calls never connect: coturn answers 401 ("Cannot find credentials of user") to the homeserver\'s credentials',
    ],
    [
      'https://github.com/matrix-construct/tuwunel/issues/130',
      'tuwunel (homeserver)',
      'The homeserver\'s TURN credentials are refused by coturn: 401 Unauthorized, "Cannot find credentials of user"',
    ],
  ].map(
    ([url, tracker, reported]): Case => ({
      url,
      tracker,
      reported,
      scenario: 'turn-secret-mismatch',
      root: /^turn\.turn-udp-3478\.auth$/,
      fix: /secret/,
      breaks: 'calls',
      twin: 'healthy-turn',
    }),
  ),
];

/** The twins: one healthy scenario per class, which must raise no warning and no failure. */
export const TWINS = [...new Set(CASES.map((c) => c.twin))];

export { wellKnown };
