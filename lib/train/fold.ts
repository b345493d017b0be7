/**
 * The trainer as a fold. A run is cut into segments of steps; {@linkcode nextSegment} plans the
 * next one (its step plan and what must be read back after it), and {@linkcode foldSegment} turns
 * the run state and what was read back into the next state and the segment's events: epochs,
 * snapshots (kept in the state, `keepLast` honoured), checkpoints. Both are pure; the driver in
 * `train.ts` owns every effect (the backend, the random state, the clock).
 * Segments end where something must be read (a snapshot, a report, a checkpoint, the end) and
 * after at most `maxSegmentSteps` steps; where they end changes no event.
 * @module
 */
import type { StepPlan, StepStats } from "../backend/backend.ts";
import type { Batches } from "../batches.ts";
import { SnapfoldError, TrainingDivergedError } from "../errors.ts";
import type { RandomStateSnapshot } from "../random.ts";
import type { Snapshot } from "../snapshot.ts";
import type { RunPlan } from "./config.ts";
import type { EpochEvent, TrainEvent } from "./events.ts";
import { firstNonFinite } from "../finite.ts";
import { firstAtLeast, isSnapshotStep, needsAt, segmentEnd } from "./_boundaries.ts";

/** The state of a run between two segments. */
export interface RunState {
  /** Steps completed. */
  readonly step: number;
  /** Snapshot indices taken so far. */
  readonly snapshotsTaken: number;
  /** [replicas] sum over the current epoch's steps of loss times batch size. */
  readonly epochLossSum: ReadonlyArray<number>;
  /** [replicas] correct predictions so far in the current epoch. */
  readonly epochCorrect: ReadonlyArray<number>;
  /** The snapshots kept in memory, oldest first (the last `keepLast` indices). */
  readonly kept: ReadonlyArray<Snapshot>;
  /** [replicas, paramCount] parameters read at the end of the run, once it has ended. */
  readonly params?: Float32Array;
}

/** What the driver must read back after a segment (statistics are always read). */
export interface SegmentNeeds {
  /** The parameters (a snapshot, a checkpoint, validation or the end). */
  readonly params: boolean;
  /** The optimizer state (a checkpoint). */
  readonly optimizerState: boolean;
  /** The batch-order generator's state (a checkpoint). */
  readonly random: boolean;
  /** Validation metrics of the parameters (a report that ends an epoch). */
  readonly validation: boolean;
}

/** Consecutive steps enqueued at once, and what to read after them. */
export interface Segment {
  /** First step. */
  readonly from: number;
  /** One past the last step. */
  readonly to: number;
  /** What the backend runs. */
  readonly plan: StepPlan;
  /** [steps] the schedule's float64 rates (the plan holds them as float32). */
  readonly lrs64: Float64Array;
  /** [steps] samples of each step's batch. */
  readonly batchSizes: Int32Array;
  /** What must be read back after the segment. */
  readonly needs: SegmentNeeds;
}

/** What the driver read back after a segment. */
export interface Readback {
  /** The segment's per-step statistics. */
  readonly stats: StepStats;
  /** [replicas, paramCount] parameters, when the segment needs them. */
  readonly params?: Float32Array;
  /** [replicas, stateSize] optimizer state, when the segment needs it. */
  readonly optimizerState?: Float32Array;
  /** The batch-order generator's state, when the segment needs it. */
  readonly random?: RandomStateSnapshot;
  /** Validation loss and accuracy, when the segment needs them. */
  readonly validation?: { readonly loss: number; readonly accuracy?: number };
}

/**
 * The state at the start of a run (or of a resumed run).
 *
 * @example
 * ```ts
 * import { initialState } from "./fold.ts";
 * import assert from "node:assert/strict";
 *
 * const state = initialState({ replicas: 2 });
 * assert.deepEqual(state, { step: 0, snapshotsTaken: 0, epochLossSum: [0, 0], epochCorrect: [0, 0], kept: [] });
 * ```
 *
 * @param run The plan's replica count.
 * @param resume Where a resumed run starts.
 * @returns The state before the first segment.
 */
