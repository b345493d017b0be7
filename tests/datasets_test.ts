import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ConfigError,
  type Dataset,
  makeBlobs,
  type MakeBlobsOptions,
  oneHot,
  shuffleSplit,
  type ShuffleSplitOptions,
  splitAt,
  toFloat32,
} from "../mod.ts";
import { validateMakeBlobsOptions } from "../lib/blobs_options.ts";
import fixture from "./fixtures/blobs_make_blobs.json" with { type: "json" };

interface BlobsCase {
  options: MakeBlobsOptions;
  nSamples: number;
  nFeatures: number;
  nCenters: number;
  x: number[];
  y: number[];
  centers: number[];
}

interface SplitCase {
  n: number;
  options: ShuffleSplitOptions;
  train: number[];
  test: number[];
}

/** Largest relative difference (absolute below 1). */
function maxRelativeDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length, "length");
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
    if (!(d <= worst)) worst = d; // NaN propagates as a failure
  }
  return worst;
}

function errorFields(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    return e.issues.map((i) => i.field);
  }
  assert.fail("expected a ConfigError");
}

for (const c of fixture.cases as unknown as BlobsCase[]) {
  Deno.test(`makeBlobs matches scikit-learn for ${JSON.stringify(c.options).slice(0, 90)}`, () => {
    const blobs = makeBlobs(c.options);
    assert.equal(blobs.nSamples, c.nSamples);
    assert.equal(blobs.n, c.nSamples);
    assert.equal(blobs.nFeatures, c.nFeatures);
    assert.equal(blobs.nCenters, c.nCenters);
    assert.deepEqual(Array.from(blobs.y), c.y);
    // Centers come from uniform draws: exact arithmetic, so bit-identical.
    assert.deepEqual(Array.from(blobs.centers), c.centers);
    assert.ok(maxRelativeDifference(blobs.x, c.x) <= 1e-12, "x within 1e-12 relative");
  });
}

for (const c of fixture.splits as unknown as SplitCase[]) {
  Deno.test(`shuffleSplit matches train_test_split for n=${c.n} ${JSON.stringify(c.options)}`, () => {
    // Rows whose only feature is their index, so the split reveals which rows went where.
    const data: Dataset = {
      x: Float64Array.from({ length: c.n }, (_, i) => i),
      y: Int32Array.from({ length: c.n }, (_, i) => i * 10),
      n: c.n,
      nFeatures: 1,
    };
    const { train, test } = shuffleSplit(data, c.options);
    assert.deepEqual(Array.from(train.x), c.train);
    assert.deepEqual(Array.from(test.x), c.test);
    assert.deepEqual(Array.from(train.y), c.train.map((i) => i * 10));
    assert.equal(train.n, c.train.length);
    assert.equal(test.n, c.test.length);
  });
}

Deno.test("makeBlobs defaults to 100 samples, 3 centers, 2 features, seed 0", () => {
  const blobs = makeBlobs();
  const explicit = (fixture.cases as unknown as BlobsCase[]).find((c) =>
    JSON.stringify(c.options) === JSON.stringify({ nSamples: 100, randomState: 0 })
  )!;
  assert.deepEqual(Array.from(blobs.y), explicit.y);
  assert.equal(blobs.nCenters, 3);
  assert.equal(blobs.nFeatures, 2);
});

Deno.test("makeBlobs reports every bad option in one ConfigError", () => {
  assert.deepEqual(
    errorFields(() =>
      makeBlobs({
        nSamples: [10, 10],
        centers: [[0, 0], [1, 1], [2, 2]],
        clusterStd: [1, 0],
        centerBox: [5, -5],
        shuffle: "yes" as unknown as boolean,
        randomState: -3,
      })
    ),
    ["centers", "clusterStd", "centerBox", "shuffle", "randomState"],
  );
  assert.deepEqual(errorFields(() => makeBlobs({ nSamples: 10.5, centers: 0 })), [
    "nSamples",
    "centers",
  ]);
  assert.deepEqual(errorFields(() => makeBlobs({ centers: [[0, 1], [2]] })), ["centers"]);
  assert.deepEqual(errorFields(() => makeBlobs({ centers: [[0, NaN]] })), ["centers"]);
  assert.deepEqual(errorFields(() => makeBlobs({ centers: 3, clusterStd: [1, 2] })), [
    "clusterStd",
  ]);
  assert.deepEqual(errorFields(() => makeBlobs({ clusterStd: -1, nFeatures: 0 })), [
    "nFeatures",
    "clusterStd",
  ]);
  assert.deepEqual(errorFields(() => makeBlobs({ centerBox: [0, Infinity] })), ["centerBox"]);
  assert.deepEqual(errorFields(() => makeBlobs({ nSamples: [3, 4], centers: 3 })), ["centers"]);
  assert.deepEqual(
    errorFields(() => makeBlobs({ n_samples: 5 } as unknown as MakeBlobsOptions)),
    ["n_samples"],
  );
  // Sizes are bounded before anything is allocated (found by the property below).
  assert.deepEqual(errorFields(() => makeBlobs({ nSamples: 2 ** 40 })), ["nSamples"]);
  assert.deepEqual(errorFields(() => makeBlobs({ centers: 134217729 })), ["centers"]);
  assert.deepEqual(errorFields(() => makeBlobs({ nFeatures: 2 ** 50, nSamples: 1 })), [
    "nSamples",
    "centers",
  ]);
  assert.throws(
    () => makeBlobs({ nSamples: 0 }),
    (e: Error) =>
      e instanceof ConfigError &&
      e.message.startsWith("Cannot make blobs: nSamples must be a positive integer") &&
      e.message.includes(": got 0"),
  );
});

