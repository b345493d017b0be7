/**
 * The types a run's check produces: the {@linkcode RunPlan}, the {@linkcode Checkpoint} a stopped
 * run continues from, and the {@linkcode DataInput} that `train` takes and converts at the door.
 *
 * @module
 */
import type { TrainingData } from "../backend/backend.ts";
import type { MlpSpec } from "../model/mod.ts";
import type { RandomStateSnapshot } from "../random.ts";
import type { Schedule } from "../schedules/mod.ts";

/**
 * Rows to train on or to evaluate, as the data helpers return them or as backends take them: `x`
 * [n, inDim] row-major inputs (float32, float64 or plain numbers), `y` [n] integer class labels for
 * a softmax head or [n, outDim] regression targets for a linear head. A `Dataset` fits (its
 * `nFeatures` is ignored).
 */
export interface DataInput {
  /** [n, inDim] row-major inputs. */
  readonly x: Float32Array | Float64Array | ReadonlyArray<number>;
  /** [n] class labels, or [n, outDim] row-major regression targets. */
  readonly y: Int32Array | Float32Array | Float64Array | ReadonlyArray<number>;
  /** Number of rows. */
  readonly n: number;
  /** `"soft"`: `y` holds [n, classes] probabilities (distillation; as `TrainingData.targets`). */
  readonly targets?: "labels" | "soft";
  /** Temperature of soft targets (default 1; as `TrainingData.temperature`). */
  readonly temperature?: number;
}

/** What a stopped run needs to continue exactly where it was (taken at an epoch boundary). */
export interface Checkpoint {
  /** Epochs completed. */
  readonly epoch: number;
  /** Steps completed (`epoch * stepsPerEpoch`). */
  readonly step: number;
  /** [replicas, paramCount] parameters after `step` steps. */
  readonly params: Float32Array;
  /** [replicas, stateSize] optimizer state after `step` steps (see `optimizerStateSize`). */
  readonly optimizerState: Float32Array;
  /** State of the batch-order generator at the checkpoint. */
  readonly random: RandomStateSnapshot;
  /** Number of snapshots taken before the checkpoint (the next one gets this + 1 as its index). */
  readonly snapshotsTaken: number;
}

/** The plan of a run, derived from the config before anything runs. */
export interface RunPlan {
  /** Epochs of the run (a resumed run counts its earlier part). */
  readonly epochs: number;
  /** Steps per epoch: `ceil(n / batchSize)`. */
  readonly stepsPerEpoch: number;
  /** Total steps: `epochs * stepsPerEpoch`. */
  readonly totalSteps: number;
  /** The schedule as a function of the step. */
  readonly schedule: Schedule;
  /** Steps after which a snapshot is taken, ascending (from the snapshot policy). */
  readonly snapshotSteps: ReadonlyArray<number>;
  /** Steps before which the optimizer state is reset (empty unless `resetOptimizerAtRestart`). */
  readonly restartSteps: ReadonlyArray<number>;
  /** What the user should know before training, in words (a partial cycle, no snapshots). */
  readonly notes: ReadonlyArray<string>;
  /** Training samples per epoch. */
  readonly samples: number;
  /** Samples per step. */
  readonly batchSize: number;
  /** Whether every epoch shuffles the samples. */
  readonly shuffle: boolean;
  /** The network. */
  readonly spec: MlpSpec;
  /** Parameters per replica. */
  readonly paramCount: number;
  /** Models trained side by side. */
  readonly replicas: number;
  /** Snapshot indices kept in memory (`Infinity`: all). */
  readonly keepLast: number;
  /** Epochs between reports (`Infinity`: only at snapshots, checkpoints and the end). */
  readonly reportEvery: number;
  /** Epochs between checkpoints (`Infinity`: none). */
  readonly checkpointEvery: number;
  /** Whether validation data is evaluated at the reports that end an epoch. */
  readonly validates: boolean;
  /** The most steps one segment enqueues (bounds the memory of a step plan). */
  readonly maxSegmentSteps: number;
  /** The run's seed. */
  readonly seed: number;
}

/** A checked run: its plan, and its data converted once to the typed arrays backends take. */
export interface CheckedRun {
  /** The plan (see `planRun`). */
  readonly plan: RunPlan;
  /** The training data as backends take it. */
  readonly data: TrainingData;
  /** The validation data as backends take it, when given. */
  readonly validation?: TrainingData;
}
