/**
 * A training run's configuration, checked at the door, and the plan derived from it before anything
 * runs: steps, snapshot steps, restart steps, readback settings and notes in words.
 *
 * @module
 */
import { augmentIssues, modelOf } from "./_parts.ts";
import type { Backend, TrainingData } from "../backend/backend.ts";
import type { ConfigIssue } from "../errors.ts";
import { check, type Validation, validation } from "../validation.ts";
import { type Init, inputDim, type MlpSpec, paramCount } from "../model/mod.ts";
import type { ShiftAugment } from "../ops/shift.ts";
import { type Optimizer, validateOptimizer } from "../optimizers/mod.ts";
import { validateSeed } from "../random.ts";
import { perEpoch, type Schedule } from "../schedules/mod.ts";
import { validateTrainingData } from "../training_data.ts";
import { atCycleEnds, planSnapshots, type SnapshotPolicy } from "./policy.ts";
import type { CheckedRun, Checkpoint, DataInput, RunPlan } from "./run_plan.ts";
import {
  checkResume,
  checkScheduleSize,
  finiteIssues,
  keptMemoryIssues,
  LIMITS,
  maxSegmentSteps,
  restartSteps,
} from "./_checks.ts";

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
   * A schedule whose options fix its length (`cosineAnnealing`, `oneCycle`) must be sized for this
   * run, in the unit of `lrPer`.
   */
  readonly schedule: Schedule;
  /** `"step"` (default, the paper) or `"epoch"` (the lr is set once per epoch, the tutorial). */
  readonly lrPer?: "step" | "epoch";
  /** Number of passes over the training data. */
  readonly epochs: number;
  /** Samples per step; the last batch of an epoch may be shorter. */
  readonly batchSize: number;
  /** Training data: `x` [n, inDim], labels `y` [n] (or targets [n, outDim]); what `makeBlobs`,
   * `splitAt`, `shuffleSplit` return fits as it is (float64 converted once, at the door). */
  readonly data: DataInput;
  /** Validation data, evaluated at every report (see `reportEvery`); converted like `data`. */
  readonly validation?: DataInput;
  /**
   * Seed of the initial weights, of the batch order and of the backend's counter-based draws
   * (dropout masks), an integer in `[0, 2^32 - 1]` (default 0).
   */
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
  /**
   * When snapshots are taken (default `atCycleEnds()`: at the last step of every complete cycle of
   * the schedule; see also `everyEpochs`, `atEpochs`, `none`).
   */
  readonly snapshots?: SnapshotPolicy;
  /** Keep only the last k snapshots in memory (default: all). Every snapshot is still emitted. */
  readonly keepLast?: number;
  /**
   * Epochs between reports, where statistics are read back (and validation evaluated). Default: only
   * at snapshots, checkpoints and the end, so that the 500-epoch tutorial run needs 20 readbacks on
   * WebGPU; with validation data on a backend whose reads are free (the CPU), every epoch. Epoch
   * events between reports arrive in a burst; their numbers are the same either way.
   */
  readonly reportEvery?: number;
  /** Emit a `checkpoint` event every this many epochs (default: never). */
  readonly checkpointEvery?: number;
  /** Reset the optimizer state (momentum, Adam moments) at every restart of the schedule (default false). */
  readonly resetOptimizerAtRestart?: boolean;
  /** Shuffle the training data every epoch (default true). */
  readonly shuffle?: boolean;
  /**
   * Data augmentation of every training batch (default none): `shift({ width, height, maxShift })`
   * translates each image row at random, the same way on every backend (a counter-based draw of
   * the seed, the global step and the batch row; see `shift`).
   */
  readonly augment?: ShiftAugment;
  /** Continue a stopped run from a checkpoint of the same configuration. */
  readonly resume?: Checkpoint;
}

export type { CheckedRun, Checkpoint, DataInput, RunPlan } from "./run_plan.ts";

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
  "snapshots",
  "keepLast",
  "reportEvery",
  "checkpointEvery",
  "resetOptimizerAtRestart",
  "shuffle",
  "augment",
  "resume",
];

