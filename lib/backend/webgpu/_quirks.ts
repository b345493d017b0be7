/**
 * WebGPU quirks, isolated here with the reason for each, where it is documented, and when it can
 * go. Every number that exists only because some adapter behaves oddly lives here and is imported
 * where it is used.
 *
 * Sources: the project's measurements (shared/PLATFORM.md), the WebGPU and WGSL specifications
 * (https://www.w3.org/TR/webgpu/, https://www.w3.org/TR/WGSL/) and Mesa's source
 * (https://gitlab.freedesktop.org/mesa/mesa).
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
 * (proposed in https://github.com/gpuweb/gpuweb/issues/4971, merged in
 * https://github.com/gpuweb/gpuweb/pull/5099, 2025; Deno followed in
 * https://github.com/denoland/deno/issues/28618, Chrome 140 removed the old attribute); Deno 2.9
 * has it on `info`, older browsers on the adapter, some runtimes nowhere: so both places are read
 * and the name is matched as a last resort. Can go once every target runtime reports
 * `info.isFallbackAdapter`.
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
 * llvmpipe's loop limiter: one counter per shader invocation vector (8 lanes on a 256-bit machine),
 * shared by every loop of the shader, starts at 65,535 and drops by one at the end of every pass of
 * every loop; once it reaches zero, every loop exits after its current pass and the kernel silently
 * computes something else (measured: shared/PLATFORM.md). Source: Mesa,
 * src/gallium/auxiliary/gallivm/lp_bld_limits.h (`LP_MAX_TGSI_LOOP_ITERATIONS`, "shared between
 * every loop") and `lp_exec_endloop` in src/gallium/auxiliary/gallivm/lp_bld_ir_common.c, which
 * decrements the counter and leaves the loop unless it is still above zero. lavapipe (Mesa's
 * Vulkan driver) compiles through the same code. Kernels whose loops grow with the batch count
 * their iterations with {@linkcode llvmpipeLoopCharge} and stay below this. Can go when Mesa drops
 * the limiter for compute shaders.
 */
export const LLVMPIPE_LOOP_LIMIT: number = 65_535;

/**
 * What llvmpipe's limiter charges one run of a loop whose busiest lane makes `passes` passes: one
 * per pass, plus the final pass in which every lane has just left the loop (the counter drops at
 * every loop end, `lp_exec_endloop`; see {@linkcode LLVMPIPE_LOOP_LIMIT}). Control flow runs
 * masked, so the busiest lane of a vector pays for all of them, and a loop that no lane enters
 * still costs one. A kernel stays correct while the sum of its loops' charges, nested ones times
 * the passes of the loops around them, stays below {@linkcode LLVMPIPE_LOOP_LIMIT}.
 *
 * @param passes Passes the busiest lane makes through the loop body.
 * @returns The iterations charged.
 */
export function llvmpipeLoopCharge(passes: number): number {
  return passes + 1;
}

/**
 * Loop iterations one invocation of the fused kernel may run per dispatch: below
 * {@linkcode LLVMPIPE_LOOP_LIMIT} with a margin, since its count (./_loop_budget.ts) mirrors a
 * long shader by hand and a slip there must not cost correctness. Can go with the limiter.
 */
export const FUSED_LOOP_BUDGET: number = 50_000;

/**
 * The most invocations per workgroup that every adapter snapfold meets allows: the WebGPU
 * specification guarantees `maxComputeInvocationsPerWorkgroup` >= 256 (https://www.w3.org/TR/webgpu/,
 * "Limits"), and SwiftShader, Chromium's software adapter, allows exactly that (llvmpipe: 1024;
 * shared/PLATFORM.md). Every kernel uses at most this many.
 */
export const MAX_PORTABLE_INVOCATIONS: number = 256;

/**
 * WebGPU's default `maxComputeWorkgroupStorageSize` (16 KiB; https://www.w3.org/TR/webgpu/,
 * "Limits"): a device gets more only when it asks for it in `requestDevice`. The fused kernel holds
 * a whole small model in workgroup memory, and llvmpipe and most GPUs allow 32 KiB or more, so the
 * backend asks for the adapter's own limit ({@linkcode deviceLimitsToRequest}).
 */
export const DEFAULT_WORKGROUP_STORAGE: number = 16_384;

/**
 * The limits the backend requests for its device: the adapter's own, where WebGPU's defaults are
 * lower than what adapters allow. The defaults (128 MiB per storage binding, 256 MiB per buffer,
 * {@linkcode DEFAULT_WORKGROUP_STORAGE} of workgroup memory) are portable minimums, not what the
 * hardware can do (https://www.w3.org/TR/webgpu/#limits); a dataset such as MNIST's 60,000 digits
 * needs more than 128 MiB, and the fused kernel more than 16 KiB. Can go if WebGPU ever defaults
 * to the adapter's limits.
 *
 * @param limits The adapter's limits.
 * @returns The `requiredLimits` of `requestDevice`.
 */
export function deviceLimitsToRequest(
  limits: Pick<
    GPUSupportedLimits,
    "maxStorageBufferBindingSize" | "maxBufferSize" | "maxComputeWorkgroupStorageSize"
  >,
): Record<string, number> {
  return {
    maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
    maxBufferSize: limits.maxBufferSize,
    maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
  };
}

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
