/**
 * The options of `makeBlobs`, checked and resolved at the door: every bad option named at once,
 * sizes bounded before anything is allocated, and magnitudes bounded so that every point drawn is
 * finite.
 *
 * @module
 */
import { validateSeed } from "./random.ts";
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
export const MAX_BLOB_VALUES = 2 ** 27;

/** Largest number of centers (validation allocates per center before sizes are known). */
const MAX_CENTERS = 2 ** 20;

/**
 * Largest magnitude of a center coordinate, a `centerBox` bound or a `clusterStd`. Within it every
 * point is finite: a point is `center + std * g`, and NumPy's legacy Gaussian draw `g` (the polar
 * method on 53-bit uniforms) is below 13 in magnitude, so points stay below 1.4e301.
 */
const MAX_MAGNITUDE = 1e300;

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
 * import { validateMakeBlobsOptions } from "./blobs_options.ts";
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
  if (options === undefined) options = {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    return invalid("options", "must be an object", options);
  }
  const o = options as Record<string, unknown>;
  const parts = struct({
    keys: field("options", o, (f, v) => check.knownKeys(v, BLOBS_OPTIONS, f)),
    layout: layoutOf(o),
    clusterStd: stdOption(o.clusterStd ?? 1),
    centerBox: field<readonly [number, number]>("centerBox", o.centerBox ?? [-10, 10], boxCheck),
    shuffle: field<boolean>("shuffle", o.shuffle ?? true, booleanCheck),
    randomState: validateSeed("randomState", o.randomState ?? 0),
  });
  return andThen(
    parts,
    ({ layout, ...p }) =>
      map(stdPerCenter(p.clusterStd, layout.nCenters), (clusterStd) => ({
        ...layout,
        clusterStd,
        centerBox: [p.centerBox[0], p.centerBox[1]] as const,
        shuffle: p.shuffle,
        randomState: p.randomState,
      })),
  );
}

function inMagnitude(value: unknown): value is number {
  return typeof value === "number" && Math.abs(value) <= MAX_MAGNITUDE;
}

const boxCheck: Check = (f, v) =>
  check.that(
    Array.isArray(v) && v.length === 2 && inMagnitude(v[0]) && inMagnitude(v[1]) && v[0] < v[1],
    f,
    `must be [lo, hi] with finite lo < hi, both at most ${MAX_MAGNITUDE} in magnitude`,
    v,
  );

const booleanCheck: Check = (f, v) => check.that(typeof v === "boolean", f, "must be a boolean", v);

/** `nSamples` as given: a total, or one count per center. */
interface Samples {
  readonly counts: ReadonlyArray<number> | null;
  readonly total: number;
}

const SAMPLES_MESSAGE = "must be a positive integer or a list of non-negative integers";

function samplesOption(value: unknown): Validation<Samples> {
  if (!Array.isArray(value)) {
    return map(
      field<number>(
        "nSamples",
        value,
        (f, v) => check.that(check.positiveInt(f, v).length === 0, f, SAMPLES_MESSAGE, v),
      ),
      (total) => ({ counts: null, total }),
    );
  }
  if (value.length === 0) return invalid("nSamples", "must not be an empty list", value);
  if (value.length > MAX_CENTERS) {
    return invalid("nSamples", `must list at most ${MAX_CENTERS} counts (one per center)`, value);
  }
  let total = 0;
  for (let i = 0; i < value.length; i++) {
    // A loop, not `every`: holes of a sparse array must be refused too.
    if (check.nonNegativeInt("", value[i]).length > 0) {
      return invalid("nSamples", SAMPLES_MESSAGE, value);
    }
    total += value[i];
  }
  return valid({ counts: value.slice(), total });
}

/** `centers` as given: a count (null when omitted) or coordinates `[count, width]`. */
interface Centers {
  readonly count: number | null;
  readonly coordinates: Float64Array | null;
  readonly width: number;
}

