/**
 * Datasets: scikit-learn's `make_blobs`, reproduced exactly, and the small helpers a training run
 * needs next (splits, one-hot labels, conversion to `Float32Array`).
 *
 * A {@linkcode Dataset} keeps features as a row-major `Float64Array` `[n, nFeatures]` and labels
 * as an `Int32Array` `[n]`; {@linkcode toFloat32} converts features for training.
 *
 * @module
 */
import {
  andThen,
  type Check,
  check,
  field,
  invalid,
  map,
  options as optionsBag,
  orThrow,
  struct,
  valid,
  type Validation,
} from "./validation.ts";
import { type MakeBlobsOptions, validateMakeBlobsOptions } from "./blobs_options.ts";
import { randomState, validateSeed } from "./random.ts";

/** Labelled rows: the shape every helper of this module works on. */
export interface Dataset {
  /** Row-major features, `[n, nFeatures]`. */
  readonly x: Float64Array;
  /** Integer labels, `[n]`. */
  readonly y: Int32Array;
  /** Number of rows. */
  readonly n: number;
  /** Number of features (columns of `x`). */
  readonly nFeatures: number;
}

/** What {@linkcode makeBlobs} returns: scikit-learn's `X`, `y` and `centers`, plus their sizes. */
export interface Blobs extends Dataset {
  /** Row-major cluster centers, `[nCenters, nFeatures]`. */
  readonly centers: Float64Array;
  /** Number of samples (the same as `n`). */
  readonly nSamples: number;
  /** Number of clusters. */
  readonly nCenters: number;
}

export {
  type BlobsConfig,
  type MakeBlobsOptions,
  MAX_BLOB_VALUES,
  validateMakeBlobsOptions,
} from "./blobs_options.ts";

/**
 * Isotropic Gaussian blobs, exactly as scikit-learn 1.2's
 * `make_blobs(..., random_state=seed, return_centers=True)` makes them.
 *
 * The draws follow scikit-learn's order on NumPy's legacy `RandomState`: one `uniform` per center
 * coordinate (row-major) when the centers are drawn, then `normal(centers[i], std[i])` for the
 * points of each center in turn, then a `shuffle` of the row indices. Coordinates agree with
 * scikit-learn's to about 1e-15 relative (only `log` in the Gaussian draw may round differently);
 * labels are identical.
 *
 * @example The tutorial's data set: 1100 points around 3 centers
 * ```ts
 * import { makeBlobs } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const blobs = makeBlobs({ nSamples: 1100, centers: 3, clusterStd: 2, randomState: 2 });
 * assert.equal(blobs.x.length, 1100 * 2);
 * assert.deepEqual(new Set(blobs.y), new Set([0, 1, 2]));
 * assert.equal(blobs.centers.length, 3 * 2);
 * ```
 *
 * @param options The sizes, spreads and seed (see {@linkcode MakeBlobsOptions}).
 * @returns The points, their labels and the centers.
 * @throws {ConfigError} Naming every bad option.
 */
export function makeBlobs(options: MakeBlobsOptions = {}): Blobs {
  const config = orThrow("Cannot make blobs", validateMakeBlobsOptions(options));
  const { nCenters, nFeatures, samplesPerCenter, clusterStd } = config;
  const rng = randomState(config.randomState);

  let centers = config.centers;
  if (centers === null) {
    const [lo, hi] = config.centerBox;
    centers = new Float64Array(nCenters * nFeatures); // [nCenters, nFeatures]
    for (let i = 0; i < centers.length; i++) centers[i] = rng.uniform(lo, hi);
  }

  let n = 0;
  for (let i = 0; i < nCenters; i++) n += samplesPerCenter[i];
  let x = new Float64Array(n * nFeatures); // [n, nFeatures]
  let y = new Int32Array(n); // [n]
  let row = 0;
  for (let i = 0; i < nCenters; i++) {
    const std = clusterStd[i];
    for (let r = 0; r < samplesPerCenter[i]; r++, row++) {
      y[row] = i;
      for (let j = 0; j < nFeatures; j++) {
        x[row * nFeatures + j] = rng.normal(centers[i * nFeatures + j], std);
      }
    }
  }

  if (config.shuffle) {
    // sklearn.utils.shuffle: shuffle arange(n) in place, then index X and y with it.
    const order = rng.permutation(n);
    const xs = new Float64Array(n * nFeatures);
    const ys = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      const from = order[r];
      ys[r] = y[from];
      for (let j = 0; j < nFeatures; j++) xs[r * nFeatures + j] = x[from * nFeatures + j];
    }
    x = xs;
    y = ys;
  }
  return { x, y, n, nFeatures, centers, nSamples: n, nCenters };
}

