/**
 * The sparse twins of the dense-layer kernels (./_dense_blocked.ts), for a first layer whose inputs
 * are mostly zeros (MNIST pixels are about 81% zeros). Moved unchanged from the CPU backend's kernels;
 * checked against lib/ops/dense.ts's references in tests/cpu_kernels_test.ts.
 *
 * Why sparse: a product term whose input is zero adds nothing, so skipping it is exact arithmetic
 * for finite weights (it differs from the dense loop only where a weight is infinite or NaN, where
 * `0 * w` would be NaN; sessions validate parameters as finite, and a run whose weights overflow is
 * stopped by its NaN loss anyway). The first layer's inputs are compressed once per batch into rows
 * (CSR, for the forward product) and columns (CSC, for the weight gradient), and both products then
 * visit only the nonzeros.
 *
 * @module
 */
import type { ActivationCode } from "./activation.ts";
import type { FloatArray } from "./loss.ts";
import { activateRange, biasGrad, RELU, reluOf } from "./_dense_blocked.ts";

/** The nonzeros of a batch of input rows, by row and by column, with room for `capacity` rows. */
export interface SparseRows<T extends FloatArray> {
  /** Row width. */
  readonly width: number;
  /** [capacity + 1] start of each row's nonzeros in `cols`/`values`. */
  readonly rowStart: Int32Array;
  /** [capacity * width] column of each nonzero, row by row. */
  readonly cols: Int32Array;
  /** [capacity * width] value of each nonzero, row by row. */
  readonly values: T;
  /** [width + 1] start of each column's nonzeros in `colRows`/`colValues` (empty when rows only). */
  readonly colStart: Int32Array;
  /** [capacity * width] row of each nonzero, column by column. */
  readonly colRows: Int32Array;
  /** [capacity * width] value of each nonzero, column by column. */
  readonly colValues: T;
}

/**
 * Allocates the buffers of {@linkcode SparseRows}.
 *
 * @param width Row width (the input layer's width).
 * @param capacity Largest number of rows.
 * @param columns Whether to hold the by-column copy too (training needs it; prediction does not).
 * @param Ctor The float array type of the values.
 * @returns Empty sparse rows.
 */
export function makeSparseRows<T extends FloatArray>(
  width: number,
  capacity: number,
  columns: boolean,
  Ctor: Float32ArrayConstructor | Float64ArrayConstructor,
): SparseRows<T> {
  const size = capacity * width;
  return {
    width,
    rowStart: new Int32Array(capacity + 1),
    cols: new Int32Array(size),
    values: new Ctor(size) as T,
    colStart: new Int32Array(columns ? width + 1 : 0),
    colRows: new Int32Array(columns ? size : 0),
    colValues: new Ctor(columns ? size : 0) as T,
  };
}

/**
 * Fraction of zeros among the first `count` values of `x`; the CPU backend takes the sparse path for
 * the first layer when it is at least {@linkcode SPARSE_MIN_ZEROS}.
 *
 * @param x Values.
 * @param count How many to look at.
 * @returns The fraction in [0, 1] (0 for no values).
 */
export function zeroFraction(x: FloatArray, count: number): number {
  if (count === 0) return 0;
  let zeros = 0;
  if (x instanceof Float32Array) {
    // Branch-free on the bits (zero when they are, without the sign): a branch per value
    // mispredicts on image rows and took twice as long on MNIST's 6.3 million pixels.
    const bits = new Int32Array(x.buffer, x.byteOffset, count);
    let nonzeros = 0;
    for (let k = 0; k < count; k++) {
      const magnitude = bits[k] << 1;
      nonzeros += (magnitude | -magnitude) >>> 31;
    }
    zeros = count - nonzeros;
  } else {
    for (let k = 0; k < count; k++) if (x[k] === 0) zeros++;
  }
  return zeros / count;
}

/**
 * The zero fraction from which the sparse first layer is faster than the blocked dense one: the
 * sparse loops do about 1.25 loads per multiply-add against 0.5, so they win below about 40%
 * nonzeros; measured on MNIST (19% nonzeros) the sparse forward is about 3x faster.
 */
