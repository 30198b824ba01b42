import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGpuCheck } from './run-gpu-check.ts';
import { trainLeg } from './train-leg.ts';

// A stand-in for `pnpm train` at the process boundary (no GPU here): it takes the same arguments, writes the run's
// summary.json where the real CLI does (<train.outputDir>/<name>/<run>/), and logs like libtensorflow on a GPU unless
// CUDA_VISIBLE_DEVICES hides it. STUB_FAIL makes it fail the way the CLI does when the backend cannot start.
const STUB = `
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const args = process.argv.slice(2);
const get = (key) => args.find((a) => a.startsWith(key + '='))?.slice(key.length + 1);
if (process.env.STUB_FAIL) {
  console.log('{"level":30,"message":"selecting a backend"}');
  console.error("error [BACKEND_UNAVAILABLE]: backend 'tensorflow-gpu' is not available: no CUDA GPU visible");
  console.error('  hint: install the NVIDIA driver and check nvidia-smi');
  process.exit(1);
}
const hidden = process.env.CUDA_VISIBLE_DEVICES === '-1';
if (!hidden) console.error('I tensorflow/core/common_runtime/gpu/gpu_device.cc:1532] Created device /job:localhost/replica:0/task:0/device:GPU:0 with 14791 MB memory:  -> device: 0, name: Tesla T4, compute capability: 7.5');
const run = join(get('train.outputDir'), 'exp1', '20260101-000000-abcdefgh');
mkdirSync(run, { recursive: true });
writeFileSync(join(run, 'summary.json'), JSON.stringify({
  backend: get('runtime.backend'),
  train_images_per_second: hidden ? 2100 : 9400,
  test_accuracy: 0.9861,
  seen: { args, wandb: process.env.WANDB_MODE, tfLog: process.env.TF_CPP_MIN_LOG_LEVEL, export: get('export.uri') },
}));
`;

let dir: string;
let stub: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gpu-check-leg-'));
  stub = join(dir, 'train-stub.mjs');
  writeFileSync(stub, STUB);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function check(env: NodeJS.ProcessEnv = {}) {
  const scratch = mkdtempSync(join(dir, 'scratch-'));
  const echo = new PassThrough();
  let echoed = '';
  echo.on('data', (chunk) => {
    echoed += chunk;
  });
  const run = runGpuCheck(['train.batchSize=128'], (plan) =>
    trainLeg('configs/exp1.yaml', plan, {
      trainCommand: [stub],
      scratch,
      env: { ...process.env, ...env },
      echo,
    }),
  );
  return { run, scratch, echoed: () => echoed };
}

describe('gpu-check legs as pnpm train processes', () => {
  it('runs the GPU leg, then the same epoch with the GPU hidden, reading each run summary', async () => {
    const { run, scratch, echoed } = check();
    const result = await run;
    expect(result.legs.map((leg) => [leg.label, leg.backend, leg.imagesPerSecond, leg.testAccuracy])).toEqual(
      [
        ['gpu', 'tensorflow-gpu', 9400, 0.9861],
        ['cpu (GPU hidden)', 'tensorflow-gpu', 2100, 0.9861],
      ],
    );
    expect(result.gpuUsed).toBe(true);
    expect(result.lines).toContain('GPU speed-up over the CPU: 4.5x');
    expect(echoed()).toContain(
      'gpu-check: gpu: pnpm train --config configs/exp1.yaml train.batchSize=128 train.epochs=1',
    );

    const seen = JSON.parse(
      readFileSync(join(scratch, 'gpu', 'runs', 'exp1', '20260101-000000-abcdefgh', 'summary.json'), 'utf8'),
    ).seen;
    // One epoch, W&B off, TensorFlow's INFO log on, the bundle kept out of artifacts/.
    expect(seen.args.slice(0, 3)).toEqual(['train', '--config', 'configs/exp1.yaml']);
    expect(seen.args).toEqual(expect.arrayContaining(['train.epochs=1', 'runtime.backend=tensorflow-gpu']));
    expect(seen).toMatchObject({ wandb: 'disabled', tfLog: '0', export: join(scratch, 'gpu', 'models') });
  });

  it('stops after a GPU leg that cannot start, with the CLI error (not its hint) as the reason', async () => {
    const { run } = check({ STUB_FAIL: '1' });
    const result = await run;
    expect(result.legs).toHaveLength(1);
    expect(result.legs[0]?.error).toBe(
      "error [BACKEND_UNAVAILABLE]: backend 'tensorflow-gpu' is not available: no CUDA GPU visible",
    );
    expect(result.gpuUsed).toBe(false);
  });
});
