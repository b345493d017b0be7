/**
 * The CPU backend's dense-layer kernels: register-blocked loops on typed arrays (their sparse twins
 * for inputs that are mostly zeros are in ./_dense_sparse.ts). Each kernel is checked against its
 * float64 reference in lib/ops/dense.ts (tests/cpu_kernels_test.ts, tests/ops_test.ts) on a sweep of shapes.
 *
 * Why blocked: plain TypeScript `i-k-j` loops reach 1.4-1.8 GFLOP/s here (shared/PLATFORM.md)
 * because every multiply-add loads and stores the output row. Keeping a 4 x 4 tile of the output in
 * local variables (V8 keeps them in registers) loads 8 operands per 16 multiply-adds and stores each
 * output once, the register blocking of Goto and van de Geijn, "Anatomy of High-Performance Matrix
 * Multiplication" (ACM TOMS 34(3), 2008), without the packing. V8 does not vectorise, so the loops
 * are unrolled by hand.
 *
 * Why narrow paths: small networks (the tutorial's 2-25-3) have layers narrower than a tile. There
 * the leftover columns or inputs take one tile as wide as what is left (4 x 3, 2 x 4, ...), and a
 * two-input forward and a three-output backward keep the short side in locals and walk the long
 * one. ReLU and its derivative select without jumps ({@linkcode keepIf}): their decisions follow
 * the data, and mispredicted jumps cost more than the arithmetic.
 *
 * Accumulation happens in float64 locals and is rounded to the array's precision once per output,
 * so results may differ from the naive float32 loops in the last bits (they are closer to exact).
 *
 * Parameters are positional, not an options object: these run once per layer per step and must
 * not allocate.
 *
 * @module
 */
import type { FloatArray } from "./loss.ts";
import { type ActivationCode, ACTIVATIONS } from "./activation.ts";

/** Activation codes of the kernels: those of lib/ops/activation.ts (the shaders' `ACT`). */
export const RELU: typeof ACTIVATIONS.relu.code = ACTIVATIONS.relu.code;
/** Hyperbolic tangent. */
export const TANH: typeof ACTIVATIONS.tanh.code = ACTIVATIONS.tanh.code;
/** Logistic sigmoid. */
export const SIGMOID: typeof ACTIVATIONS.sigmoid.code = ACTIVATIONS.sigmoid.code;
/** Identity (also the last layer, whose head applies its own function). */
export const LINEAR: typeof ACTIVATIONS.linear.code = ACTIVATIONS.linear.code;

/** Fails `deno check` when a switch over activation codes misses one. */
function unknownActivation(act: never): never {
  throw new Error(`Cannot apply activation: unknown code: got ${act}`);
}

/**
 * Scratch of {@linkcode keepIf} and {@linkcode reluOf}; `PICK[0]` stays 0. Shared by every call:
 * JavaScript runs one call at a time per thread, and workers get their own module.
 */
const PICK = new Float64Array(2);

/**
 * `cond ? s : 0` without a conditional jump: `s` is written to `PICK[1]` and read back from
 * `PICK[+cond]`. ReLU's decisions depend on the data (about half of a row's units are off, in no
 * pattern a branch predictor can learn), and V8 compiles a conditional expression to a jump: 800
 * masked stores of random signs took 2.8-3.7 µs as a jump and 0.83 µs through `PICK` (measured on
 * this project's 2-core machine, Deno 2.9). It selects rather than multiplies by a 0/1 mask, so
 * an infinite or NaN `s` of a dead unit still gives 0, exactly as the jump did.
 */
export function keepIf(cond: boolean, s: number): number {
  PICK[1] = s;
  return PICK[+cond];
}

/** ReLU without a jump (see {@linkcode keepIf}): `s < 0 ? 0 : s`, so NaN stays NaN and -0 stays -0. */
export function reluOf(s: number): number {
  PICK[1] = s;
  return PICK[+!(s < 0)];
}

/**
 * Applies tanh or sigmoid to `z[0 .. end)` in place. ReLU is applied inside the kernels' stores
 * (`relu ? reluOf(s) : s`, which keeps NaN as `if (z < 0) z = 0` does); a call per element there
 * was not inlined by V8 and cost 17% of a small model's prediction.
 */
export function activateRange(act: ActivationCode, z: FloatArray, end: number): void {
  switch (act) {
    case LINEAR:
    case RELU:
      return;
    case TANH:
      for (let k = 0; k < end; k++) z[k] = Math.tanh(z[k]);
      return;
    case SIGMOID:
      for (let k = 0; k < end; k++) z[k] = 1 / (1 + Math.exp(-z[k]));
      return;
    default:
      unknownActivation(act);
  }
}

