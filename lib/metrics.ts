/**
 * Metrics for classifiers and regressors, and for how much the members of an ensemble disagree.
 *
 * Shapes: probabilities are row-major `[n, classes]` (`Float32Array` or `Float64Array`), labels and
 * predicted classes are `[n]` integers (`Int32Array` or an array of numbers). Every function checks
 * its inputs at the door and throws one {@linkcode ConfigError} naming every problem; past the door
 * the work is plain loops, accumulated in float64.
 *
 * @module
 */
import { andThen, check, field, options as optionsBag, orThrow, struct } from "./validation.ts";
import {
  accuracyInputs,
  binsCheck,
  memberInputs,
  regressionInputs,
  rowsOf,
  scoredInputs,
} from "./_metric_inputs.ts";

/** Row-major `[n, classes]` class probabilities (or any scores whose row maximum is the prediction). */
export type Probabilities = Float32Array | Float64Array;
/** `[n]` class indices in `[0, classes)`. */
export type Labels = Int32Array | ReadonlyArray<number>;

/** Options of {@linkcode expectedCalibrationError}. */
export interface CalibrationOptions {
  /** Number of equal-width confidence bins on `[0, 1]` (default 15, as in Guo et al. 2017). */
  readonly bins?: number;
}

/** Options of {@linkcode logLoss}. */
export interface LogLossOptions {
  /** Probabilities are clipped to `[eps, 1 - eps]` before the log (default 1e-15, as sklearn did). */
  readonly eps?: number;
}

/**
 * The index of the largest entry of every row; ties go to the lowest index.
 *
 * @example
 * ```ts
 * import { argmaxRows } from "./metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const probs = new Float32Array([0.1, 0.7, 0.2, 0.5, 0.5, 0]); // [2, 3]
 * assert.deepEqual(Array.from(argmaxRows(probs, 3)), [1, 0]);
 * ```
 *
 * @param values `[n, columns]` row-major values.
 * @param columns Number of columns.
 * @returns `[n]` the column of each row's maximum.
 */
export function argmaxRows(values: Probabilities, columns: number): Int32Array {
  orThrow("Cannot take argmax of rows", rowsOf("values", values, columns));
  return argmaxUnchecked(values, columns);
}

/**
 * Fraction of rows whose predicted class equals the label.
 *
 * The prediction is either given as classes (an `Int32Array` or number array of length n) or as
 * probabilities (a `Float32Array`/`Float64Array` of length n x classes, whose row argmax is taken;
 * the number of classes is the length divided by the number of labels).
 *
 * @example
 * ```ts
 * import { accuracy } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.equal(accuracy(new Int32Array([0, 1, 2, 2]), [0, 1, 1, 2]), 0.75);
 * const probs = new Float64Array([0.9, 0.1, 0.3, 0.7]); // [2, 2]
 * assert.equal(accuracy(probs, [0, 0]), 0.5);
 * ```
 *
 * @param predicted `[n]` predicted classes, or `[n, classes]` probabilities.
 * @param labels `[n]` true classes.
 * @returns The accuracy in `[0, 1]`.
 */
export function accuracy(predicted: Probabilities | Labels, labels: Labels): number {
  const checked = orThrow("Cannot compute accuracy", accuracyInputs(predicted, labels));
  const classesOf = checked.classes === null
    ? checked.predicted
    : argmaxUnchecked(checked.predicted, checked.classes);
  const n = checked.labels.length;
  let hits = 0;
  for (let i = 0; i < n; i++) if (classesOf[i] === checked.labels[i]) hits++;
  return hits / n;
}

/**
 * Mean negative log-likelihood of the true class (cross-entropy), computed as scikit-learn 1.2's
 * `log_loss(y, p, eps=1e-15, labels=range(classes))`: probabilities are clipped to `[eps, 1 - eps]`,
 * each row is renormalised to sum to 1, and the loss is the mean of `-log p[i, y[i]]`.
 *
 * @example
 * ```ts
 * import { logLoss } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const probs = new Float64Array([0.5, 0.5, 0.25, 0.75]); // [2, 2]
 * assert.ok(Math.abs(logLoss(probs, [0, 1]) - (Math.log(2) + Math.log(4 / 3)) / 2) < 1e-12);
 * ```
 *
 * @param probs `[n, classes]` probabilities.
 * @param labels `[n]` true classes.
 * @param options The clipping epsilon.
 * @returns The mean log-loss in nats.
 */
