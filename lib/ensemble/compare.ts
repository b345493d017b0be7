/**
 * One comparison, one call: every way of using training runs (a single model, a snapshot ensemble,
 * chosen members, averaged weights, a true ensemble) scored the same way on the same test rows,
 * with temperature scaling fitted on validation rows only.
 *
 * @module
 */
import type { Backend } from "../backend/backend.ts";
import type { ConfigIssue } from "../errors.ts";
import { orThrow, validation } from "../validation.ts";
import {
  accuracy,
  brierScore,
  expectedCalibrationError,
  logLoss,
  pairwiseDisagreement,
} from "../metrics.ts";
import { summary } from "../model/mod.ts";
import type { Snapshot } from "../snapshot.ts";
import { ensemble } from "./ensemble.ts";
import { fitTemperature, temperRows } from "./temperature.ts";

/** Labelled rows: `x` [n, inDim] and `y` [n] classes. */
export interface LabelledRows {
  /** [n, inDim] row-major inputs. */
  readonly x: Float32Array;
  /** [n] classes. */
  readonly y: Int32Array;
}

/** One method to compare: the members it predicts with and what training them cost. */
export interface ComparedMethod {
  /** A stable name for the row (e.g. `"snapshot"`, `"single-cosine"`). */
  readonly id: string;
  /** The snapshots the method predicts with (one for a single model), all of one network. */
  readonly snapshots: ReadonlyArray<Snapshot>;
  /** Member weights, one per snapshot (default equal); choose them on validation data only. */
  readonly weights?: ReadonlyArray<number>;
  /** Optimizer steps spent to train every network the members came from. */
  readonly trainSteps: number;
}

/** Options of {@linkcode compareMethods}. */
export interface CompareMethodsOptions {
  /** Rows the scores are computed on (touched for nothing else). */
  readonly test: LabelledRows;
  /** Rows the temperature is fitted on. */
  readonly validation: LabelledRows;
  /** The methods, in the order of the rows. */
  readonly methods: ReadonlyArray<ComparedMethod>;
  /** Where the members predict (default: the CPU). */
  readonly backend?: Backend;
}

/** One row of {@linkcode compareMethods}: test scores of one method. */
export interface MethodComparison {
  /** The method's id. */
  readonly id: string;
  /** Members it predicts with. */
  readonly members: number;
  /** Fraction of test rows classified right. */
  readonly accuracy: number;
  /** Mean test log-loss (natural log) of the soft vote. */
  readonly logLoss: number;
  /** Mean test log-loss after temperature scaling fitted on validation. */
  readonly logLossTemperature: number;
  /** The fitted temperature. */
  readonly temperature: number;
  /** Brier score (mean over rows of the squared error summed over classes). */
  readonly brier: number;
  /** Expected calibration error (15 bins). */
  readonly ece: number;
  /** Mean pairwise disagreement of the members' predicted classes (null for one member). */
  readonly disagreement: number | null;
  /** Optimizer steps spent. */
  readonly trainSteps: number;
  /** Multiply-adds per predicted row: members x `summary(spec).multiplyAdds`. */
  readonly inferenceCost: number;
}

/** The issue, when `ok` is false. */
const need = (ok: boolean, issue: ConfigIssue): ConfigIssue[] => ok ? [] : [issue];

function rowsIssues(field: string, rows: LabelledRows): ConfigIssue[] {
  const ok = rows !== null && typeof rows === "object" && rows.x instanceof Float32Array &&
    rows.y instanceof Int32Array && rows.y.length > 0 && rows.x.length % rows.y.length === 0;
  return need(ok, {
    field,
    message: "must be { x: Float32Array [n, inDim], y: Int32Array [n] } with n > 0",
    got: rows,
  });
}

