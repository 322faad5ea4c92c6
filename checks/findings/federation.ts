// Findings of the federation area.
import { declareFindings } from '../core/catalogue.ts';

export const FEDERATION = declareFindings('federation', {});
