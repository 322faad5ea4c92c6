// The rtc rules: the MatrixRTC path of a call, step by step (docs/turn.md "MatrixRTC and
// LiveKit"), each with its evidence and the MDAD fix. A step that could not run because an
// earlier one failed is a skip naming that cause (causedBy). Pure: facts in, findings out.
import { withheldFindings } from './credentials.ts';
import { emit } from '../core/catalogue.ts';
import type { Finding } from '../core/finding.ts';
import {
  FOCI_KEY,
  MDAD_JWT_SERVICE_PATH,
  type MediaFact,
  RTC_STEPS,
  type RtcFacts,
  type SessionFact,
  sameServiceUrl,
  TRANSPORTS_PATH,
  transportServiceUrls,
} from '../facts/rtc.ts';
import { addressScope, livekitServiceUrls, RERUN_ALL, SCOPE_TEXT } from '../facts/turn-config.ts';
import { RTC } from '../findings/rtc.ts';

const MDAD_LIVEKIT = 'MDAD docs/configuring-playbook-livekit-server.md';
const EXTERNAL_IP_FIX =
  "keep livekit_server_config_rtc_use_external_ip: true (the role's default: LiveKit finds its public IP by STUN); where that finds the wrong one, set it in vars.yml: livekit_server_configuration_extension_yaml: |\\n  rtc:\\n    node_ip: <the server's public IP>";
const STATUS_LINE = 'systemctl status matrix-livekit-jwt-service (journalctl -u matrix-livekit-jwt-service says why)';

const skipped = (finding: Finding, cause: string): Finding => ({ ...finding, causedBy: cause });

function callText(fact: { url: string; status?: number; errcode?: string; failure?: string; tlsError?: string }): string {
  if (fact.failure) return `${fact.url}: ${fact.failure}`;
  const status = `${fact.url} → ${fact.status}${fact.errcode ? ` ${fact.errcode}` : ''}`;
  return fact.tlsError ? `${status} (certificate: ${fact.tlsError})` : status;
}

