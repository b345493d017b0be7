/**
 * The CPU backend: plain TypeScript loops on typed arrays. It is the oracle every other backend is
 * checked against, and on a software WebGPU adapter it is also the fastest choice for small models.
 *
 * Every buffer of a session is allocated when the session is created (or when a plan brings a larger
 * batch than seen before); the step loop allocates nothing. Matrix products are register-blocked
 * (lib/backend/_cpu_kernels.ts); when the training inputs are mostly zeros (MNIST pixels), the first
 * layer visits only the nonzeros, which is exact; the gradient with respect to the network's input
 * is never computed. Prediction of stacked members makes one pass over blocks of rows, running every
 * member on a block before the next.
 *
 * @module
 */
import { orThrow, SnapfoldError } from "../errors.ts";
import { type FloatArray, meanSquaredError } from "../losses.ts";
import {
  inputDim,
  type MlpSpec,
  outputDim,
  paramCount,
  type ParamLayout,
  paramLayout,
} from "../model/mod.ts";
import { type ActivationCode, ACTIVATIONS } from "../ops/activation.ts";
import { applyMask, dropoutSeedKey, fillDropoutMask } from "../ops/dropout.ts";
import {
  type ShiftAugment,
  shiftDense,
  shiftDx,
  shiftDy,
  shiftStream,
  shiftWord,
} from "../ops/shift.ts";
import { type Optimizer, optimizerStateSize, ruleOf } from "../optimizers/mod.ts";
import { combineRows } from "../ops/combine.ts";
import {
  backpropDense,
  compressGathered,
  compressRows,
  forwardDense,
  forwardSparse,
  makeSparseRows,
  softmaxLossRows,
  SPARSE_MIN_ZEROS,
  type SparseRows,
  transposeRows,
  weightGradDense,
  weightGradSparse,
  zeroFraction,
} from "./_cpu_kernels.ts";
import type {
  Backend,
  PredictOptions,
  SessionOptions,
  StepPlan,
  StepStats,
  TrainingData,
  TrainingSession,
} from "./backend.ts";
import { validatePlan, validatePredict, validateSession } from "./_validate.ts";

type FloatArrayConstructor = Float32ArrayConstructor | Float64ArrayConstructor;

/** Buffers for the forward and backward passes of batches of up to `capacity` rows. */
interface Workspace<T extends FloatArray> {
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
   * as MNIST pixels; see _cpu_kernels.ts), else `null`. Filled once per batch, shared by replicas.
   */
  readonly sparse: SparseRows<T> | null;
}

/** Whether a workspace holds sparse first-layer inputs: none, by row (prediction), or both ways. */
type SparseMode = "none" | "rows" | "rows+columns";

