import { ConfigError } from '@tfmlops/core';
import type { SourceDataset } from '../sources/types.ts';

/** A class picked by `data.classes`: its index in the source's class list, or its name. */
export type ClassSelector = number | string;

/**
 * Keeps only the samples of the listed classes and re-indexes their labels 0..k-1 in the order listed, keeping the
 * class names (`[5, 6, 7, 8, 9]` of MNIST gives classes `5`..`9` as labels 0..4). The result is a source of its own:
 * its class list differs, so the prepared dataset gets its own version. `undefined` keeps every class.
 */
export function filterClasses(
  source: SourceDataset,
  classes: readonly ClassSelector[] | undefined,
): SourceDataset {
  if (classes === undefined) return source;
  const indices = classes.map((selector) => resolveClass(source, selector));
  const duplicate = indices.find((index, i) => indices.indexOf(index) !== i);
  if (duplicate !== undefined) {
    throw new ConfigError(`data.classes lists class '${source.classNames[duplicate]}' twice`, {
      hint: 'list each class once',
    });
  }
  const relabel = new Map(indices.map((index, label) => [index, label]));
  const samples = source.samples.flatMap((sample) => {
    const label = relabel.get(sample.label);
    return label === undefined ? [] : [{ ...sample, label }];
  });
  return {
    ...source,
    classNames: indices.map((index) => source.classNames[index] as string),
    samples,
  };
}

function resolveClass(source: SourceDataset, selector: ClassSelector): number {
  const { classNames } = source;
  const shown = classNames.length > 12 ? `${classNames.slice(0, 12).join(', ')}, ...` : classNames.join(', ');
  if (typeof selector === 'number') {
    if (Number.isInteger(selector) && selector >= 0 && selector < classNames.length) return selector;
    throw new ConfigError(
      `data.classes: class index ${selector} is out of range; the ${source.source} source has ${classNames.length} classes (0-${classNames.length - 1})`,
      { hint: `pick indices 0-${classNames.length - 1} or class names (${shown})` },
    );
  }
  const index = classNames.indexOf(selector);
  if (index >= 0) return index;
  throw new ConfigError(`data.classes: the ${source.source} source has no class named '${selector}'`, {
    hint: `its classes are: ${shown}`,
  });
}
