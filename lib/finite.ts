/**
 * Fast scans for non-finite values (NaN, Infinity) in float arrays, shared by the input checks and
 * the divergence check: blocks of values are tested without a branch per value (float32 by their
 * exponent bits, float64 by the sum of `v * 0`), and only a block that fails is searched value by
 * value. On MNIST's 6.3 million pixels: 3.6 ms, against 5.3 ms for the `v * 0` sum and about 18 ms
 * for the `Number.isFinite` loop over an `ArrayLike` it replaced (one quiet run of each).
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
  const block = values instanceof Float32Array ? firstBlockF32(values) : firstBlockF64(values);
  if (block < 0) return -1;
  const end = Math.min(values.length, block + BLOCK);
  for (let k = block; k < end; k++) if (!Number.isFinite(values[k])) return k;
  return -1;
}

/**
 * The start of the first block holding a non-finite float32: its exponent bits are all ones, so
 * `(bits & 0x7f800000) + 0x00800000` sets the sign bit for it alone (integer work only).
 */
function firstBlockF32(values: Float32Array): number {
  if (values.length === 0) return -1; // also a detached buffer, which no view may be made on
  const bits = new Int32Array(values.buffer, values.byteOffset, values.length);
  const length = bits.length;
  for (let start = 0; start < length; start += BLOCK) {
    const end = Math.min(length, start + BLOCK);
    let any = 0;
    for (let k = start; k < end; k++) any |= (bits[k] & 0x7f800000) + 0x00800000;
    if (any < 0) return start;
  }
  return -1;
}

/** The same for float64, by the sum of `v * 0` (0 for finite `v`, NaN otherwise). */
function firstBlockF64(values: Float64Array): number {
  const length = values.length;
  for (let start = 0; start < length; start += BLOCK) {
    const end = Math.min(length, start + BLOCK);
    let zero = 0;
    for (let k = start; k < end; k++) zero += values[k] * 0;
    if (zero !== 0) return start;
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
export function countNonFinite(values: ArrayLike<number>, from = 0): number {
  let count = 0;
  for (let k = from; k < values.length; k++) if (!Number.isFinite(values[k])) count++;
  return count;
}
