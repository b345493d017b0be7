/**
 * WebGPU quirks, isolated here with the reason for each and when it can go.
 *
 * @module
 */

/** What snapfold needs to know about an adapter. */
export interface AdapterFacts {
  /** A one-line description, e.g. `"llvmpipe (LLVM 15.0.6, 256 bits)"`. */
  readonly description: string;
  /** True for a software rasterizer (llvmpipe, lavapipe, SwiftShader, WARP). */
  readonly software: boolean;
}

// Names of CPU implementations of WebGPU, for runtimes that do not report `isFallbackAdapter`.
const SOFTWARE_NAMES = /llvmpipe|lavapipe|swiftshader|software|basic render|warp/i;

/**
 * Describes an adapter. `isFallbackAdapter` moved from `GPUAdapter` to `GPUAdapterInfo` in the spec
 * (2024); Deno 2.9 has it on `info`, older browsers on the adapter, some runtimes nowhere: so both
 * places are read and the name is matched as a last resort. Can go once every target runtime
 * reports `info.isFallbackAdapter`.
 *
 * @param adapter The adapter (or only its `info`, e.g. `device.adapterInfo`).
 * @returns Its description and whether it runs on the CPU.
 */
export function adapterFacts(adapter: { readonly info?: GPUAdapterInfo }): AdapterFacts {
  const info = adapter.info as (GPUAdapterInfo & { isFallbackAdapter?: boolean }) | undefined;
  const parts = [info?.vendor, info?.architecture, info?.device, info?.description]
    .filter((p): p is string => typeof p === "string" && p !== "" && p !== "0");
  // Vendor ids alone (e.g. "65541") say nothing to a reader; prefer the description.
  const description = info?.description || parts.join(" ") || "unknown adapter";
  const flagged = info?.isFallbackAdapter === true ||
    (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return { description, software: flagged || SOFTWARE_NAMES.test(parts.join(" ")) };
}

/**
 * The largest number of loop iterations one invocation may run on llvmpipe: beyond 65,535 (summed
 * over all loops) it silently returns wrong results (measured; see shared/PLATFORM.md). Kernels
 * whose loops grow with the batch size check their iteration count against this.
 */
export const LLVMPIPE_LOOP_LIMIT: number = 65_535;

/**
 * Whether `fused: "auto"` should keep to the per-kernel path on this adapter. SwiftShader (Chromium's
 * software WebGPU) ran the tutorial's 2000 steps in about 6.6 s with the fused kernel against about
 * 1 s per kernel (tests/browser_test.ts, headless Chromium 156): its workgroup barriers, which the
 * fused kernel needs between every phase of every step, are far slower than llvmpipe's, where the
 * fused kernel is about 7x faster than the per-kernel path. Can go when SwiftShader's barriers get
 * cheaper, or when the fused kernel needs fewer of them.
 *
 * @param facts The adapter's description (see {@linkcode adapterFacts}).
 * @returns True when the fused kernel is known to be slower there.
 */
export function fusedIsSlowOn(facts: AdapterFacts): boolean {
  return /swiftshader/i.test(facts.description);
}
