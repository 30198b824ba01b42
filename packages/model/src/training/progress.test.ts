import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgressReporter, SILENT_PROGRESS } from './progress.ts';
import { newRunLocation, runIdOf } from './run-dir.ts';

describe('progress reporter', () => {
  it('draws a bar with loss, images/s, learning rate and ETA on a terminal, and nothing elsewhere', () => {
    const pipe = new PassThrough();
    expect(createProgressReporter({ stream: pipe })).toBe(SILENT_PROGRESS);
    const terminal = Object.assign(new PassThrough(), { isTTY: true, columns: 160 });
    let drawn = '';
    terminal.on('data', (chunk: Buffer) => {
      drawn += chunk.toString();
    });
    const progress = createProgressReporter({ stream: terminal });
    progress.startEpoch(2, 4, 10, 0);
    progress.step(10, { loss: 0.12345, imagesPerSecond: 1234.4, lr: 0.001 });
    progress.endEpoch();
    expect(drawn).toMatch(
      /epoch 2\/4 \[=+\] 10\/10 \| loss 0\.1235 \| 1234 img\/s \| lr 1\.00e-3 \| ETA \d+s/,
    );
  });
});

describe('run directories', () => {
  it('are <outputDir>/<experiment>/<timestamp>-<id>, and the id is read back from the directory', () => {
    const { runId, runDir } = newRunLocation('runs', 'exp1', new Date('2026-11-30T10:15:00Z'));
    expect(runDir).toBe(`runs/exp1/20261130-101500-${runId}`);
    expect(runIdOf(runDir)).toBe(runId);
    expect(runIdOf(`${runDir}/`)).toBe(runId);
  });
});
