/** One leg of `pnpm run gpu-check`: a one-epoch training run, as its summary.json and TensorFlow's log report it. */
export interface GpuCheckLeg {
  label: string;
  /** The backend the run trained on (summary.json `backend`); undefined when the run did not start. */
  backend: string | undefined;
  imagesPerSecond: number | undefined;
  testAccuracy: number | undefined;
  seconds: number;
  /** Why the run failed, when it did (its error line). */
  error?: string;
  /** What the training process wrote to stderr: libtensorflow logs device creation and missing CUDA libraries there. */
  log: string;
}

export interface GpuCheckVerdict {
  gpuUsed: boolean;
  /** Human lines: the comparison table, then the verdict and, when it fails, why and what to do. */
  lines: string[];
}

/** libtensorflow's line when it puts a GPU to work (INFO, gpu_device.cc). */
const CREATED_GPU_DEVICE = /Created device \S*device:GPU:\d+[^\n]*/;
/** libtensorflow's warning when CUDA/cuDNN libraries are missing: it then computes on the CPU, silently otherwise. */
const MISSING_GPU_LIBRARIES = /Cannot dlopen some GPU libraries[^\n]*/;
/** A GPU epoch slower than this many CPU epochs is not a GPU at work, whatever the log says. */
const MIN_SPEEDUP = 1.5;

/**
 * Whether the GPU leg really trained on the GPU: it ran on the tensorflow-gpu backend, libtensorflow created a GPU
 * device (or, if its log is silent, the epoch ran clearly faster than on the CPU), and no CUDA library was missing.
 */
export function judgeGpuCheck(gpu: GpuCheckLeg, cpu: GpuCheckLeg | undefined): GpuCheckVerdict {
  const lines = [
    'leg                     backend           images/s   test accuracy   wall',
    ...[gpu, cpu].filter((leg): leg is GpuCheckLeg => leg !== undefined).map(formatLeg),
    '',
  ];
  const problems: string[] = [];
  const device = gpu.log.match(CREATED_GPU_DEVICE)?.[0];
  const missing = gpu.log.match(MISSING_GPU_LIBRARIES)?.[0];
  const speedup =
    gpu.imagesPerSecond && cpu?.imagesPerSecond ? gpu.imagesPerSecond / cpu.imagesPerSecond : undefined;

  if (gpu.error) problems.push(`the GPU run failed: ${gpu.error}`);
  else if (gpu.backend !== 'tensorflow-gpu')
    problems.push(`the GPU run trained on ${gpu.backend ?? 'nothing'}`);
  if (missing) problems.push(`libtensorflow: ${missing}`);
  if (!gpu.error && !device && (speedup === undefined || speedup < MIN_SPEEDUP)) {
    problems.push(
      speedup === undefined
        ? 'libtensorflow did not log a GPU device and there is no CPU run to compare with'
        : `libtensorflow did not log a GPU device and the epoch was only ${speedup.toFixed(2)}x the CPU's speed`,
    );
  }
  if (device) lines.push(`libtensorflow: ${device.trim()}`);
  if (speedup !== undefined) lines.push(`GPU speed-up over the CPU: ${speedup.toFixed(1)}x`);

  if (problems.length === 0) {
    lines.push('ok: training runs on the GPU');
    return { gpuUsed: true, lines };
  }
  lines.push(
    'NOT OK: training does not use the GPU',
    ...problems.map((p) => `  - ${p}`),
    '  `pnpm run doctor` (in the trainer image: `docker run --gpus all trainer:latest doctor`) shows the driver, the',
    '  CUDA 11.2 / cuDNN 8.1 libraries and what to fix; in Docker, pass `--gpus all`.',
  );
  return { gpuUsed: false, lines };
}

function formatLeg(leg: GpuCheckLeg): string {
  const ips = leg.imagesPerSecond === undefined ? '-' : leg.imagesPerSecond.toFixed(0);
  const accuracy = leg.testAccuracy === undefined ? '-' : `${(leg.testAccuracy * 100).toFixed(2)}%`;
  return [
    leg.label.padEnd(23),
    (leg.error ? 'failed' : (leg.backend ?? '-')).padEnd(17),
    ips.padStart(8),
    accuracy.padStart(15),
    `${leg.seconds.toFixed(0)}s`.padStart(6),
  ].join(' ');
}
