/**
 * Choosing a backend: `"cpu"`, `"webgpu"`, or `"auto"`, which takes WebGPU on a hardware adapter and
 * the CPU when the adapter is a software fallback (llvmpipe, SwiftShader) or missing: there the CPU
 * backend is faster for the small networks snapfold trains (shared/PLATFORM.md: about 12 µs per
 * step of the tutorial's model on the CPU against about 0.5 ms of dispatches on llvmpipe).
 *
 * @module
 */
import { check, orThrow, validation } from "../errors.ts";
import type { Backend, BackendChoice } from "./backend.ts";
import { createCpuBackend } from "./cpu.ts";
import { createWebGpuBackend } from "./webgpu.ts";
import { adapterFacts } from "./_webgpu_quirks.ts";
import { isTinyModel } from "./_auto_rule.ts";
import type { MlpSpec } from "../model/mod.ts";

/** Options of {@linkcode createBackend}. */
export interface CreateBackendOptions {
  /**
   * The model to train: under `"auto"`, a tiny one (under 10,000 parameters) takes the CPU without
   * probing WebGPU, whose fixed costs per dispatch would dwarf its arithmetic.
   */
  readonly model?: MlpSpec;
}

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

/**
 * Creates the chosen backend. `"auto"` takes WebGPU on a hardware adapter, and the CPU on a software
 * adapter, without one, or when WebGPU fails to give a device.
 *
 * @example `"auto"` never fails: the CPU stands in when WebGPU would be slower or is missing
 * ```ts
 * import { createBackend } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const backend = await createBackend("auto");
 * assert.ok(backend.kind === "cpu" || !backend.softwareAdapter);
 * backend.dispose();
 * ```
 *
 * @example With the model, `"auto"` takes the CPU for a tiny one without probing WebGPU
 * ```ts
 * import { createBackend, mlp } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const backend = await createBackend("auto", { model: mlp({ layers: [2, 25, 3] }) });
 * assert.equal(backend.kind, "cpu");
 * backend.dispose();
 * ```
 *
 * @param choice `"cpu"`, `"webgpu"` (fails with a clear error when no adapter exists) or `"auto"`
 *   (the default).
 * @param options The model to train (see {@linkcode CreateBackendOptions}).
 * @returns The backend.
 * @throws {ConfigError} when `choice` is none of these.
 * @throws {SnapfoldError} for `"webgpu"` when WebGPU is not available.
 */
export async function createBackend(
  choice: BackendChoice = "auto",
  options: CreateBackendOptions = {},
): Promise<Backend> {
  orThrow(
    "Cannot create a backend",
    validation(check.oneOf("choice", choice, ["cpu", "webgpu", "auto"]), choice),
  );
  if (choice === "cpu") return createCpuBackend();
  if (choice === "webgpu") return await createWebGpuBackend();
  if (isTinyModel(options?.model)) return createCpuBackend();
  const adapter = await requestAdapter();
  if (adapter === null || adapterFacts(adapter).software) return createCpuBackend();
  try {
    return await createWebGpuBackend({ adapter });
  } catch {
    // The adapter exists but would not give a device (a driver or a browser policy refusing it):
    // "auto" promises a backend, and the CPU always works.
    return createCpuBackend();
  }
}
