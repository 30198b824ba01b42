import { joinUri, type Logger, type Storage } from '@tfmlops/core';
import { type ChartSpec, renderChartPng } from '@tfmlops/data';
import {
  type BundleManifest,
  histogram,
  REFERENCE_FILE,
  type ReferenceStatistics,
  readBundleManifest,
  referenceStatisticsSchema,
  resolveBundle,
  verifyBundleFiles,
} from '@tfmlops/model';
import { type PredictionRecord, predictionRecordSchema } from '../prediction-log/record.ts';
import type { DriftConfig } from './config.ts';
import { type DriftRow, evaluateDrift, type LiveSample } from './evaluate.ts';

export interface DriftReportOptions {
  /** The served bundle (directory, bundle.json or latest.json): its reference.json is the baseline. */
  bundleUri: string;
  /** Prefix of the prediction log (PREDICTION_LOG_URI): every `.jsonl` object under it is read. */
  logUri: string;
  outDir: string;
  storage: Storage;
  config: DriftConfig;
  logger?: Logger;
}

export interface DriftReport {
  bundle: { name: string; version: string; uri: string };
  log: {
    uri: string;
    objects: number;
    records: number;
    skippedLines: number;
    versions: Record<string, number>;
    from: string | null;
    to: string | null;
  };
  reference: { split: string; count: number };
  rows: DriftRow[];
  drifted: string[];
  files: string[];
}

/**
 * The offline drift report (`pnpm monitor report`): every logged prediction of the bundle's model compared with the
 * bundle's reference statistics, with the same tests the server runs live, written as report.json, report.md and
 * one PNG per feature (reference vs current distribution) plus the class distribution, like an Evidently report.
 */