/** Discovery: the well-known key, the transports API, and whether they agree. */
function discovery(facts: RtcFacts): Finding[] {
  const findings: Finding[] = [];
  const wk = facts.wellKnown;
  const fromWellKnown = livekitServiceUrls(wk.foci);
  const transports = facts.transports;
  const fromApi = transportServiceUrls(transports?.transports);
  const expected = facts.plan?.expectedFoci !== undefined ? JSON.stringify(facts.plan.expectedFoci) : undefined;
  // A JWT service answering at MDAD's path: MatrixRTC is deployed, whatever the documents say.
  const deployed = facts.deployedJwtService?.status === 200 ? facts.deployedJwtService.url.replace(/\/healthz$/, '') : undefined;
  const rtcWanted = facts.plan?.rtcEnabled || fromApi.length > 0 || fromWellKnown.length > 0 || deployed !== undefined;
  const defaultServiceUrl = fromApi[0] ?? deployed ?? `https://matrix.${facts.serverName}${MDAD_JWT_SERVICE_PATH}`;

  if (fromWellKnown.length > 0) {
    findings.push(
      emit(RTC.wellKnown, 'pass', { detail: `${wk.url}: ${fromWellKnown.join(', ')}`, evidence: { url: wk.url, foci: wk.foci } }),
    );
  } else {
    const what = !wk.json
      ? `${wk.url} is unreadable (${wk.failure ?? `status ${wk.status}`})`
      : wk.foci === undefined
        ? `${wk.url} has no ${FOCI_KEY}`
        : `${wk.url} has ${FOCI_KEY} without a LiveKit focus: ${JSON.stringify(wk.foci)}`;
    if (rtcWanted) {
      const why =
        fromApi.length > 0
          ? 'the transports API names a focus, but Element Call inside Element Web (a widget without an access token) and older Element X read only the well-known: their calls fail with MISSING_MATRIX_RTC_TRANSPORT / MISSING_MATRIX_RTC_FOCUS'
          : deployed
            ? `yet a LiveKit JWT service answers at ${deployed} (MDAD's path): MatrixRTC is deployed and no client finds it, so calls fail with MISSING_MATRIX_RTC_FOCUS (Element X) or MISSING_MATRIX_RTC_TRANSPORT (Element Web)`
            : 'calls fail with MISSING_MATRIX_RTC_FOCUS (Element X) or MISSING_MATRIX_RTC_TRANSPORT (Element Web)';
      findings.push(
        emit(RTC.wellKnown, 'fail', {
          detail: `${what}; ${why}`,
          fix: `Serve the playbook's client file, which holds "${FOCI_KEY}": ${expected ?? `[{"type": "livekit", "livekit_service_url": "${defaultServiceUrl}"}]`} (MDAD writes it with matrix_rtc_enabled: true; a base domain served elsewhere needs the copy: npx tsx scripts/wellknown.ts), then run: ${RERUN_ALL}`,
          evidence: { url: wk.url, status: wk.status, foci: wk.foci },
        }),
      );
    } else if (facts.transports || facts.auth === 'none') {
      findings.push(
        emit(RTC.wellKnown, 'info', {
          detail: `${what}: MatrixRTC (Element Call, Element X group calls) is not set up; matrix_rtc_enabled: true sets it up`,
        }),
      );
    }
  }

  if (!transports && !rtcWanted && facts.auth === 'none') {
    // Not set up, and no user to ask the transports API: nothing more to say.
  } else if (!transports) {
    findings.push(
      emit(RTC.transports, 'skip', {
        detail:
          facts.auth === 'none'
            ? `${TRANSPORTS_PATH} needs an access token: give MATRIX_ACCESS_TOKEN, --access-token-file or --user`
            : 'not asked: the check could not act as the test user',
      }),
    );
  } else if (fromApi.length > 0) {
    findings.push(
      emit(RTC.transports, 'pass', { detail: `${transports.url}: ${fromApi.join(', ')}`, evidence: { transports: transports.transports } }),
    );
  } else {
    // Element X (matrix-rust-sdk Client::discover_rtc_transports) falls back to the well-known only
    // when the endpoint is not implemented: 404 with M_UNRECOGNIZED (ruma's
    // is_endpoint_not_implemented). Any other answer is the homeserver's word, an empty list
    // included, and standalone Element Call from v0.24 reads no well-known at all
    // (RtcTransportAutoDiscovery): docs/turn.md "MatrixRTC and LiveKit".
    const answer = callText(transports);
    const notImplemented = transports.status === 404 && transports.errcode === 'M_UNRECOGNIZED';
    const answered = transports.status === 200;
    const detail = notImplemented
      ? `${answer}: the homeserver does not serve the MSC4143 transports API`
      : answered
        ? `${transports.url} answered 200 without a LiveKit transport: ${transports.transports === undefined ? 'no rtc_transports at all (Synapse answers {} when msc4143_enabled is on and matrix_rtc.transports is empty)' : `rtc_transports ${JSON.stringify(transports.transports)}`}`
        : answer;
    const consequence = notImplemented
      ? fromWellKnown.length > 0
        ? '; clients fall back to the well-known, so calls still find the focus'
        : '; with the well-known also empty, calls fail with MISSING_MATRIX_RTC_TRANSPORT / MISSING_MATRIX_RTC_FOCUS'
      : `; Element X and standalone Element Call take this answer as the homeserver's and do not fall back to the well-known${fromWellKnown.length > 0 ? ' (which names a focus: only clients that read it directly still find it)' : ''}, so their calls fail with MISSING_MATRIX_RTC_FOCUS / MISSING_MATRIX_RTC_TRANSPORT`;
    const serviceUrl = fromWellKnown[0] ?? defaultServiceUrl;
    const fix = answered
      ? `Synapse's matrix_rtc.transports must name the JWT service: [{type: livekit, livekit_service_url: ${serviceUrl}}]. MDAD writes it (matrix_synapse_matrix_rtc_transports) with matrix_rtc_enabled: true; remove an msc4143_enabled or matrix_rtc set by hand (matrix_synapse_configuration_extension_yaml) without it. Then run: ${RERUN_ALL}`
      : `Synapse: experimental_features: {msc4143_enabled: true} and matrix_rtc: {transports: [{type: livekit, livekit_service_url: ${serviceUrl}}]} (MDAD sets both with matrix_rtc_enabled: true); then run: ${RERUN_ALL}`;
    findings.push(
      emit(RTC.transports, rtcWanted ? (notImplemented && fromWellKnown.length > 0 ? 'warn' : 'fail') : 'info', {
        detail: `${detail}${rtcWanted ? consequence : ''}`,
        ...(rtcWanted ? { fix } : {}),
        evidence: { url: transports.url, status: transports.status, errcode: transports.errcode },
      }),
    );
  }

  if (fromApi.length > 0 && fromWellKnown.length > 0) {
    const same = sameServiceUrl(fromApi[0]!, fromWellKnown[0]!);
    findings.push(
      same
        ? emit(RTC.agree, 'pass', { detail: `both name ${fromApi[0]}` })
        : emit(RTC.agree, 'fail', {
            detail: `the transports API names ${fromApi[0]}, the well-known ${fromWellKnown[0]}: Element X and Element Web users of one call end up on different LiveKit servers`,
            fix: `Make both the same: the well-known's ${FOCI_KEY} and Synapse's matrix_rtc.transports (MDAD derives both from the same JWT service URL; a hand-copied well-known is stale: npx tsx scripts/wellknown.ts)`,
            evidence: { transports: fromApi, wellKnown: fromWellKnown },
          }),
    );
  }
  return findings;
}

