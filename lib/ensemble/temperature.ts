/**
 * Temperature scaling (Guo et al. 2017, "On Calibration of Modern Neural Networks"): one scalar
 * `T > 0` that divides a model's log-probabilities before the softmax, fitted to minimise the
 * log-loss on held-out validation data. It changes no prediction (the argmax is kept) and often
 * fixes most of a network's over-confidence. For an ensemble it is applied to the log of the
 * averaged probabilities (`ensemble(snapshots, { temperature })`).
 *
 * Fit it on validation data, never on the test data it is judged on: a temperature chosen on the
 * test set makes the test log-loss look better than it will be on new data.
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { orThrow, validation } from "../validation.ts";
import type { Labels, Probabilities } from "../metrics.ts";

/** The search interval of {@linkcode fitTemperature}: `T` in `[0.01, 100]`. */
export const TEMPERATURE_BOUNDS: readonly [number, number] = [0.01, 100];

/** Log of the probability floor that a `-Infinity` log-probability is read as (as `logLoss` clips). */
const LOG_FLOOR = Math.log(1e-15);

/** The result of {@linkcode fitTemperature}. */
export interface TemperatureFit {
  /** The fitted temperature, in {@linkcode TEMPERATURE_BOUNDS}. */
  readonly temperature: number;
  /** Mean log-loss (natural log) of the scaled probabilities at that temperature. */
  readonly logLoss: number;
  /** Mean log-loss before scaling (`T = 1`). */
  readonly unscaledLogLoss: number;
}

/**
 * Per row `r`: the log-sum-exp of `beta * z` and the mean of `z` and of its square under the
 * softmax of `beta * z`, accumulated into the loss and its first two derivatives in beta.
 */
function lossAt(
  z: Float64Array,
  labels: Labels,
  classes: number,
  beta: number,
): { loss: number; slope: number; curvature: number } {
  const n = labels.length;
  let loss = 0;
  let slope = 0;
  let curvature = 0;
  for (let r = 0; r < n; r++) {
    const row = r * classes;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, beta * z[row + c]);
    let sum = 0;
    let mean = 0;
    let square = 0;
    for (let c = 0; c < classes; c++) {
      const e = Math.exp(beta * z[row + c] - max);
      sum += e;
      mean += e * z[row + c];
      square += e * z[row + c] * z[row + c];
    }
    mean /= sum;
    const zy = z[row + labels[r]];
    loss += max + Math.log(sum) - beta * zy;
    slope += mean - zy;
    curvature += Math.max(0, square / sum - mean * mean);
  }
  return { loss: loss / n, slope: slope / n, curvature: curvature / n };
}

function fitIssues(logProbs: Probabilities, labels: Labels): ConfigIssue[] {
  const n = labels?.length;
  if (!(logProbs instanceof Float32Array || logProbs instanceof Float64Array)) {
    return [{
      field: "logProbs",
      message: "must be a Float32Array or Float64Array",
      got: logProbs,
    }];
  }
  if (!(Array.isArray(labels) || labels instanceof Int32Array) || n === 0) {
    return [{ field: "labels", message: "must be a non-empty list of classes", got: labels }];
  }
  const classes = logProbs.length / n;
  if (!Number.isInteger(classes) || classes < 2) {
    return [{
      field: "logProbs",
      message: `must hold n x classes values (at least 2 classes) for the ${n} labels`,
      got: logProbs.length,
    }];
  }
  for (let i = 0; i < logProbs.length; i++) {
    const v = logProbs[i];
    if (Number.isNaN(v) || v === Infinity) {
      return [{ field: `logProbs[${i}]`, message: "must be finite or -Infinity (log 0)", got: v }];
    }
  }
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= classes) {
      return [{
        field: `labels[${i}]`,
        message: `must be an integer class in [0, ${classes})`,
        got: y,
      }];
    }
  }
  return [];
}