/**
 * `delta *= f'(z)` over `[0, end)` for tanh and sigmoid, written through the activation's output
 * `a = f(z)` (see lib/ops/loss.ts). ReLU's derivative is applied in the backward kernels' stores.
 */
function scaleByDerivative(
  act: ActivationCode,
  delta: FloatArray,
  a: FloatArray,
  end: number,
): void {
  switch (act) {
    case LINEAR:
    case RELU:
      return;
    case TANH:
      for (let k = 0; k < end; k++) delta[k] *= 1 - a[k] * a[k];
      return;
    case SIGMOID:
      for (let k = 0; k < end; k++) delta[k] *= a[k] * (1 - a[k]);
      return;
    default:
      unknownActivation(act);
  }
}

/**
 * `out = act(input @ W + bias)` for one dense layer, in 4-row x 4-column register tiles. Input
 * columns that are zero in all four rows of a tile are skipped.
 *
 * @param input [rows, inDim] inputs.
 * @param rows Number of rows.
 * @param params Parameters holding `W` [inDim, outDim] at `wOff` and `bias` [outDim] at `bOff`.
 * @param wOff Offset of the weights.
 * @param bOff Offset of the bias.
 * @param inDim Input width.
 * @param outDim Output width.
 * @param out [rows, outDim] receives the activations.
 * @param act Activation code ({@linkcode LINEAR} for the last layer).
 */
