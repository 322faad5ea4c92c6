// The services configure switches on and off, light on purpose: its --help lists them.
import { SERVICES } from '../../checks/plan/services.ts';
import type { ServiceDef } from '../../checks/plan/services.ts';

/** Catalogue rows that one boolean variable switches (not the homeserver or the proxy type). */
export const SWITCHABLE: readonly ServiceDef[] = SERVICES.filter((def) => def.enabledBy.endsWith('_enabled'));