/** The test user: credentials, then the OpenID token. Returns the findings and whether to go on. */
function user(facts: RtcFacts): { findings: Finding[]; ok: boolean } {
  if (facts.auth === 'none') {
    return {
      findings: [
        emit(RTC.auth, 'skip', {
          detail:
            'No user given: the JWT service, LiveKit and the media path need a real user, as a call does (MATRIX_ACCESS_TOKEN=… , --access-token-file FILE or --user NAME)',
        }),
      ],
      ok: false,
    };
  }
  const home = facts.homeserver;
  if (!home?.baseUrl) {
    return {
      findings: [
        emit(RTC.auth, 'fail', {
          detail: `The homeserver could not be found: ${home?.problem ?? 'no m.homeserver'}`,
          fix: `Serve m.homeserver in ${facts.wellKnown.url}, or give --homeserver URL`,
        }),
      ],
      ok: false,
    };
  }
  const api = facts.api;
  if (!api || api.status !== 200 || api.tlsError || home.plainHttp) {
    const why = home.plainHttp ? `${home.baseUrl} is plain HTTP` : api ? callText(api) : `${home.baseUrl} was not asked`;
    return {
      findings: [
        emit(RTC.auth, 'fail', {
          detail: `${why}: no credentials were sent`,
          fix: `Make ${home.baseUrl}/_matrix/client/versions answer 200 over HTTPS with a valid certificate (npx tsx checks/wellknown.ts ${facts.serverName})`,
          evidence: { url: api?.url, status: api?.status },
        }),
      ],
      ok: false,
    };
  }
  const login = facts.login ?? facts.whoami;
  if (!login || login.status !== 200) {
    const what = facts.login ? 'Login' : 'The access token';
    return {
      findings: [
        emit(RTC.auth, 'fail', {
          detail: `${what} was refused: ${login ? callText(login) : 'no answer'}`,
          fix: facts.login
            ? 'Check the user name and MATRIX_PASSWORD; with MAS (password login off) give an access token instead'
            : 'Give a current access token (Element: Settings → Help & About → Access token)',
          evidence: { url: login?.url, status: login?.status, errcode: login?.errcode },
        }),
      ],
      ok: false,
    };
  }
  const userId = facts.login?.userId ?? facts.whoami?.userId;
  const findings = [emit(RTC.auth, 'pass', { detail: `${userId} (${facts.login ? 'logged in with --user' : 'access token'})` })];
  const openid = facts.openid;
  if (!openid || openid.status !== 200 || !openid.matrixServerName) {
    findings.push(
      emit(RTC.openid, 'fail', {
        detail: openid
          ? `${callText(openid)}: clients cannot prove the user to the JWT service`
          : 'not asked (no transports or token request was made)',
        fix: 'The homeserver must serve POST /_matrix/client/v3/user/{userId}/openid/request_token (Synapse always does; a reverse proxy must pass /_matrix/client/ through)',
        evidence: { url: openid?.url, status: openid?.status, errcode: openid?.errcode },
      }),
    );
    return { findings, ok: false };
  }
  findings.push(
    emit(RTC.openid, 'pass', {
      detail: `for ${openid.userId} on ${openid.matrixServerName}, valid ${openid.expiresIn ?? '?'} s (the token is not printed)`,
    }),
  );
  return { findings, ok: true };
}

