// judgeCertificate on TLS facts built by hand, and, for the AIA path, on real certificates made
// here with openssl (a root, an intermediate signed by it, a leaf signed by the intermediate).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { judgeCertificate, type CertificateContext } from '../../checks/rules/certificate.ts';
import type { CertificateFact } from '../../checks/facts/http.ts';
import { certificate, DAY_MS, HOUR_MS, NOW, tlsFact, untrustedTls } from './fact-builders.ts';

const MX = 'matrix.example.org';
const context = (overrides: Partial<CertificateContext> = {}): CertificateContext => ({ expectedName: MX, now: NOW, ...overrides });

describe('a valid certificate', () => {
  it('has no problems, and says how many whole days are left, its SANs and issuer', () => {
    const leaf = certificate({ validTo: new Date(NOW + 30 * DAY_MS + 5 * HOUR_MS).toISOString(), sans: [`DNS:${MX}`, 'DNS:example.org'] });
    const verdict = judgeCertificate(tlsFact({ chain: [leaf] }), context());
    expect(verdict).toEqual({ problems: [], reasons: [], daysLeft: 30, sans: [`DNS:${MX}`, 'DNS:example.org'], issuer: 'R11' });
  });

  it('matches a wildcard SAN for one label', () => {
    const verdict = judgeCertificate(tlsFact({ chain: [certificate({ sans: ['DNS:*.example.org'] })] }), context());
    expect(verdict.problems).toEqual([]);
  });

  it('matches an IP SAN when the expected name is an IP (steps 1 and 3.1)', () => {
    const verdict = judgeCertificate(
      tlsFact({ chain: [certificate({ sans: ['IP Address:192.0.2.7'] })] }),
      context({ expectedName: '192.0.2.7' }),
    );
    expect(verdict.problems).toEqual([]);
  });

  it('ignores a name error Node raised for another name: the rule checks the expected name itself', () => {
    const verdict = judgeCertificate(untrustedTls('ERR_TLS_CERT_ALTNAME_INVALID'), context());
    expect(verdict.problems).toEqual([]);
  });
});

describe('the name', () => {
  it('fails a certificate for the Matrix host when the server name is expected (no delegation)', () => {
    const verdict = judgeCertificate(untrustedTls('ERR_TLS_CERT_ALTNAME_INVALID'), context({ expectedName: 'example.org' }));
    expect(verdict.problems).toEqual(['name']);
    expect(verdict.reasons).toEqual([`it is valid for DNS:${MX}, not for example.org`]);
  });

  it('fails DNS and IP SANs that do not cover the expected IP', () => {
    const leaf = certificate({ sans: [`DNS:${MX}`, 'IP Address:192.0.2.7'] });
    const verdict = judgeCertificate(tlsFact({ chain: [leaf] }), context({ expectedName: '192.0.2.8' }));
    expect(verdict.problems).toEqual(['name']);
    expect(verdict.reasons[0]).toBe(`it is valid for DNS:${MX}, IP Address:192.0.2.7, not for 192.0.2.8`);
  });

  it('does not let a DNS SAN cover an IP', () => {
    expect(
      judgeCertificate(tlsFact({ chain: [certificate({ sans: ['DNS:192.0.2.7'] })] }), context({ expectedName: '192.0.2.7' })).problems,
    ).toEqual(['name']);
  });

  it('a wildcard covers one label only: not a.b.example.org, not example.org', () => {
    const wildcard = tlsFact({ chain: [certificate({ sans: ['DNS:*.example.org'] })] });
    expect(judgeCertificate(wildcard, context({ expectedName: 'a.matrix.example.org' })).problems).toEqual(['name']);
    expect(judgeCertificate(wildcard, context({ expectedName: 'example.org' })).problems).toEqual(['name']);
  });

  it('names the subject CN in the reason when there are no SANs', () => {
    const verdict = judgeCertificate(tlsFact({ chain: [certificate({ subject: 'other.example.org', sans: [] })] }), context());
    expect(verdict.problems).toEqual(['name']);
    expect(verdict.reasons).toEqual([
      'it has no subjectAltName (only the subject other.example.org), and servers read names from subjectAltName alone',
    ]);
  });

  // Servers do not fall back to the subject CN: Synapse checks names with service_identity
  // (synapse/crypto/context_factory.py), which refuses a certificate without subjectAltName
  // (CertificateError since 24.1.0, VerificationError before) and only matches SANs; Go (Dendrite,
  // the federation tester) ignores the CN since Go 1.15. Node's checkServerIdentity still
  // matches the CN when there is no DNS SAN.
  it('does not accept a name found only in the subject CN (no SAN, or only an IP SAN)', () => {
    const cnOnly = tlsFact({ chain: [certificate({ subject: MX, sans: [] })] });
    expect(judgeCertificate(cnOnly, context()).problems).toEqual(['name']);
    const ipSanOnly = tlsFact({ chain: [certificate({ subject: MX, sans: ['IP Address:192.0.2.7'] })] });
    expect(judgeCertificate(ipSanOnly, context()).problems).toEqual(['name']);
  });
});

