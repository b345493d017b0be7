/**
 * Choosing a backend: `"cpu"`, `"webgpu"`, `"wasm"` (WebAssembly SIMD, loaded on first use), or
 * `"auto"`. Given the model (`createBackend("auto", { model })`), `"auto"` picks by a cost model of
 * one training step ({@linkcode estimateStepMs}, fitted to measurements: `bench/auto_cost.ts`):
 * the WebAssembly backend where the model says it is {@linkcode WASM_MIN_SPEEDUP} times faster than
 * the CPU one (from about 30 000 multiply-adds a step on; below, the two are level), and it asks for a WebGPU adapter only when a step on the CPU would take at least
 * {@linkcode WEBGPU_MIN_STEP_MS}, since a GPU pays dispatches every step and about 11 ms per
 * readback (shared/PLATFORM.md). Software adapters (llvmpipe, SwiftShader) run on the same cores
 * and lose to the CPU, so `"auto"` never takes them. Without a model, `"auto"` keeps its former
 * rule: WebGPU on a hardware adapter, the CPU otherwise.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { check, orThrow, validation } from "../validation.ts";
import type { Backend, BackendChoice } from "./backend.ts";
import type { ModelSpec } from "../model/spec.ts";
import { paramLayout } from "../model/layout.ts";
import { createCpuBackend } from "./cpu/backend.ts";
import { createWebGpuBackend } from "./webgpu/backend.ts";
import { adapterFacts } from "./webgpu/_quirks.ts";
import { type WasmBackendOptions, wasmOptionIssues } from "./wasm/_options.ts";

/** What {@linkcode describeAdapter} found. */
export interface AdapterDescription {
  /** The adapter's description, e.g. `"llvmpipe (LLVM 15.0.6, 256 bits)"`. */
  readonly description: string;
  /** True for a software fallback adapter. */
  readonly software: boolean;
}

async function requestAdapter(): Promise<GPUAdapter | null> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (gpu === undefined) return null;
  try {
    return await gpu.requestAdapter();
  } catch {
    // Some runtimes throw instead of resolving null when no driver is usable.
    return null;
  }
}

/**
 * Describes the WebGPU adapter this runtime offers, or returns `null` when there is none.
 *
 * @example
 * ```ts
 * import { describeAdapter } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const found = await describeAdapter();
 * if (found !== null) assert.equal(typeof found.software, "boolean");
 * ```
 *
 * @returns The adapter's description and whether it is a software fallback, or `null`.
 */
export async function describeAdapter(): Promise<AdapterDescription | null> {
  const adapter = await requestAdapter();
  return adapter === null ? null : adapterFacts(adapter);
}

/** What `"auto"` may know of the work ahead (all optional). */
export interface AutoOptions {
  /** The model to train or run; without it `"auto"` takes WebGPU on any hardware adapter. */
  readonly model?: ModelSpec;
  /** Rows per step (default 128). */
  readonly batchSize?: number;
}

/** Options of {@linkcode createBackend}: what `"auto"` may know, and the WebAssembly backend's. */
export interface BackendOptions extends AutoOptions {
  /**
   * The WebAssembly backend's options (`threads`, `workerUrl`, `simd`), for `"wasm"` and for
   * `"auto"` when it takes that backend.
   */
  readonly wasm?: WasmBackendOptions;
}

/**
 * How much faster the estimate must find the WebAssembly backend before `"auto"` takes it: the
 * tutorial's model (2-25-3, batch 32) runs level on both (within the noise of a shared machine),
 * and there the CPU backend, the reference, stays.
 */
export const WASM_MIN_SPEEDUP = 1.25;

/**
 * Estimated step time (ms) on the faster CPU-side backend from which `"auto"` asks for a WebGPU
 * adapter. Not measured on a hardware GPU (none was at hand): a step there costs at least its
 * dispatches (tenths of a millisecond per-kernel) and every epoch a readback of about 11 ms, so
 * steps that take the CPU well under a millisecond cannot win it back.
 */
export const WEBGPU_MIN_STEP_MS = 1;

