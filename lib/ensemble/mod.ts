/**
 * Ensembles: snapshots plus the rule that combines them, on any backend; the ensemble-size curve;
 * weight averaging (SWA).
 *
 * - {@linkcode ensemble}: members, weights and a vote rule from `COMBINE_RULES`; predicts through a
 *   backend's stacked prediction (the CPU by default).
 * - {@linkcode ensembleSizeCurve}, {@linkcode regressionSizeCurve}: single snapshots against growing
 *   ensembles.
 * - {@linkcode averageWeights}: the snapshots' parameters averaged into one model.
 * - {@linkcode swa}: `averageWeights` with the members' and the average's training loss, and a
 *   note when the average is much worse (snapshots from different basins).
 * - {@linkcode distill}: one student trained on the ensemble's soft targets (1/M the inference cost).
 * - {@linkcode selectMembers}: the last m, the best prefix or greedy selection, on validation data.
 * - {@linkcode fitEnsembleWeights}: member weights minimising validation log-loss.
 * - {@linkcode fitTemperature}: temperature scaling fitted on validation data.
 * - {@linkcode compareMethods}: every method scored the same way in one table.
 * - per-row uncertainty: {@linkcode predictiveEntropy}, {@linkcode expectedEntropy},
 *   {@linkcode mutualInformation} (BALD), {@linkcode disagreement}, {@linkcode memberVariance}.
 *
 * @example
 * ```ts
 * import { averageWeights, ensemble, initParams, mlp } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 4, 3] });
 * const snapshots = [1, 2, 3].map((index) => ({
 *   index, epoch: index, step: index, lr: 0, spec, params: initParams(spec, { seed: index }),
 * }));
 * const x = new Float32Array([0.5, -1]); // [1, 2]
 * const p = await ensemble(snapshots).predictProba(x);
 * const q = await ensemble([averageWeights(snapshots)]).predictProba(x);
 * assert.equal(p.length, q.length);
 * ```
 *
 * @module
 */
export {
  type CpuEnsemble,
  type CpuEnsembleOptions,
  type Ensemble,
  ensemble,
  type EnsembleOptions,
} from "./ensemble.ts";
export {
  ensembleSizeCurve,
  type EnsembleSizeCurveOptions,
  type EnsembleSizePoint,
  regressionSizeCurve,
  type RegressionSizeCurveOptions,
  type RegressionSizePoint,
} from "./size_curve.ts";
export { type AveragedSnapshot, averageWeights } from "./average.ts";
export { BASIN_LOSS_RATIO, swa, type SwaOptions, type SwaResult } from "./swa.ts";
export { distill, type DistillOptions, type DistillResult } from "./distill.ts";
export {
  fitTemperature,
  TEMPERATURE_BOUNDS,
  type TemperatureFit,
  temperRows,
} from "./temperature.ts";
export {
  disagreement,
  expectedEntropy,
  memberVariance,
  mutualInformation,
  predictiveEntropy,
} from "./uncertainty.ts";
export {
  type MemberSelection,
  type SelectionMethod,
  selectMembers,
  type SelectMembersOptions,
} from "./select_members.ts";
export { fitEnsembleWeights, type FittedWeights, type FitWeightsOptions } from "./fit_weights.ts";
export {
  type ComparedMethod,
  compareMethods,
  type CompareMethodsOptions,
  type LabelledRows,
  type MethodComparison,
} from "./compare.ts";
export { COMBINE_RULES, type CombineHead, type CombineRule, type Vote } from "../ops/combine.ts";
export type { Snapshot } from "../snapshot.ts";
