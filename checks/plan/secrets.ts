// Secrets MDAD derives from matrix_homeserver_generic_secret_key (docs/playbook.md "Derived secrets").
// The pattern in group_vars/matrix_servers is
//   (generic + SUFFIX) | hash('sha512') | to_uuid
// where to_uuid is Ansible's UUIDv5 in its own fixed namespace.

import { createHash } from 'node:crypto';
import type { DerivedSecrets, Service } from './types.ts';
import { readVars } from './services.ts';

/** Variables whose values are secrets, by the names MDAD gives them. */
export const SECRET_VARIABLE = /(secret|password|_key|token|encryption)$/;

/** Ansible's to_uuid namespace (ansible/plugins/filter/core.py). */
export const ANSIBLE_UUID_NAMESPACE = '361E6D51-FAEC-444A-9079-341386DA8E2E';

/** UUIDv5 (RFC 9562 §5.5): SHA-1 over namespace bytes + name, version and variant bits set. */
export function uuidV5(name: string, namespace: string = ANSIBLE_UUID_NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (ns.length !== 16) throw new Error('UUID namespace must be 16 bytes');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** to_uuid(sha512_hex(genericSecret + suffix)), e.g. suffix ':coturn.sas'. */
export function deriveSecret(genericSecret: string, suffix: string): string {
  const digest = createHash('sha512')
    .update(genericSecret + suffix, 'utf8')
    .digest('hex');
  return uuidV5(digest);
}

/**
 * The derived secrets the playbook would use for this configuration. A value set by hand in
 * vars.yml wins over the derived one (host vars override group_vars), as it does in Ansible.
 * Without a usable generic secret (missing, empty or vault-encrypted) the derived values are
 * unknown and reported as '' (required fields) or left out (optional ones).
 */
export function deriveSecrets(vars: Record<string, unknown>, services: readonly Service[]): DerivedSecrets {
  const v = readVars(vars);
  const generic = v.str('matrix_homeserver_generic_secret_key');
  const derive = (variable: string, suffix: string): string => v.str(variable) || (generic ? deriveSecret(generic, suffix) : '');
  const enabled = (id: string): boolean => services.some((s) => s.id === id && s.enabled);

  const macaroon = derive('matrix_synapse_macaroon_secret_key', ':synapse.mac');
  const secrets: DerivedSecrets = {
    synapseMacaroonSecretKey: macaroon,
    // matrix-synapse role default: the registration shared secret is the macaroon key.
    registrationSharedSecret: v.str('matrix_synapse_registration_shared_secret') || macaroon,
  };
  const coturnMethod = v.str('coturn_authentication_method') || 'auth-secret';
  if (enabled('coturn') && coturnMethod === 'auth-secret') {
    const sas = derive('coturn_turn_static_auth_secret', ':coturn.sas');
    if (sas) secrets.coturnStaticAuthSecret = sas;
  }
  if (enabled('jitsi')) {
    const jibri = derive('jitsi_jibri_xmpp_password', ':jibri');
    const jicofo = derive('jitsi_jicofo_auth_password', ':jicofo');
    const jvb = derive('jitsi_jvb_auth_password', ':jvb');
    if (jibri) secrets.jitsiJibriXmppPassword = jibri;
    if (jicofo) secrets.jitsiJicofoAuthPassword = jicofo;
    if (jvb) secrets.jitsiJvbAuthPassword = jvb;
  }
  return secrets;
}
