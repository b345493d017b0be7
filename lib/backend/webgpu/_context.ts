/**
 * What the WebGPU backend's sessions and predictions share: the device, its pipelines, the
 * lost-device guard that turns every later failure into one clear error, the memory of fused
 * kernels that failed to build, the counters, and the few helpers that turn
 * {@linkcode KernelCall} data into pipelines, bind groups and dispatches (the only code, with the
 * session and prediction, that touches `GPUDevice`).
 *
 * @module
 */
import { SnapfoldError } from "../../errors.ts";
import { type BufferRole, type KernelCall, roleKey } from "../../ops/kernel_call.ts";
import { readBuffer } from "./_buffers.ts";
import { createPipelineCache, type PipelineCache, STEP_RECORD_BYTES } from "./_pipeline_cache.ts";

/** What sessions and prediction share: the device, its pipelines and its failure state. */
export interface GpuContext {
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

/** A context and what the backend reads and changes of it. */
export interface GpuContextHandle {
  readonly ctx: GpuContext;
  readonly readbacks: number;
  readonly fusedSteps: number;
  readonly fusedFallbackReason: string | undefined;
  /** Marks the backend disposed (a later device loss then says so). */
  markDisposed(): void;
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

/** The lost-device state of a device: its error once lost, and a guard that rejects with it. */
function watchLoss(device: GPUDevice, isDisposed: () => boolean) {
  let lost: SnapfoldError | null = null;
  let rejectLost: (error: SnapfoldError) => void = () => {};
  const lostSignal = new Promise<never>((_, reject) => (rejectLost = reject));
  lostSignal.catch(() => {}); // observed through guard(); never an unhandled rejection
  device.lost.then((info) => {
    lost = new SnapfoldError(
      isDisposed()
        ? "Cannot use the WebGPU backend: it was disposed; create a new one"
        : `The WebGPU device was lost (${info.reason || "unknown"}${
          info.message ? `: ${info.message}` : ""
        }); parameters read before are intact; create a new backend, or use backend "cpu"`,
    );
    rejectLost(lost);
  });
  return {
    lost: () => lost,
    guard: <T>(promise: Promise<T>): Promise<T> => Promise.race([promise, lostSignal]),
    explain: async (error: unknown): Promise<unknown> => {
      // An operation may fail because the device went away before `device.lost` settles (a
      // mapping, a shader compiled on a destroyed device): give it a moment to.
      if (lost === null) await settledOrTimeout(device.lost, 200);
      return lost ?? error;
    },
  };
}

/**
 * The context of one backend on `device`.
 *
 * @param device The device.
 * @param options Whether the adapter is a software one, and whether sessions may run fused.
 * @returns The context and its counters.
 */
export function createGpuContext(
  device: GPUDevice,
  options: { readonly software: boolean; readonly fused: "auto" | "never" },
): GpuContextHandle {
  let disposed = false;
  let readbacks = 0;
  let fusedSteps = 0;
  let fusedFallbackReason: string | undefined;
  const fusedFailures = new Set<string>();
  const loss = watchLoss(device, () => disposed);
  const align = device.limits.minUniformBufferOffsetAlignment;
  const ctx: GpuContext = {
    device,
    cache: createPipelineCache(device),
    software: options.software,
    recordStride: Math.max(STEP_RECORD_BYTES, Math.ceil(STEP_RECORD_BYTES / align) * align),
    guard: loss.guard,
    assertUsable(what) {
      if (disposed) {
        throw new SnapfoldError(
          `Cannot ${what}: the WebGPU backend was disposed; create a new one with createWebGpuBackend()`,
        );
      }
      const lost = loss.lost();
      if (lost !== null) throw lost;
    },
    fused: options.fused,
    countFused(steps) {
      fusedSteps += steps;
    },
    explain: loss.explain,
    fusedFailed: (constants) => fusedFailures.has(constantsKey(constants)),
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
        return await readBuffer(device, source, byteOffset, byteLength, loss.guard);
      } catch (error) {
        throw await loss.explain(error);
      }
    },
  };
  return {
    ctx,
    get readbacks() {
      return readbacks;
    },
    get fusedSteps() {
      return fusedSteps;
    },
    get fusedFallbackReason() {
      return fusedFallbackReason;
    },
    markDisposed() {
      disposed = true;
    },
  };
}

/** A call with its pipeline, and its bind group once bound. */
export interface Dispatch {
  readonly call: KernelCall;
  readonly pipeline: GPUComputePipeline;
  group?: GPUBindGroup;
}

/**
 * Builds (or finds in the cache) the pipelines of `calls`, all at once.
 *
 * @param ctx The context.
 * @param calls The calls.
 * @returns One promise per call, in order.
 */
export function compileCalls(
  ctx: GpuContext,
  calls: ReadonlyArray<KernelCall>,
): Array<Promise<Dispatch>> {
  return calls.map((call) =>
    ctx.cache.pipeline(call.shader, call.constants).then((pipeline) => ({ call, pipeline }))
  );
}

/**
 * (Re)creates the bind groups of `dispatches` from the buffers their roles name now.
 *
 * @param ctx The context.
 * @param dispatches The dispatches.
 * @param buffer The buffer of a role.
 */
export function bindDispatches(
  ctx: GpuContext,
  dispatches: ReadonlyArray<Dispatch>,
  buffer: (role: BufferRole) => GPUBuffer,
): void {
  for (const d of dispatches) {
    d.group = ctx.device.createBindGroup({
      label: d.call.label,
      layout: ctx.cache.layout(d.call.shader),
      entries: d.call.bindings.map((role, binding) => ({
        binding,
        resource: { buffer: buffer(role) },
      })),
    });
  }
}

/**
 * Encodes one bound dispatch for `rows` rows.
 *
 * @param pass The compute pass.
 * @param d The dispatch.
 * @param rows Rows of the step or chunk.
 */
export function encodeDispatch(pass: GPUComputePassEncoder, d: Dispatch, rows: number): void {
  const [x, y, z] = d.call.grid(rows);
  pass.setPipeline(d.pipeline);
  pass.setBindGroup(0, d.group!);
  pass.dispatchWorkgroups(x, y, z);
}

/**
 * Step records `{ step, start, batch, row }` at `stride` bytes apart.
 *
 * @param stride Bytes between records.
 * @param count Records.
 * @param fill Writes record `k`.
 * @returns The words.
 */
export function stepRecords(
  stride: number,
  count: number,
  fill: (k: number, record: Uint32Array) => void,
): Uint32Array {
  const words = new Uint32Array((stride / 4) * count);
  for (let k = 0; k < count; k++) fill(k, words.subarray(k * stride / 4, k * stride / 4 + 4));
  return words;
}

/**
 * The error of a role that a program names but its owner does not hold (a bug, not a user error).
 *
 * @param role The role.
 * @param owner `"session"` or `"prediction"`.
 * @returns The error.
 */
export function missingRole(role: BufferRole, owner: string): Error {
  return new Error(`Cannot bind a kernel: the ${owner} has no buffer for ${roleKey(role)}`);
}
