import assert from "node:assert/strict";
import fc from "fast-check";
import { ConfigError, randomState, restoreRandomState } from "../mod.ts";
import { validateSeed } from "../lib/random.ts";
import fixture from "./fixtures/blobs_random.json" with { type: "json" };

interface RandomCase {
  seed: number | number[];
  keyHead: number[];
  keyTail: number[];
  pos: number;
  uint32: number[];
  randomSample: number[];
  standardNormal: number[];
  normalAfter: number[];
  uniform: number[];
  shuffle23: number[];
  permutation1000: number[];
  afterShuffle: number[];
}

const cases = fixture.cases as RandomCase[];

/** Relative difference, with an absolute floor for values near zero. */
function close(actual: number, expected: number, tolerance = 1e-12): boolean {
  return Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected));
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      close(actual[i], expected[i]),
      `${what}[${i}]: got ${actual[i]}, want ${expected[i]}`,
    );
  }
}

for (const c of cases) {
  Deno.test(`randomState(${JSON.stringify(c.seed).slice(0, 30)}) matches NumPy's RandomState`, () => {
    const rng = randomState(c.seed);
    const state = rng.snapshot();
    assert.deepEqual(state.key.slice(0, 8), c.keyHead, "seeded key head");
    assert.deepEqual(state.key.slice(-4), c.keyTail, "seeded key tail");
    assert.equal(state.pos, c.pos);
    assert.equal(state.hasGauss, false);
    assert.deepEqual(Array.from({ length: c.uint32.length }, () => rng.nextUint32()), c.uint32);
    // random_sample is exact arithmetic on integers: it must match bit for bit.
    assert.deepEqual(
      Array.from({ length: c.randomSample.length }, () => rng.randomSample()),
      c.randomSample,
    );
    // gauss goes through log and sqrt, whose last bit may differ between libm implementations.
    assertClose(
      Array.from({ length: c.standardNormal.length }, () => rng.gauss()),
      c.standardNormal,
      "gauss",
    );
    assertClose(
      Array.from({ length: c.normalAfter.length }, () => rng.normal(3, 0.5)),
      c.normalAfter,
      "normal",
    );
    assert.deepEqual(
      Array.from({ length: c.uniform.length }, () => rng.uniform(-10, 10)),
      c.uniform,
    );
    const values = Array.from({ length: 23 }, (_, i) => i);
    rng.shuffle(values);
    assert.deepEqual(values, c.shuffle23);
    assert.deepEqual(Array.from(rng.permutation(1000)), c.permutation1000);
    assert.deepEqual(Array.from({ length: 3 }, () => rng.randomSample()), c.afterShuffle);
  });
}

Deno.test("randomState crosses many 624-word blocks like NumPy", () => {
  const rng = randomState(fixture.longSeed);
  const all = Array.from({ length: fixture.longCount }, () => rng.randomSample());
  assert.deepEqual(all.slice(-10), fixture.longRandomSample);
});

Deno.test("randomState reproduces the MT19937 reference output for init_by_array", () => {
  // The first outputs of mt19937ar.c's own test (init_by_array({0x123, 0x234, 0x345, 0x456})).
  const rng = randomState([0x123, 0x234, 0x345, 0x456]);
  assert.deepEqual(
    Array.from({ length: 5 }, () => rng.nextUint32()),
    [1067595299, 955945823, 477289528, 4107218783, 4228976476],
  );
});

Deno.test("restoreRandomState continues the sequence, including a cached Gaussian", () => {
  const rng = randomState(5);
  for (let i = 0; i < 1000; i++) rng.gauss(); // leaves pos mid-block
  rng.gauss(); // now a cached value is pending
  const saved = JSON.parse(JSON.stringify(rng.snapshot()));
  assert.equal(saved.hasGauss, true);
  const expected = [rng.gauss(), rng.gauss(), rng.randomSample(), rng.nextUint32()];
  const resumed = restoreRandomState(saved);
  assert.deepEqual(
    [resumed.gauss(), resumed.gauss(), resumed.randomSample(), resumed.nextUint32()],
    expected,
  );
});

