/**
 * Choosing an ensemble's members on validation data: the last m, the best prefix (torchensemble's
 * choice of how many snapshots to keep), or Caruana et al.'s greedy forward selection with
 * replacement ("Ensemble Selection from Libraries of Models", ICML 2004), which also weights them.
 *
 * Select on VALIDATION data, never on the test data the ensemble is then scored on: a choice made
 * on the test set fits its noise, so the reported test score overstates what new data will show
 * (titu1994's Keras code optimises member weights on the test set; do not copy that).
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { check, orThrow, validation } from "../validation.ts";
import type { Labels, Probabilities } from "../metrics.ts";

/** How {@linkcode selectMembers} chooses. */
export type SelectionMethod = "lastM" | "bestPrefix" | "greedy";

/** Options of {@linkcode selectMembers}. */
export interface SelectMembersOptions {
  /** `"lastM"`: the last `m`; `"bestPrefix"`: the first k with the lowest log-loss; `"greedy"`. */
  readonly method: SelectionMethod;
  /** Number of members for `"lastM"` (required there). */
  readonly m?: number;
  /** Rounds of greedy selection, one member added per round (default 2 x the number of members). */
  readonly rounds?: number;
}

/** A choice of members and weights, in the form `ensemble()` takes. */
export interface MemberSelection {
  /** 0-based positions of the chosen members, increasing (`ensemble`'s `members` option). */
  readonly members: ReadonlyArray<number>;
  /** One weight per chosen member, summing to 1 (`ensemble`'s `weights` option). */
  readonly weights: ReadonlyArray<number>;
  /** The validation log-loss of the chosen, weighted ensemble (soft vote). */
  readonly logLoss: number;
}

const EPS = 1e-15;

/** The issues of M members' `[n, classes]` validation probabilities and their `[n]` labels. */
export function memberProbIssues(
  memberProbs: ReadonlyArray<Probabilities>,
  labels: Labels,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const count = Array.isArray(memberProbs) ? memberProbs.length : 0;
  if (count === 0) {
    issues.push({ field: "memberProbs", message: "must be a non-empty list", got: memberProbs });
  }
  const n = Array.isArray(labels) || labels instanceof Int32Array ? labels.length : 0;
  if (n === 0) issues.push({ field: "labels", message: "must be a non-empty list", got: labels });
  if (count === 0 || n === 0) return issues;
  const classes = memberProbs[0]?.length / n;
  memberProbs.forEach((p, i) => {
    const ok = (p instanceof Float32Array || p instanceof Float64Array) &&
      p.length === memberProbs[0].length && Number.isInteger(classes) && classes >= 2 &&
      p.every((v) => Number.isFinite(v) && v >= 0);
    if (!ok) {
      issues.push({
        field: `memberProbs[${i}]`,
        message: `must be finite non-negative [n, classes] probabilities for the ${n} labels`,
      });
    }
  });
  for (let i = 0; i < n && issues.length === 0; i++) {
    if (!Number.isInteger(labels[i]) || labels[i] < 0 || labels[i] >= classes) {
      issues.push({ field: `labels[${i}]`, message: `must be a class in [0, ${classes})` });
    }
  }
  return issues;
}

function selectionIssues(
  memberProbs: ReadonlyArray<Probabilities>,
  labels: Labels,
  options: SelectMembersOptions,
): ConfigIssue[] {
  const issues = check.knownKeys(options, ["method", "m", "rounds"]);
  issues.push(...check.oneOf("method", options?.method, ["lastM", "bestPrefix", "greedy"]));
  const count = Array.isArray(memberProbs) ? memberProbs.length : 0;
  if (options?.method === "lastM" || options?.m !== undefined) {
    issues.push(...check.positiveInt("m", options?.m));
    if (count > 0 && typeof options?.m === "number" && options.m > count) {
      issues.push({ field: "m", message: `must be at most ${count}`, got: options.m });
    }
  }
  if (options?.rounds !== undefined) issues.push(...check.positiveInt("rounds", options.rounds));
  return [...issues, ...memberProbIssues(memberProbs, labels)];
}

/** Mean of -log(clip(sum[i] / total)) over rows: the log-loss of the true-class probabilities. */
function lossOf(sum: Float64Array, total: number): number {
  let loss = 0;
  for (let i = 0; i < sum.length; i++) {
    const p = sum[i] / total;
    loss -= Math.log(p < EPS ? EPS : p > 1 - EPS ? 1 - EPS : p);
  }
  return loss / sum.length;
}

