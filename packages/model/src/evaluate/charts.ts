import type { ChartSpec } from '@tfmlops/data';
import type { EpochRow } from '../tracking/types.ts';
import type { Evaluation } from './types.ts';

const percent = (value: number, digits = 2) => `${(value * 100).toFixed(digits)}%`;
const thousands = (value: number) => value.toLocaleString('en-US');

/** Above this many classes the cells are too small for their counts; colour alone carries the matrix. */
const MAX_CLASSES_WITH_COUNTS = 30;

/**
 * Confusion matrix as a heatmap: rows are true classes, columns predicted ones, each cell shows its count and is
 * coloured by its share of the row (the class's recall on the diagonal), so rare classes read as clearly as common
 * ones.
 */
export function confusionMatrixSpec(evaluation: Evaluation, split = 'test'): ChartSpec {
  const { classNames, confusionMatrix } = evaluation;
  const k = classNames.length;
  const cell = Math.max(12, Math.min(52, Math.floor(560 / k)));
  const longest = Math.max(...classNames.map((name) => name.length));
  const values = confusionMatrix.flatMap((row, t) => {
    const total = row.reduce((sum, n) => sum + n, 0);
    return row.map((count, p) => ({
      actual: classNames[t],
      predicted: classNames[p],
      count,
      share: total === 0 ? 0 : count / total,
    }));
  });
  const showCounts = k <= MAX_CLASSES_WITH_COUNTS;
  const maxCount = Math.max(...values.map((v) => v.count));
  const countFontSize = Math.max(
    8,
    Math.min(13, Math.floor(cell / Math.max(3, String(maxCount).length + 0.6))),
  );
  const axisBase = {
    labelFontSize: k > 40 ? 9 : 12,
    labelLimit: 160,
    titleFontSize: 13,
    ticks: false,
    domain: false,
  };
  return {
    title: {
      text: `Confusion matrix, ${split} split`,
      subtitle: [
        `${thousands(evaluation.examples)} examples, accuracy ${percent(evaluation.accuracy)}`,
        'rows: true class; columns: predicted class; colour: share of the row',
        ...(k > MAX_CLASSES_WITH_COUNTS
          ? ['(too many classes to print counts: see confusionMatrix in evaluation.json)']
          : []),
      ],
      subtitleFontSize: 12,
      subtitleColor: '#555',
    },
    width: cell * k,
    height: cell * k,
    data: { values },
    encoding: {
      x: {
        field: 'predicted',
        type: 'ordinal',
        sort: classNames,
        title: 'predicted class',
        axis: { ...axisBase, orient: 'bottom', labelAngle: longest * 7 > cell ? -45 : 0 },
      },
      y: { field: 'actual', type: 'ordinal', sort: classNames, title: 'true class', axis: axisBase },
    },
    layer: [
      {
        mark: { type: 'rect', stroke: '#e0e0e0', strokeWidth: k > 40 ? 0 : 0.5 },
        encoding: {
          color: {
            field: 'share',
            type: 'quantitative',
            // sqrt: a 2% confusion still shows a tint; zero stays white.
            scale: { type: 'sqrt', domain: [0, 1], range: ['#ffffff', '#08519c'], interpolate: 'rgb' },
            legend: {
              title: 'share of row',
              format: '.0%',
              gradientLength: Math.max(120, Math.min(300, cell * k)),
            },
          },
        },
      },
      ...(showCounts
        ? [
            {
              transform: [{ filter: 'datum.count > 0' }],
              mark: { type: 'text' as const, fontSize: countFontSize, baseline: 'middle' as const },
              encoding: {
                text: { field: 'count', type: 'quantitative' as const, format: ',d' },
                color: {
                  condition: { test: 'datum.share > 0.5', value: '#ffffff' },
                  value: '#1a1a1a',
                },
              },
            },
          ]
        : []),
    ],
  } as ChartSpec;
}

/**
 * Reliability diagram: per confidence bin, the accuracy (bars), its gap to the bin's mean confidence (red), the
 * diagonal of perfect calibration, and below it how many examples fell in each bin (the numbers on the bars).
 */
