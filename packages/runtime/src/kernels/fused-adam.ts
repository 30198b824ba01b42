import type { TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { allocateFloat32, heapFloat32, heapOffset, simd, type WasmBackend } from './wasm-access.ts';

/** Adam hyper-parameters; the defaults are tfjs's (`tf.train.adam`). */
export interface AdamOptions {
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  /** Added to √v̂; defaults to the backend's epsilon (1e-7 for float32), as tfjs does. */
  epsilon?: number;
}

/** First and second moments: on the wasm heap while training on wasm, in JS arrays elsewhere. */
type Moments =
  | { where: 'heap'; backend: WasmBackend; m: TensorInfo; v: TensorInfo }
  | { where: 'js'; m: Float32Array; v: Float32Array };

/**
 * Adam with the same update as `tf.train.adam`, applied in one pass per variable instead of ~14 tfjs kernels
 * (each with its own allocation, dispatch and full sweep over the weights): on the wasm backend one SIMD loop reads
 * weights, gradients and moments on the wasm heap and writes the new weights into a fresh tensor. Works on any
 * backend (elsewhere a JS loop through `dataSync`); the moments follow if training moves between backends.
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
      const onWasm = tf.getBackend() === 'wasm';
      const moments = this.momentsFor(
        name,
        variable.size,
        onWasm ? (tf.backend() as WasmBackend) : undefined,
      );
      const next =
        moments.where === 'heap'
          ? this.updateOnHeap(moments, variable, gradient, correction1, correction2)
          : this.updateInJs(moments, variable, gradient, correction1, correction2);
      variable.assign(next);
      next.dispose();
    }
  }

  /** Frees the moments. */
  dispose(): void {
    for (const moments of this.moments.values()) {
      if (moments.where === 'heap') {
        moments.backend.disposeData(moments.m.dataId);
        moments.backend.disposeData(moments.v.dataId);
      }
    }
    this.moments.clear();
  }

  /** The variable's moments where the current backend needs them, moved there if training switched backends. */
  private momentsFor(name: string, size: number, backend: WasmBackend | undefined): Moments {
    const current = this.moments.get(name);
    if (backend && current?.where === 'heap' && current.backend === backend) return current;
    if (!backend && current?.where === 'js') return current;
    let m: Float32Array = new Float32Array(size);
    let v: Float32Array = new Float32Array(size);
    if (current?.where === 'heap') {
      m = heapFloat32(current.backend, current.m).slice();
      v = heapFloat32(current.backend, current.v).slice();
      current.backend.disposeData(current.m.dataId);
      current.backend.disposeData(current.v.dataId);
    } else if (current?.where === 'js') {
      ({ m, v } = current);
    }
    let next: Moments = { where: 'js', m, v };
    if (backend) {
      const heap = {
        where: 'heap' as const,
        backend,
        m: allocateFloat32(backend, [size]),
        v: allocateFloat32(backend, [size]),
      };
      heapFloat32(backend, heap.m).set(m);
      heapFloat32(backend, heap.v).set(v);
      next = heap;
    }
    this.moments.set(name, next);
    return next;
  }

  private updateOnHeap(
    moments: Extract<Moments, { where: 'heap' }>,
    variable: tf.Variable,
    gradient: tf.Tensor,
    correction1: number,
    correction2: number,
  ): tf.Tensor {
    const { backend } = moments;
    const out = allocateFloat32(backend, variable.shape);
    simd(backend).adam(
      heapOffset(backend, variable),
      heapOffset(backend, gradient),
      heapOffset(backend, moments.m),
      heapOffset(backend, moments.v),
      heapOffset(backend, out),
      variable.size,
      this.beta1,
      this.beta2,
      correction1,
      correction2,
      this.learningRate,
      this.epsilon,
    );
    return tf.engine().makeTensorFromTensorInfo(out);
  }

  private updateInJs(
    { m, v }: Extract<Moments, { where: 'js' }>,
    variable: tf.Variable,
    gradient: tf.Tensor,
    correction1: number,
    correction2: number,
  ): tf.Tensor {
    const { beta1, beta2, epsilon, learningRate } = this;
    const w = variable.dataSync() as Float32Array;
    const g = gradient.dataSync() as Float32Array;
    const out = new Float32Array(variable.size);
    for (let i = 0; i < out.length; i += 1) {
      const gi = g[i]!;
      const mi = beta1 * m[i]! + (1 - beta1) * gi;
      const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      out[i] = w[i]! - (learningRate * (mi / correction1)) / (Math.sqrt(vi / correction2) + epsilon);
    }
    return tf.tensor(out, variable.shape, 'float32');
  }
}
