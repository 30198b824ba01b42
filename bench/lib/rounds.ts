import { execFileSync } from 'node:child_process';

/** What one turn of a contender yields: a sample, or why it cannot run here (then it sits out every round). */
export type Outcome<S> = { sample: S } | { unavailable: string };

export interface Contender<S> {
  id: string;
  /** Runs one measurement, in its own child process. */
  measure(): Promise<Outcome<S>> | Outcome<S>;
}

export interface RoundsResult<S> {
  /** Samples per contender id, one per round it ran. */
  samples: Map<string, S[]>;
  /** Why a contender could not run, by id. */
  unavailable: Map<string, string>;
  /** The order the contenders took their turns in, per round. */
  order: string[][];
}

/**
 * The order of turns in round `round`: the list rotated by one place each round, so that no contender always runs
 * first (after a quiet pause) or right after the same neighbour.
 */
export function turnOrder<T>(contenders: readonly T[], round: number): T[] {
  if (contenders.length === 0) return [];
  const shift = round % contenders.length;
  return [...contenders.slice(shift), ...contenders.slice(0, shift)];
}

/**
 * Interleaved rounds: in each round every contender takes one turn (see {@link turnOrder}), so a burst of load from
 * elsewhere lands on all of them rather than on one. A contender that reports itself unavailable is not asked again.
 */
export async function runRounds<S>(
  contenders: readonly Contender<S>[],
  rounds: number,
  onTurn: (round: number, id: string) => void = () => {},
): Promise<RoundsResult<S>> {
  if (!(Number.isInteger(rounds) && rounds >= 1)) throw new RangeError(`rounds must be >= 1, got ${rounds}`);
  const samples = new Map<string, S[]>();
  const unavailable = new Map<string, string>();
  const order: string[][] = [];
  for (let round = 0; round < rounds; round += 1) {
    const turns: string[] = [];
    for (const contender of turnOrder(contenders, round)) {
      if (unavailable.has(contender.id)) continue;
      onTurn(round, contender.id);
      turns.push(contender.id);
      const outcome = await contender.measure();
      if ('unavailable' in outcome) unavailable.set(contender.id, outcome.unavailable);
      else samples.set(contender.id, [...(samples.get(contender.id) ?? []), outcome.sample]);
    }
    order.push(turns);
  }
  return { samples, unavailable, order };
}

/**
 * Runs a child process that prints JSON lines and returns the last one parsed; stderr passes through. A child that
 * fails is an error naming the command, not a missing row.
 */
export function runJsonChild<T>(command: string, args: string[], env?: NodeJS.ProcessEnv): T {
  let out: string;
  try {
    out = execFileSync(command, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      env: env ?? process.env,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const status = (error as { status?: number | null }).status;
    throw new Error(
      `benchmark child failed (exit ${status ?? 'by signal'}; its stderr is above): ${command} ${args.join(' ')}`,
    );
  }
  const line = out.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as T;
  } catch (error) {
    throw new Error(`benchmark child printed no JSON: ${command} ${args.join(' ')}: ${line.slice(0, 200)}`, {
      cause: error,
    });
  }
}