/**
 * Multiply-adds of one training step: the forward product and the two backward products of every
 * dense layer, for `batchSize` rows.
 *
 * @example
 * ```ts
 * import { mlp } from "@snapfold/snapfold";
 * import { stepMacs } from "./select.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(stepMacs(mlp({ layers: [2, 25, 3] }), 32), 3 * 32 * (2 * 25 + 25 * 3));
 * ```
 *
 * @param model The network.
 * @param batchSize Rows per step.
 * @returns The multiply-adds.
 */
export function stepMacs(model: ModelSpec, batchSize: number): number {
  let perRow = 0;
  for (const layer of paramLayout(model).layers) perRow += layer.inDim * layer.outDim;
  return 3 * batchSize * perRow;
}

/**
 * Measured cost of one step, `fixed + macs / rate` (ms, multiply-adds per ms), fitted to
 * `bench/auto_cost.ts` on a 2-core AMD EPYC (AVX2, FMA).
 */
const STEP_COST = {
  // 2-25-3 at batch 32: 19 µs a step; 784-256-10 at batch 128 (dense rows): 23 ms.
  cpu: { fixedMs: 0.01, macsPerMs: 3.0e6 },
  // 2-25-3 at batch 32: 14 µs a step; 784-256-10 at batch 128 (dense rows): 5.3 ms.
  wasm: { fixedMs: 0.012, macsPerMs: 1.5e7 },
} as const;

/**
 * The cost model's estimate of one training step on the CPU and WebAssembly backends.
 *
 * @example
 * ```ts
 * import { mlp } from "@snapfold/snapfold";
 * import { estimateStepMs, WASM_MIN_SPEEDUP } from "./select.ts";
 * import assert from "node:assert/strict";
 *
 * const tiny = estimateStepMs(mlp({ layers: [2, 25, 3] }), 32);
 * assert.ok(tiny.cpu < WASM_MIN_SPEEDUP * tiny.wasm); // the tutorial's model: level
 * const mnist = estimateStepMs(mlp({ layers: [784, 256, 10] }), 128);
 * assert.ok(mnist.wasm < mnist.cpu);
 * ```
 *
 * @param model The network.
 * @param batchSize Rows per step.
 * @returns Milliseconds per step on each.
 */
export function estimateStepMs(
  model: ModelSpec,
  batchSize: number,
): { readonly cpu: number; readonly wasm: number } {
  const macs = stepMacs(model, batchSize);
  return {
    cpu: STEP_COST.cpu.fixedMs + macs / STEP_COST.cpu.macsPerMs,
    wasm: STEP_COST.wasm.fixedMs + macs / STEP_COST.wasm.macsPerMs,
  };
}

/** What `"auto"` settles before creating anything. */
export interface AutoPlan {
  /** The CPU-side backend to take when WebGPU is not taken. */
  readonly cpuSide: "cpu" | "wasm";
  /** Whether to ask for a WebGPU adapter at all. */
  readonly tryWebGpu: boolean;
}

/**
 * The decision of `"auto"` for a model, before any adapter is asked for: which CPU-side backend,
 * and whether WebGPU could win at all (only then is it initialised).
 *
 * @example
 * ```ts
 * import { mlp, planAuto } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(planAuto({ model: mlp({ layers: [2, 25, 3] }), batchSize: 32 }), {
 *   cpuSide: "cpu",
 *   tryWebGpu: false,
 * });
 * assert.deepEqual(planAuto({}), { cpuSide: "cpu", tryWebGpu: true }); // no model: as before
 * ```
 *
 * @param options The model and batch size, when known.
 * @returns The plan.
 */
export function planAuto(options: AutoOptions): AutoPlan {
  if (options.model === undefined) return { cpuSide: "cpu", tryWebGpu: true };
  const batch = options.batchSize ?? 128;
  const est = estimateStepMs(options.model, batch);
  const wasm = est.cpu >= WASM_MIN_SPEEDUP * est.wasm;
  return {
    cpuSide: wasm ? "wasm" : "cpu",
    tryWebGpu: Math.min(est.cpu, wasm ? est.wasm : Infinity) >= WEBGPU_MIN_STEP_MS,
  };
}

