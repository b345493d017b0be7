/**
 * The WebGPU backend: every part of a training step and of prediction runs as a WGSL compute kernel
 * (`shaders/`, embedded through `_shaders.ts` so that browsers and bundlers can load it).
 *
 * How a plan runs: the plan's sample indices, learning rates and one small step record per step
 * (`{ step, start, batch, row }`) are written to GPU buffers in advance; then every step is encoded
 * as a sequence of dispatches (gather, dense forward per layer, the fused loss head, the backward
 * products and bias sums per layer, the optimizer) into ONE compute pass and ONE submit, selecting
 * each step's record with a dynamic uniform offset. Nothing is read back per step: in Deno every
 * awaited readback costs about 11 ms (shared/PLATFORM.md). Per-step loss and accuracy accumulate
 * in a GPU buffer that {@linkcode TrainingSession.readStats} reads when asked.
 *
 * Replicas (K models on the same batches) run in the same dispatches: the third grid dimension is
 * the replica, activations are laid out `[batch, replicas, width]`, parameters `[replicas, P]`.
 *
 * The fused path (the default, `fused: "auto"`): when the network's parameters, gradient,
 * optimizer state and one batch's activations fit in workgroup memory (at most 4 layers; e.g.
 * 2-25-3 with batches up to about 90 rows in 32 KiB), a plan runs as a few dispatches of ONE
 * kernel (shaders/train_fused.wgsl), one workgroup per replica, each dispatch running as many
 * whole steps as llvmpipe's loop cap allows (lib/backend/_fused.ts counts them), still in one
 * submit. Plans it cannot take (a larger batch, a step over the loop budget) and larger networks
 * run on the per-kernel path; both keep parameters, optimizer state and statistics in the same
 * buffers, so a session may switch between them from one plan to the next.
 *
 * Prediction stacks all members: one dispatch per layer for every member at once, then the
 * softmax and the weighted mean on the GPU, and one readback.
 *
 * @module
 */
import { check, type ConfigIssue, orThrow, SnapfoldError, validation } from "../errors.ts";
import { denseWidths, type MlpSpec, outputDim, paramCount, paramLayout } from "../model/mod.ts";
import { ACTIVATIONS } from "../ops/activation.ts";
import { dropoutScale, dropoutSeedKey, dropoutThreshold } from "../ops/dropout.ts";
import { type Optimizer, optimizerStateSize, ruleOf } from "../optimizers/mod.ts";
import type {
  Backend,
  PredictOptions,
  SessionOptions,
  StepPlan,
  StepStats,
  TrainingData,
  TrainingSession,
} from "./backend.ts";
import {
  bufferSizeIssues,
  createBufferSet,
  readBuffer,
  USAGE,
  withAllocationScopes,
  writeBuffer,
} from "./_buffers.ts";
import { createPipelineCache, type PipelineCache, STEP_RECORD_BYTES } from "./_pipeline_cache.ts";
import type { ShaderName } from "./_shaders.ts";
import { validatePlan, validatePredict, validateSession } from "./_validate.ts";
import {
  adapterFacts,
  deviceLimitsToRequest,
  fusedIsSlowOn,
  LLVMPIPE_LOOP_LIMIT,
} from "./_webgpu_quirks.ts";
import {
  type FusedChunk,
  type FusedLayout,
  fusedLayout,
  fusedStepTable,
  perKernelBatchLimit,
  splitFusedSteps,
} from "./_fused.ts";

/** Options of {@linkcode createWebGpuBackend}. */
export interface WebGpuBackendOptions {
  /** A device to use (not destroyed by `dispose`); by default one is requested from the adapter. */
  readonly device?: GPUDevice;
  /** The adapter to request the device from (default: `navigator.gpu.requestAdapter()`). */
  readonly adapter?: GPUAdapter;
  /** Passed to `requestAdapter` when no adapter is given. */
  readonly powerPreference?: GPUPowerPreference;
  /**
   * The fused training path: `"auto"` (default) runs a plan as a few dispatches of one kernel that
   * keeps the whole model in workgroup memory and runs many steps each, when the network, the
   * optimizer and the plan's batches fit (at most 4 layers; the layout within the device's
   * `maxComputeWorkgroupStorageSize`); `"never"` always runs the per-kernel path (about ten
   * dispatches per step). Both give the same results up to float32 rounding. `"auto"` keeps to the
   * per-kernel path on adapters where the fused kernel is known to be slower (SwiftShader; see
   * `fusedIsSlowOn` in lib/backend/_webgpu_quirks.ts).
   */
  readonly fused?: "auto" | "never";
}

/** The WebGPU backend: a {@linkcode Backend} that also says how much it trained on the fused path. */
export interface WebGpuBackend extends Backend {
  /** Number of optimizer steps run so far by the fused kernel (the rest ran per kernel). */
  readonly fusedSteps: number;
  /**
   * Why sessions that fit the fused kernel train per kernel instead, when its pipeline failed to
   * build on this device (also reported once with `console.warn`); `undefined` when it never did.
   */
  readonly fusedFallbackReason: string | undefined;
}

const { STORAGE, COPY_SRC, COPY_DST, UNIFORM } = USAGE;

/** Largest number of floats one prediction chunk's activations may take (16 MiB). */
const PREDICT_CHUNK_FLOATS = 1 << 22;

/** What sessions and prediction share: the device, its pipelines and its failure state. */
interface GpuContext {
  readonly device: GPUDevice;
  readonly cache: PipelineCache;
  readonly software: boolean;
  /** Byte distance between two step records (the dynamic-offset alignment). */
  readonly recordStride: number;
  /** Rejects with a clear error when the device is lost; otherwise resolves like `promise`. */
  guard<T>(promise: Promise<T>): Promise<T>;
  /** Throws when the backend was disposed or the device lost. */
  assertUsable(what: string): void;
  /**
   * The error to report for `error`, a failure of a GPU operation: the device-lost error when the
   * device is (or within a moment turns out to be) lost, since a lost device makes every
   * operation fail with messages that blame something else; else `error` itself.
   */
  explain(error: unknown): Promise<unknown>;
  /** Whether the fused kernel with these constants failed to build before on this device. */
  fusedFailed(constants: Readonly<Record<string, number>>): boolean;
  /** Records that the fused kernel failed to build, and warns once per backend. */
  fusedFallback(constants: Readonly<Record<string, number>>, error: unknown): void;
  /** Reads a range of a buffer back (counted in `readbacks`). */
  read(source: GPUBuffer, byteOffset: number, byteLength: number): Promise<ArrayBuffer>;
  /** Whether sessions may take the fused training path. */
  readonly fused: "auto" | "never";
  /** Counts steps run on the fused path. */
  countFused(steps: number): void;
}

