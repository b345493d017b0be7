/**
 * The ensemble combinator: snapshots plus the rule that combines them, and the ensemble-size curve.
 *
 * Rules: a soft vote (the weighted mean of the members' softmax probabilities; the default, as in
 * Huang et al. 2017), a hard vote (the weighted majority of the members' argmax; ties go to the
 * lowest class), and for a regressor (`"linear"` head) the weighted mean of the outputs. Members are
 * all snapshots, the last m, or chosen by index; weights default to equal.
 *
 * The members' parameters are stacked into one `[M, paramCount]` vector and each member makes one
 * pass over the rows with the model's own `forward`, so an ensemble predicts exactly what its
 * members predict. The members are summed in a canonical order, so the result does not depend on
 * the order they were given in, to the last bit.
 *
 * @module
 */
import { check, type ConfigIssue, orThrow, type Validation, validation } from "./errors.ts";
import { accuracy, type Labels, logLoss } from "./metrics.ts";
import {
  inputDim,
  isModelSpec,
  type MlpSpec,
  outputDim,
  paramCount,
  sameSpec,
} from "./model/mod.ts";
import { predictStackedCpu } from "./backend/cpu/backend.ts";
import type { Snapshot } from "./snapshot.ts";

/** How members are combined: mean of probabilities (`"soft"`) or majority of argmax (`"hard"`). */
export type Vote = "soft" | "hard";

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
}

/** A snapshot ensemble: its members and how they vote. */
export interface Ensemble {
  /** The kept snapshots, in order. */
  readonly members: ReadonlyArray<Snapshot>;
  /** The network all members share. */
  readonly spec: MlpSpec;
  /** The combination rule (`"soft"` for a `"linear"` head, which averages outputs). */
  readonly vote: Vote;
  /** [M] the members' weights, summing to 1. */
  readonly weights: Float64Array;
  /** [M, paramCount(spec)] the members' parameters, stacked. */
  readonly stackedParams: Float32Array;
  /**
   * The combined output for `[n, inDim]` inputs: `[n, classes]` probabilities (soft vote), vote
   * fractions (hard vote), or the mean `[n, outDim]` outputs of a `"linear"` head.
   * `n` defaults to `x.length / inDim`.
   */
  predictProba(x: Float32Array, n?: number): Float32Array;
  /** `[n]` the predicted classes: the argmax of {@linkcode Ensemble.predictProba} (softmax head only). */
  predict(x: Float32Array, n?: number): Int32Array;
  /** One `[n, outDim]` output per member: probabilities (softmax head) or raw outputs (linear head). */
  memberProba(x: Float32Array, n?: number): Float32Array[];
}

/**
 * Builds an ensemble from snapshots of one network.
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
 * const p = model.predictProba(x);
 * assert.ok(Math.abs(p[4] - (a[4] + b[4]) / 2) < 1e-6);
 * assert.equal(model.predict(x).length, 2);
 * ```
 *
 * @param snapshots The snapshots, all of one network.
 * @param options The vote, the members to keep and their weights.
 * @returns The predictor.
 * @throws {ConfigError} naming every bad option or snapshot.
 */
export function ensemble(
  snapshots: ReadonlyArray<Snapshot>,
  options: EnsembleOptions = {},
): Ensemble {
  const { members, spec, vote, weights } = orThrow(
    "Cannot build ensemble",
    validateEnsemble(snapshots, options),
  );
  const count = paramCount(spec);
  const inDim = inputDim(spec);
  const outDim = outputDim(spec);
  const m = members.length;
  const stackedParams = new Float32Array(m * count); // [M, paramCount]
  for (let i = 0; i < m; i++) stackedParams.set(members[i].params, i * count);

  const rows = (x: Float32Array, n: number | undefined): number => {
    const rowCount = n ?? (x?.length ?? 0) / inDim;
    orThrow("Cannot predict", validation(inputIssues(x, rowCount, inDim), null));
    return rowCount;
  };
  // Members are combined in a canonical order, so the result does not depend on the order the
  // snapshots were given in (float sums are not associative).
  const order = canonicalOrder(members, weights);
  const ordered = new Float32Array(m * count); // [M, paramCount] in canonical order
  order.forEach((i, k) => ordered.set(members[i].params, k * count));
  const orderedWeights = Float32Array.from(order, (i) => weights[i]);
  const memberOutputs = (x: Float32Array, n: number): Float32Array[] => {
    // One pass over the rows for all members (the CPU backend's stacked prediction).
    const all = predictStackedCpu({
      spec,
      params: stackedParams,
      members: m,
      x,
      n,
      combine: "none",
    });
    return Array.from({ length: m }, (_, i) => all.slice(i * n * outDim, (i + 1) * n * outDim));
  };
  const predictProba = (x: Float32Array, n?: number): Float32Array => {
    const rowCount = rows(x, n);
    if (vote === "soft") {
      return predictStackedCpu({
        spec,
        params: ordered,
        members: m,
        weights: orderedWeights,
        x,
        n: rowCount,
      });
    }
    const outputs = memberOutputs(x, rowCount);
    return combine(
      order.map((i) => outputs[i]),
      Float64Array.from(order, (i) => weights[i]),
      vote,
      rowCount,
      outDim,
    );
  };
  return {
    members,
    spec,
    vote,
    weights,
    stackedParams,
    predictProba,
    predict(x: Float32Array, n?: number): Int32Array {
      if (spec.head !== "softmax") {
        orThrow("Cannot predict classes", validation(headIssue(spec), null));
      }
      return argmax(predictProba(x, n), outDim);
    },
    memberProba(x: Float32Array, n?: number): Float32Array[] {
      return memberOutputs(x, rows(x, n));
    },
  };
}

