// Findings of the wellknown area.
import { declareFindings } from '../core/catalogue.ts';

export const WELLKNOWN = declareFindings('wellknown', {});
