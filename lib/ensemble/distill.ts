/**
 * Knowledge distillation (Hinton, Vinyals and Dean 2015, "Distilling the Knowledge in a Neural
 * Network"): one student network trained on an ensemble's soft targets, so that M members' quality
 * costs one forward pass at inference.
 *
 * The teacher's distribution for each row of the transfer set is the ensemble's combined
 * prediction `p` (its vote, member weights and own temperature), softened at the distillation
 * temperature `T` as `q = softmax(log(p) / T)`; for a single member that is exactly Hinton's
 * `softmax(z / T)`. The student trains on `q` with the loss `T^2 * H(q, softmax(z_s / T))`
 * (lib/ops/softmax_xent_soft.ts, where the T^2 is explained) and predicts at temperature 1.
 *
 * @module
 */
import { createCpuBackend } from "../backend/cpu/backend.ts";
import type { Backend } from "../backend/backend.ts";
import type { ConfigIssue } from "../errors.ts";
import { orThrow, validation } from "../validation.ts";
import { inputDim, isModelSpec, type MlpSpec, outputDim } from "../model/mod.ts";
import type { Snapshot } from "../snapshot.ts";
import type { Inputs } from "../training_data.ts";
import { validateInputs } from "../training_data.ts";
import { collect, none, train, type TrainConfig } from "../train/mod.ts";
import type { EpochEvent } from "../train/events.ts";
import type { Ensemble } from "./ensemble.ts";
import { temperRows } from "./temperature.ts";

/** Options of {@linkcode distill}: the student, the transfer set, the temperature and its training. */
export interface DistillOptions extends
  Omit<
    TrainConfig,
    | "backend"
    | "model"
    | "data"
    | "validation"
    | "snapshots"
    | "replicas"
    | "resume"
    | "keepLast"
    | "checkpointEvery"
  > {
  /**
   * The student network (default: the ensemble's own): a softmax head with the ensemble's input
   * width and classes.
   */
  readonly model?: MlpSpec;
  /** The transfer set: `x` [n, inDim] and `n` (labels, if the object has any, are not used). */
  readonly data: Inputs;
  /** Distillation temperature `T` > 0 (default 1: the ensemble's probabilities as they are). */
  readonly temperature?: number;
  /**
   * Where the student trains: the CPU (default), WebGPU (its per-kernel path) or WebAssembly. The
   * ensemble predicts the targets on its own backend. Never disposed here.
   */
  readonly backend?: Backend;
}

/** The result of {@linkcode distill}. */
export interface DistillResult {
  /** The student, shaped like a snapshot (`ensemble([student])`, `forward` and files take it). */
  readonly student: Snapshot;
  /** [n, classes] the soft targets `q` the student was trained on. */
  readonly targets: Float32Array;
  /** The temperature used. */
  readonly temperature: number;
  /**
   * One event per epoch; `loss` is the mean `T^2 H(q, softmax(z / T))` over the epoch's batches,
   * `accuracy` the fraction of rows whose argmax agrees with the teacher's.
   */
  readonly history: ReadonlyArray<EpochEvent>;
}

function distillIssues(ensemble: Ensemble, options: DistillOptions): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const teacher = ensemble?.spec;
  if (!isModelSpec(teacher) || typeof ensemble.predictProba !== "function") {
    return [{ field: "ensemble", message: "must be an ensemble (from ensemble())", got: ensemble }];
  }
  if (teacher.head !== "softmax") {
    issues.push({
      field: "ensemble",
      message: "must be a classifier (softmax head): a regressor has no soft targets",
      got: teacher.head,
    });
  }
  const { model, data, temperature = 1 } = options ?? ({} as DistillOptions);
  if (model !== undefined) {
    if (!isModelSpec(model)) {
      issues.push({ field: "model", message: "must be a model spec (from mlp)", got: model });
    } else if (
      model.head !== "softmax" || inputDim(model) !== inputDim(teacher) ||
      outputDim(model) !== outputDim(teacher)
    ) {
      issues.push({
        field: "model",
        message: `must be a softmax network from ${inputDim(teacher)} inputs to ` +
          `${outputDim(teacher)} classes, like the ensemble`,
        got: `${model.head} ${inputDim(model)} -> ${outputDim(model)}`,
      });
    }
  }
  if (!(typeof temperature === "number" && Number.isFinite(temperature) && temperature > 0)) {
    issues.push({
      field: "temperature",
      message: "must be a positive finite number",
      got: temperature,
    });
  }
  const inputs = validateInputs(teacher, { x: data?.x, n: data?.n } as Inputs);
  if (inputs._tag === "Left") {
    issues.push(...inputs.left.map((i) => ({ ...i, field: `data.${i.field}` })));
  }
  return issues;
}

