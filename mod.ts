/**
 * snapfold: train one network with a cyclic learning rate and keep a snapshot at the end of every
 * cycle; the snapshots form an ensemble for free ("Snapshot Ensembles: Train 1, get M for free",
 * Huang et al., ICLR 2017).
 *
 * @example The tutorial in a few lines: ten cosine cycles, ten snapshots, their ensemble
 * ```ts
 * import {
 *   collect, cosineAnnealing, createBackend, ensemble, makeBlobs, mlp, sgd, splitAt, train,
 * } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const [trainSet, testSet] = splitAt(makeBlobs({ nSamples: 300, centers: 3, randomState: 2 }), 100);
 * const model = mlp({ layers: [2, 25, 3] });
 * const backend = await createBackend("auto", { model, batchSize: 32 });
 * const { snapshots } = await collect(train({
 *   backend, model, optimizer: sgd({ momentum: 0.9 }), epochs: 100, batchSize: 32, lrPer: "epoch",
 *   schedule: cosineAnnealing({ lrMax: 0.01, totalSteps: 100, cycles: 10 }), data: trainSet,
 * }));
 * assert.equal(snapshots.length, 10);
 * const labels = await ensemble(snapshots, { backend }).predict(Float32Array.from(testSet.x));
 * assert.equal(labels.length, 200);
 * backend.dispose();
 * ```
 *
 * The public API, by concept (each group below re-exports by name; internals such as the kernels,
 * the fold, the update rules and the validators stay in their files):
 *
 * - **Data**: `makeBlobs` (scikit-learn's `make_blobs`, bit for bit), `splitAt`, `shuffleSplit`,
 *   `oneHot`, `toFloat32`, `randomState` (NumPy's legacy `RandomState`).
 * - **Schedules**: `cosineAnnealing`, `warmRestarts`, `cyclical`, `oneCycle`, `fge`, baselines
 *   (`constant`, `multiStep`, `exponentialDecay`, `cosineDecay`, `swaLr`, `sequence`), data-last
 *   wrappers `warmup` and `perEpoch` for fp-ts's `pipe`, and `scheduleFromSpec`.
 * - **Model**: `sequential` with `dense`, `relu`, `tanh`, `sigmoid`, `linear`, `dropout`; `mlp`
 *   as sugar; `paramLayout` (THE parameter layout), `initParams`, `forward`, `summary`; the
 *   `shift` augmentation.
 * - **Optimizers**: `sgd`, `adam`, `adamw`.
 * - **Backends**: `createBackend("auto" | "cpu" | "wasm" | "webgpu")` (the WebAssembly backend's
 *   options, such as `{ wasm: { threads: 2 } }`, through it), `createCpuBackend`,
 *   `createWebGpuBackend`.
 * - **Training**: `train`, `collect`, `fold`, `planRun`, and the snapshot policies `atCycleEnds`,
 *   `everyEpochs`, `atEpochs`, `none`.
 * - **Ensembles**: `ensemble` (on any backend), `ensembleSizeCurve`, `averageWeights`, `swa`,
 *   `selectMembers`, `fitEnsembleWeights`, `fitTemperature`, `distill`, `compareMethods`, and the
 *   uncertainty measures.
 * - **Metrics**: `accuracy`, `logLoss`, `brierScore`, `expectedCalibrationError`,
 *   `pairwiseDisagreement`, `meanSquaredErrorMetric`.
 * - **Files**: `encodeEnsemble`/`decodeEnsemble` and `encodeCheckpoint`/`decodeCheckpoint` (sealed
 *   safetensors); saving and loading is in `@snapfold/snapfold/io`, charts in
 *   `@snapfold/snapfold/plots`, ONNX/PyTorch/TF.js exports in `@snapfold/snapfold/export`.
 * - **Errors**: `SnapfoldError`, `ConfigError` (every bad field at once), `TrainingDivergedError`,
 *   `TrainingInterruptedError` (both keep the snapshots taken), `orThrow`.
 *
 * @module
 */
