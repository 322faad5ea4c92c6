// The deployment plan: a pure description of what an MDAD configuration will run.
// Stages act on it and checks verify it, so the two can never disagree (docs/architecture.md "The plan").

export type RecordType = 'A' | 'AAAA' | 'CNAME' | 'SRV' | 'MX' | 'TXT';

export interface DnsRecordSpec {
  /** Fully qualified, lower case, no trailing dot. */
  name: string;
  type: RecordType;
  /**
   * What the record must hold. Absent for A/AAAA, which must point at the server.
   * CNAME: target FQDN; MX: "10 matrix.example.org"; SRV: "10 0 8448 matrix.example.org"; TXT: the text.
   */
  value?: string;
  /** Id of the service that needs it (see Service.id). */
  service: string;
  /** false for records that are recommended but not needed (e.g. AAAA). */
  required: boolean;
  note?: string;
}

export interface PortSpec {
  port: number;
  /** Last port of a range, inclusive. */
  endPort?: number;
  protocol: 'tcp' | 'udp';
  service: string;
  purpose: string;
}

export interface Service {
  id: string;
  title: string;
  enabled: boolean;
  /** The vars.yml variable that switches it (or "always"). */
  enabledBy: string;
}

export interface PlanIssue {
  /** The variable concerned. */
  variable: string;
  /** 'rejected': the playbook aborts on it; 'ignored': no effect today; 'invalid': fails validation. */
  kind: 'rejected' | 'ignored' | 'invalid';
  reason: string;
  fix: string;
}

export interface InventoryHost {
  /** Inventory host name, also the host_vars directory name. */
  name: string;
  address?: string;
  sshUser?: string;
  sshPort?: number;
  sshKey?: string;
  become?: boolean;
  connection?: string;
}

export interface DerivedSecrets {
  synapseMacaroonSecretKey: string;
  registrationSharedSecret: string;
  coturnStaticAuthSecret?: string;
  jitsiJibriXmppPassword?: string;
  jitsiJicofoAuthPassword?: string;
  jitsiJvbAuthPassword?: string;
}

export interface Plan {
  serverName: string;
  matrixHost: string;
  elementHost: string;
  homeserver: string;
  federationEnabled: boolean;
  /** The base domain's own A/AAAA point at this server (matrix_static_files_container_labels_base_domain_enabled). */
  baseDomainServed: boolean;
  services: Service[];
  records: DnsRecordSpec[];
  ports: PortSpec[];
  wellKnown: {
    server?: Record<string, unknown>;
    client: Record<string, unknown>;
    support?: Record<string, unknown>;
  };
  /** Never printed, logged or put in a report. */
  secrets: DerivedSecrets;
  issues: PlanIssue[];
  host?: InventoryHost;
}