/** One point of {@linkcode ensembleSizeCurve}. */
export interface EnsembleSizePoint {
  /** Number of snapshots in the ensemble (1..M). */
  readonly members: number;
  /** The `index` of the snapshot scored alone: the n-th from the end (backward) or start (forward). */
  readonly singleIndex: number;
  /** Accuracy of that snapshot alone. */
  readonly singleAccuracy: number;
  /** Accuracy of the ensemble of the last (backward) or first (forward) n snapshots. */
  readonly ensembleAccuracy: number;
  /** Log-loss of that snapshot alone. */
  readonly singleLogLoss: number;
  /** Log-loss of the ensemble. */
  readonly ensembleLogLoss: number;
}

/** Options of {@linkcode ensembleSizeCurve}. */
export interface EnsembleSizeCurveOptions {
  /** `[n, inDim]` inputs to score on. */
  readonly x: Float32Array;
  /** `[n]` their classes. */
  readonly y: Labels;
  /**
   * `"backward"` (default; the tutorial): the n-th snapshot from the end, and the last n.
   * `"forward"` (the paper's figures): the n-th snapshot, and the first n.
   */
  readonly direction?: "backward" | "forward";
  /** Combination rule (default `"soft"`). */
  readonly vote?: Vote;
}

/**
 * Accuracy (and log-loss) of single snapshots and of growing ensembles, for n = 1..M: the table the
 * tutorial prints (`> n: single=..., ensemble=...`) and the curve the paper plots. Each member
 * predicts once; the ensembles are running sums of those predictions. A hard vote's log-loss is
 * that of its vote fractions (clipped).
 *
 * @example
 * ```ts
 * import { ensembleSizeCurve, initParams, mlp } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 8, 2] });
 * const snapshots = [1, 2, 3].map((index) => ({
 *   index, epoch: index, step: index, lr: 0, spec, params: initParams(spec, { seed: index }),
 * }));
 * const x = new Float32Array([1, 2, -1, 0, 3, 3]); // [3, 2]
 * const curve = ensembleSizeCurve(snapshots, { x, y: [0, 1, 1] });
 * assert.deepEqual(curve.map((p) => p.singleIndex), [3, 2, 1]);
 * assert.equal(curve[0].singleAccuracy, curve[0].ensembleAccuracy);
 * ```
 *
 * @param snapshots The snapshots in training order.
 * @param options The data, the direction and the vote.
 * @returns One point per ensemble size.
 * @throws {ConfigError} naming every bad option (a `"linear"` head is rejected).
 */