/**
 * Splits off the first `n` rows from the rest (copies), as the tutorial trains on the first 100
 * of 1100 points and tests on the other 1000.
 *
 * @example
 * ```ts
 * import { makeBlobs, splitAt } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const blobs = makeBlobs({ nSamples: 1100, centers: 3, clusterStd: 2, randomState: 2 });
 * const [train, test] = splitAt(blobs, 100);
 * assert.equal(train.n, 100);
 * assert.equal(test.n, 1000);
 * assert.equal(test.x[0], blobs.x[200]);
 * ```
 *
 * @param data The rows to split.
 * @param n Number of rows in the first part, an integer in `[0, data.n]`.
 * @returns The first `n` rows and the remaining rows.
 * @throws {ConfigError} When `data` is malformed or `n` is out of range.
 */
export function splitAt(data: Dataset, n: number): readonly [Dataset, Dataset] {
  orThrow(
    "Cannot split dataset",
    andThen(
      struct({ data: datasetOf(data), n: field<number>("n", n, check.nonNegativeInt) }),
      (v) =>
        field("n", v.n, (f, k) =>
          check.that(
            v.n <= v.data.n,
            f,
            `must be an integer between 0 and the number of rows (${v.data.n})`,
            k,
          )),
    ),
  );
  const f = data.nFeatures;
  return [
    { x: data.x.slice(0, n * f), y: data.y.slice(0, n), n, nFeatures: f },
    { x: data.x.slice(n * f), y: data.y.slice(n), n: data.n - n, nFeatures: f },
  ];
}

/** Options of {@linkcode shuffleSplit}; give `testSize`, `trainSize` or both. */
export interface ShuffleSplitOptions {
  /**
   * Test rows: a fraction in `(0, 1)` (rounded up) or a count. Default: the complement of
   * `trainSize`, or 0.25 when neither is given.
   */
  readonly testSize?: number;
  /** Train rows: a fraction in `(0, 1)` (rounded down) or a count. Default: the complement. */
  readonly trainSize?: number;
  /** Seed of the shuffle (as {@linkcode randomState}). Default 0. */
  readonly seed?: number | ReadonlyArray<number>;
}

/** The two parts of a {@linkcode shuffleSplit}. */
export interface TrainTestSplit {
  /** Rows to train on. */
  readonly train: Dataset;
  /** Rows held out. */
  readonly test: Dataset;
}

/**
 * A seeded shuffled split into train and test rows, identical to scikit-learn's
 * `train_test_split(x, y, test_size=..., train_size=..., random_state=seed)`: the test rows are
 * the first entries of `permutation(n)`, the train rows the next ones.
 *
 * @example
 * ```ts
 * import { makeBlobs, shuffleSplit } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const blobs = makeBlobs({ nSamples: 40, randomState: 1 });
 * const { train, test } = shuffleSplit(blobs, { testSize: 0.25, seed: 3 });
 * assert.equal(train.n, 30);
 * assert.equal(test.n, 10);
 * ```
 *
 * @param data The rows to split.
 * @param options Sizes and seed.
 * @returns The train and test rows (copies).
 * @throws {ConfigError} Naming every bad option.
 */
export function shuffleSplit(data: Dataset, options: ShuffleSplitOptions = {}): TrainTestSplit {
  const { nTrain, nTest, seed } = orThrow("Cannot split dataset", splitSizes(data, options));
  const order = randomState(seed).permutation(data.n);
  return {
    test: takeRows(data, order.subarray(0, nTest)),
    train: takeRows(data, order.subarray(nTest, nTest + nTrain)),
  };
}

/**
 * One-hot encodes labels: row `i` has a 1 in column `labels[i]`.
 *
 * @example
 * ```ts
 * import { oneHot } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const encoded = oneHot(new Int32Array([2, 0]), 3); // [2, 3]
 * assert.deepEqual(Array.from(encoded), [0, 0, 1, 1, 0, 0]);
 * ```
 *
 * @param labels `[n]` labels in `[0, classes)`.
 * @param classes Number of classes (default: the largest label + 1).
 * @returns `[n, classes]` row-major.
 * @throws {ConfigError} When a label is negative or not below `classes`.
 */
export function oneHot(labels: Int32Array, classes?: number): Float32Array {
  const k = orThrow("Cannot one-hot encode labels", oneHotClasses(labels, classes));
  const out = new Float32Array(labels.length * k); // [n, classes]
  for (let i = 0; i < labels.length; i++) out[i * k + labels[i]] = 1;
  return out;
}

/**
 * Converts features to `Float32Array` for training (rounding each value to the nearest float32).
 *
 * @example
 * ```ts
 * import { toFloat32 } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(Array.from(toFloat32(new Float64Array([0.5, 1 / 3]))), [0.5, Math.fround(1 / 3)]);
 * ```
 *
 * @param x Float64 values.
 * @returns The same values in float32.
 */
export function toFloat32(x: Float64Array): Float32Array {
  orThrow(
    "Cannot convert to float32",
    field("x", x, (f, v) =>
      check.that(
        (ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array) &&
          !(v instanceof BigUint64Array)) ||
          (Array.isArray(v) && v.every((e) => typeof e === "number")),
        f,
        "must be a Float64Array (or another numeric typed array, or an array of numbers)",
        v,
      )),
  );
  return Float32Array.from(x);
}

