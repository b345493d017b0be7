/**
 * Combining the outputs of stacked ensemble members on the device: the weighted mean (the soft
 * vote over probabilities). Its reference loop, which shaders/combine_mean.wgsl and the CPU
 * backend's stacked prediction are tested against (tests/ops_test.ts), and its GPU call.
 *
 * @module
 */
import { flatGrid, type KernelCall } from "./kernel_call.ts";
import { llvmpipeLoopCharge } from "../backend/webgpu/_quirks.ts";

/**
 * Reference weighted mean of `members` stacked outputs: `out[e] = sum_m weights[m] * p[m * stride
 * + e]` for `e < rows * outDim`, summed in float64 in member order.
 *
 * @example
 * ```ts
 * import { combineMeanRef } from "./combine.ts";
 * import assert from "node:assert/strict";
 *
 * // two members of one row of two outputs, weights 0.25 and 0.75
 * assert.deepEqual([...combineMeanRef([1, 0, 0, 1], [0.25, 0.75], 1, 2, 2)], [0.25, 0.75]);
 * ```
 *
 * @param p [members, stride] stacked outputs.
 * @param weights [members] normalised weights.
 * @param rows Rows.
 * @param outDim Output width.
 * @param stride Floats per member in `p`.
 * @returns [rows, outDim].
 */
export function combineMeanRef(
  p: ArrayLike<number>,
  weights: ArrayLike<number>,
  rows: number,
  outDim: number,
  stride: number,
): Float64Array {
  const out = new Float64Array(rows * outDim);
  for (let e = 0; e < rows * outDim; e++) {
    let sum = 0;
    for (let m = 0; m < weights.length; m++) sum += weights[m] * p[m * stride + e];
    out[e] = sum;
  }
  return out;
}

/**
 * The call of shaders/combine_mean.wgsl: the weighted mean of the members' last activations
 * `{ act: layers }` into `mean`.
 *
 * @example
 * ```ts
 * import { combineMeanCall } from "./combine.ts";
 * import assert from "node:assert/strict";
 *
 * const call = combineMeanCall({ layers: 2, outDim: 3, members: 10, rows: 128 });
 * assert.deepEqual(call.bindings, [{ act: 2 }, "weights", "mean"]);
 * ```
 *
 * @param shape Dense layers, output width, members and rows per chunk.
 * @returns The call.
 */
export function combineMeanCall(
  shape: {
    readonly layers: number;
    readonly outDim: number;
    readonly members: number;
    readonly rows: number;
  },
): KernelCall {
  const { outDim: out, members: M } = shape;
  return {
    shader: "combine_mean",
    label: "combine_mean",
    constants: { OUT_DIM: out, STRIDE: shape.rows * out, MEMBERS: M },
    bindings: [{ act: shape.layers }, "weights", "mean"],
    grid: (rows) => flatGrid(rows * out),
    loopCharge: () => llvmpipeLoopCharge(M),
  };
}
