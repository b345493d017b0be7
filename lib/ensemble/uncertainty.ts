/**
 * Per-row uncertainty of an ensemble, from its members' outputs (`Ensemble.memberProba`, on any
 * backend). For classifiers the BALD decomposition (Houlsby et al. 2011; Depeweg et al. 2018):
 * the entropy of the averaged prediction ({@linkcode predictiveEntropy}, total uncertainty) is the
 * members' mean entropy ({@linkcode expectedEntropy}, aleatoric: what each member is unsure of)
 * plus the {@linkcode mutualInformation} between the prediction and the member (epistemic: how much
 * the members disagree); and the fraction of member pairs whose classes differ
 * ({@linkcode disagreement}). For regressors, {@linkcode memberVariance}. Entropies use natural logs
 * and `0 log 0 = 0`. Weights (default equal) are normalised to sum 1.
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { orThrow, validation } from "../validation.ts";
import { argmaxRows, type Probabilities } from "../metrics.ts";
import { weightIssues } from "./_validate.ts";

/** Checks M member outputs of one shape `[n, width]`; returns n. */
function membersOf(
  context: string,
  members: ReadonlyArray<Probabilities>,
  width: number,
  weights: ReadonlyArray<number> | undefined,
  minMembers: number,
  probabilities: boolean,
): { readonly n: number; readonly weights: Float64Array } {
  const issues: ConfigIssue[] = [];
  const m = Array.isArray(members) ? members.length : 0;
  if (m < minMembers) {
    issues.push({
      field: "members",
      message: `must be a list of at least ${minMembers} member output(s)`,
      got: Array.isArray(members) ? members.length : members,
    });
  }
  if (!(Number.isSafeInteger(width) && width >= 1)) {
    issues.push({ field: "width", message: "must be a positive integer", got: width });
  }
  const length = m > 0 ? members[0]?.length : 0;
  const n = Number.isSafeInteger(width) && width >= 1 ? length / width : NaN;
  if (issues.length === 0) {
    members.forEach((p, i) => {
      if (!(p instanceof Float32Array || p instanceof Float64Array)) {
        issues.push({ field: `members[${i}]`, message: "must be a Float32Array or Float64Array" });
      } else if (p.length !== length || !Number.isInteger(n) || n < 1) {
        issues.push({
          field: `members[${i}]`,
          message: `must hold the same positive number of [n, ${width}] rows as members[0]`,
          got: p.length,
        });
      } else {
        const bad = p.findIndex((v) => !Number.isFinite(v) || (probabilities && v < 0));
        if (bad >= 0) {
          const what = probabilities ? "non-negative finite probabilities" : "finite";
          issues.push({ field: `members[${i}][${bad}]`, message: `must be ${what}`, got: p[bad] });
        }
      }
    });
  }
  const w = weightIssues(weights, Math.max(m, 1));
  if (m >= minMembers) issues.push(...w.issues);
  orThrow(context, validation(issues, null));
  return { n, weights: w.weights };
}

function entropyOf(p: ArrayLike<number>, from: number, width: number): number {
  let h = 0;
  for (let c = 0; c < width; c++) {
    const v = p[from + c];
    if (v > 0) h -= v * Math.log(v);
  }
  return h;
}

function mean(members: ReadonlyArray<Probabilities>, weights: Float64Array): Float64Array {
  const out = new Float64Array(members[0].length);
  members.forEach((p, i) => {
    for (let k = 0; k < out.length; k++) out[k] += weights[i] * p[k];
  });
  return out;
}

/**
 * Per row, the entropy of the ensemble's (weighted) mean probabilities: its total uncertainty.
 *
 * @example
 * ```ts
 * import { predictiveEntropy } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const a = new Float32Array([1, 0]); // [1, 2]: sure of class 0
 * const b = new Float32Array([0, 1]); // sure of class 1
 * assert.ok(Math.abs(predictiveEntropy([a, b], 2)[0] - Math.log(2)) < 1e-12);
 * ```
 *
 * @param members M member outputs, each `[n, classes]` probabilities.
 * @param classes Number of classes.
 * @param weights One weight per member (default equal).
 * @returns `[n]` entropies in nats.
 * @throws {ConfigError} naming every bad member or weight.
 */
export function predictiveEntropy(
  members: ReadonlyArray<Probabilities>,
  classes: number,
  weights?: ReadonlyArray<number>,
): Float64Array {
  const { n, weights: w } = membersOf(
    "Cannot compute predictive entropy",
    members,
    classes,
    weights,
    1,
    true,
  );
  const p = mean(members, w);
  return Float64Array.from({ length: n }, (_, r) => entropyOf(p, r * classes, classes));
}

/**
 * Per row, the (weighted) mean of the members' own entropies: the uncertainty each member already
 * has (aleatoric).
 *
 * @example
 * ```ts
 * import { expectedEntropy } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const a = new Float32Array([1, 0]); // [1, 2]
 * const b = new Float32Array([0.5, 0.5]);
 * assert.ok(Math.abs(expectedEntropy([a, b], 2)[0] - Math.log(2) / 2) < 1e-12);
 * ```
 *
 * @param members M member outputs, each `[n, classes]` probabilities.
 * @param classes Number of classes.
 * @param weights One weight per member (default equal).
 * @returns `[n]` entropies in nats.
 * @throws {ConfigError} naming every bad member or weight.
 */
