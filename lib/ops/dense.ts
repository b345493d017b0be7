/**
 * The dense layer `a = act(x W + b)` (Keras layout: `W` is [inDim, outDim] at `wOff`, `b` [outDim]
 * at `bOff`): its plain float64 reference loops, which the register-blocked and sparse CPU kernels
 * (./_dense_blocked.ts, ./_dense_sparse.ts) and the WGSL kernels (shaders/dense_forward.wgsl,
 * dense_grad_weights.wgsl, bias_grad.wgsl, dense_grad_input.wgsl) are tested against
 * (tests/ops_test.ts, tests/cpu_kernels_test.ts), and the builders of its GPU calls.
 *
 * @module
 */
import { type ActivationCode, type ActivationDef, ACTIVATIONS } from "./activation.ts";
import {
  type BufferRole,
  type KernelCall,
  TILE_STORE_CHARGE,
  tileGrid,
  tileShape,
} from "./kernel_call.ts";
import { llvmpipeLoopCharge } from "../backend/webgpu/_quirks.ts";

const BY_CODE: ReadonlyArray<ActivationDef> = Object.values(ACTIVATIONS)
  .slice()
  .sort((a, b) => a.code - b.code);

/**
 * Reference `act(x W + b)` in float64: `x` [rows, inDim], the result [rows, outDim].
 *
 * @example
 * ```ts
 * import { denseForwardRef } from "./dense.ts";
 * import assert from "node:assert/strict";
 *
 * // W = [[1, 2]] (inDim 1, outDim 2) at 0, b = [0, -5] at 2, relu (code 1)
 * const out = denseForwardRef([3], 1, [1, 2, 0, -5], 0, 2, 1, 2, 1);
 * assert.deepEqual([...out], [3, 1]);
 * ```
 *
 * @param x [rows, inDim] inputs.
 * @param rows Rows.
 * @param params Parameters holding `W` at `wOff` and `b` at `bOff`.
 * @param wOff Offset of the weights.
 * @param bOff Offset of the bias.
 * @param inDim Input width.
 * @param outDim Output width.
 * @param act Activation code (lib/ops/activation.ts).
 * @returns [rows, outDim] activations.
 */
export function denseForwardRef(
  x: ArrayLike<number>,
  rows: number,
  params: ArrayLike<number>,
  wOff: number,
  bOff: number,
  inDim: number,
  outDim: number,
  act: ActivationCode,
): Float64Array {
  const f = BY_CODE[act].f;
  const out = new Float64Array(rows * outDim);
  for (let b = 0; b < rows; b++) {
    for (let o = 0; o < outDim; o++) {
      let s = params[bOff + o];
      for (let i = 0; i < inDim; i++) s += x[b * inDim + i] * params[wOff + i * outDim + o];
      out[b * outDim + o] = f(s);
    }
  }
  return out;
}

/**
 * Reference `gW = x^T delta` [inDim, outDim] followed by `gb = column sums of delta` [outDim].
 *
 * @example
 * ```ts
 * import { denseWeightGradRef } from "./dense.ts";
 * import assert from "node:assert/strict";
 *
 * // two rows of one input, one output: gW = 1 * 2 + 3 * 4, gb = 2 + 4
 * assert.deepEqual([...denseWeightGradRef([1, 3], [2, 4], 2, 1, 1)], [14, 6]);
 * ```
 *
 * @param x [rows, inDim] the layer's inputs.
 * @param delta [rows, outDim] the gradient at the pre-activation.
 * @param rows Rows.
 * @param inDim Input width.
 * @param outDim Output width.
 * @returns [inDim * outDim + outDim] the weight gradient, then the bias gradient.
 */
