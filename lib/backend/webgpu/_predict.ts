/**
 * Stacked prediction on WebGPU: one upload of every member's parameters, then per chunk of rows
 * the calls of ./_programs.ts `predictCalls` (one dense forward per layer for all members at once,
 * the softmax, the weighted mean), and one readback of the result.
 *
 * @module
 */
import { type ConfigIssue, SnapfoldError } from "../../errors.ts";
import { denseWidths, paramLayout } from "../../model/mod.ts";
import type { BufferRole } from "../../ops/kernel_call.ts";
import type { PredictOptions } from "../backend.ts";
import {
  type BufferSet,
  bufferSizeIssues,
  createBufferSet,
  USAGE,
  writeBuffer,
} from "./_buffers.ts";
import {
  bindDispatches,
  compileCalls,
  type Dispatch,
  encodeDispatch,
  type GpuContext,
  missingRole,
  stepRecords,
} from "./_context.ts";
import { STEP_RECORD_BYTES } from "./_pipeline_cache.ts";
import { predictCalls } from "./_programs.ts";

const { STORAGE, COPY_SRC, COPY_DST, UNIFORM } = USAGE;

/** Largest number of floats one prediction chunk's activations may take (16 MiB). */
const PREDICT_CHUNK_FLOATS = 1 << 22;

/** Rows per prediction chunk: a power of two, so that repeated predictions reuse a few pipelines. */
function predictRows(options: PredictOptions): number {
  const { spec, members: M = 1, n } = options;
  const widest = Math.max(...denseWidths(spec));
  let rows = 1;
  while (rows < n && 2 * rows * M * widest <= PREDICT_CHUNK_FLOATS) rows *= 2;
  return rows;
}

/**
 * The buffers of a prediction, against the device's limits.
 *
 * @param limits The device's limits.
 * @param options The prediction.
 * @returns The issues (none when it fits).
 */
export function predictSizeIssues(
  limits: GPUSupportedLimits,
  options: PredictOptions,
): ConfigIssue[] {
  const { spec, members: M = 1, n, combine = "mean" } = options;
  const rows = predictRows(options);
  const widest = Math.max(...denseWidths(spec));
  const layout = paramLayout(spec);
  const outputs = (combine === "none" ? M : 1) * n * layout.outDim;
  return bufferSizeIssues(limits, [
    { field: "params", bytes: M * layout.paramCount * 4, advice: "fewer members per call" },
    { field: "members", bytes: M * rows * widest * 4, advice: "fewer members per call" },
    { field: "n", bytes: outputs * 4, advice: "fewer rows per call" },
  ]);
}

/** The buffers of one prediction, by role. */
interface PredictBuffers {
  readonly params: GPUBuffer;
  readonly batch: GPUBuffer; // [rows, inDim]
  readonly acts: GPUBuffer[]; // acts[l], l = 1..L: [members, rows, dims[l]]
  readonly weights?: GPUBuffer;
  readonly mean?: GPUBuffer;
  readonly result: GPUBuffer;
  readonly resultBytes: number;
  readonly records: GPUBuffer;
}

function predictBuffer(b: PredictBuffers, role: BufferRole): GPUBuffer {
  const found = typeof role === "object"
    ? ("act" in role && role.act >= 1 ? b.acts[role.act] : undefined)
    : role === "params" || role === "batch" || role === "weights" || role === "mean"
    ? b[role]
    : undefined;
  if (found === undefined) throw missingRole(role, "prediction");
  return found;
}

/** Allocates the buffers of a prediction in chunks of `rows` rows. */
function allocate(
  buffers: BufferSet,
  ctx: GpuContext,
  options: PredictOptions,
  rows: number,
): PredictBuffers {
  const { spec, params, members: M = 1, n, combine = "mean", weights } = options;
  const layout = paramLayout(spec);
  const dims = denseWidths(spec);
  const outDim = layout.outDim;
  const chunks = Math.ceil(n / rows);
  const acts: GPUBuffer[] = [];
  for (let l = 1; l < dims.length; l++) {
    acts[l] = buffers.create(`activations ${l}`, M * rows * dims[l] * 4, STORAGE | COPY_SRC);
  }
  let weightBuf: GPUBuffer | undefined;
  let mean: GPUBuffer | undefined;
  if (combine === "mean") {
    let total = 0;
    for (let m = 0; m < M; m++) total += weights === undefined ? 1 : weights[m];
    const normalised = new Float32Array(M);
    for (let m = 0; m < M; m++) normalised[m] = (weights === undefined ? 1 : weights[m]) / total;
    weightBuf = buffers.upload("weights", normalised, STORAGE);
    mean = buffers.create("mean", rows * outDim * 4, STORAGE | COPY_SRC);
  }
  const resultFloats = (combine === "none" ? M : 1) * n * outDim;
  const records = buffers.create("chunk records", chunks * ctx.recordStride, UNIFORM | COPY_DST);
  writeBuffer(
    ctx.device,
    records,
    0,
    stepRecords(ctx.recordStride, chunks, (c, r) => {
      r[2] = Math.min(rows, n - c * rows);
    }),
  );
  return {
    params: buffers.upload("members", params.subarray(0, M * layout.paramCount), STORAGE),
    batch: buffers.create("input chunk", rows * dims[0] * 4, STORAGE | COPY_DST),
    acts,
    weights: weightBuf,
    mean,
    result: buffers.create("result", resultFloats * 4, STORAGE | COPY_SRC | COPY_DST),
    resultBytes: resultFloats * 4,
    records,
  };
}

