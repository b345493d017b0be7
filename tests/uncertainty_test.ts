import assert from "node:assert/strict";
import fc from "fast-check";
import {
  disagreement,
  ensemble,
  expectedEntropy,
  memberVariance,
  mutualInformation,
  predictiveEntropy,
} from "../lib/ensemble/mod.ts";
import { ConfigError } from "../lib/errors.ts";
import { pairwiseDisagreement } from "../lib/metrics.ts";
import { initParams, mlp } from "../lib/model/mod.ts";

/** M members' [n, classes] probabilities from a seed (some rows nearly one-hot). */
function membersOf(m: number, n: number, classes: number, seed: number): Float32Array[] {
  let s = seed;
  const next = () => (s = (s * 48271) % 2147483647) / 2147483647;
  return Array.from({ length: m }, () => {
    const p = new Float32Array(n * classes);
    for (let r = 0; r < n; r++) {
      const e = Array.from({ length: classes }, () => Math.exp(8 * next() - 4));
      const total = e.reduce((a, b) => a + b, 0);
      e.forEach((v, c) => (p[r * classes + c] = v / total));
    }
    return p;
  });
}

/** -sum p log p of one row, written out as the textbook does. */
function entropy(row: number[]): number {
  return -row.reduce((h, p) => h + (p > 0 ? p * Math.log(p) : 0), 0);
}

Deno.test("entropies and BALD match the textbook sums, and total = aleatoric + epistemic", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 2, max: 5 }),
      fc.integer({ min: 1, max: 10_000 }),
      (m, n, classes, seed) => {
        const members = membersOf(m, n, classes, seed);
        const weights = Array.from({ length: m }, (_, i) => i + 1);
        const total = weights.reduce((a, b) => a + b, 0);
        const h = predictiveEntropy(members, classes, weights);
        const e = expectedEntropy(members, classes, weights);
        const mi = mutualInformation(members, classes, weights);
        for (let r = 0; r < n; r++) {
          const rows = members.map((p) => Array.from(p.subarray(r * classes, (r + 1) * classes)));
          const mean = rows[0].map((_, c) =>
            rows.reduce((a, row, i) => a + weights[i] * row[c], 0) / total
          );
          assert.ok(Math.abs(h[r] - entropy(mean)) < 1e-12);
          const expected = rows.reduce((a, row, i) => a + weights[i] * entropy(row), 0) / total;
          assert.ok(Math.abs(e[r] - expected) < 1e-12);
          assert.ok(Math.abs(mi[r] - Math.max(0, h[r] - e[r])) < 1e-15);
          assert.ok(mi[r] >= 0 && mi[r] <= Math.log(classes) + 1e-12);
          assert.ok(h[r] <= Math.log(classes) + 1e-12);
        }
      },
    ),
    { seed: 2017, numRuns: 80 },
  );
});

Deno.test("disagreement per row averages to pairwiseDisagreement", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 6 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 2, max: 4 }),
      fc.integer({ min: 1, max: 10_000 }),
      (m, n, classes, seed) => {
        const members = membersOf(m, n, classes, seed);
        const perRow = disagreement(members, classes);
        const mean = perRow.reduce((a, b) => a + b, 0) / n;
        assert.ok(Math.abs(mean - pairwiseDisagreement(members, classes)) < 1e-12);
        assert.ok(perRow.every((d) => d >= 0 && d <= 1));
      },
    ),
    { seed: 2017, numRuns: 80 },
  );
  const unanimous = membersOf(1, 4, 3, 9);
  assert.deepEqual(Array.from(disagreement([unanimous[0], unanimous[0]], 3)), [0, 0, 0, 0]);
});

Deno.test("memberVariance is the weighted spread of a regressor ensemble around its mean", async () => {
  const spec = mlp({ layers: [2, 5, 2], activation: "tanh", head: "linear" });
  const snapshots = [1, 2, 3].map((index) => ({
    index,
    epoch: index,
    step: index,
    lr: 0,
    spec,
    params: initParams(spec, { seed: index }),
  }));
  const x = Float32Array.from({ length: 14 }, (_, k) => (k % 5) - 2); // [7, 2]
  const model = ensemble(snapshots, { weights: [1, 1, 2] });
  const outputs = await model.memberProba(x);
  const mean = await model.predictProba(x);
  const variance = memberVariance(outputs, 2, [1, 1, 2]);
  assert.equal(variance.length, 14);
  for (let k = 0; k < 14; k++) {
    const w = [0.25, 0.25, 0.5];
    const mu = outputs.reduce((a, o, i) => a + w[i] * o[k], 0);
    assert.ok(Math.abs(mu - mean[k]) < 1e-6);
    const expected = outputs.reduce((a, o, i) => a + w[i] * (o[k] - mu) ** 2, 0);
    assert.ok(Math.abs(variance[k] - expected) < 1e-12);
  }
  assert.ok(variance.some((v) => v > 1e-4)); // the members really differ
});

Deno.test("uncertainty measures refuse bad members and weights", () => {
  const [a, b] = membersOf(2, 3, 2, 4);
  assert.throws(
    () => predictiveEntropy([a, new Float32Array(4)], 2, [1, -1]),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.issues.map((i) => i.field), ["members[1]", "weights"]);
      assert.match(e.message, /^Cannot compute predictive entropy: members\[1\] must hold/);
      return true;
    },
  );
  assert.throws(() => disagreement([a], 2), /at least 2 member/);
  assert.throws(() => expectedEntropy([a, b], 0), /width must be a positive integer/);
  assert.throws(
    () => mutualInformation([a, Float32Array.from(b, (v, k) => (k === 1 ? -v : v))], 2),
    /members\[1\]\[1\] must be non-negative finite probabilities/,
  );
  assert.throws(
    () => memberVariance([new Float32Array([NaN])], 1),
    /members\[0\]\[0\] must be finite/,
  );
  assert.throws(() => memberVariance([] as Float32Array[], 1), /at least 1 member/);
});
