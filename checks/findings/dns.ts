// Findings of the dns area.
import { declareFindings } from '../core/catalogue.ts';

export const DNS = declareFindings('dns', {});
