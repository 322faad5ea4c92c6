// The options of the install steps (install and update), light on purpose: a stage answers
// --help and bad options from them before it loads what its run needs.
import type { ParseArgsConfig } from 'node:util';
import { STAGE_OPTIONS } from './stage-start.ts';

export const INSTALL_HELP = `  --setup-all            full re-setup: also uninstalls components switched off in vars.yml
                         (setup-all instead of install-all; slower)
  -K, --ask-become-pass  ask for the sudo password of the SSH login (passed on to Ansible)
  --skip-preflight       run the playbook even when the preflight finds problems
  --resolver IP[:PORT]   DNS server for the checks (repeatable; default: the system's)
  --authoritative IP[:PORT]  ask this server as the zone's source (repeatable)
  --expect-ip IPV4[,IPV6]    the address the DNS records must point at
  --timeout SECONDS      per-probe timeout of the checks (default 5)
  --after-checks AREA,…  the check areas of the after-picture (default: all of doctor's)
  --log FILE             the full log (default inventory/logs/<stage>-<time>.log in the checkout)`;

export const INSTALL_OPTIONS = {
  ...STAGE_OPTIONS,
  'setup-all': { type: 'boolean', default: false },
  'ask-become-pass': { type: 'boolean', short: 'K', default: false },
  'skip-preflight': { type: 'boolean', default: false },
  resolver: { type: 'string', multiple: true, default: [] as string[] },
  authoritative: { type: 'string', multiple: true, default: [] as string[] },
  'expect-ip': { type: 'string' },
  timeout: { type: 'string' },
  log: { type: 'string' },
  'after-checks': { type: 'string' },
} satisfies ParseArgsConfig['options'];
