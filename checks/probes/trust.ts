// The TLS trust store of a connection: Node's bundled roots, plus the --ca-file CA when given.
// Building it from the roots costs tens of milliseconds, so each CA text gets one context per
// process, shared by every connection.
import tls from 'node:tls';

const contexts = new Map<string, tls.SecureContext>();

/** undefined: Node's default store (no extra CA). */
export function trustContext(ca: string | undefined): tls.SecureContext | undefined {
  if (ca === undefined) return undefined;
  let context = contexts.get(ca);
  if (!context) {
    context = tls.createSecureContext({ ca: [...tls.rootCertificates, ca] });
    contexts.set(ca, context);
  }
  return context;
}