/** Largest one-hot matrix {@linkcode oneHot} builds: `n x classes` float32 values (512 MiB). */
export const MAX_ONE_HOT_VALUES = 2 ** 27;

function datasetOf(data: unknown): Validation<Dataset> {
  return field<Dataset>("data", data, (f, v) => {
    if (typeof v !== "object" || v === null) {
      return check.that(false, f, "must be a dataset { x, y, n, nFeatures }", v);
    }
    const d = v as Dataset;
    const ok = d.x instanceof Float64Array && d.y instanceof Int32Array &&
      Number.isSafeInteger(d.n) && d.n >= 0 && Number.isSafeInteger(d.nFeatures) &&
      d.nFeatures >= 1 && d.x.length === d.n * d.nFeatures && d.y.length === d.n;
    return check.that(
      ok,
      f,
      "must hold x: Float64Array [n, nFeatures] and y: Int32Array [n]",
      { n: d.n, nFeatures: d.nFeatures, x: d.x, y: d.y },
    );
  });
}

const SPLIT_OPTIONS: ReadonlyArray<string> = ["testSize", "trainSize", "seed"];

const sizeCheck: Check = (f, v) =>
  check.that(
    v === undefined ||
      (typeof v === "number" && ((v > 0 && v < 1) || (Number.isSafeInteger(v) && v >= 1))),
    f,
    "must be a fraction in (0, 1) or a positive integer",
    v,
  );

/** Rows of each part of a {@linkcode shuffleSplit}, and its seed. */
function splitSizes(
  data: unknown,
  options: unknown,
): Validation<{ nTrain: number; nTest: number; seed: number | ReadonlyArray<number> }> {
  const given = struct({
    data: datasetOf(data),
    options: andThen(optionsBag(options, SPLIT_OPTIONS), (o) =>
      struct({
        testSize: field<number | undefined>("testSize", o.testSize, sizeCheck),
        trainSize: field<number | undefined>("trainSize", o.trainSize, sizeCheck),
        seed: validateSeed("seed", o.seed ?? 0),
      })),
  });
  return andThen(given, ({ data: { n }, options: { testSize, trainSize, seed } }) => {
    // As scikit-learn's _validate_shuffle_split: fractions of tests round up, of trains down.
    const fromTest = testSize === undefined && trainSize === undefined ? 0.25 : testSize;
    const test = fromTest === undefined ? null : fromTest < 1 ? Math.ceil(fromTest * n) : fromTest;
    const train = trainSize === undefined
      ? null
      : trainSize < 1
      ? Math.floor(trainSize * n)
      : trainSize;
    const nTrain = train ?? n - (test as number);
    const nTest = test ?? n - nTrain;
    return map(
      field("testSize, trainSize", { nTrain, nTest }, (f, v) =>
        check.that(
          nTrain >= 1 && nTest >= 1 && nTrain + nTest <= n,
          f,
          `must leave at least one row in each part, ${n} rows in all`,
          v,
        )),
      () => ({ nTrain, nTest, seed }),
    );
  });
}

/** The number of classes of a one-hot encoding, with the labels checked against it. */
function oneHotClasses(labels: unknown, classes: unknown): Validation<number> {
  const given = struct({
    labels: field<Int32Array>(
      "labels",
      labels,
      (f, v) => check.that(v instanceof Int32Array, f, "must be an Int32Array", v),
    ),
    classes: classes === undefined
      ? valid(undefined)
      : field<number>("classes", classes, check.positiveInt),
  });
  return andThen(given, ({ labels, classes }) => {
    let max = -1;
    let bad = -1;
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] > max) max = labels[i];
      if (bad < 0 && (labels[i] < 0 || (classes !== undefined && labels[i] >= classes))) bad = i;
    }
    const k = classes ?? max + 1;
    if (bad >= 0) return invalid(`labels[${bad}]`, `must be in [0, ${k})`, labels[bad]);
    const n = labels.length;
    return field<number>(classes === undefined ? "labels" : "classes", k, (f) =>
      check.that(
        n * k <= MAX_ONE_HOT_VALUES,
        f,
        `must make at most ${MAX_ONE_HOT_VALUES} one-hot values (n x classes = ${n} x ${k}` +
          `${classes === undefined ? `, from the largest label ${max}` : ""}): encode fewer ` +
          "rows at a time, or check the labels",
        classes === undefined ? max : classes,
      ));
  });
}

function takeRows(data: Dataset, rows: Int32Array): Dataset {
  const f = data.nFeatures;
  const x = new Float64Array(rows.length * f); // [rows, nFeatures]
  const y = new Int32Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    y[r] = data.y[rows[r]];
    for (let j = 0; j < f; j++) x[r * f + j] = data.x[rows[r] * f + j];
  }
  return { x, y, n: rows.length, nFeatures: f };
}