export function denseWeightGradRef(
  x: ArrayLike<number>,
  delta: ArrayLike<number>,
  rows: number,
  inDim: number,
  outDim: number,
): Float64Array {
  const out = new Float64Array(inDim * outDim + outDim);
  for (let i = 0; i < inDim; i++) {
    for (let o = 0; o < outDim; o++) {
      for (let b = 0; b < rows; b++) {
        out[i * outDim + o] += x[b * inDim + i] * delta[b * outDim + o];
      }
    }
  }
  for (let o = 0; o < outDim; o++) {
    for (let b = 0; b < rows; b++) out[inDim * outDim + o] += delta[b * outDim + o];
  }
  return out;
}

/**
 * Reference `(delta W^T) * f'(a)` [rows, inDim]: the gradient at the previous layer's
 * pre-activation, `f'` written through that layer's output `a` (activation `act`).
 *
 * @example
 * ```ts
 * import { denseBackpropRef } from "./dense.ts";
 * import assert from "node:assert/strict";
 *
 * // W = [[2]], delta = [3], linear (code 0): 6
 * assert.deepEqual([...denseBackpropRef([3], 1, [2], 0, 1, 1, [0.5], 0)], [6]);
 * ```
 *
 * @param delta [rows, outDim] the gradient at this layer's pre-activation.
 * @param rows Rows.
 * @param params Parameters holding `W` at `wOff`.
 * @param wOff Offset of the weights.
 * @param inDim Input width.
 * @param outDim Output width.
 * @param a [rows, inDim] the previous layer's activations.
 * @param act The previous layer's activation code.
 * @returns [rows, inDim].
 */
export function denseBackpropRef(
  delta: ArrayLike<number>,
  rows: number,
  params: ArrayLike<number>,
  wOff: number,
  inDim: number,
  outDim: number,
  a: ArrayLike<number>,
  act: ActivationCode,
): Float64Array {
  const df = BY_CODE[act].dfOfOutput;
  const out = new Float64Array(rows * inDim);
  for (let b = 0; b < rows; b++) {
    for (let i = 0; i < inDim; i++) {
      let s = 0;
      for (let o = 0; o < outDim; o++) s += delta[b * outDim + o] * params[wOff + i * outDim + o];
      out[b * inDim + i] = s * df(a[b * inDim + i]);
    }
  }
  return out;
}

/** Where a dense call reads and writes, and how its activations are laid out. */
export interface DenseCallShape {
  /** Label suffix, e.g. the layer number `1`. */
  readonly layer: number;
  /** Input and output widths. */
  readonly inDim: number;
  readonly outDim: number;
  /** Offsets of the weights and bias in one replica's parameters. */
  readonly weightOffset: number;
  readonly biasOffset: number;
  /** Floats of parameters per replica (or member). */
  readonly paramStride: number;
  /** Replicas or members: the third grid dimension. */
  readonly depth: number;
}

/**
 * The call of shaders/dense_forward.wgsl for one layer.
 *
 * @example
 * ```ts
 * import { denseForwardCall } from "./dense.ts";
 * import assert from "node:assert/strict";
 *
 * const call = denseForwardCall(
 *   { layer: 1, inDim: 2, outDim: 25, weightOffset: 0, biasOffset: 50, paramStride: 153, depth: 1 },
 *   { act: 1, input: "batch", output: { act: 1 } },
 *   { IN_ROW: 2, IN_REP: 0, OUT_ROW: 25, OUT_REP: 25 },
 * );
 * assert.equal(call.shader, "dense_forward");
 * assert.deepEqual(call.grid(32), [1, 1, 1]);
 * ```
 *
 * @param shape The layer.
 * @param io Its activation code and its input and output buffers.
 * @param strides Floats between rows and between replicas of its input and output.
 * @returns The call.
 */
