/**
 * The ensemble combinator: snapshots plus the rule that combines them, predicting on any backend.
 *
 * Rules come from `COMBINE_RULES` (lib/ops/combine.ts): a soft vote (the weighted mean of the
 * members' softmax probabilities; the default, as in Huang et al. 2017), a hard vote (the weighted
 * majority of the members' argmax; ties go to the lowest class), and for a regressor (`"linear"`
 * head) the weighted mean of the outputs. Members are all snapshots, the last m, or chosen by index;
 * weights default to equal.
 *
 * The members' parameters are stacked into one `[M, paramCount]` vector and predicted by the
 * backend's stacked prediction (`Backend.predict`): one upload, one pass over the rows, one readback.
 * A rule the device can do (the soft vote's mean) is done there; any other rule reads back each
 * member's `[n, outDim]` and combines on the host. Without a backend the CPU's stacked prediction
 * runs synchronously in the caller. The members are summed in a canonical order, so the result does
 * not depend on the order they were given in, to the last bit.
 *
 * One predictor API for every backend: `predictProba`, `predict` and `memberProba` return promises
 * (a device is asynchronous). An ensemble built without a backend also has synchronous twins
 * (`predictProbaSync`, `predictSync`, `memberProbaSync`), for code that cannot wait (a chart's
 * decision regions, a render loop).
 *
 * @module
 */
import { orThrow, validation } from "../validation.ts";
import { argmaxRows } from "../metrics.ts";
import { inputDim, type MlpSpec, outputDim, paramCount } from "../model/mod.ts";
import { COMBINE_RULES, type Vote } from "../ops/combine.ts";
import { predictStackedCpu } from "../backend/cpu/backend.ts";
import type { Backend, PredictOptions } from "../backend/backend.ts";
import type { Snapshot } from "../snapshot.ts";
import {
  canonicalOrder,
  type EnsembleParts,
  headIssue,
  inputIssues,
  validateEnsemble,
} from "./_validate.ts";
import { temperRows } from "./temperature.ts";

/** Options of {@linkcode ensemble}. */
export interface EnsembleOptions {
  /** Combination rule (default `"soft"`); a `"linear"` head always averages outputs. */
  readonly vote?: Vote;
  /** Keep only the last m snapshots (the tutorial's "ensemble of the last n"). */
  readonly last?: number;
  /** Keep the snapshots at these 0-based positions, in this order (excludes `last`). */
  readonly members?: ReadonlyArray<number>;
  /** One non-negative weight per kept member, not all zero (normalised to sum to 1). */
  readonly weights?: ReadonlyArray<number>;
  /**
   * Temperature scaling (Guo et al. 2017) of the soft vote: the probabilities become
   * `softmax(log(p) / temperature)` row by row, `p` the members' weighted mean (default 1, none).
   * Fit it on validation data with `fitTemperature`. Softmax head and soft vote only.
   */
  readonly temperature?: number;
  /**
   * The backend whose stacked prediction runs the members (default: the CPU, synchronously in the
   * caller). The ensemble never disposes it.
   */
  readonly backend?: Backend;
}

/** Options of {@linkcode ensemble} without a backend: the ensemble predicts on the CPU. */
export interface CpuEnsembleOptions extends EnsembleOptions {
  /** Absent: the CPU predicts, synchronously in the caller. */
  readonly backend?: undefined;
}

/** A snapshot ensemble: its members, how they vote, and its predictor (any backend). */
export interface Ensemble {
  /** The kept snapshots, in order. */
  readonly members: ReadonlyArray<Snapshot>;
  /** The network all members share. */
  readonly spec: MlpSpec;
  /** The combination rule (`"soft"` for a `"linear"` head, which averages outputs). */
  readonly vote: Vote;
  /** [M] the members' weights, summing to 1. */
  readonly weights: Float64Array;
  /** The temperature applied to the soft vote's log-probabilities (1: none). */
  readonly temperature: number;
  /** [M, paramCount(spec)] the members' parameters, stacked. */
  readonly stackedParams: Float32Array;
  /**
   * The combined output for `[n, inDim]` inputs: `[n, classes]` probabilities (soft vote), vote
   * fractions (hard vote), or the mean `[n, outDim]` outputs of a `"linear"` head.
   * `n` defaults to `x.length / inDim`. Rejects with a `ConfigError` on bad rows.
   */
  predictProba(x: Rows, n?: number): Promise<Float32Array>;
  /** `[n]` the predicted classes: the argmax of {@linkcode Ensemble.predictProba} (softmax head only). */
  predict(x: Rows, n?: number): Promise<Int32Array>;
  /** One `[n, outDim]` output per member: probabilities (softmax head) or raw outputs (linear head). */
  memberProba(x: Rows, n?: number): Promise<Float32Array[]>;
}