export function forwardDense(
  input: FloatArray,
  rows: number,
  params: FloatArray,
  wOff: number,
  bOff: number,
  inDim: number,
  outDim: number,
  out: FloatArray,
  act: ActivationCode,
): void {
  if (inDim === 2) {
    forwardTwo(input, rows, params, wOff, bOff, outDim, out, act);
    return;
  }
  const relu = act === RELU;
  const rows4 = rows - (rows % 4);
  const cols4 = outDim - (outDim % 4);
  let b = 0;
  for (; b < rows4; b += 4) {
    const x0 = b * inDim; // [4, inDim] tile rows start here
    const x1 = x0 + inDim;
    const x2 = x1 + inDim;
    const x3 = x2 + inDim;
    const y0 = b * outDim; // [4, outDim]
    const y1 = y0 + outDim;
    const y2 = y1 + outDim;
    const y3 = y2 + outDim;
    let o = 0;
    for (; o < cols4; o += 4) {
      const c0 = params[bOff + o];
      const c1 = params[bOff + o + 1];
      const c2 = params[bOff + o + 2];
      const c3 = params[bOff + o + 3];
      let s00 = c0, s01 = c1, s02 = c2, s03 = c3;
      let s10 = c0, s11 = c1, s12 = c2, s13 = c3;
      let s20 = c0, s21 = c1, s22 = c2, s23 = c3;
      let s30 = c0, s31 = c1, s32 = c2, s33 = c3;
      let w = wOff + o;
      for (let i = 0; i < inDim; i++, w += outDim) {
        const a0 = input[x0 + i];
        const a1 = input[x1 + i];
        const a2 = input[x2 + i];
        const a3 = input[x3 + i];
        if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue;
        const w0 = params[w];
        const w1 = params[w + 1];
        const w2 = params[w + 2];
        const w3 = params[w + 3];
        s00 += a0 * w0, s01 += a0 * w1, s02 += a0 * w2, s03 += a0 * w3;
        s10 += a1 * w0, s11 += a1 * w1, s12 += a1 * w2, s13 += a1 * w3;
        s20 += a2 * w0, s21 += a2 * w1, s22 += a2 * w2, s23 += a2 * w3;
        s30 += a3 * w0, s31 += a3 * w1, s32 += a3 * w2, s33 += a3 * w3;
      }
      out[y0 + o] = relu ? reluOf(s00) : s00;
      out[y0 + o + 1] = relu ? reluOf(s01) : s01;
      out[y0 + o + 2] = relu ? reluOf(s02) : s02;
      out[y0 + o + 3] = relu ? reluOf(s03) : s03;
      out[y1 + o] = relu ? reluOf(s10) : s10;
      out[y1 + o + 1] = relu ? reluOf(s11) : s11;
      out[y1 + o + 2] = relu ? reluOf(s12) : s12;
      out[y1 + o + 3] = relu ? reluOf(s13) : s13;
      out[y2 + o] = relu ? reluOf(s20) : s20;
      out[y2 + o + 1] = relu ? reluOf(s21) : s21;
      out[y2 + o + 2] = relu ? reluOf(s22) : s22;
      out[y2 + o + 3] = relu ? reluOf(s23) : s23;
      out[y3 + o] = relu ? reluOf(s30) : s30;
      out[y3 + o + 1] = relu ? reluOf(s31) : s31;
      out[y3 + o + 2] = relu ? reluOf(s32) : s32;
      out[y3 + o + 3] = relu ? reluOf(s33) : s33;
    }
    // Leftover columns (all of them when outDim < 4, as in a 3-class head): one 4-row tile as
    // wide as what is left, so each input is read once rather than once per column.
    const left = outDim - o;
    if (left === 3) {
      const c0 = params[bOff + o];
      const c1 = params[bOff + o + 1];
      const c2 = params[bOff + o + 2];
      let s00 = c0, s01 = c1, s02 = c2;
      let s10 = c0, s11 = c1, s12 = c2;
      let s20 = c0, s21 = c1, s22 = c2;
      let s30 = c0, s31 = c1, s32 = c2;
      let w = wOff + o;
      for (let i = 0; i < inDim; i++, w += outDim) {
        const a0 = input[x0 + i];
        const a1 = input[x1 + i];
        const a2 = input[x2 + i];
        const a3 = input[x3 + i];
        const w0 = params[w];
        const w1 = params[w + 1];
        const w2 = params[w + 2];
        s00 += a0 * w0, s01 += a0 * w1, s02 += a0 * w2;
        s10 += a1 * w0, s11 += a1 * w1, s12 += a1 * w2;
        s20 += a2 * w0, s21 += a2 * w1, s22 += a2 * w2;
        s30 += a3 * w0, s31 += a3 * w1, s32 += a3 * w2;
      }
      out[y0 + o] = relu ? reluOf(s00) : s00;
      out[y0 + o + 1] = relu ? reluOf(s01) : s01;
      out[y0 + o + 2] = relu ? reluOf(s02) : s02;
      out[y1 + o] = relu ? reluOf(s10) : s10;
      out[y1 + o + 1] = relu ? reluOf(s11) : s11;
      out[y1 + o + 2] = relu ? reluOf(s12) : s12;
      out[y2 + o] = relu ? reluOf(s20) : s20;
      out[y2 + o + 1] = relu ? reluOf(s21) : s21;
      out[y2 + o + 2] = relu ? reluOf(s22) : s22;
      out[y3 + o] = relu ? reluOf(s30) : s30;
      out[y3 + o + 1] = relu ? reluOf(s31) : s31;
      out[y3 + o + 2] = relu ? reluOf(s32) : s32;
    } else if (left === 2) {
      const c0 = params[bOff + o];
      const c1 = params[bOff + o + 1];
      let s00 = c0, s01 = c1, s10 = c0, s11 = c1;
      let s20 = c0, s21 = c1, s30 = c0, s31 = c1;
      let w = wOff + o;
      for (let i = 0; i < inDim; i++, w += outDim) {
        const a0 = input[x0 + i];
        const a1 = input[x1 + i];
        const a2 = input[x2 + i];
        const a3 = input[x3 + i];
        const w0 = params[w];
        const w1 = params[w + 1];
        s00 += a0 * w0, s01 += a0 * w1, s10 += a1 * w0, s11 += a1 * w1;
        s20 += a2 * w0, s21 += a2 * w1, s30 += a3 * w0, s31 += a3 * w1;
      }
      out[y0 + o] = relu ? reluOf(s00) : s00;
      out[y0 + o + 1] = relu ? reluOf(s01) : s01;
      out[y1 + o] = relu ? reluOf(s10) : s10;
      out[y1 + o + 1] = relu ? reluOf(s11) : s11;
      out[y2 + o] = relu ? reluOf(s20) : s20;
      out[y2 + o + 1] = relu ? reluOf(s21) : s21;
      out[y3 + o] = relu ? reluOf(s30) : s30;
      out[y3 + o + 1] = relu ? reluOf(s31) : s31;
    } else if (left === 1) {
      const c = params[bOff + o];
      let s0 = c, s1 = c, s2 = c, s3 = c;
      let w = wOff + o;
      for (let i = 0; i < inDim; i++, w += outDim) {
        const wv = params[w];
        s0 += input[x0 + i] * wv;
        s1 += input[x1 + i] * wv;
        s2 += input[x2 + i] * wv;
        s3 += input[x3 + i] * wv;
      }
      out[y0 + o] = relu ? reluOf(s0) : s0;
      out[y1 + o] = relu ? reluOf(s1) : s1;
      out[y2 + o] = relu ? reluOf(s2) : s2;
      out[y3 + o] = relu ? reluOf(s3) : s3;
    }
  }
  for (; b < rows; b++) { // leftover rows: 1 row x 4 columns, then single columns
    const x0 = b * inDim;
    const y0 = b * outDim;
    let o = 0;
    for (; o < cols4; o += 4) {
      let s0 = params[bOff + o];
      let s1 = params[bOff + o + 1];
      let s2 = params[bOff + o + 2];
      let s3 = params[bOff + o + 3];
      let w = wOff + o;
      for (let i = 0; i < inDim; i++, w += outDim) {
        const a = input[x0 + i];
        if (a === 0) continue;
        s0 += a * params[w];
        s1 += a * params[w + 1];
        s2 += a * params[w + 2];
        s3 += a * params[w + 3];
      }
      out[y0 + o] = relu ? reluOf(s0) : s0;
      out[y0 + o + 1] = relu ? reluOf(s1) : s1;
      out[y0 + o + 2] = relu ? reluOf(s2) : s2;
      out[y0 + o + 3] = relu ? reluOf(s3) : s3;
    }
    for (; o < outDim; o++) {
      let s = params[bOff + o];
      let w = wOff + o;
      for (let i = 0; i < inDim; i++, w += outDim) s += input[x0 + i] * params[w];
      out[y0 + o] = relu ? reluOf(s) : s;
    }
  }
  activateRange(act, out, rows * outDim);
}

