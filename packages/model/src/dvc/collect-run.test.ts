import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStorage } from '@tfmlops/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectLatestRun, metricsCsv } from './collect-run.ts';

const storage = createStorage();
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'collect-run-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const ROW1 = { epoch: 1, loss: 0.5, accuracy: 0.8, val_loss: 0.4, val_accuracy: 0.85, lr: 0.001 };
const ROW2 = { epoch: 2, loss: 0.3, accuracy: 0.9, val_loss: null, val_accuracy: 0.9, lr: 0.0005 };

async function writeRun(name: string, files: Record<string, string>) {
  for (const [file, content] of Object.entries(files))
    await storage.write(join(dir, 'runs', name, file), content);
}

describe('collectLatestRun', () => {
  it('copies the newest finished run to the fixed directory, metrics.jsonl as CSV, and clears older files', async () => {
    await writeRun('20260101-100000-aaaaaaaa', {
      'summary.json': '{"test_accuracy":0.9}',
      'curves.png': 'old',
    });
    await writeRun('20260102-100000-bbbbbbbb', {
      'summary.json': '{"test_accuracy":0.95}',
      'evaluation.json': '{"accuracy":0.95}',
      'config.yaml': 'name: exp1\n',
      'metrics.jsonl': `${JSON.stringify(ROW1)}\n${JSON.stringify(ROW2)}\n`,
      'confusion-matrix.png': 'png',
      'checkpoints/epoch-2/weights.bin': 'big',
    });
    // Newer but unfinished (killed before summary.json): not the one DVC should record.
    await writeRun('20260103-100000-cccccccc', { 'metrics.jsonl': `${JSON.stringify(ROW1)}\n` });
    const out = join(dir, 'reports', 'exp1', 'train');
    await storage.write(join(out, 'stale.png'), 'from an earlier run');

    const collected = await collectLatestRun(storage, join(dir, 'runs'), out);
    expect(collected.runUri).toBe(join(dir, 'runs', '20260102-100000-bbbbbbbb'));
    expect(collected.files).toEqual([
      'config.yaml',
      'confusion-matrix.png',
      'evaluation.json',
      'metrics.csv',
      'summary.json',
    ]);
    expect(readdirSync(out).sort()).toEqual(collected.files);
    expect(readFileSync(join(out, 'summary.json'), 'utf8')).toBe('{"test_accuracy":0.95}');
    expect(readFileSync(join(out, 'metrics.csv'), 'utf8')).toBe(
      'epoch,loss,accuracy,val_loss,val_accuracy,lr\n1,0.5,0.8,0.4,0.85,0.001\n2,0.3,0.9,,0.9,0.0005\n',
    );
  });

  it('says how to get a run when there is none', async () => {
    await writeRun('20260103-100000-cccccccc', { 'metrics.jsonl': '' });
    await expect(collectLatestRun(storage, join(dir, 'runs'), join(dir, 'out'))).rejects.toMatchObject({
      code: 'RUN_NOT_FOUND',
      hint: expect.stringContaining('pnpm train --config'),
    });
  });
});

describe('metricsCsv', () => {
  it('keeps columns that appear only in later rows', () => {
    expect(metricsCsv('{"epoch":1}\n{"epoch":2,"ece":0.1}\n')).toBe('epoch,ece\n1,\n2,0.1\n');
  });
});
