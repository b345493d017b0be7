/**
 * The door of the metrics: shapes, finite values and label ranges of their inputs, checked with the
 * applicative validation so that every bad argument is named at once.
 *
 * @module
 */
import {
  all,
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
import type { Labels, Probabilities } from "./metrics.ts";

/** Most bins of {@linkcode expectedCalibrationError}: it allocates three float64 arrays of this size. */
const MAX_BINS = 100_000;

export const binsCheck: Check = (f, v) =>
  check.that(
    typeof v === "number" && Number.isSafeInteger(v) && v >= 1 && v <= MAX_BINS,
    f,
    `must be an integer in [1, ${MAX_BINS}] (10 to 20 bins is usual)`,
    v,
  );

function isFloatArray(value: unknown): value is Probabilities {
  return value instanceof Float32Array || value instanceof Float64Array;
}

const labelArray: Check = (f, v) =>
  check.that(
    v instanceof Int32Array || Array.isArray(v),
    f,
    "must be an Int32Array or an array of integer classes",
    v,
  );

const predictionArray: Check = (f, v) =>
  check.that(
    v instanceof Int32Array || Array.isArray(v) || isFloatArray(v),
    f,
    "must be [n] classes (an Int32Array or an array of integers) or [n, classes] probabilities " +
      "(a Float32Array or Float64Array)",
    v,
  );

const numericArray: Check = (f, v) =>
  check.that(
    isFloatArray(v) || Array.isArray(v),
    f,
    "must be a Float32Array, a Float64Array or an array of numbers",
    v,
  );

const nonEmpty: Check = (f, v) =>
  check.that((v as ArrayLike<unknown>).length > 0, f, "must hold at least one entry", v);

function labelList(name: string, labels: unknown): Validation<Labels> {
  return field<Labels>(name, labels, labelArray, nonEmpty);
}

/** Every label an integer in `[0, classes)`; reports the first that is not. */
function inRange(name: string, labels: Labels, classes: number): Validation<Labels> {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= classes) {
      const range = Number.isFinite(classes) ? `[0, ${classes})` : "[0, infinity)";
      return invalid(`${name}[${i}]`, `must be an integer class in ${range}`, y);
    }
  }
  return valid(labels);
}

function finiteValues<T extends ArrayLike<number>>(name: string, values: T): Validation<T> {
  return field<T>(name, values, (f, v) => check.finiteValues(f, v as ArrayLike<number>));
}

/** `[n, columns]` finite values. */
export function rowsOf(name: string, values: unknown, columns: unknown): Validation<Probabilities> {
  return andThen(
    struct({
      values: field<Probabilities>(name, values, check.floatArray),
      columns: field<number>("columns", columns, check.positiveInt),
    }),
    ({ values, columns }) =>
      andThen(
        field<Probabilities>(name, values, (f) =>
          check.that(
            values.length % columns === 0,
            f,
            `must have a length divisible by columns (${columns})`,
            values.length,
          )),
        (v) => finiteValues(name, v),
      ),
  );
}

/** Probabilities checked against labels. */
export interface Scored {
  readonly probs: Probabilities;
  readonly labels: Labels;
  readonly n: number;
  readonly classes: number;
}

/** `[n, classes]` finite probabilities and `n` labels in `[0, classes)`. */
export function scoredInputs(probs: unknown, labels: unknown, name = "probs"): Validation<Scored> {
  return andThen(
    struct({
      probs: field<Probabilities>(name, probs, check.floatArray),
      labels: labelList("labels", labels),
    }),
    ({ probs, labels }) => {
      const n = labels.length;
      const classes = probs.length / n;
      if (!Number.isInteger(classes) || classes < 1) {
        return invalid(name, `must hold n x classes values for the ${n} labels`, probs);
      }
      return map(
        struct({ probs: finiteValues(name, probs), labels: inRange("labels", labels, classes) }),
        () => ({ probs, labels, n, classes }),
      );
    },
  );
}

/** Predicted classes or probabilities against labels; `classes` is null for classes. */
export function accuracyInputs(
  predicted: unknown,
  labels: unknown,
): Validation<{ predicted: ArrayLike<number>; labels: Labels; classes: number | null }> {
  if (isFloatArray(predicted)) {
    return map(
      scoredInputs(predicted, labels, "predicted"),
      (s) => ({ predicted: s.probs, labels: s.labels, classes: s.classes }),
    );
  }
  return andThen(
    struct({
      predicted: field<Labels>("predicted", predicted, predictionArray),
      labels: labelList("labels", labels),
    }),
    ({ predicted, labels }) =>
      map(
        struct({
          predicted: andThen(
            field<Labels>("predicted", predicted, (f) =>
              check.that(
                predicted.length === labels.length,
                f,
                `must hold ${labels.length} classes`,
                predicted,
              )),
            (p) => inRange("predicted", p, Infinity),
          ),
          labels: inRange("labels", labels, Infinity),
        }),
        () => ({ predicted, labels, classes: null }),
      ),
  );
}

/** Members given as classes or probabilities, all of one row count; `classes` is 1 without probabilities. */
export function memberInputs(
  members: unknown,
  classes: unknown,
): Validation<{ members: Array<Int32Array | Probabilities>; classes: number }> {
  return andThen(
    field<ReadonlyArray<unknown>>("members", members, (f, v) =>
      check.that(
        Array.isArray(v) && v.length >= 2,
        f,
        "must hold at least two members",
        Array.isArray(v) ? v.length : v,
      )),
    (list) =>
      andThen(
        struct({
          classes: list.some(isFloatArray)
            ? field<number>("classes", classes, check.positiveInt)
            : valid(1),
          kinds: all(
            // Array.from visits the holes of a sparse array, which map would skip.
            Array.from(list, (m, i) =>
              field<Int32Array | Probabilities>(`members[${i}]`, m, memberArray)),
          ),
        }),
        ({ classes: k, kinds }) => {
          const rows = (m: Int32Array | Probabilities) =>
            m instanceof Int32Array ? m.length : m.length / k;
          const n = rows(kinds[0]);
          const checked = all(Array.from(kinds, (m, i) =>
            andThen<Int32Array | Probabilities, Int32Array | Probabilities>(
              field<Int32Array | Probabilities>(`members[${i}]`, m, (f) =>
                check.that(
                  Number.isInteger(rows(m)) && rows(m) === n && n > 0,
                  f,
                  `must hold the same positive number of rows as members[0] (${n})`,
                  m,
                )),
              (m) =>
                m instanceof Int32Array
                  ? valid(m)
                  : finiteValues<Int32Array | Probabilities>(`members[${i}]`, m),
            )));
          return map(checked, (members) => ({ members, classes: k }));
        },
      ),
  );
}

const memberArray: Check = (f, v) =>
  check.that(
    v instanceof Int32Array || isFloatArray(v),
    f,
    "must be an Int32Array or a Float32Array/Float64Array",
    v,
  );

/** Predictions and targets: numeric arrays of one positive length, every value finite. */
export function regressionInputs(predicted: unknown, target: unknown): Validation<unknown> {
  return andThen(
    struct({
      predicted: field<ArrayLike<number>>("predicted", predicted, numericArray, nonEmpty),
      target: field<ArrayLike<number>>("target", target, numericArray),
    }),
    ({ predicted, target }) =>
      andThen(
        field("target", target, (f) =>
          check.that(
            target.length === predicted.length,
            f,
            `must have the length of predicted (${predicted.length})`,
            target.length,
          )),
        () =>
          struct({
            predicted: finiteValues("predicted", predicted),
            target: finiteValues("target", target),
          }),
      ),
  );
}
