/**
 * The WebGPU backend: every part of a training step and of prediction runs as a WGSL compute kernel
 * (`shaders/`, embedded through `_shaders.ts` so that browsers and bundlers can load it).
 *
 * How a plan runs: the plan's sample indices, learning rates and one small step record per step
 * (`{ step, start, batch, row }`) are written to GPU buffers in advance; then every step is encoded
 * as a sequence of dispatches (gather, dense forward per layer, the fused loss head, the backward
 * products and bias sums per layer, the optimizer: plain `KernelCall` data built by ./_programs.ts)
 * into ONE compute pass and ONE submit, selecting
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
 * whole steps as llvmpipe's loop cap allows (./_loop_budget.ts counts them), still in one
 * submit. Plans it cannot take (a larger batch, a step over the loop budget), larger networks,
 * dropout, soft targets and shifted batches (`augment`) run on the per-kernel path; both keep
 * parameters, optimizer state and statistics in the same buffers, so a session may switch between
 * them from one plan to the next.
 *
 * Augmentation (`augment: shift(...)`) replaces the gather by shaders/gather_shift.wgsl, which
 * draws every row's shift on the device from the counter-based generator of dropout (the plan's
 * first global step in a small buffer, the step's index in its record), so the dataset stays
 * resident and the batches are shifted exactly as on the CPU and WebAssembly backends.
 *
 * Prediction stacks all members: one dispatch per layer for every member at once, then the
 * softmax and the weighted mean on the GPU, and one readback.
 *
 * @module
 */
import { type ConfigIssue, SnapfoldError } from "../../errors.ts";
import { check, orThrow, validation } from "../../validation.ts";
import { paramCount } from "../../model/mod.ts";
import { optimizerStateSize } from "../../optimizers/mod.ts";
import type { Backend, PredictOptions, SessionOptions, TrainingSession } from "../backend.ts";
import { validatePredict, validateSession } from "../_validate.ts";
import { bufferSizeIssues } from "./_buffers.ts";
import { createGpuContext } from "./_context.ts";
import { predictGpu, predictSizeIssues } from "./_predict.ts";
import { adapterFacts, deviceLimitsToRequest, fusedIsSlowOn } from "./_quirks.ts";
import { openSession } from "./_session.ts";

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
   * `fusedIsSlowOn` in lib/backend/_quirks.ts).
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
  const { device: given, fused = "auto" } = options ?? {};
  validateOptions(options ?? {});
  const { device, facts } = await acquireDevice(options ?? {});
  const owned = given === undefined;
  const handle = createGpuContext(device, {
    software: facts.software,
    fused: fused === "auto" && fusedIsSlowOn(facts) ? "never" : fused,
  });
  const { ctx } = handle;
  const sessions = new Set<TrainingSession>();
  let disposed = false;
  return {
    kind: "webgpu",
    readCost: "costly",
    adapter: facts.description,
    softwareAdapter: facts.software,
    get readbacks() {
      return handle.readbacks;
    },
    get fusedSteps() {
      return handle.fusedSteps;
    },
    get fusedFallbackReason() {
      return handle.fusedFallbackReason;
    },
    async createSession(sessionOptions: SessionOptions): Promise<TrainingSession> {
      ctx.assertUsable("create a session");
      const data = orThrow("Cannot create a training session", validateSession(sessionOptions));
      orThrow(
        "Cannot create a training session",
        validation(sessionSizeIssues(device.limits, sessionOptions), undefined),
      );
      const session = await openSession(ctx, sessionOptions, data, (s) => sessions.delete(s));
      sessions.add(session);
      return session;
    },
    async predict(predictOptions: PredictOptions): Promise<Float32Array> {
      ctx.assertUsable("predict");
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
      handle.markDisposed();
      if (owned) device.destroy();
    },
  };
}

function validateOptions(options: WebGpuBackendOptions): void {
  const { device: given, adapter: givenAdapter, powerPreference, fused = "auto" } = options;
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
}

/** The given device, or one requested from the given or default adapter, with its facts. */
async function acquireDevice(
  options: WebGpuBackendOptions,
): Promise<{ device: GPUDevice; facts: { description: string; software: boolean } }> {
  const { device: given, adapter: givenAdapter, powerPreference } = options;
  if (given !== undefined) {
    const info = givenAdapter?.info ?? (given as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    return { device: given, facts: adapterFacts({ info }) };
  }
  const adapter = await requestAdapter(givenAdapter, powerPreference);
  const facts = adapterFacts(adapter);
  try {
    const device = await adapter.requestDevice({
      label: "snapfold",
      // WebGPU's default limits are below what adapters allow (lib/backend/webgpu/_quirks.ts).
      requiredLimits: deviceLimitsToRequest(adapter.limits),
    });
    return { device, facts };
  } catch (error) {
    throw new SnapfoldError(
      `WebGPU is not available: the adapter "${facts.description}" refused a device: ${
        error instanceof Error ? error.message : String(error)
      }; use backend "cpu"`,
      { cause: error },
    );
  }
}

async function requestAdapter(
  givenAdapter: GPUAdapter | undefined,
  powerPreference: GPUPowerPreference | undefined,
): Promise<GPUAdapter> {
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
  return adapter;
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
