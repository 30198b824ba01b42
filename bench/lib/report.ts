import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Summary } from './stats.ts';

export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));

function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

/** Writes bench/results/<name>-<timestamp>.json and <name>-latest.json; returns the first. */
export function writeResults(name: string, data: unknown, now = new Date()): string {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  const text = `${JSON.stringify(data, null, 2)}\n`;
  const file = join(BENCH_DIR, 'results', `${name}-${stamp}.json`);
  writeAtomic(file, text);
  writeAtomic(join(BENCH_DIR, 'results', `${name}-latest.json`), text);
  return file;
}

/** `readme` with the section between `<!-- name:start -->` and `<!-- name:end -->` replaced (appended if absent). */
export function replaceSection(readme: string, name: string, markdown: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from >= 0 && to > from) return `${readme.slice(0, from)}${block}${readme.slice(to + end.length)}`;
  return `${readme.trimEnd()}\n\n${block}\n`;
}

/** Replaces a marked section of bench/README.md (see {@link replaceSection}). */
export function updateReadmeSection(name: string, markdown: string): void {
  const path = join(BENCH_DIR, 'README.md');
  writeAtomic(path, replaceSection(readFileSync(path, 'utf8'), name, markdown));
}

/** Markdown table from rows of cells. */
export function markdownTable(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** A number with thousands separators and `digits` decimals. */
export function formatNumber(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** `1,364 (1,340-1,393)`: median, then min-max over rounds. */
export function formatSummary(summary: Summary | undefined, digits = 0): string {
  if (!summary) return '-';
  const median = formatNumber(summary.median, digits);
  if (summary.n < 2) return `${median} (1 round)`;
  return `${median} (${formatNumber(summary.min, digits)}-${formatNumber(summary.max, digits)})`;
}
