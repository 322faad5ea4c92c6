// A fleet of healthy homeservers on the lab, for the doctor benchmark: no Synapse, everything
// a check reads is static JSON served by one real nginx (one server block and one lab
// certificate per server, chosen by SNI), the names served by the lab's dns2 servers.
//
//   s<i>.<domain>          A <base>      nginx :443, /.well-known/matrix/{server,client,support}
//   matrix.s<i>.<domain>   A <matrix>    nginx :443 and :8448: the well-known copies,
//                                        /_matrix/client/versions, /_matrix/federation/v1/version
//                                        and /_matrix/key/v2/server, a key document signed with
//                                        the server's own ed25519 key over canonical JSON
//   element.s<i>.<domain>  CNAME matrix.s<i>.<domain>
//   ns1.s<i>.<domain>      A <nameserver> the zone's authoritative server (port 53, as glue says)
//
// Each server has its own zone, served by an authoritative dns2 server and by a dns2 "resolver".
// The addresses written in the zones may differ from where the servers listen, so that a relay
// (tools/bench/delay-relay.ts) can stand in between.
import { generateKeyPairSync, sign } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Endpoint } from '../../checks/core/net.ts';
import { canonicalJson } from '../../checks/core/canonical-json.ts';
import { createLabPki, issueCertificate } from '../../test/lab/servers/certs.ts';
import { startDnsServer, type LabRecord, type LabZone, type RunningDnsServer } from '../../sandbox/dns-server.ts';
import { newNginxPrefix, startNginx, type RunningNginx } from '../../test/lab/servers/nginx.ts';
import { LAB_DIR } from '../../test/lab/servers/provision.ts';
import { teardown } from '../../test/lab/servers/teardown.ts';

export interface FleetLabOptions {
  count: number;
  /** The servers are s1.<domain> … s<count>.<domain>. */
  domain: string;
  /** Where nginx listens: the base domains on base:443, the Matrix hosts on matrix:443 and :8448. */
  listen: { base: string; matrix: string };
  /** Where the DNS servers listen (port 0: any free port). */
  dns: { resolver: Endpoint; authoritative: Endpoint };
  /** The addresses the zones give (default: where nginx and the authoritative server listen). */
  records?: { base: string; matrix: string; nameserver: string };
}

export interface FleetLab {
  /** The server names, s1.<domain> first. */
  names: string[];
  /** The lab root CA (PEM), to trust as --ca-file does. */
  ca: string;
  caFile: string;
  /** Where the resolver and the authoritative server actually listen. */
  resolver: Endpoint;
  authoritative: Endpoint;
  nginxPid: number;
  /** A file with one server name a line, for doctor --list. */
  listFile: string;
  stop(): Promise<void>;
}

export const FLEET_KEY_ID = 'ed25519:bench';

export function serverNames(count: number, domain: string): string[] {
  return Array.from({ length: count }, (_, i) => `s${i + 1}.${domain}`);
}

function zoneOf(name: string, at: { base: string; matrix: string; nameserver: string }): LabZone {
  const records: LabRecord[] = [
    { name, type: 'SOA', value: `ns1.${name} hostmaster.${name} 2026010101 3600 600 86400 300`, ttl: 3600 },
    { name, type: 'NS', value: `ns1.${name}`, ttl: 3600 },
    { name: `ns1.${name}`, type: 'A', value: at.nameserver, ttl: 3600 },
    { name, type: 'A', value: at.base },
    { name: `matrix.${name}`, type: 'A', value: at.matrix },
    { name: `element.${name}`, type: 'CNAME', value: `matrix.${name}` },
    { name, type: 'CAA', value: '0 issue "letsencrypt.org"' },
  ];
  return { origin: name, records };
}

/** A key document as Synapse serves it, signed over its canonical JSON (spec appendix, signing JSON). */
export function signedKeyDocument(serverName: string, validForMs = 7 * 24 * 3600 * 1000): string {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const unpadded = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  const document = {
    server_name: serverName,
    valid_until_ts: Date.now() + validForMs,
    verify_keys: { [FLEET_KEY_ID]: { key: unpadded(raw) } },
    old_verify_keys: {},
  };
  const signature = unpadded(sign(null, Buffer.from(canonicalJson(document)), privateKey));
  return JSON.stringify({ ...document, signatures: { [serverName]: { [FLEET_KEY_ID]: signature } } });
}

