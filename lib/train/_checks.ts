/**
 * The checks of `planRun` that need the run's shape: the limits that bound a run's memory, a
 * schedule sized for another run, and a checkpoint that does not belong to the config.
 *
 * @module
 */
import { ConfigError, type ConfigIssue } from "../errors.ts";
import { check, type Validation, validation } from "../validation.ts";
import { optimizerStateSize } from "../optimizers/mod.ts";
import { restoreRandomState } from "../random.ts";
import { firstNonFinite } from "../finite.ts";
import type { Schedule, ScheduleSpec } from "../schedules/mod.ts";
import { completeCycleEnds } from "./_cycles.ts";
import type { Checkpoint, RunPlan, TrainConfig } from "./config.ts";

/** The bounds that keep a small config from allocating without bound. */
export const LIMITS = {
  /** Snapshots (and restarts) per run; each is a readback and a copy of the parameters. */
  snapshots: 10_000,
  /** Floats of the snapshots kept in memory (2 GiB). */
  keptFloats: 2 ** 29,
  /** Floats of all replicas' parameters (1 GiB). */
  params: 2 ** 28,
  /** Steps of one segment (one step plan). */
  segmentSteps: 2 ** 16,
  /** Sample indices of one segment's plan (16 MiB of int32). */
  segmentSamples: 2 ** 22,
} as const;

/**
 * The most steps one segment enqueues: a bounded number of steps and of sample indices, whatever
 * the batch size (a batch larger than the data holds all of it).
 *
 * @param batchSize Samples per step.
 * @param n Samples per epoch.
 * @returns Steps per segment at most.
 */
export function maxSegmentSteps(batchSize: number, n: number): number {
  const perStep = Math.min(batchSize, n);
  return Math.max(1, Math.min(LIMITS.segmentSteps, Math.floor(LIMITS.segmentSamples / perStep)));
}

/**
 * The snapshots kept in memory must fit in `LIMITS.keptFloats` floats.
 *
 * @param snapshots Snapshot indices the run takes.
 * @param keepLast Indices kept (`Infinity`: all).
 * @param floatsPerIndex Parameters of all replicas.
 * @returns An issue naming `keepLast` when they do not fit.
 */
export function keptMemoryIssues(
  snapshots: number,
  keepLast: number,
  floatsPerIndex: number,
): ConfigIssue[] {
  const floats = Math.min(snapshots, keepLast) * floatsPerIndex;
  return floats <= LIMITS.keptFloats ? [] : [{
    field: "keepLast",
    message: `must be set: the run would keep ${snapshots} snapshots of ${floatsPerIndex} ` +
      `parameters (${(floats * 4 / 2 ** 30).toFixed(1)} GiB) in memory, at most 2 GiB; keep ` +
      `fewer (every snapshot is still emitted)`,
    ...(Number.isFinite(keepLast) ? { got: keepLast } : {}),
  }];
}

/**
 * The steps before which the optimizer state is reset: the first step of every cycle after a
 * complete one, when `reset` is asked for and the schedule has cycles.
 *
 * @param schedule The schedule of the step.
 * @param totalSteps Steps of the run.
 * @param reset Whether the config asks for resets.
 * @returns The ascending steps, or an issue past `LIMITS.snapshots` restarts.
 */
export function restartSteps(
  schedule: Schedule,
  totalSteps: number,
  reset: boolean,
): Validation<ReadonlyArray<number>> {
  if (!reset || schedule.cycleEndsIn === undefined) return validation([], []);
  const ends = completeCycleEnds(schedule, totalSteps, LIMITS.snapshots);
  return ends === undefined
    ? validation([{
      field: "resetOptimizerAtRestart",
      message: `would reset the optimizer at more than ${LIMITS.snapshots} restarts: use fewer, ` +
        `longer cycles`,
      got: true,
    }], [])
    : validation([], ends.map((s) => s + 1).filter((s) => s < totalSteps));
}

