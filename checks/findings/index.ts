// The finding catalogue: every finding the project can emit, declared once per area (one file
// each, beside this one). docs/findings.md is generated from it (npm run docs).
import type { FindingSpec } from '../core/catalogue.ts';
import { DNS } from './dns.ts';
import { DOCTOR } from './doctor.ts';
import { FEDERATION } from './federation.ts';
import { OUTBOUND } from './outbound.ts';
import { PREPARE } from './prepare.ts';
import { RTC } from './rtc.ts';
import { TURN } from './turn.ts';
import { WELLKNOWN } from './wellknown.ts';

export const CATALOGUE: readonly FindingSpec[] = [DNS, WELLKNOWN, FEDERATION, TURN, OUTBOUND, RTC, DOCTOR, PREPARE].flatMap((area) =>
  Object.values(area),
);