function centersOption(value: unknown): Validation<Centers> {
  if (value === undefined) return valid({ count: null, coordinates: null, width: 0 });
  if (!Array.isArray(value)) {
    return map(
      field<number>("centers", value, (f, v) =>
        check.that(
          typeof v === "number" && Number.isSafeInteger(v) && v >= 1 && v <= MAX_CENTERS,
          f,
          `must be a positive integer up to ${MAX_CENTERS} or a non-empty list of rows of ` +
            "finite numbers",
          v,
        )),
      (count) => ({ count, coordinates: null, width: 0 }),
    );
  }
  const rows = value.length;
  const width = rows > 0 && Array.isArray(value[0]) ? value[0].length : 0;
  let ok = rows > 0 && rows <= MAX_CENTERS && width > 0 && rows * width <= MAX_BLOB_VALUES;
  for (let i = 0; ok && i < rows; i++) ok = Array.isArray(value[i]) && value[i].length === width;
  const coordinates = new Float64Array(ok ? rows * width : 0); // [rows, width]
  for (let i = 0; ok && i < rows; i++) {
    for (let j = 0; ok && j < width; j++) {
      const v = value[i][j];
      ok = inMagnitude(v); // before the store: storing converts (a nested array recurses)
      if (ok) coordinates[i * width + j] = v;
    }
  }
  if (!ok) {
    return invalid(
      "centers",
      "must be a positive integer or a non-empty list of rows of finite numbers, all of one " +
        `length (at most ${MAX_MAGNITUDE} in magnitude)`,
      value,
    );
  }
  return valid({ count: rows, coordinates, width });
}

function inStdRange(value: unknown): value is number {
  return typeof value === "number" && value > 0 && value <= MAX_MAGNITUDE;
}

function stdOption(value: unknown): Validation<number | ReadonlyArray<number>> {
  let ok = Array.isArray(value) ? value.length <= MAX_CENTERS : inStdRange(value);
  for (let i = 0; ok && Array.isArray(value) && i < value.length; i++) ok = inStdRange(value[i]);
  return ok ? valid(Array.isArray(value) ? value.slice() : value as number) : invalid(
    "clusterStd",
    `must be a positive number (at most ${MAX_MAGNITUDE}) or a list of positive numbers ` +
      "(one per center)",
    value,
  );
}

function stdPerCenter(
  std: number | ReadonlyArray<number>,
  nCenters: number,
): Validation<ReadonlyArray<number>> {
  if (typeof std === "number") return valid(new Array(nCenters).fill(std));
  if (std.length === nCenters) return valid(std);
  return invalid(
    "clusterStd",
    `must be a positive number or a list of ${nCenters} positive number${
      nCenters === 1 ? "" : "s"
    } (one per center)`,
    std,
  );
}

/** Sizes: points per center, centers, features and given coordinates; bounded before allocation. */
type Layout = Pick<BlobsConfig, "samplesPerCenter" | "nCenters" | "nFeatures" | "centers">;

function layoutOf(o: Readonly<Record<string, unknown>>): Validation<Layout> {
  const given = struct({
    samples: samplesOption(o.nSamples ?? 100),
    nFeatures: o.nFeatures === undefined
      ? valid(2)
      : field<number>("nFeatures", o.nFeatures, check.positiveInt),
    centers: centersOption(o.centers),
  });
  return andThen(given, ({ samples, nFeatures, centers }) => {
    const { counts, total } = samples;
    if (counts !== null && centers.count !== null && centers.count !== counts.length) {
      return invalid(
        "centers",
        centers.coordinates !== null
          ? `must have one row per entry of nSamples (${counts.length})`
          : `must be omitted or equal the length of nSamples (${counts.length})`,
        o.centers,
      );
    }
    const nCenters = centers.count ?? counts?.length ?? 3;
    // Given coordinates set the width; nFeatures is still checked, since a bad value is a mistake.
    const width = centers.coordinates !== null ? centers.width : nFeatures;
    const bounds = struct({
      nSamples: field("nSamples", o.nSamples ?? 100, (f, v) =>
        check.that(
          total * width <= MAX_BLOB_VALUES,
          f,
          `must give at most ${MAX_BLOB_VALUES} values (nSamples x nFeatures)`,
          v,
        )),
      centers: field("centers", o.centers, (f, v) =>
        check.that(
          nCenters * width <= MAX_BLOB_VALUES,
          f,
          `must give at most ${MAX_BLOB_VALUES} center coordinates (centers x nFeatures)`,
          v,
        )),
    });
    return map(bounds, () => ({
      samplesPerCenter: counts !== null ? counts.slice() : evenSplit(total, nCenters),
      nCenters,
      nFeatures: width,
      centers: centers.coordinates,
    }));
  });
}

/** As scikit-learn: an even split, the first `total % nCenters` centers get one more. */
function evenSplit(total: number, nCenters: number): number[] {
  const counts = new Array(nCenters).fill(Math.floor(total / nCenters));
  for (let i = 0; i < total % nCenters; i++) counts[i]++;
  return counts;
}
