/**
 * Worker thread of the drift monitor: holds the bundle's reference statistics and evaluates windows of live samples
 * sent to it, so the O(n²) MMD permutation test never blocks the event loop that answers requests.
 */
import { parentPort } from 'node:worker_threads';
import type { ReferenceStatistics } from '@tfmlops/model';
import { type DriftConfig, evaluateDrift, type LiveSample } from './evaluate.ts';
import type { FromDriftWorker, ToDriftWorker } from './protocol.ts';

const port = parentPort!;
let reference: ReferenceStatistics | undefined;
let config: DriftConfig | undefined;

port.on('message', (message: ToDriftWorker) => {
  try {
    if (message.type === 'init') {
      reference = message.reference;
      config = message.config;
      return;
    }
    if (!reference || !config) throw new Error('evaluate before init');
    const rows = evaluateDrift(reference, message.window as LiveSample[], config, message.seed);
    port.postMessage({ type: 'rows', id: message.id, rows } satisfies FromDriftWorker);
  } catch (error) {
    port.postMessage({
      type: 'error',
      id: 'id' in message ? message.id : -1,
      message: String(error),
    } satisfies FromDriftWorker);
  }
});
