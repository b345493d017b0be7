/**
 * Stochastic weight averaging with a check (Izmailov et al. 2018, "Averaging Weights Leads to Wider
 * Optima and Better Generalization"): {@linkcode averageWeights} of the snapshots, and their
 * training loss beside the averaged model's, with a note when the average is much worse than its
 * members, the sign that the snapshots lie in different basins (an average of two minima separated
 * by a ridge sits on the ridge).
 *
 * What "much" means was measured on the `mnist` package's digits (examples/swa.ts, numbers in the
 * README): averaging snapshots of one basin (the SWA recipe: a decay, then a constant lr,
 * snapshots every epoch) gives a training loss at most a little above the mean member's, while
 * averaging independently initialised networks gives many times the worst member's. {@linkcode BASIN_LOSS_RATIO} sits between the two.
 *
 * @module
 */
import { predictStackedCpu } from "../backend/cpu/backend.ts";
import type { Backend, TrainingData } from "../backend/backend.ts";
import { orThrow, validation } from "../validation.ts";
import { logLoss, meanSquaredErrorMetric } from "../metrics.ts";
import { outputDim, paramCount } from "../model/mod.ts";
import type { Snapshot } from "../snapshot.ts";
import { validateTrainingData } from "../training_data.ts";
import { type AveragedSnapshot, averageWeights } from "./average.ts";

/**
 * The note's threshold: {@linkcode swa} notes a basin mismatch when the averaged model's training
 * loss exceeds this many times the WORST member's. Measured on the digits (examples/swa.ts, MLP
 * 784-128-10, 20 epochs, M = 5 and M = 2): the SWA recipe's average came out at 0.91 and 0.97
 * times its worst member, a snapshot run's cycle ends (restart lr 0.2) at 0.19 and 0.46 (one
 * connected basin there), independently initialised networks at 9.2 and 7.6 (different basins).
 */
export const BASIN_LOSS_RATIO = 1.5;

/** Options of {@linkcode swa}. */
export interface SwaOptions {
  /** The training data the loss is measured on: labels (softmax head) or targets (linear head). */
  readonly data: TrainingData;
  /** One non-negative weight per snapshot, not all zero (default equal; as `averageWeights`). */
  readonly weights?: ReadonlyArray<number>;
  /** Where the members and the average are predicted (default: the CPU). Never disposed here. */
  readonly backend?: Backend;
}

/** The result of {@linkcode swa}. */
export interface SwaResult {
  /** The averaged model (see {@linkcode averageWeights}). */
  readonly snapshot: AveragedSnapshot;
  /** [M] each snapshot's training loss (log-loss, or MSE for a linear head), in the order given. */
  readonly memberLoss: Float64Array;
  /** The averaged model's training loss on the same data. */
  readonly averagedLoss: number;
  /** What to know about the average, in words; empty when nothing is wrong. */
  readonly notes: ReadonlyArray<string>;
}