export async function writeDriftReport(options: DriftReportOptions): Promise<DriftReport> {
  const { storage, outDir } = options;
  const { manifest, reference } = await readReference(options.bundleUri, storage);
  const { records, objects, skippedLines } = await readPredictionLog(options.logUri, storage, manifest.name);
  const window: LiveSample[] = records.map((record) => ({
    mean: record.image.mean,
    std: record.image.std,
    predictedIndex: record.predicted_index,
    confidence: record.confidence,
    embedding: record.embedding,
  }));
  // Offline, the "window" is the whole log; the MMD sample bound still applies (its cost is quadratic).
  const rows = evaluateDrift(reference, window, {
    ...options.config,
    windowSize: Math.max(window.length, 1),
  });
  const versions: Record<string, number> = {};
  for (const record of records) versions[record.model.version] = (versions[record.model.version] ?? 0) + 1;
  const times = records.map((record) => record.time).sort();

  const files: string[] = [];
  const png = async (name: string, spec: ChartSpec) => {
    await storage.write(joinUri(outDir, name), await renderChartPng(spec));
    files.push(name);
  };
  for (const [c, channel] of reference.pixels.entries()) {
    await png(
      `pixel-mean-c${c}.png`,
      compareSpec(
        `Per-image pixel mean, channel ${c}`,
        "mean of an image's pixels (0 black, 1 white)",
        channel.mean.histogram.edges,
        channel.mean.histogram.counts,
        window.map((s) => s.mean[c] ?? 0),
        rowFor(rows, `pixel_mean_c${c}`),
      ),
    );
    await png(
      `pixel-std-c${c}.png`,
      compareSpec(
        `Per-image pixel std, channel ${c}`,
        "standard deviation of an image's pixels (0-1 scale)",
        channel.std.histogram.edges,
        channel.std.histogram.counts,
        window.map((s) => s.std[c] ?? 0),
        rowFor(rows, `pixel_std_c${c}`),
      ),
    );
  }
  await png(
    'confidence.png',
    compareSpec(
      'Top-1 probability',
      'probability of the predicted class',
      reference.confidence.histogram.edges,
      reference.confidence.histogram.counts,
      window.map((s) => s.confidence),
      rowFor(rows, 'confidence'),
    ),
  );
  await png(
    'predicted-class.png',
    classSpec(manifest.labels, reference.predictedClass, window, rowFor(rows, 'predicted_class')),
  );

  const report: DriftReport = {
    bundle: { name: manifest.name, version: manifest.version, uri: options.bundleUri },
    log: {
      uri: options.logUri,
      objects,
      records: records.length,
      skippedLines,
      versions,
      from: times[0] ?? null,
      to: times.at(-1) ?? null,
    },
    reference: { split: reference.split, count: reference.count },
    rows,
    drifted: rows.filter((row) => row.drifted).map((row) => row.feature),
    files: [...files, 'report.json', 'report.md'],
  };
  await storage.write(joinUri(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  await storage.write(joinUri(outDir, 'report.md'), renderMarkdown(report));
  options.logger?.info(
    { out: outDir, records: records.length, drifted: report.drifted },
    'drift report written',
  );
  return report;
}

/** The bundle's reference statistics, checked against bundle.json, without loading the network. */
async function readReference(
  uri: string,
  storage: Storage,
): Promise<{ manifest: BundleManifest; reference: ReferenceStatistics }> {
  const resolved = await resolveBundle(uri, storage);
  const { manifest } = await readBundleManifest(resolved.dir, storage, resolved.pointer?.bundleSha256);
  const files = await verifyBundleFiles(
    resolved.dir,
    { ...manifest, files: manifest.files.filter((f) => f.path === REFERENCE_FILE) },
    storage,
  );
  const reference = referenceStatisticsSchema.parse(
    JSON.parse((files.get(REFERENCE_FILE) as Buffer).toString('utf8')),
  );
  return { manifest, reference };
}

/** Every record of the model under a log prefix. Lines that are not valid records are counted, not fatal. */
export async function readPredictionLog(
  uri: string,
  storage: Storage,
  modelName: string,
): Promise<{ records: PredictionRecord[]; objects: number; skippedLines: number }> {
  const entries = (await storage.list(uri)).filter((entry) => entry.relativePath.endsWith('.jsonl'));
  const records: PredictionRecord[] = [];
  let skippedLines = 0;
  for (const entry of entries) {
    for (const line of (await storage.read(entry.uri)).toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch {
        skippedLines += 1;
        continue;
      }
      const parsed = predictionRecordSchema.safeParse(json);
      if (!parsed.success) skippedLines += 1;
      else if (parsed.data.model.name === modelName) records.push(parsed.data);
    }
  }
  return { records, objects: entries.length, skippedLines };
}

function rowFor(rows: DriftRow[], feature: string): DriftRow | undefined {
  return rows.find((row) => row.feature === feature);
}

function verdict(row: DriftRow | undefined): string {
  if (!row || row.score === null) return 'not enough samples';
  const p = formatP(row.score);
  return `${row.test} p ${p.startsWith('<') ? p : `= ${p}`} (threshold ${row.threshold}): ${row.drifted ? 'DRIFT' : 'no drift'}`;
}

function formatP(p: number): string {
  // 1 - CDF underflows to 0 beyond double precision: say so rather than print a p of exactly zero.
  if (p < 1e-16) return '< 1e-16';
  return p < 1e-4 ? p.toExponential(1) : p.toFixed(4);
}

/** Reference and current distributions of one scalar feature on the reference's bins, as shares. */
function compareSpec(
  title: string,
  axisTitle: string,
  edges: number[],
  referenceCounts: number[],
  current: number[],
  row: DriftRow | undefined,
): ChartSpec {
  const currentCounts = histogram(current, edges).counts;
  const share = (counts: number[]) => {
    const total = counts.reduce((a, b) => a + b, 0) || 1;
    return counts.map((count) => count / total);
  };
  const referenceShares = share(referenceCounts);
  const currentShares = share(currentCounts);
  const values = edges.slice(0, -1).flatMap((low, bin) => [
    { low, high: edges[bin + 1], set: 'reference', share: referenceShares[bin] },
    { low, high: edges[bin + 1], set: 'current', share: currentShares[bin] },
  ]);
  return {
    title: { text: title, subtitle: verdict(row), subtitleColor: row?.drifted ? '#b2182b' : '#555' },
    width: 480,
    height: 220,
    data: { values },
    mark: { type: 'bar', opacity: 0.55, binSpacing: 0 },
    encoding: {
      x: { field: 'low', type: 'quantitative', bin: { binned: true }, title: axisTitle },
      x2: { field: 'high' },
      y: {
        field: 'share',
        type: 'quantitative',
        stack: null,
        title: 'share of images',
        axis: { format: '%' },
      },
      color: {
        field: 'set',
        type: 'nominal',
        scale: { domain: ['reference', 'current'], range: ['#4e79a7', '#e15759'] },
        title: null,
      },
    },
  };
}

function classSpec(
  labels: string[],
  referenceCounts: number[],
  window: LiveSample[],
  row: DriftRow | undefined,
): ChartSpec {
  const current = new Array<number>(labels.length).fill(0);
  for (const sample of window) current[sample.predictedIndex] = (current[sample.predictedIndex] ?? 0) + 1;
  const total = (counts: number[]) => counts.reduce((a, b) => a + b, 0) || 1;
  const values = labels.flatMap((label, k) => [
    { label, set: 'reference', share: (referenceCounts[k] ?? 0) / total(referenceCounts) },
    { label, set: 'current', share: (current[k] ?? 0) / total(current) },
  ]);
  return {
    title: {
      text: 'Predicted class',
      subtitle: verdict(row),
      subtitleColor: row?.drifted ? '#b2182b' : '#555',
    },
    width: Math.max(360, labels.length * 44),
    height: 220,
    data: { values },
    mark: 'bar',
    encoding: {
      x: {
        field: 'label',
        type: 'nominal',
        sort: labels,
        title: 'class',
        axis: { labelAngle: Math.max(...labels.map((label) => label.length)) > 4 ? -40 : 0, labelLimit: 140 },
      },
      xOffset: { field: 'set', sort: ['reference', 'current'] },
      y: { field: 'share', type: 'quantitative', title: 'share of predictions', axis: { format: '%' } },
      color: {
        field: 'set',
        type: 'nominal',
        scale: { domain: ['reference', 'current'], range: ['#4e79a7', '#e15759'] },
        title: null,
      },
    },
  };
}

function renderMarkdown(report: DriftReport): string {
  const lines = [
    `# Drift report: ${report.bundle.name}@${report.bundle.version}`,
    '',
    `Reference: ${report.reference.count} images of the ${report.reference.split} split (from the bundle). ` +
      `Current: ${report.log.records} logged predictions from ${report.log.objects} log objects under ${report.log.uri}` +
      (report.log.from ? `, ${report.log.from} to ${report.log.to}` : '') +
      (report.log.skippedLines > 0 ? `; ${report.log.skippedLines} unreadable lines skipped` : '') +
      '.',
    '',
    report.drifted.length > 0 ? `**Drift found in: ${report.drifted.join(', ')}.**` : 'No drift found.',
    '',
    '| feature | test | p-value | statistic | threshold | drift | n |',
    '|---|---|---|---|---|---|---|',
    ...report.rows.map(
      (row) =>
        `| ${row.feature} | ${row.test} | ${row.score === null ? '-' : formatP(row.score)} | ${row.statistic === null ? '-' : row.statistic.toFixed(4)} | ${row.threshold} | ${row.drifted ? 'yes' : 'no'} | ${row.n} |`,
    ),
    '',
    'Tests: two-sample Kolmogorov-Smirnov for per-image pixel mean/std and top-1 probability, chi-square goodness of fit for the predicted-class mix, MMD (RBF kernel, median heuristic, permutation p-value) for penultimate-layer embeddings; drift when p < threshold.',
    '',
    ...report.files.filter((file) => file.endsWith('.png')).map((file) => `![${file}](${file})`),
    '',
  ];
  if (Object.keys(report.log.versions).length > 1) {
    lines.splice(
      4,
      0,
      `Note: the log holds predictions of several versions: ${Object.entries(report.log.versions)
        .map(([v, n]) => `${v} (${n})`)
        .join(', ')}.`,
      '',
    );
  }
  return lines.join('\n');
}
