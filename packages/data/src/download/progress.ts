import type { Logger } from '@tfmlops/core';
import { SingleBar } from 'cli-progress';

/**
 * How a download shows its progress. `auto` draws a bar when the stream is a TTY and otherwise logs a line every
 * `logEveryPercent` percent; `bar` and `log` force one of the two; `off` is silent.
 */
export type ProgressMode = 'auto' | 'bar' | 'log' | 'off';

export interface ProgressOptions {
  mode?: ProgressMode;
  /** Where the bar is drawn; defaults to stderr so stdout stays clean for piped output. */
  stream?: NodeJS.WritableStream;
  /** Log-mode granularity; defaults to 10. */
  logEveryPercent?: number;
}

/** Receives byte counts from one download attempt after another (a resumed attempt starts at its offset). */
export interface ProgressReporter {
  /** A new attempt begins at byte `initial` of `total` (undefined when the server sent no length). */
  start(total: number | undefined, initial: number): void;
  advance(bytes: number): void;
  stop(): void;
}

/** Log lines for downloads of unknown length come every this many bytes. */
const LOG_EVERY_BYTES_UNKNOWN_TOTAL = 16 * 1024 * 1024;

export function createProgressReporter(
  label: string,
  logger: Logger,
  options: ProgressMode | ProgressOptions = 'auto',
): ProgressReporter {
  const settings = typeof options === 'string' ? { mode: options } : options;
  const stream = settings.stream ?? process.stderr;
  let mode = settings.mode ?? 'auto';
  if (mode === 'auto') mode = (stream as NodeJS.WriteStream).isTTY ? 'bar' : 'log';
  if (mode === 'off') return { start() {}, advance() {}, stop() {} };
  return mode === 'bar'
    ? barReporter(label, stream)
    : logReporter(label, logger, settings.logEveryPercent ?? 10);
}

/** Bytes per second since the attempt started, and seconds left at that rate. */
class Rate {
  private startedAt = Date.now();
  private startBytes = 0;

  reset(bytes: number): void {
    this.startedAt = Date.now();
    this.startBytes = bytes;
  }

  perSecond(bytes: number): number {
    const seconds = (Date.now() - this.startedAt) / 1000;
    return seconds > 0 ? (bytes - this.startBytes) / seconds : 0;
  }

  etaSeconds(bytes: number, total: number | undefined): number | undefined {
    const rate = this.perSecond(bytes);
    return total === undefined || rate <= 0 ? undefined : Math.max(0, (total - bytes) / rate);
  }
}

function barReporter(label: string, stream: NodeJS.WritableStream): ProgressReporter {
  const bar = new SingleBar({
    stream: stream as NodeJS.WritableStream & { isTTY?: boolean },
    format: `${label} [{bar}] {percentage}% | {done}/{size} | {speed}/s | ETA {eta}`,
    hideCursor: true,
    clearOnComplete: false,
    etaBuffer: 50,
  });
  const rate = new Rate();
  let running = false;
  let value = 0;
  let total: number | undefined;
  const payload = () => {
    const eta = rate.etaSeconds(value, total);
    return {
      done: formatBytes(value),
      size: total === undefined ? '?' : formatBytes(total),
      speed: formatBytes(rate.perSecond(value)),
      eta: eta === undefined ? '?' : formatDuration(eta),
    };
  };
  return {
    start(newTotal, initial) {
      total = newTotal;
      value = initial;
      rate.reset(initial);
      // An unknown size still draws: the bar stays empty but bytes and speed move.
      if (running) bar.setTotal(total ?? 0);
      else bar.start(total ?? 0, initial, payload());
      bar.update(initial, payload());
      running = true;
    },
    advance(bytes) {
      value += bytes;
      bar.update(value, payload());
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}

function logReporter(label: string, logger: Logger, everyPercent: number): ProgressReporter {
  const rate = new Rate();
  let value = 0;
  let total: number | undefined;
  let nextMark = 0;
  const markAfter = (bytes: number) => {
    if (total === undefined || total === 0) {
      return (Math.floor(bytes / LOG_EVERY_BYTES_UNKNOWN_TOTAL) + 1) * LOG_EVERY_BYTES_UNKNOWN_TOTAL;
    }
    const step = (total * everyPercent) / 100;
    return (Math.floor(bytes / step) + 1) * step;
  };
  return {
    start(newTotal, initial) {
      total = newTotal;
      value = initial;
      rate.reset(initial);
      nextMark = markAfter(initial);
    },
    advance(bytes) {
      value += bytes;
      if (value < nextMark) return;
      nextMark = markAfter(value);
      const percent = total ? Math.min(100, Math.floor((value / total) * 100)) : undefined;
      const eta = rate.etaSeconds(value, total);
      logger.info(
        {
          file: label,
          bytes: value,
          totalBytes: total,
          percent,
          bytesPerSecond: Math.round(rate.perSecond(value)),
          etaSeconds: eta === undefined ? undefined : Math.round(eta),
        },
        `downloading ${label}: ${percent === undefined ? formatBytes(value) : `${percent}%`}`,
      );
    },
    stop() {},
  };
}

/** `1536` -> `1.5 KiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