/**
 * {@linkcode forwardDense} for two inputs (2-D data, as in the tutorial's blobs): the reduction is
 * two long, too short for a loop, so each 4-row block keeps its 8 inputs in locals and walks the
 * outputs, reading each column of `W` once per block. No zero skipping: with two inputs there is
 * nothing worth skipping.
 */
function forwardTwo(
  input: FloatArray,
  rows: number,
  params: FloatArray,
  wOff: number,
  bOff: number,
  outDim: number,
  out: FloatArray,
  act: ActivationCode,
): void {
  const relu = act === RELU;
  const rows4 = rows - (rows % 4);
  const w1 = wOff + outDim; // second row of W [2, outDim]
  let b = 0;
  for (; b < rows4; b += 4) {
    const x = b * 2; // [4, 2] rows of input
    const a00 = input[x], a01 = input[x + 1], a10 = input[x + 2], a11 = input[x + 3];
    const a20 = input[x + 4], a21 = input[x + 5], a30 = input[x + 6], a31 = input[x + 7];
    const y0 = b * outDim; // [4, outDim] rows of out
    const y1 = y0 + outDim;
    const y2 = y1 + outDim;
    const y3 = y2 + outDim;
    for (let o = 0; o < outDim; o++) {
      const c = params[bOff + o];
      const v0 = params[wOff + o];
      const v1 = params[w1 + o];
      const s0 = c + a00 * v0 + a01 * v1;
      const s1 = c + a10 * v0 + a11 * v1;
      const s2 = c + a20 * v0 + a21 * v1;
      const s3 = c + a30 * v0 + a31 * v1;
      out[y0 + o] = relu ? reluOf(s0) : s0;
      out[y1 + o] = relu ? reluOf(s1) : s1;
      out[y2 + o] = relu ? reluOf(s2) : s2;
      out[y3 + o] = relu ? reluOf(s3) : s3;
    }
  }
  for (; b < rows; b++) { // leftover rows
    const a0 = input[b * 2];
    const a1 = input[b * 2 + 1];
    const y = b * outDim;
    for (let o = 0; o < outDim; o++) {
      const s = params[bOff + o] + a0 * params[wOff + o] + a1 * params[w1 + o];
      out[y + o] = relu ? reluOf(s) : s;
    }
  }
  activateRange(act, out, rows * outDim);
}

/**
 * The gradient of a dense layer's weights and bias, overwritten:
 * `gW = input^T @ delta` ([inDim, outDim]) and `gb = sum over rows of delta`, in 4 x 4 tiles of `gW`.
 *
 * @param input [rows, inDim] the layer's inputs.
 * @param delta [rows, outDim] gradient of the loss with respect to the layer's pre-activation.
 * @param rows Number of rows.
 * @param inDim Input width.
 * @param outDim Output width.
 * @param grad Receives `gW` at `gwOff` and `gb` at `gbOff`.
 * @param gwOff Offset of the weight gradient.
 * @param gbOff Offset of the bias gradient.
 */