/**
 * Checks a config at the door and derives its plan; every problem is reported at once, under the
 * config's own field names.
 *
 * @example
 * ```ts
 * import { cosineAnnealing, createCpuBackend, mlp, planRun, sgd } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const result = planRun({
 *   backend: createCpuBackend(),
 *   model: mlp({ layers: [2, 3, 2] }),
 *   optimizer: sgd({ momentum: 0.9 }),
 *   schedule: cosineAnnealing({ lrMax: 0.1, totalSteps: 11, cycles: 5 }),
 *   lrPer: "epoch",
 *   epochs: 11,
 *   batchSize: 4,
 *   data: { x: new Float32Array(20), y: new Int32Array(10), n: 10 },
 * });
 * assert.equal(result._tag, "Right");
 * if (result._tag === "Right") {
 *   assert.deepEqual(result.right.snapshotSteps, [5, 11, 17, 23, 29]);
 *   assert.match(result.right.notes[0], /the last 3 steps \(1 epoch\) form a partial cycle/);
 * }
 * ```
 *
 * @example Without fp-ts: `orThrow` turns the result into the plan or one `ConfigError`
 * ```ts
 * import { ConfigError, constant, createCpuBackend, mlp, orThrow, planRun, sgd } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const config = {
 *   backend: createCpuBackend(),
 *   model: mlp({ layers: [2, 2] }),
 *   optimizer: sgd(),
 *   schedule: constant({ lr: 0.1 }),
 *   epochs: 3,
 *   batchSize: 2,
 *   data: { x: new Float64Array([0, 1, 1, 0]), y: new Int32Array([0, 1]), n: 2 },
 * };
 * assert.equal(orThrow("Cannot plan the run", planRun(config)).totalSteps, 3);
 * assert.throws(
 *   () => orThrow("Cannot plan the run", planRun({ ...config, epochs: 0 })),
 *   (e: unknown) => e instanceof ConfigError && e.issues[0].field === "epochs",
 * );
 * ```
 *
 * @param config The run's configuration (anything: this never throws on foreign input).
 * @returns The plan, or every issue found (check `_tag`, or pass it to `orThrow`).
 */
export function planRun(config: TrainConfig): Validation<RunPlan> {
  const checked = checkRun(config);
  return checked._tag === "Left" ? checked : validation([], checked.right.plan);
}

/**
 * {@linkcode planRun}, keeping the converted data: what `train` runs on. Internal to `lib/train/`.
 *
 * @example
 * ```ts
 * import { checkRun } from "./config.ts";
 * import { constant, createCpuBackend, mlp, sgd } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const checked = checkRun({
 *   backend: createCpuBackend(),
 *   model: mlp({ layers: [2, 2] }),
 *   optimizer: sgd(),
 *   schedule: constant(0.1),
 *   epochs: 1,
 *   batchSize: 2,
 *   data: { x: new Float64Array([0, 1, 1, 0]), y: new Int32Array([0, 1]), n: 2 },
 * });
 * assert.ok(checked._tag === "Right" && checked.right.data.x instanceof Float32Array);
 * ```
 *
 * @param config The run's configuration (anything: this never throws on foreign input).
 * @returns The plan and the converted data, or every issue found.
 */
export function checkRun(config: TrainConfig): Validation<CheckedRun> {
  const keys = check.knownKeys(config, TRAIN_CONFIG_KEYS, "config");
  if (typeof config !== "object" || config === null) return validation(keys, undefined as never);
  const c = config as Partial<TrainConfig>;
  const model = modelOf(c.model);
  const spec = model._tag === "Right" ? model.right : undefined;
  const issues = [...keys, ...fieldIssues(c), ...(model._tag === "Left" ? model.left : [])];
  const parts = partIssues(c, spec);
  issues.push(...parts.issues);
  const shape = runShape(c);
  if (shape === undefined) return validation(issues, undefined as never);
  const derived = derivePlan(c as TrainConfig, shape, spec === undefined ? 0 : paramCount(spec));
  if (derived._tag === "Left") return validation([...issues, ...derived.left], undefined as never);
  const plan = derived.right;
  // A checkpoint is checked against the model, optimizer and replicas once those are valid.
  const fits = spec !== undefined && validateOptimizer(c.optimizer as Optimizer)._tag === "Right" &&
    check.positiveInt("replicas", c.replicas ?? 1).length === 0;
  if (c.resume !== undefined && fits) issues.push(...checkResume(c as TrainConfig, plan));
  return validation(issues, {
    plan,
    data: parts.data!,
    ...(parts.validation !== undefined ? { validation: parts.validation } : {}),
  });
}

