import { type LevelWithSilent, type Logger, pino } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Human-readable output; defaults to whether the destination is a TTY. */
  pretty?: boolean;
  /** Where JSON lines go; defaults to stdout. Tests pass a stream to capture them. */
  destination?: NodeJS.WritableStream;
  name?: string;
}

/** Cloud Logging reads `severity`; pino's numeric levels map onto its names. */
const CLOUD_SEVERITY: Record<string, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

/**
 * The one logger of the product. JSON with a Cloud Logging `severity` field for machines (Cloud Run, CI),
 * pino-pretty for people at a terminal. Fastify takes the same instance as its `loggerInstance`.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? process.stdout;
  const isTty = Boolean((destination as NodeJS.WriteStream).isTTY);
  const level = options.level ?? 'info';
  if (options.pretty ?? isTty) {
    const stream = pretty({
      destination,
      colorize: isTty,
      translateTime: 'HH:MM:ss.l',
      ignore: 'pid,hostname',
    });
    return pino({ level, name: options.name }, stream);
  }
  return pino(
    {
      level,
      name: options.name,
      messageKey: 'message',
      formatters: {
        level: (label, number) => ({ severity: CLOUD_SEVERITY[label] ?? 'DEFAULT', level: number }),
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