export function weightGradDense(
  input: FloatArray,
  delta: FloatArray,
  rows: number,
  inDim: number,
  outDim: number,
  grad: FloatArray,
  gwOff: number,
  gbOff: number,
): void {
  biasGrad(delta, rows, outDim, grad, gbOff);
  const in4 = inDim - (inDim % 4);
  const cols4 = outDim - (outDim % 4);
  let i = 0;
  for (; i < in4; i += 4) {
    const g0 = gwOff + i * outDim; // [4, outDim] tile rows of gW start here
    const g1 = g0 + outDim;
    const g2 = g1 + outDim;
    const g3 = g2 + outDim;
    let o = 0;
    for (; o < cols4; o += 4) {
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0;
      let s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0;
      let s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let b = 0; b < rows; b++) {
        const x = b * inDim + i;
        const a0 = input[x];
        const a1 = input[x + 1];
        const a2 = input[x + 2];
        const a3 = input[x + 3];
        if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue;
        const d = b * outDim + o;
        const d0 = delta[d];
        const d1 = delta[d + 1];
        const d2 = delta[d + 2];
        const d3 = delta[d + 3];
        s00 += a0 * d0, s01 += a0 * d1, s02 += a0 * d2, s03 += a0 * d3;
        s10 += a1 * d0, s11 += a1 * d1, s12 += a1 * d2, s13 += a1 * d3;
        s20 += a2 * d0, s21 += a2 * d1, s22 += a2 * d2, s23 += a2 * d3;
        s30 += a3 * d0, s31 += a3 * d1, s32 += a3 * d2, s33 += a3 * d3;
      }
      grad[g0 + o] = s00, grad[g0 + o + 1] = s01, grad[g0 + o + 2] = s02, grad[g0 + o + 3] = s03;
      grad[g1 + o] = s10, grad[g1 + o + 1] = s11, grad[g1 + o + 2] = s12, grad[g1 + o + 3] = s13;
      grad[g2 + o] = s20, grad[g2 + o + 1] = s21, grad[g2 + o + 2] = s22, grad[g2 + o + 3] = s23;
      grad[g3 + o] = s30, grad[g3 + o + 1] = s31, grad[g3 + o + 2] = s32, grad[g3 + o + 3] = s33;
    }
    // Leftover columns (all of them when outDim < 4): one tile of 4 inputs as wide as what is
    // left, so each input row is read once rather than once per column.
    const left = outDim - o;
    if (left === 3) {
      let s00 = 0, s01 = 0, s02 = 0, s10 = 0, s11 = 0, s12 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s30 = 0, s31 = 0, s32 = 0;
      for (let b = 0; b < rows; b++) {
        const x = b * inDim + i;
        const a0 = input[x];
        const a1 = input[x + 1];
        const a2 = input[x + 2];
        const a3 = input[x + 3];
        const d = b * outDim + o;
        const d0 = delta[d];
        const d1 = delta[d + 1];
        const d2 = delta[d + 2];
        s00 += a0 * d0, s01 += a0 * d1, s02 += a0 * d2;
        s10 += a1 * d0, s11 += a1 * d1, s12 += a1 * d2;
        s20 += a2 * d0, s21 += a2 * d1, s22 += a2 * d2;
        s30 += a3 * d0, s31 += a3 * d1, s32 += a3 * d2;
      }
      grad[g0 + o] = s00, grad[g0 + o + 1] = s01, grad[g0 + o + 2] = s02;
      grad[g1 + o] = s10, grad[g1 + o + 1] = s11, grad[g1 + o + 2] = s12;
      grad[g2 + o] = s20, grad[g2 + o + 1] = s21, grad[g2 + o + 2] = s22;
      grad[g3 + o] = s30, grad[g3 + o + 1] = s31, grad[g3 + o + 2] = s32;
    } else if (left === 2) {
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0, s20 = 0, s21 = 0, s30 = 0, s31 = 0;
      for (let b = 0; b < rows; b++) {
        const x = b * inDim + i;
        const a0 = input[x];
        const a1 = input[x + 1];
        const a2 = input[x + 2];
        const a3 = input[x + 3];
        const d = b * outDim + o;
        const d0 = delta[d];
        const d1 = delta[d + 1];
        s00 += a0 * d0, s01 += a0 * d1, s10 += a1 * d0, s11 += a1 * d1;
        s20 += a2 * d0, s21 += a2 * d1, s30 += a3 * d0, s31 += a3 * d1;
      }
      grad[g0 + o] = s00, grad[g0 + o + 1] = s01, grad[g1 + o] = s10, grad[g1 + o + 1] = s11;
      grad[g2 + o] = s20, grad[g2 + o + 1] = s21, grad[g3 + o] = s30, grad[g3 + o + 1] = s31;
    } else if (left === 1) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let b = 0; b < rows; b++) {
        const x = b * inDim + i;
        const d = delta[b * outDim + o];
        s0 += input[x] * d;
        s1 += input[x + 1] * d;
        s2 += input[x + 2] * d;
        s3 += input[x + 3] * d;
      }
      grad[g0 + o] = s0, grad[g1 + o] = s1, grad[g2 + o] = s2, grad[g3 + o] = s3;
    }
  }
  // Leftover inputs (all of them when inDim < 4, as in a 2-feature first layer): tiles as tall
  // as what is left x 4 columns, so each row of delta is read once rather than once per input.
  const left = inDim - i;
  if (left === 0) return;
  const g0 = gwOff + i * outDim;
  const g1 = g0 + outDim;
  const g2 = g1 + outDim;
  let o = 0;
  for (; o < cols4; o += 4) {
    let s00 = 0, s01 = 0, s02 = 0, s03 = 0;
    let s10 = 0, s11 = 0, s12 = 0, s13 = 0;
    let s20 = 0, s21 = 0, s22 = 0, s23 = 0;
    if (left === 3) {
      for (let b = 0; b < rows; b++) {
        const x = b * inDim + i;
        const a0 = input[x];
        const a1 = input[x + 1];
        const a2 = input[x + 2];
        if (a0 === 0 && a1 === 0 && a2 === 0) continue;
        const d = b * outDim + o;
        const d0 = delta[d];
        const d1 = delta[d + 1];
        const d2 = delta[d + 2];
        const d3 = delta[d + 3];
        s00 += a0 * d0, s01 += a0 * d1, s02 += a0 * d2, s03 += a0 * d3;
        s10 += a1 * d0, s11 += a1 * d1, s12 += a1 * d2, s13 += a1 * d3;
        s20 += a2 * d0, s21 += a2 * d1, s22 += a2 * d2, s23 += a2 * d3;
      }
      grad[g2 + o] = s20, grad[g2 + o + 1] = s21, grad[g2 + o + 2] = s22, grad[g2 + o + 3] = s23;
    } else if (left === 2) {
      for (let b = 0; b < rows; b++) {
        const x = b * inDim + i;
        const a0 = input[x];
        const a1 = input[x + 1];
        if (a0 === 0 && a1 === 0) continue;
        const d = b * outDim + o;
        const d0 = delta[d];
        const d1 = delta[d + 1];
        const d2 = delta[d + 2];
        const d3 = delta[d + 3];
        s00 += a0 * d0, s01 += a0 * d1, s02 += a0 * d2, s03 += a0 * d3;
        s10 += a1 * d0, s11 += a1 * d1, s12 += a1 * d2, s13 += a1 * d3;
      }
    } else {
      for (let b = 0; b < rows; b++) {
        const a0 = input[b * inDim + i];
        if (a0 === 0) continue;
        const d = b * outDim + o;
        s00 += a0 * delta[d], s01 += a0 * delta[d + 1];
        s02 += a0 * delta[d + 2], s03 += a0 * delta[d + 3];
      }
    }
    grad[g0 + o] = s00, grad[g0 + o + 1] = s01, grad[g0 + o + 2] = s02, grad[g0 + o + 3] = s03;
    if (left >= 2) {
      grad[g1 + o] = s10, grad[g1 + o + 1] = s11, grad[g1 + o + 2] = s12, grad[g1 + o + 3] = s13;
    }
  }
  // The corner: leftover inputs x leftover columns, one input at a time, its 1-3 columns in one
  // pass over the rows.
  const cols = outDim - o;
  for (; i < inDim; i++) {
    const g = gwOff + i * outDim + o;
    let s0 = 0, s1 = 0, s2 = 0;
    if (cols === 3) {
      for (let b = 0; b < rows; b++) {
        const a = input[b * inDim + i];
        const d = b * outDim + o;
        s0 += a * delta[d], s1 += a * delta[d + 1], s2 += a * delta[d + 2];
      }
      grad[g + 2] = s2;
    } else if (cols === 2) {
      for (let b = 0; b < rows; b++) {
        const a = input[b * inDim + i];
        const d = b * outDim + o;
        s0 += a * delta[d], s1 += a * delta[d + 1];
      }
    } else if (cols === 1) {
      for (let b = 0; b < rows; b++) s0 += input[b * inDim + i] * delta[b * outDim + o];
    }
    if (cols >= 1) grad[g] = s0;
    if (cols >= 2) grad[g + 1] = s1;
  }
}

