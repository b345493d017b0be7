/**
 * The CPU references for the losses and activations: numerically stable fused softmax
 * cross-entropy, mean squared error, and the hidden activations with their derivatives. Every
 * backend's kernels are checked against these.
 *
 * Conventions (shared with PyTorch's `nn.CrossEntropyLoss` and `nn.MSELoss` with the default
 * `reduction="mean"`):
 * - softmax cross-entropy: `mean_b (logsumexp(z_b) - z_b[y_b])`, gradient `(softmax(z) - onehot(y)) /
 *   batch`. The max is subtracted before `exp`, so large logits never overflow.
 * - mean squared error: mean over samples and outputs, gradient `2 (out - target) / (batch * dim)`.
 * - activation derivatives are written in terms of the activation's output `a` (what the forward
 *   pass keeps): relu `a > 0 ? 1 : 0` (so relu'(0) = 0, like PyTorch), tanh `1 - a^2`, sigmoid
 *   `a (1 - a)`, linear `1`.
 *
 * @module
 */
import { type Activation, ACTIVATIONS } from "./activation.ts";
import type { KernelCall } from "./kernel_call.ts";
import { llvmpipeLoopCharge } from "../backend/webgpu/_quirks.ts";

/** A typed array of floats: `Float32Array` for training, `Float64Array` for gradient checks. */
export type FloatArray = Float32Array | Float64Array;

/**
 * Applies a hidden activation to one pre-activation value (`ACTIVATIONS[activation].f`).
 *
 * @example
 * ```ts
 * import { activate } from "./loss.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(activate("relu", -2), 0);
 * assert.equal(activate("sigmoid", 0), 0.5);
 * assert.equal(activate("linear", -2), -2);
 * ```
 *
 * @param activation The activation.
 * @param z The pre-activation.
 * @returns The activation's output.
 */
export function activate(activation: Activation, z: number): number {
  return ACTIVATIONS[activation].f(z);
}

/**
 * The derivative of a hidden activation, written in terms of its output `a = activate(z)`
 * (`ACTIVATIONS[activation].dfOfOutput`).
 *
 * @example relu'(0) is 0, as in PyTorch
 * ```ts
 * import { activate, activationDerivative } from "./loss.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(activationDerivative("relu", activate("relu", 0)), 0);
 * assert.equal(activationDerivative("tanh", activate("tanh", 0)), 1);
 * assert.equal(activationDerivative("sigmoid", activate("sigmoid", 0)), 0.25);
 * ```
 *
 * @param activation The activation.
 * @param a The activation's output.
 * @returns `d activate(z) / dz` at the `z` that produced `a`.
 */
export function activationDerivative(activation: Activation, a: number): number {
  return ACTIVATIONS[activation].dfOfOutput(a);
}

/**
 * Replaces every row of `values` by its softmax, stably (the row max is subtracted first).
 *
 * @example
 * ```ts
 * import { softmaxRows } from "./loss.ts";
 * import assert from "node:assert/strict";
 *
 * const p = softmaxRows(new Float64Array([1000, 1000, 0, Math.log(3)]), 2); // [2, 2]
 * assert.deepEqual([...p], [0.5, 0.5, 0.25, 0.75]);
 * ```
 *
 * @param values [rows, classes] logits, overwritten.
 * @param classes Row width.
 * @returns `values`, now probabilities.
 */
export function softmaxRows<T extends FloatArray>(values: T, classes: number): T {
  const rows = Math.floor(values.length / classes);
  for (let b = 0; b < rows; b++) {
    const row = b * classes;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) if (values[row + c] > max) max = values[row + c];
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      const e = Math.exp(values[row + c] - max);
      values[row + c] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let c = 0; c < classes; c++) values[row + c] *= inv;
  }
  return values;
}

/** Arguments of {@linkcode softmaxCrossEntropy}. */
export interface SoftmaxCrossEntropyArgs {
  /** [>= rows, classes] logits. */
  readonly logits: FloatArray;
  /** [>= rows] class labels in `[0, classes)`. */
  readonly labels: Int32Array;
  /** Number of rows of the batch. */
  readonly rows: number;
  /** Number of classes. */
  readonly classes: number;
  /** [>= rows, classes] receives `(softmax(logits) - onehot(labels)) / rows` when given. */
  readonly grad?: FloatArray;
}

/**
 * Fused, numerically stable softmax cross-entropy: the mean over the batch of `logsumexp(z) -
 * z[label]`, and optionally its gradient with respect to the logits.
 *
 * @example
 * ```ts
 * import { softmaxCrossEntropy } from "./loss.ts";
 * import assert from "node:assert/strict";
 *
 * const grad = new Float64Array(4);
 * const loss = softmaxCrossEntropy({
 *   logits: new Float64Array([0, 0, 2000, 0]), // [2, 2]: one uncertain row, one confident row
 *   labels: new Int32Array([1, 0]),
 *   rows: 2,
 *   classes: 2,
 *   grad,
 * });
 * assert.ok(Math.abs(loss - Math.log(2) / 2) < 1e-12);
 * assert.deepEqual([...grad], [0.25, -0.25, 0, 0]);
 * ```
 *
 * @param args The logits, labels, batch size, classes and an optional gradient output.
 * @returns The mean loss.
 */
