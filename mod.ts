/**
 * snapfold: train one network with a cyclic learning rate and keep a snapshot at the end of every
 * cycle; the snapshots form an ensemble for free ("Snapshot Ensembles: Train 1, get M for free",
 * Huang et al., ICLR 2017).
 *
 * This module only documents and re-exports; see the README for a tour.
 *
 * @module
 */
export * from "./lib/errors.ts";
export * from "./lib/metrics.ts";
export * from "./lib/version.ts";
export * from "./lib/random.ts";
export * from "./lib/persistence.ts";
export * from "./lib/schedules/mod.ts";
export * from "./lib/model/mod.ts";
export * from "./lib/ops/activation.ts";
export {
  activate,
  activationDerivative,
  countCorrect,
  type CountCorrectArgs,
  type FloatArray,
  meanSquaredError,
  type MeanSquaredErrorArgs,
  softmaxCrossEntropy,
  type SoftmaxCrossEntropyArgs,
  softmaxRows,
} from "./lib/ops/loss.ts";
export { shift, type ShiftAugment, validateShift } from "./lib/ops/shift.ts";
export * from "./lib/optimizers/mod.ts";
export * from "./lib/batches.ts";
export * from "./lib/training_data.ts";
export * from "./lib/backend/backend.ts";
export * from "./lib/backend/cpu/backend.ts";
export * from "./lib/train/mod.ts";
export * from "./lib/datasets.ts";
export * from "./lib/ensemble/mod.ts";
export * from "./lib/backend/webgpu/backend.ts";
export * from "./lib/backend/select.ts";
export * from "./lib/snapshot.ts";