export function ensembleSizeCurve(
  snapshots: ReadonlyArray<Snapshot>,
  options: EnsembleSizeCurveOptions,
): EnsembleSizePoint[] {
  const { x, y, direction = "backward", vote = "soft" } = options ??
    ({} as EnsembleSizeCurveOptions);
  const issues: ConfigIssue[] = [...check.oneOf("direction", direction, ["backward", "forward"])];
  const base = validateEnsemble(snapshots, { vote });
  if (base._tag === "Left") issues.push(...base.left);
  else {
    const spec = base.right.spec;
    if (spec.head !== "softmax") issues.push(...headIssue(spec));
    const n = Array.isArray(y) || y instanceof Int32Array ? y.length : NaN;
    issues.push(...check.positiveInt("y.length", n));
    issues.push(...inputIssues(x, n, inputDim(spec)));
    const classes = outputDim(spec);
    if (Number.isSafeInteger(n)) {
      let bad = -1;
      for (let i = 0; i < n && bad < 0; i++) {
        const label = y[i];
        if (!Number.isSafeInteger(label) || label < 0 || label >= classes) bad = i;
      }
      if (bad >= 0) {
        issues.push({
          field: `y[${bad}]`,
          message: `must be a class label in [0, ${classes})`,
          got: y[bad],
        });
      }
    }
  }
  orThrow("Cannot compute ensemble-size curve", validation(issues, null));
  const ordered = direction === "backward" ? [...snapshots].reverse() : [...snapshots];
  const model = ensemble(ordered, { vote });
  const n = y.length;
  const classes = outputDim(model.spec);
  const outputs = model.memberProba(x, n);
  const sum = new Float64Array(n * classes); // [n, classes] running sum of probabilities or votes
  const mean = new Float64Array(n * classes);
  const points: EnsembleSizePoint[] = [];
  for (let k = 0; k < ordered.length; k++) {
    const single = outputs[k];
    if (vote === "soft") {
      for (let j = 0; j < sum.length; j++) sum[j] += single[j];
    } else {
      const votes = argmax(single, classes);
      for (let i = 0; i < n; i++) sum[i * classes + votes[i]] += 1;
    }
    for (let j = 0; j < sum.length; j++) mean[j] = sum[j] / (k + 1);
    points.push({
      members: k + 1,
      singleIndex: ordered[k].index,
      singleAccuracy: accuracy(single, y),
      ensembleAccuracy: accuracy(mean, y),
      singleLogLoss: logLoss(single, y),
      ensembleLogLoss: logLoss(mean, y),
    });
  }
  return points;
}

/**
 * The order in which members are summed: by index, step, epoch, weight, then parameters. Floating
 * point sums depend on their order; summing in one canonical order makes the combined output
 * bit-for-bit independent of the order the members were given in (members equal under this order
 * have equal outputs and weights, so swapping them changes nothing).
 */
function canonicalOrder(members: ReadonlyArray<Snapshot>, weights: Float64Array): number[] {
  const compare = (a: number, b: number): number => {
    const sa = members[a];
    const sb = members[b];
    const key = sa.index - sb.index || sa.step - sb.step || sa.epoch - sb.epoch ||
      weights[a] - weights[b];
    if (key !== 0 && !Number.isNaN(key)) return key;
    for (let k = 0; k < sa.params.length; k++) {
      const d = sa.params[k] - sb.params[k];
      if (d !== 0 && !Number.isNaN(d)) return d;
    }
    return 0;
  };
  return members.map((_, i) => i).sort(compare);
}

/** Weighted soft vote, hard vote, or mean output; sums in float64 (`outputs`: M x [n, outDim]). */
function combine(
  outputs: ReadonlyArray<Float32Array>,
  weights: Float64Array,
  vote: Vote,
  n: number,
  outDim: number,
): Float32Array {
  const acc = new Float64Array(n * outDim); // [n, outDim]
  for (let i = 0; i < outputs.length; i++) {
    const w = weights[i];
    const out = outputs[i];
    if (vote === "hard") {
      const votes = argmax(out, outDim);
      for (let r = 0; r < n; r++) acc[r * outDim + votes[r]] += w;
    } else {
      for (let j = 0; j < acc.length; j++) acc[j] += w * out[j];
    }
  }
  return Float32Array.from(acc);
}

/** Row argmax, ties to the lowest class. */
function argmax(values: ArrayLike<number>, classes: number): Int32Array {
  const n = values.length / classes;
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) {
      if (values[r * classes + c] > values[r * classes + best]) best = c;
    }
    out[r] = best;
  }
  return out;
}

function headIssue(spec: MlpSpec): ConfigIssue[] {
  return [{
    field: "spec.head",
    message:
      'must be "softmax" for classes: for a regressor use predictProba, which gives the mean output',
    got: spec.head,
  }];
}