async function createCpuSide(
  which: "cpu" | "wasm",
  wasm: WasmBackendOptions | undefined,
): Promise<Backend> {
  if (which === "cpu") return createCpuBackend();
  try {
    // Imported on first use: the kernels' embedded binaries stay out of programs that never ask.
    const { createWasmBackend } = await import("./wasm/backend.ts");
    return await createWasmBackend(wasm);
  } catch (error) {
    if (error instanceof ConfigError) throw error; // bad options are the caller's to fix
    // No WebAssembly SIMD here: the CPU backend always works.
    return createCpuBackend();
  }
}

/**
 * Creates the chosen backend. `"auto"` follows {@linkcode planAuto}: WebGPU on a hardware adapter
 * when the model is large enough for it to win (asked for only then), else the WebAssembly or the
 * CPU backend by the measured cost of a step; without a model, WebGPU on any hardware adapter.
 *
 * @example `"auto"` never fails: the CPU stands in when WebGPU would be slower or is missing
 * ```ts
 * import { createBackend, mlp } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const backend = await createBackend("auto");
 * assert.ok(backend.kind === "cpu" || !backend.softwareAdapter);
 * backend.dispose();
 * const small = await createBackend("auto", { model: mlp({ layers: [2, 25, 3] }), batchSize: 32 });
 * assert.equal(small.kind, "cpu"); // too small for WebAssembly or a GPU to win
 * small.dispose();
 * ```
 *
 * @example The WebAssembly backend on two threads (a page that loads the browser bundle also
 * passes `workerUrl`, the URL of `dist/snapfold_worker.js`)
 * ```ts
 * import { createBackend } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const wasm = await createBackend("wasm", { wasm: { threads: 2 } });
 * assert.match(wasm.adapter ?? "", /SIMD, 2 threads \(Workers over a shared memory\)$/);
 * wasm.dispose();
 * ```
 *
 * @param choice `"cpu"`, `"webgpu"` (fails with a clear error when no adapter exists), `"wasm"`
 *   (fails with a clear error without WebAssembly SIMD) or `"auto"` (the default).
 * @param options For `"auto"`: the model and batch size it will run; for `"wasm"` (and `"auto"`
 *   when it takes WebAssembly): `wasm`, that backend's options, e.g. `{ wasm: { threads: 2 } }`.
 * @returns The backend.
 * @throws {ConfigError} when `choice` is none of these, or for bad `wasm` options.
 * @throws {SnapfoldError} for `"webgpu"` when WebGPU is not available, for `"wasm"` without
 *   WebAssembly SIMD.
 */
export async function createBackend(
  choice: BackendChoice = "auto",
  options: BackendOptions = {},
): Promise<Backend> {
  orThrow(
    "Cannot create a backend",
    validation([
      ...check.oneOf("choice", choice, ["cpu", "webgpu", "wasm", "auto"]),
      ...check.knownKeys(options ?? {}, ["model", "batchSize", "wasm"]),
      // Checked whatever the choice, so that a bad option never depends on what auto picks.
      ...(typeof options === "object" && options !== null
        ? wasmOptionIssues(options.wasm, "wasm")
        : []),
    ], choice),
  );
  options ??= {};
  if (choice === "cpu") return createCpuBackend();
  if (choice === "wasm") {
    const { createWasmBackend } = await import("./wasm/backend.ts");
    return await createWasmBackend(options.wasm);
  }
  if (choice === "webgpu") return await createWebGpuBackend();
  const plan = planAuto(options);
  if (!plan.tryWebGpu) return await createCpuSide(plan.cpuSide, options.wasm);
  const adapter = await requestAdapter();
  if (adapter === null || adapterFacts(adapter).software) {
    return await createCpuSide(plan.cpuSide, options.wasm);
  }
  try {
    return await createWebGpuBackend({ adapter });
  } catch {
    // The adapter exists but would not give a device (a driver or a browser policy refusing it):
    // "auto" promises a backend, and the CPU side always works.
    return await createCpuSide(plan.cpuSide, options.wasm);
  }
}
