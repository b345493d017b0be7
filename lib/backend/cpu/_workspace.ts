/**
 * The CPU backend's workspace: the buffers of the forward and backward passes of a batch, laid
 * out over the parameter layout (lib/model/layout.ts), the choice of the sparse first layer, the
 * passes themselves over the kernels of lib/ops/_dense_blocked.ts and lib/ops/_dense_sparse.ts,
 * and {@linkcode lossAndGradient}, the same passes as a plain function.
 *
 * @module
 */
import { softmaxXentSoftRows } from "../../ops/softmax_xent_soft.ts"; // soft targets (distill)
import {
  inputDim,
  type MlpSpec,
  outputDim,
  type ParamLayout,
  paramLayout,
} from "../../model/mod.ts";
import { type ActivationCode, ACTIVATIONS } from "../../ops/activation.ts";
import { applyMask, dropoutSeedKey, fillDropoutMask } from "../../ops/dropout.ts";
import { type FloatArray, meanSquaredError, softmaxLossRows } from "../../ops/loss.ts";
import { backpropDense, forwardDense, weightGradDense } from "../../ops/_dense_blocked.ts";
import {
  compressRows,
  forwardSparse,
  makeSparseRows,
  SPARSE_MIN_ZEROS,
  type SparseRows,
  transposeRows,
  weightGradSparse,
  zeroFraction,
} from "../../ops/_dense_sparse.ts";

export type FloatArrayConstructor = Float32ArrayConstructor | Float64ArrayConstructor;

/** Buffers for the forward and backward passes of batches of up to `capacity` rows. */
export interface Workspace<T extends FloatArray> {
  /** The parameter layout (lib/model/layout.ts). */
  readonly layout: ParamLayout;
  /** dims[l]: width of acts[l] (the input width, then each dense layer's). */
  readonly dims: ReadonlyArray<number>;
  /** codes[l]: activation code of dense layer l (lib/ops/activation.ts; linear for the last). */
  readonly codes: ReadonlyArray<ActivationCode>;
  /** rates[l]: dropout rate after dense layer l (0 when none). */
  readonly rates: Float64Array;
  readonly softmax: boolean;
  readonly capacity: number;
  /** acts[0]: [capacity, dims[0]] inputs; acts[l]: [capacity, dims[l]] outputs of layer l-1. */
  readonly acts: T[];
  /** deltas[l] (l >= 1): [capacity, dims[l]] gradient of the loss with respect to acts[l]'s pre-activation. */
  readonly deltas: T[];
  /**
   * For a dense layer l-1 followed by dropout: pre[l] [capacity, dims[l]] its activations before
   * the dropout (what the backward pass differentiates) and masks[l] the factors (0 or
   * 1 / (1 - rate)) that made acts[l] from them; empty arrays elsewhere.
   */
  readonly pre: T[];
  readonly masks: T[];
  /** Offsets of each layer's weights and bias within one model's parameters. */
  readonly weightOffsets: Int32Array;
  readonly biasOffsets: Int32Array;
  /** [capacity] labels (softmax head). */
  readonly labels: Int32Array;
  /** [capacity, outDim] targets (linear head). */
  readonly targets: T;
  /**
   * The nonzeros of `acts[0]` when the first layer takes the sparse path (mostly-zero inputs such
   * as MNIST pixels; see lib/ops/_dense_sparse.ts), else `null`. Filled once per batch, shared by replicas.
   */
  readonly sparse: SparseRows<T> | null;
}

/** Whether a workspace holds sparse first-layer inputs: none, by row (prediction), or both ways. */
export type SparseMode = "none" | "rows" | "rows+columns";

export function makeWorkspace<T extends FloatArray>(
  spec: MlpSpec,
  capacity: number,
  Ctor: FloatArrayConstructor,
  sparse: SparseMode = "none",
): Workspace<T> {
  const layout = paramLayout(spec);
  const dims = [layout.inDim, ...layout.layers.map((d) => d.outDim)];
  const depth = layout.layers.length;
  const acts: T[] = [];
  const deltas: T[] = [];
  const pre: T[] = [];
  const masks: T[] = [];
  for (let l = 0; l <= depth; l++) {
    acts.push(new Ctor(capacity * dims[l]) as T);
    deltas.push(new Ctor(l === 0 ? 0 : capacity * dims[l]) as T);
    const dropped = l > 0 && layout.layers[l - 1].dropout > 0;
    pre.push(new Ctor(dropped ? capacity * dims[l] : 0) as T);
    masks.push(new Ctor(dropped ? capacity * dims[l] : 0) as T);
  }
  return {
    layout,
    dims,
    codes: layout.layers.map((d) => ACTIVATIONS[d.activation].code),
    rates: Float64Array.from(layout.layers, (d) => d.dropout),
    softmax: spec.head === "softmax",
    capacity,
    acts,
    deltas,
    pre,
    masks,
    weightOffsets: Int32Array.from(layout.layers, (d) => d.weightOffset),
    biasOffsets: Int32Array.from(layout.layers, (d) => d.biasOffset),
    labels: new Int32Array(capacity),
    targets: new Ctor(capacity * layout.outDim) as T,
    sparse: sparse === "none"
      ? null
      : makeSparseRows<T>(dims[0], capacity, sparse === "rows+columns", Ctor),
  };
}