/**
 * Issues of a Float32Array that must hold `length` finite numbers.
 *
 * @param field The field's name.
 * @param value The value (anything).
 * @param length The length it must have.
 * @param what Says what the length is.
 * @returns The issues found.
 */
export function finiteIssues(
  field: string,
  value: unknown,
  length: number,
  what: string,
): ConfigIssue[] {
  if (!(value instanceof Float32Array) || value.length !== length) {
    return [{ field, message: `must be a Float32Array of length ${length} ${what}`, got: value }];
  }
  const bad = firstNonFinite(value);
  return bad < 0 ? [] : [{
    field: `${field}[${bad}]`,
    message: "must be a finite number (a checkpoint or initialisation of a diverged run?)",
    got: value[bad],
  }];
}

/** How many units a schedule was built for, when its options fix it, and how to set it to `n`. */
interface Sizing {
  readonly length: number;
  readonly what: string;
  fix(n: number): string;
  /** The schedule already counts epochs (perEpoch): lrPer is no fix. */
  readonly perEpoch?: boolean;
}

function sizingOf(spec: ScheduleSpec): Sizing | undefined {
  const o = (spec.options ?? {}) as Record<string, unknown>;
  const total = o.totalSteps;
  if (
    (spec.name === "cosineAnnealing" || spec.name === "oneCycle") && Number.isSafeInteger(total)
  ) {
    return {
      length: total as number,
      what: `${spec.name}'s totalSteps`,
      fix: (n) => `totalSteps: ${n}`,
    };
  }
  if (spec.name === "warmup" && Number.isSafeInteger(o.steps)) {
    const inner = typeof o.schedule === "object" && o.schedule !== null
      ? sizingOf(o.schedule as ScheduleSpec)
      : undefined;
    const steps = o.steps as number;
    if (inner === undefined) return undefined;
    return {
      length: inner.length + steps,
      what: `${inner.what} plus the warmup's ${steps}`,
      fix: (n) => `${inner.fix(n - steps)} inside the warmup`,
    };
  }
  if (spec.name === "perEpoch" && Number.isSafeInteger(o.stepsPerEpoch)) {
    const inner = typeof o.schedule === "object" && o.schedule !== null
      ? sizingOf(o.schedule as ScheduleSpec)
      : undefined;
    const perEpoch = o.stepsPerEpoch as number;
    if (inner === undefined) return undefined;
    return {
      length: inner.length * perEpoch,
      what: `${inner.what}, in epochs of ${perEpoch} steps inside perEpoch`,
      fix: (n) => `${inner.fix(Math.ceil(n / perEpoch))} inside perEpoch`,
      perEpoch: true,
    };
  }
  return undefined;
}

/**
 * A schedule whose options fix its length must be sized for the run, in the unit of `lrPer`: a
 * 500-step cosine in a run of 2000 steps would silently take 4 times its cycles.
 *
 * @param spec The user's schedule's spec.
 * @param run The run's epochs, steps and lr unit.
 * @returns One issue naming both numbers and both fixes, or none.
 */
