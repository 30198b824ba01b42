import { describe, expect, it } from 'vitest';
import { formatSummary, markdownTable, replaceSection } from './report.ts';

describe('replaceSection', () => {
  const readme =
    '# Benchmarks\n\n<!-- train:start -->\nold\n<!-- train:end -->\n\n<!-- data:start -->\nkeep\n<!-- data:end -->\n';
  it('replaces only the named section, markers kept', () => {
    const next = replaceSection(readme, 'train', 'new $& table');
    expect(next).toBe(
      '# Benchmarks\n\n<!-- train:start -->\nnew $& table\n<!-- train:end -->\n\n<!-- data:start -->\nkeep\n<!-- data:end -->\n',
    );
  });
  it('appends a section that is not there yet', () => {
    expect(replaceSection('# B\n', 'other', 'x')).toBe(
      '# B\n\n<!-- other:start -->\nx\n<!-- other:end -->\n',
    );
  });
});

describe('table cells', () => {
  it('formatSummary shows median (min-max), or says one round', () => {
    expect(formatSummary({ median: 1364.4, min: 1340, max: 1393.2, n: 5 })).toBe('1,364 (1,340-1,393)');
    expect(formatSummary({ median: 0.271, min: 0.25, max: 4.36, n: 5 }, 2)).toBe('0.27 (0.25-4.36)');
    expect(formatSummary({ median: 7, min: 7, max: 7, n: 1 })).toBe('7 (1 round)');
    expect(formatSummary(undefined)).toBe('-');
  });
  it('markdownTable has a header rule per column', () => {
    expect(markdownTable(['a', 'b'], [['1', '2']])).toBe('| a | b |\n|---|---|\n| 1 | 2 |');
  });
});