Deno.test("makeBlobs accepts a count of centers equal to the length of nSamples", () => {
  const a = makeBlobs({ nSamples: [3, 5], centers: 2, randomState: 4 });
  const b = makeBlobs({ nSamples: [3, 5], randomState: 4 });
  assert.deepEqual(a, b);
});

Deno.test("property: validateMakeBlobsOptions never throws on arbitrary input", () => {
  const optionLike = fc.record(
    {
      nSamples: fc.oneof(fc.anything(), fc.integer(), fc.array(fc.integer({ min: -2, max: 5 }))),
      centers: fc.oneof(fc.anything(), fc.integer(), fc.array(fc.array(fc.double()))),
      nFeatures: fc.oneof(fc.anything(), fc.integer()),
      clusterStd: fc.oneof(fc.anything(), fc.double(), fc.array(fc.double())),
      centerBox: fc.oneof(fc.anything(), fc.tuple(fc.double(), fc.double())),
      shuffle: fc.anything(),
      randomState: fc.oneof(fc.anything(), fc.integer(), fc.array(fc.nat())),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(fc.oneof(fc.anything(), optionLike), (input) => {
      const result = validateMakeBlobsOptions(input);
      return result._tag === "Left" ? result.left.length > 0 : result._tag === "Right";
    }),
    { seed: 424242, numRuns: 1000 },
  );
});

Deno.test("property: valid options give labels per center and points near their centers", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 5 }),
      fc.integer({ min: 1, max: 4 }),
      fc.nat({ max: 2 ** 32 - 1 }),
      (counts, nFeatures, seed) => {
        const blobs = makeBlobs({
          nSamples: counts,
          nFeatures,
          clusterStd: 1e-3,
          randomState: seed,
        });
        const seen = new Array(counts.length).fill(0);
        for (let r = 0; r < blobs.n; r++) {
          const c = blobs.y[r];
          seen[c]++;
          for (let j = 0; j < nFeatures; j++) {
            const d = Math.abs(blobs.x[r * nFeatures + j] - blobs.centers[c * nFeatures + j]);
            if (d > 0.01) return false; // 10 standard deviations
          }
        }
        return JSON.stringify(seen) === JSON.stringify(counts);
      },
    ),
    { seed: 99, numRuns: 200 },
  );
});

Deno.test("splitAt takes the first n rows and the rest", () => {
  const blobs = makeBlobs({ nSamples: 1100, centers: 3, clusterStd: 2, randomState: 2 });
  const [train, test] = splitAt(blobs, 100);
  assert.equal(train.n, 100);
  assert.equal(test.n, 1000);
  assert.deepEqual(train.x, blobs.x.slice(0, 200));
  assert.deepEqual(test.x, blobs.x.slice(200));
  assert.deepEqual(train.y, blobs.y.slice(0, 100));
  assert.deepEqual(test.y, blobs.y.slice(100));
  train.x[0] = 1e9; // a copy, not a view
  assert.notEqual(blobs.x[0], 1e9);
  assert.deepEqual(errorFields(() => splitAt(blobs, 1101)), ["n"]);
  assert.deepEqual(errorFields(() => splitAt(blobs, -1)), ["n"]);
  assert.deepEqual(
    errorFields(() =>
      splitAt({ x: new Float64Array(3), y: new Int32Array(2), n: 2, nFeatures: 2 }, 1)
    ),
    ["data"],
  );
});