export function reliabilitySpec(evaluation: Evaluation, split = 'test'): ChartSpec {
  const { calibration } = evaluation;
  const filled = calibration.reliability.filter((bin) => bin.count > 0);
  const bars = filled.map((bin) => ({
    lower: bin.lower,
    upper: bin.upper,
    accuracy: bin.accuracy,
    confidence: bin.confidence,
    count: bin.count,
  }));
  const series = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: {
      domain: ['accuracy', 'gap to mean confidence'],
      range: ['#4c78a8', '#e45756'],
    },
    legend: { orient: 'top-left', fillColor: '#ffffffdd', padding: 6, labelFontSize: 12, labelLimit: 400 },
  } as const;
  const x = {
    field: 'lower',
    type: 'quantitative',
    scale: { domain: [0, 1] },
    axis: { format: '.0%', tickCount: 10, title: 'confidence (max softmax probability)' },
  } as const;
  const width = 480;
  return {
    title: {
      text: `Reliability diagram, ${split} split`,
      // The diagonal is named here, not in the legend: a legend shows every series as a square swatch.
      subtitle: [
        `ECE ${percent(calibration.ece)}, MCE ${percent(calibration.mce)} over ${calibration.bins} equal-width bins; ${thousands(evaluation.examples)} examples`,
        'dashed line: perfect calibration',
      ],
      subtitleFontSize: 12,
      subtitleColor: '#555',
    },
    vconcat: [
      {
        width,
        height: 320,
        layer: [
          {
            data: { values: bars.map((bar) => ({ ...bar, series: 'accuracy' })) },
            mark: { type: 'rect', stroke: '#ffffff', strokeWidth: 1 },
            encoding: {
              x: { ...x, axis: { ...x.axis, title: null } },
              x2: { field: 'upper' },
              y: {
                field: 'accuracy',
                type: 'quantitative',
                scale: { domain: [0, 1] },
                axis: { format: '.0%', title: 'accuracy in bin' },
              },
              y2: { datum: 0 },
              color: series,
            },
          },
          {
            data: { values: bars.map((bar) => ({ ...bar, series: 'gap to mean confidence' })) },
            mark: { type: 'rect', opacity: 0.4, stroke: '#c0392b', strokeWidth: 1.5, strokeOpacity: 0.9 },
            encoding: {
              x,
              x2: { field: 'upper' },
              y: { field: 'accuracy', type: 'quantitative' },
              y2: { field: 'confidence' },
              color: series,
            },
          },
          {
            data: {
              values: [
                { lower: 0, y: 0 },
                { lower: 1, y: 1 },
              ],
            },
            mark: { type: 'line', strokeDash: [6, 4], strokeWidth: 1.5, color: '#777777' },
            encoding: { x, y: { field: 'y', type: 'quantitative' } },
          },
        ],
      },
      {
        width,
        height: 110,
        data: { values: bars },
        layer: [
          {
            mark: { type: 'rect', color: '#9ecae9', stroke: '#ffffff', strokeWidth: 1 },
            encoding: {
              x,
              x2: { field: 'upper' },
              y: {
                field: 'count',
                type: 'quantitative',
                axis: { title: 'examples', tickCount: 3, format: ',d' },
                scale: { domainMax: Math.max(1, ...bars.map((bar) => bar.count)) * 1.3 },
              },
              y2: { datum: 0 },
            },
          },
          {
            transform: [{ calculate: '(datum.lower + datum.upper) / 2', as: 'middle' }],
            mark: { type: 'text', dy: -7, fontSize: calibration.bins > 20 ? 8 : 10, color: '#333' },
            encoding: {
              x: { field: 'middle', type: 'quantitative' },
              y: { field: 'count', type: 'quantitative' },
              text: { field: 'count', type: 'quantitative', format: ',d' },
            },
          },
        ],
      },
    ],
    resolve: { scale: { color: 'independent' } },
  } as ChartSpec;
}

/**
 * Training curves from metrics.jsonl rows: loss and accuracy per epoch, train and validation side by side. A metric
 * missing from every row is left out rather than drawn as zero.
 */
export function curvesSpec(rows: readonly EpochRow[], title = 'Training curves'): ChartSpec {
  const points = (metric: 'loss' | 'accuracy') =>
    rows.flatMap((row) =>
      (
        [
          ['train', metric === 'loss' ? row.loss : row.accuracy],
          ['validation', metric === 'loss' ? row.val_loss : row.val_accuracy],
        ] as const
      )
        .filter(([, value]) => typeof value === 'number' && Number.isFinite(value))
        .map(([split, value]) => ({ epoch: row.epoch, split, value })),
    );
  const maxEpoch = Math.max(1, ...rows.map((row) => row.epoch));
  const panel = (metric: 'loss' | 'accuracy') => ({
    width: 340,
    height: 240,
    title: { text: metric === 'loss' ? 'loss (cross-entropy)' : 'accuracy', fontSize: 13 },
    data: { values: points(metric) },
    mark: { type: 'line', point: { size: 40 }, strokeWidth: 2 },
    encoding: {
      x: {
        field: 'epoch',
        type: 'quantitative',
        scale: { domain: [Math.min(1, ...rows.map((row) => row.epoch)), maxEpoch], nice: false },
        axis: { tickMinStep: 1, format: 'd', title: 'epoch' },
      },
      y: {
        field: 'value',
        type: 'quantitative',
        scale: { zero: false },
        axis: metric === 'loss' ? { title: 'loss' } : { format: '.1%', title: 'accuracy' },
      },
      color: {
        field: 'split',
        type: 'nominal',
        title: null,
        scale: { domain: ['train', 'validation'], range: ['#4c78a8', '#f58518'] },
      },
    },
  });
  return {
    title: {
      text: title,
      subtitle: `${rows.length} epoch${rows.length === 1 ? '' : 's'}`,
      subtitleColor: '#555',
    },
    hconcat: [panel('loss'), panel('accuracy')],
    resolve: { scale: { y: 'independent' } },
  } as ChartSpec;
}
