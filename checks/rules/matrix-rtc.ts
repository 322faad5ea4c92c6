// MatrixRTC rules (Element Call, Element X group calls; docs/turn.md "MatrixRTC and LiveKit"): the client
// well-known must name a LiveKit focus when the deployment runs MatrixRTC, the LiveKit JWT
// service behind it must answer (GET /sfu/get → 405: it is there and wants POST), and LiveKit's
// ICE/TCP port must accept connections. Pure: facts in, findings out.
import { emit } from '../core/catalogue.ts';
import type { Finding } from '../core/finding.ts';
import type { TurnFacts } from '../facts/turn.ts';
import { livekitServiceUrls, RERUN_ALL } from '../facts/turn-config.ts';
import { TURN } from '../findings/turn.ts';

const FOCI_KEY = 'org.matrix.msc4143.rtc_foci';

/** JSON with a space after separators, so that a report table can wrap it. */
function spacedJson(value: unknown): string {
  return JSON.stringify(value).replace(/([,:])(?=["{[\d])/g, '$1 ');
}

export function rtcFindings(facts: TurnFacts): Finding[] {
  const wk = facts.wellKnown;
  const plan = facts.plan;
  const urls = livekitServiceUrls(wk.foci);
  const findings: Finding[] = [];
  if (urls.length === 0) {
    const served =
      wk.foci === undefined ? `no ${FOCI_KEY}` : `${FOCI_KEY} without a LiveKit focus with a livekit_service_url: ${spacedJson(wk.foci)}`;
    const what = wk.json ? `${wk.url} has ${served}` : `${wk.url} is unreadable (${wk.failure ?? `status ${wk.status}`})`;
    if (plan?.rtcEnabled) {
      const expected =
        plan.expectedFoci !== undefined
          ? `"${FOCI_KEY}": ${spacedJson(plan.expectedFoci)}`
          : `"${FOCI_KEY}" (matrix_rtc_enabled: true adds it)`;
      findings.push(
        emit(TURN.rtcFoci, 'fail', {
          detail: `vars.yml enables MatrixRTC, but ${what}: Element X fails calls with MISSING_MATRIX_RTC_FOCUS (Element Web: MISSING_MATRIX_RTC_TRANSPORT)`,
          fix: `Serve the playbook's client file, which contains ${expected} as application/json (if the base domain is served elsewhere, copy it there: npx tsx checks/wellknown.ts ${facts.serverName}); then run: ${RERUN_ALL}`,
          evidence: { url: wk.url, status: wk.status, foci: wk.foci },
        }),
      );
    } else if (wk.foci !== undefined) {
      findings.push(
        emit(TURN.rtcFoci, 'fail', {
          detail: `${what}: Element X fails calls with MISSING_MATRIX_RTC_FOCUS`,
          fix: `Make it [{"type": "livekit", "livekit_service_url": "https://matrix.${facts.serverName}/livekit-jwt-service"}] (MDAD writes it with matrix_rtc_enabled: true)`,
          evidence: { url: wk.url, foci: wk.foci },
        }),
      );
    } else {
      findings.push(
        emit(TURN.rtcFoci, 'info', { detail: `${what}: MatrixRTC (Element Call) is not set up here; matrix_rtc_enabled: true sets it up` }),
      );
    }
    return findings;
  }
  findings.push(emit(TURN.rtcFoci, 'pass', { detail: `LiveKit focus: ${urls.join(', ')}`, evidence: { foci: wk.foci } }));

  facts.rtc.jwt.forEach(({ url, fact }, index) => {
    // One service: turn.rtc.jwt-service; several: turn.rtc.jwt-service-1, -2, … in their order.
    const jwt = (status: 'pass' | 'fail', emitted: { detail: string; fix?: string; evidence: Record<string, unknown> }) =>
      facts.rtc.jwt.length > 1 ? emit(TURN.rtcJwtServiceN, status, emitted, { n: index + 1 }) : emit(TURN.rtcJwtService, status, emitted);
    const evidence = { url: fact.url, status: fact.status, address: fact.address };
    if (fact.status === 405 && !fact.tlsError) {
      findings.push(jwt('pass', { detail: `GET ${fact.url} → 405: the JWT service is there and expects POST`, evidence }));
      return;
    }
    const path = new URL(url).pathname;
    let detail: string;
    let fix: string;
    if (fact.failure) {
      detail = `${fact.url}: ${fact.failure}`;
      fix = `Make ${new URL(url).host} reachable on 443 (DNS record, firewall) so clients can get LiveKit tokens`;
    } else if (fact.tlsError) {
      detail = `${fact.url}: the certificate does not verify (${fact.tlsError}); Element Call refuses it`;
      fix = `Give ${new URL(url).hostname} a valid certificate (MDAD: Traefik obtains it when the DNS record exists)`;
    } else if (fact.status === 404) {
      detail = `GET ${fact.url} → 404: nothing serves the JWT service at ${path}`;
      fix = `Route ${path} to the LiveKit JWT service (MDAD does with matrix_rtc_enabled: true; a hand-made reverse proxy needs that location), then run: ${RERUN_ALL}`;
    } else if (fact.status !== undefined && fact.status >= 500) {
      detail = `GET ${fact.url} → ${fact.status}: the reverse proxy is there but the JWT service behind it is not`;
      fix =
        'Start the JWT service: systemctl status matrix-livekit-jwt-service (journalctl -u matrix-livekit-jwt-service says why it stopped)';
    } else {
      detail = `GET ${fact.url} → ${fact.status}: lk-jwt-service answers 405 here, so something else answers`;
      fix = `Route ${path} to the LiveKit JWT service, not to another application`;
    }
    findings.push(jwt('fail', { detail: `${detail}; calls fail when clients ask it for a LiveKit token`, fix, evidence }));
  });

  const tcp = facts.rtc.tcp;
  if (tcp) {
    const evidence = { host: tcp.host, address: tcp.address, port: tcp.port };
    if (tcp.outcome?.ok) {
      findings.push(
        emit(
          TURN.rtcLivekitTcp,
          'pass',
          { detail: `${tcp.address}:${tcp.port}/tcp accepted a connection in ${tcp.outcome.elapsedMs} ms`, evidence },
          { port: tcp.port },
        ),
      );
    } else {
      const why = !tcp.address
        ? `${tcp.host} does not resolve`
        : tcp.outcome?.error === 'timeout'
          ? `no answer within ${facts.timeoutMs} ms (a firewall drops it)`
          : (tcp.outcome?.message ?? 'not tried');
      findings.push(
        emit(
          TURN.rtcLivekitTcp,
          'fail',
          {
            detail: `${tcp.host}:${tcp.port}/tcp: ${why}; clients on networks that block UDP cannot reach LiveKit`,
            fix: `Open ${tcp.port}/tcp (and 7882/udp, 3479/udp, 5350/tcp, 30000-30020/udp for LiveKit) in every firewall in front of the server; check LiveKit runs: systemctl status matrix-livekit-server`,
            evidence,
          },
          { port: tcp.port },
        ),
      );
    }
  }
  return findings;
}