export const SPARSE_MIN_ZEROS = 0.6;

/**
 * Compresses `rows` dense rows of `input` ([rows, width]) into `sparse`'s by-row arrays.
 *
 * @param input [rows, width] dense rows.
 * @param rows Number of rows.
 * @param sparse Receives the nonzeros.
 */
export function compressRows<T extends FloatArray>(
  input: FloatArray,
  rows: number,
  sparse: SparseRows<T>,
): void {
  const { width, rowStart, cols, values } = sparse;
  let k = 0;
  rowStart[0] = 0;
  for (let b = 0; b < rows; b++) {
    const row = b * width;
    for (let i = 0; i < width; i++) {
      const v = input[row + i];
      if (v !== 0) { // NaN is kept, so it propagates as in the dense product
        cols[k] = i;
        values[k] = v;
        k++;
      }
    }
    rowStart[b + 1] = k;
  }
}

/**
 * Gathers the rows `indices[start ..< start + rows]` of `x` ([n, width]) straight into `sparse`'s
 * by-row arrays: the same result as copying the rows out and then {@linkcode compressRows}, without
 * the dense copy (training on mostly-zero data never reads it).
 *
 * @param x [n, width] the whole data set.
 * @param indices Row numbers of `x`.
 * @param start Where the batch starts in `indices`.
 * @param rows Number of rows.
 * @param sparse Receives the nonzeros.
 */
export function compressGathered<T extends FloatArray>(
  x: FloatArray,
  indices: Int32Array,
  start: number,
  rows: number,
  sparse: SparseRows<T>,
): void {
  const { width, rowStart, cols, values } = sparse;
  let k = 0;
  rowStart[0] = 0;
  for (let b = 0; b < rows; b++) {
    const row = indices[start + b] * width;
    for (let i = 0; i < width; i++) {
      const v = x[row + i];
      if (v !== 0) {
        cols[k] = i;
        values[k] = v;
        k++;
      }
    }
    rowStart[b + 1] = k;
  }
}

/**
 * Builds `sparse`'s by-column arrays from its by-row arrays (a counting sort; rows stay in order
 * within each column).
 *
 * @param sparse Sparse rows made with `columns = true`, filled by {@linkcode compressRows}.
 * @param rows Number of rows.
 */
export function transposeRows<T extends FloatArray>(sparse: SparseRows<T>, rows: number): void {
  const { width, rowStart, cols, values, colStart, colRows, colValues } = sparse;
  colStart.fill(0);
  const nnz = rowStart[rows];
  for (let k = 0; k < nnz; k++) colStart[cols[k] + 1]++;
  for (let i = 0; i < width; i++) colStart[i + 1] += colStart[i];
  // colStart[i] serves as column i's write cursor, then is shifted back to the starts.
  for (let b = 0; b < rows; b++) {
    for (let k = rowStart[b]; k < rowStart[b + 1]; k++) {
      const p = colStart[cols[k]]++;
      colRows[p] = b;
      colValues[p] = values[k];
    }
  }
  for (let i = width; i > 0; i--) colStart[i] = colStart[i - 1];
  colStart[0] = 0;
}

/**
 * `out = act(input @ W + bias)` for a layer whose input rows are given by their nonzeros
 * ({@linkcode compressRows}), eight output columns at a time.
 *
 * @param sparse The input rows' nonzeros.
 * @param rows Number of rows.
 * @param params Parameters holding `W` [inDim, outDim] at `wOff` and `bias` [outDim] at `bOff`.
 * @param wOff Offset of the weights.
 * @param bOff Offset of the bias.
 * @param outDim Output width.
 * @param out [rows, outDim] receives the activations.
 * @param act Activation code.
 */
