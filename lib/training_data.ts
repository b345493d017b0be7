/**
 * Validation of training data and prediction inputs at the door: shapes against the network, labels
 * against the classes, and non-finite inputs. Every backend calls these in `createSession` and
 * `predict`, so bad data is reported before any work starts, all problems at once.
 *
 * @module
 */
import type { TrainingData } from "./backend/backend.ts";
import { countNonFinite, firstNonFinite } from "./finite.ts";
import { inputDim, isModelSpec, type MlpSpec, outputDim } from "./model/mod.ts";
import {
  andThen,
  type Check,
  check,
  field,
  invalid,
  map,
  struct,
  valid,
  type Validation,
} from "./validation.ts";

/** Inputs to run through a network: `x` is [n, inDim] row-major. */
export interface Inputs {
  /** [n, inDim] row-major inputs. */
  readonly x: Float32Array;
  /** Number of rows. */
  readonly n: number;
}

/** A numeric typed array (not a DataView, not BigInt) or an array of numbers. */
function isNumericArray(value: unknown): value is ArrayLike<number> {
  if (ArrayBuffer.isView(value)) {
    return !(value instanceof DataView || value instanceof BigInt64Array ||
      value instanceof BigUint64Array);
  }
  return Array.isArray(value) && value.every((v) => typeof v === "number");
}

function numeric(message: string): Check {
  return (f, v) => check.that(isNumericArray(v), f, message, v);
}

/** Reports the first non-finite value of `values` ([rows, width]) and how many there are. */
function nonFinite(field: string, values: Float32Array, width: number): Validation<unknown> {
  const first = firstNonFinite(values);
  if (first < 0) return valid(values);
  const count = countNonFinite(values, first);
  const row = Math.floor(first / width);
  const column = first % width;
  return invalid(
    `${field}[${row}][${column}]`,
    `must be finite (${count} non-finite value${count === 1 ? "" : "s"} in ${field}; ` +
      "remove or impute them)",
    values[first],
  );
}

function specOf(spec: unknown): Validation<MlpSpec> {
  return field<MlpSpec>(
    "spec",
    spec,
    (f, v) => check.that(isModelSpec(v), f, "must be a model spec (from mlp)", v),
  );
}

const rowsCheck: Check = (f, v) =>
  check.that(
    typeof v === "number" && Number.isSafeInteger(v) && v >= 1,
    f,
    "must be a positive integer (the dataset is empty or its size is wrong; give at least one row)",
    v,
  );

/**
 * `n` rows of `inDim` finite inputs, converted to float32 (`scan` false: the finite scan is left
 * out, for inputs this module has just checked; see {@linkcode validateTrainingData}).
 */
function inputsOf(inDim: number, x: unknown, n: unknown, scan = true): Validation<Inputs> {
  const given = struct({
    n: field<number>("n", n, rowsCheck),
    x: map(
      field<ArrayLike<number>>(
        "x",
        x,
        numeric("must be a Float32Array of [n, inDim] row-major inputs"),
      ),
      (v) => v instanceof Float32Array ? v : Float32Array.from(v),
    ),
  });
  return andThen(given, ({ n, x }) => {
    const width = x.length / n;
    const shape = x.length === n * inDim ? valid(x) : invalid(
      "x",
      Number.isInteger(width)
        ? `must have ${inDim} columns per row, the width of the first layer ` +
          `(it has ${width}; fix the data or the layers)`
        : `must hold n * inDim = ${n} * ${inDim} = ${n * inDim} values`,
      x,
    );
    const finite = scan ? nonFinite("x", x, inDim) : valid(x);
    return map(struct({ shape, finite }), () => ({ x, n }));
  });
}

