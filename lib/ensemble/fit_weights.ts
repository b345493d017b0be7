/**
 * Learned member weights: the weights on the simplex that minimise the soft vote's validation
 * log-loss. The loss `-mean_i log(sum_m w_m q_mi)` (q_mi: member m's probability of row i's true
 * class) is convex in w, so the optimum is global; it is found by the EM iteration for mixture
 * weights, `w_m <- mean_i (w_m q_mi / sum_k w_k q_ki)`, which never increases the loss and stays on
 * the simplex (Dempster, Laird & Rubin 1977).
 *
 * Fit on VALIDATION data, never on the test data the ensemble is scored on (weights fitted on the
 * test set make its score optimistic).
 *
 * @module
 */
import { check, orThrow, validation } from "../validation.ts";
import type { Labels, Probabilities } from "../metrics.ts";
import { memberProbIssues } from "./select_members.ts";

/** Options of {@linkcode fitEnsembleWeights}. */
export interface FitWeightsOptions {
  /** Most EM iterations (default 10000). */
  readonly maxIterations?: number;
  /** Stop when no weight moves by more than this in one iteration (default 1e-10). */
  readonly tolerance?: number;
}

/** The result of {@linkcode fitEnsembleWeights}. */
export interface FittedWeights {
  /** One weight per member, non-negative, summing to 1 (`ensemble`'s `weights` option). */
  readonly weights: ReadonlyArray<number>;
  /** The validation log-loss at those weights (true-class probabilities clipped at 1e-15). */
  readonly logLoss: number;
  /** EM iterations run. */
  readonly iterations: number;
}

const EPS = 1e-15;

/**
 * Fits one weight per member on the simplex minimising the soft vote's validation log-loss.
 *
 * @example Weights that favour the better member
 * ```ts
 * import { fitEnsembleWeights } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const weak = new Float32Array([0.6, 0.4, 0.5, 0.5, 0.7, 0.3]); // [3, 2]
 * const strong = new Float32Array([0.9, 0.1, 0.2, 0.8, 0.6, 0.4]);
 * const fit = fitEnsembleWeights([weak, strong], [0, 1, 0]);
 * assert.ok(fit.weights[1] > fit.weights[0]);
 * assert.ok(Math.abs(fit.weights[0] + fit.weights[1] - 1) < 1e-12);
 * ```
 *
 * @param memberProbs M members' `[n, classes]` validation probabilities (`Ensemble.memberProba`).
 * @param labels `[n]` validation classes.
 * @param options Iteration limit and tolerance.
 * @returns The weights, the log-loss there and the iterations run.
 * @throws {ConfigError} naming every bad input.
 */
export function fitEnsembleWeights(
  memberProbs: ReadonlyArray<Probabilities>,
  labels: Labels,
  options: FitWeightsOptions = {},
): FittedWeights {
  const { maxIterations = 10_000, tolerance = 1e-10 } = options ?? {};
  orThrow(
    "Cannot fit ensemble weights",
    validation(
      [
        ...check.knownKeys(options ?? {}, ["maxIterations", "tolerance"]),
        ...check.positiveInt("maxIterations", maxIterations),
        ...check.positive("tolerance", tolerance),
        ...memberProbIssues(memberProbs, labels),
      ],
      null,
    ),
  );
  const m = memberProbs.length;
  const n = labels.length;
  const classes = memberProbs[0].length / n;
  const q = memberProbs.map((p) =>
    Float64Array.from(labels, (y, i) => Math.max(p[i * classes + y], EPS))
  );
  let w = new Float64Array(m).fill(1 / m);
  const mix = new Float64Array(n);
  const mixOf = (weights: Float64Array) => {
    mix.fill(0);
    for (let k = 0; k < m; k++) for (let i = 0; i < n; i++) mix[i] += weights[k] * q[k][i];
  };
  let iterations = 0;
  while (iterations < maxIterations) {
    mixOf(w);
    const next = new Float64Array(m);
    for (let k = 0; k < m; k++) {
      let r = 0;
      for (let i = 0; i < n; i++) r += q[k][i] / mix[i];
      next[k] = (w[k] * r) / n;
    }
    const total = next.reduce((a, b) => a + b, 0);
    let moved = 0;
    for (let k = 0; k < m; k++) {
      next[k] /= total;
      moved = Math.max(moved, Math.abs(next[k] - w[k]));
    }
    w = next;
    iterations++;
    if (moved <= tolerance) break;
  }
  mixOf(w);
  let loss = 0;
  for (let i = 0; i < n; i++) loss -= Math.log(Math.min(Math.max(mix[i], EPS), 1 - EPS));
  return { weights: Array.from(w), logLoss: loss / n, iterations };
}
