// The TLS trust store of a connection: Node's default store (its bundled roots and
// NODE_EXTRA_CA_CERTS), or with --ca-file the bundled roots plus that CA (NODE_EXTRA_CA_CERTS is
// then not added: Node 20 cannot list it). Building a context costs from a fraction of a
// millisecond to tens of milliseconds, so each is made once per process and shared.
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