/** `rows` integer class labels in `[0, classes)`, as an `Int32Array`. */
function labelsOf(y: unknown, rows: number | undefined, classes: number): Validation<Int32Array> {
  return andThen(
    field<ArrayLike<number>>("y", y, numeric("must be an Int32Array of n class labels")),
    (y) => {
      let first = -1;
      let count = 0;
      for (let k = 0; k < y.length; k++) {
        const label = y[k];
        if (!(Number.isInteger(label) && label >= 0 && label < classes)) {
          if (first < 0) first = k;
          count++;
        }
      }
      const length = rows === undefined || y.length === rows
        ? valid(y)
        : invalid("y", `must hold one label per sample (${rows})`, y);
      const range = count === 0 ? valid(y) : invalid(
        `y[${first}]`,
        `must be an integer class label in [0, ${classes}) (${count} bad label${
          count === 1 ? "" : "s"
        } in y; the last layer has ${classes} classes)`,
        y[first],
      );
      return map(
        struct({ length, range }),
        () => y instanceof Int32Array ? y : Int32Array.from(y),
      );
    },
  );
}

/** `rows x outDim` finite regression targets, as a `Float32Array`. */
function targetsOf(y: unknown, rows: number | undefined, outDim: number): Validation<Float32Array> {
  return andThen(
    field<ArrayLike<number>>("y", y, numeric("must be a Float32Array of [n, outDim] targets")),
    (y) => {
      const y32 = y instanceof Float32Array ? y : Float32Array.from(y);
      const length = rows === undefined || y.length === rows * outDim ? valid(y) : invalid(
        "y",
        `must hold n * outDim = ${rows} * ${outDim} = ${rows * outDim} targets`,
        y,
      );
      return map(struct({ length, finite: nonFinite("y", y32, outDim) }), () => y32);
    },
  );
}

/** Tolerance on the sum of each row of soft targets (float32 probabilities sum to 1 within it). */
const SOFT_ROW_SUM_TOLERANCE = 1e-3;

/**
 * `rows x classes` soft targets (distillation): finite, non-negative, each row summing to 1.
 */
function softTargetsOf(
  y: unknown,
  rows: number | undefined,
  classes: number,
): Validation<Float32Array> {
  return andThen(targetsOf(y, rows, classes), (y) => {
    let first = -1;
    let count = 0;
    for (let r = 0; r * classes < y.length; r++) {
      let sum = 0;
      let negative = false;
      for (let c = 0; c < classes; c++) {
        const q = y[r * classes + c];
        sum += q;
        if (q < 0) negative = true;
      }
      if (negative || !(Math.abs(sum - 1) <= SOFT_ROW_SUM_TOLERANCE)) {
        if (first < 0) first = r;
        count++;
      }
    }
    return count === 0 ? valid(y) : invalid(
      `y[${first}]`,
      `must be a probability vector: non-negative and summing to 1 within ` +
        `${SOFT_ROW_SUM_TOLERANCE} (${count} bad row${count === 1 ? "" : "s"} in y)`,
      Array.from(y.subarray(first * classes, (first + 1) * classes)),
    );
  });
}

/** The soft-target fields of training data, checked: `targets` and `temperature`. */
function softOptionsOf(
  spec: MlpSpec,
  targets: unknown,
  temperature: unknown,
): Validation<{ soft: boolean; temperature: number }> {
  const kind = field<"labels" | "soft">(
    "targets",
    targets ?? "labels",
    (f, v) => check.oneOf(f, v, ["labels", "soft"]),
  );
  return andThen(kind, (kind) => {
    const soft = kind === "soft";
    return map(
      struct({
        head: soft && spec.head !== "softmax"
          ? invalid(
            "targets",
            'must be "labels" for a linear head (soft targets need softmax)',
            kind,
          )
          : valid(kind),
        temperature: field<number>(
          "temperature",
          temperature ?? 1,
          (f, v) =>
            soft || temperature === undefined
              ? check.that(
                typeof v === "number" && Number.isFinite(v) && v > 0 && v <= 1e4,
                f,
                "must be a positive finite number (at most 1e4)",
                v,
              )
              : check.that(false, f, 'is only used with targets: "soft"', v),
        ),
      }),
      ({ temperature }) => ({ soft, temperature }),
    );
  });
}

