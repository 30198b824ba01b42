import { describe, expect, it } from 'vitest';
import { bestTrial, resultsCsv, resultsMarkdown, sortedTrials } from './results.ts';
import type { SweepState, TrialRecord } from './sweep-state.ts';

const trial = (
  id: string,
  status: TrialRecord['status'],
  metric: number | null,
  lr: number,
  extra: Partial<TrialRecord> = {},
): TrialRecord => ({
  id,
  runId: `s-${id}`,
  params: { 'train.learningRate': lr, 'train.epochs': 1 },
  status,
  stoppedBy: status === 'stopped' ? 'hyperband' : null,
  exitCode: status === 'failed' ? 1 : 0,
  signal: null,
  log: `sweeps/x/s/trials/${id}/train.log`,
  runDir: null,
  metric,
  epochs: 1,
  testAccuracy: metric,
  modelUri: status === 'finished' ? `sweeps/x/s/trials/${id}/bundles/exp1/v1` : null,
  error: status === 'failed' ? 'exited with code 1; see log' : null,
  startedAt: null,
  endedAt: null,
  ...extra,
});

const state = {
  formatVersion: 1,
  id: 's',
  name: 'x',
  method: 'random',
  seed: 7,
  experimentFile: 'configs/exp1.yaml',
  trialCount: 4,
  status: 'finished',
  createdAt: '',
  updatedAt: '',
  trials: [
    trial('001', 'finished', 0.97, 0.001),
    trial('002', 'failed', null, 0.3),
    trial('003', 'stopped', 0.99, 0.01),
    trial('004', 'finished', 0.985, 0.002),
  ],
} as SweepState;
const view = {
  state,
  metric: {
    name: 'val_accuracy',
    goal: 'maximize' as const,
    impute: 'worst' as const,
    impute_while_running: 'false' as const,
  },
  parameters: ['train.learningRate'],
};

describe('sweep results', () => {
  it('rank by the metric, failed trials last; the best trial is the best that finished (a stopped run is incomplete)', () => {
    expect(sortedTrials(view).map((t) => t.id)).toEqual(['003', '004', '001', '002']);
    expect(bestTrial(view)?.id).toBe('004');
  });

  it('minimised metrics rank the other way', () => {
    const minimised = { ...view, metric: { ...view.metric, goal: 'minimize' as const } };
    expect(sortedTrials(minimised).map((t) => t.id)).toEqual(['001', '004', '003', '002']);
  });

  it('results.md: the sweep in a sentence, the ranked table, the failed trial with its log, the best bundle', () => {
    const markdown = resultsMarkdown(view, { plots: ['plots/parallel-coordinates.png'] });
    expect(markdown).toContain(
      'random search over `train.learningRate` on `configs/exp1.yaml`; maximize `val_accuracy`; seed 7. 4 of 4 trials: 2 finished, 1 failed, 1 stopped.',
    );
    expect(markdown).toContain('| 1 | 003 | 0.01 | 0.99 | 0.99 | 1 | stopped by hyperband |');
    expect(markdown).toContain(
      '| 4 | 002 | 0.3 | – | – | 1 | failed ([log](sweeps/x/s/trials/002/train.log)) |',
    );
    expect(markdown).toContain('Best trial: **004**, val_accuracy 0.985, with `train.learningRate=0.002`.');
    expect(markdown).toContain('Its bundle: `sweeps/x/s/trials/004/bundles/exp1/v1`');
    expect(markdown).toContain('![plots/parallel-coordinates.png](plots/parallel-coordinates.png)');
  });

  it('results.csv: trial order, parameters as columns, quoting where needed', () => {
    const withComma = {
      ...view,
      state: { ...state, trials: [trial('001', 'failed', null, 0.1, { error: 'bad, very "bad"' })] },
    };
    const [header, row] = resultsCsv(withComma).trim().split('\n');
    expect(header).toBe(
      'trial,train.learningRate,val_accuracy,status,epochs,test_accuracy,model_uri,run_dir,log,error',
    );
    expect(row).toBe('001,0.1,,failed,1,,,,sweeps/x/s/trials/001/train.log,"bad, very ""bad"""');
  });
});