Deno.test("restoreRandomState rejects malformed snapshots naming every field", () => {
  const good = randomState(1).snapshot();
  try {
    restoreRandomState({ key: [1, 2], pos: 700, hasGauss: "no" as unknown as boolean, gauss: NaN });
    assert.fail("expected a ConfigError");
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.deepEqual(e.issues.map((i) => i.field), ["key", "pos", "hasGauss", "gauss"]);
  }
  try {
    restoreRandomState({ ...good, key: [...good.key.slice(0, 10), -1, ...good.key.slice(11)] });
    assert.fail("expected a ConfigError");
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.deepEqual(e.issues.map((i) => i.field), ["key[10]"]);
  }
});

Deno.test("randomState rejects bad seeds with one ConfigError", () => {
  for (const seed of [-1, 1.5, 2 ** 32, NaN, Infinity, [], [1, -2], [3, 0.5]]) {
    assert.throws(() => randomState(seed as number), ConfigError, `seed ${JSON.stringify(seed)}`);
  }
  try {
    randomState([1, -2, 2 ** 40]);
    assert.fail("expected a ConfigError");
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.deepEqual(e.issues.map((i) => i.field), ["seed[1]", "seed[2]"]);
    assert.match(
      e.message,
      /^Cannot seed RandomState: seed\[1\] must be an integer between 0 and 2\^32 - 1: got -2/,
    );
  }
});

Deno.test("randomInterval rejects a max outside [0, 2^32 - 1]", () => {
  const rng = randomState(0);
  for (const max of [-1, 0.5, 2 ** 32, NaN]) {
    assert.throws(() => rng.randomInterval(max), ConfigError);
  }
  assert.equal(rng.randomInterval(0), 0);
  assert.throws(() => rng.permutation(-1), ConfigError);
});

Deno.test("property: validateSeed never throws and accepts exactly the uint32 seeds", () => {
  fc.assert(
    fc.property(fc.anything(), (value) => {
      const result = validateSeed("seed", value);
      const isUint = (v: unknown) =>
        typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 2 ** 32 - 1;
      const ok = Array.isArray(value) ? value.length > 0 && value.every(isUint) : isUint(value);
      return (result._tag === "Right") === ok;
    }),
    { seed: 20240601, numRuns: 500 },
  );
});

Deno.test("property: randomInterval stays in [0, max] and shuffle is a permutation", () => {
  fc.assert(
    fc.property(
      fc.nat({ max: 2 ** 32 - 1 }),
      fc.nat({ max: 2 ** 32 - 1 }),
      fc.nat({ max: 200 }),
      (seed, max, n) => {
        const rng = randomState(seed);
        for (let i = 0; i < 20; i++) {
          const v = rng.randomInterval(max);
          if (!(Number.isInteger(v) && v >= 0 && v <= max)) return false;
        }
        const p = Array.from(rng.permutation(n)).sort((a, b) => a - b);
        return p.every((v, i) => v === i);
      },
    ),
    { seed: 7, numRuns: 200 },
  );
});

Deno.test("randomSample and gauss have the right moments over 100k draws", () => {
  const rng = randomState(3);
  let sum = 0;
  let sumG = 0;
  let sumG2 = 0;
  const n = 100_000;
  for (let i = 0; i < n; i++) {
    const u = rng.randomSample();
    assert.ok(u >= 0 && u < 1);
    sum += u;
    const g = rng.gauss();
    sumG += g;
    sumG2 += g * g;
  }
  assert.ok(Math.abs(sum / n - 0.5) < 0.005);
  assert.ok(Math.abs(sumG / n) < 0.01);
  assert.ok(Math.abs(sumG2 / n - 1) < 0.02);
});
