// Benchmark case of the rtc area on the MatrixRTC lab (test/lab/rtc-lab.ts): the real LiveKit,
// real Synapse behind nginx, the lab stand-in of lk-jwt-service. The healthy path end to end
// (discovery, OpenID token, JWT service, federation userinfo, signalling, ICE and DTLS over UDP
// and TCP, leave), timed in-process without the lab's start, and the time from the WebRTC offer
// to the first packet through DTLS (the data channel LiveKit opened answering).
import { gatherRtc } from '../../checks/probes/rtc-gather.ts';
import { judgeRtc } from '../../checks/rules/rtc.ts';
import { readFileSync } from 'node:fs';
import { accessToken, registerUser } from '../../test/lab/servers/synapse.ts';
import { DNS_ADDRESS, ORIGIN, startRtcLab } from '../../test/lab/rtc-lab.ts';
import type { Figure } from './figure.ts';

const RUNS = 5;

export async function rtcCase(): Promise<Figure[]> {
  const lab = await startRtcLab();
  const times: number[] = [];
  const firstPacket: Record<'udp' | 'tcp', number[]> = { udp: [], tcp: [] };
  try {
    await registerUser(lab.synapse, 'bench', 'bench-password-rtc-0f3a');
    await lab.startLivekit();
    await lab.startJwt();
    const token = await accessToken(lab.synapse, 'bench', 'bench-password-rtc-0f3a');
    const input = {
      serverName: ORIGIN,
      resolvers: [{ label: lab.resolver, endpoint: { host: DNS_ADDRESS, port: lab.dns.port } }],
      timeoutMs: 5000,
      ca: readFileSync(lab.pki.caFile, 'utf8'),
      auth: { kind: 'token' as const, token },
    };
    await gatherRtc(input); // warm-up: modules compiled, TLS context built
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      const facts = await gatherRtc(input);
      const findings = judgeRtc(facts);
      times.push(performance.now() - started);
      const failed = findings.filter((f) => f.status !== 'pass').map((f) => `${f.id} (${f.detail})`);
      if (failed.length > 0) throw new Error(`the bench MatrixRTC stack should be healthy, but: ${failed.join('; ')}`);
      for (const session of facts.sessions)
        if (session.media?.firstPacketMs !== undefined) firstPacket[session.transport].push(session.media.firstPacketMs);
    }
  } finally {
    await lab.stop();
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
  const total = median(times);
  return [
    {
      name: `rtc area, healthy path end to end (UDP and TCP media, leave), median of ${RUNS}`,
      value: `${total.toFixed(0)} ms`,
      target: '< 1500 ms',
      met: total < 1500,
    },
    ...(['udp', 'tcp'] as const).map((t) => ({
      name: `  WebRTC offer to the first packet through DTLS, ${t.toUpperCase()}`,
      value: `${median(firstPacket[t]).toFixed(0)} ms`,
      target: 'printed',
      met: true,
    })),
  ];
}