/** The scalar options: numbers, flags and choices. */
function fieldIssues(c: Partial<TrainConfig>): ConfigIssue[] {
  const optional = (field: keyof TrainConfig, f: (field: string, v: unknown) => ConfigIssue[]) =>
    c[field] === undefined ? [] : f(field, c[field]);
  const seed = c.seed === undefined || Array.isArray(c.seed)
    ? undefined
    : validateSeed("seed", c.seed);
  const issues: ConfigIssue[] = [
    ...check.positiveInt("epochs", c.epochs),
    ...check.positiveInt("batchSize", c.batchSize),
    ...optional("lrPer", (f, v) => check.oneOf(f, v, ["step", "epoch"])),
    ...(Array.isArray(c.seed)
      ? [{ field: "seed", message: "must be an integer between 0 and 2^32 - 1", got: c.seed }]
      : seed?._tag === "Left"
      ? seed.left
      : []),
    ...optional("init", (f, v) => check.oneOf(f, v, ["glorot", "he"])),
    ...optional("replicas", check.positiveInt),
    ...optional("keepLast", check.positiveInt),
    ...optional("reportEvery", check.positiveInt),
    ...optional("checkpointEvery", check.positiveInt),
  ];
  for (const flag of ["shuffle", "resetOptimizerAtRestart"] as const) {
    issues.push(
      ...optional(
        flag,
        (f, v) => check.that(typeof v === "boolean", f, "must be true or false", v),
      ),
    );
  }
  if (
    typeof c.schedule !== "function" || typeof c.schedule.spec !== "object" ||
    c.schedule.spec === null
  ) {
    issues.push({
      field: "schedule",
      message: "must be a schedule (see cosineAnnealing)",
      got: c.schedule,
    });
  }
  return issues;
}

/**
 * The parts with validators of their own: backend, model, optimizer, data, starting parameters; the
 * data and validation data converted (when valid) to the typed arrays backends take.
 */
function partIssues(
  c: Partial<TrainConfig>,
  spec: MlpSpec | undefined,
): { issues: ConfigIssue[]; data?: TrainingData; validation?: TrainingData } {
  const issues: ConfigIssue[] = [];
  const converted: { data?: TrainingData; validation?: TrainingData } = {};
  const b = c.backend as Partial<Backend> | null | undefined;
  if (
    typeof b !== "object" || b === null || typeof b.createSession !== "function" ||
    typeof b.predict !== "function" || (b.readCost !== "free" && b.readCost !== "costly")
  ) {
    issues.push({ field: "backend", message: "must be a Backend (see createBackend)", got: b });
  }
  const optimizer = validateOptimizer(c.optimizer as Optimizer);
  if (optimizer._tag === "Left") issues.push(...optimizer.left);
  if (c.data === undefined) issues.push({ field: "data", message: "is required: { x, y, n }" });
  if (spec === undefined) return { issues };
  for (const field of ["data", "validation"] as const) {
    if (c[field] === undefined) continue;
    const data = validateTrainingData(spec, c[field] as TrainingData);
    if (data._tag === "Left") {
      issues.push(...data.left.map((i) => ({ ...i, field: `${field}.${i.field}` })));
    } else converted[field] = data.right;
  }
  if (c.augment !== undefined) issues.push(...augmentIssues(c.augment, inputDim(spec)));
  const replicas = Number.isSafeInteger(c.replicas) ? c.replicas! : 1;
  const floats = paramCount(spec) * replicas;
  if (floats > LIMITS.params) {
    issues.push({
      field: "replicas",
      message: `times the model's ${paramCount(spec)} parameters gives ${floats} floats: at most ` +
        `${LIMITS.params} (1 GiB); train fewer replicas or a smaller model`,
      got: c.replicas ?? 1,
    });
  } else if (c.initialParams !== undefined) {
    issues.push(
      ...finiteIssues(
        "initialParams",
        c.initialParams,
        floats,
        "(replicas x paramCount of the model)",
      ),
    );
  }
  return { issues, ...converted };
}

