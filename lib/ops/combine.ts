/**
 * The vote rules: how the outputs of an ensemble's members become one prediction. This file is the
 * ONE definition of every rule: its float64 reference (`combine`), its running form for
 * ensemble-size curves (`accumulate`), which heads it applies to, and whether a backend's stacked
 * prediction can do it on the device (`device: "mean"`). Adding a rule is one entry in
 * {@linkcode COMBINE_RULES}; `Vote` is derived from the table, so the ensemble's option check, its
 * predictor and the size curve pick it up without further edits.
 *
 * The fused CPU form of the soft rule's mean ({@linkcode combineRows}) lives here too: the CPU
 * backend's stacked prediction calls it per block of rows.
 *
 * @module
 */
import { argmaxRows } from "../metrics.ts";
import { flatGrid, type KernelCall } from "./kernel_call.ts";
import { llvmpipeLoopCharge } from "../backend/webgpu/_quirks.ts";

/** A model head a rule applies to (see `MlpSpec.head`). */
export type CombineHead = "softmax" | "linear";

/** One vote rule of {@linkcode COMBINE_RULES}. */
export interface CombineRule {
  /** The heads whose outputs the rule can combine. */
  readonly heads: ReadonlyArray<CombineHead>;
  /**
   * Reference: the weighted combination of M member outputs, each `[n, outDim]` (probabilities of a
   * softmax head, raw outputs of a linear head), summed in float64 in the order given. The ensemble
   * passes its members in canonical order, so the result does not depend on the order the user gave
   * them in. `weights` are the members' weights, summing to 1.
   */
  combine(
    outputs: ReadonlyArray<Float32Array>,
    weights: Float64Array,
    n: number,
    outDim: number,
  ): Float32Array;
  /**
   * Running form: adds one member's `[n, outDim]` output with `weight` to `sum` (`[n, outDim]`), so
   * that after the members `1..k` (and dividing by their total weight) `sum` is the ensemble of the
   * first k. `combine` is exactly a fold of `accumulate` over the members.
   */
  accumulate(sum: Float64Array, output: Float32Array, weight: number, outDim: number): void;
  /**
   * Set when a backend's stacked prediction (`Backend.predict` with `combine: "mean"`) computes the
   * rule on the device, so that only the combined `[n, outDim]` is read back. Absent: the members
   * are predicted with `combine: "none"` and combined on the host by `combine`.
   */
  readonly device?: "mean";
}

function foldRule(rule: Pick<CombineRule, "accumulate">): CombineRule["combine"] {
  return (outputs, weights, n, outDim) => {
    const sum = new Float64Array(n * outDim); // [n, outDim]
    for (let i = 0; i < outputs.length; i++) rule.accumulate(sum, outputs[i], weights[i], outDim);
    return Float32Array.from(sum);
  };
}

/** Soft vote: the weighted mean of probabilities (softmax head) or of outputs (linear head). */
const SOFT_ACCUMULATE: CombineRule["accumulate"] = (sum, output, weight) => {
  for (let j = 0; j < sum.length; j++) sum[j] += weight * output[j];
};

/** Hard vote: each member adds its weight to its argmax class (ties to the lowest class). */
const HARD_ACCUMULATE: CombineRule["accumulate"] = (sum, output, weight, outDim) => {
  const votes = argmaxRows(output, outDim);
  for (let r = 0; r < votes.length; r++) sum[r * outDim + votes[r]] += weight;
};

/**
 * How members are combined: the name of a rule of {@linkcode COMBINE_RULES}. A name without a rule
 * in the table, or a rule without a name here, fails `deno check` (the table's type is a mapped type
 * over this union; JSR's no-slow-types rule wants exported constants typed explicitly, so the union
 * is written out rather than derived with `keyof typeof`).
 */
export type Vote = "soft" | "hard";

/**
 * Every vote rule, by name. `"soft"` (the default, as in Huang et al. 2017): the weighted mean of the
 * members' softmax probabilities, or of a linear head's outputs; the backend computes it on the
 * device. `"hard"`: the weighted majority of the members' argmax, as vote fractions per class (ties
 * go to the lowest class); softmax heads only.
 *
 * @example Both rules on two members' probabilities
 * ```ts
 * import { COMBINE_RULES } from "./combine.ts";
 * import assert from "node:assert/strict";
 *
 * const a = new Float32Array([0.6, 0.4]); // [1, 2]
 * const b = new Float32Array([0.2, 0.8]);
 * const weights = new Float64Array([0.5, 0.5]);
 * const soft = COMBINE_RULES.soft.combine([a, b], weights, 1, 2);
 * assert.ok(Math.abs(soft[0] - 0.4) < 1e-7);
 * assert.deepEqual(Array.from(COMBINE_RULES.hard.combine([a, b], weights, 1, 2)), [0.5, 0.5]);
 * ```
 */
export const COMBINE_RULES: { readonly [V in Vote]: CombineRule } = {
  soft: {
    heads: ["softmax", "linear"],
    combine: foldRule({ accumulate: SOFT_ACCUMULATE }),
    accumulate: SOFT_ACCUMULATE,
    device: "mean",
  },
  hard: {
    heads: ["softmax"],
    combine: foldRule({ accumulate: HARD_ACCUMULATE }),
    accumulate: HARD_ACCUMULATE,
  },
};

/** The names of every vote rule, in table order. */
export const VOTES: ReadonlyArray<Vote> = Object.keys(COMBINE_RULES) as Vote[];

/**
 * The soft rule's mean, fused for the CPU backend's stacked prediction:
 * `out[to ...] (+)= weight * g(result)` for `rows` rows of `width`, where `g` is the softmax of each
 * row (the max-shifted form, as `softmaxRows`) or the identity; overwrites `result` with
 * exponentials. Float32 sums, one member at a time, so nothing is allocated per member.
 *
 * @example Accumulating one member's softmax with weight 0.5
 * ```ts
 * import { combineRows } from "./combine.ts";
 * import assert from "node:assert/strict";
 *
 * const logits = new Float32Array([0, 0]); // [1, 2]
 * const out = new Float32Array(2);
 * combineRows(logits, 1, 2, true, out, 0, 0.5, true);
 * assert.deepEqual(Array.from(out), [0.25, 0.25]);
 * ```
 *
 * @param result `[rows, width]` the member's logits or outputs (overwritten).
 * @param rows Number of rows.
 * @param width Outputs per row.
 * @param softmax Whether to apply the softmax first.
 * @param out The destination.
 * @param to Offset of the first row in `out`.
 * @param weight The member's normalised weight.
 * @param accumulate Add to `out` (a mean over members) or overwrite it (one member's output).
 */
export function combineRows(
  result: Float32Array,
  rows: number,
  width: number,
  softmax: boolean,
  out: Float32Array,
  to: number,
  weight: number,
  accumulate: boolean,
): void {
  for (let b = 0; b < rows; b++) {
    const row = b * width;
    const dst = to + row;
    let scale = weight;
    if (softmax) {
      let max = -Infinity;
      for (let c = 0; c < width; c++) if (result[row + c] > max) max = result[row + c];
      let sum = 0;
      for (let c = 0; c < width; c++) {
        const e = Math.exp(result[row + c] - max);
        result[row + c] = e;
        sum += e;
      }
      scale = weight / sum;
    }
    if (accumulate) { for (let c = 0; c < width; c++) out[dst + c] += scale * result[row + c]; }
    else for (let c = 0; c < width; c++) out[dst + c] = scale * result[row + c];
  }
}

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