export function softmaxCrossEntropy(args: SoftmaxCrossEntropyArgs): number {
  const { logits, labels, rows, classes, grad } = args;
  const scale = 1 / rows;
  let total = 0;
  for (let b = 0; b < rows; b++) {
    const row = b * classes;
    const label = labels[b];
    let max = -Infinity;
    for (let c = 0; c < classes; c++) if (logits[row + c] > max) max = logits[row + c];
    let sum = 0;
    if (grad === undefined) {
      for (let c = 0; c < classes; c++) sum += Math.exp(logits[row + c] - max);
    } else {
      // Each exponential once, kept in grad until the sum is known: exp dominated this loop.
      for (let c = 0; c < classes; c++) {
        const e = Math.exp(logits[row + c] - max);
        grad[row + c] = e;
        sum += e;
      }
      const inv = scale / sum;
      for (let c = 0; c < classes; c++) grad[row + c] *= inv;
      grad[row + label] -= scale;
    }
    total += max + Math.log(sum) - logits[row + label];
  }
  return total * scale;
}

/** Arguments of {@linkcode meanSquaredError}. */
export interface MeanSquaredErrorArgs {
  /** [>= rows, dim] outputs. */
  readonly outputs: FloatArray;
  /** [>= rows, dim] targets. */
  readonly targets: FloatArray;
  /** Number of rows of the batch. */
  readonly rows: number;
  /** Number of outputs per row. */
  readonly dim: number;
  /** [>= rows, dim] receives `2 (outputs - targets) / (rows * dim)` when given. */
  readonly grad?: FloatArray;
}

/**
 * Mean squared error over samples and outputs (PyTorch's `MSELoss()`), and optionally its gradient.
 *
 * @example
 * ```ts
 * import { meanSquaredError } from "./loss.ts";
 * import assert from "node:assert/strict";
 *
 * const grad = new Float64Array(2);
 * const loss = meanSquaredError({
 *   outputs: new Float64Array([1, 3]),
 *   targets: new Float64Array([0, 0]),
 *   rows: 2,
 *   dim: 1,
 *   grad,
 * });
 * assert.equal(loss, 5);
 * assert.deepEqual([...grad], [1, 3]);
 * ```
 *
 * @param args The outputs, targets, batch size, width and an optional gradient output.
 * @returns The mean loss.
 */
export function meanSquaredError(args: MeanSquaredErrorArgs): number {
  const { outputs, targets, rows, dim, grad } = args;
  const count = rows * dim;
  const scale = 2 / count;
  let total = 0;
  for (let k = 0; k < count; k++) {
    const d = outputs[k] - targets[k];
    total += d * d;
    if (grad !== undefined) grad[k] = d * scale;
  }
  return total / count;
}

/** Arguments of {@linkcode countCorrect}. */
export interface CountCorrectArgs {
  /** [>= rows, classes] logits or probabilities. */
  readonly scores: FloatArray;
  /** [>= rows] class labels. */
  readonly labels: Int32Array;
  /** Number of rows of the batch. */
  readonly rows: number;
  /** Number of classes. */
  readonly classes: number;
}

/**
 * Counts the rows whose arg-max (the first maximal class on ties) equals the label.
 *
 * @example
 * ```ts
 * import { countCorrect } from "./loss.ts";
 * import assert from "node:assert/strict";
 *
 * const scores = new Float32Array([0.1, 0.9, 0.5, 0.5, 2, 1]); // [3, 2]
 * assert.equal(countCorrect({ scores, labels: new Int32Array([1, 1, 0]), rows: 3, classes: 2 }), 2);
 * ```
 *
 * @param args The scores, labels, batch size and classes.
 * @returns The number of correct rows.
 */
export function countCorrect(args: CountCorrectArgs): number {
  const { scores, labels, rows, classes } = args;
  let correct = 0;
  for (let b = 0; b < rows; b++) {
    const row = b * classes;
    let best = 0;
    for (let c = 1; c < classes; c++) if (scores[row + c] > scores[row + best]) best = c;
    if (best === labels[b]) correct++;
  }
  return correct;
}

/**
 * Softmax cross-entropy and its gradient, as `softmaxCrossEntropy` in lib/ops/loss.ts computes them
 * (the same operations in the same order, so the same bits), fused with `countCorrect`: the row
 * max that stabilises the exponentials also finds the arg-max, so the logits are read once.
 *
 * @param logits [rows, classes] logits.
 * @param labels [rows] class labels.
 * @param rows Number of rows.
 * @param classes Number of classes.
 * @param grad [rows, classes] receives `(softmax(logits) - onehot(labels)) / rows`.
 * @param correct Receives, at `at`, the number of rows whose first maximal logit is the label's.
 * @param at Where to write the count.
 * @returns The mean loss.
 */
