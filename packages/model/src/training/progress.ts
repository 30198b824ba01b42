import type { Logger } from '@tfmlops/core';
import { SingleBar } from 'cli-progress';

export interface StepStats {
  loss: number;
  imagesPerSecond: number;
  lr: number;
}

/** What the loop tells about its progress; the CLI draws a bar, tests can watch (and stop) the loop through it. */
export interface ProgressReporter {
  /** An epoch starts, `done` of its `steps` already trained (non-zero after a resume inside the epoch). */
  startEpoch(epoch: number, epochs: number, steps: number, done: number): void;
  /** A step finished: `done` steps of the epoch are trained. */
  step(done: number, stats: StepStats): void;
  /** The epoch's training pass is over (validation follows). */
  endEpoch(): void;
}

export const SILENT_PROGRESS: ProgressReporter = { startEpoch() {}, step() {}, endEpoch() {} };

/**
 * A progress bar per epoch (images/s, loss, ETA) on `stream` when it is a terminal; elsewhere nothing per step (the
 * loop logs one structured line per epoch either way, which is what machines read).
 */
export function createProgressReporter(
  options: { stream?: NodeJS.WritableStream; logger?: Logger } = {},
): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  if (!(stream as NodeJS.WriteStream).isTTY) return SILENT_PROGRESS;
  let bar: SingleBar | undefined;
  return {
    startEpoch(epoch, epochs, steps, done) {
      bar = new SingleBar({
        stream: stream as NodeJS.WritableStream & { isTTY?: boolean },
        format: `epoch ${epoch}/${epochs} [{bar}] {value}/{total} | loss {loss} | {ips} img/s | lr {lr} | ETA {eta_formatted}`,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
        fps: 5,
      });
      bar.start(steps, done, { loss: '-', ips: '-', lr: '-' });
    },
    step(done, stats) {
      bar?.update(done, {
        loss: stats.loss.toFixed(4),
        ips: Math.round(stats.imagesPerSecond),
        lr: stats.lr.toExponential(2),
      });
    },
    endEpoch() {
      bar?.stop();
      bar = undefined;
    },
  };
}