function makeWorkspace<T extends FloatArray>(
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
function sparseModeFor(x: FloatArray, count: number, training: boolean): SparseMode {
  if (zeroFraction(x, count) < SPARSE_MIN_ZEROS) return "none";
  return training ? "rows+columns" : "rows";
}

/** Which masks a training forward pass draws: the session's seed key, global step and replica. */
interface Draw {
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
function forwardRows<T extends FloatArray>(
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
function backwardRows<T extends FloatArray>(
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
function prepareInputs<T extends FloatArray>(ws: Workspace<T>, rows: number): void {
  const sparse = ws.sparse;
  if (sparse === null) return;
  compressRows(ws.acts[0], rows, sparse);
  if (sparse.colStart.length > 0) transposeRows(sparse, rows);
}

/** Mutable argument objects for the loss functions, kept per workspace so steps allocate nothing. */
interface LossArgs<T extends FloatArray> {
  mse: { outputs: T; targets: T; rows: number; dim: number; grad: T };
}

function makeLossArgs<T extends FloatArray>(ws: Workspace<T>): LossArgs<T> {
  const depth = ws.dims.length - 1;
  const dim = ws.dims[depth];
  return {
    mse: { outputs: ws.acts[depth], targets: ws.targets, rows: 0, dim, grad: ws.deltas[depth] },
  };
}

/**
 * Loss of the last forward pass; writes its gradient into `ws.deltas[depth]` and the number of
 * correctly classified rows into `correct[at]` (0 for a linear head).
 */
function lossRows<T extends FloatArray>(
  ws: Workspace<T>,
  args: LossArgs<T>,
  rows: number,
  correct: FloatArray,
  at: number,
): number {
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
  /** [rows] labels (softmax head) or [rows, outDim] targets (linear head). */
  readonly y: Int32Array | FloatArray;
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
 * import { lossAndGradient, mlp } from "@snapfold/snapfold";
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
  if (spec.head === "softmax") ws.labels.set((y as Int32Array).subarray(0, rows));
  else ws.targets.set((y as FloatArray).subarray(0, rows * outputDim(spec)));
  prepareInputs(ws, rows);
  forwardRows(ws, params, 0, rows, {
    seedKey: dropoutSeedKey(options.seed ?? 0),
    step: options.step ?? 0,
    replica: 0,
  });
  const loss = lossRows(ws, makeLossArgs(ws), rows, new Float64Array(1), 0);
  backwardRows(ws, params, 0, rows, grad);
  return loss;
}

function disposedError(what: string): SnapfoldError {
  return new SnapfoldError(
    `Cannot ${what}: the training session was disposed; create a new session`,
  );
}

class CpuSession implements TrainingSession {
  readonly paramCount: number;
  readonly replicas: number;
  #spec: MlpSpec;
  #optimizer: Optimizer;
  #params: Float32Array; // [replicas, paramCount]
  #state: Float32Array; // [replicas, stateSize]
  #x: Float32Array; // [n, inDim]
  #labels: Int32Array; // [n] (softmax head)
  #targets: Float32Array; // [n, outDim] (linear head)
  #n: number;
  #grad: Float32Array; // [paramCount]
  #ws: Workspace<Float32Array>;
  #sparseMode: SparseMode; // decided once from the whole training set
  #draw: Draw; // which dropout masks the next forward pass draws
  #lossArgs: LossArgs<Float32Array>;
  #statLoss: Float32Array = new Float32Array(0); // [capacity, replicas]
  #statCorrect: Float32Array = new Float32Array(0);
  #statSteps = 0;
  #disposed = false;
  #onDispose: (session: CpuSession) => void;
  #augment: ShiftAugment | undefined; // random shifts of the batch rows
  #identity: Int32Array = new Int32Array(0); // 0, 1, ... (compressing the shifted batch)

  constructor(
    spec: MlpSpec,
    optimizer: Optimizer,
    params: Float32Array,
    state: Float32Array,
    data: TrainingData,
    replicas: number,
    seed: number,
    onDispose: (session: CpuSession) => void,
    augment?: ShiftAugment,
  ) {
    this.paramCount = paramCount(spec);
    this.replicas = replicas;
    this.#spec = spec;
    this.#optimizer = optimizer;
    this.#params = params;
    this.#state = state;
    this.#x = data.x.slice();
    this.#n = data.n;
    this.#labels = spec.head === "softmax" ? (data.y as Int32Array).slice() : new Int32Array(0);
    this.#targets = spec.head === "linear" ? (data.y as Float32Array).slice() : new Float32Array(0);
    this.#grad = new Float32Array(this.paramCount);
    this.#sparseMode = sparseModeFor(this.#x, this.#x.length, true);
    this.#ws = makeWorkspace<Float32Array>(spec, 1, Float32Array, this.#sparseMode);
    this.#lossArgs = makeLossArgs(this.#ws);
    this.#draw = { seedKey: dropoutSeedKey(seed), step: 0, replica: 0 };
    this.#onDispose = onDispose;
    this.#augment = augment;
  }

  run(plan: StepPlan): void {
    if (this.#disposed) throw disposedError("run steps");
    const maxRows = orThrow("Cannot run steps", validatePlan(plan, this.#n));
    const steps = plan.lrs.length;
    if (maxRows > this.#ws.capacity) {
      this.#ws = makeWorkspace<Float32Array>(this.#spec, maxRows, Float32Array, this.#sparseMode);
      this.#lossArgs = makeLossArgs(this.#ws);
    }
    this.#reserveStats(steps);
    const R = this.replicas;
    const P = this.paramCount;
    const inDim = inputDim(this.#spec);
    const outDim = outputDim(this.#spec);
    const softmax = this.#spec.head === "softmax";
    const { indices, offsets, lrs, resets, firstStep = 0 } = plan;
    const draw = this.#draw;
    const ws = this.#ws;
    const args = this.#lossArgs;
    const x = this.#x;
    const input = ws.acts[0];
    const sparse = ws.sparse;
    const labels = ws.labels;
    const targets = ws.targets;
    const sourceLabels = this.#labels;
    const sourceTargets = this.#targets;
    const params = this.#params;
    const state = this.#state;
    const grad = this.#grad;
    const optimizer = this.#optimizer;
    // The rule's fast twin where it has one (SGD's heavy-ball loop: the tutorial's rule), looked
    // up once per run, outside the step loop.
    const rule = ruleOf(optimizer);
    const update = rule.fastUpdate ?? rule.update;
    const statLoss = this.#statLoss;
    const statCorrect = this.#statCorrect;
    let statRow = this.#statSteps * R;
    for (let s = 0; s < steps; s++) {
      const start = offsets[s];
      const rows = offsets[s + 1] - start;
      // Gather the batch once; every replica trains on it. Mostly-zero inputs go straight into
      // their sparse form (the dense copy would never be read).
      if (this.#augment !== undefined) {
        this.#gatherShifted(indices, start, rows, firstStep + s);
      } else if (sparse !== null) {
        compressGathered(x, indices, start, rows, sparse);
        transposeRows(sparse, rows);
      }
      for (let b = 0; b < rows; b++) {
        const src = indices[start + b];
        if (sparse === null && this.#augment === undefined) {
          // Element loops rather than `set(subarray(...))`: a subarray is an allocation per row.
          const from = src * inDim;
          const to = b * inDim;
          for (let i = 0; i < inDim; i++) input[to + i] = x[from + i];
        }
        if (softmax) labels[b] = sourceLabels[src];
        else {
          const tFrom = src * outDim;
          const tTo = b * outDim;
          for (let o = 0; o < outDim; o++) targets[tTo + o] = sourceTargets[tFrom + o];
        }
      }
      if (resets !== undefined && resets[s] !== 0) state.fill(0);
      const lr = lrs[s];
      for (let r = 0; r < R; r++) {
        const base = r * P;
        draw.step = firstStep + s;
        draw.replica = r;
        forwardRows(ws, params, base, rows, draw);
        statLoss[statRow] = lossRows(ws, args, rows, statCorrect, statRow);
        statRow++;
        backwardRows(ws, params, base, rows, grad);
        update(optimizer, params, grad, state, lr, r);
      }
    }
    this.#statSteps += steps;
  }

  /** The batch's rows shifted (see `shift`) into the dense input, then compressed if sparse. */
  #gatherShifted(indices: Int32Array, start: number, rows: number, step: number): void {
    const { width, height, maxShift } = this.#augment!;
    const input = this.#ws.acts[0];
    const inDim = width * height;
    const stream = shiftStream(this.#draw.seedKey, step);
    for (let b = 0; b < rows; b++) {
      const word = shiftWord(stream, b);
      const dx = shiftDx(word, maxShift);
      const dy = shiftDy(word, maxShift);
      shiftDense(this.#x, indices[start + b] * inDim, input, b * inDim, width, height, dx, dy);
    }
    const sparse = this.#ws.sparse;
    if (sparse === null) return;
    if (this.#identity.length < rows) {
      this.#identity = Int32Array.from({ length: rows }, (_, i) => i);
    }
    compressGathered(input, this.#identity, 0, rows, sparse);
    transposeRows(sparse, rows);
  }

  #reserveStats(steps: number): void {
    const needed = (this.#statSteps + steps) * this.replicas;
    if (needed <= this.#statLoss.length) return;
    const capacity = Math.max(needed, 2 * this.#statLoss.length, 64 * this.replicas);
    const loss = new Float32Array(capacity);
    const correct = new Float32Array(capacity);
    loss.set(this.#statLoss);
    correct.set(this.#statCorrect);
    this.#statLoss = loss;
    this.#statCorrect = correct;
  }

  readStats(): Promise<StepStats> {
    if (this.#disposed) return Promise.reject(disposedError("read statistics"));
    const end = this.#statSteps * this.replicas;
    const stats = { loss: this.#statLoss.slice(0, end), correct: this.#statCorrect.slice(0, end) };
    this.#statSteps = 0;
    return Promise.resolve(stats);
  }

  readParams(): Promise<Float32Array> {
    if (this.#disposed) return Promise.reject(disposedError("read parameters"));
    return Promise.resolve(this.#params.slice());
  }

  readOptimizerState(): Promise<Float32Array> {
    if (this.#disposed) return Promise.reject(disposedError("read the optimizer state"));
    return Promise.resolve(this.#state.slice());
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    // Drop every buffer so the memory can be collected even if the session object lives on.
    this.#params =
      this.#state =
      this.#x =
      this.#targets =
      this.#grad =
        new Float32Array(0);
    this.#labels = new Int32Array(0);
    this.#statLoss = this.#statCorrect = new Float32Array(0);
    this.#ws = makeWorkspace<Float32Array>(this.#spec, 0, Float32Array);
    this.#lossArgs = makeLossArgs(this.#ws);
    this.#onDispose(this);
  }
}

/**
 * Rows per block of prediction: every member runs over one block before the next block starts, so
 * the block's inputs (and their nonzeros) are read from cache by all members; 256 rows of MNIST
 * with its nonzeros take about 2 MB.
 */
const PREDICT_BLOCK = 256;

/**
 * Creates the CPU backend.
 *
 * @example Train two replicas for a few steps, then predict with both
 * ```ts
 * import { createCpuBackend, initParams, mlp, sgd } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const backend = createCpuBackend();
 * const spec = mlp({ layers: [2, 8, 2] });
 * const x = new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]); // [4, 2]
 * const y = new Int32Array([0, 1, 1, 0]);
 * const session = await backend.createSession({
 *   spec,
 *   optimizer: sgd({ momentum: 0.9 }),
 *   params: initParams(spec, { seed: 1, replicas: 2 }),
 *   replicas: 2,
 *   data: { x, y, n: 4 },
 * });
 * const steps = 50;
 * session.run({
 *   indices: new Int32Array(steps * 4).map((_, k) => k % 4),
 *   offsets: new Int32Array(steps + 1).map((_, s) => 4 * s),
 *   lrs: new Float32Array(steps).fill(0.1),
 * });
 * const stats = await session.readStats(); // [steps, replicas]
 * assert.equal(stats.loss.length, steps * 2);
 * assert.ok(stats.loss[(steps - 1) * 2] < stats.loss[0]);
 * const probs = await backend.predict({ spec, params: await session.readParams(), members: 2, x, n: 4 });
 * assert.equal(probs.length, 8);
 * backend.dispose();
 * await assert.rejects(session.readParams(), /session was disposed/);
 * ```
 *
 * @returns A backend whose sessions train on the CPU.
 */
export function createCpuBackend(): Backend {
  const sessions = new Set<CpuSession>();
  let disposed = false;
  const assertLive = (what: string) => {
    if (disposed) {
      throw new SnapfoldError(
        `Cannot ${what}: the CPU backend was disposed; create a new one with createCpuBackend()`,
      );
    }
  };
  return {
    kind: "cpu",
    readCost: "free",
    adapter: null,
    softwareAdapter: false,
    readbacks: 0,
    createSession(options: SessionOptions): Promise<TrainingSession> {
      try {
        assertLive("create a session");
        const data = orThrow("Cannot create a training session", validateSession(options));
        const { spec, optimizer, params, replicas = 1, optimizerState, seed = 0 } = options;
        const size = replicas * optimizerStateSize(optimizer, paramCount(spec));
        const session = new CpuSession(
          spec,
          optimizer,
          params.slice(),
          optimizerState !== undefined ? optimizerState.slice() : new Float32Array(size),
          data,
          replicas,
          seed,
          (s) => sessions.delete(s),
          options.augment,
        );
        sessions.add(session);
        return Promise.resolve(session);
      } catch (e) {
        return Promise.reject(e);
      }
    },
    predict(options: PredictOptions): Promise<Float32Array> {
      try {
        assertLive("predict");
        const x = orThrow("Cannot predict", validatePredict(options));
        return Promise.resolve(predictCpu(options, x));
      } catch (e) {
        return Promise.reject(e);
      }
    },
    dispose(): void {
      if (disposed) return;
      disposed = true;
      for (const session of [...sessions]) session.dispose();
    },
  };
}

/**
 * Fused ensemble inference: one pass over the rows in blocks; within a block, every member's forward
 * pass, softmax and weighted sum. The workspace, the compressed inputs and the output are the only
 * allocations, once per call, none per member.
 */
/**
 * The CPU backend's prediction as a plain synchronous function: all stacked members in one pass
 * over blocks of rows (each member's forward pass, softmax and the weighted mean per block), with
 * nothing allocated per member. `Backend.predict` of the CPU backend is this, wrapped in a promise.
 *
 * @example The mean of two members' probabilities
 * ```ts
 * import { initParams, mlp, paramCount, predictStackedCpu } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 4, 3] });
 * const params = initParams(spec, { seed: 1, replicas: 2 }); // [2, paramCount]
 * const x = new Float32Array([0.5, -1, 2, 0]); // [2, 2]
 * const mean = predictStackedCpu({ spec, params, members: 2, x, n: 2 });
 * const each = predictStackedCpu({ spec, params, members: 2, x, n: 2, combine: "none" });
 * for (let k = 0; k < 6; k++) assert.ok(Math.abs(mean[k] - (each[k] + each[6 + k]) / 2) < 1e-6);
 * assert.equal(paramCount(spec) * 2, params.length);
 * ```
 *
 * @param options The network, the stacked parameters, the rows and how to combine them.
 * @returns `[n, outDim]` combined, or `[members, n, outDim]` with `combine: "none"`.
 * @throws {ConfigError} naming every bad option.
 */
export function predictStackedCpu(options: PredictOptions): Float32Array {
  return predictCpu(options, orThrow("Cannot predict", validatePredict(options)));
}

function predictCpu(options: PredictOptions, x: Float32Array): Float32Array {
  const { spec, params, members = 1, n, combine = "mean", weights } = options;
  const P = paramCount(spec);
  const inDim = inputDim(spec);
  const outDim = outputDim(spec);
  const depth = paramLayout(spec).layers.length;
  const block = Math.min(n, PREDICT_BLOCK);
  const ws = makeWorkspace<Float32Array>(
    spec,
    block,
    Float32Array,
    sparseModeFor(x, n * inDim, false),
  );
  const separate = combine === "none";
  const out = new Float32Array((separate ? members : 1) * n * outDim);
  let total = 0;
  for (let m = 0; m < members; m++) total += weights === undefined ? 1 : weights[m];
  const input = ws.acts[0];
  const result = ws.acts[depth]; // [block, outDim] logits or outputs
  const softmax = spec.head === "softmax";
  for (let start = 0; start < n; start += block) {
    const rows = Math.min(block, n - start);
    const from = start * inDim;
    for (let k = 0; k < rows * inDim; k++) input[k] = x[from + k];
    prepareInputs(ws, rows);
    for (let m = 0; m < members; m++) {
      forwardRows(ws, params, m * P, rows, null);
      const weight = separate ? 1 : (weights === undefined ? 1 : weights[m]) / total;
      const to = ((separate ? m * n : 0) + start) * outDim;
      combineRows(result, rows, outDim, softmax, out, to, weight, !separate);
    }
  }
  return out;
}
