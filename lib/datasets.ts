/**
 * Datasets: scikit-learn's `make_blobs`, reproduced exactly, and the small helpers a training run
 * needs next (splits, one-hot labels, conversion to `Float32Array`).
 *
 * A {@linkcode Dataset} keeps features as a row-major `Float64Array` `[n, nFeatures]` and labels
 * as an `Int32Array` `[n]`; {@linkcode toFloat32} converts features for training.
 *
 * @module
 */
import { check, type ConfigIssue, orThrow, type Validation, validation } from "./errors.ts";
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

/** Options of {@linkcode makeBlobs}: scikit-learn's `make_blobs` arguments in camelCase. */
export interface MakeBlobsOptions {
  /**
   * Total number of points, split as evenly as possible over the centers (the first ones get
   * one more), or the number of points of each center. Default 100.
   */
  readonly nSamples?: number | ReadonlyArray<number>;
  /**
   * Number of centers drawn uniformly in `centerBox`, or their coordinates (one row per center).
   * Default 3 when `nSamples` is a number; when `nSamples` is a list, one center per entry.
   */
  readonly centers?: number | ReadonlyArray<ReadonlyArray<number>>;
  /** Number of features; ignored when the centers' coordinates are given. Default 2. */
  readonly nFeatures?: number;
  /** Standard deviation of every cluster, or one per center. Default 1. */
  readonly clusterStd?: number | ReadonlyArray<number>;
  /** Bounds `[lo, hi]` of the box the centers are drawn from. Default `[-10, 10]`. */
  readonly centerBox?: readonly [number, number];
  /** Whether to shuffle the rows (else they are grouped by center). Default true. */
  readonly shuffle?: boolean;
  /**
   * Seed of NumPy's `RandomState`: an integer in `[0, 2^32 - 1]` or an array of them. Default 0
   * (scikit-learn's default draws a fresh seed; snapfold never draws unseeded randomness).
   */
  readonly randomState?: number | ReadonlyArray<number>;
}

/** Validated and resolved {@linkcode MakeBlobsOptions}. */
export interface BlobsConfig {
  /** Points per center. */
  readonly samplesPerCenter: ReadonlyArray<number>;
  /** Number of centers. */
  readonly nCenters: number;
  /** Number of features. */
  readonly nFeatures: number;
  /** Given coordinates `[nCenters, nFeatures]`, or null when they are drawn. */
  readonly centers: Float64Array | null;
  /** Standard deviation per center. */
  readonly clusterStd: ReadonlyArray<number>;
  /** Box the centers are drawn from. */
  readonly centerBox: readonly [number, number];
  /** Whether rows are shuffled. */
  readonly shuffle: boolean;
  /** The seed. */
  readonly randomState: number | ReadonlyArray<number>;
}

/** Largest number of float64 values makeBlobs allocates for `x` or the centers (1 GiB). */
const MAX_VALUES = 2 ** 27;

/** Largest number of drawn centers (validation allocates per center before sizes are known). */
const MAX_CENTERS = 2 ** 20;

const BLOBS_OPTIONS: ReadonlyArray<string> = [
  "nSamples",
  "centers",
  "nFeatures",
  "clusterStd",
  "centerBox",
  "shuffle",
  "randomState",
];

/**
 * Checks {@linkcode MakeBlobsOptions} and resolves their defaults; never throws, whatever it is
 * given, and reports every problem at once.
 *
 * @example
 * ```ts
 * import { validateMakeBlobsOptions } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const ok = validateMakeBlobsOptions({ nSamples: 10 });
 * assert.equal(ok._tag, "Right");
 * const bad = validateMakeBlobsOptions({ nSamples: [5, 5], centers: 3, clusterStd: -1 });
 * assert.ok(bad._tag === "Left");
 * assert.deepEqual(bad.left.map((i) => i.field), ["centers", "clusterStd"]);
 * ```
 *
 * @param options The options to check (anything).
 * @returns The resolved configuration, or every issue found.
 */