/** An ensemble predicting on the CPU: the asynchronous API plus synchronous twins. */
export interface CpuEnsemble extends Ensemble {
  /** {@linkcode Ensemble.predictProba}, synchronously; throws a `ConfigError` on bad rows. */
  predictProbaSync(x: Rows, n?: number): Float32Array;
  /** {@linkcode Ensemble.predict}, synchronously. */
  predictSync(x: Rows, n?: number): Int32Array;
  /** {@linkcode Ensemble.memberProba}, synchronously. */
  memberProbaSync(x: Rows, n?: number): Float32Array[];
}

/** One stacked prediction to run and what to make of its result. */
interface Job<T> {
  readonly request: PredictOptions;
  finish(out: Float32Array): T;
}

/**
 * Builds an ensemble from snapshots of one network, predicting on the CPU.
 *
 * @example Soft vote of the last two snapshots
 * ```ts
 * import { ensemble, forward, initParams, mlp } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 8, 3] });
 * const snapshots = [1, 2, 3].map((index) => ({
 *   index, epoch: index, step: index, lr: 0, spec, params: initParams(spec, { seed: index }),
 * }));
 * const model = ensemble(snapshots, { last: 2 });
 * const x = new Float32Array([0.5, -1, 2, 0]); // [2, 2]
 * const a = forward(spec, snapshots[1].params, x, 2);
 * const b = forward(spec, snapshots[2].params, x, 2);
 * const p = await model.predictProba(x); // the same call on every backend
 * assert.ok(Math.abs(p[4] - (a[4] + b[4]) / 2) < 1e-6);
 * assert.deepEqual(model.predictProbaSync(x), p); // CPU only: no await needed
 * assert.equal((await model.predict(x)).length, 2);
 * ```
 *
 * @param snapshots The snapshots, all of one network.
 * @param options The vote, the members to keep, their weights and the temperature.
 * @returns The predictor, with synchronous twins.
 * @throws {ConfigError} naming every bad option or snapshot.
 */
export function ensemble(
  snapshots: ReadonlyArray<Snapshot>,
  options?: CpuEnsembleOptions,
): CpuEnsemble;
/**
 * Builds an ensemble from snapshots of one network, predicting on `options.backend` (one upload of
 * all members and one readback per call), or on the CPU when it is absent. Only an ensemble known
 * to have no backend is typed {@linkcode CpuEnsemble}, with the synchronous twins.
 *
 * @example The same ensemble on a backend
 * ```ts
 * import { createBackend, ensemble, initParams, mlp } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 8, 3] });
 * const snapshots = [1, 2].map((index) => ({
 *   index, epoch: index, step: index, lr: 0, spec, params: initParams(spec, { seed: index }),
 * }));
 * const backend = await createBackend("cpu"); // or "webgpu", "auto"
 * try {
 *   const model = ensemble(snapshots, { backend });
 *   const x = new Float32Array([0.5, -1, 2, 0]); // [2, 2]
 *   const p = await model.predictProba(x);
 *   assert.deepEqual(p, await ensemble(snapshots).predictProba(x));
 * } finally {
 *   backend.dispose();
 * }
 * ```
 *
 * @param snapshots The snapshots, all of one network.
 * @param options The backend, the vote, the members, their weights and the temperature.
 * @returns The predictor.
 * @throws {ConfigError} naming every bad option or snapshot.
 */
