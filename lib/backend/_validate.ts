/**
 * The door of every backend: the checks of a step plan, of session options and of prediction
 * options, shared by the CPU backend (lib/backend/cpu/) and the WebGPU backend
 * (lib/backend/webgpu/) so that both reject the same input with the same messages.
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { check, type Validation, validation } from "../validation.ts";
import { paramCount, validateSequential } from "../model/mod.ts";
import { optimizerStateSize, validateOptimizer } from "../optimizers/mod.ts";
import { validateInputs, validateTrainingData } from "../training_data.ts";
import { firstNonFinite } from "../finite.ts";
import type { PredictOptions, SessionOptions, StepPlan, TrainingData } from "./backend.ts";

/** The issues of a plan's field types (checked before anything reads them). */
function planTypeIssues(plan: StepPlan): ConfigIssue[] {
  const { indices, offsets, lrs, resets, firstStep } = plan;
  const issues: ConfigIssue[] = [];
  if (firstStep !== undefined) issues.push(...check.nonNegativeInt("firstStep", firstStep));
  if (!(indices instanceof Int32Array)) {
    issues.push({ field: "indices", message: "must be an Int32Array", got: indices });
  }
  if (!(offsets instanceof Int32Array)) {
    issues.push({ field: "offsets", message: "must be an Int32Array", got: offsets });
  }
  if (!(lrs instanceof Float32Array)) {
    issues.push({ field: "lrs", message: "must be a Float32Array", got: lrs });
  }
  if (resets !== undefined && !(resets instanceof Uint8Array)) {
    issues.push({ field: "resets", message: "must be a Uint8Array when given", got: resets });
  }
  return issues;
}

/**
 * Checks a plan against the data; returns the largest batch.
 *
 * @param plan The steps to run.
 * @param n Number of samples the indices point into.
 * @param batchLimit Extra issues about the largest batch (a backend's own limit), checked after the
 *   boundaries and before the indices.
 * @returns The largest batch, or every issue found.
 */
export function validatePlan(
  plan: StepPlan,
  n: number,
  batchLimit?: (maxRows: number) => ConfigIssue[],
): Validation<number> {
  const { indices, offsets, lrs, resets } = plan ?? ({} as StepPlan);
  const issues = planTypeIssues(plan ?? ({} as StepPlan));
  if (issues.length > 0) return validation(issues, 0);
  const steps = lrs.length;
  issues.push(
    ...check.that(
      offsets.length === steps + 1,
      "offsets",
      `must hold steps + 1 = ${steps + 1} boundaries`,
      offsets,
    ),
  );
  issues.push(
    ...check.that(
      resets === undefined || resets.length === steps,
      "resets",
      `must hold one flag per step (${steps})`,
      resets,
    ),
  );
  let maxRows = 0;
  if (offsets.length === steps + 1) {
    for (let s = 0; s < steps; s++) {
      const rows = offsets[s + 1] - offsets[s];
      if (rows > maxRows) maxRows = rows;
      if (rows < 1) {
        issues.push({
          field: `offsets[${s + 1}]`,
          message: "must exceed the previous boundary (every batch needs a sample)",
          got: offsets[s + 1],
        });
        break;
      }
    }
    issues.push(...check.that(offsets[0] === 0, "offsets[0]", "must be 0", offsets[0]));
    issues.push(
      ...check.that(
        offsets[steps] <= indices.length,
        `offsets[${steps}]`,
        `must not exceed the number of indices (${indices.length})`,
        offsets[steps],
      ),
    );
  }
  if (batchLimit !== undefined) issues.push(...batchLimit(maxRows));
  for (let k = 0; k < indices.length; k++) {
    if (!(indices[k] >= 0 && indices[k] < n)) {
      issues.push({
        field: `indices[${k}]`,
        message: `must be a sample index in [0, ${n})`,
        got: indices[k],
      });
      break;
    }
  }
  for (let s = 0; s < steps; s++) {
    if (!(Number.isFinite(lrs[s]) && lrs[s] >= 0)) {
      issues.push({
        field: `lrs[${s}]`,
        message: "must be a non-negative finite learning rate",
        got: lrs[s],
      });
      break;
    }
  }
  return validation(issues, maxRows);
}