/** The sparse mode that suits inputs `x`: sparse when they are mostly zeros. */
export function sparseModeFor(x: FloatArray, count: number, training: boolean): SparseMode {
  if (zeroFraction(x, count) < SPARSE_MIN_ZEROS) return "none";
  return training ? "rows+columns" : "rows";
}

/** Which masks a training forward pass draws: the session's seed key, global step and replica. */
export interface Draw {
  seedKey: number;
  step: number;
  replica: number;
}

/**
 * Forward pass of `rows` rows of `ws.acts[0]` (or of `ws.sparse`, already compressed, when the
 * workspace is sparse) through the model at `params[base ...]`; the last layer's pre-activation
 * (logits or outputs) stays in `ws.acts[depth]`. With `draw` (training), dropout layers draw
 * their masks; without it (prediction) they are the identity.
 */
export function forwardRows<T extends FloatArray>(
  ws: Workspace<T>,
  params: T,
  base: number,
  rows: number,
  draw: Draw | null,
): void {
  const { dims, codes, rates, acts, pre, masks, weightOffsets, biasOffsets, sparse } = ws;
  const depth = rates.length;
  for (let l = 0; l < depth; l++) {
    const act = codes[l];
    const w0 = base + weightOffsets[l];
    const b0 = base + biasOffsets[l];
    const rate = rates[l];
    const out = rate > 0 && draw !== null ? pre[l + 1] : acts[l + 1];
    if (l === 0 && sparse !== null) {
      forwardSparse(sparse, rows, params, w0, b0, dims[1], out, act);
    } else {
      forwardDense(acts[l], rows, params, w0, b0, dims[l], dims[l + 1], out, act);
    }
    if (out !== acts[l + 1]) {
      const { seedKey, step, replica } = draw!;
      fillDropoutMask(masks[l + 1], rows, dims[l + 1], seedKey, step, replica, l, rate);
      applyMask(out, masks[l + 1], rows * dims[l + 1], acts[l + 1]);
    }
  }
}

/**
 * Backward pass from `ws.deltas[depth]` (set by the loss): writes the gradient of one model into
 * `grad` ([paramCount], overwritten) using the model at `params[base ...]` and the masks of the
 * forward pass before it. The gradient with respect to the network's input is never needed, so it
 * is never computed.
 */
export function backwardRows<T extends FloatArray>(
  ws: Workspace<T>,
  params: T,
  base: number,
  rows: number,
  grad: T,
): void {
  const { dims, codes, rates, acts, deltas, pre, masks, weightOffsets, biasOffsets, sparse } = ws;
  const depth = rates.length;
  for (let l = depth - 1; l >= 0; l--) {
    const inDim = dims[l];
    const outDim = dims[l + 1];
    const delta = deltas[l + 1]; // [rows, outDim]
    if (l === 0 && sparse !== null) {
      weightGradSparse(sparse, delta, rows, outDim, grad, weightOffsets[0], biasOffsets[0]);
    } else {
      weightGradDense(acts[l], delta, rows, inDim, outDim, grad, weightOffsets[l], biasOffsets[l]);
    }
    if (l === 0) break;
    // [rows, inDim] gradient with respect to the previous layer's pre-activation; through a
    // dropout, the activation's derivative is taken before the mask, and the mask applies after.
    const dropped = rates[l - 1] > 0;
    const a = dropped ? pre[l] : acts[l];
    backpropDense(
      delta,
      rows,
      params,
      base + weightOffsets[l],
      inDim,
      outDim,
      a,
      codes[l - 1],
      deltas[l],
    );
    if (dropped) applyMask(deltas[l], masks[l], rows * inDim, deltas[l]);
  }
}

/** Compresses the batch's inputs for the sparse first layer (no-op for a dense workspace). */
export function prepareInputs<T extends FloatArray>(ws: Workspace<T>, rows: number): void {
  const sparse = ws.sparse;
  if (sparse === null) return;
  compressRows(ws.acts[0], rows, sparse);
  if (sparse.colStart.length > 0) transposeRows(sparse, rows);
}

/** Mutable argument objects for the loss functions, kept per workspace so steps allocate nothing. */
export interface LossArgs<T extends FloatArray> {
  mse: { outputs: T; targets: T; rows: number; dim: number; grad: T };
  /** Soft targets (distill): the temperature of lib/ops/softmax_xent_soft.ts, else null. */
  softTemperature: number | null;
}

/** The loss arguments of a workspace; `softTemperature` for soft targets (distill). */
export function makeLossArgs<T extends FloatArray>(
  ws: Workspace<T>,
  softTemperature: number | null = null,
): LossArgs<T> {
  const depth = ws.dims.length - 1;
  const dim = ws.dims[depth];
  return {
    mse: { outputs: ws.acts[depth], targets: ws.targets, rows: 0, dim, grad: ws.deltas[depth] },
    softTemperature,
  };
}

