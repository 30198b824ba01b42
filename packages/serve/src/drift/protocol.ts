import type { ReferenceStatistics } from '@tfmlops/model';
import type { DriftConfig, DriftRow, LiveSample } from './evaluate.ts';

/** Messages between the drift monitor and its worker thread. */
export type ToDriftWorker =
  | { type: 'init'; reference: ReferenceStatistics; config: DriftConfig }
  | { type: 'evaluate'; id: number; window: LiveSample[]; seed: number };

export type FromDriftWorker =
  | { type: 'rows'; id: number; rows: DriftRow[] }
  | { type: 'error'; id: number; message: string };