export function initialState(
  run: Pick<RunPlan, "replicas">,
  resume?: { readonly step: number; readonly snapshotsTaken: number },
): RunState {
  return {
    step: resume?.step ?? 0,
    snapshotsTaken: resume?.snapshotsTaken ?? 0,
    epochLossSum: new Array(run.replicas).fill(0),
    epochCorrect: new Array(run.replicas).fill(0),
    kept: [],
  };
}

/**
 * Plans the next segment: its steps' batches (from each epoch's batches), rates and restarts, and
 * what must be read back after it.
 *
 * @example Ten steps of a 4-sample run in batches of 3: a segment ends at the snapshot after step 3
 * ```ts
 * import { initialState, nextSegment } from "./fold.ts";
 * import { epochBatches } from "../batches.ts";
 * import { randomState } from "../random.ts";
 * import { constant } from "../schedules/mod.ts";
 * import assert from "node:assert/strict";
 *
 * const run = {
 *   epochs: 5, stepsPerEpoch: 2, totalSteps: 10, schedule: constant(0.1), snapshotSteps: [3, 9],
 *   restartSteps: [], notes: [], samples: 4, batchSize: 3, shuffle: false, spec: undefined as never,
 *   paramCount: 1, replicas: 1, keepLast: Infinity, reportEvery: Infinity, checkpointEvery: Infinity,
 *   validates: false, maxSegmentSteps: 100, seed: 0,
 * };
 * const batchesOf = () => epochBatches(randomState(0), { n: 4, batchSize: 3, shuffle: false });
 * const segment = nextSegment(initialState(run), run, batchesOf);
 * assert.equal(segment.to, 4);
 * assert.deepEqual([...segment.plan.offsets], [0, 3, 4, 7, 8]);
 * assert.deepEqual([...segment.batchSizes], [3, 1, 3, 1]);
 * assert.equal(segment.needs.params, true);
 * ```
 *
 * @param state The state before the segment.
 * @param run The run's plan.
 * @param batchesOf The batches of a 0-based epoch; called for ascending epochs, and the driver
 *   memoises it (it owns the mutable random state that shuffles each epoch).
 * @returns The segment.
 * @throws {SnapfoldError} when the schedule gives a rate that is negative or not finite in float32.
 */
export function nextSegment(
  state: RunState,
  run: RunPlan,
  batchesOf: (epoch: number) => Batches,
): Segment {
  const { stepsPerEpoch: spe, batchSize, samples } = run;
  const from = state.step;
  const to = segmentEnd(from, run);
  const count = to - from;
  let total = 0;
  for (let step = from; step < to; step++) {
    total += Math.min(batchSize, samples - (step % spe) * batchSize);
  }
  const indices = new Int32Array(total);
  const offsets = new Int32Array(count + 1);
  const batchSizes = new Int32Array(count);
  const lrs64 = new Float64Array(count);
  const resets = new Uint8Array(count);
  let batches: Batches | undefined;
  let batchesEpoch = -1;
  let filled = 0;
  for (let i = 0; i < count; i++) {
    const step = from + i;
    const epoch = Math.floor(step / spe);
    if (epoch !== batchesEpoch) {
      batches = batchesOf(epoch);
      batchesEpoch = epoch;
    }
    const b = step % spe;
    const start = batches!.offsets[b];
    const end = batches!.offsets[b + 1];
    indices.set(batches!.indices.subarray(start, end), filled);
    batchSizes[i] = end - start;
    filled += end - start;
    offsets[i + 1] = filled;
    const lr = run.schedule(step);
    if (!(lr >= 0 && Number.isFinite(Math.fround(lr)))) {
      throw new SnapfoldError(
        `Cannot train: the schedule gave lr ${lr} at step ${step}: a schedule must return ` +
          `non-negative rates that are finite in float32`,
      );
    }
    lrs64[i] = lr;
  }
  for (let k = firstAtLeast(run.restartSteps, from); run.restartSteps[k] < to; k++) {
    resets[run.restartSteps[k] - from] = 1;
  }
  return {
    from,
    to,
    plan: { indices, offsets, lrs: Float32Array.from(lrs64), resets, firstStep: from },
    lrs64,
    batchSizes,
    needs: needsAt(to, run),
  };
}