function inputIssues(x: unknown, n: number, inDim: number): ConfigIssue[] {
  if (!(x instanceof Float32Array)) {
    return [{ field: "x", message: "must be a Float32Array of [n, inDim] rows", got: x }];
  }
  if (!Number.isSafeInteger(n) && x.length % inDim !== 0) {
    return [{
      field: "x",
      message: `must hold whole rows of inDim = ${inDim} values (the network's input width), ` +
        `but its length ${x.length} is not a multiple of ${inDim}`,
    }];
  }
  const issues = check.positiveInt("n", n);
  if (issues.length === 0 && x.length !== n * inDim) {
    issues.push({
      field: "x",
      message: `must hold n x inDim = ${n} x ${inDim} values`,
      got: x,
    });
  }
  if (issues.length === 0) {
    // NaN or an infinity would silently turn every member's probabilities into NaN.
    let bad = 0;
    let first = -1;
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(x[i])) {
        if (first < 0) first = i;
        bad++;
      }
    }
    if (bad > 0) {
      issues.push({
        field: "x",
        message: `must be finite: ${bad} value(s) are NaN or infinite, the first at row ` +
          `${Math.floor(first / inDim)}, column ${first % inDim}`,
      });
    }
  }
  return issues;
}

interface EnsembleParts {
  readonly members: ReadonlyArray<Snapshot>;
  readonly spec: MlpSpec;
  readonly vote: Vote;
  readonly weights: Float64Array;
}

function validateEnsemble(
  snapshots: ReadonlyArray<Snapshot>,
  options: EnsembleOptions,
): Validation<EnsembleParts> {
  const { vote = "soft", last, members: chosen, weights } = options ?? {};
  const issues: ConfigIssue[] = [
    ...check.knownKeys(options ?? {}, ["vote", "last", "members", "weights"]),
    ...check.oneOf("vote", vote, ["soft", "hard"]),
  ];
  if (!Array.isArray(snapshots) || snapshots.length === 0) {
    issues.push({ field: "snapshots", message: "must be a non-empty list", got: snapshots });
    return validation(issues, null as never);
  }
  const spec = snapshots[0]?.spec;
  if (!isModelSpec(spec)) {
    issues.push({ field: "snapshots[0].spec", message: "must be an MLP spec", got: spec });
    return validation(issues, null as never);
  }
  const count = paramCount(spec);
  snapshots.forEach((s, i) => {
    if (!sameSpec(s?.spec ?? ({ layers: [] } as unknown as MlpSpec), spec)) {
      issues.push({
        field: `snapshots[${i}].spec`,
        message: "must equal the spec of snapshots[0]: an ensemble combines one network",
        got: s?.spec,
      });
    } else if (!(s.params instanceof Float32Array) || s.params.length !== count) {
      issues.push({
        field: `snapshots[${i}].params`,
        message: `must be a Float32Array of ${count} parameters`,
        got: s.params,
      });
    }
  });
  if (spec.head !== "softmax" && vote === "hard") {
    issues.push({
      field: "vote",
      message: 'must be "soft" for a "linear" head: outputs are averaged',
      got: vote,
    });
  }
  let kept: number[] = snapshots.map((_, i) => i);
  if (last !== undefined && chosen !== undefined) {
    issues.push({ field: "members", message: "must not be given together with last", got: chosen });
  } else if (last !== undefined) {
    const lastIssues = [
      ...check.positiveInt("last", last),
      ...check.that(
        last <= snapshots.length,
        "last",
        `must be at most the number of snapshots (${snapshots.length})`,
        last,
      ),
    ];
    issues.push(...lastIssues.slice(0, 1));
    if (lastIssues.length === 0) kept = kept.slice(snapshots.length - last);
  } else if (chosen !== undefined) {
    const ok = Array.isArray(chosen) && chosen.length > 0 &&
      chosen.every((i) => Number.isSafeInteger(i) && i >= 0 && i < snapshots.length) &&
      new Set(chosen).size === chosen.length;
    issues.push(
      ...check.that(
        ok,
        "members",
        `must be distinct 0-based positions in [0, ${snapshots.length})`,
        chosen,
      ),
    );
    if (ok) kept = [...chosen];
  }
  let w = new Float64Array(kept.length).fill(1 / kept.length);
  if (weights !== undefined) {
    const ok = Array.isArray(weights) && weights.length === kept.length &&
      weights.every((v) => typeof v === "number" && Number.isFinite(v) && v >= 0) &&
      weights.some((v) => v > 0);
    issues.push(
      ...check.that(
        ok,
        "weights",
        `must be ${kept.length} non-negative finite numbers, not all zero (one per member)`,
        weights,
      ),
    );
    if (ok) {
      const total = weights.reduce((a, b) => a + b, 0);
      w = Float64Array.from(weights, (v) => v / total);
    }
  }
  return validation(issues, {
    members: kept.map((i) => snapshots[i]),
    spec,
    vote: vote as Vote,
    weights: w,
  });
}