function fromCounts(counts: Float64Array, logLoss: number): MemberSelection {
  const total = counts.reduce((a, b) => a + b, 0);
  const members = [...counts.keys()].filter((i) => counts[i] > 0);
  return { members, weights: members.map((i) => counts[i] / total), logLoss };
}

/** Caruana et al. 2004: add the member that lowers the loss most, with replacement; keep the best round. */
function greedy(trueProbs: ReadonlyArray<Float64Array>, rounds: number): MemberSelection {
  const n = trueProbs[0].length;
  const sum = new Float64Array(n);
  const trial = new Float64Array(n);
  const counts = new Float64Array(trueProbs.length);
  let best = { counts: counts.slice(), loss: Infinity };
  for (let round = 1; round <= rounds; round++) {
    let pick = 0;
    let pickLoss = Infinity;
    trueProbs.forEach((q, m) => {
      for (let i = 0; i < n; i++) trial[i] = sum[i] + q[i];
      const loss = lossOf(trial, round);
      if (loss < pickLoss) [pick, pickLoss] = [m, loss];
    });
    for (let i = 0; i < n; i++) sum[i] += trueProbs[pick][i];
    counts[pick]++;
    if (pickLoss < best.loss) best = { counts: counts.slice(), loss: pickLoss };
  }
  return fromCounts(best.counts, best.loss);
}

/**
 * Chooses ensemble members (and, for `"greedy"`, weights) from their validation probabilities, by
 * the log-loss of the soft vote (the mean of `-log p[i, y_i]`, clipped at 1e-15). `"lastM"` keeps the
 * last `m`; `"bestPrefix"` the first k members (in training order) whose ensemble scores best, as
 * torchensemble keeps the best number of snapshots; `"greedy"` runs Caruana et al.'s forward
 * selection with replacement for `rounds` rounds from an empty ensemble and returns the best
 * round's bag, each member weighted by how often it was picked. Ties go to the earlier member.
 *
 * @example Dropping a bad early snapshot
 * ```ts
 * import { ensemble, initParams, mlp, selectMembers } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const bad = new Float32Array([0.1, 0.9, 0.9, 0.1]); // [2, 2], wrong on both rows
 * const good = new Float32Array([0.8, 0.2, 0.3, 0.7]);
 * const better = new Float32Array([0.9, 0.1, 0.2, 0.8]);
 * const pick = selectMembers([bad, good, better], [0, 1], { method: "greedy" });
 * assert.ok(!pick.members.includes(0));
 * // Feed the choice to ensemble() (here: three snapshots of one spec).
 * const spec = mlp({ layers: [2, 3, 2] });
 * const snapshots = [1, 2, 3].map((index) => ({
 *   index, epoch: index, step: index, lr: 0, spec, params: initParams(spec, { seed: index }),
 * }));
 * const model = ensemble(snapshots, { members: [...pick.members], weights: [...pick.weights] });
 * assert.equal(model.members.length, pick.members.length);
 * ```
 *
 * @param memberProbs M members' `[n, classes]` validation probabilities (`Ensemble.memberProba`).
 * @param labels `[n]` validation classes.
 * @param options The method, and `m` or `rounds`.
 * @returns The chosen members, their weights and the validation log-loss.
 * @throws {ConfigError} naming every bad input.
 */
export function selectMembers(
  memberProbs: ReadonlyArray<Probabilities>,
  labels: Labels,
  options: SelectMembersOptions,
): MemberSelection {
  orThrow("Cannot select members", validation(selectionIssues(memberProbs, labels, options), null));
  const count = memberProbs.length;
  const n = labels.length;
  const classes = memberProbs[0].length / n;
  const trueProbs = memberProbs.map((p) => Float64Array.from(labels, (y, i) => p[i * classes + y]));
  const counts = new Float64Array(count);
  if (options.method === "greedy") return greedy(trueProbs, options.rounds ?? 2 * count);
  const sum = new Float64Array(n);
  if (options.method === "lastM") {
    for (let k = count - options.m!; k < count; k++) {
      counts[k] = 1;
      for (let i = 0; i < n; i++) sum[i] += trueProbs[k][i];
    }
    return fromCounts(counts, lossOf(sum, options.m!));
  }
  let best = { k: 1, loss: Infinity };
  for (let k = 1; k <= count; k++) {
    for (let i = 0; i < n; i++) sum[i] += trueProbs[k - 1][i];
    const loss = lossOf(sum, k);
    if (loss < best.loss) best = { k, loss };
  }
  counts.fill(1, 0, best.k);
  return fromCounts(counts, best.loss);
}