export function checkScheduleSize(
  spec: ScheduleSpec,
  run: { epochs: number; stepsPerEpoch: number; totalSteps: number; lrPer: "step" | "epoch" },
): ConfigIssue[] {
  const sizing = sizingOf(spec);
  const { epochs, stepsPerEpoch, totalSteps, lrPer } = run;
  const units = lrPer === "epoch" ? epochs : totalSteps;
  if (sizing === undefined || sizing.length === units) return [];
  if (sizing.perEpoch) {
    // Wrapped by hand; with lrPer "epoch" it would be wrapped twice, which no check can size.
    return lrPer === "epoch" ? [] : [{
      field: "schedule",
      message: `is sized for ${sizing.length} steps (${sizing.what}) but the run has ` +
        `${totalSteps} optimizer steps (${epochs} epochs of ${stepsPerEpoch} steps): set ` +
        sizing.fix(totalSteps),
    }];
  }
  const shape = `${epochs} epochs of ${stepsPerEpoch} steps`;
  const message = lrPer === "step"
    ? `is sized for ${sizing.length} steps (${sizing.what}) but the run has ${totalSteps} ` +
      `optimizer steps (${shape}, lr per step): set ` +
      (sizing.length === epochs
        ? `lrPer: "epoch" to count the schedule in epochs, or ${sizing.fix(totalSteps)}`
        : `${sizing.fix(totalSteps)}, or ${sizing.fix(epochs)} with lrPer: "epoch"`)
    : `is sized for ${sizing.length} epochs (${sizing.what}, lr per epoch) but the run has ` +
      `${epochs} epochs (${totalSteps} optimizer steps): set ` +
      (sizing.length === totalSteps
        ? `lrPer: "step" to count the schedule in steps, or ${sizing.fix(epochs)}`
        : `${sizing.fix(epochs)}, or ${sizing.fix(totalSteps)} with lrPer: "step"`);
  return [{ field: "schedule", message }];
}

const CHECKPOINT_KEYS: ReadonlyArray<keyof Checkpoint> = [
  "epoch",
  "step",
  "params",
  "optimizerState",
  "random",
  "snapshotsTaken",
];

/**
 * Whether a checkpoint belongs to this config: its epoch, step, parameters, optimizer state, random
 * state and snapshot count must fit the plan.
 *
 * @param config The config (otherwise valid).
 * @param plan Its plan.
 * @returns Every issue found, under `resume.`.
 */
export function checkResume(config: TrainConfig, plan: RunPlan): ConfigIssue[] {
  const r: unknown = config.resume;
  if (typeof r !== "object" || r === null || Array.isArray(r)) {
    return [{ field: "resume", message: "must be a checkpoint (from a checkpoint event)", got: r }];
  }
  const c = r as Partial<Checkpoint>;
  const k = plan.replicas;
  const stateSize = optimizerStateSize(config.optimizer, plan.paramCount) * k;
  const issues: ConfigIssue[] = [...check.knownKeys(r, CHECKPOINT_KEYS, "resume")];
  const epochOk = Number.isSafeInteger(c.epoch) && c.epoch! >= 0 && c.epoch! <= plan.epochs;
  issues.push(
    ...check.that(epochOk, "resume.epoch", `must be an integer in [0, ${plan.epochs}]`, c.epoch),
  );
  if (epochOk && c.step !== c.epoch! * plan.stepsPerEpoch) {
    issues.push({
      field: "resume.step",
      message: `must be epoch * stepsPerEpoch = ${c.epoch! * plan.stepsPerEpoch} ` +
        `(was the checkpoint taken with another batch size or dataset?)`,
      got: c.step,
    });
  }
  issues.push(
    ...finiteIssues("resume.params", c.params, plan.paramCount * k, "(replicas x paramCount)"),
    ...finiteIssues("resume.optimizerState", c.optimizerState, stateSize, "for this optimizer"),
  );
  try {
    restoreRandomState(c.random as Checkpoint["random"]);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    issues.push(...error.issues.map((i) => ({
      ...i,
      field: i.field === "snapshot" ? "resume.random" : `resume.random.${i.field}`,
    })));
  }
  const taken = epochOk
    ? plan.snapshotSteps.filter((s) => s < c.epoch! * plan.stepsPerEpoch).length
    : 0;
  if (!Number.isSafeInteger(c.snapshotsTaken) || c.snapshotsTaken! < 0) {
    issues.push({
      field: "resume.snapshotsTaken",
      message: "must be a non-negative integer",
      got: c.snapshotsTaken,
    });
  } else if (epochOk && c.snapshotsTaken !== taken) {
    issues.push({
      field: "resume.snapshotsTaken",
      message:
        `must be ${taken}, the snapshots this config takes before epoch ${c.epoch} (was the ` +
        `checkpoint taken with another schedule or snapshot policy?)`,
      got: c.snapshotsTaken,
    });
  }
  return issues;
}
