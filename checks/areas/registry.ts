// The one registry of areas: doctor, the install stage's checks, bench and the single-area
// commands all find areas here. A new area is a module beside this file, added to AREAS.
import { InputError } from '../core/errors.ts';
import type { AnyArea } from './area.ts';
import { dnsArea } from './dns.ts';
import { federationArea } from './federation.ts';
import { outboundArea } from './outbound.ts';
import { rtcArea } from './rtc.ts';
import { turnArea } from './turn.ts';
import { wellknownArea } from './wellknown.ts';

export const AREAS: readonly AnyArea[] = [dnsArea, wellknownArea, federationArea, turnArea, outboundArea, rtcArea];

export const AREA_IDS: readonly string[] = AREAS.map((area) => area.id);

export function areaById(id: string): AnyArea {
  const area = AREAS.find((a) => a.id === id);
  if (!area) throw new InputError(`unknown area ${id} (areas: ${AREA_IDS.join(', ')})`);
  return area;
}

/** The areas --only and --skip leave (a comma-separated list each); bad names are bad input. */
export function selectAreas(only: string | undefined, skip: string | undefined, option = { only: '--only', skip: '--skip' }): string[] {
  const parse = (text: string, name: string) => {
    const names = text
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean);
    const unknown = names.filter((n) => !AREA_IDS.includes(n));
    if (unknown.length) throw new InputError(`${name}: unknown area ${unknown.join(', ')} (areas: ${AREA_IDS.join(', ')})`);
    return names;
  };
  const chosen = only ? parse(only, option.only) : [...AREA_IDS];
  const skipped = skip ? parse(skip, option.skip) : [];
  const areas = chosen.filter((a) => !skipped.includes(a));
  if (areas.length === 0) throw new InputError('no area left to run');
  return areas;
}
