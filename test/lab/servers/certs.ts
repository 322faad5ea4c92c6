// The lab's certificates, made with openssl: a root CA (trusted through --ca-file), an
// intermediate that signs the leaves, and the broken variants people meet: wrong name, expired,
// self-signed, served without the intermediate, issued by a CA nobody trusts.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';

export interface LabPki {
  dir: string;
  /** The root CA certificate (PEM path): what tests pass as --ca-file. */
  caFile: string;
  intermediateCert: string;
  /** The intermediate in DER, as an AIA "CA Issuers" URL serves it. */
  intermediateDer: string;
  intermediateKey: string;
  /** A root nobody trusts, for "unknown CA". */
  strangerCaCert: string;
  strangerCaKey: string;
}

export interface LabCertificate {
  /** Leaf followed by the intermediate (what a server should serve). */
  fullchain: string;
  /** The leaf alone (the classic missing-intermediate mistake). */
  leaf: string;
  key: string;
}

export type CertificateKind = 'good' | 'expired' | 'self-signed' | 'unknown-ca';

function openssl(args: string[], cwd: string): void {
  const result = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
}

function newKey(path: string, cwd: string): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', path], cwd);
}

function selfSignedCa(dir: string, name: string, subject: string): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  newKey(key, dir);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      key,
      '-out',
      cert,
      '-days',
      '3650',
      '-subj',
      subject,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return { cert, key };
}

/** Creates the lab's CAs in dir (idempotent per dir: call once per test run). */
export function createLabPki(dir: string): LabPki {
  mkdirSync(dir, { recursive: true });
  const root = selfSignedCa(dir, 'root-ca', '/CN=Matrix Toolkit Lab Root CA');
  const stranger = selfSignedCa(dir, 'stranger-ca', '/CN=Nobody Trusts This CA');
  const intermediateKey = join(dir, 'intermediate.key');
  const intermediateCsr = join(dir, 'intermediate.csr');
  const intermediateCert = join(dir, 'intermediate.crt');
  newKey(intermediateKey, dir);
  openssl(['req', '-new', '-key', intermediateKey, '-out', intermediateCsr, '-subj', '/CN=Matrix Toolkit Lab Intermediate CA'], dir);
  const ext = join(dir, 'intermediate.ext');
  writeFileSync(ext, 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n');
  openssl(
    [
      'x509',
      '-req',
      '-in',
      intermediateCsr,
      '-CA',
      root.cert,
      '-CAkey',
      root.key,
      '-CAcreateserial',
      '-out',
      intermediateCert,
      '-days',
      '3650',
      '-extfile',
      ext,
    ],
    dir,
  );
  const intermediateDer = join(dir, 'intermediate.der');
  openssl(['x509', '-in', intermediateCert, '-outform', 'DER', '-out', intermediateDer], dir);
  return {
    dir,
    caFile: root.cert,
    intermediateCert,
    intermediateDer,
    intermediateKey,
    strangerCaCert: stranger.cert,
    strangerCaKey: stranger.key,
  };
}

function sanLine(names: string[]): string {
  return `subjectAltName=${names.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',')}`;
}

/**
 * Issues a leaf for the names (DNS names or IP addresses) under a file-name prefix.
 * 'expired' was valid for one day in 2024; it is signed by the lab intermediate like 'good'.
 */
export function issueCertificate(
  pki: LabPki,
  prefix: string,
  names: string[],
  kind: CertificateKind = 'good',
  options: { caIssuersUrl?: string } = {},
): LabCertificate {
  const dir = pki.dir;
  const key = join(dir, `${prefix}.key`);
  const csr = join(dir, `${prefix}.csr`);
  const leaf = join(dir, `${prefix}.crt`);
  const fullchain = join(dir, `${prefix}.fullchain.crt`);
  const ext = join(dir, `${prefix}.ext`);
  newKey(key, dir);
  // "CA Issuers" in Authority Information Access tells where the issuer can be fetched (RFC 5280 §4.2.2.1).
  const aia = options.caIssuersUrl ? `authorityInfoAccess=caIssuers;URI:${options.caIssuersUrl}\n` : '';
  writeFileSync(
    ext,
    `${sanLine(names)}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n${aia}`,
  );
  const subject = `/CN=${names[0]}`;
  if (kind === 'self-signed') {
    openssl(['req', '-x509', '-new', '-key', key, '-out', leaf, '-days', '365', '-subj', subject, '-addext', sanLine(names)], dir);
    writeFileSync(fullchain, readFileSync(leaf));
    return { fullchain, leaf, key };
  }
  openssl(['req', '-new', '-key', key, '-out', csr, '-subj', subject], dir);
  if (kind === 'expired') {
    signBackdated(pki, prefix, csr, ext, leaf);
  } else {
    const [caCert, caKey] = kind === 'unknown-ca' ? [pki.strangerCaCert, pki.strangerCaKey] : [pki.intermediateCert, pki.intermediateKey];
    openssl(
      ['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-out', leaf, '-days', '365', '-extfile', ext],
      dir,
    );
  }
  const chain = kind === 'unknown-ca' ? '' : readFileSync(pki.intermediateCert, 'utf8');
  writeFileSync(fullchain, readFileSync(leaf, 'utf8') + chain);
  return { fullchain, leaf, key };
}

// `openssl x509 -req` cannot back-date, `openssl ca` can (docs/lab.md "Certificates").
function signBackdated(pki: LabPki, prefix: string, csr: string, ext: string, out: string): void {
  const dir = join(pki.dir, `${prefix}-ca`);
  mkdirSync(join(dir, 'new'), { recursive: true });
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  const config = join(dir, 'ca.cnf');
  writeFileSync(
    config,
    [
      '[ca]',
      'default_ca = lab',
      '[lab]',
      `dir = ${dir}`,
      'database = $dir/index.txt',
      'new_certs_dir = $dir/new',
      'serial = $dir/serial',
      `certificate = ${pki.intermediateCert}`,
      `private_key = ${pki.intermediateKey}`,
      'default_md = sha256',
      'policy = any',
      'unique_subject = no',
      'copy_extensions = none',
      '[any]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  openssl(
    [
      'ca',
      '-batch',
      '-config',
      config,
      '-in',
      csr,
      '-out',
      out,
      '-notext',
      '-startdate',
      '20240101000000Z',
      '-enddate',
      '20240102000000Z',
      '-extfile',
      ext,
    ],
    pki.dir,
  );
}
