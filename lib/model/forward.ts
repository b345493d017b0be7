/**
 * The plain forward pass of one model: the reference for every backend's prediction.
 *
 * @module
 */
import { softmaxRows } from "../ops/loss.ts";
import { ACTIVATIONS } from "../ops/activation.ts";
import { paramLayout } from "./layout.ts";
import type { ModelSpec } from "./spec.ts";

/**
 * The plain forward pass of one model: each dense layer applies its activation (the last is linear),
 * dropout is the identity, and a softmax head turns it into probabilities (rows sum to 1). The reference for every backend's
 * prediction.
 *
 * @example
 * ```ts
 * import { forward, initParams, mlp } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 4, 3], activation: "tanh" });
 * const params = initParams(spec, { seed: 1 });
 * const probs = forward(spec, params, new Float32Array([0.5, -1, 2, 3]), 2); // [2, 3]
 * assert.equal(probs.length, 6);
 * assert.ok(Math.abs(probs[0] + probs[1] + probs[2] - 1) < 1e-6);
 * ```
 *
 * @param spec The network.
 * @param params [paramCount(spec)] parameters of one model (only the first model is used).
 * @param x [n, inDim] row-major inputs.
 * @param n Number of rows.
 * @returns [n, outDim] probabilities (softmax head) or outputs (linear head).
 */
export function forward(
  spec: ModelSpec,
  params: Float32Array,
  x: Float32Array,
  n: number,
): Float32Array {
  const layout = paramLayout(spec);
  if (params.length < layout.paramCount) {
    throw new RangeError(
      `Cannot view layers: replica 0 needs ${layout.paramCount} parameters: got ${params.length}`,
    );
  }
  let input: Float32Array = x;
  // Dropout is the identity in prediction, so only the dense layers and their activations run.
  for (const { inDim, outDim, weightOffset, biasOffset, activation } of layout.layers) {
    const f = ACTIVATIONS[activation].f;
    const out = new Float32Array(n * outDim); // [n, outDim]
    for (let b = 0; b < n; b++) {
      const row = b * outDim;
      for (let o = 0; o < outDim; o++) out[row + o] = params[biasOffset + o];
      for (let i = 0; i < inDim; i++) {
        const a = input[b * inDim + i];
        const wRow = weightOffset + i * outDim;
        for (let o = 0; o < outDim; o++) out[row + o] += a * params[wRow + o];
      }
      if (activation !== "linear") {
        for (let o = 0; o < outDim; o++) out[row + o] = f(out[row + o]);
      }
    }
    input = out;
  }
  if (spec.head === "softmax") softmaxRows(input, layout.outDim);
  return input;
}
