// dvc.yaml without DVC (not installable here): the pipeline's shape (stages in dependency order, params that exist
// in the experiment file, deps that exist, commands that exist) and the remote in .dvc/config.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT, readRepoFile, unknownPnpmCommands } from './repo.ts';

interface Stage {
  cmd: string | string[];
  deps?: string[];
  params?: Array<string | Record<string, string[]>>;
  outs?: Array<string | Record<string, unknown>>;
  metrics?: Array<string | Record<string, unknown>>;
  plots?: Array<string | Record<string, unknown>>;
}

const pipeline = parse(readRepoFile('dvc.yaml')) as {
  stages: Record<string, Stage>;
  plots?: Array<Record<string, { y: Record<string, string[]> }>>;
};
const paths = (entries: Stage['outs'] = []) =>
  entries.map((entry) => (typeof entry === 'string' ? entry : Object.keys(entry)[0]!));
const commands = (stage: Stage) => (Array.isArray(stage.cmd) ? stage.cmd : [stage.cmd]);

/** Stages in the order `dvc repro` runs them: a stage after every stage whose outs it depends on. */
function stageOrder(stages: Record<string, Stage>): string[] {
  const producer = new Map<string, string>();
  for (const [name, stage] of Object.entries(stages))
    for (const out of paths(stage.outs)) producer.set(out, name);
  const order: string[] = [];
  const visit = (name: string, path: string[]) => {
    if (order.includes(name)) return;
    if (path.includes(name)) throw new Error(`dependency cycle: ${[...path, name].join(' -> ')}`);
    for (const dep of stages[name]!.deps ?? []) {
      const from = producer.get(dep);
      if (from && from !== name) visit(from, [...path, name]);
    }
    order.push(name);
  };
  for (const name of Object.keys(stages)) visit(name, []);
  return order;
}

describe('dvc.yaml', () => {
  const { stages } = pipeline;

  it('runs prepare -> train -> evaluate, each on what the stage before produced', () => {
    expect(stageOrder(stages)).toEqual(['prepare', 'train', 'evaluate']);
    expect(stages.train!.deps).toContain(paths(stages.prepare!.outs)[0]);
    expect(stages.evaluate!.deps).toEqual(
      expect.arrayContaining(['artifacts/models/exp1', 'data/processed/mnist']),
    );
  });

  it('depends only on paths that exist or that an earlier stage produces', () => {
    const produced = new Set(Object.values(stages).flatMap((s) => paths(s.outs)));
    for (const [name, stage] of Object.entries(stages)) {
      for (const dep of stage.deps ?? []) {
        expect(produced.has(dep) || existsSync(join(ROOT, dep)), `${name}: ${dep}`).toBe(true);
      }
    }
  });

  it('tracks params that exist in the experiment file as DVC reads it (the literal YAML, no extends)', () => {
    for (const [name, stage] of Object.entries(stages)) {
      for (const entry of stage.params ?? []) {
        const [file, keys] = Object.entries(
          typeof entry === 'string' ? { 'params.yaml': [entry] } : entry,
        )[0]!;
        const params = parse(readRepoFile(file)) as Record<string, unknown>;
        for (const key of keys) expect(params, `${name}: ${file}:${key}`).toHaveProperty(key.split('.'));
      }
    }
  });

  it('runs commands that exist, on config files that exist', () => {
    for (const stage of Object.values(stages)) {
      for (const cmd of commands(stage)) {
        expect(unknownPnpmCommands(cmd), cmd).toEqual([]);
        for (const [, config] of cmd.matchAll(/--config (\S+)/g))
          expect(existsSync(join(ROOT, config!)), cmd).toBe(true);
      }
    }
  });

  it('declares the run summary as metrics and the curves and confusion matrix as plots, committed to git', () => {
    const metrics = Object.values(stages).flatMap((s) => paths(s.metrics));
    const plots = Object.values(stages).flatMap((s) => paths(s.plots));
    expect(metrics).toEqual(expect.arrayContaining(['metrics/exp1/train/summary.json']));
    expect(plots).toEqual(
      expect.arrayContaining([
        'metrics/exp1/train/metrics.csv',
        'metrics/exp1/evaluate/confusion-matrix.png',
      ]),
    );
    // cache: false metrics live in git, so `dvc metrics diff` can compare commits: git must not ignore them.
    for (const file of [...metrics, ...plots]) {
      const ignored = (() => {
        try {
          execFileSync('git', ['check-ignore', '-q', file], { cwd: ROOT });
          return true;
        } catch {
          return false;
        }
      })();
      expect(ignored, `${file} is git-ignored`).toBe(false);
    }
    for (const plot of pipeline.plots ?? []) {
      for (const file of Object.keys(Object.values(plot)[0]!.y)) expect(plots).toContain(file);
    }
  });
});

describe('.dvc/config', () => {
  it('names a default remote on Google Cloud Storage', () => {
    const config = readRepoFile('.dvc/config');
    const remote = config.match(/^\s*remote = (\S+)/m)?.[1];
    expect(remote).toBeDefined();
    expect(config).toMatch(new RegExp(`\\['remote "${remote}"'\\]\\s*\\n\\s*url = gs://\\S+`));
  });
});
