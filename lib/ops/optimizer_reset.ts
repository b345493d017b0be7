/**
 * The optimizer-state reset at a warm restart: its reference (what the CPU session does at a reset
 * step), which shaders/optimizer_reset.wgsl is tested against (tests/ops_test.ts), and its call.
 *
 * @module
 */
import { flatGrid, type KernelCall, NO_LOOPS } from "./kernel_call.ts";

/**
 * Reference reset: every float of the optimizer state (all replicas) becomes 0, the step counters
 * of stateful rules included.
 *
 * @example
 * ```ts
 * import { optimizerResetRef } from "./optimizer_reset.ts";
 * import assert from "node:assert/strict";
 *
 * const state = new Float32Array([1, 2, 3]);
 * optimizerResetRef(state);
 * assert.deepEqual([...state], [0, 0, 0]);
 * ```
 *
 * @param state [replicas, S] the state, zeroed in place.
 */
export function optimizerResetRef(state: Float32Array): void {
  state.fill(0);
}

/**
 * The call of shaders/optimizer_reset.wgsl over `total` floats of state.
 *
 * @example
 * ```ts
 * import { optimizerResetCall } from "./optimizer_reset.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(optimizerResetCall(130).grid(1), [3, 1, 1]);
 * ```
 *
 * @param total Floats of state of every replica.
 * @returns The call.
 */
export function optimizerResetCall(total: number): KernelCall {
  return {
    shader: "optimizer_reset",
    label: "optimizer_reset",
    constants: { TOTAL: total },
    bindings: ["state"],
    grid: () => flatGrid(total),
    loopCharge: NO_LOOPS,
  };
}
