import { ConfigError } from '@tfmlops/core';
import { describe, expect, it } from 'vitest';
import { syntheticSource } from '../testing/synthetic-source.ts';
import { filterClasses } from './class-filter.ts';

describe('filterClasses', () => {
  const source = syntheticSource({ classes: 4, perClass: 3 });

  it('keeps the listed classes, re-indexed in the order listed, with their names', () => {
    const filtered = filterClasses(source, [3, 'class-1']);
    expect(filtered.classNames).toEqual(['class-3', 'class-1']);
    expect(filtered.samples).toHaveLength(6);
    for (const sample of filtered.samples) {
      const original = source.samples.find((s) => s.id === sample.id);
      expect(filtered.classNames[sample.label]).toBe(source.classNames[original!.label]);
    }
    expect(filtered.samples.filter((s) => s.label === 0).every((s) => s.id.startsWith('train/3/'))).toBe(
      true,
    );
  });

  it('keeps everything when no classes are given', () => {
    expect(filterClasses(source, undefined)).toBe(source);
  });

  it('refuses unknown names, out-of-range indices and duplicates with the classes there are', () => {
    expect(() => filterClasses(source, ['cat'])).toThrow(ConfigError);
    expect(() => filterClasses(source, ['cat'])).toThrow(/no class named 'cat'/);
    expect(() => filterClasses(source, [4])).toThrow(/class index 4 is out of range.*4 classes \(0-3\)/);
    expect(() => filterClasses(source, [1, 'class-1'])).toThrow(/lists class 'class-1' twice/);
  });
});
