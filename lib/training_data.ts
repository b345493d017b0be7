/**
 * Validation of training data and prediction inputs at the door: shapes against the network, labels
 * against the classes, and non-finite inputs. Every backend calls these in `createSession` and
 * `predict`, so bad data is reported before any work starts, all problems at once.
 *
 * @module
 */
import type { TrainingData } from "./backend/backend.ts";
import { check, type ConfigIssue, type Validation, validation } from "./errors.ts";
import { inputDim, type MlpSpec, outputDim } from "./model/mod.ts";

/** Inputs to run through a network: `x` is [n, inDim] row-major. */
export interface Inputs {
  /** [n, inDim] row-major inputs. */
  readonly x: Float32Array;
  /** Number of rows. */
  readonly n: number;
}

function isNumericArray(value: unknown): value is ArrayLike<number> {
  return (ArrayBuffer.isView(value) && !(value instanceof DataView)) ||
    (Array.isArray(value) && value.every((v) => typeof v === "number"));
}

/** Reports the first non-finite value of `values` ([rows, width]) and how many there are. */
function nonFinite(field: string, values: ArrayLike<number>, width: number): ConfigIssue[] {
  let first = -1;
  let count = 0;
  for (let k = 0; k < values.length; k++) {
    if (!Number.isFinite(values[k])) {
      if (first < 0) first = k;
      count++;
    }
  }
  if (count === 0) return [];
  const row = Math.floor(first / width);
  const column = first % width;
  return [{
    field: `${field}[${row}][${column}]`,
    message: `must be finite (${count} non-finite value${count === 1 ? "" : "s"} in ${field}; ` +
      "remove or impute them)",
    got: values[first],
  }];
}

/**
 * Validates inputs for a network: `n` a positive integer, `x` numeric of length `n * inDim`, every
 * value finite. Converts a plain or `Float64Array` `x` to `Float32Array`.
 *
 * @example
 * ```ts
 * import { mlp, validateInputs } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 3] });
 * const bad = validateInputs(spec, { x: new Float32Array([1, NaN, 3, Infinity]), n: 2 });
 * assert.equal(bad._tag, "Left");
 * if (bad._tag === "Left") assert.equal(bad.left[0].field, "x[0][1]");
 * ```
 *
 * @param spec The network the inputs go through.
 * @param inputs The inputs and their row count.
 * @returns The inputs (with `x` as a `Float32Array`), or every issue found.
 */
export function validateInputs(spec: MlpSpec, inputs: Inputs): Validation<Inputs> {
  const { x, n } = inputs ?? ({} as Inputs);
  const inDim = inputDim(spec);
  const issues: ConfigIssue[] = check.that(
    typeof n === "number" && Number.isSafeInteger(n) && n >= 1,
    "n",
    "must be a positive integer (the dataset is empty or its size is wrong; give at least one row)",
    n,
  );
  let x32: Float32Array | undefined;
  if (!isNumericArray(x)) {
    issues.push({
      field: "x",
      message: "must be a Float32Array of [n, inDim] row-major inputs",
      got: x,
    });
  } else {
    x32 = x instanceof Float32Array ? x : Float32Array.from(x);
    if (issues.length === 0 && x32.length !== n * inDim) {
      const width = x32.length / n;
      issues.push(
        Number.isInteger(width)
          ? {
            field: "x",
            message: `must have ${inDim} columns per row, the width of the first layer ` +
              `(it has ${width}; fix the data or the layers)`,
            got: x,
          }
          : {
            field: "x",
            message: `must hold n * inDim = ${n} * ${inDim} = ${n * inDim} values`,
            got: x,
          },
      );
    }
    issues.push(...nonFinite("x", x32, inDim));
  }
  return validation(issues, { x: x32 as Float32Array, n });
}

/**
 * Validates training data for a network, collecting every problem: the inputs (see
 * {@linkcode validateInputs}); for a softmax head, `n` integer labels in `[0, classes)`; for a linear
 * head, `n * outDim` finite targets. Converts numeric arrays to the typed arrays backends use
 * (`Int32Array` labels, `Float32Array` inputs and targets).
 *
 * @example
 * ```ts
 * import { mlp, validateTrainingData } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 3] });
 * const result = validateTrainingData(spec, {
 *   x: new Float32Array([0, 1, 2, NaN]),
 *   y: new Int32Array([0, 3]),
 *   n: 2,
 * });
 * assert.equal(result._tag, "Left");
 * if (result._tag === "Left") assert.deepEqual(result.left.map((i) => i.field), ["x[1][1]", "y[1]"]);
 * ```
 *
 * @param spec The network to train.
 * @param data Inputs, labels or targets, and the number of samples.
 * @returns The data (typed as backends need it), or every issue found.
 */
export function validateTrainingData(spec: MlpSpec, data: TrainingData): Validation<TrainingData> {
  const { x, y, n } = data ?? ({} as TrainingData);
  const inputs = validateInputs(spec, { x, n });
  const issues: ConfigIssue[] = inputs._tag === "Left" ? [...inputs.left] : [];
  const rows = typeof n === "number" && Number.isSafeInteger(n) && n >= 1 ? n : undefined;
  const outDim = outputDim(spec);
  let yOut: Int32Array | Float32Array | undefined;
  if (!isNumericArray(y)) {
    issues.push({
      field: "y",
      message: spec.head === "softmax"
        ? "must be an Int32Array of n class labels"
        : "must be a Float32Array of [n, outDim] targets",
      got: y,
    });
  } else if (spec.head === "softmax") {
    if (rows !== undefined && y.length !== rows) {
      issues.push({ field: "y", message: `must hold one label per sample (${rows})`, got: y });
    }
    let first = -1;
    let count = 0;
    for (let k = 0; k < y.length; k++) {
      const label = y[k];
      if (!(Number.isInteger(label) && label >= 0 && label < outDim)) {
        if (first < 0) first = k;
        count++;
      }
    }
    if (count > 0) {
      issues.push({
        field: `y[${first}]`,
        message: `must be an integer class label in [0, ${outDim}) (${count} bad label${
          count === 1 ? "" : "s"
        } in y; the last layer has ${outDim} classes)`,
        got: y[first],
      });
    }
    yOut = y instanceof Int32Array ? y : Int32Array.from(y);
  } else {
    if (rows !== undefined && y.length !== rows * outDim) {
      issues.push({
        field: "y",
        message: `must hold n * outDim = ${rows} * ${outDim} = ${rows * outDim} targets`,
        got: y,
      });
    }
    yOut = y instanceof Float32Array ? y : Float32Array.from(y);
    issues.push(...nonFinite("y", yOut, outDim));
  }
  return validation(issues, {
    x: inputs._tag === "Right" ? inputs.right.x : x,
    y: yOut as Int32Array | Float32Array,
    n,
  });
}
