/**
 * The batch gather: one step's rows copied out of the resident dataset by index. Its reference
 * loop, which the CPU backend's gather and shaders/gather.wgsl are tested against
 * (tests/ops_test.ts), and the builder of its GPU call.
 *
 * @module
 */
import { flatGrid, type KernelCall, NO_LOOPS } from "./kernel_call.ts";

/**
 * Reference gather: `out[i, k] = x[indices[start + i], k]` for `i < rows`, `k < inDim`.
 *
 * @example
 * ```ts
 * import { gatherRef } from "./gather.ts";
 * import assert from "node:assert/strict";
 *
 * const x = [10, 11, 20, 21, 30, 31]; // three rows of two
 * assert.deepEqual([...gatherRef(x, [2, 0, 1], 1, 2, 2)], [10, 11, 20, 21]);
 * ```
 *
 * @param x [n, inDim] the dataset.
 * @param indices Sample indices of the plan.
 * @param start First position of the batch in `indices`.
 * @param rows Rows of the batch.
 * @param inDim Row width.
 * @returns [rows, inDim].
 */
export function gatherRef(
  x: ArrayLike<number>,
  indices: ArrayLike<number>,
  start: number,
  rows: number,
  inDim: number,
): Float64Array {
  const out = new Float64Array(rows * inDim);
  for (let i = 0; i < rows; i++) {
    const from = indices[start + i] * inDim;
    for (let k = 0; k < inDim; k++) out[i * inDim + k] = x[from + k];
  }
  return out;
}

/**
 * The call of shaders/gather.wgsl: `x` by `indices` into `batch`.
 *
 * @example
 * ```ts
 * import { gatherCall } from "./gather.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(gatherCall(2).bindings, ["x", "indices", "batch"]);
 * assert.deepEqual(gatherCall(2).grid(32), [1, 1, 1]);
 * ```
 *
 * @param inDim Row width.
 * @returns The call.
 */
export function gatherCall(inDim: number): KernelCall {
  return {
    shader: "gather",
    label: "gather",
    constants: { IN_DIM: inDim },
    bindings: ["x", "indices", "batch"],
    grid: (rows) => flatGrid(rows * inDim),
    loopCharge: NO_LOOPS,
  };
}