export function forwardSparse<T extends FloatArray>(
  sparse: SparseRows<T>,
  rows: number,
  params: FloatArray,
  wOff: number,
  bOff: number,
  outDim: number,
  out: FloatArray,
  act: ActivationCode,
): void {
  const relu = act === RELU;
  const { rowStart, cols, values } = sparse;
  const cols8 = outDim - (outDim % 8);
  for (let b = 0; b < rows; b++) {
    const y = b * outDim;
    const k0 = rowStart[b];
    const k1 = rowStart[b + 1];
    let o = 0;
    for (; o < cols8; o += 8) {
      const c = bOff + o;
      let s0 = params[c], s1 = params[c + 1], s2 = params[c + 2], s3 = params[c + 3];
      let s4 = params[c + 4], s5 = params[c + 5], s6 = params[c + 6], s7 = params[c + 7];
      for (let k = k0; k < k1; k++) {
        const a = values[k];
        const w = wOff + cols[k] * outDim + o;
        s0 += a * params[w], s1 += a * params[w + 1], s2 += a * params[w + 2];
        s3 += a * params[w + 3], s4 += a * params[w + 4], s5 += a * params[w + 5];
        s6 += a * params[w + 6], s7 += a * params[w + 7];
      }
      out[y + o] = relu ? reluOf(s0) : s0;
      out[y + o + 1] = relu ? reluOf(s1) : s1;
      out[y + o + 2] = relu ? reluOf(s2) : s2;
      out[y + o + 3] = relu ? reluOf(s3) : s3;
      out[y + o + 4] = relu ? reluOf(s4) : s4;
      out[y + o + 5] = relu ? reluOf(s5) : s5;
      out[y + o + 6] = relu ? reluOf(s6) : s6;
      out[y + o + 7] = relu ? reluOf(s7) : s7;
    }
    for (; o < outDim; o++) {
      let s = params[bOff + o];
      for (let k = k0; k < k1; k++) s += values[k] * params[wOff + cols[k] * outDim + o];
      out[y + o] = relu ? reluOf(s) : s;
    }
  }
  activateRange(act, out, rows * outDim);
}

/**
 * The gradient of the weights and bias of a layer whose inputs are given by their nonzeros (by
 * column: {@linkcode transposeRows}), overwritten; eight columns of `gW` at a time.
 *
 * @param sparse The inputs' nonzeros, by column.
 * @param delta [rows, outDim] gradient of the loss with respect to the layer's pre-activation.
 * @param rows Number of rows.
 * @param outDim Output width.
 * @param grad Receives `gW` at `gwOff` and `gb` at `gbOff`.
 * @param gwOff Offset of the weight gradient.
 * @param gbOff Offset of the bias gradient.
 */
export function weightGradSparse<T extends FloatArray>(
  sparse: SparseRows<T>,
  delta: FloatArray,
  rows: number,
  outDim: number,
  grad: FloatArray,
  gwOff: number,
  gbOff: number,
): void {
  biasGrad(delta, rows, outDim, grad, gbOff);
  const { width, colStart, colRows, colValues } = sparse;
  const cols8 = outDim - (outDim % 8);
  for (let i = 0; i < width; i++) {
    const g = gwOff + i * outDim;
    const k0 = colStart[i];
    const k1 = colStart[i + 1];
    if (k0 === k1) { // a column that is zero in the whole batch (MNIST's borders): no gradient
      grad.fill(0, g, g + outDim);
      continue;
    }
    let o = 0;
    for (; o < cols8; o += 8) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
      for (let k = k0; k < k1; k++) {
        const a = colValues[k];
        const d = colRows[k] * outDim + o;
        s0 += a * delta[d], s1 += a * delta[d + 1], s2 += a * delta[d + 2];
        s3 += a * delta[d + 3], s4 += a * delta[d + 4], s5 += a * delta[d + 5];
        s6 += a * delta[d + 6], s7 += a * delta[d + 7];
      }
      grad[g + o] = s0, grad[g + o + 1] = s1, grad[g + o + 2] = s2, grad[g + o + 3] = s3;
      grad[g + o + 4] = s4, grad[g + o + 5] = s5, grad[g + o + 6] = s6, grad[g + o + 7] = s7;
    }
    for (; o < outDim; o++) {
      let s = 0;
      for (let k = k0; k < k1; k++) s += colValues[k] * delta[colRows[k] * outDim + o];
      grad[g + o] = s;
    }
  }
}
