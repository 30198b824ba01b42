import type { ChartSpec } from '@tfmlops/data';
import { type ParameterSpec, sameValue } from './distributions.ts';
import { pythonStr } from './python-format.ts';
import type { TrialRecord } from './sweep-state.ts';

const STATUS_COLOURS = { finished: '#4c78a8', stopped: '#f58518', interrupted: '#9d9d9d' } as const;
const LOG_DISTRIBUTIONS = new Set([
  'log_uniform',
  'log_uniform_values',
  'q_log_uniform',
  'q_log_uniform_values',
  'inv_log_uniform',
  'inv_log_uniform_values',
  'log_normal',
  'q_log_normal',
]);

export interface PlotParameter {
  name: string;
  spec: ParameterSpec;
}

/** Trials with a metric value (failed ones have none to plot). */
function plotted(trials: readonly TrialRecord[]): TrialRecord[] {
  return trials.filter((t) => t.metric !== null && t.status !== 'failed');
}

/**
 * The sweep metric against one parameter, a point per trial coloured by how it ended (an early-stopped trial's value
 * is its best before the stop). Log-distributed parameters get a log axis; categorical ones a band per value.
 */
export function metricVsParameterSpec(
  trials: readonly TrialRecord[],
  parameter: PlotParameter,
  metric: { name: string; goal: string },
): ChartSpec {
  // A values list is a set of choices: one band per value, even when the values are numbers (batch sizes).
  const numeric = parameter.spec.distribution !== 'categorical' && isNumeric(trials, parameter.name);
  // Choices in the order the file lists them.
  const choices =
    parameter.spec.distribution === 'categorical' ? parameter.spec.values.map((v) => pythonStr(v)) : null;
  const values = plotted(trials).map((t) => ({
    trial: t.id,
    x: numeric ? t.params[parameter.name] : pythonStr(t.params[parameter.name]),
    value: t.metric,
    status: t.status === 'stopped' ? 'stopped early' : t.status,
  }));
  return {
    title: {
      text: `${metric.name} vs ${parameter.name}`,
      subtitle: `${values.length} trials; ${metric.goal} ${metric.name}`,
      subtitleColor: '#555',
    },
    width: 420,
    height: 280,
    data: { values },
    layer: [
      {
        mark: { type: 'point', filled: true, size: 90, opacity: 0.85 },
        encoding: {
          x: numeric
            ? {
                field: 'x',
                type: 'quantitative',
                title: parameter.name,
                scale: LOG_DISTRIBUTIONS.has(parameter.spec.distribution) ? { type: 'log' } : { zero: false },
              }
            : { field: 'x', type: 'ordinal', title: parameter.name, sort: choices, axis: { labelAngle: 0 } },
          y: { field: 'value', type: 'quantitative', title: metric.name, scale: { zero: false } },
          color: {
            field: 'status',
            type: 'nominal',
            title: null,
            scale: {
              domain: ['finished', 'stopped early', 'interrupted'],
              range: Object.values(STATUS_COLOURS),
            },
          },
          tooltip: [
            { field: 'trial' },
            { field: 'x', title: parameter.name },
            { field: 'value', title: metric.name },
          ],
        },
      },
      {
        mark: { type: 'text', dx: 9, align: 'left', fontSize: 10, color: '#555' },
        encoding: {
          x: numeric
            ? {
                field: 'x',
                type: 'quantitative',
                scale: LOG_DISTRIBUTIONS.has(parameter.spec.distribution) ? { type: 'log' } : { zero: false },
              }
            : { field: 'x', type: 'ordinal', sort: null },
          y: { field: 'value', type: 'quantitative' },
          text: { field: 'trial' },
        },
      },
    ],
  } as ChartSpec;
}

/**
 * Parallel coordinates: one vertical axis per parameter and one for the metric, each scaled to its own range
 * (log10 for log-distributed parameters, value order for categorical ones), one line per trial coloured by the metric.
 * Axis ends carry the real values.
 */