/**
 * Loss of the last forward pass; writes its gradient into `ws.deltas[depth]` and the number of
 * correctly classified rows into `correct[at]` (0 for a linear head).
 */
export function lossRows<T extends FloatArray>(
  ws: Workspace<T>,
  args: LossArgs<T>,
  rows: number,
  correct: FloatArray,
  at: number,
): number {
  // Soft targets (distill): ws.targets holds the batch's [rows, classes] probabilities.
  if (args.softTemperature !== null) {
    const depth = ws.dims.length - 1;
    const { acts, targets, deltas, dims } = ws;
    const t = args.softTemperature;
    return softmaxXentSoftRows(
      acts[depth],
      targets,
      rows,
      dims[depth],
      t,
      deltas[depth],
      correct,
      at,
    );
  }
  if (ws.softmax) {
    const depth = ws.dims.length - 1;
    const logits = ws.acts[depth];
    return softmaxLossRows(
      logits,
      ws.labels,
      rows,
      ws.dims[depth],
      ws.deltas[depth],
      correct,
      at,
    );
  }
  correct[at] = 0;
  args.mse.rows = rows;
  return meanSquaredError(args.mse);
}

/** Options of {@linkcode lossAndGradient}. */
export interface LossAndGradientOptions<T extends FloatArray> {
  /** The network. */
  readonly spec: MlpSpec;
  /** [paramCount(spec)] parameters of one model. */
  readonly params: T;
  /** [rows, inDim] inputs of the batch. */
  readonly x: FloatArray;
  /**
   * [rows] labels (softmax head), [rows, outDim] targets (linear head), or with `targets: "soft"`
   * [rows, classes] target probabilities.
   */
  readonly y: Int32Array | FloatArray;
  /** `"soft"`: `y` holds probabilities (as `TrainingData.targets`; default `"labels"`). */
  readonly targets?: "labels" | "soft";
  /** Temperature of soft targets (default 1; as `TrainingData.temperature`). */
  readonly temperature?: number;
  /** Number of rows of the batch. */
  readonly rows: number;
  /** [paramCount(spec)] receives the gradient of the mean loss (same array type as `params`). */
  readonly grad: T;
  /** Seed of the dropout masks (default 0; as `SessionOptions.seed`). */
  readonly seed?: number;
  /** Global step the dropout masks are drawn for (default 0; as `StepPlan.firstStep`). */
  readonly step?: number;
}

/**
 * The CPU backend's forward and backward pass on one batch, as a plain function: the mean loss and
 * its gradient. It runs in the precision of `params` (`Float64Array` for finite-difference checks,
 * `Float32Array` as in training), with the very loops that sessions run. Dropout layers draw the
 * masks of `seed` and `step` (as a session with that seed draws them for replica 0 at that global
 * step), so the masks stay fixed while `params` vary.
 *
 * @example The gradient of a one-layer softmax classifier at zero weights
 * ```ts
 * import { mlp } from "@snapfold/snapfold";
 * import { lossAndGradient } from "./_workspace.ts";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [1, 2] });
 * const grad = new Float64Array(4); // [w00, w01, b0, b1]
 * const loss = lossAndGradient({
 *   spec,
 *   params: new Float64Array(4),
 *   x: new Float64Array([2]),
 *   y: new Int32Array([1]),
 *   rows: 1,
 *   grad,
 * });
 * assert.ok(Math.abs(loss - Math.log(2)) < 1e-12);
 * assert.deepEqual([...grad], [1, -1, 0.5, -0.5]);
 * ```
 *
 * @param options The network, parameters, batch and gradient output.
 * @returns The mean loss of the batch.
 */
export function lossAndGradient<T extends FloatArray>(options: LossAndGradientOptions<T>): number {
  const { spec, params, x, y, rows, grad } = options;
  const count = rows * inputDim(spec);
  const ws = makeWorkspace<T>(
    spec,
    rows,
    params.constructor as FloatArrayConstructor,
    sparseModeFor(x, count, true),
  );
  ws.acts[0].set(x.subarray(0, count));
  const soft = options.targets === "soft"; // soft targets (distill)
  if (spec.head === "softmax" && !soft) ws.labels.set((y as Int32Array).subarray(0, rows));
  else ws.targets.set((y as FloatArray).subarray(0, rows * outputDim(spec)));
  prepareInputs(ws, rows);
  forwardRows(ws, params, 0, rows, {
    seedKey: dropoutSeedKey(options.seed ?? 0),
    step: options.step ?? 0,
    replica: 0,
  });
  const args = makeLossArgs(ws, soft ? options.temperature ?? 1 : null);
  const loss = lossRows(ws, args, rows, new Float64Array(1), 0);
  backwardRows(ws, params, 0, rows, grad);
  return loss;
}
