import { describe, expect, it } from 'vitest';
import { type GpuCheckLeg, judgeGpuCheck } from './verdict.ts';

// Log lines as libtensorflow 2.9.1 (gpu_device.cc) writes them.
const CREATED =
  '2026-01-30 10:00:01.000000: I tensorflow/core/common_runtime/gpu/gpu_device.cc:1532] Created device /job:localhost/replica:0/task:0/device:GPU:0 with 13598 MB memory:  -> device: 0, name: Tesla T4, pci bus id: 0000:00:04.0, compute capability: 7.5';
const MISSING =
  '2026-01-30 10:00:01.000000: W tensorflow/core/common_runtime/gpu/gpu_device.cc:1850] Cannot dlopen some GPU libraries. Please make sure the missing libraries mentioned above are installed properly if you would like to use GPU.';

const leg = (overrides: Partial<GpuCheckLeg>): GpuCheckLeg => ({
  label: 'gpu',
  backend: 'tensorflow-gpu',
  imagesPerSecond: 12000,
  testAccuracy: 0.985,
  seconds: 12,
  log: '',
  ...overrides,
});
const cpu = leg({ label: 'cpu (GPU hidden)', imagesPerSecond: 2500, seconds: 30 });

describe('judgeGpuCheck', () => {
  it('passes when libtensorflow created a GPU device, and prints both legs side by side', () => {
    const verdict = judgeGpuCheck(leg({ log: `noise\n${CREATED}\nmore` }), cpu);
    expect(verdict.gpuUsed).toBe(true);
    expect(verdict.lines.join('\n')).toMatch(/^gpu\s+tensorflow-gpu\s+12000\s+98\.50%\s+12s$/m);
    expect(verdict.lines.join('\n')).toMatch(/^cpu \(GPU hidden\)\s+tensorflow-gpu\s+2500\s+98\.50%\s+30s$/m);
    expect(verdict.lines).toContain('GPU speed-up over the CPU: 4.8x');
    expect(verdict.lines.at(-1)).toBe('ok: training runs on the GPU');
  });

  it('fails when CUDA libraries are missing: libtensorflow then computes on the CPU', () => {
    const verdict = judgeGpuCheck(leg({ log: MISSING, imagesPerSecond: 2600 }), cpu);
    expect(verdict.gpuUsed).toBe(false);
    expect(verdict.lines).toContain('NOT OK: training does not use the GPU');
    expect(verdict.lines.join('\n')).toContain('Cannot dlopen some GPU libraries');
    expect(verdict.lines.join('\n')).toContain('only 1.04x the CPU');
  });

  it('fails when the run could not start on tensorflow-gpu, naming the error', () => {
    const verdict = judgeGpuCheck(
      leg({
        backend: undefined,
        imagesPerSecond: undefined,
        testAccuracy: undefined,
        error: 'no CUDA GPU visible',
      }),
      undefined,
    );
    expect(verdict.gpuUsed).toBe(false);
    expect(verdict.lines.join('\n')).toMatch(/^gpu\s+failed\s+-\s+-/m);
    expect(verdict.lines).toContain('  - the GPU run failed: no CUDA GPU visible');
  });

  it('fails a run that trained on another backend', () => {
    const verdict = judgeGpuCheck(leg({ backend: 'wasm', log: '' }), cpu);
    expect(verdict.gpuUsed).toBe(false);
    expect(verdict.lines).toContain('  - the GPU run trained on wasm');
  });

  it('accepts a clear speed-up when the device line is not in the log (TF_CPP_MIN_LOG_LEVEL raised elsewhere)', () => {
    expect(judgeGpuCheck(leg({ log: '' }), cpu).gpuUsed).toBe(true);
    expect(judgeGpuCheck(leg({ log: '', imagesPerSecond: 3000 }), cpu).gpuUsed).toBe(false);
  });
});