/** Encodes and submits every chunk: its input, its calls, its copy into the result. */
function submitChunks(
  ctx: GpuContext,
  options: PredictOptions,
  x: Float32Array,
  b: PredictBuffers,
  dispatches: ReadonlyArray<Dispatch>,
  rows: number,
): void {
  const { device } = ctx;
  const { members: M = 1, n } = options;
  const layout = paramLayout(options.spec);
  const inDim = layout.inDim;
  const outDim = layout.outDim;
  const last = b.acts[layout.layers.length];
  const recordGroup = device.createBindGroup({
    label: "chunk records",
    layout: ctx.cache.stepLayout,
    entries: [{ binding: 0, resource: { buffer: b.records, size: STEP_RECORD_BYTES } }],
  });
  for (let c = 0; c * rows < n; c++) {
    const start = c * rows;
    const count = Math.min(rows, n - start);
    // Each chunk is its own submit: the queue orders this write after the previous chunk's work.
    writeBuffer(device, b.batch, 0, x.subarray(start * inDim, (start + count) * inDim));
    const encoder = device.createCommandEncoder({ label: "predict" });
    const pass = encoder.beginComputePass({ label: "predict" });
    pass.setBindGroup(1, recordGroup, [c * ctx.recordStride]);
    for (const d of dispatches) encodeDispatch(pass, d, count);
    pass.end();
    const bytes = count * outDim * 4;
    if (b.mean !== undefined) {
      encoder.copyBufferToBuffer(b.mean, 0, b.result, start * outDim * 4, bytes);
    } else {
      for (let m = 0; m < M; m++) {
        const from = m * rows * outDim * 4;
        encoder.copyBufferToBuffer(last, from, b.result, (m * n + start) * outDim * 4, bytes);
      }
    }
    device.queue.submit([encoder.finish()]);
  }
}

/** Pushes the two allocation scopes; the returned function pops them once. */
function allocationScopes(device: GPUDevice) {
  device.pushErrorScope("out-of-memory");
  device.pushErrorScope("validation");
  let popped: Promise<Array<GPUError | null>> | undefined;
  return (): Promise<Array<GPUError | null>> => {
    if (popped === undefined) {
      popped = Promise.all([device.popErrorScope(), device.popErrorScope()]);
      popped.catch(() => {}); // observed by the caller; a lost device rejects it
    }
    return popped;
  };
}

/**
 * Forward passes of stacked members, softmax, and the weighted mean, chunk by chunk.
 *
 * @param ctx The backend's context.
 * @param options The prediction (validated, and within the device's limits).
 * @param x The validated inputs.
 * @returns The combined outputs, or every member's.
 */
export async function predictGpu(
  ctx: GpuContext,
  options: PredictOptions,
  x: Float32Array,
): Promise<Float32Array> {
  const { device } = ctx;
  const { spec, members: M = 1, combine = "mean" } = options;
  const rows = predictRows(options);
  const buffers = createBufferSet(device);
  const popAllocation = allocationScopes(device);
  try {
    const b = allocate(buffers, ctx, options, rows);
    const model = { head: spec.head, combine };
    const pending = compileCalls(ctx, predictCalls(paramLayout(spec), M, rows, model));
    const allocated = popAllocation();
    let dispatches: Dispatch[];
    try {
      dispatches = await ctx.guard(Promise.all(pending));
      const caught = (await ctx.guard(allocated)).find((e) => e !== null);
      if (caught) {
        throw new SnapfoldError(
          `Cannot predict: WebGPU could not create its buffers: ${caught.message}; use backend ` +
            '"cpu", or fewer members or rows per call',
        );
      }
    } catch (error) {
      throw await ctx.explain(error);
    }
    bindDispatches(ctx, dispatches, (role) => predictBuffer(b, role));
    device.pushErrorScope("out-of-memory");
    device.pushErrorScope("validation");
    let submitted: Promise<Array<GPUError | null>>;
    try {
      submitChunks(ctx, options, x, b, dispatches, rows);
    } finally {
      // Popped whatever happened, so that the device's scope stack stays balanced.
      submitted = Promise.all([device.popErrorScope(), device.popErrorScope()]);
      submitted.catch(() => {}); // observed below
    }
    const error = (await ctx.guard(submitted)).find((e) => e !== null);
    if (error) {
      throw new SnapfoldError(`Cannot predict: WebGPU reported an error: ${error.message}`);
    }
    return new Float32Array(await ctx.read(b.result, 0, b.resultBytes));
  } finally {
    popAllocation(); // when creating a buffer threw
    buffers.destroyAll();
  }
}
