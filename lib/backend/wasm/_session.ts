/**
 * A training session of the WebAssembly backend: the data, every replica's parameters and optimizer
 * state, the gradient and the batch workspace live in one `WebAssembly.Memory`, uploaded once;
 * each step gathers its batch (straight into sparse form when the data are mostly zeros), then per
 * replica runs the forward pass (drawing its dropout masks), the loss (of labels, soft targets or
 * regression targets: `_loss.ts`), the backward pass and the update in WebAssembly. Reads copy out
 * of the memory (free: host memory). With threads the memory is shared and the large kernels are
 * split across Workers (`_threads.ts`), with the same results bit for bit.
 *
 * @module
 */
import { HostStats } from "../_host_stats.ts";
import { SnapfoldError } from "../../errors.ts";
import { orThrow } from "../../validation.ts";
import type { ShiftAugment } from "../../ops/shift.ts";
import {
  type Batch,
  columnsArgs,
  type GatherContext,
  gatherInputs,
  gatherTargets,
  layBatch,
} from "./_batch.ts";
import type { Optimizer } from "../../optimizers/mod.ts";
import { ruleOf } from "../../optimizers/mod.ts";
import type { StepPlan, StepStats, TrainingData, TrainingSession } from "../backend.ts";
import { validatePlan } from "../_validate.ts";
import {
  backwardRows,
  type Draw,
  forwardRows,
  type SparseMode,
  type Workspace,
} from "./_forward.ts";
import {
  type CompiledKernels,
  instantiateKernels,
  WasmHeap,
  type WasmKernels,
} from "./_kernels.ts";
import type { WasmLayout } from "./_layout.ts";
import { type LossBuffers, type LossHead, stepLoss } from "./_loss.ts";
import { splitKernels } from "./_split.ts";
import { DEFAULT_WORKER_URL, ThreadPool, type ThreadSetup } from "./_threads.ts";
import { wasmUpdateOf } from "./_update.ts";
import { type ResidentInputs, uploadInputs } from "./_upload.ts";

/**
 * Batches of fewer input values are gathered on the calling thread: handing the gather to a Worker
 * (2.5-7 µs) would cost about as much as doing it.
 */
const AHEAD_MIN_VALUES = 8192;

function disposedError(what: string): SnapfoldError {
  return new SnapfoldError(
    `Cannot ${what}: the training session was disposed; create a new session`,
  );
}

/** What a session is made from (already validated). */
export interface WasmSessionSetup {
  readonly layout: WasmLayout;
  /** The loss, and so whether the data's `y` holds labels or [n, outDim] rows (`lossHeadOf`). */
  readonly head: LossHead;
  readonly optimizer: Optimizer;
  readonly stateSize: number;
  readonly params: Float32Array;
  readonly state: Float32Array | undefined;
  readonly data: TrainingData;
  readonly replicas: number;
  /**
   * The first layer takes the sparse path when at least this fraction of `data.x` is zeros
   * (counted while the inputs are uploaded); above 1 it stays dense.
   */
  readonly sparseMinZeros: number;
  /** `dropoutSeedKey(seed)`: where the dropout masks are drawn from. */
  readonly seedKey: number;
  /** Random shifts of the batch rows, and the seed key they are drawn from (default none). */
  readonly augment?: { readonly shift: ShiftAugment; readonly seedKey: number };
}

/** Addresses of the session's resident buffers. */
interface Resident extends ResidentInputs {
  readonly labels: number; // [n] i32 (softmax head with labels)
  readonly targets: number; // [n, outDim] (linear head; soft targets)
  readonly params: number; // [replicas, P]
  readonly state: number; // [replicas, S]
  readonly grad: number; // [P]
}

/**
 * A session's memory, its kernels' instances over it and its Workers: what a disposed session
 * hands back to its backend, which gives it to the next session with the same threads (creating a
 * memory, instantiating five modules and starting Workers cost more than reusing them).
 */
export interface SessionResources {
  readonly heap: WasmHeap;
  readonly kernels: WasmKernels;
  readonly pool: ThreadPool | null;
}

/** The resources of the last disposed session, kept by a backend for its next session. */
export class SpareResources {
  #kept: SessionResources | undefined;