/**
 * Validates session options at the door; all problems at once.
 *
 * @param options The session options.
 * @returns The validated training data, or every issue found.
 */
export function validateSession(options: SessionOptions): Validation<TrainingData> {
  const { spec, optimizer, params, data, replicas = 1, optimizerState, seed } = options ??
    ({} as SessionOptions);
  const issues: ConfigIssue[] = [];
  const specResult = validateSequential(spec);
  if (specResult._tag === "Left") {
    issues.push(...specResult.left.map((i) => ({ ...i, field: `spec.${i.field}` })));
  }
  const optResult = validateOptimizer(optimizer);
  if (optResult._tag === "Left") issues.push(...optResult.left);
  issues.push(...check.positiveInt("replicas", replicas));
  if (seed !== undefined) issues.push(...check.nonNegativeInt("seed", seed));
  let trainingData: TrainingData | undefined;
  if (specResult._tag === "Right") {
    const dataResult = validateTrainingData(spec, data);
    if (dataResult._tag === "Left") {
      issues.push(...dataResult.left.map((i) => ({ ...i, field: `data.${i.field}` })));
    } else trainingData = dataResult.right;
    if (Number.isSafeInteger(replicas) && replicas >= 1) {
      const P = paramCount(spec);
      issues.push(
        ...paramIssues(
          "params",
          params,
          replicas * P,
          `replicas * paramCount = ${replicas} * ${P}`,
        ),
      );
      if (optResult._tag === "Right" && optimizerState !== undefined) {
        const S = optimizerStateSize(optimizer, P);
        issues.push(...check.that(
          optimizerState instanceof Float32Array && optimizerState.length === replicas * S,
          "optimizerState",
          `must be a Float32Array of replicas * optimizerStateSize = ${replicas} * ${S} = ${
            replicas * S
          } floats`,
          optimizerState,
        ));
      }
    }
  }
  return validation(issues, trainingData as TrainingData);
}

function paramIssues(field: string, params: unknown, length: number, what: string): ConfigIssue[] {
  if (!(params instanceof Float32Array) || params.length !== length) {
    return [{
      field,
      message: `must be a Float32Array of ${what} = ${length} floats`,
      got: params,
    }];
  }
  const k = firstNonFinite(params);
  return k < 0 ? [] : [{ field: `${field}[${k}]`, message: "must be finite", got: params[k] }];
}

/**
 * Validates prediction options; all problems at once.
 *
 * @param options The prediction options.
 * @returns The validated inputs, or every issue found.
 */
export function validatePredict(options: PredictOptions): Validation<Float32Array> {
  const { spec, params, members = 1, x, n, combine = "mean", weights } = options ??
    ({} as PredictOptions);
  const issues: ConfigIssue[] = [];
  const specResult = validateSequential(spec);
  if (specResult._tag === "Left") {
    issues.push(...specResult.left.map((i) => ({ ...i, field: `spec.${i.field}` })));
  }
  issues.push(...check.positiveInt("members", members));
  issues.push(...check.oneOf("combine", combine, ["mean", "none"]));
  let inputs: Float32Array | undefined;
  if (specResult._tag === "Right") {
    const inputResult = validateInputs(spec, { x, n });
    if (inputResult._tag === "Left") issues.push(...inputResult.left);
    else inputs = inputResult.right.x;
    if (Number.isSafeInteger(members) && members >= 1) {
      const P = paramCount(spec);
      issues.push(
        ...paramIssues("params", params, members * P, `members * paramCount = ${members} * ${P}`),
      );
    }
  }
  if (weights !== undefined) {
    let ok = weights instanceof Float32Array && weights.length === members;
    let sum = 0;
    if (ok) {
      for (let m = 0; m < members; m++) {
        if (!(Number.isFinite(weights[m]) && weights[m] >= 0)) ok = false;
        sum += weights[m];
      }
    }
    issues.push(...check.that(
      ok && sum > 0,
      "weights",
      `must be a Float32Array of ${members} non-negative finite weights with a positive sum`,
      weights,
    ));
  }
  return validation(issues, inputs as Float32Array);
}