// Data: seeded datasets and splits (scikit-learn compatible)
export { type BlobsConfig, type MakeBlobsOptions } from "./lib/blobs_options.ts";
export {
  type Blobs,
  type Dataset,
  makeBlobs,
  oneHot,
  shuffleSplit,
  type ShuffleSplitOptions,
  splitAt,
  toFloat32,
  type TrainTestSplit,
} from "./lib/datasets.ts";
export {
  type RandomState,
  randomState,
  type RandomStateSnapshot,
  restoreRandomState,
  type Shufflable,
} from "./lib/random.ts";

// Schedules: the learning rate as a pure function of the step
export { constant, type ConstantOptions } from "./lib/schedules/constant.ts";
export { cosineAnnealing, type CosineAnnealingOptions } from "./lib/schedules/cosine_annealing.ts";
export { cosineDecay, type CosineDecayOptions } from "./lib/schedules/cosine_decay.ts";
export { cyclical, type CyclicalMode, type CyclicalOptions } from "./lib/schedules/cyclical.ts";
export {
  exponentialDecay,
  type ExponentialDecayOptions,
} from "./lib/schedules/exponential_decay.ts";
export { fge, type FgeOptions } from "./lib/schedules/fge.ts";
export { scheduleFromSpec } from "./lib/schedules/mod.ts";
export { multiStep, type MultiStepOptions } from "./lib/schedules/multi_step.ts";
export { type Anneal, oneCycle, type OneCycleOptions } from "./lib/schedules/one_cycle.ts";
export { perEpoch } from "./lib/schedules/per_epoch.ts";
export {
  completeCycles,
  MAX_CYCLE_ENDS,
  partialCycleSteps,
  type Schedule,
  type ScheduleName,
  type ScheduleSpec,
} from "./lib/schedules/schedule.ts";
export { sequence, type SequencePhase } from "./lib/schedules/sequence.ts";
export { type SwaAnneal, swaLr, type SwaLrOptions } from "./lib/schedules/swa_lr.ts";
export { warmRestarts, type WarmRestartsOptions } from "./lib/schedules/warm_restarts.ts";
export { warmup, type WarmupOptions } from "./lib/schedules/warmup.ts";

// Model: a list of layers and THE parameter layout
export { forward } from "./lib/model/forward.ts";
export { type InitOptions, initParams } from "./lib/model/init.ts";
export {
  type ActivationLayer,
  dense,
  type DenseLayer,
  dropout,
  type DropoutLayer,
  type Layer,
  type LayerKind,
  linear,
  relu,
  sigmoid,
  tanh,
} from "./lib/model/layers.ts";
export {
  type DenseLayout,
  denseWidths,
  inputDim,
  type LayerView,
  layerViews,
  outputDim,
  paramCount,
  type ParamLayout,
  paramLayout,
} from "./lib/model/layout.ts";
export {
  type Head,
  type Init,
  isModelSpec,
  mlp,
  type MlpOptions,
  type MlpSpec,
  type ModelSpec,
  sameSpec,
  sequential,
  type SequentialOptions,
  validateMlp,
  validateSequential,
} from "./lib/model/spec.ts";
export { type LayerSummary, type ModelSummary, summary } from "./lib/model/summary.ts";
export { type Activation, type ActivationDef, ACTIVATIONS } from "./lib/ops/activation.ts";
export { shift, type ShiftAugment } from "./lib/ops/shift.ts";

export { type Inputs } from "./lib/training_data.ts";

// Optimizers
export { adam, type AdamOptimizer, type AdamOptions, adamw } from "./lib/optimizers/adam.ts";
export { type Optimizer, optimizerStateSize, validateOptimizer } from "./lib/optimizers/mod.ts";
export { sgd, type SgdOptimizer, type SgdOptions } from "./lib/optimizers/sgd.ts";