export function validateMakeBlobsOptions(options: unknown): Validation<BlobsConfig> {
  const empty: BlobsConfig = {
    samplesPerCenter: [],
    nCenters: 0,
    nFeatures: 0,
    centers: null,
    clusterStd: [],
    centerBox: [-10, 10],
    shuffle: true,
    randomState: 0,
  };
  if (options === undefined) options = {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    return validation([{ field: "options", message: "must be an object", got: options }], empty);
  }
  const o = options as Record<string, unknown>;
  const issues: ConfigIssue[] = check.knownKeys(o, BLOBS_OPTIONS);

  // nSamples: a total or one count per center.
  const nSamples = o.nSamples ?? 100;
  let counts: number[] | null = null; // per center, when given as a list
  let total = 0;
  if (Array.isArray(nSamples)) {
    if (nSamples.length === 0) {
      issues.push({ field: "nSamples", message: "must not be an empty list", got: nSamples });
    } else if (nSamples.every((c) => check.nonNegativeInt("", c).length === 0)) {
      counts = nSamples as number[];
    } else {
      issues.push({
        field: "nSamples",
        message: "must be a positive integer or a list of non-negative integers",
        got: nSamples,
      });
    }
  } else if (check.positiveInt("", nSamples).length === 0) {
    total = nSamples as number;
  } else {
    issues.push({
      field: "nSamples",
      message: "must be a positive integer or a list of non-negative integers",
      got: nSamples,
    });
  }

  // nFeatures: checked even when coordinates make it unused, since a bad value is a mistake.
  const nFeaturesIssues = o.nFeatures === undefined
    ? []
    : check.positiveInt("nFeatures", o.nFeatures);
  issues.push(...nFeaturesIssues);
  let nFeatures = nFeaturesIssues.length === 0 ? (o.nFeatures as number | undefined) ?? 2 : 0;

  // centers: a count or coordinates; with a list of counts, one center per entry.
  let nCenters = 0;
  let coordinates: Float64Array | null = null;
  const centers = o.centers;
  if (Array.isArray(centers)) {
    const rowsOk = centers.length > 0 && centers.every((r) => Array.isArray(r) && r.length > 0);
    const width = rowsOk ? (centers[0] as unknown[]).length : 0;
    const rectangular = rowsOk && centers.every((r) => (r as unknown[]).length === width);
    const finite = rectangular &&
      centers.every((r) => (r as unknown[]).every((v) => check.finite("", v).length === 0));
    if (!finite) {
      issues.push({
        field: "centers",
        message:
          "must be a positive integer or a non-empty list of rows of finite numbers, all of one length",
        got: centers,
      });
    } else {
      nCenters = centers.length;
      nFeatures = width;
      coordinates = new Float64Array(nCenters * width); // [nCenters, nFeatures]
      for (let i = 0; i < nCenters; i++) {
        for (let j = 0; j < width; j++) coordinates[i * width + j] = centers[i][j];
      }
      if (counts !== null && counts.length !== nCenters) {
        issues.push({
          field: "centers",
          message: `must have one row per entry of nSamples (${counts.length})`,
          got: centers,
        });
      }
    }
  } else if (centers === undefined) {
    nCenters = counts !== null ? counts.length : 3;
  } else if (check.positiveInt("", centers).length > 0 || (centers as number) > MAX_CENTERS) {
    issues.push({
      field: "centers",
      message:
        `must be a positive integer up to ${MAX_CENTERS} or a non-empty list of rows of finite numbers`,
      got: centers,
    });
  } else if (counts !== null && centers !== counts.length) {
    issues.push({
      field: "centers",
      message: `must be omitted or equal the length of nSamples (${counts.length})`,
      got: centers,
    });
  } else {
    nCenters = centers as number;
  }

  // clusterStd: one positive number, or one per center.
  const std = o.clusterStd ?? 1;
  let stds: number[] = [];
  if (Array.isArray(std)) {
    const positive = std.every((s) => check.positive("", s).length === 0);
    if (!positive || (nCenters > 0 && std.length !== nCenters)) {
      issues.push({
        field: "clusterStd",
        message: `must be a positive number or a list of ${
          nCenters > 0 ? nCenters : "one"
        } positive number${nCenters === 1 ? "" : "s"} (one per center)`,
        got: std,
      });
    } else stds = std as number[];
  } else if (check.positive("", std).length > 0) {
    issues.push({
      field: "clusterStd",
      message: "must be a positive number or a list of positive numbers (one per center)",
      got: std,
    });
  } else stds = new Array(nCenters).fill(std);

  const box = o.centerBox ?? [-10, 10];
  const boxOk = Array.isArray(box) && box.length === 2 && Number.isFinite(box[0]) &&
    Number.isFinite(box[1]) && box[0] < box[1];
  issues.push(
    ...check.that(boxOk, "centerBox", "must be [lo, hi] with finite lo < hi", box),
  );
  const shuffle = o.shuffle ?? true;
  issues.push(...check.that(typeof shuffle === "boolean", "shuffle", "must be a boolean", shuffle));
  const seed = validateSeed("randomState", o.randomState ?? 0);
  if (seed._tag === "Left") issues.push(...seed.left);

  // Bound the sizes before anything is allocated, here or in makeBlobs.
  if (counts !== null) { for (const c of counts) total += c; }
  issues.push(
    ...check.that(
      total * nFeatures <= MAX_VALUES,
      "nSamples",
      `must give at most ${MAX_VALUES} values (nSamples x nFeatures)`,
      nSamples,
    ),
    ...check.that(
      nCenters * nFeatures <= MAX_VALUES,
      "centers",
      `must give at most ${MAX_VALUES} center coordinates (centers x nFeatures)`,
      centers,
    ),
  );
  if (issues.length > 0) return validation(issues, empty);
  let samplesPerCenter: number[];
  if (counts !== null) samplesPerCenter = counts.slice();
  else {
    // As scikit-learn: an even split, the first `total % nCenters` centers get one more.
    samplesPerCenter = new Array(nCenters).fill(Math.floor(total / nCenters));
    for (let i = 0; i < total % nCenters; i++) samplesPerCenter[i]++;
  }
  return validation([], {
    samplesPerCenter,
    nCenters,
    nFeatures,
    centers: coordinates,
    clusterStd: stds,
    centerBox: [(box as number[])[0], (box as number[])[1]] as const,
    shuffle: shuffle as boolean,
    randomState: o.randomState === undefined ? 0 : o.randomState as number | number[],
  });
}

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
  const issues = datasetIssues(data);
  issues.push(
    ...check.that(
      Number.isSafeInteger(n) && n >= 0 && (issues.length > 0 || n <= data.n),
      "n",
      `must be an integer between 0 and the number of rows (${issues.length > 0 ? "n" : data.n})`,
      n,
    ),
  );
  orThrow("Cannot split dataset", validation(issues, null));
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
  const issues = datasetIssues(data);
  const o = (typeof options === "object" && options !== null ? options : {}) as Record<
    string,
    unknown
  >;
  if (o !== options) issues.push({ field: "options", message: "must be an object", got: options });
  else issues.push(...check.knownKeys(options, ["testSize", "trainSize", "seed"]));
  const n = issues.length === 0 ? data.n : 0;
  const size = (field: string, value: unknown): number | null => {
    if (value === undefined) return null;
    const ok = typeof value === "number" &&
      ((value > 0 && value < 1) || (Number.isSafeInteger(value) && value >= 1));
    if (!ok) {
      issues.push({
        field,
        message: "must be a fraction in (0, 1) or a positive integer",
        got: value,
      });
      return null;
    }
    return value as number;
  };
  const testSize = size("testSize", o.testSize);
  const trainSize = size("trainSize", o.trainSize);
  const seed = validateSeed("seed", o.seed ?? 0);
  if (seed._tag === "Left") issues.push(...seed.left);
  orThrow("Cannot split dataset", validation(issues, null));

  // As scikit-learn's _validate_shuffle_split: fractions of tests round up, of trains down.
  const fromTest = testSize === null && trainSize === null ? 0.25 : testSize;
  let nTest = fromTest === null ? null : fromTest < 1 ? Math.ceil(fromTest * n) : fromTest;
  let nTrain = trainSize === null ? null : trainSize < 1 ? Math.floor(trainSize * n) : trainSize;
  if (nTrain === null) nTrain = n - (nTest as number);
  if (nTest === null) nTest = n - nTrain;
  orThrow(
    "Cannot split dataset",
    validation(
      check.that(
        nTrain >= 1 && nTest >= 1 && nTrain + nTest <= n,
        "testSize, trainSize",
        `must leave at least one row in each part, ${n} rows in all`,
        { nTrain, nTest },
      ),
      null,
    ),
  );
  const order = randomState((o.seed ?? 0) as number | ReadonlyArray<number>).permutation(n);
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
  const issues: ConfigIssue[] = [];
  issues.push(
    ...check.that(labels instanceof Int32Array, "labels", "must be an Int32Array", labels),
  );
  if (classes !== undefined) issues.push(...check.positiveInt("classes", classes));
  orThrow("Cannot one-hot encode labels", validation(issues, null));
  let max = -1;
  let bad = -1;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] > max) max = labels[i];
    if (bad < 0 && (labels[i] < 0 || (classes !== undefined && labels[i] >= classes))) bad = i;
  }
  const k = classes ?? max + 1;
  orThrow(
    "Cannot one-hot encode labels",
    validation(
      check.that(bad < 0, `labels[${bad}]`, `must be in [0, ${k})`, bad < 0 ? 0 : labels[bad]),
      null,
    ),
  );
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
  return Float32Array.from(x);
}

function datasetIssues(data: Dataset): ConfigIssue[] {
  if (typeof data !== "object" || data === null) {
    return [{ field: "data", message: "must be a dataset { x, y, n, nFeatures }", got: data }];
  }
  const ok = data.x instanceof Float64Array && data.y instanceof Int32Array &&
    Number.isSafeInteger(data.n) && data.n >= 0 && Number.isSafeInteger(data.nFeatures) &&
    data.nFeatures >= 1 && data.x.length === data.n * data.nFeatures && data.y.length === data.n;
  return check.that(
    ok,
    "data",
    "must hold x: Float64Array [n, nFeatures] and y: Int32Array [n]",
    { n: data.n, nFeatures: data.nFeatures, x: data.x, y: data.y },
  );
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
