// Ports for the lab's servers that are not on a fixed port (Synapse, LiveKit, Prometheus…).
import { createServer } from 'node:net';

// Below Linux's ephemeral range (net.ipv4.ip_local_port_range, 32768–60999 by default) and above
// the fixed ports the lab uses: a server restarted on the port it had must not find it taken by
// the source port of some outgoing connection in the meantime.
const FIRST = 20_000;
const COUNT = 12_000;

/** A TCP port nothing listens on at `address` (0.0.0.0: on every address). */
export async function freePort(address = '127.0.0.1'): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = FIRST + Math.floor(Math.random() * COUNT);
    if (await canListen(address, port)) return port;
  }
  throw new Error(`lab: no free TCP port on ${address} between ${FIRST} and ${FIRST + COUNT}`);
}

function canListen(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, address, () => server.close(() => resolve(true)));
  });
}
