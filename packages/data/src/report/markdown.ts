import { SPLITS } from '../format/manifest.ts';
import type { DataReport } from './report-types.ts';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const fixed = (values: number[]) => (values.length === 0 ? '-' : values.map((v) => v.toFixed(4)).join(', '));

/** report.md: the same facts as report.json, for a person. */
export function renderMarkdown(report: DataReport): string {
  const { dataset, counts, duplicates } = report;
  const classNames = Object.keys(counts.train.perClass);
  const lines: string[] = [
    `# Data report: ${dataset.name}@${dataset.version}`,
    '',
    `- location: \`${dataset.uri}\``,
    `- source: ${dataset.source.kind} (${dataset.source.origin})`,
    `- images: ${dataset.imageShape.join('x')} (HxWxC), preprocess \`${JSON.stringify(dataset.preprocess)}\``,
    `- split: \`${JSON.stringify(dataset.split)}\``,
    '',
    '## Counts per class',
    '',
    `| class | ${SPLITS.join(' | ')} |`,
    `|---|${SPLITS.map(() => '---:').join('|')}|`,
    ...classNames.map(
      (name) => `| ${name} | ${SPLITS.map((s) => counts[s].perClass[name] ?? 0).join(' | ')} |`,
    ),
    `| **total** | ${SPLITS.map((s) => `**${counts[s].total}**`).join(' | ')} |`,
    '',
    '![images per class](class-histogram.png)',
    '',
    '## Class balance',
    '',
    '| split | rarest class | commonest class | ratio |',
    '|---|---|---|---:|',
    ...SPLITS.map((s) => {
      const b = report.classBalance[s];
      return b
        ? `| ${s} | ${b.min.class} (${b.min.count}) | ${b.max.class} (${b.max.count}) | ${b.ratio} |`
        : `| ${s} | - | - | - |`;
    }),
    '',
    '## Pixel statistics (values in [0, 1], per channel)',
    '',
    '| split | mean | std | min | max |',
    '|---|---|---|---|---|',
    ...SPLITS.map((s) => {
      const p = report.pixels[s];
      return `| ${s} | ${fixed(p.mean)} | ${fixed(p.std)} | ${fixed(p.min)} | ${fixed(p.max)} |`;
    }),
    '',
    '## Corrupt files skipped',
    '',
    report.skipped.count === 0
      ? 'None.'
      : [
          `${report.skipped.count} file(s) could not be decoded and are not in the dataset:`,
          '',
          ...report.skipped.items
            .slice(0, 100)
            .map((item) => `- \`${item.id}\` (${item.split}): ${item.reason}`),
          ...(report.skipped.count > 100
            ? [`- ... and ${report.skipped.count - 100} more (see report.json)`]
            : []),
        ].join('\n'),
    '',
    '## Duplicates and leakage between splits',
    '',
    `- exact duplicates (identical pixels): ${duplicates.exact.groups} groups, ${duplicates.exact.images} images; ` +
      `${duplicates.exact.crossSplitPairs} pairs across splits`,
    `- near-duplicates (${duplicates.near.method}): ${duplicates.near.crossSplitPairs} pairs across splits ` +
      `(${duplicates.near.hashCandidates} hash matches checked)`,
    `- val/test images with a duplicate in train: ${duplicates.evalImagesSeenInTrain}` +
      (counts.val.total + counts.test.total > 0
        ? ` (${pct(duplicates.evalImagesSeenInTrain / (counts.val.total + counts.test.total))} of val+test)`
        : ''),
    '',
    ...(duplicates.examples.length > 0
      ? [
          '| image | other image | classes | distance |',
          '|---|---|---|---:|',
          ...duplicates.examples
            .slice(0, 20)
            .map(
              (e) =>
                `| \`${e.a}\` (${e.splits[0]}) | \`${e.b}\` (${e.splits[1]}) | ${e.labels.join(' / ')} | ${e.distance} |`,
            ),
          '',
          'Images are named `<shard>#<index>`.',
          '',
          ...(report.files.duplicates ? [`![duplicate pairs](${report.files.duplicates})`, ''] : []),
        ]
      : []),
    '## Samples',
    '',
    '![samples per class](samples.png)',
    '',
  ];
  return lines.join('\n');
}