export function expectedEntropy(
  members: ReadonlyArray<Probabilities>,
  classes: number,
  weights?: ReadonlyArray<number>,
): Float64Array {
  const { n, weights: w } = membersOf(
    "Cannot compute expected entropy",
    members,
    classes,
    weights,
    1,
    true,
  );
  const out = new Float64Array(n);
  members.forEach((p, i) => {
    for (let r = 0; r < n; r++) out[r] += w[i] * entropyOf(p, r * classes, classes);
  });
  return out;
}

/**
 * Per row, the mutual information between the prediction and the member (BALD): predictive minus
 * expected entropy, the part of the uncertainty that comes from the members disagreeing
 * (epistemic). Non-negative (entropy is concave); rounding below 0 is returned as 0.
 *
 * @example
 * ```ts
 * import { mutualInformation } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const same = new Float32Array([0.5, 0.5]);
 * assert.equal(mutualInformation([same, same], 2)[0], 0); // agreeing members: none
 * const a = new Float32Array([1, 0]);
 * const b = new Float32Array([0, 1]);
 * assert.ok(Math.abs(mutualInformation([a, b], 2)[0] - Math.log(2)) < 1e-12);
 * ```
 *
 * @param members M member outputs, each `[n, classes]` probabilities.
 * @param classes Number of classes.
 * @param weights One weight per member (default equal).
 * @returns `[n]` mutual information in nats.
 * @throws {ConfigError} naming every bad member or weight.
 */
export function mutualInformation(
  members: ReadonlyArray<Probabilities>,
  classes: number,
  weights?: ReadonlyArray<number>,
): Float64Array {
  const total = predictiveEntropy(members, classes, weights);
  const aleatoric = expectedEntropy(members, classes, weights);
  return total.map((h, r) => Math.max(0, h - aleatoric[r]));
}

/**
 * Per row, the fraction of member pairs whose predicted classes (argmax, ties to the lowest class)
 * differ. Its mean over the rows is `pairwiseDisagreement` of the same members.
 *
 * @example
 * ```ts
 * import { disagreement } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const a = new Float32Array([0.9, 0.1, 0.6, 0.4]); // [2, 2]: classes 0, 0
 * const b = new Float32Array([0.2, 0.8, 0.7, 0.3]); // classes 1, 0
 * const c = new Float32Array([0.3, 0.7, 0.9, 0.1]); // classes 1, 0
 * const d = disagreement([a, b, c], 2); // row 0: 2 of the 3 pairs differ
 * assert.ok(Math.abs(d[0] - 2 / 3) < 1e-12);
 * assert.equal(d[1], 0);
 * ```
 *
 * @param members M >= 2 member outputs, each `[n, classes]` probabilities.
 * @param classes Number of classes.
 * @returns `[n]` fractions in `[0, 1]`.
 * @throws {ConfigError} naming every bad member.
 */
export function disagreement(
  members: ReadonlyArray<Probabilities>,
  classes: number,
): Float64Array {
  const { n } = membersOf("Cannot compute disagreement", members, classes, undefined, 2, true);
  const m = members.length;
  const counts = new Float64Array(n * classes); // [n, classes] votes per class
  for (const p of members) {
    const votes = argmaxRows(p, classes);
    for (let r = 0; r < n; r++) counts[r * classes + votes[r]]++;
  }
  const pairs = (m * (m - 1)) / 2;
  return Float64Array.from({ length: n }, (_, r) => {
    let agreeing = 0;
    for (let c = 0; c < classes; c++) {
      const k = counts[r * classes + c];
      agreeing += (k * (k - 1)) / 2;
    }
    return 1 - agreeing / pairs;
  });
}

/**
 * Per row and output, the (weighted) variance of a regressor's member outputs around their mean:
 * `sum_i w_i (y_i - mean)^2`, the ensemble's epistemic spread for a `"linear"` head.
 *
 * @example
 * ```ts
 * import { memberVariance } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const a = new Float32Array([1, 10]); // [2, 1] outputs of member a
 * const b = new Float32Array([3, 10]);
 * assert.deepEqual(Array.from(memberVariance([a, b], 1)), [1, 0]);
 * ```
 *
 * @param members M member outputs, each `[n, outDim]`.
 * @param outDim Outputs per row.
 * @param weights One weight per member (default equal).
 * @returns `[n, outDim]` variances.
 * @throws {ConfigError} naming every bad member or weight.
 */
export function memberVariance(
  members: ReadonlyArray<Probabilities>,
  outDim: number,
  weights?: ReadonlyArray<number>,
): Float64Array {
  const { weights: w } = membersOf(
    "Cannot compute member variance",
    members,
    outDim,
    weights,
    1,
    false,
  );
  const mu = mean(members, w);
  const out = new Float64Array(mu.length);
  members.forEach((p, i) => {
    for (let k = 0; k < out.length; k++) out[k] += w[i] * (p[k] - mu[k]) ** 2;
  });
  return out;
}
