/**
 * A CPU training session: per step, gather the batch once, then for every replica the forward
 * pass, the loss, the backward pass and the rule's update (its fast twin where it has one), in
 * the workspace of ./_workspace.ts. Every buffer is allocated when the session is created or when
 * a plan brings a larger batch than seen before; the step loop allocates nothing.
 *
 * @module
 */
import { HostStats } from "../_host_stats.ts";
import {
  type ShiftAugment,
  shiftDense,
  shiftDx,
  shiftDy,
  shiftStream,
  shiftWord,
} from "../../ops/shift.ts";
import { SnapfoldError } from "../../errors.ts";
import { orThrow } from "../../validation.ts";
import { type MlpSpec, paramCount } from "../../model/mod.ts";
import { dropoutSeedKey } from "../../ops/dropout.ts";
import { compressGathered, transposeRows } from "../../ops/_dense_sparse.ts";
import { type Optimizer, ruleOf } from "../../optimizers/mod.ts";
import type { StepPlan, StepStats, TrainingData, TrainingSession } from "../backend.ts";
import { validatePlan } from "../_validate.ts";
import {
  backwardRows,
  type Draw,
  forwardRows,
  type LossArgs,
  lossRows,
  makeLossArgs,
  makeWorkspace,
  type SparseMode,
  sparseModeFor,
  type Workspace,
} from "./_workspace.ts";

/**
 * Copies the rows of one batch (and their labels or targets) into the workspace. Mostly-zero
 * inputs go straight into their sparse form (the dense copy would never be read).
 */
function gatherBatch(
  ws: Workspace<Float32Array>,
  x: Float32Array,
  source: { readonly labels: Int32Array; readonly targets: Float32Array; readonly soft: boolean },
  indices: Int32Array,
  start: number,
  rows: number,
  inputs = true, // false when the shifted rows are already in place (augment)
): void {
  const { acts, labels, targets, dims } = ws;
  const sparse = inputs ? ws.sparse : null;
  const input = acts[0];
  const inDim = dims[0];
  const outDim = dims[dims.length - 1];
  // Labels to gather; soft targets (distill) are gathered like a linear head's targets.
  const softmax = ws.softmax && !source.soft;
  const sourceLabels = source.labels;
  const sourceTargets = source.targets;
  if (sparse !== null) {
    compressGathered(x, indices, start, rows, sparse);
    transposeRows(sparse, rows);
  }
  for (let b = 0; b < rows; b++) {
    const src = indices[start + b];
    if (inputs && sparse === null) {
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
}

function disposedError(what: string): SnapfoldError {
  return new SnapfoldError(
    `Cannot ${what}: the training session was disposed; create a new session`,
  );
}

/** A session whose model lives in typed arrays on the CPU. */
export class CpuSession implements TrainingSession {
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
  #softTemperature: number | null = null; // soft targets (distill), else null
  #augment: ShiftAugment | undefined; // random shifts of the batch rows
  #identity: Int32Array = new Int32Array(0); // 0, 1, ... (compressing the shifted batch)
  #stats: HostStats; // per-step loss and correct counts since the last read
  #disposed = false;
  #onDispose: (session: CpuSession) => void;

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
    this.#stats = new HostStats(replicas);
    this.#spec = spec;
    this.#optimizer = optimizer;
    this.#params = params;
    this.#state = state;
    this.#x = data.x.slice();
    this.#n = data.n;
    // Soft targets (distill) travel like a linear head's targets: [n, classes] floats.
    this.#softTemperature = data.targets === "soft" ? data.temperature ?? 1 : null;
    const labels = spec.head === "softmax" && this.#softTemperature === null;
    this.#labels = labels ? (data.y as Int32Array).slice() : new Int32Array(0);
    this.#targets = labels ? new Float32Array(0) : (data.y as Float32Array).slice();
    this.#grad = new Float32Array(this.paramCount);
    this.#sparseMode = sparseModeFor(this.#x, this.#x.length, true);
    this.#ws = makeWorkspace<Float32Array>(spec, 1, Float32Array, this.#sparseMode);
    this.#lossArgs = makeLossArgs(this.#ws, this.#softTemperature);
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
      this.#lossArgs = makeLossArgs(this.#ws, this.#softTemperature);
    }
    this.#stats.reserve(steps);
    const R = this.replicas;
    const P = this.paramCount;
    const { indices, offsets, lrs, resets, firstStep = 0 } = plan;
    const draw = this.#draw;
    const ws = this.#ws;
    const args = this.#lossArgs;
    const x = this.#x;
    const source = {
      labels: this.#labels,
      targets: this.#targets,
      soft: this.#softTemperature !== null,
    };
    const params = this.#params;
    const state = this.#state;
    const grad = this.#grad;
    const optimizer = this.#optimizer;
    // The rule's fast twin where it has one (SGD's heavy-ball loop: the tutorial's rule), looked
    // up once per run, outside the step loop.
    const rule = ruleOf(optimizer);
    const update = rule.fastUpdate ?? rule.update;
    const statLoss = this.#stats.loss;
    const statCorrect = this.#stats.correct;
    let statRow = this.#stats.steps * R;
    for (let s = 0; s < steps; s++) {
      const start = offsets[s];
      const rows = offsets[s + 1] - start;
      // Gather the batch once; every replica trains on it (shifted rows when augmenting).
      const shifted = this.#augment !== undefined;
      if (shifted) this.#gatherShifted(indices, start, rows, firstStep + s);
      gatherBatch(ws, x, source, indices, start, rows, !shifted);
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
    this.#stats.steps += steps;
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

  readStats(): Promise<StepStats> {
    if (this.#disposed) return Promise.reject(disposedError("read statistics"));
    return Promise.resolve(this.#stats.take());
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
    this.#stats.clear();
    this.#ws = makeWorkspace<Float32Array>(this.#spec, 0, Float32Array);
    this.#lossArgs = makeLossArgs(this.#ws, this.#softTemperature);
    this.#onDispose(this);
  }
}