  /** Keeps `resources` for the next session, or stops their Workers when some are kept already. */
  keep(resources: SessionResources): void {
    if (this.#kept === undefined) this.#kept = resources;
    else resources.pool?.dispose();
  }

  /** The kept resources, now the caller's (undefined when none). */
  take(): SessionResources | undefined {
    const taken = this.#kept;
    this.#kept = undefined;
    return taken;
  }

  /** Stops the kept Workers and lets the memory go. */
  dispose(): void {
    this.take()?.pool?.dispose();
  }
}

/**
 * Creates a session.
 *
 * @param compiled The kernels.
 * @param setup What to train.
 * @param onDispose Called once when the session is disposed, with its resources for reuse.
 * @param threads Threads (Workers over a shared memory when more than 1) and the Workers' script.
 * @param spare Resources of a disposed session with the same threads, cleared and reused.
 * @returns The session.
 */
export async function createWasmSession(
  compiled: CompiledKernels,
  setup: WasmSessionSetup,
  onDispose: (s: TrainingSession, resources: SessionResources) => void,
  threads: ThreadSetup = { threads: 1, workerUrl: DEFAULT_WORKER_URL },
  spare?: SessionResources,
): Promise<TrainingSession> {
  const { layout, data, replicas, stateSize } = setup;
  const P = layout.paramCount;
  const heap = spare?.heap ?? new WasmHeap(
    4 * (data.x.length + data.y.length + replicas * (P + stateSize) + P) + (1 << 20),
    compiled.shared,
  );
  spare?.heap.clear();
  const own = spare?.kernels ?? await instantiateKernels(compiled, heap.memory);
  const pool = spare !== undefined
    ? spare.pool
    : compiled.shared && threads.threads > 1
    ? await ThreadPool.start(threads.threads - 1, compiled, heap.memory, threads.workerUrl)
    : null;
  try {
    const labelled = setup.head.kind === "labels"; // else y holds [n, outDim] rows
    const labels = heap.alloc(labelled ? data.n : 0);
    const targets = heap.alloc(labelled ? 0 : data.y.length);
    const params = heap.alloc(replicas * P);
    const state = heap.alloc(replicas * stateSize);
    const grad = heap.alloc(P);
    if (labelled) heap.i32(labels, data.n).set(data.y as Int32Array);
    else heap.f32(targets, data.y.length).set(data.y as Float32Array);
    heap.f32(params, replicas * P).set(setup.params);
    if (setup.state !== undefined) heap.f32(state, replicas * stateSize).set(setup.state);
    else heap.f32(state, replicas * stateSize).fill(0); // a reused memory keeps what it held
    const kernels = pool === null ? own : splitKernels(own, pool, heap.memory);
    const inputs = uploadInputs(
      heap,
      kernels.sparse,
      data,
      layout.inDim,
      setup.sparseMinZeros,
      pool,
    );
    const resident: Resident = { ...inputs, labels, targets, params, state, grad };
    const sparse: SparseMode = inputs.csr === null ? "none" : "rows+columns";
    const resources = { heap, kernels: own, pool };
    return new WasmSession(setup, sparse, resources, kernels, resident, onDispose);
  } catch (error) {
    pool?.dispose(); // no session holds the Workers: stop them
    throw error;
  }
}

class WasmSession implements TrainingSession {
  readonly paramCount: number;
  readonly replicas: number;
  #setup: WasmSessionSetup;
  #sparse: SparseMode;
  #heap: WasmHeap;
  #k: WasmKernels;
  #resident: Resident;
  #mark: number;
  #batch: Batch;
  #stats: HostStats; // per-step loss and correct counts since the last read
  #disposed = false;
  #onDispose: (s: TrainingSession, resources: SessionResources) => void;
  #resources: SessionResources | null;

  constructor(
    setup: WasmSessionSetup,
    sparse: SparseMode,
    resources: SessionResources,
    kernels: WasmKernels,
    resident: Resident,
    onDispose: (s: TrainingSession, resources: SessionResources) => void,
  ) {
    const heap = resources.heap;
    this.#resources = resources;
    this.paramCount = setup.layout.paramCount;
    this.replicas = setup.replicas;
    this.#stats = new HostStats(setup.replicas);
    this.#setup = setup;
    this.#sparse = sparse;
    this.#heap = heap;
    this.#k = kernels;
    this.#resident = resident;
    this.#mark = heap.top;
    this.#batch = this.#layBatch(1);
    this.#onDispose = onDispose;
  }

  #layBatch(capacity: number): Batch {
    this.#heap.release(this.#mark);
    const ahead = this.#resources?.pool != null; // a Worker gathers the next step's nonzeros
    return layBatch(this.#heap, this.#setup, this.#sparse, capacity, ahead);
  }

