// Findings of the doctor area.
import { declareFindings } from '../core/catalogue.ts';

export const DOCTOR = declareFindings('doctor', {});
