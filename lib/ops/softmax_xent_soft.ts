/**
 * Softmax cross-entropy against soft targets (probability vectors) at a temperature: the loss of
 * knowledge distillation (Hinton, Vinyals and Dean 2015, "Distilling the Knowledge in a Neural
 * Network", section 2).
 *
 * For a row of logits `z` and a target distribution `q` (non-negative, summing to 1), at
 * temperature `T`:
 *
 *   p = softmax(z / T),   loss = T^2 * H(q, p) = -T^2 * sum_j q_j log p_j,
 *   d loss / d z_j = T * (p_j * sum_k q_k - q_j)        (= T (p_j - q_j) when q sums to 1).
 *
 * Why the T^2: the gradient of H(q, softmax(z / T)) shrinks as 1/T (and for large T as 1/T^2 near
 * the logits' mean), so without the factor a larger temperature would silently lower the
 * effective learning rate. Hinton et al. multiply the soft-target loss by T^2 so that "the relative
 * contributions of the hard and soft targets remain roughly unchanged if the temperature ... is
 * changed"; here the factor is part of the loss itself (the reported loss, the gradient and the
 * finite differences all include it), so one learning rate serves every temperature. At `T = 1`
 * it is the plain cross-entropy against `q`; with a one-hot `q` it equals the hard-label softmax
 * cross-entropy of lib/losses.ts. The batch loss is the mean over rows, the gradient that of the mean.
 *
 * The `correct` statistic of a step counts rows whose first argmax of `z` equals the first argmax
 * of `q`: agreement with the teacher.
 *
 * The WGSL twin is shaders/softmax_xent_soft.wgsl; {@linkcode softmaxXentSoftRef} is what it and the
 * CPU backend's {@linkcode softmaxXentSoftRows} are checked against.
 *
 * @module
 */
import type { FloatArray } from "./loss.ts";

/** The result of {@linkcode softmaxXentSoftRef}. */
export interface SoftXentResult {
  /** Mean over rows of `T^2 * H(q, softmax(z / T))`. */
  readonly loss: number;
  /** [rows, classes] gradient of the mean loss with respect to the logits. */
  readonly grad: Float64Array;
  /** Rows whose first argmax of the logits equals the first argmax of the targets. */
  readonly agree: number;
}

/**
 * The reference: plain float64 loops, written for clarity (log-softmax through the row max, so
 * large logits never overflow).
 *
 * @example One row at temperature 1 against a one-hot target is the hard-label loss
 * ```ts
 * import { softmaxXentSoftRef } from "./softmax_xent_soft.ts";
 * import assert from "node:assert/strict";
 *
 * const z = new Float64Array([2, 0]);
 * const { loss, grad, agree } = softmaxXentSoftRef(z, new Float64Array([1, 0]), 1, 2, 1);
 * assert.ok(Math.abs(loss - Math.log(1 + Math.exp(-2))) < 1e-12);
 * assert.ok(Math.abs(grad[0] + grad[1]) < 1e-12);
 * assert.equal(agree, 1);
 * ```
 *
 * @param logits [rows, classes] logits.
 * @param targets [rows, classes] target probabilities.
 * @param rows Rows of the batch.
 * @param classes Classes per row.
 * @param temperature The temperature `T` (> 0).
 * @returns The mean loss, its gradient and the agreement count.
 */
export function softmaxXentSoftRef(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  rows: number,
  classes: number,
  temperature: number,
): SoftXentResult {
  const grad = new Float64Array(rows * classes);
  const t = temperature;
  let total = 0;
  let agree = 0;
  for (let b = 0; b < rows; b++) {
    const row = b * classes;
    let zBest = 0;
    let qBest = 0;
    for (let c = 1; c < classes; c++) {
      if (logits[row + c] > logits[row + zBest]) zBest = c;
      if (targets[row + c] > targets[row + qBest]) qBest = c;
    }
    if (zBest === qBest) agree++;
    const top = logits[row + zBest] / t;
    let sum = 0;
    let mass = 0;
    for (let c = 0; c < classes; c++) {
      sum += Math.exp(logits[row + c] / t - top);
      mass += targets[row + c];
    }
    const logSum = Math.log(sum);
    for (let c = 0; c < classes; c++) {
      const logP = logits[row + c] / t - top - logSum;
      total -= t * t * targets[row + c] * logP;
      grad[row + c] = (t * (Math.exp(logP) * mass - targets[row + c])) / rows;
    }
  }
  return { loss: total / rows, grad, agree };
}

/**
 * The CPU backend's soft-target loss head, in the precision of `grad` (`Float32Array` in training,
 * `Float64Array` for finite differences): the same formulas as {@linkcode softmaxXentSoftRef},
 * writing the gradient of the batch mean into `grad` and the agreement count into `correct[at]`,
 * allocating nothing.
 *
 * @example
 * ```ts
 * import { softmaxXentSoftRows } from "./softmax_xent_soft.ts";
 * import assert from "node:assert/strict";
 *
 * const grad = new Float64Array(2);
 * const correct = new Float64Array(1);
 * const z = new Float64Array([0, 0]);
 * const loss = softmaxXentSoftRows(z, new Float64Array([0.25, 0.75]), 1, 2, 2, grad, correct, 0);
 * assert.ok(Math.abs(loss - 4 * Math.log(2)) < 1e-12); // T^2 H(q, uniform)
 * assert.deepEqual([...grad], [0.5, -0.5]); // T (p - q)
 * assert.equal(correct[0], 0);
 * ```
 *
 * @param logits [rows, classes] logits.
 * @param targets [rows, classes] target probabilities.
 * @param rows Rows of the batch.
 * @param classes Classes per row.
 * @param temperature The temperature `T` (> 0).
 * @param grad [rows, classes] receives the gradient of the mean loss.
 * @param correct Receives the agreement count at `at`.
 * @param at Where in `correct` to write.
 * @returns The mean loss.
 */
export function softmaxXentSoftRows(
  logits: FloatArray,
  targets: FloatArray,
  rows: number,
  classes: number,
  temperature: number,
  grad: FloatArray,
  correct: FloatArray,
  at: number,
): number {
  const t = temperature;
  const invT = 1 / t;
  const scale = t / rows;
  let total = 0;
  let hits = 0;
  for (let b = 0; b < rows; b++) {
    const row = b * classes;
    let zBest = 0;
    let qBest = 0;
    for (let c = 1; c < classes; c++) {
      if (logits[row + c] > logits[row + zBest]) zBest = c;
      if (targets[row + c] > targets[row + qBest]) qBest = c;
    }
    if (zBest === qBest) hits++;
    const top = logits[row + zBest] * invT;
    let sum = 0;
    let mass = 0;
    for (let c = 0; c < classes; c++) {
      const e = Math.exp(logits[row + c] * invT - top);
      grad[row + c] = e;
      sum += e;
      mass += targets[row + c];
    }
    const logSum = Math.log(sum);
    const inv = mass / sum;
    let cross = 0;
    for (let c = 0; c < classes; c++) {
      const q = targets[row + c];
      cross -= q * (logits[row + c] * invT - top - logSum);
      grad[row + c] = scale * (grad[row + c] * inv - q);
    }
    total += t * t * cross;
  }
  correct[at] = hits;
  return total / rows;
}
