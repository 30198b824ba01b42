import { describe, expect, it } from 'vitest';
import type { ServeSample } from './measure.ts';
import { productionLines, type ServeRow } from './report.ts';

function row(id: string, rounds: Array<[rps: number, p99: number]>): ServeRow {
  return {
    id,
    label: id,
    side: 'ours',
    samples: rounds.map(
      ([requestsPerSecond, latencyP99Ms]): ServeSample => ({
        coldStartMs: 500,
        loadAverage: 0,
        load: {
          requestsPerSecond,
          latencyP50Ms: 5,
          latencyP99Ms,
          requests: requestsPerSecond * 20,
          errors: 0,
          non2xx: 0,
          rssPeakMb: 150,
          tensorsBefore: 8,
          tensorsAfter: 8,
        },
      }),
    ),
  };
}

describe('serve report: issue 11 targets', () => {
  it('computes the OIP ratio, drift p99 spread and logging cost from the rounds', () => {
    const lines = productionLines([
      row('tfjs', [
        [1000, 20],
        [1100, 24],
        [1050, 22],
      ]),
      row('tfjs-oip', [
        [980, 21],
        [1020, 23],
        [990, 22],
      ]),
      row('tfjs-drift-off', [
        [1080, 19],
        [1120, 23],
        [1090, 21],
      ]),
      row('tfjs-log', [
        [900, 25],
        [950, 26],
        [940, 25],
      ]),
    ]);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain('**0.94x** (target >= 0.90');
    expect(lines[1]).toContain('p99 22.0 (20.0-24.0) ms on vs 21.0 (19.0-23.0) ms off');
    expect(lines[1]).toContain('**within the run-to-run spread**');
    expect(lines[2]).toContain('**10.5% cost** (target < 10%)');
    expect(lines[2]).toContain('worse in every round');
  });

  it('says so when p99 with drift on is outside the spread, and leaves out what was not measured', () => {
    const lines = productionLines([
      row('tfjs', [
        [1000, 40],
        [1000, 42],
      ]),
      row('tfjs-drift-off', [
        [1000, 20],
        [1000, 22],
      ]),
    ]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('**outside the run-to-run spread**: worse in every round with it on');
  });
});