/**
 * Validates inputs for a network: `n` a positive integer, `x` numeric of length `n * inDim`, every
 * value finite. Converts a plain or `Float64Array` `x` to `Float32Array`.
 *
 * @example
 * ```ts
 * import { mlp } from "@snapfold/snapfold";
 * import { validateInputs } from "./training_data.ts";
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
  return andThen(specOf(spec), (spec) => {
    const { x, n } = (inputs ?? {}) as Partial<Inputs>;
    return inputsOf(inputDim(spec), x, n);
  });
}

/**
 * Validates training data for a network, collecting every problem: the inputs (see
 * {@linkcode validateInputs}); for a softmax head, `n` integer labels in `[0, classes)`; for a linear
 * head, `n * outDim` finite targets; with `targets: "soft"` (softmax head), `n * classes` target
 * probabilities, each row non-negative and summing to 1, and a positive `temperature`. Converts numeric arrays to the typed arrays backends use
 * (`Int32Array` labels, `Float32Array` inputs and targets).
 *
 * @example
 * ```ts
 * import { mlp } from "@snapfold/snapfold";
 * import { validateTrainingData } from "./training_data.ts";
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
  const key = isModelSpec(spec) ? checkedKey(spec) : undefined;
  const seen = key !== undefined && typeof data === "object" && data !== null &&
    CHECKED.get(data) === key;
  return map(checkTrainingData(spec, data, !seen), (checked) => {
    Object.freeze(checked);
    CHECKED.set(checked, checkedKey(spec));
    return checked;
  });
}

/** What of a spec the data were checked against: the widths at both ends and the head. */
function checkedKey(spec: MlpSpec): string {
  return `${inputDim(spec)} ${outputDim(spec)} ${spec.head}`;
}

/**
 * The objects {@linkcode validateTrainingData} returned (frozen), with the spec they passed for:
 * `train` validates its data when it is called and hands that object to the backend's
 * `createSession` on the first step, which validates again (sessions are public). The second check
 * of the same object against a spec of the same input width, output width and head leaves out only
 * the finite scan of the inputs (MNIST's 6.3 million values, scanned once per run): the shapes,
 * labels and targets are checked again, since labels changed in between would send a kernel to
 * read outside a row. Only objects this module made are listed, so a caller's own data object is
 * always checked in full; inputs made non-finite in between surface as a diverged loss.
 */
const CHECKED = new WeakMap<object, string>();

function checkTrainingData(
  spec: MlpSpec,
  data: TrainingData,
  scanInputs: boolean,
): Validation<TrainingData> {
  return andThen(specOf(spec), (spec) => {
    const { x, y, n, targets, temperature } = (data ?? {}) as Partial<TrainingData>;
    const rows = typeof n === "number" && Number.isSafeInteger(n) && n >= 1 ? n : undefined;
    const outDim = outputDim(spec);
    // Soft targets (distillation): [n, classes] probabilities instead of labels.
    if (targets !== undefined || temperature !== undefined) {
      const soft = targets === "soft" && spec.head === "softmax";
      return map(
        struct({
          options: softOptionsOf(spec, targets, temperature),
          inputs: inputsOf(inputDim(spec), x, n, scanInputs),
          y: soft
            ? softTargetsOf(y, rows, outDim)
            : spec.head === "softmax"
            ? labelsOf(y, rows, outDim)
            : targetsOf(y, rows, outDim),
        }),
        ({ options, inputs, y }): TrainingData =>
          soft
            ? { x: inputs.x, y, n: inputs.n, targets: "soft", temperature: options.temperature }
            : { x: inputs.x, y, n: inputs.n },
      );
    }
    return map(
      struct({
        inputs: inputsOf(inputDim(spec), x, n, scanInputs),
        y: spec.head === "softmax" ? labelsOf(y, rows, outDim) : targetsOf(y, rows, outDim),
      }),
      ({ inputs, y }) => ({ x: inputs.x, y, n: inputs.n }),
    );
  });
}