/** One kernel of a step: its pipeline, its bind group and its grid for a given batch size. */
interface Dispatch {
  readonly shader: ShaderName;
  readonly pipeline: GPUComputePipeline;
  /** The buffers of its group-0 bindings, in order (read when bind groups are rebuilt). */
  readonly buffers: () => ReadonlyArray<GPUBuffer>;
  readonly grid: (batch: number) => readonly [number, number, number];
  group?: GPUBindGroup;
}

/** A grid of 64-invocation workgroups covering `count` elements, spread over x and y. */
function flatGrid(count: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(count / 64));
  const x = Math.min(groups, 65_535);
  return [x, Math.ceil(groups / x), 1];
}

/** The workgroup shape of a 4x4-tiled kernel: as wide as the column tiles need, 64 invocations. */
function tileShape(cols: number): { WG_X: number; WG_Y: number } {
  const tiles = Math.ceil(cols / 4);
  let wgX = 1;
  while (wgX < tiles && wgX < 16) wgX *= 2;
  return { WG_X: wgX, WG_Y: 64 / wgX };
}

function tileGrid(
  cols: number,
  rows: number,
  shape: { WG_X: number; WG_Y: number },
  z: number,
): [number, number, number] {
  return [
    Math.ceil(Math.ceil(cols / 4) / shape.WG_X),
    Math.max(1, Math.ceil(Math.ceil(rows / 4) / shape.WG_Y)),
    z,
  ];
}

function encodeDispatch(pass: GPUComputePassEncoder, d: Dispatch, batch: number): void {
  const [x, y, z] = d.grid(batch);
  pass.setPipeline(d.pipeline);
  pass.setBindGroup(0, d.group!);
  pass.dispatchWorkgroups(x, y, z);
}