Deno.test("shuffleSplit validates sizes and keeps rows whole", () => {
  const blobs = makeBlobs({ nSamples: 30, nFeatures: 3, randomState: 1 });
  const { train, test } = shuffleSplit(blobs, { trainSize: 20, testSize: 5, seed: 8 });
  assert.equal(train.n + test.n, 25);
  // Every train row is some row of the original with its own label.
  for (let r = 0; r < train.n; r++) {
    let found = false;
    for (let s = 0; s < blobs.n && !found; s++) {
      found = blobs.y[s] === train.y[r] &&
        [0, 1, 2].every((j) => blobs.x[s * 3 + j] === train.x[r * 3 + j]);
    }
    assert.ok(found, `train row ${r}`);
  }
  assert.deepEqual(
    errorFields(() => shuffleSplit(blobs, { testSize: 1.5, trainSize: -1, seed: 0.5 })),
    [
      "testSize",
      "trainSize",
      "seed",
    ],
  );
  assert.deepEqual(errorFields(() => shuffleSplit(blobs, { testSize: 20, trainSize: 20 })), [
    "testSize, trainSize",
  ]);
});

Deno.test("oneHot encodes labels and rejects out-of-range ones", () => {
  assert.deepEqual(Array.from(oneHot(new Int32Array([1, 0, 2, 1]))), [
    0,
    1,
    0,
    1,
    0,
    0,
    0,
    0,
    1,
    0,
    1,
    0,
  ]);
  assert.deepEqual(Array.from(oneHot(new Int32Array([0]), 3)), [1, 0, 0]);
  assert.equal(oneHot(new Int32Array(0)).length, 0);
  assert.deepEqual(errorFields(() => oneHot(new Int32Array([0, 3]), 3)), ["labels[1]"]);
  assert.deepEqual(errorFields(() => oneHot(new Int32Array([0, -1]))), ["labels[1]"]);
  assert.deepEqual(errorFields(() => oneHot(new Int32Array([0]), 0)), ["classes"]);
});

Deno.test("toFloat32 rounds each value to the nearest float32", () => {
  const x = new Float64Array([0.1, -2.5, 1e-40, 3.4e38, 1 / 3]);
  const f = toFloat32(x);
  assert.ok(f instanceof Float32Array);
  assert.deepEqual(Array.from(f), Array.from(x, Math.fround));
});

Deno.test("shuffleSplit: a misspelt option is an error, not a silent seed 0", () => {
  const data = makeBlobs({ nSamples: 20, randomState: 1 });
  assert.throws(
    () => shuffleSplit(data, { randomState: 5 } as never),
    /randomState is not an option/,
  );
});

Deno.test("makeBlobs refuses magnitudes whose points would overflow, and only those", () => {
  assert.deepEqual(errorFields(() => makeBlobs({ clusterStd: 1e308 })), ["clusterStd"]);
  assert.deepEqual(errorFields(() => makeBlobs({ centers: [[1e308, 0]] })), ["centers"]);
  assert.deepEqual(errorFields(() => makeBlobs({ centerBox: [-1e308, 1e308] })), ["centerBox"]);
  const big = makeBlobs({ nSamples: 50, centers: [[1e300, -1e300]], clusterStd: 1e300 });
  assert.ok(big.x.every(Number.isFinite));
});

Deno.test("makeBlobs refuses the holes of a sparse nSamples list without walking it", () => {
  assert.deepEqual(errorFields(() => makeBlobs({ nSamples: new Array(2 ** 32 - 1) })), [
    "nSamples",
  ]);
  assert.deepEqual(errorFields(() => makeBlobs({ nSamples: [3, , 4] as number[] })), ["nSamples"]);
});

Deno.test("oneHot refuses a matrix over its limit instead of allocating gigabytes", () => {
  assert.throws(
    () => oneHot(new Int32Array([1e9])),
    /labels must make at most 134217728 one-hot values \(n x classes = 1 x 1000000001, from the largest label 1000000000\)/,
  );
  assert.throws(() => oneHot(new Int32Array([0, 1]), 1e9), /classes must make at most 134217728/);
});

Deno.test("dataset helpers name the argument when given null or strings", () => {
  // deno-lint-ignore no-explicit-any
  const anything = (v: unknown) => v as any;
  assert.deepEqual(errorFields(() => splitAt(anything(null), anything("3"))), ["data", "n"]);
  const blobs = makeBlobs({ nSamples: 10 });
  assert.deepEqual(errorFields(() => shuffleSplit(blobs, anything("0.5"))), ["options"]);
  assert.deepEqual(errorFields(() => shuffleSplit(anything([]), { testSize: -1 })), [
    "data",
    "testSize",
  ]);
  assert.deepEqual(errorFields(() => oneHot(anything([0, 1]), anything(null))), [
    "labels",
    "classes",
  ]);
  assert.deepEqual(errorFields(() => toFloat32(anything(null))), ["x"]);
});
