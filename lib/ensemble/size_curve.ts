/**
 * The ensemble-size curves: single snapshots against growing ensembles, n = 1..M, the table the
 * tutorial prints and the curve the paper plots (accuracy and log-loss; mean squared error for a
 * regressor). Each member predicts once (one stacked prediction
 * on the chosen backend); the growing ensembles are the vote rule's running form
 * (`CombineRule.accumulate`) over those predictions.
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { check, orThrow, validation } from "../validation.ts";
import { accuracy, type Labels, logLoss } from "../metrics.ts";
import { inputDim, outputDim } from "../model/mod.ts";
import { COMBINE_RULES, type Vote } from "../ops/combine.ts";
import type { Backend } from "../backend/backend.ts";
import type { Snapshot } from "../snapshot.ts";
import { ensemble } from "./ensemble.ts";
import { headIssue, inputIssues, validateEnsemble } from "./_validate.ts";

/** One point of {@linkcode ensembleSizeCurve}. */
export interface EnsembleSizePoint {
  /** Number of snapshots in the ensemble (1..M). */
  readonly members: number;
  /** The `index` of the snapshot scored alone: the n-th from the end (backward) or start (forward). */
  readonly singleIndex: number;
  /** Accuracy of that snapshot alone. */
  readonly singleAccuracy: number;
  /** Accuracy of the ensemble of the last (backward) or first (forward) n snapshots. */
  readonly ensembleAccuracy: number;
  /** Log-loss of that snapshot alone. */
  readonly singleLogLoss: number;
  /** Log-loss of the ensemble. */
  readonly ensembleLogLoss: number;
}

/** Options of {@linkcode ensembleSizeCurve}. */
export interface EnsembleSizeCurveOptions {
  /** `[n, inDim]` inputs to score on. */
  readonly x: Float32Array;
  /** `[n]` their classes. */
  readonly y: Labels;
  /**
   * `"backward"` (default; the tutorial): the n-th snapshot from the end, and the last n.
   * `"forward"` (the paper's figures): the n-th snapshot, and the first n.
   */
  readonly direction?: "backward" | "forward";
  /** Combination rule (default `"soft"`). */
  readonly vote?: Vote;
  /** The backend that predicts the members (default: the CPU). */
  readonly backend?: Backend;
}

function labelIssues(y: Labels, n: number, classes: number): ConfigIssue[] {
  if (!Number.isSafeInteger(n)) return [];
  for (let i = 0; i < n; i++) {
    const label = y[i];
    if (!Number.isSafeInteger(label) || label < 0 || label >= classes) {
      return [{
        field: `y[${i}]`,
        message: `must be a class label in [0, ${classes})`,
        got: label,
      }];
    }
  }
  return [];
}

/**
 * Accuracy (and log-loss) of single snapshots and of growing ensembles, for n = 1..M: the table the
 * tutorial prints (`> n: single=..., ensemble=...`) and the curve the paper plots. Each member
 * predicts once; the ensembles are running sums of those predictions. A hard vote's log-loss is
 * that of its vote fractions (clipped).
 *
 * @example
 * ```ts
 * import { ensembleSizeCurve, initParams, mlp } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 8, 2] });
 * const snapshots = [1, 2, 3].map((index) => ({
 *   index, epoch: index, step: index, lr: 0, spec, params: initParams(spec, { seed: index }),
 * }));
 * const x = new Float32Array([1, 2, -1, 0, 3, 3]); // [3, 2]
 * const curve = await ensembleSizeCurve(snapshots, { x, y: [0, 1, 1] });
 * assert.deepEqual(curve.map((p) => p.singleIndex), [3, 2, 1]);
 * assert.equal(curve[0].singleAccuracy, curve[0].ensembleAccuracy);
 * ```
 *
 * @param snapshots The snapshots in training order.
 * @param options The data, the direction, the vote and the backend.
 * @returns One point per ensemble size.
 * @throws {ConfigError} naming every bad option (a `"linear"` head is rejected); as a rejection.
 */
export async function ensembleSizeCurve(
  snapshots: ReadonlyArray<Snapshot>,
  options: EnsembleSizeCurveOptions,
): Promise<EnsembleSizePoint[]> {
  const { x, y, direction = "backward", vote = "soft", backend } = options ??
    ({} as EnsembleSizeCurveOptions);
  const issues: ConfigIssue[] = [...check.oneOf("direction", direction, ["backward", "forward"])];
  const base = validateEnsemble(snapshots, { vote, backend });
  if (base._tag === "Left") issues.push(...base.left);
  else {
    const spec = base.right.spec;
    if (spec.head !== "softmax") issues.push(...headIssue(spec));
    const n = Array.isArray(y) || y instanceof Int32Array ? y.length : NaN;
    issues.push(...check.positiveInt("y.length", n));
    issues.push(...inputIssues(x, n, inputDim(spec)));
    issues.push(...labelIssues(y, n, outputDim(spec)));
  }
  orThrow("Cannot compute ensemble-size curve", validation(issues, null));
  const ordered = direction === "backward" ? [...snapshots].reverse() : [...snapshots];
  const model = ensemble(ordered, { vote, backend });
  const n = y.length;
  const classes = outputDim(model.spec);
  const outputs = await model.memberProba(x, n);
  const rule = COMBINE_RULES[vote];
  const sum = new Float64Array(n * classes); // [n, classes] running sum of probabilities or votes
  const mean = new Float64Array(n * classes);
  const points: EnsembleSizePoint[] = [];
  for (let k = 0; k < ordered.length; k++) {
    const single = outputs[k];
    rule.accumulate(sum, single, 1, classes);
    for (let j = 0; j < sum.length; j++) mean[j] = sum[j] / (k + 1);
    points.push({
      members: k + 1,
      singleIndex: ordered[k].index,
      singleAccuracy: accuracy(single, y),
      ensembleAccuracy: accuracy(mean, y),
      singleLogLoss: logLoss(single, y),
      ensembleLogLoss: logLoss(mean, y),
    });
  }
  return points;
}