export function logLoss(
  probs: Probabilities,
  labels: Labels,
  options: LogLossOptions = {},
): number {
  const { scored: { classes, n }, eps } = orThrow(
    "Cannot compute log-loss",
    struct({
      scored: scoredInputs(probs, labels),
      eps: andThen(
        optionsBag(options, ["eps"]),
        (o) =>
          field<number>("eps", o.eps ?? 1e-15, (f, v) =>
            check.that(
              typeof v === "number" && v > 0 && v < 0.5,
              f,
              "must be a number in (0, 0.5)",
              v,
            )),
      ),
    }),
  );
  let total = 0;
  for (let i = 0; i < n; i++) {
    let rowSum = 0;
    for (let c = 0; c < classes; c++) rowSum += clip(probs[i * classes + c], eps);
    total -= Math.log(clip(probs[i * classes + labels[i]], eps) / rowSum);
  }
  return total / n;
}

/**
 * Multiclass Brier score: the mean over samples of the sum over classes of `(p - onehot)^2`
 * (Brier 1950). It lies in `[0, 2]`. For two classes it is twice scikit-learn's binary
 * `brier_score_loss(y, p[:, 1])`, which scores only the positive column.
 *
 * @example
 * ```ts
 * import { brierScore } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const probs = new Float64Array([1, 0, 0.5, 0.5]); // [2, 2]
 * assert.equal(brierScore(probs, [0, 0]), (0 + 0.5) / 2);
 * ```
 *
 * @param probs `[n, classes]` probabilities.
 * @param labels `[n]` true classes.
 * @returns The Brier score.
 */
export function brierScore(probs: Probabilities, labels: Labels): number {
  const { classes, n } = orThrow("Cannot compute Brier score", scoredInputs(probs, labels));
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < classes; c++) {
      const d = probs[i * classes + c] - (c === labels[i] ? 1 : 0);
      total += d * d;
    }
  }
  return total / n;
}

/**
 * Expected calibration error (Naeini et al. 2015; Guo et al. 2017, eq. 3): rows are put into `bins`
 * equal-width bins by their confidence (the largest probability of the row), bin `b` holding the
 * confidences in `(b / bins, (b + 1) / bins]` (a confidence of exactly 0 goes to the first bin);
 * the result is `sum_b |accuracy_b - meanConfidence_b| * count_b / n` over non-empty bins. The
 * predicted class is the row argmax (ties to the lowest class).
 *
 * @example
 * ```ts
 * import { expectedCalibrationError } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * // Two rows at confidence 0.8, one right and one wrong: |0.5 - 0.8| = 0.3.
 * const probs = new Float64Array([0.8, 0.2, 0.8, 0.2]); // [2, 2]
 * assert.ok(Math.abs(expectedCalibrationError(probs, [0, 1]) - 0.3) < 1e-12);
 * ```
 *
 * @param probs `[n, classes]` probabilities.
 * @param labels `[n]` true classes.
 * @param options The number of bins.
 * @returns The ECE in `[0, 1]`.
 */