/** `gb[o] = sum over rows of delta[b, o]`, overwritten. */
export function biasGrad(
  delta: FloatArray,
  rows: number,
  outDim: number,
  grad: FloatArray,
  gbOff: number,
): void {
  // Four columns per pass over the rows, then the 1-3 left in one more pass: a quarter of the
  // loop overhead of one column at a time.
  const end = rows * outDim;
  const cols4 = outDim - (outDim % 4);
  let o = 0;
  for (; o < cols4; o += 4) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let d = o; d < end; d += outDim) {
      s0 += delta[d], s1 += delta[d + 1], s2 += delta[d + 2], s3 += delta[d + 3];
    }
    grad[gbOff + o] = s0, grad[gbOff + o + 1] = s1;
    grad[gbOff + o + 2] = s2, grad[gbOff + o + 3] = s3;
  }
  const left = outDim - o;
  let s0 = 0, s1 = 0, s2 = 0;
  if (left === 3) {
    for (let d = o; d < end; d += outDim) s0 += delta[d], s1 += delta[d + 1], s2 += delta[d + 2];
    grad[gbOff + o + 2] = s2;
  } else if (left === 2) {
    for (let d = o; d < end; d += outDim) s0 += delta[d], s1 += delta[d + 1];
  } else if (left === 1) {
    for (let d = o; d < end; d += outDim) s0 += delta[d];
  }
  if (left >= 1) grad[gbOff + o] = s0;
  if (left >= 2) grad[gbOff + o + 1] = s1;
}

