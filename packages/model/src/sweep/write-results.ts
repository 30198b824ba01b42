import { join } from 'node:path';
import type { Storage } from '@tfmlops/core';
import type { ChartSpec } from '@tfmlops/data';
import type { SweepParameter } from './distributions.ts';
import { metricVsParameterSpec, parallelCoordinatesSpec } from './plots.ts';
import { bestTrial, type ResultsView, resultsCsv, resultsMarkdown } from './results.ts';
import type { SweepMetric } from './sweep-file.ts';
import type { SweepState, TrialRecord } from './sweep-state.ts';

export const RESULTS_CSV = 'results.csv';
export const RESULTS_MD = 'results.md';
export const PLOTS_DIR = 'plots';

export interface WrittenResults {
  csv: string;
  markdown: string;
  plots: string[];
  best: TrialRecord | undefined;
}

/**
 * Writes results.csv, results.md (sorted, best trial's bundle) and the plots (metric vs each searched parameter,
 * parallel coordinates) into the sweep directory. Plots need at least one trial with a metric value.
 */
export async function writeResults(options: {
  state: SweepState;
  parameters: readonly SweepParameter[];
  metric: SweepMetric | undefined;
  dir: string;
  storage: Storage;
  renderChart: (spec: ChartSpec) => Promise<Buffer>;
}): Promise<WrittenResults> {
  const { state, metric, dir, storage } = options;
  const searched = options.parameters.filter((p) => p.spec.distribution !== 'constant');
  const view: ResultsView = { state, metric, parameters: searched.map((p) => p.name) };
  const plots: string[] = [];
  if (metric && state.trials.some((t) => t.metric !== null && t.status !== 'failed')) {
    for (const parameter of searched) {
      const file = `${PLOTS_DIR}/${metric.name}-vs-${parameter.name}.png`;
      await storage.write(
        join(dir, file),
        await options.renderChart(metricVsParameterSpec(state.trials, parameter, metric)),
        { contentType: 'image/png' },
      );
      plots.push(file);
    }
    if (searched.length > 0) {
      const file = `${PLOTS_DIR}/parallel-coordinates.png`;
      await storage.write(
        join(dir, file),
        await options.renderChart(parallelCoordinatesSpec(state.trials, searched, metric)),
        { contentType: 'image/png' },
      );
      plots.push(file);
    }
  }
  const csv = join(dir, RESULTS_CSV);
  const markdown = join(dir, RESULTS_MD);
  await storage.write(csv, resultsCsv(view));
  await storage.write(markdown, resultsMarkdown(view, { plots }));
  return { csv, markdown, plots: plots.map((p) => join(dir, p)), best: bestTrial(view) };
}
