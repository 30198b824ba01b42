import { pythonStr } from './python-format.ts';
import type { SweepMetric } from './sweep-file.ts';
import type { SweepState, TrialRecord } from './sweep-state.ts';

export interface ResultsView {
  state: SweepState;
  metric: SweepMetric | undefined;
  /** Parameters that vary (constants are the same in every row and left out of tables and plots). */
  parameters: string[];
}

/** Trials best first by the sweep metric (ties and trials without a value after, in trial order). */
export function sortedTrials(view: ResultsView): TrialRecord[] {
  const { metric } = view;
  const sign = metric?.goal === 'maximize' ? -1 : 1;
  return [...view.state.trials].sort((a, b) => {
    const av = usable(a);
    const bv = usable(b);
    if (av === null && bv === null) return a.id < b.id ? -1 : 1;
    if (av === null) return 1;
    if (bv === null) return -1;
    return sign * (av - bv) || (a.id < b.id ? -1 : 1);
  });
}

/** The best trial that finished (a stopped or failed trial's model is not a complete training). */
export function bestTrial(view: ResultsView): TrialRecord | undefined {
  return sortedTrials(view).find((t) => t.status === 'finished' && t.metric !== null);
}

function usable(trial: TrialRecord): number | null {
  return trial.status === 'failed' ? null : trial.metric;
}

const CSV_FIXED = ['status', 'epochs', 'test_accuracy', 'model_uri', 'run_dir', 'log', 'error'];

/** results.csv: one row per trial in trial order, parameters as columns, RFC 4180 quoting. */
export function resultsCsv(view: ResultsView): string {
  const metricName = view.metric?.name ?? 'metric';
  const header = ['trial', ...view.parameters, metricName, ...CSV_FIXED];
  const rows = view.state.trials.map((t) => [
    t.id,
    ...view.parameters.map((p) => (p in t.params ? pythonStr(t.params[p]) : '')),
    t.metric ?? '',
    t.status + (t.stoppedBy === 'hyperband' ? ' (hyperband)' : ''),
    t.epochs,
    t.testAccuracy ?? '',
    t.modelUri ?? '',
    t.runDir ?? '',
    t.log,
    t.error ?? '',
  ]);
  return `${[header, ...rows].map((row) => row.map(csvCell).join(',')).join('\n')}\n`;
}

function csvCell(value: unknown): string {
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** results.md: the sweep in a sentence, the trials sorted best first, the best trial's bundle. */
export function resultsMarkdown(view: ResultsView, extra: { plots: string[] } = { plots: [] }): string {
  const { state, metric } = view;
  const metricName = metric?.name ?? 'metric';
  const counts = new Map<string, number>();
  for (const t of state.trials) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
  const best = bestTrial(view);
  const lines = [
    `# Sweep ${state.name} (${state.id})`,
    '',
    `${state.method} search over ${view.parameters.map((p) => `\`${p}\``).join(', ') || 'no varying parameter'} on \`${state.experimentFile}\`; ` +
      `${metric ? `${metric.goal} \`${metric.name}\`` : 'no metric'}; seed ${state.seed}. ` +
      `${state.trials.length} of ${state.trialCount} trials: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}.`,
    '',
    `| rank | trial | ${view.parameters.join(' | ')}${view.parameters.length ? ' | ' : ''}${metricName} | test accuracy | epochs | status |`,
    `|---:|---:|${view.parameters.map(() => '---:|').join('')}---:|---:|---:|---|`,
  ];
  sortedTrials(view).forEach((t, i) => {
    const status =
      t.status === 'failed'
        ? `failed ([log](${t.log}))`
        : t.status + (t.stoppedBy === 'hyperband' ? ' by hyperband' : '');
    lines.push(
      `| ${i + 1} | ${t.id} | ${view.parameters.map((p) => formatValue(t.params[p])).join(' | ')}${view.parameters.length ? ' | ' : ''}${formatValue(t.metric)} | ${formatValue(t.testAccuracy)} | ${t.epochs} | ${status} |`,
    );
  });
  lines.push('');
  if (best) {
    lines.push(
      `Best trial: **${best.id}**, ${metricName} ${formatValue(best.metric)}, with ${view.parameters.map((p) => `\`${p}=${pythonStr(best.params[p])}\``).join(', ')}.`,
    );
    lines.push(
      best.modelUri ? `Its bundle: \`${best.modelUri}\`` : 'Its bundle: none recorded in its summary.json.',
    );
  } else lines.push('No trial finished with a value of the metric.');
  if (extra.plots.length > 0) {
    lines.push('');
    for (const plot of extra.plots) lines.push(`![${plot}](${plot})`);
  }
  return `${lines.join('\n')}\n`;
}

/** Numbers at a readable precision (4 significant digits, scientific when small), text as is. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '–';
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return String(value);
    const abs = Math.abs(value);
    return abs !== 0 && (abs < 1e-3 || abs >= 1e6)
      ? value.toExponential(3)
      : String(Number(value.toPrecision(4)));
  }
  return pythonStr(value);
}