/**
 * Back-propagates through a dense layer and the activation before it:
 * `prev = (delta @ W^T) * f'(a)`, in 4-row x 4-input tiles whose inner loop walks rows of `W`.
 *
 * @param delta [rows, outDim] gradient with respect to this layer's pre-activation.
 * @param rows Number of rows.
 * @param params Parameters holding `W` [inDim, outDim] at `wOff`.
 * @param wOff Offset of the weights.
 * @param inDim Input width.
 * @param outDim Output width.
 * @param a [rows, inDim] this layer's inputs: the previous layer's activations `f(z)`.
 * @param act Activation code of the previous layer.
 * @param prev [rows, inDim] receives the gradient with respect to the previous pre-activation.
 */
export function backpropDense(
  delta: FloatArray,
  rows: number,
  params: FloatArray,
  wOff: number,
  inDim: number,
  outDim: number,
  a: FloatArray,
  act: ActivationCode,
  prev: FloatArray,
): void {
  if (outDim === 3) {
    backpropThree(delta, rows, params, wOff, inDim, a, act, prev);
    return;
  }
  // ReLU's derivative is applied in the stores (a dead or NaN unit passes nothing), saving a
  // second pass over `prev`; the other activations scale `prev` afterwards.
  const relu = act === RELU;
  const rows4 = rows - (rows % 4);
  const in4 = inDim - (inDim % 4);
  let b = 0;
  for (; b < rows4; b += 4) {
    const d0 = b * outDim; // [4, outDim] rows of delta
    const d1 = d0 + outDim;
    const d2 = d1 + outDim;
    const d3 = d2 + outDim;
    const p0 = b * inDim; // [4, inDim] rows of prev and a
    const p1 = p0 + inDim;
    const p2 = p1 + inDim;
    const p3 = p2 + inDim;
    let i = 0;
    for (; i < in4; i += 4) {
      const w0 = wOff + i * outDim; // [4, outDim] rows of W
      const w1 = w0 + outDim;
      const w2 = w1 + outDim;
      const w3 = w2 + outDim;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0;
      let s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0;
      let s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let o = 0; o < outDim; o++) {
        const e0 = delta[d0 + o];
        const e1 = delta[d1 + o];
        const e2 = delta[d2 + o];
        const e3 = delta[d3 + o];
        const v0 = params[w0 + o];
        const v1 = params[w1 + o];
        const v2 = params[w2 + o];
        const v3 = params[w3 + o];
        s00 += e0 * v0, s01 += e0 * v1, s02 += e0 * v2, s03 += e0 * v3;
        s10 += e1 * v0, s11 += e1 * v1, s12 += e1 * v2, s13 += e1 * v3;
        s20 += e2 * v0, s21 += e2 * v1, s22 += e2 * v2, s23 += e2 * v3;
        s30 += e3 * v0, s31 += e3 * v1, s32 += e3 * v2, s33 += e3 * v3;
      }
      if (relu) {
        prev[p0 + i] = keepIf(a[p0 + i] > 0, s00);
        prev[p0 + i + 1] = keepIf(a[p0 + i + 1] > 0, s01);
        prev[p0 + i + 2] = keepIf(a[p0 + i + 2] > 0, s02);
        prev[p0 + i + 3] = keepIf(a[p0 + i + 3] > 0, s03);
        prev[p1 + i] = keepIf(a[p1 + i] > 0, s10);
        prev[p1 + i + 1] = keepIf(a[p1 + i + 1] > 0, s11);
        prev[p1 + i + 2] = keepIf(a[p1 + i + 2] > 0, s12);
        prev[p1 + i + 3] = keepIf(a[p1 + i + 3] > 0, s13);
        prev[p2 + i] = keepIf(a[p2 + i] > 0, s20);
        prev[p2 + i + 1] = keepIf(a[p2 + i + 1] > 0, s21);
        prev[p2 + i + 2] = keepIf(a[p2 + i + 2] > 0, s22);
        prev[p2 + i + 3] = keepIf(a[p2 + i + 3] > 0, s23);
        prev[p3 + i] = keepIf(a[p3 + i] > 0, s30);
        prev[p3 + i + 1] = keepIf(a[p3 + i + 1] > 0, s31);
        prev[p3 + i + 2] = keepIf(a[p3 + i + 2] > 0, s32);
        prev[p3 + i + 3] = keepIf(a[p3 + i + 3] > 0, s33);
      } else {
        prev[p0 + i] = s00;
        prev[p0 + i + 1] = s01;
        prev[p0 + i + 2] = s02;
        prev[p0 + i + 3] = s03;
        prev[p1 + i] = s10;
        prev[p1 + i + 1] = s11;
        prev[p1 + i + 2] = s12;
        prev[p1 + i + 3] = s13;
        prev[p2 + i] = s20;
        prev[p2 + i + 1] = s21;
        prev[p2 + i + 2] = s22;
        prev[p2 + i + 3] = s23;
        prev[p3 + i] = s30;
        prev[p3 + i + 1] = s31;
        prev[p3 + i + 2] = s32;
        prev[p3 + i + 3] = s33;
      }
    }
    for (; i < inDim; i++) { // leftover inputs: 4 rows x 1 input
      const w = wOff + i * outDim;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let o = 0; o < outDim; o++) {
        const v = params[w + o];
        s0 += delta[d0 + o] * v;
        s1 += delta[d1 + o] * v;
        s2 += delta[d2 + o] * v;
        s3 += delta[d3 + o] * v;
      }
      if (relu) {
        prev[p0 + i] = keepIf(a[p0 + i] > 0, s0);
        prev[p1 + i] = keepIf(a[p1 + i] > 0, s1);
        prev[p2 + i] = keepIf(a[p2 + i] > 0, s2);
        prev[p3 + i] = keepIf(a[p3 + i] > 0, s3);
      } else {
        prev[p0 + i] = s0;
        prev[p1 + i] = s1;
        prev[p2 + i] = s2;
        prev[p3 + i] = s3;
      }
    }
  }
  for (; b < rows; b++) { // leftover rows: one row, one input at a time
    const d = b * outDim;
    const p = b * inDim;
    for (let i = 0; i < inDim; i++) {
      const w = wOff + i * outDim;
      let s = 0;
      for (let o = 0; o < outDim; o++) s += delta[d + o] * params[w + o];
      prev[p + i] = relu ? keepIf(a[p + i] > 0, s) : s;
    }
  }
  if (!relu) scaleByDerivative(act, prev, a, rows * inDim);
}

