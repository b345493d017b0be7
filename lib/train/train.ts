/**
 * The training driver: {@linkcode train} runs the segments that `nextSegment` plans on a backend
 * session, reads back what each needs, and yields the events that `foldSegment` returns. Nothing
 * is read per step: on a backend whose reads are costly, epoch events between two readbacks arrive
 * in a burst. {@linkcode collect} and {@linkcode fold} consume a run.
 *
 * @module
 */
import type { Backend, TrainingData, TrainingSession } from "../backend/backend.ts";
import { type Batches, epochBatches } from "../batches.ts";
import { TrainingDivergedError, TrainingInterruptedError } from "../errors.ts";
import { orThrow } from "../validation.ts";
import { accuracy, logLoss, meanSquaredErrorMetric } from "../metrics.ts";
import { initParams, outputDim } from "../model/mod.ts";
import { type RandomState, randomState, restoreRandomState } from "../random.ts";
import { checkRun, type RunPlan, type TrainConfig } from "./config.ts";
import type { CheckedRun, Checkpoint } from "./config.ts";
import type { DoneEvent, EpochEvent, TrainEvent, TrainResult } from "./events.ts";
import {
  foldSegment,
  initialState,
  nextSegment,
  type Readback,
  type RunState,
  type Segment,
} from "./fold.ts";

/** Seed-stream tag for the batch order, so it never reuses the draws of the initialisation. */
const BATCH_STREAM = 0x5eed;

/**
 * Trains once and emits `epoch`, `snapshot`, `checkpoint` and `done` events. The config is checked
 * at the call (every problem in one `ConfigError`). A loss or parameters that become NaN or
 * infinite stop the run with a `TrainingDivergedError`; any other error after the start (a lost
 * device, a disposed backend) with a `TrainingInterruptedError`. Both hold the snapshots taken
 * before.
 *
 * @example The tutorial's setup, shortened
 * ```ts
 * import {
 *   collect, cosineAnnealing, createCpuBackend, makeBlobs, mlp, sgd, splitAt, train,
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
 *   data: trainSet, // a Dataset as splitAt returns it: float64 inputs are converted at the door
 * }));
 * assert.equal(result.snapshots.length, 5);
 * assert.deepEqual(result.snapshots.map((s) => s.epoch), [9, 19, 29, 39, 49]);
 * backend.dispose();
 * ```
 *
 * @param config The run's configuration.
 * @returns The events of the run.
 * @throws {ConfigError} at the call, naming every bad field.
 */
export function train(config: TrainConfig): AsyncIterable<TrainEvent> {
  // Checked eagerly, so that a bad config throws at the call rather than at the first `next()`.
  const checked = orThrow("Cannot train", checkRun(config));
  return { [Symbol.asyncIterator]: () => run(config, checked)[Symbol.asyncIterator]() };
}

async function* run(config: TrainConfig, checked: CheckedRun): AsyncGenerator<TrainEvent> {
  const { plan, data } = checked;
  const started = performance.now();
  const { backend, resume } = config;
  const readbacksAtStart = backend.readbacks;
  const random = resume !== undefined
    ? restoreRandomState(resume.random)
    : randomState([plan.seed, BATCH_STREAM]);
  const init = config.init ?? plan.spec.init ?? "glorot";
  const session = await backend.createSession({
    spec: plan.spec,
    optimizer: config.optimizer,
    params: resume?.params ?? config.initialParams ??
      initParams(plan.spec, { seed: plan.seed, init, replicas: plan.replicas }),
    data,
    optimizerState: resume?.optimizerState,
    replicas: plan.replicas,
    seed: plan.seed,
    ...(config.augment === undefined ? {} : { augment: config.augment }),
  });
  const batchesOf = memoisedBatches(random, plan);
  const validation = checked.validation;
  let state: RunState = initialState(plan, resume);
  try {
    while (state.step < plan.totalSteps) {
      const segment = nextSegment(state, plan, batchesOf);
      session.run(segment.plan);
      const readback = await readBack(session, segment, { backend, plan, validation }, random);
      const folded = foldSegment(state, segment, readback, plan);
      state = folded.state;
      yield* folded.events;
    }
    yield {
      type: "done",
      epochs: plan.epochs,
      steps: plan.totalSteps,
      snapshots: state.kept,
      params: state.params ?? await session.readParams(),
      schedule: plan.schedule.spec,
      readbacks: backend.readbacks - readbacksAtStart,
      trainMs: performance.now() - started,
    };
  } catch (error) {
    if (error instanceof TrainingDivergedError) throw error;
    const epoch = Math.floor(state.step / plan.stepsPerEpoch);
    throw new TrainingInterruptedError({
      step: state.step,
      epoch,
      snapshots: state.kept,
      cause: error,
    });
  } finally {
    session.dispose();
  }
}