export function expectedCalibrationError(
  probs: Probabilities,
  labels: Labels,
  options: CalibrationOptions = {},
): number {
  const { scored: { classes, n }, bins } = orThrow(
    "Cannot compute expected calibration error",
    struct({
      scored: scoredInputs(probs, labels),
      bins: andThen(
        optionsBag(options, ["bins"]),
        (o) => field<number>("bins", o.bins ?? 15, binsCheck),
      ),
    }),
  );
  const count = new Float64Array(bins);
  const hits = new Float64Array(bins);
  const confidence = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) {
      if (probs[i * classes + c] > probs[i * classes + best]) best = c;
    }
    const conf = probs[i * classes + best];
    // (lo, hi] bins: ceil(conf * bins) - 1, clamped for confidences outside (0, 1].
    const b = Math.min(bins - 1, Math.max(0, Math.ceil(conf * bins) - 1));
    count[b]++;
    confidence[b] += conf;
    if (best === labels[i]) hits[b]++;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    if (count[b] > 0) ece += Math.abs(hits[b] - confidence[b]) / n;
  }
  return ece;
}

/**
 * Diversity of an ensemble: the fraction of rows on which two members predict different classes,
 * averaged over all pairs of members (0 for identical members; needs at least two).
 *
 * Each member is given as `[n]` predicted classes (an `Int32Array`) or as `[n, classes]`
 * probabilities (a `Float32Array`/`Float64Array`, whose row argmax is taken); `classes` is required
 * when any member is given as probabilities.
 *
 * @example
 * ```ts
 * import { pairwiseDisagreement } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const a = new Int32Array([0, 1, 2, 2]);
 * const b = new Int32Array([0, 1, 2, 0]);
 * const c = new Int32Array([0, 0, 2, 0]);
 * // Pairs: (a, b) 1/4, (a, c) 2/4, (b, c) 1/4.
 * assert.equal(pairwiseDisagreement([a, b, c]), 1 / 3);
 * ```
 *
 * @param members Each member's predicted classes or probabilities.
 * @param classes Number of classes, for members given as probabilities.
 * @returns The mean pairwise disagreement in `[0, 1]`.
 */
export function pairwiseDisagreement(
  members: ReadonlyArray<Int32Array | Probabilities>,
  classes?: number,
): number {
  const checked = orThrow(
    "Cannot compute pairwise disagreement",
    memberInputs(members, classes),
  );
  const predicted = checked.members.map((m) =>
    m instanceof Int32Array ? m : argmaxUnchecked(m, checked.classes)
  );
  const n = predicted[0].length;
  let total = 0;
  let pairs = 0;
  for (let a = 0; a < predicted.length; a++) {
    for (let b = a + 1; b < predicted.length; b++) {
      const pa = predicted[a];
      const pb = predicted[b];
      let differ = 0;
      for (let i = 0; i < n; i++) if (pa[i] !== pb[i]) differ++;
      total += differ / n;
      pairs++;
    }
  }
  return total / pairs;
}

/**
 * Mean squared error over every element (the mean over samples and outputs, as the model's
 * regression loss and scikit-learn's `mean_squared_error` with uniform averaging compute it), with
 * its inputs checked. Named apart from the training loss `meanSquaredError` of the losses module,
 * which works on a batch without checks and can also write the gradient.
 *
 * @example
 * ```ts
 * import { meanSquaredErrorMetric } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.equal(meanSquaredErrorMetric(new Float32Array([1, 2, 3]), new Float32Array([1, 2, 5])), 4 / 3);
 * ```
 *
 * @param predicted `[n, outputs]` predictions.
 * @param target `[n, outputs]` targets.
 * @returns The mean squared error.
 */
export function meanSquaredErrorMetric(
  predicted: Probabilities | ReadonlyArray<number>,
  target: Probabilities | ReadonlyArray<number>,
): number {
  orThrow("Cannot compute mean squared error", regressionInputs(predicted, target));
  let total = 0;
  for (let i = 0; i < predicted.length; i++) {
    const d = predicted[i] - target[i];
    total += d * d;
  }
  return total / predicted.length;
}

function clip(p: number, eps: number): number {
  return p < eps ? eps : p > 1 - eps ? 1 - eps : p;
}

/** Row argmax without checks; ties to the lowest column. */
function argmaxUnchecked(values: ArrayLike<number>, columns: number): Int32Array {
  const n = values.length / columns;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < columns; c++) {
      if (values[i * columns + c] > values[i * columns + best]) best = c;
    }
    out[i] = best;
  }
  return out;
}
