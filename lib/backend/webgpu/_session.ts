/**
 * A WebGPU training session: the model lives on the GPU. How a plan runs: the plan's sample
 * indices, learning rates and one small step record per step (`{ step, start, batch, row }`) are
 * written to GPU buffers in advance; then every step's calls (./_programs.ts `trainingCalls`) are
 * encoded into ONE compute pass and ONE submit, selecting each step's record with a dynamic
 * uniform offset. Nothing is read back per step. Plans that the fused kernel takes
 * (./_fused.ts) run as a few dispatches of it instead; both paths keep parameters, optimizer
 * state and statistics in the same buffers, so a session may switch from one plan to the next.
 *
 * Buffers are held by {@linkcode BufferRole}; bind groups are rebuilt before the next per-kernel
 * plan whenever the buffer generation moved (a buffer that a call binds was replaced).
 *
 * @module
 */
import { SnapfoldError } from "../../errors.ts";
import { orThrow } from "../../validation.ts";
import { paramLayout } from "../../model/mod.ts";
import { optimizerStateSize } from "../../optimizers/mod.ts";
import type {
  SessionOptions,
  StepPlan,
  StepStats,
  TrainingData,
  TrainingSession,
} from "../backend.ts";
import { validatePlan } from "../_validate.ts";
import { type BufferSet, createBufferSet, USAGE, withAllocationScopes } from "./_buffers.ts";
import { compileCalls, type Dispatch, type GpuContext } from "./_context.ts";
import { fusedLayout, splitFusedSteps } from "./_fused.ts";
import { batchLimit } from "./_loop_budget.ts";
import { resetCalls, trainingCalls } from "./_programs.ts";
import { encodeAndSubmit, type SessionState } from "./_encode.ts";

const { STORAGE, COPY_SRC, COPY_DST, UNIFORM } = USAGE;

/** Resident buffers for the session's life, reporting what the device could not allocate. */
function uploadResident(buffers: BufferSet, device: GPUDevice, options: SessionOptions, data: {
  readonly x: Float32Array;
  readonly y: Float32Array | Int32Array;
}, sizes: { R: number; P: number; S: number }) {
  const { R, P, S } = sizes;
  return withAllocationScopes(device, () => ({
    x: buffers.upload("x", data.x, STORAGE), // [n, inDim]
    y: buffers.upload("y", data.y, STORAGE), // [n] labels or [n, outDim] targets
    params: buffers.upload("params", options.params, STORAGE | COPY_SRC), // [R, P]
    grads: buffers.create("grads", R * P * 4, STORAGE), // [R, P]
    state: options.optimizerState !== undefined && S > 0
      ? buffers.upload("optimizer state", options.optimizerState, STORAGE | COPY_SRC)
      : buffers.create("optimizer state", R * S * 4, STORAGE | COPY_SRC | COPY_DST), // [R, S]
  }));
}

/** Starts building the fused kernel when the network fits it (beside the per-kernel pipelines). */
function startFused(ctx: GpuContext, options: SessionOptions, R: number) {
  // Soft targets (distill) opt out of the fused kernel, which has only the label loss head.
  const soft = options.data.targets === "soft";
  // Shifted batches (augment) opt out too, as dropout models do: only the per-kernel gather
  // (shaders/gather_shift.wgsl) draws the shifts. Image models rarely fit the fused kernel anyway
  // (a 28x28 input layer alone outgrows a 32 KiB workgroup memory).
  const shifted = options.augment !== undefined;
  const fit = ctx.fused === "never" || soft || shifted
    ? undefined
    : fusedLayout(options.spec, options.optimizer, {
      workgroupBytes: ctx.device.limits.maxComputeWorkgroupStorageSize,
      replicas: R,
    });
  if (!fit?.ok || ctx.fusedFailed(fit.layout.constants)) return undefined;
  const build = ctx.cache.pipeline("train_fused", fit.layout.constants);
  build.catch(() => {}); // observed in awaitFused
  return { layout: fit.layout, build };
}

/**
 * The fused kernel's pipeline, or `undefined` when it failed to build: the session then stays on
 * the per-kernel path (the reason is kept in `fusedFallbackReason`). Throws when the device was
 * lost, since no path can run then.
 */
async function awaitFused(
  ctx: GpuContext,
  started: ReturnType<typeof startFused>,
): Promise<SessionState["fused"]> {
  if (started === undefined) return undefined;
  try {
    return { layout: started.layout, pipeline: await ctx.guard(started.build) };
  } catch (error) {
    const explained = await ctx.explain(error);
    if (explained !== error) throw explained;
    ctx.fusedFallback(started.layout.constants, error);
    return undefined;
  }
}

/**
 * Opens a session whose model lives on the GPU; see the module docs for how a plan runs.
 *
 * @param ctx The backend's context.
 * @param options The session's options (validated).
 * @param data The validated training data.
 * @param onDispose Called once when the session is disposed.
 * @returns The session.
 */