/**
 * Averages the snapshots' weights (SWA) and measures the result: the training loss of every
 * snapshot and of the average on `data`, in one stacked prediction. When the average's loss
 * exceeds {@linkcode BASIN_LOSS_RATIO} times the worst member's, `notes` says so: the snapshots
 * likely lie in different basins, and an ensemble (which averages predictions) or snapshots from
 * one low-lr phase should be used instead. Nothing is thrown for it.
 *
 * @example The SWA recipe: a decay, then a constant lr, a snapshot every epoch from the SWA start
 * ```ts
 * import {
 *   collect, cosineDecay, createCpuBackend, everyEpochs, makeBlobs, mlp, sequence, sgd, swa,
 *   swaLr, toFloat32, train,
 * } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const blobs = makeBlobs({ nSamples: 200, centers: 3, clusterStd: 2, randomState: 2 });
 * const data = { x: toFloat32(blobs.x), y: blobs.y, n: blobs.n };
 * const stepsPerEpoch = Math.ceil(200 / 32); // 7
 * const swaStart = 20; // epochs of decay before averaging
 * const backend = createCpuBackend();
 * const run = await collect(train({
 *   backend, model: mlp({ layers: [2, 16, 3] }), optimizer: sgd({ momentum: 0.9 }), batchSize: 32,
 *   data, epochs: 30,
 *   schedule: sequence([
 *     { schedule: cosineDecay({ lrMax: 0.1, totalSteps: swaStart * stepsPerEpoch, lrMin: 0.02 }),
 *       steps: swaStart * stepsPerEpoch },
 *     { schedule: swaLr({ swaLr: 0.02, annealSteps: 0, startLr: 0.02 }) },
 *   ]),
 *   snapshots: everyEpochs(1, { from: swaStart }),
 * }));
 * assert.equal(run.snapshots.length, 10);
 * const { snapshot, memberLoss, averagedLoss, notes } = await swa(run.snapshots, { data, backend });
 * assert.equal(snapshot.averaged.length, 10);
 * assert.ok(averagedLoss < 1.5 * Math.max(...memberLoss)); // one basin: no note
 * assert.deepEqual(notes, []);
 * backend.dispose();
 * ```
 *
 * @param snapshots The snapshots, all of one network.
 * @param options The training data, the weights and the backend.
 * @returns The averaged model, the losses and the notes.
 * @throws {ConfigError} naming every bad snapshot, weight or data field.
 */
export async function swa(
  snapshots: ReadonlyArray<Snapshot>,
  options: SwaOptions,
): Promise<SwaResult> {
  const snapshot = averageWeights(snapshots, options?.weights);
  const { spec } = snapshot;
  const what = "Cannot measure the averaged model";
  const soft = options?.data?.targets === "soft";
  orThrow(what, validation(soft ? [{ field: "data.targets", message: "must be labels" }] : [], 0));
  const data = orThrow(what, validateTrainingData(spec, options?.data));
  const M = snapshots.length;
  const P = paramCount(spec);
  const stacked = new Float32Array((M + 1) * P); // [M + 1, P]: the members, then the average
  snapshots.forEach((s, m) => stacked.set(s.params, m * P));
  stacked.set(snapshot.params, M * P);
  const request = {
    spec,
    params: stacked,
    members: M + 1,
    x: data.x,
    n: data.n,
    combine: "none" as const,
  };
  const out = options.backend === undefined
    ? predictStackedCpu(request)
    : await options.backend.predict(request);
  const width = data.n * outputDim(spec);
  const lossOf = (m: number): number => {
    const p = out.subarray(m * width, (m + 1) * width);
    return spec.head === "softmax"
      ? logLoss(p, data.y as Int32Array)
      : meanSquaredErrorMetric(p, data.y as Float32Array);
  };
  const memberLoss = Float64Array.from({ length: M }, (_, m) => lossOf(m));
  const averagedLoss = lossOf(M);
  return { snapshot, memberLoss, averagedLoss, notes: basinNotes(memberLoss, averagedLoss) };
}

/** The note of an average much worse than its members (empty otherwise). */
function basinNotes(memberLoss: Float64Array, averagedLoss: number): string[] {
  let worst = -Infinity;
  for (const loss of memberLoss) worst = Math.max(worst, loss);
  if (!(averagedLoss > BASIN_LOSS_RATIO * worst)) return [];
  return [
    `The averaged model's training loss ${averagedLoss.toPrecision(4)} is ` +
    `${(averagedLoss / worst).toFixed(1)} times its worst member's (${worst.toPrecision(4)}; ` +
    `more than ${BASIN_LOSS_RATIO} times): the snapshots likely lie in different basins, so ` +
    `their average sits between them. Average snapshots of one low-lr phase (a decay, then ` +
    `swaLr, snapshots everyEpochs(1) from the SWA start), or ensemble them instead (ensemble() ` +
    `averages predictions, not weights).`,
  ];
}
