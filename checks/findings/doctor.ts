// Findings of doctor itself: a server whose configuration could not be read, and an area that
// crashed or did not finish (the other areas' results are kept).
import { declareFindings } from '../core/catalogue.ts';

export const DOCTOR = declareFindings('doctor', {
  configUnreadable: {
    id: 'doctor.config.unreadable',
    pass: 'Configuration of this server',
    fail: 'Configuration of this server could not be read',
    about:
      'In a fleet run, the inventory entry, its host_vars vars.yml or the list line of this server could not be read or is invalid, so nothing was probed for it. The other servers are checked as usual.',
  },
  areaUnfinished: {
    id: 'doctor.{area}.unfinished',
    pass: '{area} check',
    fail: '{area} check did not finish',
    about:
      'An area did not finish within its budget (twice the probe timeout plus a second) and was abandoned, so its verdict is unknown. The other areas are unaffected. A hang is a defect of the toolkit or a very slow network: run the area alone with a longer --timeout.',
  },
  targetRefused: {
    id: 'doctor.target.refused',
    pass: 'Target may be probed',
    fail: 'Target refused: not probed',
    about:
      'The exporter probes only servers on the internet: a target that is, or resolves to, a loopback, link-local, private (RFC 1918, ULA), carrier-grade NAT or reserved address, or one of the exporter\'s own, is refused without a connection, so that whoever can reach /probe cannot make it scan the network it runs in (docs/monitoring.md "Targets"). serve --allow-private lifts this for a monitoring network of your own.',
  },
  areaCrashed: {
    id: 'doctor.{area}.crashed',
    pass: '{area} check',
    fail: '{area} check crashed',
    about:
      'An area stopped with an error instead of a verdict: a defect of the toolkit. The other areas are unaffected. Run with DEBUG=1 and report the error.',
  },
});
