/**
 * Every error the product raises on purpose carries a stable `code` (for logs, exit codes and HTTP mapping),
 * a human `hint` saying how to fix it, and the underlying `cause` when there is one.
 */
export interface MlopsErrorOptions {
  hint?: string;
  cause?: unknown;
}

export class MlopsError extends Error {
  readonly code: string;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: MlopsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }
}

/** A config file, override or environment value is wrong. CLIs exit with code 2 on it. */
export class ConfigError extends MlopsError {
  constructor(message: string, options: MlopsErrorOptions = {}) {
    super('CONFIG_INVALID', message, options);
  }
}

/** A storage URI could not be read or written. */
export class StorageError extends MlopsError {
  constructor(code: `STORAGE_${string}`, message: string, options: MlopsErrorOptions = {}) {
    super(code, message, options);
  }
}

/** Input data is missing, corrupt or does not match its checksum. */
export class DataError extends MlopsError {
  constructor(code: `DATA_${string}`, message: string, options: MlopsErrorOptions = {}) {
    super(code, message, options);
  }
}

/** A TensorFlow.js backend could not be loaded or does not support what was asked. */
export class BackendError extends MlopsError {
  constructor(code: `BACKEND_${string}`, message: string, options: MlopsErrorOptions = {}) {
    super(code, message, options);
  }
}

/** A model or bundle could not be loaded. */
export class ModelLoadError extends MlopsError {
  constructor(code: `MODEL_${string}`, message: string, options: MlopsErrorOptions = {}) {
    super(code, message, options);
  }
}

/** Exit code a CLI uses for an error: 2 for bad configuration or usage, 1 for everything else. */
export function exitCodeFor(error: unknown): number {
  return error instanceof ConfigError ? 2 : 1;
}

/** Renders an error for a person at a terminal: message, hint, and the chain of causes. */
export function formatError(error: unknown): string {
  const lines: string[] = [];
  let current: unknown = error;
  let depth = 0;
  while (current !== undefined && current !== null && depth < 5) {
    const prefix = depth === 0 ? 'error' : 'caused by';
    if (current instanceof MlopsError) {
      lines.push(`${prefix} [${current.code}]: ${current.message}`);
      if (current.hint) lines.push(`  hint: ${current.hint}`);
    } else if (current instanceof Error) {
      lines.push(`${prefix}: ${current.message}`);
    } else {
      lines.push(`${prefix}: ${String(current)}`);
    }
    current = current instanceof Error ? current.cause : undefined;
    depth += 1;
  }
  return lines.join('\n');
}