/** Steps per epoch and in total, when the fields they come from are valid. */
function runShape(
  c: Partial<TrainConfig>,
): { stepsPerEpoch: number; totalSteps: number } | undefined {
  const n = (c.data as Partial<TrainingData> | undefined)?.n;
  if (
    check.positiveInt("n", n).length > 0 || check.positiveInt("epochs", c.epochs).length > 0 ||
    check.positiveInt("batchSize", c.batchSize).length > 0 || typeof c.schedule !== "function" ||
    typeof c.schedule.spec !== "object" ||
    (c.lrPer !== undefined && c.lrPer !== "step" && c.lrPer !== "epoch")
  ) {
    return undefined;
  }
  const stepsPerEpoch = Math.ceil(n! / c.batchSize!);
  return { stepsPerEpoch, totalSteps: c.epochs! * stepsPerEpoch };
}

/** The schedule, snapshot and restart steps, limits and settings of a run whose shape is known. */
function derivePlan(
  c: TrainConfig,
  shape: { stepsPerEpoch: number; totalSteps: number },
  p: number,
): Validation<RunPlan> {
  const { stepsPerEpoch, totalSteps } = shape;
  const lrPer = c.lrPer ?? "step";
  if (!Number.isSafeInteger(totalSteps)) {
    return validation([{
      field: "epochs",
      message:
        `times ${stepsPerEpoch} steps per epoch gives ${totalSteps} steps: at most 2^53 - 1; ` +
        `train fewer epochs or use larger batches`,
      got: c.epochs,
    }], undefined as never);
  }
  const sizing = checkScheduleSize(c.schedule.spec, {
    epochs: c.epochs,
    stepsPerEpoch,
    totalSteps,
    lrPer,
  });
  if (sizing.length > 0) return validation(sizing, undefined as never);
  const schedule = lrPer === "epoch" ? perEpoch(stepsPerEpoch)(c.schedule) : c.schedule;
  const run = { epochs: c.epochs, stepsPerEpoch, totalSteps, schedule, lrPer };
  const snapshots = planSnapshots(c.snapshots ?? atCycleEnds(), run, LIMITS.snapshots);
  if (snapshots._tag === "Left") return snapshots;
  const replicas = Number.isSafeInteger(c.replicas) ? c.replicas! : 1;
  const keepLast = Number.isSafeInteger(c.keepLast) ? c.keepLast! : Infinity;
  const memory = keptMemoryIssues(snapshots.right.steps.length, keepLast, replicas * p);
  if (memory.length > 0) return validation(memory, undefined as never);
  const restarts = restartSteps(schedule, totalSteps, c.resetOptimizerAtRestart === true);
  if (restarts._tag === "Left") return restarts;
  const free = (c.backend as Partial<Backend> | null)?.readCost === "free";
  return validation([], {
    epochs: c.epochs,
    stepsPerEpoch,
    totalSteps,
    schedule,
    snapshotSteps: snapshots.right.steps,
    restartSteps: restarts.right,
    notes: snapshots.right.notes,
    samples: c.data.n,
    batchSize: c.batchSize,
    shuffle: c.shuffle ?? true,
    spec: c.model,
    paramCount: p,
    replicas,
    keepLast,
    reportEvery: c.reportEvery ?? (free && c.validation !== undefined ? 1 : Infinity),
    checkpointEvery: c.checkpointEvery ?? Infinity,
    validates: c.validation !== undefined,
    maxSegmentSteps: maxSegmentSteps(c.batchSize, c.data.n),
    seed: c.seed ?? 0,
  });
}