function federation(facts: RtcFacts): Finding | undefined {
  const f = facts.federation;
  if (!f) return undefined;
  if (f.status === 200 && f.sub) {
    return emit(RTC.federation, 'pass', {
      detail: `${f.url} (${f.discovery}) answered for ${f.sub}`,
      evidence: { url: f.url, address: f.address, discovery: f.discovery },
    });
  }
  let why: string;
  let fix: string;
  if (!f.target) {
    why = `server discovery of ${facts.openid?.matrixServerName} found nothing (${f.discovery ?? f.failure})`;
    fix = `Publish the server's federation endpoint: /.well-known/matrix/server {"m.server": "matrix.${facts.serverName}:443"} or port 8448 open (npx tsx checks/federation.ts ${facts.serverName})`;
  } else if (f.tlsError) {
    why = `${f.target}: the certificate does not verify (${f.tlsError})`;
    fix = `Give ${f.target.split(':')[0]} a certificate valid for it from a public CA (MDAD: Traefik obtains it); lk-jwt-service verifies it`;
  } else if (f.failure) {
    why = `${f.url}: ${f.failure} (${f.discovery})`;
    fix = `Open ${f.target.split(':').pop()}/tcp to the homeserver's federation listener; with federation off MDAD still serves the openid resource for the JWT service (matrix_synapse_federation_port_openid_resource_required: true)`;
  } else if (f.status === 404 || f.errcode === 'M_UNRECOGNIZED') {
    why = `${f.url} → ${f.status}: the homeserver's federation API (openid resource) is off there (${f.discovery})`;
    fix =
      'Serve the openid resource on the federation listener: MDAD does with matrix_synapse_federation_port_openid_resource_required: true (the JWT service turns it on); a hand-made proxy must pass /_matrix/federation/v1/openid/ through';
  } else {
    why = `${f.url} → ${f.status}${f.errcode ? ` ${f.errcode}` : ''} (${f.discovery})`;
    fix = `Make GET /_matrix/federation/v1/openid/userinfo answer on ${f.target} (npx tsx checks/federation.ts ${facts.serverName})`;
  }
  return emit(RTC.federation, 'fail', {
    detail: `${why}: the JWT service validates OpenID tokens there, so it refuses every token request`,
    fix,
    evidence: { url: f.url, target: f.target, discovery: f.discovery, status: f.status, failure: f.failure, tlsError: f.tlsError },
  });
}