/**
 * Folds one segment: checks every step's loss and the parameters read back, and returns the next
 * state with the segment's events in order (epochs, then the snapshot of the segment's last step,
 * then its checkpoint).
 *
 * @example
 * ```ts
 * import { foldSegment, initialState, nextSegment } from "./fold.ts";
 * import { epochBatches } from "../batches.ts";
 * import { mlp, randomState } from "../../mod.ts";
 * import { constant } from "../schedules/mod.ts";
 * import assert from "node:assert/strict";
 *
 * const run = {
 *   epochs: 1, stepsPerEpoch: 2, totalSteps: 2, schedule: constant(0.1), snapshotSteps: [1],
 *   restartSteps: [], notes: [], samples: 4, batchSize: 2, shuffle: false, spec: mlp({ layers: [1, 2] }),
 *   paramCount: 1, replicas: 1, keepLast: Infinity, reportEvery: Infinity, checkpointEvery: Infinity,
 *   validates: false, maxSegmentSteps: 100, seed: 0,
 * };
 * const batchesOf = () => epochBatches(randomState(0), { n: 4, batchSize: 2, shuffle: false });
 * const segment = nextSegment(initialState(run), run, batchesOf);
 * const stats = { loss: new Float32Array([1, 0.5]), correct: new Float32Array([1, 2]) };
 * const { state, events } = foldSegment(initialState(run), segment, { stats, params: new Float32Array([7]) }, run);
 * assert.equal(state.step, 2);
 * assert.deepEqual(events.map((e) => e.type), ["epoch", "snapshot"]);
 * assert.deepEqual(events[0].type === "epoch" && [events[0].loss, events[0].accuracy, events[0].snapshotsTaken], [0.75, 0.75, 1]);
 * assert.deepEqual(state.kept.map((s) => [...s.params]), [[7]]);
 * ```
 *
 * @param state The state before the segment.
 * @param segment The segment that ran.
 * @param readback What was read back after it (what `segment.needs` asked for).
 * @param run The run's plan.
 * @returns The state after the segment and its events.
 * @throws {TrainingDivergedError} at the first non-finite loss, or when the parameters read back
 *   are not finite; it carries the snapshots kept before (a bad snapshot is never kept).
 */
export function foldSegment(
  state: RunState,
  segment: Segment,
  readback: Readback,
  run: RunPlan,
): { readonly state: RunState; readonly events: ReadonlyArray<TrainEvent> } {
  const k = run.replicas;
  const count = segment.to - segment.from;
  const { loss, correct } = readback.stats;
  if (loss.length !== count * k || correct.length !== count * k) {
    throw new SnapfoldError(
      `Cannot fold a segment: the backend returned ${loss.length} losses and ${correct.length} ` +
        `counts for ${count} steps of ${k} replica(s)`,
    );
  }
  const last = segment.to - 1;
  const snapshot = isSnapshotStep(run, last);
  const epochs = foldSteps(state, segment, readback, run, snapshot);
  const params = readback.params;
  if (segment.needs.params) checkParams(params, state, segment, epochs.lossAtLast, run);
  const events: TrainEvent[] = [...epochs.events];
  let kept = state.kept;
  let taken = state.snapshotsTaken;
  if (snapshot) {
    const made = takeSnapshots(params!, taken + 1, last, segment.lrs64[count - 1], run);
    kept = [...kept, ...made].slice(-Math.min(kept.length + made.length, run.keepLast * k));
    taken++;
    for (const s of made) events.push({ type: "snapshot", ...s });
  }
  if (segment.needs.optimizerState) {
    events.push({
      type: "checkpoint",
      checkpoint: {
        epoch: segment.to / run.stepsPerEpoch,
        step: segment.to,
        params: params!.slice(),
        optimizerState: readback.optimizerState!,
        random: readback.random!,
        snapshotsTaken: taken,
      },
    });
  }
  const next: RunState = {
    step: segment.to,
    snapshotsTaken: taken,
    epochLossSum: epochs.lossSum,
    epochCorrect: epochs.correct,
    kept,
    ...(segment.to === run.totalSteps && params !== undefined ? { params } : {}),
  };
  return { state: next, events };
}