/** The batches of each epoch, drawn once, in order, when the epoch's first step is planned. */
function memoisedBatches(random: RandomState, plan: RunPlan): (epoch: number) => Batches {
  let epoch = -1;
  let batches: Batches | undefined;
  return (e) => {
    if (e !== epoch) {
      batches = epochBatches(random, {
        n: plan.samples,
        batchSize: plan.batchSize,
        shuffle: plan.shuffle,
      });
      epoch = e;
    }
    return batches!;
  };
}

/** Reads what a segment needs; the random state is taken before the next epoch's draw. */
async function readBack(
  session: TrainingSession,
  segment: Segment,
  run: { backend: Backend; plan: RunPlan; validation?: TrainingData },
  random: RandomState,
): Promise<Readback> {
  const { backend, plan } = run;
  const { needs } = segment;
  const stats = await session.readStats();
  const params = needs.params ? await session.readParams() : undefined;
  const optimizerState = needs.optimizerState ? await session.readOptimizerState() : undefined;
  // Metrics of non-finite parameters are meaningless; the fold reports the divergence instead.
  const validation = needs.validation && params!.every(Number.isFinite)
    ? await evaluate(backend, plan, params!, run.validation!)
    : undefined;
  return {
    stats,
    ...(params !== undefined ? { params } : {}),
    ...(optimizerState !== undefined ? { optimizerState } : {}),
    ...(needs.random ? { random: random.snapshot() } : {}),
    ...(validation !== undefined ? { validation } : {}),
  };
}

/** Validation loss and accuracy, averaged over replicas. */
async function evaluate(
  backend: Backend,
  plan: RunPlan,
  params: Float32Array,
  data: TrainingData,
): Promise<{ loss: number; accuracy?: number }> {
  const { spec, replicas } = plan;
  const out = await backend.predict({
    spec,
    params,
    members: replicas,
    combine: "none",
    x: data.x,
    n: data.n,
  });
  const width = outputDim(spec);
  let loss = 0;
  let accuracySum = 0;
  // out: [replicas, n, width]
  for (let r = 0; r < replicas; r++) {
    const member = out.subarray(r * data.n * width, (r + 1) * data.n * width);
    if (spec.head === "softmax") {
      loss += logLoss(member, data.y as Int32Array);
      accuracySum += accuracy(member, data.y as Int32Array);
    } else {
      loss += meanSquaredErrorMetric(member, data.y as Float32Array);
    }
  }
  // Regression has no accuracy: absent, not 0.
  return spec.head === "softmax"
    ? { loss: loss / replicas, accuracy: accuracySum / replicas }
    : { loss: loss / replicas };
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
 * Runs a training to the end and returns its snapshots and history. When the run stops early, the
 * error (`TrainingDivergedError`, `TrainingInterruptedError`) holds the snapshots taken before.
 *
 * @example
 * ```ts
 * import { collect } from "@snapfold/snapfold";
 * import type { TrainEvent } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * async function* events(): AsyncGenerator<TrainEvent> {
 *   yield { type: "epoch", epoch: 0, step: 3, lr: 0.1, loss: 1, accuracy: 0.5, snapshotsTaken: 0 };
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
