// Findings of the prepare area.
import { declareFindings } from '../core/catalogue.ts';

export const PREPARE = declareFindings('prepare', {});