/** The JWT service: preflight, both endpoints, the claims; a 5xx/401 explained by the federation finding. */
function jwtService(facts: RtcFacts, federationFinding: Finding | undefined): { findings: Finding[]; ok: boolean } {
  const findings: Finding[] = [];
  const focus = facts.focus!;
  const cors = facts.cors;
  if (cors) {
    const methods = (cors.allowMethods ?? '').toUpperCase();
    const headers = (cors.allowHeaders ?? '').toLowerCase();
    const ok =
      cors.status !== undefined &&
      cors.status >= 200 &&
      cors.status < 300 &&
      (cors.allowOrigin === '*' || cors.allowOrigin === 'https://call.element.io') &&
      (methods === '' || methods.includes('POST') || methods === '*') &&
      (headers === '' || headers.includes('content-type') || headers === '*');
    findings.push(
      ok
        ? emit(RTC.cors, 'pass', {
            detail: `OPTIONS ${cors.url} → ${cors.status}, Access-Control-Allow-Origin: ${cors.allowOrigin}`,
            evidence: { ...cors },
          })
        : emit(RTC.cors, 'fail', {
            detail: `OPTIONS ${cors.url} → ${cors.failure ?? cors.status}; Allow-Origin ${cors.allowOrigin ?? 'missing'}, Allow-Methods ${cors.allowMethods ?? 'missing'}, Allow-Headers ${cors.allowHeaders ?? 'missing'}: Element Call in a browser cannot ask for a token`,
            fix: `Let the JWT service answer OPTIONS itself (route every method of ${new URL(focus.serviceUrl).pathname}/ to it, as MDAD's Traefik labels do)`,
            evidence: { ...cors },
          }),
    );
  }
  const federationFailed = federationFinding?.status === 'fail' ? federationFinding.id : undefined;
  const judge = (spec: typeof RTC.getToken, fact: RtcFacts['getToken']) => {
    if (!fact) return;
    if (fact.status === 200 && fact.jwt && fact.livekitUrl) {
      findings.push(
        emit(spec, 'pass', { detail: `${fact.url} → 200 {url: ${fact.livekitUrl}, jwt: (not printed)}`, evidence: { url: fact.url } }),
      );
      return;
    }
    const answer = `${callText(fact)}${fact.error ? ` "${fact.error}"` : ''}`;
    let cause = '';
    let fix: string;
    if (fact.failure) {
      fix = `Make ${new URL(fact.url).host} reachable on 443 and route ${new URL(focus.serviceUrl).pathname} to the JWT service; ${STATUS_LINE}`;
    } else if (fact.status === 404) {
      fix =
        fact.endpoint === 'get_token'
          ? 'Update lk-jwt-service (POST /get_token came with v0.3): update the playbook and run it'
          : `Route ${new URL(focus.serviceUrl).pathname}/ to the JWT service (MDAD does with matrix_rtc_enabled: true), then run: ${RERUN_ALL}`;
    } else if ((fact.status === 500 && fact.errcode === 'M_LOOKUP_FAILED') || (fact.status === 401 && fact.errcode === 'M_UNAUTHORIZED')) {
      cause = federationFailed
        ? ': it could not validate the OpenID token at the homeserver (see rtc.jwt.federation)'
        : ': it could not validate the OpenID token at the homeserver, though the federation userinfo answers from here: the service itself cannot reach it (its DNS, outgoing firewall, or a certificate it does not trust)';
      fix = federationFailed
        ? (federationFinding?.fix ?? STATUS_LINE)
        : `From the JWT service's host: curl https://${facts.openid?.matrixServerName}/.well-known/matrix/server and the federation userinfo; ${STATUS_LINE}`;
    } else if (fact.status === 500 && fact.error?.includes('create room')) {
      cause = ": it could not create the room on LiveKit (its LiveKit key or secret differs from LiveKit's, or LiveKit is down)";
      fix =
        'Let the JWT service and LiveKit share one key and secret (MDAD derives both from matrix_homeserver_generic_secret_key: run the playbook for both) and check LiveKit: systemctl status matrix-livekit-server';
    } else {
      fix = STATUS_LINE;
    }
    const failure = emit(spec, 'fail', {
      detail: `${answer}${cause}; clients show "SFU Config fetch failed"`,
      fix,
      evidence: { url: fact.url, status: fact.status, errcode: fact.errcode, error: fact.error, failure: fact.failure },
    });
    findings.push(cause && federationFailed ? { ...failure, causedBy: federationFailed } : failure);
  };
  judge(RTC.getToken, facts.getToken);
  judge(RTC.sfuGet, facts.sfuGet);

  const claims = facts.claims;
  if (!claims) return { findings, ok: false };
  const video = claims.video ?? {};
  const problems: string[] = [];
  if (!claims.decoded) problems.push('the token is not a JWT with a JSON payload');
  if (!claims.sub) problems.push('no identity (sub)');
  if (video.roomJoin !== true) problems.push('no roomJoin grant');
  if (typeof video.room !== 'string' || video.room === '') problems.push('no room');
  if (video.canPublish === false) problems.push('canPublish is false (the user would be heard and seen by no one)');
  if (video.canSubscribe === false) problems.push('canSubscribe is false');
  const now = Date.now() / 1000;
  if (claims.exp === undefined || claims.exp <= now) problems.push(claims.exp === undefined ? 'no expiry' : 'already expired');
  const shown = {
    room: video.room,
    identity: claims.sub,
    grants: Object.fromEntries(Object.entries(video).filter(([k]) => k !== 'room')),
    expiresInS: claims.exp !== undefined ? Math.round(claims.exp - now) : undefined,
    issuer: claims.iss,
  };
  findings.push(
    problems.length === 0
      ? emit(RTC.claims, 'pass', {
          detail: `room ${video.room}, identity ${claims.sub}, grants ${Object.entries(shown.grants)
            .filter(([, v]) => v === true)
            .map(([k]) => k)
            .join(', ')}, expires in ${shown.expiresInS} s (API key ${claims.iss})`,
          evidence: shown,
        })
      : emit(RTC.claims, 'fail', {
          detail: problems.join('; '),
          fix: 'Run lk-jwt-service as MDAD installs it (matrix_rtc_enabled: true); a hand-made token service must grant roomJoin, canPublish and canSubscribe for the room',
          evidence: shown,
        }),
  );
  return { findings, ok: true };
}

