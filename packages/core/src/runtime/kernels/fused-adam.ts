import * as tf from '@tensorflow/tfjs-core';
import { allocateFloat32, heapFloat32, type WasmBackend } from './wasm-access.ts';

/** Adam hyper-parameters; the defaults are tfjs's (`tf.train.adam`). */
export interface AdamOptions {
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  /** Added to √v̂; defaults to the backend's epsilon (1e-7 for float32), as tfjs does. */
  epsilon?: number;
}

interface Moments {
  m: Float32Array;
  v: Float32Array;
}

/**
 * Adam with the same update as `tf.train.adam`, applied in one pass per variable instead of ~14 tfjs kernels
 * (each with its own allocation, dispatch and full sweep over the weights): on the wasm backend it reads weights and
 * gradients straight from the wasm heap and writes the new weights into a fresh tensor. The moments live in plain
 * Float32Arrays. Works on any backend (elsewhere through `dataSync`).
 *
 * The new weights always go to a new tensor: the wasm backend caches packed XNNPACK weights per tensor id, so
 * writing in place would leave stale weights in its convolution and matmul caches.
 */
export class FusedAdam {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  private steps = 0;
  private readonly moments = new Map<string, Moments>();

  constructor(options: AdamOptions = {}) {
    this.learningRate = options.learningRate ?? 0.001;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? tf.backend().epsilon();
    for (const [name, value] of Object.entries({ learningRate: this.learningRate, epsilon: this.epsilon }))
      if (!(value > 0)) throw new RangeError(`Adam ${name} must be > 0, got ${value}`);
    for (const [name, value] of Object.entries({ beta1: this.beta1, beta2: this.beta2 }))
      if (!(value >= 0 && value < 1)) throw new RangeError(`Adam ${name} must be in [0, 1), got ${value}`);
  }

  /** Number of updates applied so far. */
  get iterations(): number {
    return this.steps;
  }

  /** Applies one update; gradients are keyed by variable name, as `tf.variableGrads` returns them. */
  applyGradients(gradients: tf.NamedTensorMap): void {
    this.steps += 1;
    const correction1 = 1 - this.beta1 ** this.steps;
    const correction2 = 1 - this.beta2 ** this.steps;
    for (const [name, gradient] of Object.entries(gradients)) {
      const variable = tf.engine().registeredVariables[name];
      if (!variable || !gradient) continue;
      if (variable.dtype !== 'float32' || gradient.dtype !== 'float32')
        throw new TypeError(`FusedAdam updates float32 variables only; '${name}' is ${variable.dtype}`);
      let moments = this.moments.get(name);
      if (!moments) {
        moments = { m: new Float32Array(variable.size), v: new Float32Array(variable.size) };
        this.moments.set(name, moments);
      }
      const next = this.update(variable, gradient, moments, correction1, correction2);
      variable.assign(next);
      next.dispose();
    }
  }

  /** Drops the moments (tfjs's optimizers hold theirs in variables that need disposing; ours are plain arrays). */
  dispose(): void {
    this.moments.clear();
  }

  private update(
    variable: tf.Variable,
    gradient: tf.Tensor,
    { m, v }: Moments,
    correction1: number,
    correction2: number,
  ): tf.Tensor {
    const { beta1, beta2, epsilon, learningRate } = this;
    const step = (w: Float32Array, g: Float32Array, out: Float32Array) => {
      for (let i = 0; i < out.length; i += 1) {
        const gi = g[i]!;
        const mi = beta1 * m[i]! + (1 - beta1) * gi;
        const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        out[i] = w[i]! - (learningRate * (mi / correction1)) / (Math.sqrt(vi / correction2) + epsilon);
      }
    };
    if (tf.getBackend() === 'wasm') {
      const backend = tf.backend() as WasmBackend;
      const info = allocateFloat32(backend, variable.shape);
      // Views are taken after the allocation: it may grow (and so move) the heap.
      step(heapFloat32(backend, variable), heapFloat32(backend, gradient), heapFloat32(backend, info));
      return tf.engine().makeTensorFromTensorInfo(info);
    }
    const out = new Float32Array(variable.size);
    step(variable.dataSync() as Float32Array, gradient.dataSync() as Float32Array, out);
    return tf.tensor(out, variable.shape, 'float32');
  }
}
