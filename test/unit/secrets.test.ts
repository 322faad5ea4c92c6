import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { ANSIBLE_UUID_NAMESPACE, deriveSecret, deriveSecrets, uuidV5 } from '../../checks/plan/secrets.ts';
import type { Service } from '../../checks/plan/types.ts';

const GENERIC = 'example-generic-secret';
const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function services(...enabled: string[]): Service[] {
  return ['homeserver', 'coturn', 'jitsi'].map((id) => ({ id, title: id, enabled: enabled.includes(id), enabledBy: `${id}_enabled` }));
}

describe('uuidV5', () => {
  it('matches RFC 9562 / Python uuid.uuid5 for the DNS namespace', () => {
    // uuid.uuid5(uuid.NAMESPACE_DNS, 'python.org')
    expect(uuidV5('python.org', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('886313e1-3b8a-5372-9b90-0c9aee199e5d');
  });

  it("uses Ansible's to_uuid namespace by default", () => {
    expect(ANSIBLE_UUID_NAMESPACE).toBe('361E6D51-FAEC-444A-9079-341386DA8E2E');
    expect(uuidV5('x')).toBe(uuidV5('x', ANSIBLE_UUID_NAMESPACE.toLowerCase()));
  });

  it('rejects a malformed namespace', () => {
    expect(() => uuidV5('x', 'not-a-uuid')).toThrow(/16 bytes/);
  });
});

describe('deriveSecret', () => {
  it('reproduces the reference vectors of docs/playbook.md "Derived secrets"', () => {
    expect(deriveSecret(GENERIC, ':coturn.sas')).toBe('116d0dcc-47ce-5047-b977-77ff05591a63');
    expect(deriveSecret(GENERIC, ':synapse.mac')).toBe('63851c08-2cc3-538b-8612-1718ba3547a3');
  });

  it('hashes the lower-case hex SHA-512 of secret + suffix', () => {
    const hex = createHash('sha512').update(`${GENERIC}:jvb`).digest('hex');
    expect(deriveSecret(GENERIC, ':jvb')).toBe(uuidV5(hex));
    expect(deriveSecret(GENERIC, ':jvb')).not.toBe(uuidV5(hex.toUpperCase()));
  });

  it('prints lower-case version-5 UUIDs and depends on both inputs', () => {
    const a = deriveSecret(GENERIC, ':jibri');
    expect(a).toMatch(UUID_V5);
    expect(deriveSecret(GENERIC, ':jicofo')).not.toBe(a);
    expect(deriveSecret('other-secret', ':jibri')).not.toBe(a);
  });

  it('handles non-ASCII secrets as UTF-8', () => {
    const hex = createHash('sha512').update(Buffer.from('большой ключ:synapse.mac', 'utf8')).digest('hex');
    expect(deriveSecret('большой ключ', ':synapse.mac')).toBe(uuidV5(hex));
  });
});

describe('deriveSecrets', () => {
  const vars = { matrix_homeserver_generic_secret_key: GENERIC };

  it('always derives the macaroon key, and the registration shared secret equals it', () => {
    const s = deriveSecrets(vars, services('homeserver'));
    expect(s.synapseMacaroonSecretKey).toBe('63851c08-2cc3-538b-8612-1718ba3547a3');
    expect(s.registrationSharedSecret).toBe(s.synapseMacaroonSecretKey);
    expect(s.coturnStaticAuthSecret).toBeUndefined();
    expect(s.jitsiJvbAuthPassword).toBeUndefined();
  });

  it('derives the coturn secret only with coturn on and the auth-secret method', () => {
    expect(deriveSecrets(vars, services('coturn')).coturnStaticAuthSecret).toBe('116d0dcc-47ce-5047-b977-77ff05591a63');
    expect(deriveSecrets({ ...vars, coturn_authentication_method: 'auth-secret' }, services('coturn')).coturnStaticAuthSecret).toBe(
      '116d0dcc-47ce-5047-b977-77ff05591a63',
    );
    expect(
      deriveSecrets({ ...vars, coturn_authentication_method: 'lt-cred-mech' }, services('coturn')).coturnStaticAuthSecret,
    ).toBeUndefined();
    expect(deriveSecrets(vars, services()).coturnStaticAuthSecret).toBeUndefined();
  });

  it('derives the three Jitsi passwords only with Jitsi on', () => {
    const s = deriveSecrets(vars, services('jitsi'));
    expect(s.jitsiJibriXmppPassword).toBe(deriveSecret(GENERIC, ':jibri'));
    expect(s.jitsiJicofoAuthPassword).toBe(deriveSecret(GENERIC, ':jicofo'));
    expect(s.jitsiJvbAuthPassword).toBe(deriveSecret(GENERIC, ':jvb'));
    expect(deriveSecrets(vars, services()).jitsiJicofoAuthPassword).toBeUndefined();
  });

  it('lets a value set in vars.yml win over the derived one, as Ansible variable precedence does', () => {
    const s = deriveSecrets(
      {
        ...vars,
        matrix_synapse_macaroon_secret_key: 'hand-made-macaroon',
        coturn_turn_static_auth_secret: 'hand-made-turn',
        jitsi_jvb_auth_password: 'hand-made-jvb',
      },
      services('coturn', 'jitsi'),
    );
    expect(s.synapseMacaroonSecretKey).toBe('hand-made-macaroon');
    expect(s.registrationSharedSecret).toBe('hand-made-macaroon');
    expect(s.coturnStaticAuthSecret).toBe('hand-made-turn');
    expect(s.jitsiJvbAuthPassword).toBe('hand-made-jvb');
    expect(s.jitsiJibriXmppPassword).toBe(deriveSecret(GENERIC, ':jibri'));
  });

  it('honours an explicit registration shared secret', () => {
    const s = deriveSecrets({ ...vars, matrix_synapse_registration_shared_secret: 'shared' }, services());
    expect(s.registrationSharedSecret).toBe('shared');
    expect(s.synapseMacaroonSecretKey).toBe(deriveSecret(GENERIC, ':synapse.mac'));
  });

  it('reports unknown secrets as empty when the generic secret is missing, empty or vaulted', () => {
    for (const generic of [undefined, '', { vaulted: true }]) {
      const s = deriveSecrets({ matrix_homeserver_generic_secret_key: generic }, services('coturn', 'jitsi'));
      expect(s.synapseMacaroonSecretKey).toBe('');
      expect(s.registrationSharedSecret).toBe('');
      expect(s.coturnStaticAuthSecret).toBeUndefined();
      expect(s.jitsiJvbAuthPassword).toBeUndefined();
    }
  });

  it('resolves a generic secret written as a reference to another variable', () => {
    const s = deriveSecrets(
      { matrix_homeserver_generic_secret_key: '{{ matrix_synapse_macaroon_secret_key }}', matrix_synapse_macaroon_secret_key: GENERIC },
      services('coturn'),
    );
    expect(s.coturnStaticAuthSecret).toBe('116d0dcc-47ce-5047-b977-77ff05591a63');
  });
});
