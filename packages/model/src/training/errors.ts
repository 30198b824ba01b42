import { MlopsError } from '@tfmlops/core';

export type StopSignal = 'SIGINT' | 'SIGTERM';

/** Exit codes of a process ended by a signal (128 + its number), as shells report them. */
export const SIGNAL_EXIT_CODES: Record<StopSignal, number> = { SIGINT: 130, SIGTERM: 143 };

/** Training stopped on request (Ctrl-C, SIGTERM) after saving a checkpoint; `--resume` continues it. */
export class TrainingInterruptedError extends MlopsError {
  constructor(
    readonly signal: StopSignal,
    message: string,
    options: { hint?: string } = {},
  ) {
    super('TRAIN_INTERRUPTED', message, options);
  }

  get exitCode(): number {
    return SIGNAL_EXIT_CODES[this.signal];
  }
}

/** The loss became NaN or infinite: the weights are no longer usable, so nothing is saved from this point. */
export class TrainingDivergedError extends MlopsError {
  constructor(message: string, options: { hint?: string } = {}) {
    super('TRAIN_DIVERGED', message, options);
  }
}