function bindDispatches(ctx: GpuContext, dispatches: ReadonlyArray<Dispatch>): void {
  for (const d of dispatches) {
    d.group = ctx.device.createBindGroup({
      label: d.shader,
      layout: ctx.cache.layout(d.shader),
      entries: d.buffers().map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  }
}

/** Step records `{ step, start, batch, row }` at `stride` bytes apart. */
function stepRecords(
  stride: number,
  count: number,
  fill: (k: number, record: Uint32Array) => void,
): Uint32Array {
  const words = new Uint32Array((stride / 4) * count);
  for (let k = 0; k < count; k++) fill(k, words.subarray(k * stride / 4, k * stride / 4 + 4));
  return words;
}

function disposedSession(what: string): SnapfoldError {
  return new SnapfoldError(
    `Cannot ${what}: the training session was disposed; create a new session`,
  );
}

/** Rows per prediction chunk: a power of two, so that repeated predictions reuse a few pipelines. */
function predictRows(options: PredictOptions): number {
  const { spec, members: M = 1, n } = options;
  const widest = Math.max(...denseWidths(spec));
  let rows = 1;
  while (rows < n && 2 * rows * M * widest <= PREDICT_CHUNK_FLOATS) rows *= 2;
  return rows;
}

/** The buffers of a session that grow with the user's input, against the device's limits. */
function sessionSizeIssues(limits: GPUSupportedLimits, options: SessionOptions): ConfigIssue[] {
  const { spec, optimizer, data, replicas: R = 1 } = options;
  const P = paramCount(spec);
  return bufferSizeIssues(limits, [
    { field: "data.x", bytes: data.x.byteLength, advice: "a smaller dataset" },
    { field: "data.y", bytes: data.y.byteLength, advice: "a smaller dataset" },
    { field: "params", bytes: R * P * 4, advice: "fewer replicas or a smaller network" },
    {
      field: "optimizer",
      bytes: R * optimizerStateSize(optimizer, P) * 4,
      advice: "fewer replicas, a smaller network or an optimizer with less state",
    },
  ]);
}

/** The buffers of a prediction, against the device's limits. */
function predictSizeIssues(limits: GPUSupportedLimits, options: PredictOptions): ConfigIssue[] {
  const { spec, members: M = 1, n, combine = "mean" } = options;
  const rows = predictRows(options);
  const widest = Math.max(...denseWidths(spec));
  const outputs = (combine === "none" ? M : 1) * n * outputDim(spec);
  return bufferSizeIssues(limits, [
    { field: "params", bytes: M * paramCount(spec) * 4, advice: "fewer members per call" },
    { field: "members", bytes: M * rows * widest * 4, advice: "fewer members per call" },
    { field: "n", bytes: outputs * 4, advice: "fewer rows per call" },
  ]);
}

/** A stable key of override constants. */
function constantsKey(constants: Readonly<Record<string, number>>): string {
  return Object.keys(constants).sort().map((name) => `${name}=${constants[name]}`).join(",");
}

/** Waits until `promise` settles or `ms` pass, whichever comes first (clearing its timer). */
async function settledOrTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  try {
    await Promise.race([promise.then(() => {}, () => {}), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A session whose model lives on the GPU; see the module docs for how a plan runs. */
async function openSession(
  ctx: GpuContext,
  options: SessionOptions,
  data: TrainingData,
  onDispose: (session: TrainingSession) => void,
): Promise<TrainingSession> {
  const { device, cache } = ctx;
  const { spec, optimizer, replicas: R = 1 } = options;
  const P = paramCount(spec);
  const S = optimizerStateSize(optimizer, P);
  const layout = paramLayout(spec);
  const dims = denseWidths(spec);
  const L = dims.length - 1;
  // ACT of dense layer l (linear for the last); whether dropout follows it (never the last).
  const actOf = (l: number) => ACTIVATIONS[layout.layers[l].activation].code;
  const dropsAfter = (l: number) => layout.layers[l].dropout > 0;
  const outDim = outputDim(spec);
  const buffers = createBufferSet(device);

  // Resident for the session's life; sizes were checked at the door (sessionSizeIssues), and
  // what the device still cannot allocate is reported before the session is handed out.
  const resident = withAllocationScopes(device, () => ({
    x: buffers.upload("x", data.x, STORAGE), // [n, inDim]
    y: buffers.upload("y", data.y, STORAGE), // [n] labels or [n, outDim] targets
    params: buffers.upload("params", options.params, STORAGE | COPY_SRC), // [R, P]
    grads: buffers.create("grads", R * P * 4, STORAGE), // [R, P]
    state: options.optimizerState !== undefined && S > 0
      ? buffers.upload("optimizer state", options.optimizerState, STORAGE | COPY_SRC)
      : buffers.create("optimizer state", R * S * 4, STORAGE | COPY_SRC | COPY_DST), // [R, S]
  }));
  const { x, y, params, grads, state } = resident.value;

  // Grown on demand by run(): per-plan inputs, statistics and per-batch scratch.
  let indices = buffers.create("indices", 4, STORAGE | COPY_DST);
  let lrs = buffers.create("lrs", 4, STORAGE | COPY_DST);
  let records = buffers.create("step records", ctx.recordStride, UNIFORM | COPY_DST);
  let stats = buffers.create("stats", 4, STORAGE | COPY_SRC | COPY_DST); // [rows, R, 2]
  let statsCapacity = 0; // rows
  let statsRows = 0;
  let batchCapacity = 0;
  let xb = buffers.create("batch", 4, STORAGE); // [batch, inDim]
  let acts: GPUBuffer[] = []; // acts[l], l = 1..L: [batch, R, dims[l]]
  let deltas: GPUBuffer[] = []; // deltas[l], l = 1..L: [batch, R, dims[l]]
  // dropped[l] where dense layer l-1 has dropout: [batch, R, dims[l]] acts[l] after the mask.
  let dropped: GPUBuffer[] = [];
  const firstStep = buffers.create("first step", 4, STORAGE | COPY_DST); // [1] u32
  let stepGroup: GPUBindGroup | undefined;
  let fusedTable = buffers.create("fused step table", 16, STORAGE | COPY_DST); // [steps, 4] u32

  const layerIn = (l: number) => (l === 0 ? xb : dropsAfter(l - 1) ? dropped[l] : acts[l]);
  // The gathered batch is shared by all replicas: a replica stride of 0.
  const inStrides = (l: number) =>
    l === 0 ? { IN_ROW: dims[0], IN_REP: 0 } : { IN_ROW: R * dims[l], IN_REP: dims[l] };

  const offsets = layout.layers.map((d) => ({ W_OFF: d.weightOffset, B_OFF: d.biasOffset }));

  const pending: Array<Promise<Dispatch>> = [];
  const kernel = (
    shader: ShaderName,
    constants: Record<string, number>,
    bound: () => ReadonlyArray<GPUBuffer>,
    grid: (batch: number) => readonly [number, number, number],
  ): Promise<Dispatch> => {
    const made = cache.pipeline(shader, constants).then((pipeline) => ({
      shader,
      pipeline,
      buffers: bound,
      grid,
    }));
    pending.push(made);
    return made;
  };

  const gather = kernel(
    "gather",
    { IN_DIM: dims[0] },
    () => [x, indices, xb],
    (b) => flatGrid(b * dims[0]),
  );
  // Dropout after dense layer l (lib/ops/dropout.ts): MODE 0 masks acts[l + 1] into dropped[l + 1],
  // MODE 1 masks the gradient deltas[l + 1] in place with the same draws.
  const dropoutKernel = (l: number, mode: 0 | 1) =>
    kernel(
      "dropout",
      {
        WIDTH: dims[l + 1],
        REPLICAS: R,
        LAYER: l,
        SEED_KEY: dropoutSeedKey(options.seed ?? 0),
        THRESHOLD: dropoutThreshold(layout.layers[l].dropout),
        SCALE: dropoutScale(layout.layers[l].dropout),
        MODE: mode,
      },
      () => [firstStep, acts[l + 1], mode === 0 ? dropped[l + 1] : deltas[l + 1]],
      (b) => flatGrid(b * R * dims[l + 1]),
    );
  const forward = offsets.flatMap((o, l) => {
    const shape = tileShape(dims[l + 1]);
    const dense = kernel(
      "dense_forward",
      {
        IN_DIM: dims[l],
        OUT_DIM: dims[l + 1],
        ACT: actOf(l),
        ...o,
        PARAM_STRIDE: P,
        ...inStrides(l),
        OUT_ROW: R * dims[l + 1],
        OUT_REP: dims[l + 1],
        ...shape,
      },
      () => [params, layerIn(l), acts[l + 1]],
      (b) => tileGrid(dims[l + 1], b, shape, R),
    );
    return dropsAfter(l) ? [dense, dropoutKernel(l, 0)] : [dense];
  });
  const loss = kernel(
    spec.head === "softmax" ? "softmax_xent" : "mse",
    { OUT_DIM: outDim, REPLICAS: R },
    () => [acts[L], y, indices, deltas[L], stats],
    () => [1, 1, R],
  );
  const backward: Array<Promise<Dispatch>> = [];
  for (let l = L - 1; l >= 0; l--) {
    const shapeW = tileShape(dims[l + 1]);
    backward.push(kernel(
      "dense_grad_weights",
      {
        IN_DIM: dims[l],
        OUT_DIM: dims[l + 1],
        W_OFF: offsets[l].W_OFF,
        PARAM_STRIDE: P,
        ...inStrides(l),
        REPLICAS: R,
        ...shapeW,
      },
      () => [layerIn(l), deltas[l + 1], grads],
      () => tileGrid(dims[l + 1], dims[l], shapeW, R),
    ));
    backward.push(kernel(
      "bias_grad",
      { OUT_DIM: dims[l + 1], B_OFF: offsets[l].B_OFF, PARAM_STRIDE: P, REPLICAS: R },
      () => [deltas[l + 1], grads],
      () => [Math.ceil(dims[l + 1] / 64), 1, R],
    ));
    if (l > 0) {
      const shapeI = tileShape(dims[l]);
      backward.push(kernel(
        "dense_grad_input",
        {
          IN_DIM: dims[l],
          OUT_DIM: dims[l + 1],
          ACT: actOf(l - 1),
          W_OFF: offsets[l].W_OFF,
          PARAM_STRIDE: P,
          REPLICAS: R,
          ...shapeI,
        },
        () => [params, deltas[l + 1], acts[l], deltas[l]],
        (b) => tileGrid(dims[l], b, shapeI, R),
      ));
      if (dropsAfter(l - 1)) backward.push(dropoutKernel(l - 1, 1));
    }
  }
  const update = optimizerKernels(
    optimizer,
    { P, S, R },
    kernel,
    () => [params, grads, state, lrs],
  );
  const reset = S > 0
    ? kernel("optimizer_reset", { TOTAL: R * S }, () => [state], () => flatGrid(R * S))
    : undefined;

  // The fused kernel, when the network fits in workgroup memory (lib/backend/_fused.ts); plans it
  // cannot take run on the per-kernel path above.
  const fit = ctx.fused === "never" ? undefined : fusedLayout(spec, optimizer, {
    workgroupBytes: device.limits.maxComputeWorkgroupStorageSize,
    replicas: R,
  });
  // Built beside the per-kernel pipelines; a fused kernel that fails to build leaves the session
  // on the per-kernel path (the reason is kept in `fusedFallbackReason`).
  const fusedBuild = fit?.ok && !ctx.fusedFailed(fit.layout.constants)
    ? cache.pipeline("train_fused", fit.layout.constants)
    : undefined;
  fusedBuild?.catch(() => {}); // observed below
  let all: Dispatch[];
  try {
    all = await ctx.guard(Promise.all(pending));
    const caught = await ctx.guard(resident.caught);
    if (caught) {
      throw new SnapfoldError(
        `Cannot create a training session: WebGPU could not create its buffers: ${caught.message}; ` +
          'use backend "cpu", or a smaller dataset or fewer replicas',
      );
    }
  } catch (error) {
    buffers.destroyAll();
    throw await ctx.explain(error);
  }
  let fused: { layout: FusedLayout; pipeline: GPUComputePipeline } | undefined;
  if (fit?.ok && fusedBuild !== undefined) {
    try {
      fused = { layout: fit.layout, pipeline: await ctx.guard(fusedBuild) };
    } catch (error) {
      const explained = await ctx.explain(error);
      if (explained !== error) {
        buffers.destroyAll();
        throw explained; // the device was lost: no path can run
      }
      ctx.fusedFallback(fit.layout.constants, error);
    }
  }
  const step = [await gather, ...(await Promise.all(forward)), await loss];
  step.push(...(await Promise.all(backward)), ...(await Promise.all(update)));
  const resetDispatch = reset === undefined ? undefined : await reset;

  // Bind groups of the per-kernel path are rebuilt before its next use whenever a buffer they
  // name is replaced; the step-record group whenever the records buffer is.
  let perKernelStale = true;
  let recordGroupFor: GPUBuffer | undefined;
  const recordGroup = (): GPUBindGroup => {
    if (recordGroupFor !== records || stepGroup === undefined) {
      stepGroup = device.createBindGroup({
        label: "step records",
        layout: cache.stepLayout,
        entries: [{ binding: 0, resource: { buffer: records, size: STEP_RECORD_BYTES } }],
      });
      recordGroupFor = records;
    }
    return stepGroup;
  };

  const grow = (buffer: GPUBuffer, label: string, bytes: number, usage: GPUBufferUsageFlags) => {
    if (buffer.size >= bytes) return buffer;
    buffers.release(buffer);
    return buffers.create(label, Math.max(bytes, 2 * buffer.size), usage);
  };

  const errors: Array<Promise<GPUError | null>> = [];
  let disposed = false;
  const limitBatch = batchLimit(spec, ctx.software);

  /** Encodes a plan step by step: ten or more dispatches per step. */
  const encodePerKernel = (pass: GPUComputePassEncoder, plan: StepPlan, maxBatch: number) => {
    const steps = plan.lrs.length;
    if (maxBatch > batchCapacity) {
      batchCapacity = Math.max(maxBatch, batchCapacity);
      const old = [xb, ...acts.slice(1), ...deltas.slice(1), ...dropped.slice(1)];
      for (const b of new Set(old)) buffers.release(b);
      xb = buffers.create("batch", batchCapacity * dims[0] * 4, STORAGE);
      acts = [xb];
      deltas = [xb];
      dropped = [xb];
      for (let l = 1; l <= L; l++) {
        const bytes = batchCapacity * R * dims[l] * 4;
        acts.push(buffers.create(`activations ${l}`, bytes, STORAGE));
        deltas.push(buffers.create(`deltas ${l}`, bytes, STORAGE));
        dropped.push(dropsAfter(l - 1) ? buffers.create(`dropped ${l}`, bytes, STORAGE) : xb);
      }
      perKernelStale = true;
    }
    if (perKernelStale) {
      bindDispatches(ctx, all);
      perKernelStale = false;
    }
    writeBuffer(device, lrs, 0, plan.lrs);
    writeBuffer(device, firstStep, 0, new Uint32Array([plan.firstStep ?? 0]));
    const { offsets: bounds, resets } = plan;
    writeBuffer(
      device,
      records,
      0,
      stepRecords(ctx.recordStride, steps, (s, r) => {
        r[0] = s;
        r[1] = bounds[s];
        r[2] = bounds[s + 1] - bounds[s];
        r[3] = statsRows + s;
      }),
    );
    const group = recordGroup();
    for (let s = 0; s < steps; s++) {
      const batch = bounds[s + 1] - bounds[s];
      pass.setBindGroup(1, group, [s * ctx.recordStride]);
      if (resetDispatch !== undefined && resets !== undefined && resets[s] !== 0) {
        encodeDispatch(pass, resetDispatch, batch);
      }
      for (const d of step) encodeDispatch(pass, d, batch);
    }
  };

  /** Encodes a plan as a few dispatches of the fused kernel, one workgroup per replica each. */
  const encodeFused = (
    pass: GPUComputePassEncoder,
    plan: StepPlan,
    fusedPipeline: GPUComputePipeline,
    chunks: ReadonlyArray<FusedChunk>,
  ) => {
    const table = fusedStepTable(plan.offsets, plan.lrs, plan.resets);
    fusedTable = grow(fusedTable, "fused step table", table.byteLength, STORAGE | COPY_DST);
    writeBuffer(device, fusedTable, 0, table);
    writeBuffer(
      device,
      records,
      0,
      stepRecords(ctx.recordStride, chunks.length, (c, r) => {
        r[0] = chunks[c].first;
        r[2] = chunks[c].steps;
        r[3] = statsRows + chunks[c].first;
      }),
    );
    const group = device.createBindGroup({
      label: "train_fused",
      layout: cache.layout("train_fused"),
      entries: [params, state, x, y, indices, fusedTable, stats].map((buffer, binding) => ({
        binding,
        resource: { buffer },
      })),
    });
    const chunkGroup = recordGroup();
    pass.setPipeline(fusedPipeline);
    pass.setBindGroup(0, group);
    for (let c = 0; c < chunks.length; c++) {
      pass.setBindGroup(1, chunkGroup, [c * ctx.recordStride]);
      pass.dispatchWorkgroups(R, 1, 1);
    }
    ctx.countFused(plan.lrs.length);
  };

  /** Grows the per-plan buffers, encodes the plan on one path and submits it. */
  const encodeAndSubmit = (
    plan: StepPlan,
    steps: number,
    maxBatch: number,
    chunks: ReadonlyArray<FusedChunk> | null,
  ) => {
    const encoder = device.createCommandEncoder({ label: "training steps" });
    let retired: GPUBuffer | undefined;
    const usageIn = STORAGE | COPY_DST;
    const next = {
      indices: grow(indices, "indices", plan.indices.byteLength, usageIn),
      lrs: grow(lrs, "lrs", plan.lrs.byteLength, usageIn),
      records: grow(records, "step records", steps * ctx.recordStride, UNIFORM | COPY_DST),
    };
    if (next.indices !== indices || next.lrs !== lrs) perKernelStale = true;
    ({ indices, lrs, records } = next);
    if (statsRows + steps > statsCapacity) {
      const capacity = Math.max(statsRows + steps, 2 * statsCapacity, 64);
      const grown = buffers.create("stats", capacity * R * 8, STORAGE | COPY_SRC | COPY_DST);
      // Keep the rows not read yet; the copy runs before this submit's steps write new rows.
      if (statsRows > 0) encoder.copyBufferToBuffer(stats, 0, grown, 0, statsRows * R * 8);
      retired = stats; // destroyed after the submit that copies out of it
      stats = grown;
      statsCapacity = capacity;
      perKernelStale = true;
    }
    writeBuffer(device, indices, 0, plan.indices);
    const pass = encoder.beginComputePass({ label: "training steps" });
    if (chunks !== null) encodeFused(pass, plan, fused!.pipeline, chunks);
    else encodePerKernel(pass, plan, maxBatch);
    pass.end();
    device.queue.submit([encoder.finish()]);
    if (retired !== undefined) buffers.release(retired);
    statsRows += steps;
  };

  const session: TrainingSession = {
    paramCount: P,
    replicas: R,
    run(plan: StepPlan): void {
      if (disposed) throw disposedSession("run steps");
      ctx.assertUsable("run steps");
      const maxBatch = orThrow(
        "Cannot run steps",
        validatePlan(plan, data.n, limitBatch),
      );
      const steps = plan.lrs.length;
      if (steps === 0) return;
      const chunks = fused === undefined ? null : splitFusedSteps(fused.layout, plan.offsets);
      device.pushErrorScope("out-of-memory");
      device.pushErrorScope("validation");
      try {
        encodeAndSubmit(plan, steps, maxBatch, chunks);
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
      const rows = statsRows;
      statsRows = 0;
      const reading = ctx.read(stats, 0, rows * R * 8);
      reading.catch(() => {}); // observed below, after the error scopes of earlier runs
      await settle("read statistics");
      const bytes = await reading;
      const flat = new Float32Array(bytes); // [rows, R, 2]
      const lossOut = new Float32Array(rows * R);
      const correct = new Float32Array(rows * R);
      for (let k = 0; k < rows * R; k++) {
        lossOut[k] = flat[2 * k];
        correct[k] = flat[2 * k + 1];
      }
      return { loss: lossOut, correct };
    },
    async readParams(): Promise<Float32Array> {
      await settle("read parameters");
      return new Float32Array(await ctx.read(params, 0, R * P * 4));
    },
    async readOptimizerState(): Promise<Float32Array> {
      await settle("read the optimizer state");
      if (S === 0) return new Float32Array(0);
      return new Float32Array(await ctx.read(state, 0, R * S * 4));
    },
    dispose(): void {
      if (disposed) return;
      disposed = true;
      buffers.destroyAll();
      onDispose(session);
    },
  };

  /** Waits for the error scopes of earlier runs; throws the first error they caught. */
  async function settle(what: string): Promise<void> {
    if (disposed) throw disposedSession(what);
    ctx.assertUsable(what);
    const caught = await ctx.guard(Promise.all(errors.splice(0)));
    const first = caught.find((e) => e !== null);
    if (first) {
      throw new SnapfoldError(
        `Cannot ${what}: WebGPU reported an error while training: ${first.message}`,
      );
    }
  }

  return session;
}

/** The optimizer's kernels for one step, from its rule's data (lib/optimizers/rule.ts). */
function optimizerKernels(
  optimizer: Optimizer,
  sizes: { P: number; S: number; R: number },
  kernel: (
    shader: ShaderName,
    constants: Record<string, number>,
    bound: () => ReadonlyArray<GPUBuffer>,
    grid: (batch: number) => readonly [number, number, number],
  ) => Promise<Dispatch>,
  bound: () => ReadonlyArray<GPUBuffer>,
): Array<Promise<Dispatch>> {
  const { P, R } = sizes;
  return ruleOf(optimizer).gpuKernels(optimizer, sizes).map((k) =>
    kernel(
      k.shader,
      { ...k.constants },
      k.bindings === "update" ? bound : () => [bound()[2]],
      k.grid === "params" ? () => flatGrid(R * P) : () => flatGrid(R),
    )
  );
}

/** Forward passes of stacked members, softmax, and the weighted mean, chunk by chunk. */
async function predictGpu(
  ctx: GpuContext,
  options: PredictOptions,
  x: Float32Array,
): Promise<Float32Array> {
  const { device, cache } = ctx;
  const { spec, params, members: M = 1, n, combine = "mean", weights } = options;
  const P = paramCount(spec);
  const layout = paramLayout(spec);
  const dims = denseWidths(spec);
  const L = dims.length - 1;
  const outDim = outputDim(spec);
  const rows = predictRows(options);
  const chunks = Math.ceil(n / rows);
  const buffers = createBufferSet(device);
  device.pushErrorScope("out-of-memory");
  device.pushErrorScope("validation");
  let allocated: Promise<Array<GPUError | null>> | undefined;
  const popAllocation = () => {
    if (allocated !== undefined) return;
    allocated = Promise.all([device.popErrorScope(), device.popErrorScope()]);
    allocated.catch(() => {}); // observed below; a lost device rejects it
  };
  try {
    const paramBuf = buffers.upload("members", params.subarray(0, M * P), STORAGE);
    const xc = buffers.create("input chunk", rows * dims[0] * 4, STORAGE | COPY_DST);
    const acts = [xc]; // acts[l], l = 1..L: [members, rows, dims[l]]
    for (let l = 1; l <= L; l++) {
      acts.push(buffers.create(`activations ${l}`, M * rows * dims[l] * 4, STORAGE | COPY_SRC));
    }
    const resultFloats = (combine === "none" ? M : 1) * n * outDim;
    const result = buffers.create("result", resultFloats * 4, STORAGE | COPY_SRC | COPY_DST);
    const records = buffers.create("chunk records", chunks * ctx.recordStride, UNIFORM | COPY_DST);
    writeBuffer(
      device,
      records,
      0,
      stepRecords(ctx.recordStride, chunks, (c, r) => {
        r[2] = Math.min(rows, n - c * rows);
      }),
    );

    const pending: Array<Promise<Dispatch>> = [];
    const kernel = (
      shader: ShaderName,
      constants: Record<string, number>,
      bound: ReadonlyArray<GPUBuffer>,
      grid: (batch: number) => readonly [number, number, number],
    ) => {
      pending.push(
        cache.pipeline(shader, constants).then((pipeline) => ({
          shader,
          pipeline,
          buffers: () => bound,
          grid,
        })),
      );
    };
    // Dropout is the identity in prediction: only the dense layers and their activations run.
    for (let l = 0; l < L; l++) {
      const shape = tileShape(dims[l + 1]);
      kernel(
        "dense_forward",
        {
          IN_DIM: dims[l],
          OUT_DIM: dims[l + 1],
          ACT: ACTIVATIONS[layout.layers[l].activation].code,
          W_OFF: layout.layers[l].weightOffset,
          B_OFF: layout.layers[l].biasOffset,
          PARAM_STRIDE: P,
          IN_ROW: dims[l],
          IN_REP: l === 0 ? 0 : rows * dims[l],
          OUT_ROW: dims[l + 1],
          OUT_REP: rows * dims[l + 1],
          ...shape,
        },
        [paramBuf, acts[l], acts[l + 1]],
        (b) => tileGrid(dims[l + 1], b, shape, M),
      );
    }
    if (spec.head === "softmax") {
      kernel(
        "softmax",
        { OUT_DIM: outDim, STRIDE: rows * outDim },
        [acts[L]],
        (b) => [Math.ceil(b / 64), 1, M],
      );
    }
    let mean: GPUBuffer | undefined;
    if (combine === "mean") {
      let total = 0;
      for (let m = 0; m < M; m++) total += weights === undefined ? 1 : weights[m];
      const normalised = new Float32Array(M);
      for (let m = 0; m < M; m++) normalised[m] = (weights === undefined ? 1 : weights[m]) / total;
      const weightBuf = buffers.upload("weights", normalised, STORAGE);
      mean = buffers.create("mean", rows * outDim * 4, STORAGE | COPY_SRC);
      kernel(
        "combine_mean",
        { OUT_DIM: outDim, STRIDE: rows * outDim, MEMBERS: M },
        [acts[L], weightBuf, mean],
        (b) => flatGrid(b * outDim),
      );
    }
    popAllocation();
    let dispatches: Dispatch[];
    try {
      dispatches = await ctx.guard(Promise.all(pending));
      const caught = (await ctx.guard(allocated!)).find((e) => e !== null);
      if (caught) {
        throw new SnapfoldError(
          `Cannot predict: WebGPU could not create its buffers: ${caught.message}; use backend ` +
            '"cpu", or fewer members or rows per call',
        );
      }
    } catch (error) {
      throw await ctx.explain(error);
    }
    bindDispatches(ctx, dispatches);
    const recordGroup = device.createBindGroup({
      label: "chunk records",
      layout: cache.stepLayout,
      entries: [{ binding: 0, resource: { buffer: records, size: STEP_RECORD_BYTES } }],
    });

    device.pushErrorScope("out-of-memory");
    device.pushErrorScope("validation");
    let submitted: Promise<Array<GPUError | null>>;
    try {
      for (let c = 0; c < chunks; c++) {
        const start = c * rows;
        const count = Math.min(rows, n - start);
        // Each chunk is its own submit: the queue orders this write after the previous chunk's work.
        writeBuffer(device, xc, 0, x.subarray(start * dims[0], (start + count) * dims[0]));
        const encoder = device.createCommandEncoder({ label: "predict" });
        const pass = encoder.beginComputePass({ label: "predict" });
        pass.setBindGroup(1, recordGroup, [c * ctx.recordStride]);
        for (const d of dispatches) encodeDispatch(pass, d, count);
        pass.end();
        const bytes = count * outDim * 4;
        if (mean !== undefined) {
          encoder.copyBufferToBuffer(mean, 0, result, start * outDim * 4, bytes);
        } else {
          for (let m = 0; m < M; m++) {
            encoder.copyBufferToBuffer(
              acts[L],
              m * rows * outDim * 4,
              result,
              (m * n + start) * outDim * 4,
              bytes,
            );
          }
        }
        device.queue.submit([encoder.finish()]);
      }
    } finally {
      // Popped whatever happened, so that the device's scope stack stays balanced.
      submitted = Promise.all([device.popErrorScope(), device.popErrorScope()]);
      submitted.catch(() => {}); // observed below
    }
    const error = (await ctx.guard(submitted)).find((e) => e !== null);
    if (error) {
      throw new SnapfoldError(`Cannot predict: WebGPU reported an error: ${error.message}`);
    }
    return new Float32Array(await ctx.read(result, 0, resultFloats * 4));
  } finally {
    popAllocation(); // when creating a buffer threw
    buffers.destroyAll();
  }
}

/**
 * Creates the WebGPU backend: it requests an adapter and a device (unless given), and builds each
 * kernel's pipeline once per shape. Sessions upload their data and parameters once and train without
 * reading back; see the module docs.
 *
 * @example Train the same model on WebGPU and on the CPU, and compare
 * ```ts
 * import { createCpuBackend, createWebGpuBackend, initParams, mlp, sgd } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 8, 2] });
 * const data = { x: new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]), y: new Int32Array([0, 1, 1, 0]), n: 4 };
 * const options = { spec, optimizer: sgd({ momentum: 0.9 }), params: initParams(spec, { seed: 1 }), data };
 * const plan = {
 *   indices: new Int32Array(80).map((_, k) => k % 4), // 20 steps of the whole set
 *   offsets: new Int32Array(21).map((_, s) => 4 * s),
 *   lrs: new Float32Array(20).fill(0.1),
 * };
 * const gpu = await createWebGpuBackend();
 * const cpu = createCpuBackend();
 * const onGpu = await gpu.createSession(options);
 * const onCpu = await cpu.createSession(options);
 * onGpu.run(plan);
 * onCpu.run(plan);
 * const [a, b] = [await onGpu.readParams(), await onCpu.readParams()];
 * for (let k = 0; k < a.length; k++) assert.ok(Math.abs(a[k] - b[k]) < 1e-4);
 * assert.equal(gpu.readbacks, 1);
 * assert.equal(gpu.fusedSteps, 20); // this small network took the fused path
 * gpu.dispose();
 * cpu.dispose();
 * ```
 *
 * @param options A device or adapter to use, or the power preference of the adapter to request.
 * @returns The backend.
 * @throws {SnapfoldError} when WebGPU or an adapter is not available.
 * @throws {ConfigError} when an option is invalid.
 */
export async function createWebGpuBackend(
  options: WebGpuBackendOptions = {},
): Promise<WebGpuBackend> {
  const { device: given, adapter: givenAdapter, powerPreference, fused = "auto" } = options ?? {};
  orThrow(
    "Cannot create the WebGPU backend",
    validation([
      ...check.oneOf("fused", fused, ["auto", "never"]),
      ...(powerPreference === undefined
        ? []
        : check.oneOf("powerPreference", powerPreference, ["low-power", "high-performance"])),
      ...check.that(
        given === undefined || typeof (given as GPUDevice).createBuffer === "function",
        "device",
        "must be a GPUDevice when given",
        given,
      ),
      ...check.that(
        givenAdapter === undefined ||
          typeof (givenAdapter as GPUAdapter).requestDevice === "function",
        "adapter",
        "must be a GPUAdapter when given",
        givenAdapter,
      ),
    ], undefined),
  );
  let device: GPUDevice;
  let facts: { description: string; software: boolean };
  if (given !== undefined) {
    device = given;
    const info = givenAdapter?.info ?? (given as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    facts = adapterFacts({ info });
  } else {
    const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
    if (givenAdapter === undefined && gpu === undefined) {
      throw new SnapfoldError(
        'WebGPU is not available: this runtime has no navigator.gpu; use backend "cpu", or run in ' +
          "Deno 2 or a browser with WebGPU enabled",
      );
    }
    let adapter: GPUAdapter | null;
    try {
      adapter = givenAdapter ?? await gpu!.requestAdapter({ powerPreference });
    } catch (error) {
      // Some runtimes throw instead of resolving null when no driver is usable.
      throw new SnapfoldError(
        `WebGPU is not available: requesting an adapter failed: ${
          error instanceof Error ? error.message : String(error)
        }; use backend "cpu", or install a WebGPU-capable driver`,
        { cause: error },
      );
    }
    if (adapter === null) {
      throw new SnapfoldError(
        'WebGPU is not available: no GPU adapter was found; use backend "cpu", or install a ' +
          "WebGPU-capable driver (on Debian, mesa-vulkan-drivers provides a software adapter)",
      );
    }
    facts = adapterFacts(adapter);
    try {
      device = await adapter.requestDevice({
        label: "snapfold",
        // WebGPU's default limits are below what adapters allow (lib/backend/_webgpu_quirks.ts).
        requiredLimits: deviceLimitsToRequest(adapter.limits),
      });
    } catch (error) {
      throw new SnapfoldError(
        `WebGPU is not available: the adapter "${facts.description}" refused a device: ${
          error instanceof Error ? error.message : String(error)
        }; use backend "cpu"`,
        { cause: error },
      );
    }
  }
  const owned = given === undefined;

  let disposed = false;
  let lost: SnapfoldError | null = null;
  let rejectLost: (error: SnapfoldError) => void = () => {};
  const lostSignal = new Promise<never>((_, reject) => (rejectLost = reject));
  lostSignal.catch(() => {}); // observed through guard(); never an unhandled rejection
  device.lost.then((info) => {
    lost = new SnapfoldError(
      disposed
        ? "Cannot use the WebGPU backend: it was disposed; create a new one"
        : `The WebGPU device was lost (${info.reason || "unknown"}${
          info.message ? `: ${info.message}` : ""
        }); parameters read before are intact; create a new backend, or use backend "cpu"`,
    );
    rejectLost(lost);
  });

  let readbacks = 0;
  let fusedSteps = 0;
  const sessions = new Set<TrainingSession>();
  const assertUsable = (what: string) => {
    if (disposed) {
      throw new SnapfoldError(
        `Cannot ${what}: the WebGPU backend was disposed; create a new one with createWebGpuBackend()`,
      );
    }
    if (lost !== null) throw lost;
  };
  const guard = <T>(promise: Promise<T>): Promise<T> => Promise.race([promise, lostSignal]);
  const explain = async (error: unknown): Promise<unknown> => {
    // An operation may fail because the device went away before `device.lost` settles (a
    // mapping, a shader compiled on a destroyed device): give it a moment to.
    if (lost === null) await settledOrTimeout(device.lost, 200);
    return lost ?? error;
  };
  let fusedFallbackReason: string | undefined;
  const fusedFailures = new Set<string>();
  const ctx: GpuContext = {
    device,
    cache: createPipelineCache(device),
    software: facts.software,
    recordStride: Math.max(
      STEP_RECORD_BYTES,
      Math.ceil(STEP_RECORD_BYTES / device.limits.minUniformBufferOffsetAlignment) *
        device.limits.minUniformBufferOffsetAlignment,
    ),
    guard,
    assertUsable,
    fused: fused === "auto" && fusedIsSlowOn(facts) ? "never" : fused,
    countFused(steps) {
      fusedSteps += steps;
    },
    explain,
    fusedFailed(constants) {
      return fusedFailures.has(constantsKey(constants));
    },
    fusedFallback(constants, error) {
      const reason = `the fused kernel failed to build, so sessions train per kernel: ${
        error instanceof Error ? error.message : String(error)
      }`;
      fusedFailures.add(constantsKey(constants));
      if (fusedFallbackReason === undefined) console.warn(`snapfold: ${reason}`);
      fusedFallbackReason = reason;
    },
    async read(source, byteOffset, byteLength) {
      readbacks++;
      try {
        return await readBuffer(device, source, byteOffset, byteLength, guard);
      } catch (error) {
        throw await explain(error);
      }
    },
  };

  return {
    kind: "webgpu",
    readCost: "costly",
    adapter: facts.description,
    softwareAdapter: facts.software,
    get readbacks() {
      return readbacks;
    },
    get fusedSteps() {
      return fusedSteps;
    },
    get fusedFallbackReason() {
      return fusedFallbackReason;
    },
    async createSession(sessionOptions: SessionOptions): Promise<TrainingSession> {
      assertUsable("create a session");
      const data = orThrow("Cannot create a training session", validateSession(sessionOptions));
      refuseAugment(sessionOptions);
      orThrow(
        "Cannot create a training session",
        validation(sessionSizeIssues(device.limits, sessionOptions), undefined),
      );
      const session = await openSession(ctx, sessionOptions, data, (s) => sessions.delete(s));
      sessions.add(session);
      return session;
    },
    async predict(predictOptions: PredictOptions): Promise<Float32Array> {
      assertUsable("predict");
      const x = orThrow("Cannot predict", validatePredict(predictOptions));
      orThrow(
        "Cannot predict",
        validation(predictSizeIssues(device.limits, predictOptions), undefined),
      );
      return await predictGpu(ctx, predictOptions, x);
    },
    dispose(): void {
      if (disposed) return;
      for (const session of [...sessions]) session.dispose();
      disposed = true;
      if (owned) device.destroy();
    },
  };
}

/**
 * The WebGPU backend's own limit on batches, beside the shared checks of lib/backend/_validate.ts:
 * llvmpipe silently stops every loop of an invocation after LLVMPIPE_LOOP_LIMIT iterations, and
 * the per-kernel path's loss head and backward kernels loop over the batch. Every kernel's loops
 * are counted (`perKernelLoopCounts` in lib/backend/_fused.ts) and the tightest one binds. Plans
 * that the fused kernel takes are split into dispatches within its own budget instead, but any
 * plan may run per kernel, so the limit holds for all.
 */
function batchLimit(spec: MlpSpec, software: boolean) {
  const limit = software ? perKernelBatchLimit(spec) : undefined;
  return (maxRows: number): ConfigIssue[] => {
    if (limit === undefined || maxRows <= limit.batch) return [];
    if (limit.batch === 0) {
      return [{
        field: "spec.layers",
        message:
          `must be narrower on a software WebGPU adapter: the ${limit.kernel} kernel would ` +
          `loop more than ${LLVMPIPE_LOOP_LIMIT} times per invocation, where it stops silently; ` +
          'use backend "cpu"',
        got: denseWidths(spec),
      }];
    }
    return [{
      field: "offsets",
      message:
        `must give batches of at most ${limit.batch} samples on a software WebGPU adapter: ` +
        `a larger one makes the ${limit.kernel} kernel loop more than ${LLVMPIPE_LOOP_LIMIT} ` +
        'times per invocation, where its loops stop silently; use smaller batches or backend "cpu"',
      got: maxRows,
    }];
  };
}

/** Shifted batches are not gathered on WebGPU yet: refused rather than trained unshifted. */
function refuseAugment(options: SessionOptions): void {
  if (options.augment === undefined) return;
  throw new SnapfoldError(
    `Cannot create a training session on WebGPU: augment (shift) is not implemented there yet; ` +
      `use createBackend("wasm") or createBackend("cpu")`,
  );
}