describe('validity dates', () => {
  it('fails an expired certificate, with the date and a negative daysLeft', () => {
    const leaf = certificate({ validFrom: '2025-10-01T00:00:00.000Z', validTo: '2026-01-10T00:00:00.000Z' });
    const verdict = judgeCertificate(untrustedTls('CERT_HAS_EXPIRED', [leaf]), context());
    expect(verdict.problems).toEqual(['expired']);
    expect(verdict.reasons).toEqual(['it expired on 2026-01-10']);
    expect(verdict.daysLeft).toBe(-6);
  });

  it('fails a certificate not yet valid (a clock problem)', () => {
    const leaf = certificate({ validFrom: '2026-02-01T00:00:00.000Z', validTo: '2026-05-01T00:00:00.000Z' });
    const verdict = judgeCertificate(untrustedTls('CERT_NOT_YET_VALID', [leaf]), context());
    expect(verdict.problems).toEqual(['not-yet-valid']);
    expect(verdict.reasons).toEqual(['it is valid only from 2026-02-01']);
  });
});

describe('the chain', () => {
  it('DEPTH_ZERO_SELF_SIGNED_CERT is self-signed', () => {
    const leaf = certificate({ issuer: MX, selfIssued: true });
    const verdict = judgeCertificate(untrustedTls('DEPTH_ZERO_SELF_SIGNED_CERT', [leaf]), context());
    expect(verdict.problems).toEqual(['self-signed']);
    expect(verdict.reasons[0]).toContain('self-signed');
  });

  it('SELF_SIGNED_CERT_IN_CHAIN is an unknown CA, named by the chain end', () => {
    const chain = [
      certificate({ issuer: 'Corp Issuing CA' }),
      certificate({ subject: 'Corp Issuing CA', issuer: 'Corp Root CA', sans: [] }),
      certificate({ subject: 'Corp Root CA', issuer: 'Corp Root CA', sans: [], selfIssued: true }),
    ];
    const verdict = judgeCertificate(untrustedTls('SELF_SIGNED_CERT_IN_CHAIN', chain), context());
    expect(verdict.problems).toEqual(['unknown-ca']);
    expect(verdict.reasons).toEqual(['its chain ends at Corp Root CA, a CA nobody trusts']);
  });

  it.each(['R11', 'E6', 'R10', 'E5'])("a lone leaf issued by Let's Encrypt %s is a missing intermediate", (issuer) => {
    const verdict = judgeCertificate(untrustedTls('UNABLE_TO_VERIFY_LEAF_SIGNATURE', [certificate({ issuer })]), context());
    expect(verdict.problems).toEqual(['missing-intermediate']);
    expect(verdict.reasons).toEqual([
      `the server sends only the leaf; its issuer ${issuer} is a Let's Encrypt intermediate the server should send along`,
    ]);
  });

  it("UNABLE_TO_GET_ISSUER_CERT_LOCALLY with a lone Let's Encrypt leaf is a missing intermediate too", () => {
    const verdict = judgeCertificate(untrustedTls('UNABLE_TO_GET_ISSUER_CERT_LOCALLY', [certificate({ issuer: 'E6' })]), context());
    expect(verdict.problems).toEqual(['missing-intermediate']);
  });

  it('a lone leaf from another issuer is an unknown CA', () => {
    const verdict = judgeCertificate(
      untrustedTls('UNABLE_TO_VERIFY_LEAF_SIGNATURE', [certificate({ issuer: 'Example Private CA' })]),
      context(),
    );
    expect(verdict.problems).toEqual(['unknown-ca']);
    expect(verdict.reasons).toEqual(['it is issued by Example Private CA, which no trusted CA vouches for']);
  });

  it("issuer names that only look like Let's Encrypt's are not taken for them", () => {
    for (const issuer of ['R', 'R123', 'Root R1 CA', 'E']) {
      expect(judgeCertificate(untrustedTls('UNABLE_TO_VERIFY_LEAF_SIGNATURE', [certificate({ issuer })]), context()).problems).toEqual([
        'unknown-ca',
      ]);
    }
  });

  it('a chain of 2 that still cannot be verified is an unknown CA, even with an R11 issuer', () => {
    const chain = [certificate({ issuer: 'R11' }), certificate({ subject: 'R11', issuer: 'Fake ISRG Root', sans: [] })];
    const verdict = judgeCertificate(untrustedTls('UNABLE_TO_VERIFY_LEAF_SIGNATURE', chain), context());
    expect(verdict.problems).toEqual(['unknown-ca']);
  });

  it("Traefik's default certificate: named as such, besides the name and self-signed problems", () => {
    const leaf = certificate({
      subject: 'TRAEFIK DEFAULT CERT',
      issuer: 'TRAEFIK DEFAULT CERT',
      sans: ['DNS:0123456789abcdef.traefik.default'],
      selfIssued: true,
    });
    const verdict = judgeCertificate(untrustedTls('DEPTH_ZERO_SELF_SIGNED_CERT', [leaf]), context());
    expect(verdict.problems).toEqual(['traefik-default', 'name', 'self-signed']);
    expect(verdict.reasons[0]).toContain("Traefik's default certificate");
  });

  it('an unexpected authorization error is reported as untrusted, with the code', () => {
    const verdict = judgeCertificate(untrustedTls('CERT_REVOKED'), context());
    expect(verdict.problems).toEqual(['untrusted']);
    expect(verdict.reasons).toEqual(['the chain does not verify (CERT_REVOKED)']);
  });

  it('no certificate at all is untrusted', () => {
    expect(judgeCertificate(untrustedTls('UNABLE_TO_VERIFY_LEAF_SIGNATURE', []), context())).toEqual({
      problems: ['untrusted'],
      reasons: ['the server sent no certificate'],
      daysLeft: 0,
      sans: [],
      issuer: '',
    });
  });
});