/**
 * Fits the temperature `T` that minimises the mean log-loss of `softmax(logProbs / T)` on
 * validation data (Guo et al. 2017). The loss is convex in `1 / T`, so the minimum is unique; it is
 * found by Newton's method on the derivative, safeguarded by bisection, within
 * {@linkcode TEMPERATURE_BOUNDS} (an optimum beyond them gives the bound). Pass log-probabilities
 * (or logits: the softmax ignores a shift per row); `-Infinity` (log 0) is read as log(1e-15), as
 * `logLoss` clips. `T > 1` softens over-confident models, `T < 1` sharpens.
 *
 * @example Calibrating an over-confident model
 * ```ts
 * import { fitTemperature } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * // [4, 2] log-probabilities, far too sure of itself: one of the four confident answers is wrong.
 * const p = [0.99, 0.01, 0.99, 0.01, 0.01, 0.99, 0.99, 0.01];
 * const logProbs = Float64Array.from(p, Math.log);
 * const fit = fitTemperature(logProbs, [0, 0, 1, 1]);
 * assert.ok(fit.temperature > 1);
 * assert.ok(fit.logLoss < fit.unscaledLogLoss);
 * ```
 *
 * @param logProbs `[n, classes]` validation log-probabilities (of one model, or the log of an
 *   ensemble's averaged probabilities).
 * @param labels `[n]` the validation classes.
 * @returns The temperature and the log-loss before and after scaling.
 * @throws {ConfigError} naming the first bad value.
 */
export function fitTemperature(logProbs: Probabilities, labels: Labels): TemperatureFit {
  orThrow("Cannot fit temperature", validation(fitIssues(logProbs, labels), null));
  const classes = logProbs.length / labels.length;
  const z = Float64Array.from(logProbs, (v) => (v === -Infinity ? LOG_FLOOR : v));
  // beta = 1 / T; f'(beta) is increasing (f is convex), so bracket its root and refine.
  let lo = 1 / TEMPERATURE_BOUNDS[1];
  let hi = 1 / TEMPERATURE_BOUNDS[0];
  let beta: number;
  if (lossAt(z, labels, classes, lo).slope >= 0) beta = lo;
  else if (lossAt(z, labels, classes, hi).slope <= 0) beta = hi;
  else {
    beta = 1;
    for (let iteration = 0; iteration < 200 && hi - lo > 1e-15 * hi; iteration++) {
      const { slope, curvature } = lossAt(z, labels, classes, beta);
      if (slope === 0) break;
      if (slope > 0) hi = beta;
      else lo = beta;
      const newton = curvature > 0 ? beta - slope / curvature : NaN;
      const next = newton > lo && newton < hi ? newton : (lo + hi) / 2;
      if (Math.abs(next - beta) <= 1e-15 * beta) {
        beta = next;
        break;
      }
      beta = next;
    }
  }
  return {
    temperature: 1 / beta,
    logLoss: lossAt(z, labels, classes, beta).loss,
    unscaledLogLoss: lossAt(z, labels, classes, 1).loss,
  };
}

/**
 * Temperature scaling of probability rows: `softmax(log(p) / t)` per row of `width`, in float64.
 * It is what `ensemble(..., { temperature })` applies to the averaged probabilities.
 *
 * @example
 * ```ts
 * import { temperRows } from "./temperature.ts";
 * import assert from "node:assert/strict";
 *
 * const p = new Float32Array([0.8, 0.2]);
 * const softer = temperRows(p, 2, 2); // sqrt(0.8) : sqrt(0.2) = 2 : 1
 * assert.ok(Math.abs(softer[0] - 2 / 3) < 1e-6);
 * ```
 *
 * @param probs `[n, width]` probabilities.
 * @param width Classes per row.
 * @param t The temperature (> 0).
 * @returns `[n, width]` the scaled probabilities.
 */
export function temperRows(probs: Probabilities, width: number, t: number): Float32Array {
  const out = new Float32Array(probs.length);
  const row = new Float64Array(width);
  for (let r = 0; r < probs.length; r += width) {
    let max = -Infinity;
    for (let c = 0; c < width; c++) {
      row[c] = Math.log(probs[r + c]) / t;
      if (row[c] > max) max = row[c];
    }
    let sum = 0;
    for (let c = 0; c < width; c++) {
      row[c] = Math.exp(row[c] - max);
      sum += row[c];
    }
    for (let c = 0; c < width; c++) out[r + c] = row[c] / sum;
  }
  return out;
}
