import type { TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { BackendError } from '@tfmlops/core';
import { allocateFloat32, heapFloat32, heapOffset, simd, type WasmBackend } from './wasm-access.ts';

/** Adam hyper-parameters; the defaults are tfjs's (`tf.train.adam`). */
export interface AdamOptions {
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  /** Added to √v̂; defaults to the backend's epsilon (1e-7 for float32), as tfjs does. */
  epsilon?: number;
  /**
   * Decoupled weight decay (AdamW, Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019), in
   * the parametrisation PyTorch's and Keras's AdamW use: w ← w − lr·(m̂ / (√v̂ + ε) + weightDecay·w), the decay
   * taken from the weights before the step and scaled by the learning rate, so an LR schedule scales it too.
   * 0 (the default) is plain Adam. Which variables decay is `decayFilter`'s choice.
   */
  weightDecay?: number;
  /**
   * Whether `weightDecay` applies to a variable. Default {@link decaysByDefault}: variables of rank >= 2 (kernels,
   * embeddings) decay and those of rank 0 or 1 (biases, batch-norm and layer-norm scales and offsets) do not, as
   * AdamW is usually configured (timm's and Hugging Face's parameter groups). Pass `() => true` to decay every
   * variable (PyTorch's AdamW applied to `model.parameters()`), or a test on `variable.name` to exclude more (timm
   * also exempts a ViT's class token and position embeddings, which this default decays).
   */
  decayFilter?: (variable: tf.Variable) => boolean;
}

/** FusedAdam's default decayFilter: decay kernels and embeddings (rank >= 2), not biases or norm parameters. */
export function decaysByDefault(variable: tf.Variable): boolean {
  return variable.rank >= 2;
}

/**
 * Optimizer state for a checkpoint: the update count and both moments of each variable, in the order of the
 * variable list given to `getState`/`setState`. Keyed by position, not by name: tfjs-layers names variables from
 * process-wide counters, so the same model rebuilt in the same process (or resumed after another model was built)
 * gets different names (`conv2d_Conv2D2/kernel` instead of `conv2d_Conv2D1/kernel`).
 */
export interface AdamState {
  iterations: number;
  m: Float32Array[];
  v: Float32Array[];
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
 * Optional decoupled weight decay makes it AdamW (by default on kernels only, see `decayFilter`). `dispose()` frees the moments (on the wasm heap they are not
 * tensors tfjs tracks, so nothing else would).
 *
 * The new weights always go to a new tensor: the wasm backend caches packed XNNPACK weights per tensor id, so
 * writing in place would leave stale weights in its convolution and matmul caches.
 */
export class FusedAdam {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  private readonly decayFilter: (variable: tf.Variable) => boolean;
  private rate: number;
  private steps = 0;
  private disposed = false;
  private readonly moments = new Map<string, Moments>();

  constructor(options: AdamOptions = {}) {
    this.rate = checkLearningRate(options.learningRate ?? 0.001);
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? tf.backend().epsilon();
    this.weightDecay = options.weightDecay ?? 0;
    this.decayFilter = options.decayFilter ?? decaysByDefault;
    if (!(this.epsilon > 0)) throw new RangeError(`Adam epsilon must be > 0, got ${this.epsilon}`);
    if (!(this.weightDecay >= 0 && Number.isFinite(this.weightDecay)))
      throw new RangeError(`Adam weightDecay must be >= 0, got ${this.weightDecay}`);
    for (const [name, value] of Object.entries({ beta1: this.beta1, beta2: this.beta2 }))
      if (!(value >= 0 && value < 1)) throw new RangeError(`Adam ${name} must be in [0, 1), got ${value}`);
  }

  /** Step size of the next update; set it between steps to follow a learning-rate schedule. */
  get learningRate(): number {
    return this.rate;
  }

  set learningRate(value: number) {
    this.rate = checkLearningRate(value);
  }

  /** Number of updates applied so far. */
  get iterations(): number {
    return this.steps;
  }

  /** Applies one update; gradients are keyed by variable name, as `tf.variableGrads` returns them. */
  applyGradients(gradients: tf.NamedTensorMap): void {
    this.checkUsable();
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
      const decay = this.weightDecay > 0 && this.decayFilter(variable) ? this.weightDecay : 0;
      const next =
        moments.where === 'heap'
          ? this.updateOnHeap(moments, variable, gradient, correction1, correction2, decay)
          : this.updateInJs(moments, variable, gradient, correction1, correction2, decay);
      variable.assign(next);
      next.dispose();
    }
  }

  /**
   * A copy of the state for `variables` (e.g. `model.trainableWeights`' variables), in their order. A variable
   * that has had no update yet gets zero moments, which is what Adam starts from.
   */
  getState(variables: readonly tf.Variable[]): AdamState {
    this.checkUsable();
    const m: Float32Array[] = [];
    const v: Float32Array[] = [];
    for (const variable of variables) {
      const moments = this.moments.get(variable.name);
      if (!moments) {
        m.push(new Float32Array(variable.size));
        v.push(new Float32Array(variable.size));
      } else if (moments.where === 'heap') {
        m.push(heapFloat32(moments.backend, moments.m).slice());
        v.push(heapFloat32(moments.backend, moments.v).slice());
      } else {
        m.push(moments.m.slice());
        v.push(moments.v.slice());
      }
    }
    return { iterations: this.steps, m, v };
  }

  /**
   * Restores state saved by `getState` for the same variables in the same order (names may differ: a rebuilt
   * model's variables). The next update continues exactly where the saved optimizer stopped.
   */
  setState(variables: readonly tf.Variable[], state: AdamState): void {
    this.checkUsable();
    const problem = stateMismatch(variables, state);
    if (problem) {
      throw new BackendError(
        'BACKEND_OPTIMIZER_STATE',
        `Adam state does not fit these variables: ${problem}`,
        {
          hint: 'restore a checkpoint into the same architecture, passing its variables in the order they were saved',
        },
      );
    }
    for (const [i, variable] of variables.entries()) {
      this.release(variable.name);
      this.moments.set(variable.name, { where: 'js', m: state.m[i]!.slice(), v: state.v[i]!.slice() });
    }
    this.steps = state.iterations;
  }

  /** Frees the moments. Safe to call more than once; the optimizer cannot be used afterwards. */
  dispose(): void {
    for (const name of [...this.moments.keys()]) this.release(name);
    this.disposed = true;
  }

  private release(name: string): void {
    const moments = this.moments.get(name);
    if (moments?.where === 'heap') {
      moments.backend.disposeData(moments.m.dataId);
      moments.backend.disposeData(moments.v.dataId);
    }
    this.moments.delete(name);
  }

  private checkUsable(): void {
    if (this.disposed)
      throw new BackendError('BACKEND_OPTIMIZER_DISPOSED', 'this FusedAdam has been disposed');
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
    weightDecay: number,
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
      this.rate,
      this.epsilon,
      1 - this.rate * weightDecay,
    );
    return tf.engine().makeTensorFromTensorInfo(out);
  }

  private updateInJs(
    { m, v }: Extract<Moments, { where: 'js' }>,
    variable: tf.Variable,
    gradient: tf.Tensor,
    correction1: number,
    correction2: number,
    weightDecay: number,
  ): tf.Tensor {
    const { beta1, beta2, epsilon, rate: learningRate } = this;
    const decay = 1 - learningRate * weightDecay;
    const w = variable.dataSync() as Float32Array;
    const g = gradient.dataSync() as Float32Array;
    const out = new Float32Array(variable.size);
    for (let i = 0; i < out.length; i += 1) {
      const gi = g[i]!;
      const mi = beta1 * m[i]! + (1 - beta1) * gi;
      const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      out[i] = w[i]! * decay - (learningRate * (mi / correction1)) / (Math.sqrt(vi / correction2) + epsilon);
    }
    return tf.tensor(out, variable.shape, 'float32');
  }
}

function checkLearningRate(value: number): number {
  if (!(value > 0 && Number.isFinite(value)))
    throw new RangeError(`Adam learningRate must be > 0, got ${value}`);
  return value;
}

function stateMismatch(variables: readonly tf.Variable[], state: AdamState): string | undefined {
  if (!Number.isInteger(state.iterations) || state.iterations < 0)
    return `iterations must be a whole number >= 0, got ${state.iterations}`;
  if (state.m.length !== variables.length || state.v.length !== variables.length)
    return `${variables.length} variables but moments for ${state.m.length} (m) and ${state.v.length} (v)`;
  for (const [i, variable] of variables.entries()) {
    if (state.m[i]!.length !== variable.size || state.v[i]!.length !== variable.size)
      return `variable ${i} ('${variable.name}', shape [${variable.shape}]) has ${variable.size} values but its moments have ${state.m[i]!.length} and ${state.v[i]!.length}`;
  }
  return undefined;
}