export async function openSession(
  ctx: GpuContext,
  options: SessionOptions,
  data: TrainingData,
  onDispose: (session: TrainingSession) => void,
): Promise<TrainingSession> {
  const { device } = ctx;
  const { spec, optimizer, replicas: R = 1 } = options;
  const layout = paramLayout(spec);
  const P = layout.paramCount;
  const S = optimizerStateSize(optimizer, P);
  const buffers = createBufferSet(device);
  const resident = uploadResident(buffers, device, options, data, { R, P, S });
  // Soft targets (distill): the same bindings, y holding [n, classes] probabilities.
  const model = {
    head: spec.head,
    seed: options.seed,
    augment: options.augment,
    ...(data.targets === "soft" ? { softTemperature: data.temperature ?? 1 } : {}),
  };
  const step = compileCalls(ctx, trainingCalls(layout, optimizer, R, model));
  const reset = compileCalls(ctx, resetCalls(optimizer, P, R));
  const started = startFused(ctx, options, R);
  let compiled: [Dispatch[], Dispatch[]];
  let fused: SessionState["fused"];
  try {
    compiled = await ctx.guard(Promise.all([Promise.all(step), Promise.all(reset)]));
    const caught = await ctx.guard(resident.caught);
    if (caught) {
      throw new SnapfoldError(
        `Cannot create a training session: WebGPU could not create its buffers: ${caught.message}; ` +
          'use backend "cpu", or a smaller dataset or fewer replicas',
      );
    }
    fused = await awaitFused(ctx, started);
  } catch (error) {
    buffers.destroyAll();
    throw await ctx.explain(error);
  }
  const st: SessionState = {
    ctx,
    buffers,
    R,
    P,
    S,
    dims: [layout.inDim, ...layout.layers.map((d) => d.outDim)],
    dropsAfter: layout.layers.map((d) => d.dropout > 0),
    resident: resident.value,
    firstStep: buffers.create("first step", 4, STORAGE | COPY_DST), // [1] u32
    indices: buffers.create("indices", 4, STORAGE | COPY_DST),
    lrs: buffers.create("lrs", 4, STORAGE | COPY_DST),
    records: buffers.create("step records", ctx.recordStride, UNIFORM | COPY_DST),
    stats: buffers.create("stats", 4, STORAGE | COPY_SRC | COPY_DST),
    statsCapacity: 0,
    statsRows: 0,
    batchCapacity: 0,
    xb: buffers.create("batch", 4, STORAGE),
    acts: [],
    deltas: [],
    dropped: [],
    fusedTable: buffers.create("fused step table", 16, STORAGE | COPY_DST),
    generation: 1,
    boundGeneration: 0,
    step: compiled[0],
    reset: compiled[1][0],
    fused,
  };
  return sessionObject(st, data.n, options, onDispose);
}

function disposedSession(what: string): SnapfoldError {
  return new SnapfoldError(
    `Cannot ${what}: the training session was disposed; create a new session`,
  );
}

/** `[rows, R, 2]` statistics as separate loss and correct-count arrays of `count` entries. */
function splitStats(flat: Float32Array, count: number): StepStats {
  const loss = new Float32Array(count);
  const correct = new Float32Array(count);
  for (let k = 0; k < count; k++) {
    loss[k] = flat[2 * k];
    correct[k] = flat[2 * k + 1];
  }
  return { loss, correct };
}

/** The session's methods over its state. */
function sessionObject(
  st: SessionState,
  n: number,
  options: SessionOptions,
  onDispose: (session: TrainingSession) => void,
): TrainingSession {
  const { ctx, R, P, S } = st;
  const { device } = ctx;
  const errors: Array<Promise<GPUError | null>> = [];
  let disposed = false;
  const limitBatch = batchLimit(options.spec, ctx.software);

  /** Waits for the error scopes of earlier runs; throws the first error they caught. */
  const settle = async (what: string): Promise<void> => {
    if (disposed) throw disposedSession(what);
    ctx.assertUsable(what);
    const caught = await ctx.guard(Promise.all(errors.splice(0)));
    const first = caught.find((e) => e !== null);
    if (first) {
      throw new SnapfoldError(
        `Cannot ${what}: WebGPU reported an error while training: ${first.message}`,
      );
    }
  };

  const session: TrainingSession = {
    paramCount: P,
    replicas: R,
    run(plan: StepPlan): void {
      if (disposed) throw disposedSession("run steps");
      ctx.assertUsable("run steps");
      const maxBatch = orThrow("Cannot run steps", validatePlan(plan, n, limitBatch));
      const steps = plan.lrs.length;
      if (steps === 0) return;
      const chunks = st.fused === undefined ? null : splitFusedSteps(st.fused.layout, plan.offsets);
      device.pushErrorScope("out-of-memory");
      device.pushErrorScope("validation");
      try {
        encodeAndSubmit(st, plan, steps, maxBatch, chunks);
      } finally {
        // Popped whatever happened, so that the device's scope stack stays balanced.
        errors.push(device.popErrorScope(), device.popErrorScope());
      }
    },
    async readStats(): Promise<StepStats> {
      if (disposed) throw disposedSession("read statistics");
      ctx.assertUsable("read statistics");
      // Take the rows and submit their copy before the first await: a run() while this read is in
      // flight starts again at row 0, and the queue orders its writes after this copy.
      const rows = st.statsRows;
      st.statsRows = 0;
      const reading = ctx.read(st.stats, 0, rows * R * 8);
      reading.catch(() => {}); // observed below, after the error scopes of earlier runs
      await settle("read statistics");
      return splitStats(new Float32Array(await reading), rows * R);
    },
    async readParams(): Promise<Float32Array> {
      await settle("read parameters");
      return new Float32Array(await ctx.read(st.resident.params, 0, R * P * 4));
    },
    async readOptimizerState(): Promise<Float32Array> {
      await settle("read the optimizer state");
      if (S === 0) return new Float32Array(0);
      return new Float32Array(await ctx.read(st.resident.state, 0, R * S * 4));
    },
    dispose(): void {
      if (disposed) return;
      disposed = true;
      st.buffers.destroyAll();
      onDispose(session);
    },
  };
  return session;
}