  run(plan: StepPlan): void {
    if (this.#disposed) throw disposedError("run steps");
    const maxRows = orThrow("Cannot run steps", validatePlan(plan, this.#setup.data.n));
    if (maxRows > this.#batch.ws.capacity) this.#batch = this.#layBatch(maxRows);
    const steps = plan.lrs.length;
    this.#stats.reserve(steps);
    const { layout, head, optimizer, stateSize: S } = this.#setup;
    const R = this.replicas;
    const P = this.paramCount;
    const k = this.#k;
    const res = this.#resident;
    const batch = this.#batch;
    const memory = this.#heap.memory.buffer;
    const f32 = new Float32Array(memory);
    const i32 = new Int32Array(memory);
    // The kind's WebAssembly update, or the rule's reference update on views of the memory.
    const fast = wasmUpdateOf(optimizer);
    const rule = ruleOf(optimizer);
    const paramsView = this.#heap.f32(res.params, R * P);
    const gradView = this.#heap.f32(res.grad, P);
    const stateView = this.#heap.f32(res.state, R * S);
    const target = { params: 0, grads: res.grad, state: 0, count: P, f32 };
    const { indices, offsets, lrs, resets } = plan;
    const statLoss = this.#stats.loss;
    const statCorrect = this.#stats.correct;
    let statRow = this.#stats.steps * R;
    const draw: Draw = { seedKey: this.#setup.seedKey, step: 0, replica: 0 };
    const depth = layout.layers.length;
    const loss: LossBuffers = {
      out: batch.ws.acts[depth],
      labels: batch.labels,
      targets: batch.targets,
      delta: batch.ws.deltas[depth],
      correct: batch.ws.correct,
    };
    const g: GatherContext = { f32, i32, k: k.sparse, setup: this.#setup, res, batch };
    const pool = batch.ahead === null ? null : this.#resources!.pool!;
    let ws = batch.ws; // whose sparse buffers hold this step's batch
    let next = batch.ahead; // those a Worker gathers the next step's batch into
    let fetched = false; // whether it did, for this step
    try {
      for (let s = 0; s < steps; s++) {
        const start = offsets[s];
        const rows = offsets[s + 1] - start;
        draw.step = (plan.firstStep ?? 0) + s; // the global step
        if (fetched) pool!.settle();
        else gatherInputs(g, ws, indices, start, rows, draw.step);
        gatherTargets(g, indices, start, rows);
        if (resets !== undefined && resets[s] !== 0) stateView.fill(0);
        const lr = lrs[s];
        for (let r = 0; r < R; r++) {
          const params = res.params + 4 * r * P;
          draw.replica = r;
          forwardRows(k, layout, ws, ws.acts[0], params, rows, draw);
          if (r === 0) fetched = this.#fetchAhead(pool, g, next, indices, offsets, s, steps);
          statLoss[statRow] = stepLoss(k.loss, head, loss, rows, layout.outDim, f32);
          statCorrect[statRow] = f32[ws.correct >>> 2];
          statRow++;
          backwardRows(k, layout, ws, ws.acts[0], params, rows, res.grad, draw);
          if (fast !== undefined) {
            target.params = params;
            target.state = res.state + 4 * r * S;
            fast(k, optimizer, target, lr);
          } else {
            rule.update(optimizer, paramsView, gradView, stateView, lr, r);
          }
        }
        if (fetched) [ws, next] = [next!, ws];
      }
    } finally {
      pool?.settle(); // a step that threw may leave the next one's gather running
    }
    this.#stats.steps += steps;
  }

  /**
   * Has a Worker gather step `s + 1`'s nonzeros into `next`'s sparse buffers (which no kernel of
   * step `s` touches) while this thread goes on with step `s`; false when there is no next step in
   * the plan or no Worker to gather it, or its batch is small or not gathered as nonzeros.
   */
  #fetchAhead(
    pool: ThreadPool | null,
    g: GatherContext,
    next: Workspace | null,
    indices: Int32Array,
    offsets: Int32Array,
    s: number,
    steps: number,
  ): boolean {
    if (pool === null || next === null || s + 1 >= steps) return false;
    const start = offsets[s + 1];
    const rows = offsets[s + 2] - start;
    if (rows * this.#setup.layout.inDim < AHEAD_MIN_VALUES) return false;
    const args = columnsArgs(g, next, indices, start, rows);
    if (args === null) return false;
    pool.background("gather_columns", args);
    return true;
  }

  readStats(): Promise<StepStats> {
    if (this.#disposed) return Promise.reject(disposedError("read statistics"));
    return Promise.resolve(this.#stats.take());
  }

  readParams(): Promise<Float32Array> {
    if (this.#disposed) return Promise.reject(disposedError("read parameters"));
    return Promise.resolve(
      this.#heap.f32(this.#resident.params, this.replicas * this.paramCount).slice(),
    );
  }

  readOptimizerState(): Promise<Float32Array> {
    if (this.#disposed) return Promise.reject(disposedError("read the optimizer state"));
    const count = this.replicas * this.#setup.stateSize;
    return Promise.resolve(this.#heap.f32(this.#resident.state, count).slice());
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    const resources = this.#resources!;
    this.#resources = null;
    // The memory goes back to the backend (for the next session, or to be freed): this object,
    // which may live on, keeps no hold on it.
    this.#heap = new WasmHeap();
    this.#stats.clear();
    this.#onDispose(this, resources);
  }
}
