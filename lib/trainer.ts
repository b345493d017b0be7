/**
 * The trainer: one run of mini-batch training under a cyclic schedule, as an `AsyncIterable` of
 * events, with a snapshot at the last step of every cycle that the schedule defines.
 *
 * Internally training is a fold. The run is cut into segments that end where something must be read
 * back (a snapshot, a report, a checkpoint, the end); each segment's steps are enqueued on the backend
 * at once ({@linkcode TrainingSession.run}), and {@linkcode foldSegment} turns the run state and the
 * segment's read-back statistics into the next state and the segment's events. On the GPU nothing is
 * read back per step: epoch events between two readbacks arrive in a burst.
 *
 * @module
 */
import * as E from "fp-ts/Either";
import type { Backend, TrainingData, TrainingSession } from "./backend/backend.ts";
import { type Batches, epochBatches } from "./batches.ts";
import {
  check,
  ConfigError,
  type ConfigIssue,
  orThrow,
  SnapfoldError,
  TrainingDivergedError,
  type Validation,
} from "./errors.ts";
import { accuracy, logLoss, meanSquaredErrorMetric } from "./metrics.ts";
import {
  type Init,
  initParams,
  isModelSpec,
  type MlpSpec,
  outputDim,
  paramCount,
} from "./model.ts";
import { type Optimizer, optimizerStateSize } from "./optimizers.ts";
import { randomState, type RandomStateSnapshot, restoreRandomState } from "./random.ts";
import type { RandomState } from "./random.ts";
import { perEpoch, type Schedule, type ScheduleSpec } from "./schedules/mod.ts";
import type { Snapshot } from "./snapshot.ts";
import { validateTrainingData } from "./training_data.ts";

