import { exitCodeFor, formatError } from './errors.ts';

/**
 * Runs a CLI entry point: a thrown error becomes its message and hint on stderr and an exit code (2 for bad
 * configuration or usage, 1 otherwise) instead of a stack trace. Entry points stay one line:
 * `runCli(() => main(process.argv.slice(2)))`.
 */
export async function runCli(main: () => Promise<number | undefined | undefined>): Promise<void> {
  try {
    const code = await main();
    process.exitCode = typeof code === 'number' ? code : 0;
  } catch (error) {
    process.stderr.write(`${formatError(error)}\n`);
    process.exitCode = exitCodeFor(error);
  }
}
