import { type GpuCheckLeg, type GpuCheckVerdict, judgeGpuCheck } from './verdict.ts';

/** How one leg trains: `overrides` on top of the experiment, `env` on top of the process environment. */
export interface LegPlan {
  label: string;
  overrides: string[];
  env: Record<string, string>;
}

export type RunLeg = (plan: LegPlan) => Promise<GpuCheckLeg>;

/** The two legs: the same epoch on the GPU, then with the GPU hidden from libtensorflow (its CPU kernels). */
export function gpuCheckPlans(overrides: readonly string[]): { gpu: LegPlan; cpu: LegPlan } {
  const common = [...overrides, 'train.epochs=1', 'runtime.backend=tensorflow-gpu'];
  // TensorFlow logs at INFO when it creates a GPU device; the verdict reads that line.
  return {
    gpu: { label: 'gpu', overrides: common, env: { TF_CPP_MIN_LOG_LEVEL: '0' } },
    // The GPU image builds only tfjs-node-gpu; hiding the devices runs the same libtensorflow on the CPU.
    cpu: { label: 'cpu (GPU hidden)', overrides: common, env: { CUDA_VISIBLE_DEVICES: '-1' } },
  };
}

/**
 * `pnpm run gpu-check`: one epoch on the GPU, then (when that trained) the same epoch on the CPU, and the verdict.
 * The CPU leg is skipped when the GPU leg could not start: there is nothing to compare.
 */
export async function runGpuCheck(
  overrides: readonly string[],
  runLeg: RunLeg,
): Promise<GpuCheckVerdict & { legs: GpuCheckLeg[] }> {
  const plans = gpuCheckPlans(overrides);
  const gpu = await runLeg(plans.gpu);
  const cpu = gpu.error ? undefined : await runLeg(plans.cpu);
  return { ...judgeGpuCheck(gpu, cpu), legs: cpu ? [gpu, cpu] : [gpu] };
}