function signalFinding(session: SessionFact): Finding {
  const s = session.signal;
  if (s.join) {
    const ice = s.join.iceServers.flatMap((i) => i.urls);
    return emit(RTC.signal, 'pass', {
      detail: `${s.url}: joined as ${s.join.identity} in ${s.elapsedMs} ms; LiveKit ${s.join.serverVersion}${s.join.serverRegion ? ` (${s.join.serverRegion})` : ''}, protocol ${s.join.protocol}, ICE servers ${ice.length ? ice.join(', ') : 'none'}`,
      evidence: { url: s.url, address: s.address, ...s.join },
    });
  }
  let detail: string;
  let fix: string;
  if (s.status === 401 || s.status === 403) {
    detail = `${s.url} → ${s.status}${s.reason ? ` "${s.reason}"` : ''}: LiveKit refuses the token the JWT service signed`;
    fix =
      "The JWT service signs with another API key or secret than LiveKit's: give both the same (MDAD derives both from matrix_homeserver_generic_secret_key: run the playbook for both: " +
      `${RERUN_ALL})`;
  } else if (s.status !== undefined) {
    detail = `${s.url} → ${s.status}${s.reason ? ` "${s.reason}"` : ''}: no WebSocket upgrade`;
    fix =
      s.status === 404
        ? 'Route the LiveKit path (/livekit-server in MDAD) to LiveKit with WebSocket upgrades; check systemctl status matrix-livekit-server'
        : s.status >= 500
          ? 'LiveKit behind the reverse proxy is down: systemctl status matrix-livekit-server (journalctl -u matrix-livekit-server)'
          : 'Let the reverse proxy pass WebSocket upgrades to LiveKit';
  } else if (s.tlsError) {
    detail = `${s.url}: the certificate does not verify (${s.tlsError})`;
    fix = `Give ${new URL(s.url).hostname} a valid certificate (MDAD: Traefik obtains it)`;
  } else if (s.failure) {
    detail = `${s.url}: ${s.failure}`;
    fix = 'Make LiveKit reachable at the url the JWT service hands out (LIVEKIT_URL); check systemctl status matrix-livekit-server';
  } else {
    detail = `${s.url}: ${s.noJoin ?? 'no join response'}`;
    fix = 'Check LiveKit: systemctl status matrix-livekit-server (journalctl -u matrix-livekit-server)';
  }
  return emit(RTC.signal, 'fail', {
    detail: `${detail}; calls get a token and then never connect`,
    fix,
    evidence: { url: s.url, address: s.address, status: s.status, failure: s.failure },
  });
}

function mediaTime(m: MediaFact): string {
  return `ICE ${m.iceMs ?? '?'} ms, DTLS ${m.dtlsMs ?? '?'} ms, first data-channel packet ${m.firstPacketMs ?? '?'} ms`;
}

