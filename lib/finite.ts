/**
 * Fast scans for non-finite values (NaN, Infinity) in float arrays, shared by the input checks and
 * the divergence check. `v * 0` is 0 for every finite `v` and NaN otherwise, so the sum of a block
 * of them is 0 exactly when the block is all finite: one multiply-add per value and no branch,
 * about three times faster than a `Number.isFinite` loop over an `ArrayLike` (measured on 6.3
 * million MNIST pixels); only a block that fails is searched value by value.
 *
 * @module
 */

/** Values summed per block before the sum is tested. */
const BLOCK = 1024;

/**
 * The index of the first non-finite value of `values`, or -1 when all are finite.
 *
 * @example
 * ```ts
 * import { firstNonFinite } from "./finite.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(firstNonFinite(new Float32Array([1, -0, 3e38])), -1);
 * assert.equal(firstNonFinite(new Float32Array([1, 2, Infinity, NaN])), 2);
 * ```
 *
 * @param values The values.
 * @returns The index, or -1.
 */
export function firstNonFinite(values: Float32Array | Float64Array): number {
  const length = values.length;
  for (let start = 0; start < length; start += BLOCK) {
    const end = Math.min(length, start + BLOCK);
    let zero = 0;
    for (let k = start; k < end; k++) zero += values[k] * 0;
    if (zero !== 0) {
      for (let k = start; k < end; k++) if (!Number.isFinite(values[k])) return k;
    }
  }
  return -1;
}

/**
 * How many values of `values` are not finite, counted from `from` (an index from
 * {@linkcode firstNonFinite}: everything before it is finite).
 *
 * @param values The values.
 * @param from Where to start.
 * @returns The count.
 */
export function countNonFinite(values: Float32Array | Float64Array, from = 0): number {
  let count = 0;
  for (let k = from; k < values.length; k++) if (!Number.isFinite(values[k])) count++;
  return count;
}
