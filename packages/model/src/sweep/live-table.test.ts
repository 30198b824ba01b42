import { describe, expect, it } from 'vitest';
import { createRedrawer, renderTable } from './live-table.ts';
import type { SweepState, TrialRecord } from './sweep-state.ts';

const trial = (
  id: string,
  status: TrialRecord['status'],
  metric: number | null,
  lr: number,
): TrialRecord => ({
  id,
  runId: `s-${id}`,
  params: { 'train.learningRate': lr },
  status,
  stoppedBy: status === 'stopped' ? 'hyperband' : null,
  exitCode: null,
  signal: null,
  log: `sweeps/x/s/trials/${id}/train.log`,
  runDir: null,
  metric,
  epochs: 2,
  testAccuracy: null,
  modelUri: null,
  error: null,
  startedAt: null,
  endedAt: null,
});

describe('the live table', () => {
  it('shows each trial with its parameters, epochs, metric and status, and the best finished value in the header', () => {
    const state = {
      id: 's',
      name: 'x',
      method: 'random',
      trialCount: 4,
      trials: [
        trial('001', 'finished', 0.91, 0.001),
        trial('002', 'running', 0.95, 0.01),
        trial('003', 'failed', null, 0.1),
        trial('004', 'stopped', 0.5, 0.0001),
      ],
    } as SweepState;
    const lines = renderTable(state, ['train.learningRate'], { name: 'val_accuracy', goal: 'maximize' });
    expect(lines[0]).toBe('sweep x/s · random · 3/4 trials done · 1 running · best val_accuracy 0.91');
    expect(lines[1]).toBe('trial  learningRate  epoch  val_accuracy  status');
    expect(lines[3]).toBe('002    0.01          2      0.95          running');
    expect(lines[4]).toContain('failed: sweeps/x/s/trials/003/train.log');
    expect(lines[5]).toContain('stopped (hyperband)');
  });

  it('keeps to the terminal height: the latest trials under a count of the earlier ones', () => {
    const state = {
      id: 's',
      name: 'x',
      method: 'grid',
      trialCount: 9,
      trials: Array.from({ length: 9 }, (_, i) =>
        trial(String(i + 1).padStart(3, '0'), 'finished', 0.5, 0.1),
      ),
    } as SweepState;
    const lines = renderTable(state, ['train.learningRate'], undefined, 120, 6);
    expect(lines).toHaveLength(6);
    expect(lines[2]).toBe('… 6 earlier trials (all in state.json and, at the end, results.md)');
    expect(lines[5]).toMatch(/^009 /);
  });

  it('redraws in place: the cursor goes back up over the previous lines', () => {
    const out: string[] = [];
    const redraw = createRedrawer((text) => out.push(text));
    redraw(['a', 'b']);
    redraw(['c']);
    expect(out).toEqual(['\x1b[0Ja\nb\n', '\x1b[2F\x1b[0Jc\n']);
  });
});