/**
 * Trains one student on an ensemble's soft targets (knowledge distillation): the ensemble predicts
 * `p` for every row of `data`, the targets are `q = softmax(log(p) / T)`, and `train` fits the
 * student to them with the soft-target cross-entropy at temperature `T` (scaled by `T^2`, so one
 * learning rate serves every temperature), on any backend (CPU, WebGPU, WebAssembly). No
 * snapshots are taken; the student is the final parameters. At inference it costs one forward
 * pass, 1/M of the ensemble's.
 *
 * @example Distil a three-snapshot ensemble into one network of the same shape
 * ```ts
 * import {
 *   collect, cosineAnnealing, distill, ensemble, logLoss, makeBlobs, mlp, sgd, toFloat32, train,
 *   createCpuBackend,
 * } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const blobs = makeBlobs({ nSamples: 120, centers: 3, clusterStd: 2, randomState: 4 });
 * const data = { x: toFloat32(blobs.x), y: blobs.y, n: blobs.n };
 * const backend = createCpuBackend();
 * const run = await collect(train({
 *   backend, model: mlp({ layers: [2, 16, 3] }), optimizer: sgd({ momentum: 0.9 }),
 *   schedule: cosineAnnealing({ lrMax: 0.1, totalSteps: 30, cycles: 3 }), lrPer: "epoch",
 *   epochs: 30, batchSize: 32, data,
 * }));
 * const teacher = ensemble(run.snapshots);
 * const { student, targets } = await distill(teacher, {
 *   data, temperature: 2, optimizer: sgd({ momentum: 0.9 }),
 *   schedule: cosineAnnealing({ lrMax: 0.1, totalSteps: 30, cycles: 1 }), lrPer: "epoch",
 *   epochs: 30, batchSize: 32, backend,
 * });
 * assert.equal(targets.length, 120 * 3);
 * const one = ensemble([student]);
 * const agree = (await one.predict(data.x)).filter((c, i) => c === teacher.predictSync(data.x)[i]);
 * assert.ok(agree.length >= 100, `student agrees with the teacher on ${agree.length} of 120`);
 * assert.ok(logLoss(await one.predictProba(data.x), data.y) < Math.log(3));
 * backend.dispose();
 * ```
 *
 * @param ensemble The teacher: an ensemble of a softmax network (any vote, weights, backend).
 * @param options The student, the transfer set, the temperature and the training settings.
 * @returns The student, the soft targets and the training history.
 * @throws {ConfigError} naming every bad option (the training settings as `train` checks them).
 */
export async function distill(ensemble: Ensemble, options: DistillOptions): Promise<DistillResult> {
  orThrow("Cannot distill", validation(distillIssues(ensemble, options), null));
  const { model, data, temperature = 1, backend, ...rest } = options;
  const spec = model ?? ensemble.spec;
  const classes = outputDim(spec);
  const p = await ensemble.predictProba(data.x, data.n);
  const targets = temperature === 1 ? p : temperRows(p, classes, temperature);
  const trainer = backend ?? createCpuBackend();
  try {
    const result = await collect(train({
      ...rest,
      backend: trainer,
      model: spec,
      data: { x: data.x, y: targets, n: data.n, targets: "soft", temperature },
      snapshots: none(),
    }));
    const last = result.history[result.history.length - 1];
    const student: Snapshot = {
      index: 1,
      epoch: result.done.epochs - 1,
      step: result.done.steps - 1,
      lr: last?.lr ?? 0,
      spec,
      params: result.done.params,
    };
    return { student, targets, temperature, history: result.history };
  } finally {
    if (backend === undefined) trainer.dispose();
  }
}
