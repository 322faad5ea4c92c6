// The TLS trust store of a connection: Node's bundled roots (and NODE_EXTRA_CA_CERTS), plus the
// --ca-file CA when given. Building a context costs from a fraction of a millisecond (the
// default store) to tens of milliseconds (the roots plus a CA), so each CA text gets one context
// per process, shared by every connection.
import tls from 'node:tls';

const contexts = new Map<string, tls.SecureContext>();
let defaultContext: tls.SecureContext | undefined;

export function trustContext(ca: string | undefined): tls.SecureContext {
  if (ca === undefined) return (defaultContext ??= tls.createSecureContext());
  let context = contexts.get(ca);
  if (!context) {
    context = tls.createSecureContext({ ca: [...tls.rootCertificates, ca] });
    contexts.set(ca, context);
  }
  return context;
}