/** The epoch events that end inside a segment, after checking every step's loss. */
function foldSteps(
  state: RunState,
  segment: Segment,
  readback: Readback,
  run: RunPlan,
  snapshotAtEnd: boolean,
): { events: EpochEvent[]; lossSum: number[]; correct: number[]; lossAtLast: number } {
  const k = run.replicas;
  const { loss, correct: hits } = readback.stats;
  const lossSum = state.epochLossSum.slice();
  const correct = state.epochCorrect.slice();
  const events: EpochEvent[] = [];
  const n = run.samples;
  const classifies = run.spec.head === "softmax";
  const last = segment.to - 1;
  let lossAtLast = 0;
  for (let i = 0; i < segment.to - segment.from; i++) {
    const step = segment.from + i;
    for (let r = 0; r < k; r++) {
      const value = loss[i * k + r];
      if (!Number.isFinite(value)) {
        throw new TrainingDivergedError({
          step,
          epoch: Math.floor(step / run.stepsPerEpoch),
          loss: value,
          lr: segment.lrs64[i],
          snapshots: state.kept,
        });
      }
      lossSum[r] += value * segment.batchSizes[i];
      correct[r] += hits[i * k + r];
      if (step === last) lossAtLast = value;
    }
    if ((step + 1) % run.stepsPerEpoch !== 0) continue;
    // Regression (a linear head) counts no classes: its events carry no accuracy at all.
    const perReplica = lossSum.map((l, r) =>
      classifies ? { loss: l / n, accuracy: correct[r] / n } : { loss: l / n }
    );
    const atEnd = step === last;
    events.push({
      type: "epoch",
      epoch: (step + 1) / run.stepsPerEpoch - 1,
      step,
      lr: segment.lrs64[i],
      loss: perReplica.reduce((a, m) => a + m.loss, 0) / k,
      ...(classifies ? { accuracy: correct.reduce((a, c) => a + c / n, 0) / k } : {}),
      snapshotsTaken: state.snapshotsTaken + (atEnd && snapshotAtEnd ? 1 : 0),
      ...(k > 1 ? { replicas: perReplica } : {}),
      ...(atEnd && readback.validation !== undefined ? { validation: readback.validation } : {}),
    });
    lossSum.fill(0);
    correct.fill(0);
  }
  return { events, lossSum, correct, lossAtLast };
}

/** Throws TrainingDivergedError when the parameters read back are missing or not finite. */
function checkParams(
  params: Float32Array | undefined,
  state: RunState,
  segment: Segment,
  loss: number,
  run: RunPlan,
): void {
  if (params === undefined || params.length !== run.paramCount * run.replicas) {
    throw new SnapfoldError(
      `Cannot fold a segment: expected ${run.paramCount * run.replicas} parameters read back, ` +
        `got ${params?.length ?? "none"}`,
    );
  }
  const at = firstNonFinite(params);
  if (at < 0) return;
  const bad = params[at];
  const step = segment.to - 1;
  const epoch = Math.floor(step / run.stepsPerEpoch);
  const lr = segment.lrs64[segment.lrs64.length - 1];
  const error = new TrainingDivergedError({ step, epoch, loss, lr, snapshots: state.kept });
  // The loss of every step was finite; the update after it was not.
  error.message = `Training diverged: the parameters became ${bad} by step ${step} (epoch ` +
    `${epoch}, lr ${lr}) while the loss was still finite (${loss}): try a lower learning rate ` +
    `(for example half of the schedule's peak); the ${state.kept.length} snapshot(s) taken ` +
    `before stay available on this error`;
  throw error;
}

/** One snapshot per replica, copied out of the parameters read back. */
function takeSnapshots(
  params: Float32Array,
  index: number,
  step: number,
  lr: number,
  run: RunPlan,
): Snapshot[] {
  const p = run.paramCount;
  const made: Snapshot[] = [];
  for (let r = 0; r < run.replicas; r++) {
    made.push({
      index,
      epoch: Math.floor(step / run.stepsPerEpoch),
      step,
      lr,
      spec: run.spec,
      params: params.slice(r * p, (r + 1) * p),
      ...(run.replicas > 1 ? { replica: r } : {}),
    });
  }
  return made;
}
