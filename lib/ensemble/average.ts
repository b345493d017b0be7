/**
 * Weight averaging (SWA, Izmailov et al. 2018): the snapshots' parameters averaged into ONE model,
 * as opposed to an ensemble, which averages the snapshots' predictions. One model costs one forward
 * pass; it helps when the snapshots lie in one basin (a constant or cyclic lr near the end of
 * training, snapshots every epoch), and hurts when they do not.
 *
 * @module
 */
import { orThrow, validation } from "../validation.ts";
import type { Snapshot } from "../snapshot.ts";
import { canonicalOrder, snapshotIssues, weightIssues } from "./_validate.ts";

/** The result of {@linkcode averageWeights}: a snapshot-shaped model and what went into it. */
export interface AveragedSnapshot extends Snapshot {
  /** The `index` of every averaged snapshot, in the order given. */
  readonly averaged: ReadonlyArray<number>;
  /** [M] the weights they were averaged with, summing to 1, in the order given. */
  readonly weights: Float64Array;
}

/**
 * Averages the parameters of snapshots of one network: `sum_i w_i * params_i` with the weights
 * normalised to sum 1 (default equal). With equal weights this is the running mean that PyTorch's
 * `torch.optim.swa_utils.AveragedModel` keeps (`avg += (p - avg) / (k + 1)` after each of k
 * `update_parameters` calls), up to float32 rounding: the sum here is taken in float64, in a
 * canonical member order, so it does not depend on the order of the snapshots.
 *
 * The result is shaped like a `Snapshot` (so `ensemble([avg])`, `forward` and the safetensors file
 * take it): its `index`, `epoch`, `step` and `lr` are those of the latest averaged snapshot (the
 * largest `step`), after which the average is complete.
 *
 * @example The average of two snapshots
 * ```ts
 * import { averageWeights, initParams, mlp } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 4, 3] });
 * const snapshots = [1, 2].map((index) => ({
 *   index, epoch: index, step: 10 * index, lr: 0.01, spec, params: initParams(spec, { seed: index }),
 * }));
 * const swa = averageWeights(snapshots);
 * const [a, b] = snapshots.map((s) => s.params);
 * assert.ok(Math.abs(swa.params[0] - (a[0] + b[0]) / 2) < 1e-7);
 * assert.equal(swa.step, 20);
 * const weighted = averageWeights(snapshots, [3, 1]);
 * assert.ok(Math.abs(weighted.params[0] - (0.75 * a[0] + 0.25 * b[0])) < 1e-7);
 * ```
 *
 * @param snapshots The snapshots, all of one network.
 * @param weights One non-negative weight per snapshot, not all zero (default equal).
 * @returns One snapshot-shaped model holding the averaged parameters.
 * @throws {ConfigError} naming every bad snapshot or weight.
 */
export function averageWeights(
  snapshots: ReadonlyArray<Snapshot>,
  weights?: ReadonlyArray<number>,
): AveragedSnapshot {
  const { issues, spec } = snapshotIssues(snapshots);
  const count = Array.isArray(snapshots) ? snapshots.length : 0;
  const w = weightIssues(weights, Math.max(count, 1));
  if (spec !== null) issues.push(...w.issues);
  orThrow("Cannot average weights", validation(issues, null));
  const P = snapshots[0].params.length;
  const sum = new Float64Array(P);
  for (const i of canonicalOrder(snapshots, w.weights)) {
    const weight = w.weights[i];
    const params = snapshots[i].params;
    for (let k = 0; k < P; k++) sum[k] += weight * params[k];
  }
  const latest = snapshots.reduce((a, s) => (s.step > a.step ? s : a));
  return {
    index: latest.index,
    epoch: latest.epoch,
    step: latest.step,
    lr: latest.lr,
    spec: spec!,
    params: Float32Array.from(sum),
    averaged: snapshots.map((s) => s.index),
    weights: w.weights,
    ...(latest.replica === undefined ? {} : { replica: latest.replica }),
  };
}