describe('the issuer fetched from AIA (real certificates made with openssl)', () => {
  let dir = '';
  const pem = (name: string) => readFileSync(join(dir, `${name}.pem`), 'utf8');
  const der = (name: string) => new X509Certificate(pem(name)).raw;

  function openssl(...args: string[]): void {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  }

  /** A CA certificate: self-signed when issuer is undefined, else signed by issuer. */
  function makeCa(name: string, cn: string, issuer?: string): void {
    writeFileSync(
      join(dir, `${name}.ext`),
      'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
    );
    openssl(
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${cn}`,
    );
    const signer = issuer ? ['-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`] : ['-signkey', `${name}.key`];
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      ...signer,
      '-set_serial',
      String(Date.now()),
      '-days',
      '3650',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    );
  }

  function makeLeaf(name: string, issuer: string): void {
    writeFileSync(join(dir, `${name}.ext`), `basicConstraints=CA:FALSE\nsubjectAltName=DNS:${MX}\nauthorityKeyIdentifier=keyid\n`);
    openssl(
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${MX}`,
    );
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${issuer}.pem`,
      '-CAkey',
      `${issuer}.key`,
      '-set_serial',
      '1001',
      '-days',
      '90',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    );
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'certificate-test-'));
    makeCa('root', 'Test Root CA');
    makeCa('intermediate', 'Test Intermediate CA', 'root');
    makeLeaf('leaf', 'intermediate');
    // Another intermediate under the same root, with the same name but its own key: it did not sign the leaf.
    makeCa('impostor', 'Test Intermediate CA', 'root');
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The lone leaf as the probe records it: Node could not find its issuer. */
  function loneLeaf(): CertificateFact {
    const x509 = new X509Certificate(pem('leaf'));
    return certificate({
      raw: x509.raw.toString('base64'),
      subject: MX,
      issuer: 'Test Intermediate CA',
      sans: [`DNS:${MX}`],
      validFrom: new Date(x509.validFrom).toISOString(),
      validTo: new Date(x509.validTo).toISOString(),
      caIssuers: ['http://ca.example.net/intermediate.der'],
    });
  }
  const now = () => Date.now();

  it('the generated chain is what the test means: root → intermediate → leaf', () => {
    const root = new X509Certificate(pem('root'));
    const intermediate = new X509Certificate(pem('intermediate'));
    const leaf = new X509Certificate(pem('leaf'));
    expect(leaf.checkIssued(intermediate) && leaf.verify(intermediate.publicKey)).toBe(true);
    expect(intermediate.checkIssued(root) && intermediate.verify(root.publicKey)).toBe(true);
    expect(leaf.verify(new X509Certificate(pem('impostor')).publicKey)).toBe(false);
  });

  it('an AIA issuer that signed the leaf and chains to a trusted root: missing intermediate', () => {
    const verdict = judgeCertificate(
      untrustedTls('UNABLE_TO_VERIFY_LEAF_SIGNATURE', [loneLeaf()]),
      context({ now: now(), aiaIssuerDer: der('intermediate'), extraCa: pem('root') }),
    );
    expect(verdict.problems).toEqual(['missing-intermediate']);
    expect(verdict.reasons).toEqual([
      "the server sends only the leaf; its issuer Test Intermediate CA (fetched from the certificate's AIA URL) chains to a trusted CA",
    ]);
    expect(verdict.daysLeft).toBeGreaterThanOrEqual(88);
  });

  it('finds the trusted root among several CAs in the --ca-file', () => {
    const verdict = judgeCertificate(
      untrustedTls('UNABLE_TO_GET_ISSUER_CERT_LOCALLY', [loneLeaf()]),
      context({ now: now(), aiaIssuerDer: der('intermediate'), extraCa: pem('impostor') + pem('root') }),
    );
    expect(verdict.problems).toEqual(['missing-intermediate']);
  });

  it('an AIA issuer that did not sign the leaf: unknown CA', () => {
    const verdict = judgeCertificate(
      untrustedTls('UNABLE_TO_VERIFY_LEAF_SIGNATURE', [loneLeaf()]),
      context({ now: now(), aiaIssuerDer: der('impostor'), extraCa: pem('root') }),
    );
    expect(verdict.problems).toEqual(['unknown-ca']);
    expect(verdict.reasons).toEqual(['it is issued by Test Intermediate CA, which no trusted CA vouches for']);
  });

  it('the right AIA issuer under a root nobody trusts: unknown CA', () => {
    const verdict = judgeCertificate(
      untrustedTls('UNABLE_TO_VERIFY_LEAF_SIGNATURE', [loneLeaf()]),
      context({ now: now(), aiaIssuerDer: der('intermediate') }),
    );
    expect(verdict.problems).toEqual(['unknown-ca']);
  });

  it('an AIA body that is not a certificate: unknown CA, no exception', () => {
    const verdict = judgeCertificate(
      untrustedTls('UNABLE_TO_VERIFY_LEAF_SIGNATURE', [loneLeaf()]),
      context({ now: now(), aiaIssuerDer: Buffer.from('<html>not found</html>'), extraCa: pem('root') }),
    );
    expect(verdict.problems).toEqual(['unknown-ca']);
  });
});