export function denseForwardCall(
  shape: DenseCallShape,
  io: { readonly act: ActivationCode; readonly input: BufferRole; readonly output: BufferRole },
  strides: { IN_ROW: number; IN_REP: number; OUT_ROW: number; OUT_REP: number },
): KernelCall {
  const tile = tileShape(shape.outDim);
  const inner = llvmpipeLoopCharge(shape.inDim) + TILE_STORE_CHARGE;
  return {
    shader: "dense_forward",
    label: `dense_forward ${shape.layer}`,
    constants: {
      IN_DIM: shape.inDim,
      OUT_DIM: shape.outDim,
      ACT: io.act,
      W_OFF: shape.weightOffset,
      B_OFF: shape.biasOffset,
      PARAM_STRIDE: shape.paramStride,
      ...strides,
      ...tile,
    },
    bindings: ["params", io.input, io.output],
    grid: (rows) => tileGrid(shape.outDim, rows, tile, shape.depth),
    loopCharge: () => inner,
  };
}

/**
 * The backward calls of one training layer (activations `[batch, replicas, width]`): the weight
 * gradient, the bias gradient and, below the first layer, the gradient at the previous layer
 * (through its activation `prevAct`).
 *
 * @example
 * ```ts
 * import { denseGradCalls } from "./dense.ts";
 * import assert from "node:assert/strict";
 *
 * const calls = denseGradCalls(
 *   { layer: 2, inDim: 25, outDim: 3, weightOffset: 75, biasOffset: 150, paramStride: 153, depth: 1 },
 *   { input: { act: 1 }, prevAct: 1 },
 * );
 * assert.deepEqual(calls.map((c) => c.shader), ["dense_grad_weights", "bias_grad", "dense_grad_input"]);
 * ```
 *
 * @param shape The layer (`layer` counts from 1; layer 1 has no input gradient).
 * @param io The buffer of its input, and the previous layer's activation code.
 * @returns The calls in order.
 */
export function denseGradCalls(
  shape: DenseCallShape,
  io: { readonly input: BufferRole; readonly prevAct: ActivationCode },
): KernelCall[] {
  const { layer: l, inDim, outDim, depth: R, paramStride: P } = shape;
  const first = l === 1;
  const inStrides = first ? { IN_ROW: inDim, IN_REP: 0 } : { IN_ROW: R * inDim, IN_REP: inDim };
  const shapeW = tileShape(outDim);
  const calls: KernelCall[] = [{
    shader: "dense_grad_weights",
    label: `dense_grad_weights ${l}`,
    constants: {
      IN_DIM: inDim,
      OUT_DIM: outDim,
      W_OFF: shape.weightOffset,
      PARAM_STRIDE: P,
      ...inStrides,
      REPLICAS: R,
      ...shapeW,
    },
    bindings: [io.input, { delta: l }, "grads"],
    grid: () => tileGrid(outDim, inDim, shapeW, R),
    loopCharge: (rows) => llvmpipeLoopCharge(rows) + TILE_STORE_CHARGE,
  }, {
    shader: "bias_grad",
    label: `bias_grad ${l}`,
    constants: { OUT_DIM: outDim, B_OFF: shape.biasOffset, PARAM_STRIDE: P, REPLICAS: R },
    bindings: [{ delta: l }, "grads"],
    grid: () => [Math.ceil(outDim / 64), 1, R],
    loopCharge: (rows) => llvmpipeLoopCharge(rows),
  }];
  if (first) return calls;
  const shapeI = tileShape(inDim);
  calls.push({
    shader: "dense_grad_input",
    label: `dense_grad_input ${l}`,
    constants: {
      IN_DIM: inDim,
      OUT_DIM: outDim,
      ACT: io.prevAct,
      W_OFF: shape.weightOffset,
      PARAM_STRIDE: P,
      REPLICAS: R,
      ...shapeI,
    },
    bindings: ["params", { delta: l }, { act: l - 1 }, { delta: l - 1 }],
    grid: (rows) => tileGrid(inDim, rows, shapeI, R),
    loopCharge: () => llvmpipeLoopCharge(outDim) + TILE_STORE_CHARGE,
  });
  return calls;
}