/** The files one server serves, by URL path. */
function siteFiles(name: string): Record<string, string> {
  const matrix = `matrix.${name}`;
  return {
    '.well-known/matrix/server': JSON.stringify({ 'm.server': `${matrix}:8448` }),
    '.well-known/matrix/client': JSON.stringify({ 'm.homeserver': { base_url: `https://${matrix}` } }),
    '.well-known/matrix/support': JSON.stringify({ contacts: [{ role: 'm.role.admin', matrix_id: `@admin:${name}` }] }),
    '_matrix/client/versions': JSON.stringify({ versions: ['v1.11', 'v1.12'], unstable_features: {} }),
    '_matrix/federation/v1/version': JSON.stringify({ server: { name: 'Synapse', version: '1.140.0' } }),
    '_matrix/key/v2/server': signedKeyDocument(name),
  };
}

function serverBlock(name: string, options: FleetLabOptions, cert: { fullchain: string; key: string }, root: string): string {
  const { base, matrix } = options.listen;
  // nginx-light has no mime.types here: every file is sent with default_type.
  return `
  server {
    listen ${base}:443 ssl;
    listen ${matrix}:443 ssl;
    listen ${matrix}:8448 ssl;
    server_name ${name} matrix.${name};
    ssl_certificate ${cert.fullchain};
    ssl_certificate_key ${cert.key};
    root ${root};
    default_type application/json;
    add_header Access-Control-Allow-Origin '*' always;
    add_header Cache-Control 'max-age=14400';
    location / { try_files $uri =404; }
    # As Synapse answers an unauthenticated media request over federation.
    location ^~ /_matrix/federation/v1/media/ { return 401 '{"errcode":"M_UNAUTHORIZED","error":"Missing Authorization headers"}'; }
  }`;
}

export async function startFleetLab(options: FleetLabOptions): Promise<FleetLab> {
  mkdirSync(LAB_DIR, { recursive: true });
  const dir = mkdtempSync(join(LAB_DIR, 'bench-fleet-'));
  // nginx's workers run unprivileged and read the certificates and files from here.
  chmodSync(dir, 0o755);
  const names = serverNames(options.count, options.domain);
  const started: { nginx?: RunningNginx; dns: RunningDnsServer[] } = { dns: [] };
  const stop = () => teardown([() => started.nginx?.stop(), ...started.dns.map((d) => () => d.close())], dir);
  try {
    const pki = createLabPki(join(dir, 'pki'));
    chmodSync(pki.dir, 0o755);
    const blocks: string[] = [];
    for (const name of names) {
      const root = join(dir, 'sites', name);
      for (const [path, body] of Object.entries(siteFiles(name))) {
        mkdirSync(dirname(join(root, path)), { recursive: true });
        writeFileSync(join(root, path), body);
      }
      const cert = issueCertificate(pki, name, [name, `matrix.${name}`]);
      blocks.push(serverBlock(name, options, cert, root));
    }
    const at = options.records ?? { base: options.listen.base, matrix: options.listen.matrix, nameserver: options.dns.authoritative.host };
    const zones = names.map((name) => zoneOf(name, at));
    started.dns.push(await startDnsServer({ address: options.dns.authoritative.host, port: options.dns.authoritative.port, zones }));
    started.dns.push(
      await startDnsServer({ address: options.dns.resolver.host, port: options.dns.resolver.port, zones, role: 'resolver' }),
    );
    started.nginx = await startNginx(blocks.join('\n'), newNginxPrefix());
    const listFile = join(dir, 'servers.txt');
    writeFileSync(listFile, names.join('\n') + '\n');
    const [authoritative, resolver] = started.dns;
    return {
      names,
      ca: readFileSync(pki.caFile, 'utf8'),
      caFile: pki.caFile,
      resolver: { host: resolver.address, port: resolver.port },
      authoritative: { host: authoritative.address, port: authoritative.port },
      nginxPid: started.nginx.pid,
      listFile,
      stop,
    };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}