function compareIssues(options: CompareMethodsOptions): ConfigIssue[] {
  const issues = [
    ...rowsIssues("test", options?.test),
    ...rowsIssues("validation", options?.validation),
  ];
  const methods = options?.methods;
  if (!Array.isArray(methods) || methods.length === 0) {
    return [...issues, { field: "methods", message: "must be a non-empty list", got: methods }];
  }
  const seen = new Set<string>();
  methods.forEach((m, i) => {
    issues.push(...need(typeof m?.id === "string" && m.id !== "" && !seen.has(m.id), {
      field: `methods[${i}].id`,
      message: "must be a non-empty string used by no other method",
      got: m?.id,
    }));
    seen.add(m?.id);
    issues.push(...need(Array.isArray(m?.snapshots) && m.snapshots.length > 0, {
      field: `methods[${i}].snapshots`,
      message: "must be a non-empty list of snapshots",
      got: m?.snapshots,
    }));
    issues.push(...need(Number.isSafeInteger(m?.trainSteps) && m.trainSteps >= 0, {
      field: `methods[${i}].trainSteps`,
      message: "must be a non-negative integer",
      got: m?.trainSteps,
    }));
  });
  return issues;
}

function weightedMean(
  members: ReadonlyArray<Float32Array>,
  weights: ReadonlyArray<number> | undefined,
): Float32Array {
  const w = weights ?? members.map(() => 1);
  const total = w.reduce((a, b) => a + b, 0);
  const out = new Float32Array(members[0].length);
  const acc = new Float64Array(members[0].length);
  members.forEach((p, m) => {
    const f = w[m] / total;
    for (let i = 0; i < p.length; i++) acc[i] += f * p[i];
  });
  out.set(acc);
  return out;
}

const logOf = (p: Float32Array) => Float64Array.from(p, (v) => Math.log(v));

async function compareOne(
  method: ComparedMethod,
  options: CompareMethodsOptions,
): Promise<MethodComparison> {
  const { test, validation: val, backend } = options;
  const model = ensemble(method.snapshots, { backend, weights: method.weights });
  const classes = summary(model.spec).layers.at(-1)!.outputWidth;
  const testMembers = await model.memberProba(test.x);
  const valMembers = await model.memberProba(val.x);
  const probs = weightedMean(testMembers, method.weights);
  const fit = fitTemperature(logOf(weightedMean(valMembers, method.weights)), val.y);
  const tempered = temperRows(probs, classes, fit.temperature);
  const count = method.snapshots.length;
  return {
    id: method.id,
    members: count,
    accuracy: accuracy(probs, test.y),
    logLoss: logLoss(probs, test.y),
    logLossTemperature: logLoss(tempered, test.y),
    temperature: fit.temperature,
    brier: brierScore(probs, test.y),
    ece: expectedCalibrationError(probs, test.y),
    disagreement: count > 1 ? pairwiseDisagreement(testMembers, classes) : null,
    trainSteps: method.trainSteps,
    inferenceCost: count * summary(model.spec).multiplyAdds,
  };
}

/**
 * Scores every method on the test rows: accuracy, log-loss, log-loss after temperature scaling
 * (one temperature per method, fitted on the validation rows), Brier score, ECE, the members' mean
 * pairwise disagreement, the training steps spent and the inference cost. Members are combined by
 * their weighted mean probability (soft vote).
 *
 * @example A one-member method against a two-member one
 * ```ts
 * import { compareMethods, initParams, mlp } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 4, 3] });
 * const snap = (index: number) => ({
 *   index, epoch: 0, step: 0, lr: 0, spec, params: initParams(spec, { seed: index }),
 * });
 * const rows = { x: new Float32Array([0, 1, 1, 0, -1, 2]), y: new Int32Array([0, 1, 2]) };
 * const table = await compareMethods({
 *   test: rows,
 *   validation: rows,
 *   methods: [
 *     { id: "single", snapshots: [snap(1)], trainSteps: 10 },
 *     { id: "pair", snapshots: [snap(1), snap(2)], trainSteps: 20 },
 *   ],
 * });
 * assert.deepEqual(table.map((r) => r.inferenceCost), [2 * 4 + 4 * 3, 2 * (2 * 4 + 4 * 3)]);
 * assert.equal(table[0].disagreement, null);
 * assert.ok(table[1].logLossTemperature <= table[1].logLoss + 1e-9); // fitted on the same rows
 * ```
 *
 * @param options Test and validation rows, the methods and the backend.
 * @returns One row per method, in order.
 * @throws {ConfigError} naming every bad option (rejected promise).
 */
export async function compareMethods(
  options: CompareMethodsOptions,
): Promise<MethodComparison[]> {
  orThrow("Cannot compare methods", validation(compareIssues(options), null));
  const rows: MethodComparison[] = [];
  for (const method of options.methods) rows.push(await compareOne(method, options));
  return rows;
}
