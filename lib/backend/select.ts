/**
 * Choosing a backend: `"cpu"`, `"webgpu"`, `"wasm"` (WebAssembly SIMD, loaded on first use), or
 * `"auto"`, which takes WebGPU on a hardware adapter and the CPU when the adapter is a software
 * fallback (llvmpipe, SwiftShader) or missing: there the CPU backend is faster for the small
 * networks snapfold trains (shared/PLATFORM.md: about 12 µs per step of the tutorial's model on the
 * CPU against about 0.5 ms of dispatches on llvmpipe).
 *
 * @module
 */
import { check, orThrow, validation } from "../errors.ts";
import type { Backend, BackendChoice } from "./backend.ts";
import { createCpuBackend } from "./cpu/backend.ts";
import { createWebGpuBackend } from "./webgpu/backend.ts";
import { adapterFacts } from "./webgpu/_quirks.ts";

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
 * @param choice `"cpu"`, `"webgpu"` (fails with a clear error when no adapter exists), `"wasm"`
 *   (fails with a clear error without WebAssembly SIMD) or `"auto"` (the default).
 * @returns The backend.
 * @throws {ConfigError} when `choice` is none of these.
 * @throws {SnapfoldError} for `"webgpu"` when WebGPU is not available, for `"wasm"` without
 *   WebAssembly SIMD.
 */
export async function createBackend(choice: BackendChoice = "auto"): Promise<Backend> {
  orThrow(
    "Cannot create a backend",
    validation(check.oneOf("choice", choice, ["cpu", "webgpu", "wasm", "auto"]), choice),
  );
  if (choice === "cpu") return createCpuBackend();
  if (choice === "wasm") {
    // Imported on first use: the kernels' embedded binaries stay out of programs that never ask.
    const { createWasmBackend } = await import("./wasm/backend.ts");
    return await createWasmBackend();
  }
  if (choice === "webgpu") return await createWebGpuBackend();
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