export function parallelCoordinatesSpec(
  trials: readonly TrialRecord[],
  parameters: readonly PlotParameter[],
  metric: { name: string; goal: string },
): ChartSpec {
  const rows = plotted(trials);
  const axes = [...parameters.map((p) => p.name), metric.name];
  const coordinate = (name: string, value: unknown): number => {
    const parameter = parameters.find((p) => p.name === name);
    // Choices sit evenly spaced in the order the file lists them.
    if (parameter?.spec.distribution === 'categorical')
      return parameter.spec.values.findIndex((v) => sameValue(v, value));
    if (typeof value === 'number')
      return parameter && LOG_DISTRIBUTIONS.has(parameter.spec.distribution) ? Math.log10(value) : value;
    return 0;
  };
  const ranges = new Map<string, { min: number; max: number; minLabel: string; maxLabel: string }>();
  for (const name of axes) {
    const points = rows.map((t) => {
      const raw = name === metric.name ? t.metric : t.params[name];
      return {
        coordinate: coordinate(name, raw),
        label: typeof raw === 'number' ? shortNumber(raw) : pythonStr(raw),
      };
    });
    const sorted = [...points].sort((a, b) => a.coordinate - b.coordinate);
    ranges.set(name, {
      min: sorted[0]?.coordinate ?? 0,
      max: sorted.at(-1)?.coordinate ?? 1,
      minLabel: sorted[0]?.label ?? '',
      maxLabel: sorted.at(-1)?.label ?? '',
    });
  }
  const values = rows.flatMap((t) =>
    axes.map((name) => {
      const range = ranges.get(name)!;
      const raw = name === metric.name ? t.metric : t.params[name];
      const span = range.max - range.min;
      return {
        trial: t.id,
        axis: name,
        position: span === 0 ? 0.5 : (coordinate(name, raw) - range.min) / span,
        metric: t.metric,
      };
    }),
  );
  const labels = axes.flatMap((name) => {
    const range = ranges.get(name)!;
    const parameter = parameters.find((p) => p.name === name);
    if (parameter?.spec.distribution === 'categorical' && range.max > range.min) {
      // Every choice that was tried, at its tick.
      const tried = parameter.spec.values.filter((v) => rows.some((t) => sameValue(t.params[name], v)));
      return tried.map((value) => ({
        axis: name,
        position: (coordinate(name, value) - range.min) / (range.max - range.min),
        label: typeof value === 'number' ? shortNumber(value) : pythonStr(value),
      }));
    }
    return [
      { axis: name, position: 1, label: range.maxLabel },
      { axis: name, position: 0, label: range.minLabel },
    ];
  });
  const x = {
    field: 'axis',
    type: 'nominal',
    sort: axes,
    title: null,
    axis: {
      orient: 'top',
      labelAngle: 0,
      labelPadding: 12,
      domain: false,
      ticks: false,
      labelFontWeight: 'bold',
    },
  };
  return {
    title: {
      text: `Parallel coordinates: ${axes.length - 1} parameters and ${metric.name}`,
      subtitle: `${rows.length} trials; colour: ${metric.name} (${metric.goal})`,
      subtitleColor: '#555',
    },
    width: Math.max(360, 170 * axes.length),
    height: 300,
    view: { stroke: null },
    layer: [
      {
        data: { values: axes.map((axis) => ({ axis })) },
        mark: { type: 'rule', color: '#bbb' },
        encoding: { x },
      },
      {
        data: { values },
        mark: { type: 'line', strokeWidth: 2, opacity: 0.8 },
        encoding: {
          x,
          y: { field: 'position', type: 'quantitative', axis: null, scale: { domain: [0, 1] } },
          detail: { field: 'trial' },
          color: {
            field: 'metric',
            type: 'quantitative',
            title: metric.name,
            scale: { scheme: 'viridis', reverse: metric.goal === 'minimize' },
          },
        },
      },
      {
        data: { values: labels },
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 11, color: '#333' },
        encoding: {
          x,
          y: { field: 'position', type: 'quantitative', axis: null, scale: { domain: [0, 1] } },
          text: { field: 'label' },
        },
      },
    ],
  } as ChartSpec;
}

function isNumeric(trials: readonly TrialRecord[], name: string): boolean {
  return trials.every((t) => typeof t.params[name] === 'number');
}

function shortNumber(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  return abs !== 0 && abs < 1e-2 ? value.toExponential(2) : String(Number(value.toPrecision(4)));
}
