// Judging a TLS certificate as a Matrix server sees it: chain to a trusted CA, name, validity.
// Tells apart the causes people confuse (matrix-org/matrix-federation-tester#90): a missing
// intermediate, an unknown CA, a self-signed and an expired certificate, Traefik's default one.
import { X509Certificate, type KeyObject } from 'node:crypto';
import { checkServerIdentity, rootCertificates, type PeerCertificate } from 'node:tls';
import type { TlsFact } from '../facts/http.ts';

export type CertificateProblem =
  | 'name'
  | 'expired'
  | 'not-yet-valid'
  | 'self-signed'
  | 'missing-intermediate'
  | 'unknown-ca'
  | 'traefik-default'
  | 'untrusted';

export interface CertificateVerdict {
  problems: CertificateProblem[];
  /** Why, in words, per problem. */
  reasons: string[];
  daysLeft: number;
  sans: string[];
  issuer: string;
}

export interface CertificateContext {
  /** The name the certificate must be valid for. */
  expectedName: string;
  now: number;
  /** The issuer fetched from the leaf's AIA URL, DER. */
  aiaIssuerDer?: Buffer;
  /** Extra trusted CAs (PEM, several allowed), as given with --ca-file. */
  extraCa?: string;
}

const DAY_MS = 24 * 3600 * 1000;
// Let's Encrypt's intermediates (R10–R14, E5–E9 and their successors): a lone leaf issued by one
// of them is a server that does not send the intermediate.
const LETS_ENCRYPT_INTERMEDIATE = /^(R\d{1,2}|E\d{1,2}|YR\d|YE\d)$/;

export function judgeCertificate(tls: TlsFact, context: CertificateContext): CertificateVerdict {
  const leaf = tls.chain[0];
  const problems: CertificateProblem[] = [];
  const reasons: string[] = [];
  const add = (problem: CertificateProblem, reason: string) => {
    if (!problems.includes(problem)) {
      problems.push(problem);
      reasons.push(reason);
    }
  };
  if (!leaf) return { problems: ['untrusted'], reasons: ['the server sent no certificate'], daysLeft: 0, sans: [], issuer: '' };
  const daysLeft = Math.floor((Date.parse(leaf.validTo) - context.now) / DAY_MS);

  if (leaf.subject === 'TRAEFIK DEFAULT CERT') {
    add(
      'traefik-default',
      "it is Traefik's default certificate: Traefik has no certificate for this name, so Let's Encrypt issuance failed",
    );
  }
  // Names come from subjectAltName only: Synapse (service_identity) and Go ignore the subject CN,
  // so the CN is kept out of Node's check, which would fall back to it.
  const nameError = checkServerIdentity(context.expectedName, {
    subject: {},
    subjectaltname: leaf.sans.join(', '),
  } as unknown as PeerCertificate);
  if (nameError) {
    add(
      'name',
      leaf.sans.length
        ? `it is valid for ${leaf.sans.join(', ')}, not for ${context.expectedName}`
        : `it has no subjectAltName (only the subject ${leaf.subject}), and servers read names from subjectAltName alone`,
    );
  }
  if (Date.parse(leaf.validTo) <= context.now) add('expired', `it expired on ${leaf.validTo.slice(0, 10)}`);
  if (Date.parse(leaf.validFrom) > context.now) add('not-yet-valid', `it is valid only from ${leaf.validFrom.slice(0, 10)}`);

  switch (tls.authorizationError) {
    case undefined:
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      break;
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      add('self-signed', 'it is self-signed: no CA vouches for it, and servers refuse self-signed certificates');
      break;
    case 'SELF_SIGNED_CERT_IN_CHAIN':
      add('unknown-ca', `its chain ends at ${tls.chain.at(-1)?.subject}, a CA nobody trusts`);
      break;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_GET_ISSUER_CERT':
      if (tls.chain.length === 1 && issuedByTrusted(leaf.raw, context)) {
        add(
          'missing-intermediate',
          `the server sends only the leaf; its issuer ${leaf.issuer} (fetched from the certificate's AIA URL) chains to a trusted CA`,
        );
      } else if (tls.chain.length === 1 && LETS_ENCRYPT_INTERMEDIATE.test(leaf.issuer)) {
        add(
          'missing-intermediate',
          `the server sends only the leaf; its issuer ${leaf.issuer} is a Let's Encrypt intermediate the server should send along`,
        );
      } else {
        add('unknown-ca', `it is issued by ${leaf.issuer}, which no trusted CA vouches for`);
      }
      break;
    default:
      add('untrusted', `the chain does not verify (${tls.authorizationError})`);
  }
  return { problems, reasons, daysLeft, sans: leaf.sans, issuer: leaf.issuer };
}

/** The AIA issuer signed the leaf, and a trusted root (or --ca-file CA) signed the issuer. */
function issuedByTrusted(leafBase64: string, context: CertificateContext): boolean {
  if (!context.aiaIssuerDer) return false;
  try {
    const leaf = new X509Certificate(Buffer.from(leafBase64, 'base64'));
    const issuer = new X509Certificate(context.aiaIssuerDer);
    if (!leaf.checkIssued(issuer) || !leaf.verify(issuer.publicKey)) return false;
    return trustedRoots(context.extraCa).some((root) => issuer.checkIssued(root) && issuer.verify(root.publicKey as KeyObject));
  } catch {
    return false;
  }
}

function trustedRoots(extraCa: string | undefined): X509Certificate[] {
  const pems = [...rootCertificates, ...(extraCa?.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [])];
  return pems.flatMap((pem) => {
    try {
      return [new X509Certificate(pem)];
    } catch {
      return [];
    }
  });
}