/** Node IP and the media path over UDP and TCP, told apart. */
function mediaFindings(sessions: SessionFact[]): Finding[] {
  const findings: Finding[] = [];
  const media = sessions.map((s) => s.media).filter((m): m is MediaFact => m !== undefined);
  const candidates = media.flatMap((m) => m.candidates);
  // One entry per candidate; the session that tried it has the say.
  const byKey = new Map<string, (typeof candidates)[number]>();
  for (const c of candidates) {
    const key = `${c.transport} ${c.address} ${c.port}`;
    if (!byKey.has(key) || c.tried) byKey.set(key, c);
  }
  const unique = [...byKey.values()];
  const server = sessions[0]?.signal.address;
  const unreachable = unique.filter((c) => c.why && !c.why.includes('other session'));
  const reachable = unique.filter((c) => c.tried);
  let nodeIpId: string | undefined;
  if (unique.length === 0) {
    // judged below as no candidates
  } else if (unreachable.length > 0 && reachable.length === 0) {
    const shown = [...new Set(unreachable.map((c) => c.address))];
    const finding = emit(RTC.nodeIp, 'fail', {
      detail: `LiveKit offers only ${shown.map((a) => `${a} (${SCOPE_TEXT[addressScope(a)]})`).join(', ')}, while it is reached at ${server ?? '?'}: clients elsewhere cannot send media there, so calls join and stay silent`,
      fix: `${EXTERNAL_IP_FIX}; then run: ${RERUN_ALL}`,
      evidence: { candidates: unique, server },
    });
    findings.push(finding);
    nodeIpId = finding.id;
  } else {
    findings.push(
      emit(RTC.nodeIp, 'pass', {
        detail: `LiveKit offers ${[...new Set(reachable.map((c) => `${c.address} (${c.transport.toUpperCase()} ${c.port})`))].join(', ')}${unreachable.length ? `; not tried: ${unreachable.map((c) => `${c.address} (${c.why})`).join(', ')}` : ''}`,
        evidence: { candidates: unique, server },
      }),
    );
  }

  const byTransport = (t: 'udp' | 'tcp') => media.find((m) => m.transport === t);
  const udp = byTransport('udp');
  const tcp = byTransport('tcp');
  const works = (m: MediaFact | undefined) => m?.state === 'connected';
  for (const m of [udp, tcp]) {
    if (!m) continue;
    const label = m.transport.toUpperCase();
    const port = m.candidates.find((c) => c.transport === m.transport)?.port;
    const mdadPort =
      m.transport === 'udp' ? '7882/udp (livekit_server_config_rtc_udp_port)' : '7881/tcp (livekit_server_config_rtc_tcp_port)';
    if (works(m)) {
      findings.push(
        emit(
          RTC.media,
          'pass',
          {
            detail: `ICE and DTLS completed with ${m.selected ? `${m.selected.address}:${m.selected.port}` : 'LiveKit'} over ${label}; ${mediaTime(m)}`,
            evidence: { ...m, candidates: undefined },
          },
          { transport: m.transport },
        ),
      );
      continue;
    }
    const tried = m.candidates.filter((c) => c.transport === m.transport && c.tried);
    if (m.state === 'not-started' || (tried.length === 0 && nodeIpId)) {
      const finding = emit(
        RTC.media,
        'fail',
        {
          detail: `not tried over ${label}: ${nodeIpId ? 'LiveKit offers no address this check may send to' : (m.failure ?? 'LiveKit offered no candidate')}`,
          fix: nodeIpId ? EXTERNAL_IP_FIX : `Check LiveKit's rtc: settings (${MDAD_LIVEKIT})`,
          evidence: { transport: m.transport, candidates: m.candidates },
        },
        { transport: m.transport },
      );
      findings.push(nodeIpId ? { ...finding, causedBy: nodeIpId } : finding);
      continue;
    }
    if (tried.length === 0) {
      findings.push(
        emit(
          RTC.media,
          m.transport === 'tcp' && works(udp) ? 'warn' : 'fail',
          {
            detail: `LiveKit offered no ${label} candidate${m.transport === 'tcp' ? ': ICE over TCP is off, so clients behind UDP-blocking firewalls cannot join' : ''}`,
            fix: `Set LiveKit's rtc.${m.transport}_port (MDAD: ${mdadPort}) and open it; ${MDAD_LIVEKIT}`,
            evidence: { transport: m.transport, candidates: m.candidates },
          },
          { transport: m.transport },
        ),
      );
      continue;
    }
    const other = m.transport === 'udp' ? tcp : udp;
    const addresses = tried.map((c) => `${c.routedTo ?? `${c.address}:${c.port}`}`).join(', ');
    let detail: string;
    let status: 'warn' | 'fail' = 'fail';
    if (works(other)) {
      status = 'warn';
      detail =
        m.transport === 'udp'
          ? `${addresses} over UDP: ${m.failure ?? m.state}, while TCP works: a firewall drops UDP to LiveKit; calls fall back to TCP, with more delay and worse quality under loss`
          : `${addresses} over TCP: ${m.failure ?? m.state}, while UDP works: clients on networks that block UDP cannot join calls`;
    } else {
      detail = `${addresses} over ${label}: ${m.failure ?? m.state}; ${other ? `TCP and UDP both fail: no media reaches LiveKit at all, calls join and stay silent` : ''}`;
    }
    findings.push(
      emit(
        RTC.media,
        status,
        {
          detail,
          fix: `Open ${port ? `${port}/${m.transport}` : mdadPort} in every firewall in front of the server (MDAD's ports: ${mdadPort}; npx tsx scripts/firewall.ts --apply opens them) and check LiveKit runs: systemctl status matrix-livekit-server`,
          evidence: {
            transport: m.transport,
            state: m.state,
            tried: tried.map((c) => ({ address: c.address, port: c.port, routedTo: c.routedTo })),
          },
        },
        { transport: m.transport },
      ),
    );
  }
  return findings;
}

