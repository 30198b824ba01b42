import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError } from '../errors.ts';
import { type ConfigObject, deepMerge, isConfigObject } from './deep-merge.ts';
import { Provenance } from './provenance.ts';

export interface LoadedYaml {
  /** The merged tree, `extends` removed. */
  value: ConfigObject;
  /** Files read, base first, the requested file last. */
  files: string[];
  provenance: Provenance;
}

/** Shows paths relative to where the user ran the command, which is how they typed them. */
export function displayPath(file: string, cwd: string = process.cwd()): string {
  const shown = relative(cwd, file);
  return shown.startsWith('..') || shown === '' ? file : shown;
}

/**
 * Reads an experiment YAML file and the chain of files it `extends` (a relative path or a list of them; bases
 * merge left to right, then the file itself on top). Cycles, missing files and YAML syntax errors are ConfigErrors
 * naming the file and the chain that led to it.
 */
export function loadYamlWithExtends(file: string): LoadedYaml {
  const provenance = new Provenance();
  const files: string[] = [];
  const value = loadRecursive(resolve(file), [], provenance, files);
  return { value, files, provenance };
}

function loadRecursive(file: string, chain: string[], provenance: Provenance, files: string[]): ConfigObject {
  if (chain.includes(file)) {
    const cycle = [...chain.slice(chain.indexOf(file)), file].map((f) => displayPath(f)).join(' -> ');
    throw new ConfigError(`extends cycle: ${cycle}`, { hint: 'remove one of the extends so the chain ends' });
  }
  const document = readYamlObject(file, chain);
  const { extends: parents, ...own } = document;
  let merged: ConfigObject = {};
  for (const parent of normalizeExtends(parents, file)) {
    merged = deepMerge(
      merged,
      loadRecursive(resolve(dirname(file), parent), [...chain, file], provenance, files),
    );
  }
  provenance.record(own, displayPath(file));
  files.push(file);
  return deepMerge(merged, own);
}

function normalizeExtends(parents: unknown, file: string): string[] {
  if (parents === undefined || parents === null) return [];
  if (typeof parents === 'string') return [parents];
  if (Array.isArray(parents) && parents.every((p) => typeof p === 'string')) return parents;
  throw new ConfigError(
    `${displayPath(file)}: extends: expected a relative path or a list of paths, found ${JSON.stringify(parents)}`,
    { hint: 'write e.g. `extends: ./base.yaml`' },
  );
}

function readYamlObject(file: string, chain: string[]): ConfigObject {
  const via = chain.length > 0 ? ` (extended by ${displayPath(chain[chain.length - 1]!)})` : '';
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(`config file not found: ${displayPath(file)}${via}`, {
      hint: 'check the path; `extends` paths are relative to the file that contains them',
      cause,
    });
  }
  const document = parseDocument(text, { prettyErrors: true });
  const firstError = document.errors[0];
  if (firstError) {
    const where = firstError.linePos?.[0];
    const at = where ? `:${where.line}:${where.col}` : '';
    throw new ConfigError(`${displayPath(file)}${at}: invalid YAML: ${firstError.message.split('\n')[0]}`, {
      hint: 'fix the YAML syntax at that line',
    });
  }
  const value: unknown = document.toJS();
  if (value === null || value === undefined) return {};
  if (!isConfigObject(value)) {
    throw new ConfigError(`${displayPath(file)}: expected a mapping of keys at the top level${via}`, {
      hint: 'an experiment file is a YAML mapping such as `train: { epochs: 5 }`',
    });
  }
  return value;
}