export function ensemble(snapshots: ReadonlyArray<Snapshot>, options: EnsembleOptions): Ensemble;
export function ensemble(
  snapshots: ReadonlyArray<Snapshot>,
  options: EnsembleOptions = {},
): Ensemble | CpuEnsemble {
  const parts = orThrow("Cannot build ensemble", validateEnsemble(snapshots, options));
  const { members, spec, vote, weights, temperature } = parts;
  const count = paramCount(spec);
  const stackedParams = new Float32Array(members.length * count); // [M, paramCount]
  members.forEach((s, i) => stackedParams.set(s.params, i * count));
  const jobs = predictionJobs(parts, stackedParams);
  const base = { members, spec, vote, weights, temperature, stackedParams };
  const { backend } = options ?? {};
  if (backend !== undefined) {
    const run = async <T>(job: () => Job<T>): Promise<T> => {
      const { request, finish } = job();
      return finish(await backend.predict(request));
    };
    return {
      ...base,
      predictProba: (x, n) => run(() => jobs.proba(x, n)),
      predict: (x, n) => run(() => jobs.classes(x, n)),
      memberProba: (x, n) => run(() => jobs.members(x, n)),
    };
  }
  const runSync = <T>(job: Job<T>): T => job.finish(predictStackedCpu(job.request));
  const later = <T>(f: () => T): Promise<T> => {
    try {
      return Promise.resolve(f());
    } catch (e) {
      return Promise.reject(e);
    }
  };
  return {
    ...base,
    predictProbaSync: (x, n) => runSync(jobs.proba(x, n)),
    predictSync: (x, n) => runSync(jobs.classes(x, n)),
    memberProbaSync: (x, n) => runSync(jobs.members(x, n)),
    predictProba: (x, n) => later(() => runSync(jobs.proba(x, n))),
    predict: (x, n) => later(() => runSync(jobs.classes(x, n))),
    memberProba: (x, n) => later(() => runSync(jobs.members(x, n))),
  };
}

/**
 * `[n, inDim]` rows to predict: a `Float32Array`, or what the data helpers return (a
 * `Float64Array` or plain numbers), converted to float32 once.
 */
export type Rows = Float32Array | Float64Array | ReadonlyArray<number>;

function asFloat32(x: Rows): Float32Array {
  if (x instanceof Float32Array) return x;
  if (x instanceof Float64Array) return Float32Array.from(x);
  if (Array.isArray(x) && x.every((v) => typeof v === "number")) return Float32Array.from(x);
  return x as unknown as Float32Array; // refused by inputIssues, naming x
}

/** The stacked predictions behind each method, and what each makes of the result. */
interface Jobs {
  proba(x: Rows, n?: number): Job<Float32Array>;
  classes(x: Rows, n?: number): Job<Int32Array>;
  members(x: Rows, n?: number): Job<Float32Array[]>;
}

function predictionJobs(parts: EnsembleParts, stackedParams: Float32Array): Jobs {
  const { members, spec, vote, weights, temperature } = parts;
  const count = paramCount(spec);
  const inDim = inputDim(spec);
  const outDim = outputDim(spec);
  const m = members.length;
  const rule = COMBINE_RULES[vote];
  // Members are combined in a canonical order, so the result does not depend on the order the
  // snapshots were given in (float sums are not associative).
  const order = canonicalOrder(members, weights);
  const ordered = new Float32Array(m * count); // [M, paramCount] in canonical order
  order.forEach((i, k) => ordered.set(members[i].params, k * count));
  const orderedWeights32 = Float32Array.from(order, (i) => weights[i]);
  const orderedWeights = Float64Array.from(order, (i) => weights[i]);
  // What the data helpers return (float64 or plain numbers) is converted once, here.
  const rows = (xIn: Rows, n: number | undefined): { x: Float32Array; n: number } => {
    const x = asFloat32(xIn);
    const rowCount = n ?? (x?.length ?? 0) / inDim;
    orThrow("Cannot predict", validation(inputIssues(x, rowCount, inDim), null));
    return { x, n: rowCount };
  };
  const split = (all: Float32Array, n: number): Float32Array[] =>
    Array.from({ length: m }, (_, i) => all.slice(i * n * outDim, (i + 1) * n * outDim));
  const scale = (p: Float32Array) => temperature === 1 ? p : temperRows(p, outDim, temperature);
  const proba = (xIn: Rows, nIn?: number): Job<Float32Array> => {
    const { x, n } = rows(xIn, nIn);
    if (rule.device === "mean") {
      return {
        request: { spec, params: ordered, members: m, weights: orderedWeights32, x, n },
        finish: scale,
      };
    }
    return {
      request: { spec, params: ordered, members: m, x, n, combine: "none" },
      finish: (all) => scale(rule.combine(split(all, n), orderedWeights, n, outDim)),
    };
  };
  return {
    proba,
    classes: (x, n) => {
      if (spec.head !== "softmax") {
        orThrow("Cannot predict classes", validation(headIssue(spec), null));
      }
      const job = proba(x, n);
      return { request: job.request, finish: (out) => argmaxRows(job.finish(out), outDim) };
    },
    members: (xIn, nIn) => {
      const { x, n } = rows(xIn, nIn);
      return {
        request: { spec, params: stackedParams, members: m, x, n, combine: "none" },
        finish: (all) => split(all, n),
      };
    },
  };
}
