// Findings of the turn area.
import { declareFindings } from '../core/catalogue.ts';

export const TURN = declareFindings('turn', {});