function cleanup(facts: RtcFacts): Finding {
  const problems: string[] = [];
  const done: string[] = [];
  for (const s of facts.sessions) {
    if (!s.cleanup) continue;
    if (s.cleanup.leaveSent && s.cleanup.closed)
      done.push(`${s.transport.toUpperCase()} participant left (LiveKit closed in ${s.cleanup.elapsedMs} ms)`);
    else
      problems.push(
        `${s.transport.toUpperCase()} participant: ${s.cleanup.leaveSent ? 'LiveKit did not close the connection after the leave' : 'no leave sent'}`,
      );
  }
  if (facts.logout) {
    if (facts.logout.status === 200) done.push('logged out');
    else problems.push(`logout: ${callText(facts.logout)}`);
  }
  const tokens = 'the OpenID and LiveKit tokens expire by themselves (about an hour); the empty room closes after its departure timeout';
  return problems.length === 0
    ? emit(RTC.cleanup, 'pass', { detail: `${done.join('; ') || 'nothing was opened'}; ${tokens}` })
    : emit(RTC.cleanup, 'warn', {
        detail: problems.join('; '),
        fix:
          facts.logout && facts.logout.status !== 200
            ? "Remove the check's session in Element: Settings → Sessions"
            : 'LiveKit removes the participant after its timeout; nothing to do unless it repeats',
      });
}

export function judgeRtc(facts: RtcFacts): Finding[] {
  const calls = [
    facts.login,
    facts.whoami,
    facts.transports,
    facts.openid,
    facts.getToken,
    facts.sfuGet,
    facts.federation,
    facts.logout,
    ...facts.sessions.map((s) => s.signal),
  ];
  const findings = [...withheldFindings(RTC.withheld, calls), ...judgeSteps(facts)];
  if (facts.unfinished) {
    findings.push(
      emit(RTC.unfinished, 'fail', {
        detail: `The area's bound of ${(facts.timeoutMs * RTC_STEPS) / 1000} s (--timeout × ${RTC_STEPS} steps) ran out after: ${findings.map((f) => f.id).join(', ') || 'nothing'}`,
        fix: 'Run the check again with a larger --timeout; if it runs out again, the last step named is the one that hangs',
      }),
    );
  }
  return findings;
}

function judgeSteps(facts: RtcFacts): Finding[] {
  const findings = discovery(facts);
  const wanted = findings.some((f) => f.status !== 'info' && f.status !== 'skip');
  if (!wanted && facts.auth === 'none') return findings;
  const person = user(facts);
  findings.push(...person.findings);
  if (!person.ok) return findings;
  if (!facts.focus) {
    if (wanted) findings.push(skipped(emit(RTC.getToken, 'skip', { detail: 'no LiveKit focus to ask' }), RTC.wellKnown.id));
    return findings;
  }
  const fed = federation(facts);
  if (fed) findings.push(fed);
  const service = jwtService(facts, fed);
  findings.push(...service.findings);
  const tokenFailure = findings.find((f) => (f.id === RTC.getToken.id || f.id === RTC.sfuGet.id) && f.status === 'fail');
  if (!service.ok || facts.sessions.length === 0) {
    if (tokenFailure) findings.push(skipped(emit(RTC.signal, 'skip', { detail: 'no LiveKit token to connect with' }), tokenFailure.id));
    return findings;
  }
  const signal = signalFinding(facts.sessions[0]!);
  findings.push(signal);
  if (signal.status === 'pass') findings.push(...mediaFindings(facts.sessions));
  else
    for (const t of ['udp', 'tcp'])
      findings.push(skipped(emit(RTC.media, 'skip', { detail: 'no signalling, so no media path to try' }, { transport: t }), signal.id));
  findings.push(cleanup(facts));
  return findings;
}