/** Everything one training run needs. */
export interface TrainConfig {
  /** Where the arithmetic runs (see `createBackend`). */
  readonly backend: Backend;
  /** The network (see `mlp`). */
  readonly model: MlpSpec;
  /** The update rule (see `sgd`, `adam`, `adamw`). */
  readonly optimizer: Optimizer;
  /**
   * The learning-rate schedule: a function of the step, or of the epoch when `lrPer` is `"epoch"`.
   * It must be cyclic (have `cycleEnds`): snapshots are taken at the last step of every cycle.
   */
  readonly schedule: Schedule;
  /** `"step"` (default, the paper) or `"epoch"` (the lr is set once per epoch, the tutorial). */
  readonly lrPer?: "step" | "epoch";
  /** Number of passes over the training data. */
  readonly epochs: number;
  /** Samples per step; the last batch of an epoch may be shorter. */
  readonly batchSize: number;
  /** Training data: `x` [n, inDim], labels `y` [n] (or regression targets [n, outDim]). */
  readonly data: TrainingData;
  /** Validation data, evaluated at every report (see `reportEvery`). */
  readonly validation?: TrainingData;
  /** Seed of the initial weights and of the batch order (default 0). */
  readonly seed?: number;
  /** Weight initialisation when `initialParams` is not given (default `"glorot"`). */
  readonly init?: Init;
  /** [replicas, paramCount] starting parameters instead of a seeded initialisation. */
  readonly initialParams?: Float32Array;
  /**
   * Independently initialised models trained side by side on the same batches and schedule (default
   * 1): one pass over each batch on the CPU, one dispatch for all on the GPU. Every replica takes its
   * own snapshots (`replica` tells them apart). With a one-cycle schedule this trains the paper's
   * baseline, a true ensemble of K networks, at K times the cost of one.
   */
  readonly replicas?: number;
  /** Keep only the last k snapshots in memory (default: all). Every snapshot is still emitted. */
  readonly keepLast?: number;
  /**
   * Epochs between reports, where statistics are read back (and validation evaluated). Default: only
   * at snapshots and at the end, so that the 500-epoch tutorial run needs 20 readbacks on WebGPU;
   * with validation data on the CPU, every epoch (reading is free there). Epoch events between
   * reports arrive in a burst; their numbers are the same either way.
   */
  readonly reportEvery?: number;
  /** Emit a `checkpoint` event every this many epochs (default: never). */
  readonly checkpointEvery?: number;
  /** Reset the optimizer state (momentum, Adam moments) at every restart (default false). */
  readonly resetOptimizerAtRestart?: boolean;
  /** Shuffle the training data every epoch (default true). */
  readonly shuffle?: boolean;
  /** Continue a stopped run from a checkpoint of the same configuration. */
  readonly resume?: Checkpoint;
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

/** The end of an epoch, with its training statistics. */
export interface EpochEvent {
  /** The event's tag. */
  readonly type: "epoch";
  /** 0-based epoch. */
  readonly epoch: number;
  /** 0-based last step of the epoch. */
  readonly step: number;
  /** Learning rate of that step. */
  readonly lr: number;
  /** Mean training loss over the epoch's samples (each computed before the step's update). */
  readonly loss: number;
  /** Fraction of the epoch's samples classified correctly (0 for regression). */
  readonly accuracy: number;
  /** With several replicas: each one's loss and accuracy (`loss`, `accuracy` are their means). */
  readonly replicas?: ReadonlyArray<{ readonly loss: number; readonly accuracy: number }>;
  /** Validation loss and accuracy after the epoch, when validation data is given and it is a report. */
  readonly validation?: { readonly loss: number; readonly accuracy: number };
}

/** A snapshot was taken (the event is the snapshot itself, plus its type tag). */
export interface SnapshotEvent extends Snapshot {
  /** The event's tag. */
  readonly type: "snapshot";
}

/** A checkpoint was taken (see `checkpointEvery`). */
export interface CheckpointEvent {
  /** The event's tag. */
  readonly type: "checkpoint";
  /** What the run needs to continue from here. */
  readonly checkpoint: Checkpoint;
}

/** The run finished. */
export interface DoneEvent {
  /** The event's tag. */
  readonly type: "done";
  /** Epochs trained (in total, counting a resumed run's earlier part). */
  readonly epochs: number;
  /** Steps trained in total. */
  readonly steps: number;
  /** The snapshots kept in memory (all of them, or the last `keepLast`). */
  readonly snapshots: ReadonlyArray<Snapshot>;
  /** [replicas, paramCount] final parameters. */
  readonly params: Float32Array;
  /** The schedule as a function of the step, as trained. */
  readonly schedule: ScheduleSpec;
  /** Device-to-host reads this run made. */
  readonly readbacks: number;
  /** Wall time of the run in milliseconds. */
  readonly trainMs: number;
}

/** Everything {@linkcode train} emits. */
export type TrainEvent = EpochEvent | SnapshotEvent | CheckpointEvent | DoneEvent;

/** What {@linkcode collect} returns. */
export interface TrainResult {
  /** The snapshots kept in memory, in the order they were taken. */
  readonly snapshots: ReadonlyArray<Snapshot>;
  /** Every epoch event. */
  readonly history: ReadonlyArray<EpochEvent>;
  /** The last checkpoint emitted, if any. */
  readonly checkpoint?: Checkpoint;
  /** The final event. */
  readonly done: DoneEvent;
}

/** The plan of a run, derived from the config before anything runs. */
export interface RunPlan {
  /** Steps per epoch: `ceil(n / batchSize)`. */
  readonly stepsPerEpoch: number;
  /** Total steps: `epochs * stepsPerEpoch`. */
  readonly totalSteps: number;
  /** The schedule as a function of the step. */
  readonly schedule: Schedule;
  /** Steps after which a snapshot is taken (the last step of every cycle, the last cycle included). */
  readonly snapshotSteps: ReadonlyArray<number>;
}

const CONTEXT = "Cannot train";

const TRAIN_CONFIG_KEYS: ReadonlyArray<keyof TrainConfig> = [
  "backend",
  "model",
  "optimizer",
  "schedule",
  "lrPer",
  "epochs",
  "batchSize",
  "data",
  "validation",
  "seed",
  "init",
  "initialParams",
  "replicas",
  "keepLast",
  "reportEvery",
  "checkpointEvery",
  "resetOptimizerAtRestart",
  "shuffle",
  "resume",
];

/**
 * Checks a config at the door and derives its plan; every problem is reported at once.
 *
 * @example
 * ```ts
 * import { cosineAnnealing, createCpuBackend, mlp, planRun, sgd } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 * import * as E from "fp-ts/Either";
 *
 * const backend = createCpuBackend();
 * const result = planRun({
 *   backend,
 *   model: mlp({ layers: [2, 3, 2] }),
 *   optimizer: sgd({ momentum: 0.9 }),
 *   schedule: cosineAnnealing({ lrMax: 0.1, totalSteps: 10, cycles: 5 }),
 *   lrPer: "epoch",
 *   epochs: 10,
 *   batchSize: 4,
 *   data: { x: new Float32Array(20), y: new Int32Array(10), n: 10 },
 * });
 * assert.ok(E.isRight(result));
 * assert.deepEqual(result.right.snapshotSteps, [5, 11, 17, 23, 29]);
 * ```
 *
 * @param config The run's configuration.
 * @returns The plan, or every issue found.
 */
export function planRun(config: TrainConfig): Validation<RunPlan> {
  const keys = check.knownKeys(config, TRAIN_CONFIG_KEYS, "config");
  if (typeof config !== "object" || config === null) return E.left(keys);
  const issues: ConfigIssue[] = [...keys];
  const c = config as Partial<TrainConfig>;
  if (c.backend === undefined || typeof c.backend.createSession !== "function") {
    issues.push({
      field: "backend",
      message: "must be a Backend (see createBackend)",
      got: c.backend,
    });
  }
  if (!isModelSpec(c.model)) {
    issues.push({ field: "model", message: "must be an MLP spec (see mlp)", got: c.model });
  }
  if (c.optimizer === undefined || typeof c.optimizer.kind !== "string") {
    issues.push({
      field: "optimizer",
      message: "must be an optimizer (see sgd, adam)",
      got: c.optimizer,
    });
  }
  issues.push(...check.positiveInt("epochs", c.epochs));
  issues.push(...check.positiveInt("batchSize", c.batchSize));
  if (c.lrPer !== undefined) issues.push(...check.oneOf("lrPer", c.lrPer, ["step", "epoch"]));
  if (c.seed !== undefined) issues.push(...check.nonNegativeInt("seed", c.seed));
  if (c.init !== undefined) issues.push(...check.oneOf("init", c.init, ["glorot", "he"]));
  for (const flag of ["shuffle", "resetOptimizerAtRestart"] as const) {
    const value = c[flag];
    if (value !== undefined && typeof value !== "boolean") {
      issues.push({ field: flag, message: "must be true or false", got: value });
    }
  }
  if (c.replicas !== undefined) issues.push(...check.positiveInt("replicas", c.replicas));
  if (c.keepLast !== undefined) issues.push(...check.positiveInt("keepLast", c.keepLast));
  if (c.reportEvery !== undefined) issues.push(...check.positiveInt("reportEvery", c.reportEvery));
  if (c.checkpointEvery !== undefined) {
    issues.push(...check.positiveInt("checkpointEvery", c.checkpointEvery));
  }
  const modelOk = isModelSpec(c.model);
  if (modelOk && c.data !== undefined) {
    const data = validateTrainingData(c.model!, c.data);
    if (E.isLeft(data)) issues.push(...data.left.map((i) => ({ ...i, field: `data.${i.field}` })));
  } else if (c.data === undefined) {
    issues.push({ field: "data", message: "is required: { x, y, n }" });
  }
  if (modelOk && c.validation !== undefined) {
    const data = validateTrainingData(c.model!, c.validation);
    if (E.isLeft(data)) {
      issues.push(...data.left.map((i) => ({ ...i, field: `validation.${i.field}` })));
    }
  }
  if (modelOk && c.initialParams !== undefined) {
    const expected = paramCount(c.model!) * (Number.isSafeInteger(c.replicas) ? c.replicas! : 1);
    if (!(c.initialParams instanceof Float32Array) || c.initialParams.length !== expected) {
      issues.push({
        field: "initialParams",
        message:
          `must be a Float32Array of length ${expected} (replicas x paramCount of the model)`,
        got: c.initialParams,
      });
    }
  }
  let plan: RunPlan | undefined;
  if (typeof c.schedule !== "function") {
    issues.push({
      field: "schedule",
      message: "must be a schedule (see cosineAnnealing)",
      got: c.schedule,
    });
  } else if (typeof c.schedule.cycleEnds !== "function") {
    issues.push({
      field: "schedule",
      message:
        `must be cyclic to produce snapshots (cosineAnnealing, warmRestarts, cyclical, oneCycle), ` +
        `not ${c.schedule.spec?.name ?? "a schedule without cycles"}`,
    });
  } else if (issues.length === 0) {
    const n = c.data!.n;
    const stepsPerEpoch = Math.ceil(n / c.batchSize!);
    const totalSteps = c.epochs! * stepsPerEpoch;
    const schedule = c.lrPer === "epoch" ? perEpoch(stepsPerEpoch)(c.schedule) : c.schedule;
    // cycleEnds lists only complete cycles (a trailing partial cycle has no end), and refuses
    // more than MAX_CYCLE_ENDS of them with a ConfigError of its own.
    let snapshotSteps: ReadonlyArray<number> = [];
    try {
      snapshotSteps = schedule.cycleEnds!(totalSteps);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      issues.push(
        ...e.issues.map((i) => ({ ...i, field: "schedule", message: `${i.field} ${i.message}` })),
      );
    }
    if (snapshotSteps.length === 0 && issues.length === 0) {
      const [first] = schedule.cycleEndsIn!(0, Number.MAX_SAFE_INTEGER);
      issues.push({
        field: "schedule",
        message: `cannot produce a snapshot in ${totalSteps} steps (${c.epochs} epochs of ` +
          `${stepsPerEpoch} steps, lr per ${c.lrPer ?? "step"}): ` +
          (first === undefined
            ? "none of its cycles ends"
            : `its first cycle ends after step ${first}`) +
          "; train longer, shorten its cycles, or check lrPer",
      });
    }
    plan = { stepsPerEpoch, totalSteps, schedule, snapshotSteps };
  }
  if (c.resume !== undefined && plan !== undefined) {
    issues.push(...checkResume(c as TrainConfig, plan));
  }
  return issues.length === 0 ? E.right(plan!) : E.left(issues);
}

function checkResume(config: TrainConfig, plan: RunPlan): ConfigIssue[] {
  const r = config.resume!;
  const k = config.replicas ?? 1;
  const p = paramCount(config.model) * k;
  const s = optimizerStateSize(config.optimizer, paramCount(config.model)) * k;
  const issues: ConfigIssue[] = [];
  if (!Number.isSafeInteger(r.epoch) || r.epoch < 0 || r.epoch > config.epochs) {
    issues.push({
      field: "resume.epoch",
      message: `must be in [0, ${config.epochs}]`,
      got: r.epoch,
    });
  } else if (r.step !== r.epoch * plan.stepsPerEpoch) {
    issues.push({
      field: "resume.step",
      message: `must be epoch * stepsPerEpoch = ${r.epoch * plan.stepsPerEpoch} ` +
        `(was the checkpoint taken with another batch size or dataset?)`,
      got: r.step,
    });
  }
  if (!(r.params instanceof Float32Array) || r.params.length !== p) {
    issues.push({
      field: "resume.params",
      message: `must be a Float32Array of length ${p}`,
      got: r.params,
    });
  }
  if (!(r.optimizerState instanceof Float32Array) || r.optimizerState.length !== s) {
    issues.push({
      field: "resume.optimizerState",
      message: `must be a Float32Array of length ${s} for this optimizer`,
      got: r.optimizerState,
    });
  }
  return issues;
}

/** The state of a run between two segments. */
export interface RunState {
  /** Steps completed. */
  readonly step: number;
  /** Snapshots taken so far. */
  readonly snapshotsTaken: number;
  /** [replicas] sum over the current epoch's steps of loss times batch size. */
  readonly epochLossSum: ReadonlyArray<number>;
  /** [replicas] correct predictions so far in the current epoch. */
  readonly epochCorrect: ReadonlyArray<number>;
}

/** What one segment of steps produced, read back from the backend. */
export interface SegmentResult {
  /** First step of the segment. */
  readonly from: number;
  /** [steps, replicas] mean batch loss of each step. */
  readonly loss: Float32Array;
  /** [steps, replicas] correct predictions of each step. */
  readonly correct: Float32Array;
  /** [steps] batch size of each step. */
  readonly batchSizes: Int32Array;
  /** [steps] lr of each step. */
  readonly lrs: Float32Array | Float64Array;
}

/**
 * The fold's step: run state and one segment's statistics in, the next state and the epoch events
 * that ended inside the segment out. Throws {@linkcode TrainingDivergedError} at the first step whose
 * loss is not finite.
 *
 * @example
 * ```ts
 * import { foldSegment } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const { state, epochs } = foldSegment(
 *   { step: 0, snapshotsTaken: 0, epochLossSum: [0], epochCorrect: [0] },
 *   {
 *     from: 0,
 *     loss: new Float32Array([1, 0.5]),
 *     correct: new Float32Array([1, 2]),
 *     batchSizes: new Int32Array([2, 2]),
 *     lrs: new Float32Array([0.1, 0.05]),
 *   },
 *   { stepsPerEpoch: 2, n: 4 },
 * );
 * assert.equal(state.step, 2);
 * assert.deepEqual(epochs.map((e) => [e.epoch, e.loss, e.accuracy]), [[0, 0.75, 0.75]]);
 * ```
 *
 * @param state The state before the segment.
 * @param segment The segment's read-back statistics.
 * @param shape Steps per epoch, samples per epoch and replicas (default 1).
 * @returns The state after the segment and the epochs that ended in it (without validation).
 */
export function foldSegment(
  state: RunState,
  segment: SegmentResult,
  shape: { readonly stepsPerEpoch: number; readonly n: number; readonly replicas?: number },
): { state: RunState; epochs: EpochEvent[] } {
  const k = shape.replicas ?? 1;
  const lossSum = state.epochLossSum.slice();
  const correct = state.epochCorrect.slice();
  const epochs: EpochEvent[] = [];
  const steps = segment.lrs.length;
  for (let i = 0; i < steps; i++) {
    const step = segment.from + i;
    for (let r = 0; r < k; r++) {
      const loss = segment.loss[i * k + r];
      if (!Number.isFinite(loss)) {
        throw new TrainingDivergedError({
          step,
          epoch: Math.floor(step / shape.stepsPerEpoch),
          loss,
          lr: segment.lrs[i],
          snapshots: [],
        });
      }
      lossSum[r] += loss * segment.batchSizes[i];
      correct[r] += segment.correct[i * k + r];
    }
    if ((step + 1) % shape.stepsPerEpoch === 0) {
      const perReplica = lossSum.map((l, r) => ({
        loss: l / shape.n,
        accuracy: correct[r] / shape.n,
      }));
      epochs.push({
        type: "epoch",
        epoch: (step + 1) / shape.stepsPerEpoch - 1,
        step,
        lr: segment.lrs[i],
        loss: perReplica.reduce((a, m) => a + m.loss, 0) / k,
        accuracy: perReplica.reduce((a, m) => a + m.accuracy, 0) / k,
        ...(k > 1 ? { replicas: perReplica } : {}),
      });
      lossSum.fill(0);
      correct.fill(0);
    }
  }
  return {
    state: {
      step: state.step + steps,
      snapshotsTaken: state.snapshotsTaken,
      epochLossSum: lossSum,
      epochCorrect: correct,
    },
    epochs,
  };
}

/**
 * Trains once and emits `epoch`, `snapshot`, `checkpoint` and `done` events. The config is validated
 * before anything runs (every problem in one `ConfigError`). A loss that becomes NaN or infinite stops
 * the run with a {@linkcode TrainingDivergedError} that holds the snapshots taken before.
 *
 * @example The tutorial's setup, shortened
 * ```ts
 * import {
 *   collect, cosineAnnealing, createCpuBackend, makeBlobs, mlp, sgd, splitAt, toFloat32, train,
 * } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const blobs = makeBlobs({ nSamples: 200, centers: 3, clusterStd: 2, randomState: 2 });
 * const [trainSet] = splitAt(blobs, 100);
 * const backend = createCpuBackend();
 * const result = await collect(train({
 *   backend,
 *   model: mlp({ layers: [2, 25, 3] }),
 *   optimizer: sgd({ momentum: 0.9 }),
 *   schedule: cosineAnnealing({ lrMax: 0.01, totalSteps: 50, cycles: 5 }),
 *   lrPer: "epoch",
 *   epochs: 50,
 *   batchSize: 32,
 *   data: { x: toFloat32(trainSet.x), y: trainSet.y, n: trainSet.n },
 * }));
 * assert.equal(result.snapshots.length, 5);
 * assert.deepEqual(result.snapshots.map((s) => s.epoch), [9, 19, 29, 39, 49]);
 * backend.dispose();
 * ```
 *
 * @param config The run's configuration.
 * @returns The events of the run.
 */
export function train(config: TrainConfig): AsyncIterable<TrainEvent> {
  // Validate eagerly, so that a bad config throws at the call rather than at the first `next()`.
  const plan = orThrow(CONTEXT, planRun(config));
  return { [Symbol.asyncIterator]: () => run(config, plan)[Symbol.asyncIterator]() };
}

async function* run(config: TrainConfig, plan: RunPlan): AsyncGenerator<TrainEvent> {
  const started = performance.now();
  const { backend, model, data } = config;
  const n = data.n;
  const batchSize = config.batchSize;
  const { stepsPerEpoch, totalSteps, schedule, snapshotSteps } = plan;
  const seed = config.seed ?? 0;
  const keepLast = config.keepLast ?? Infinity;
  const reportEvery = config.reportEvery ??
    (backend.readCost === "free" && config.validation !== undefined ? 1 : Infinity);
  const checkpointEvery = config.checkpointEvery ?? Infinity;
  const readbacksAtStart = backend.readbacks;
  const replicas = config.replicas ?? 1;

  const resume = config.resume;
  const rng: RandomState = resume !== undefined
    ? restoreRandomState(resume.random)
    : randomState([seed, BATCH_STREAM]);
  const params = resume?.params ??
    config.initialParams ??
    initParams(model, { seed, init: config.init ?? model.init ?? "glorot", replicas });
  const session: TrainingSession = await backend.createSession({
    spec: model,
    optimizer: config.optimizer,
    params,
    data,
    optimizerState: resume?.optimizerState,
    replicas,
  });
  const p = paramCount(model);

  const snapshotSet = new Set(snapshotSteps);
  const restartSet = new Set(snapshotSteps.map((s) => s + 1));
  const kept: Snapshot[] = [];
  let state: RunState = {
    step: resume?.step ?? 0,
    snapshotsTaken: resume?.snapshotsTaken ?? 0,
    epochLossSum: new Array(replicas).fill(0),
    epochCorrect: new Array(replicas).fill(0),
  };
  let lastParams: Float32Array | undefined;
  // The current epoch's batches, drawn from the seeded shuffle when the epoch's first step is planned
  // (so a checkpoint at an epoch boundary holds the generator before the next epoch's draw).
  let batches: Batches = { indices: new Int32Array(0), offsets: new Int32Array(1) };
  let batchesEpoch = -1;

  try {
    while (state.step < totalSteps) {
      const from = state.step;
      const to = nextBoundary(from, {
        totalSteps,
        stepsPerEpoch,
        snapshotSet,
        reportEvery,
        checkpointEvery,
      });
      const count = to - from;
      // Build the segment's plan from each epoch's batches and the schedule.
      const indices = new Int32Array(count * batchSize);
      const offsets = new Int32Array(count + 1);
      const batchSizes = new Int32Array(count);
      const lrs64 = new Float64Array(count); // what events report: the schedule's own numbers
      const resets = new Uint8Array(count);
      let total = 0;
      for (let i = 0; i < count; i++) {
        const step = from + i;
        const epoch = Math.floor(step / stepsPerEpoch);
        if (epoch !== batchesEpoch) {
          batches = epochBatches(rng, { n, batchSize, shuffle: config.shuffle ?? true });
          batchesEpoch = epoch;
        }
        const b = step % stepsPerEpoch;
        const start = batches.offsets[b];
        const end = batches.offsets[b + 1];
        indices.set(batches.indices.subarray(start, end), total);
        batchSizes[i] = end - start;
        total += end - start;
        offsets[i + 1] = total;
        const lr = schedule(step);
        if (!Number.isFinite(lr) || lr < 0) {
          throw new SnapfoldError(
            `Cannot train: the schedule gave lr ${lr} at step ${step}: a schedule must return ` +
              `finite non-negative rates`,
          );
        }
        lrs64[i] = lr;
        if (config.resetOptimizerAtRestart && restartSet.has(step)) resets[i] = 1;
      }
      // The backend applies float32 rates.
      session.run({
        indices: indices.subarray(0, total),
        offsets,
        lrs: Float32Array.from(lrs64),
        resets,
      });

      const stats = await session.readStats();
      let folded: { state: RunState; epochs: EpochEvent[] };
      try {
        folded = foldSegment(state, {
          from,
          loss: stats.loss,
          correct: stats.correct,
          batchSizes,
          lrs: lrs64,
        }, {
          stepsPerEpoch,
          n,
          replicas,
        });
      } catch (error) {
        if (error instanceof TrainingDivergedError) {
          throw new TrainingDivergedError({ ...error, snapshots: kept.slice() });
        }
        throw error;
      }
      const last = to - 1;
      const endsEpoch = to % stepsPerEpoch === 0;
      const epochsDone = Math.floor(to / stepsPerEpoch);
      const isSnapshot = snapshotSet.has(last);
      const isCheckpoint = endsEpoch && epochsDone % checkpointEvery === 0;
      const wantsValidation = config.validation !== undefined && endsEpoch;
      lastParams = isSnapshot || isCheckpoint || wantsValidation || to === totalSteps
        ? await session.readParams()
        : undefined;

      const epochs = folded.epochs;
      if (wantsValidation) {
        const v = await evaluate(backend, model, lastParams!, replicas, config.validation!);
        epochs[epochs.length - 1] = { ...epochs[epochs.length - 1], validation: v };
      }
      for (const event of epochs) yield event;
      state = folded.state;

      if (isSnapshot) {
        for (let r = 0; r < replicas; r++) {
          const snapshot: Snapshot = {
            index: state.snapshotsTaken + 1,
            epoch: Math.floor(last / stepsPerEpoch),
            step: last,
            lr: lrs64[count - 1],
            spec: model,
            params: lastParams!.slice(r * p, (r + 1) * p),
            ...(replicas > 1 ? { replica: r } : {}),
          };
          kept.push(snapshot);
          if (kept.length > keepLast * replicas) kept.shift();
          yield { type: "snapshot", ...snapshot };
        }
        state = { ...state, snapshotsTaken: state.snapshotsTaken + 1 };
      }
      if (isCheckpoint) {
        const optimizerState = await session.readOptimizerState();
        yield {
          type: "checkpoint",
          checkpoint: {
            epoch: epochsDone,
            step: to,
            params: lastParams!.slice(),
            optimizerState,
            random: rng.snapshot(),
            snapshotsTaken: state.snapshotsTaken,
          },
        };
      }
    }
    const finalParams = lastParams ?? await session.readParams();
    yield {
      type: "done",
      epochs: config.epochs,
      steps: totalSteps,
      snapshots: kept.slice(),
      params: finalParams,
      schedule: schedule.spec,
      readbacks: backend.readbacks - readbacksAtStart,
      trainMs: performance.now() - started,
    };
  } finally {
    session.dispose();
  }
}

/** Seed-stream tag for the batch order, so it never reuses the draws of the initialisation. */
const BATCH_STREAM = 0x5eed;

function nextBoundary(
  from: number,
  o: {
    totalSteps: number;
    stepsPerEpoch: number;
    snapshotSet: ReadonlySet<number>;
    reportEvery: number;
    checkpointEvery: number;
  },
): number {
  for (let step = from; step < o.totalSteps; step++) {
    if (o.snapshotSet.has(step)) return step + 1;
    if ((step + 1) % o.stepsPerEpoch === 0) {
      const epochsDone = (step + 1) / o.stepsPerEpoch;
      if (epochsDone % o.reportEvery === 0 || epochsDone % o.checkpointEvery === 0) return step + 1;
    }
  }
  return o.totalSteps;
}

async function evaluate(
  backend: Backend,
  model: MlpSpec,
  params: Float32Array,
  replicas: number,
  data: TrainingData,
): Promise<{ loss: number; accuracy: number }> {
  const out = await backend.predict({
    spec: model,
    params,
    members: replicas,
    combine: "none",
    x: data.x,
    n: data.n,
  });
  const width = outputDim(model);
  let loss = 0;
  let accuracySum = 0;
  // out: [replicas, n, width]; the metrics are means over replicas.
  for (let r = 0; r < replicas; r++) {
    const member = out.subarray(r * data.n * width, (r + 1) * data.n * width);
    if (model.head === "softmax") {
      loss += logLoss(member, data.y as Int32Array);
      accuracySum += accuracy(member, data.y as Int32Array);
    } else {
      loss += meanSquaredErrorMetric(member, data.y as Float32Array);
    }
  }
  return { loss: loss / replicas, accuracy: accuracySum / replicas };
}

/**
 * Folds over the events of a run: the way to consume {@linkcode train} with a running value.
 *
 * @example Counting snapshots as they arrive
 * ```ts
 * import { fold } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * async function* events() {
 *   yield { type: "snapshot" };
 *   yield { type: "epoch" };
 *   yield { type: "snapshot" };
 * }
 * const count = await fold(events(), 0, (n, e) => e.type === "snapshot" ? n + 1 : n);
 * assert.equal(count, 2);
 * ```
 *
 * @param events The events (usually `train(config)`).
 * @param initial The starting value.
 * @param step Combines the value so far with the next event.
 * @returns The final value.
 */
export async function fold<A, T>(
  events: AsyncIterable<T>,
  initial: A,
  step: (acc: A, event: T) => A,
): Promise<A> {
  let acc = initial;
  for await (const event of events) acc = step(acc, event);
  return acc;
}

/**
 * Runs a training to the end and returns its snapshots and history.
 *
 * @example
 * ```ts
 * import { collect } from "@snapfold/snapfold";
 * import type { TrainEvent } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * async function* events(): AsyncGenerator<TrainEvent> {
 *   yield { type: "epoch", epoch: 0, step: 3, lr: 0.1, loss: 1, accuracy: 0.5 };
 *   yield {
 *     type: "done", epochs: 1, steps: 4, snapshots: [], params: new Float32Array(0),
 *     schedule: { name: "constant", options: { lr: 0.1 } }, readbacks: 0, trainMs: 1,
 *   };
 * }
 * const result = await collect(events());
 * assert.equal(result.history.length, 1);
 * assert.equal(result.done.steps, 4);
 * ```
 *
 * @param events The events of a run.
 * @returns The kept snapshots, the epoch history, the last checkpoint and the final event.
 */
export async function collect(events: AsyncIterable<TrainEvent>): Promise<TrainResult> {
  const history: EpochEvent[] = [];
  let checkpoint: Checkpoint | undefined;
  let done: DoneEvent | undefined;
  for await (const event of events) {
    if (event.type === "epoch") history.push(event);
    else if (event.type === "checkpoint") checkpoint = event.checkpoint;
    else if (event.type === "done") done = event;
  }
  if (done === undefined) {
    throw new TypeError("Cannot collect a run: the events ended without a 'done' event");
  }
  return { snapshots: done.snapshots, history, checkpoint, done };
}