// Backends
export {
  type Backend,
  type BackendChoice,
  type PredictOptions,
  type SessionOptions,
  type StepPlan,
  type StepStats,
  type TrainingData,
  type TrainingSession,
} from "./lib/backend/backend.ts";
export { createCpuBackend } from "./lib/backend/cpu/backend.ts";
export {
  type AdapterDescription,
  type AutoOptions,
  type AutoPlan,
  type BackendOptions,
  createBackend,
  describeAdapter,
  planAuto,
} from "./lib/backend/select.ts";
// Type only: the WebAssembly backend's code loads on first use, through createBackend("wasm").
export type { WasmBackendOptions } from "./lib/backend/wasm/backend.ts";
export {
  createWebGpuBackend,
  type WebGpuBackend,
  type WebGpuBackendOptions,
} from "./lib/backend/webgpu/backend.ts";

// Training: one run, its snapshot policy and its events
export { type Snapshot } from "./lib/snapshot.ts";
export { planRun, type TrainConfig } from "./lib/train/config.ts";
export {
  type CheckpointEvent,
  type DoneEvent,
  type EpochEvent,
  type SnapshotEvent,
  type TrainEvent,
  type TrainResult,
} from "./lib/train/events.ts";
export {
  atCycleEnds,
  type AtCycleEndsPolicy,
  atEpochs,
  type AtEpochsPolicy,
  everyEpochs,
  type EveryEpochsPolicy,
  none,
  type NoSnapshotsPolicy,
  type SnapshotPolicy,
} from "./lib/train/policy.ts";
export { type Checkpoint, type DataInput, type RunPlan } from "./lib/train/run_plan.ts";
export { collect, fold, train } from "./lib/train/train.ts";

// Ensembles: everything one run gives
export { type AveragedSnapshot, averageWeights } from "./lib/ensemble/average.ts";
export {
  type ComparedMethod,
  compareMethods,
  type CompareMethodsOptions,
  type LabelledRows,
  type MethodComparison,
} from "./lib/ensemble/compare.ts";
export { distill, type DistillOptions, type DistillResult } from "./lib/ensemble/distill.ts";
export {
  type CpuEnsemble,
  type CpuEnsembleOptions,
  type Ensemble,
  ensemble,
  type EnsembleOptions,
  type Rows,
} from "./lib/ensemble/ensemble.ts";
export {
  fitEnsembleWeights,
  type FittedWeights,
  type FitWeightsOptions,
} from "./lib/ensemble/fit_weights.ts";
export {
  type MemberSelection,
  type SelectionMethod,
  selectMembers,
  type SelectMembersOptions,
} from "./lib/ensemble/select_members.ts";
export {
  ensembleSizeCurve,
  type EnsembleSizeCurveOptions,
  type EnsembleSizePoint,
  regressionSizeCurve,
  type RegressionSizeCurveOptions,
  type RegressionSizePoint,
} from "./lib/ensemble/size_curve.ts";
export { BASIN_LOSS_RATIO, swa, type SwaOptions, type SwaResult } from "./lib/ensemble/swa.ts";
export {
  fitTemperature,
  TEMPERATURE_BOUNDS,
  type TemperatureFit,
} from "./lib/ensemble/temperature.ts";
export {
  disagreement,
  expectedEntropy,
  memberVariance,
  mutualInformation,
  predictiveEntropy,
} from "./lib/ensemble/uncertainty.ts";

export { type Vote } from "./lib/ops/combine.ts";

// Metrics
export {
  accuracy,
  brierScore,
  type CalibrationOptions,
  expectedCalibrationError,
  type Labels,
  logLoss,
  type LogLossOptions,
  meanSquaredErrorMetric,
  pairwiseDisagreement,
  type Probabilities,
} from "./lib/metrics.ts";

// Files (encoding; reading and writing is in `@snapfold/snapfold/io`)
export { decodeCheckpoint, encodeCheckpoint } from "./lib/checkpoint_file.ts";
export {
  type DecodedEnsemble,
  decodeEnsemble,
  encodeEnsemble,
  type EnsembleData,
  UNSEALED_WARNING,
} from "./lib/persistence.ts";

// Errors
export {
  ConfigError,
  type ConfigIssue,
  SnapfoldError,
  TrainingDivergedError,
  TrainingInterruptedError,
} from "./lib/errors.ts";
export { type Invalid, orThrow, type Valid, type Validation } from "./lib/validation.ts";
export { VERSION } from "./lib/version.ts";