/** One point of {@linkcode regressionSizeCurve}. */
export interface RegressionSizePoint {
  /** Number of snapshots in the ensemble (1..M). */
  readonly members: number;
  /** The `index` of the snapshot scored alone. */
  readonly singleIndex: number;
  /** Mean squared error of that snapshot alone (over rows and outputs). */
  readonly singleMse: number;
  /** Mean squared error of the ensemble (the mean of its members' outputs). */
  readonly ensembleMse: number;
}

/** Options of {@linkcode regressionSizeCurve}. */
export interface RegressionSizeCurveOptions {
  /** `[n, inDim]` inputs to score on. */
  readonly x: Float32Array;
  /** `[n, outDim]` their targets. */
  readonly y: Float32Array | Float64Array;
  /** As in {@linkcode EnsembleSizeCurveOptions.direction} (default `"backward"`). */
  readonly direction?: "backward" | "forward";
  /** The backend that predicts the members (default: the CPU). */
  readonly backend?: Backend;
}

/**
 * The ensemble-size curve of a regressor (`"linear"` head): the mean squared error of single
 * snapshots and of the ensembles of the last (backward) or first (forward) n, n = 1..M. Each member
 * predicts once; the ensembles are running means (the soft rule's `accumulate`).
 *
 * @example
 * ```ts
 * import { initParams, mlp, regressionSizeCurve } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [1, 4, 1], activation: "tanh", head: "linear" });
 * const snapshots = [1, 2, 3].map((index) => ({
 *   index, epoch: index, step: index, lr: 0, spec, params: initParams(spec, { seed: index }),
 * }));
 * const x = new Float32Array([-1, 0, 1]); // [3, 1]
 * const curve = await regressionSizeCurve(snapshots, { x, y: new Float32Array([0, 0, 0]) });
 * assert.deepEqual(curve.map((p) => p.singleIndex), [3, 2, 1]);
 * assert.equal(curve[0].singleMse, curve[0].ensembleMse);
 * ```
 *
 * @param snapshots The snapshots in training order.
 * @param options The data, the direction and the backend.
 * @returns One point per ensemble size.
 * @throws {ConfigError} naming every bad option (a `"softmax"` head is rejected); as a rejection.
 */
export async function regressionSizeCurve(
  snapshots: ReadonlyArray<Snapshot>,
  options: RegressionSizeCurveOptions,
): Promise<RegressionSizePoint[]> {
  const { x, y, direction = "backward", backend } = options ??
    ({} as RegressionSizeCurveOptions);
  const issues: ConfigIssue[] = [...check.oneOf("direction", direction, ["backward", "forward"])];
  const base = validateEnsemble(snapshots, { backend });
  let n = NaN;
  if (base._tag === "Left") issues.push(...base.left);
  else {
    const spec = base.right.spec;
    issues.push(...check.that(
      spec.head === "linear",
      "spec.head",
      'must be "linear" for a regression curve: for classes use ensembleSizeCurve',
      spec.head,
    ));
    const outDim = outputDim(spec);
    const targetsOk = (y instanceof Float32Array || y instanceof Float64Array) &&
      y.length > 0 && y.length % outDim === 0 && y.every(Number.isFinite);
    issues.push(...check.that(
      targetsOk,
      "y",
      `must be a Float32Array or Float64Array of finite [n, ${outDim}] targets`,
    ));
    n = targetsOk ? y.length / outDim : NaN;
    if (targetsOk) issues.push(...inputIssues(x, n, inputDim(spec)));
  }
  orThrow("Cannot compute regression size curve", validation(issues, null));
  const ordered = direction === "backward" ? [...snapshots].reverse() : [...snapshots];
  const outputs = await ensemble(ordered, { backend }).memberProba(x, n);
  const sum = new Float64Array(y.length); // [n, outDim] running sum of outputs
  const mse = (predicted: ArrayLike<number>, scale: number): number => {
    let total = 0;
    for (let k = 0; k < y.length; k++) total += (predicted[k] * scale - y[k]) ** 2;
    return total / y.length;
  };
  return outputs.map((single, k) => {
    COMBINE_RULES.soft.accumulate(sum, single, 1, y.length / n);
    return {
      members: k + 1,
      singleIndex: ordered[k].index,
      singleMse: mse(single, 1),
      ensembleMse: mse(sum, 1 / (k + 1)),
    };
  });
}