/**
 * {@linkcode backpropDense} for a layer of three outputs (a 3-class head): the reduction is three
 * long, too short for a loop, so each 4-row block keeps its 12 deltas in locals and walks the
 * inputs, reading each row of `W` once per block.
 */
function backpropThree(
  delta: FloatArray,
  rows: number,
  params: FloatArray,
  wOff: number,
  inDim: number,
  a: FloatArray,
  act: ActivationCode,
  prev: FloatArray,
): void {
  const relu = act === RELU;
  const rows4 = rows - (rows % 4);
  let b = 0;
  for (; b < rows4; b += 4) {
    const d = b * 3; // [4, 3] rows of delta
    const e00 = delta[d], e01 = delta[d + 1], e02 = delta[d + 2];
    const e10 = delta[d + 3], e11 = delta[d + 4], e12 = delta[d + 5];
    const e20 = delta[d + 6], e21 = delta[d + 7], e22 = delta[d + 8];
    const e30 = delta[d + 9], e31 = delta[d + 10], e32 = delta[d + 11];
    const p0 = b * inDim; // [4, inDim] rows of prev and a
    const p1 = p0 + inDim;
    const p2 = p1 + inDim;
    const p3 = p2 + inDim;
    let w = wOff;
    for (let i = 0; i < inDim; i++, w += 3) {
      const v0 = params[w];
      const v1 = params[w + 1];
      const v2 = params[w + 2];
      const s0 = e00 * v0 + e01 * v1 + e02 * v2;
      const s1 = e10 * v0 + e11 * v1 + e12 * v2;
      const s2 = e20 * v0 + e21 * v1 + e22 * v2;
      const s3 = e30 * v0 + e31 * v1 + e32 * v2;
      if (relu) {
        prev[p0 + i] = keepIf(a[p0 + i] > 0, s0);
        prev[p1 + i] = keepIf(a[p1 + i] > 0, s1);
        prev[p2 + i] = keepIf(a[p2 + i] > 0, s2);
        prev[p3 + i] = keepIf(a[p3 + i] > 0, s3);
      } else {
        prev[p0 + i] = s0, prev[p1 + i] = s1, prev[p2 + i] = s2, prev[p3 + i] = s3;
      }
    }
  }
  for (; b < rows; b++) { // leftover rows
    const d = b * 3;
    const e0 = delta[d], e1 = delta[d + 1], e2 = delta[d + 2];
    const p = b * inDim;
    let w = wOff;
    for (let i = 0; i < inDim; i++, w += 3) {
      const s = e0 * params[w] + e1 * params[w + 1] + e2 * params[w + 2];
      prev[p + i] = relu ? keepIf(a[p + i] > 0, s) : s;
    }
  }
  if (!relu) scaleByDerivative(act, prev, a, rows * inDim);
}