export function softmaxLossRows(
  logits: FloatArray,
  labels: Int32Array,
  rows: number,
  classes: number,
  grad: FloatArray,
  correct: FloatArray,
  at: number,
): number {
  const scale = 1 / rows;
  let total = 0;
  let hits = 0;
  for (let b = 0; b < rows; b++) {
    const row = b * classes;
    const label = labels[b];
    let max = -Infinity;
    let best = 0;
    for (let c = 0; c < classes; c++) {
      const z = logits[row + c];
      if (z > max) max = z, best = c;
    }
    // countCorrect starts from class 0, and nothing beats a NaN there; the max above skips it.
    const first = logits[row];
    if ((first === first ? best : 0) === label) hits++;
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      const e = Math.exp(logits[row + c] - max);
      grad[row + c] = e;
      sum += e;
    }
    const inv = scale / sum;
    for (let c = 0; c < classes; c++) grad[row + c] *= inv;
    grad[row + label] -= scale;
    total += max + Math.log(sum) - logits[row + label];
  }
  correct[at] = hits;
  return total * scale;
}

/**
 * The training loss head's call: shaders/softmax_xent.wgsl (cross-entropy, mirroring
 * {@linkcode softmaxCrossEntropy} and {@linkcode countCorrect}) or shaders/mse.wgsl (mirroring
 * {@linkcode meanSquaredError}), over the last layer's outputs `{ act: layers }`, writing their
 * gradient `{ delta: layers }` and the step's statistics row. One workgroup of 64 per replica, each
 * invocation taking every 64th row, then one invocation sums the 64 partial results.
 *
 * @example
 * ```ts
 * import { lossCall } from "./loss.ts";
 * import assert from "node:assert/strict";
 *
 * const call = lossCall("softmax", { layers: 2, outDim: 3, replicas: 4 });
 * assert.equal(call.shader, "softmax_xent");
 * assert.deepEqual(call.grid(32), [1, 1, 4]);
 * ```
 *
 * @param head `"softmax"` (cross-entropy) or `"linear"` (mean squared error).
 * @param shape The number of dense layers, the output width and the replicas.
 * @returns The call.
 */
export function lossCall(
  head: "softmax" | "linear",
  shape: {
    readonly layers: number;
    readonly outDim: number;
    readonly replicas: number;
    /** Soft targets (distill): `y` holds [n, classes] probabilities, softened by this. */
    readonly softTemperature?: number;
  },
): KernelCall {
  const { layers: L, outDim: out, replicas: R, softTemperature } = shape;
  const charge = llvmpipeLoopCharge;
  const perRow = head === "softmax"
    ? charge(out - 1) + 2 * charge(out) // argmax from class 1, sum, gradient
    : charge(out);
  const soft = softTemperature !== undefined;
  const shader = soft ? "softmax_xent_soft" : head === "softmax" ? "softmax_xent" : "mse";
  return {
    shader,
    label: shader,
    constants: soft
      ? { OUT_DIM: out, REPLICAS: R, TEMPERATURE: softTemperature }
      : { OUT_DIM: out, REPLICAS: R },
    bindings: [{ act: L }, "y", "indices", { delta: L }, "stats"],
    grid: () => [1, 1, R],
    loopCharge: (rows) => {
      const mine = Math.ceil(rows / 64); // rows of the busiest invocation
      return mine * perRow + charge(mine) + charge(64);
    },
  };
}

/**
 * The prediction softmax's call (shaders/softmax.wgsl, mirroring {@linkcode softmaxRows}): the
 * logits of every member `{ act: layers }` [members, rows, outDim] into probabilities, in place.
 *
 * @example
 * ```ts
 * import { softmaxCall } from "./loss.ts";
 * import assert from "node:assert/strict";
 *
 * const call = softmaxCall({ layers: 2, outDim: 3, members: 10, rows: 128 });
 * assert.deepEqual(call.constants, { OUT_DIM: 3, STRIDE: 384 });
 * assert.deepEqual(call.grid(100), [2, 1, 10]);
 * ```
 *
 * @param shape Dense layers, output width, members and rows per chunk.
 * @returns The call.
 */
export function softmaxCall(
  shape: {
    readonly layers: number;
    readonly outDim: number;
    readonly members: number;
    readonly rows: number;
  },
): KernelCall {
  const { outDim: out, members: M } = shape;
  const perRow = llvmpipeLoopCharge(out - 1) + 2 * llvmpipeLoopCharge(out);
  return {
    shader: "softmax",
    label: "softmax",
    constants: { OUT_DIM: out, STRIDE: shape.rows * out },
    bindings: [{ act: shape.layers }],
    grid: (rows) => [Math.ceil(rows / 64), 1, M],
    loopCharge: () => perRow,
  };
}
