import assert from "node:assert/strict";
import fc from "fast-check";
import { ensemble, selectMembers } from "../lib/ensemble/mod.ts";
import { logLoss } from "../lib/metrics.ts";
import { initParams, mlp } from "../lib/model/mod.ts";

const spec = mlp({ layers: [2, 6, 3], activation: "tanh" });
const snapshots = Array.from({ length: 6 }, (_, i) => ({
  index: i + 1,
  epoch: i,
  step: i,
  lr: 0,
  spec,
  params: initParams(spec, { seed: 3 + i }).map((v) => 2 * v),
}));
const x = Float32Array.from({ length: 80 }, (_, k) => ((k * 53) % 31) / 5 - 3); // [40, 2]
const y = Int32Array.from(
  { length: 40 },
  (_, r) => (x[2 * r] > 0 ? 1 : 0) + (x[2 * r + 1] > 1 ? 1 : 0),
);

/** The validation log-loss of ensemble() with a selection (the library's own metric). */
async function scored(members: ReadonlyArray<number>, weights: ReadonlyArray<number>) {
  const p = await ensemble(snapshots, { members: [...members], weights: [...weights] })
    .predictProba(x);
  return logLoss(p, y);
}

Deno.test("lastM and bestPrefix choose what brute force over ensemble() chooses", async () => {
  const probs = await ensemble(snapshots).memberProba(x);
  const last = selectMembers(probs, y, { method: "lastM", m: 2 });
  assert.deepEqual(last.members, [4, 5]);
  assert.deepEqual(last.weights, [0.5, 0.5]);
  assert.ok(Math.abs(last.logLoss - await scored([4, 5], [0.5, 0.5])) < 1e-5);
  const prefix = selectMembers(probs, y, { method: "bestPrefix" });
  const losses = [];
  for (let k = 1; k <= 6; k++) losses.push(await scored([...Array(k).keys()], Array(k).fill(1)));
  const k = losses.indexOf(Math.min(...losses)) + 1;
  assert.deepEqual(prefix.members, [...Array(k).keys()]);
  assert.ok(Math.abs(prefix.logLoss - losses[k - 1]) < 1e-5);
});

Deno.test("greedy selection never loses to its best single member and reports its own loss", async () => {
  const probs = await ensemble(snapshots).memberProba(x);
  const pick = selectMembers(probs, y, { method: "greedy", rounds: 20 });
  const singles = probs.map((p) => logLoss(p, y));
  assert.ok(pick.logLoss <= Math.min(...singles) + 1e-9);
  assert.ok(Math.abs(pick.weights.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  assert.ok(Math.abs(pick.logLoss - await scored(pick.members, pick.weights)) < 1e-5);
  // Weights are multiples of 1 / (picks): counts of a bag drawn with replacement.
  const picks = Math.round(1 / Math.min(...pick.weights));
  for (const w of pick.weights) assert.ok(Math.abs(w * picks - Math.round(w * picks)) < 1e-9);
});

Deno.test("greedy selection drops members that only hurt (property)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 1, max: 99 }), (n, seed) => {
      let s = seed;
      const next = () => (s = (s * 48271) % 2147483647) / 2147483647;
      const labels = Array.from({ length: n }, () => Math.floor(next() * 2));
      const row = (right: number) =>
        labels.flatMap((l) => (l === 0 ? [right, 1 - right] : [1 - right, right]));
      const wrong = Float64Array.from(row(0.05));
      const fair = Float64Array.from(row(0.6 + 0.3 * next()));
      const pick = selectMembers([wrong, fair, wrong], labels, { method: "greedy" });
      assert.deepEqual(pick.members, [1]);
    }),
    { seed: 2017, numRuns: 50 },
  );
});

Deno.test("selectMembers refuses bad input with every problem named", () => {
  const p = new Float32Array([0.5, 0.5]);
  assert.throws(
    () =>
      selectMembers([p, new Float32Array(3)], [2], { method: "lastM", m: 3, extra: 1 } as never),
    /Cannot select members: extra is not an option.*m must be at most 2.*memberProbs\[1\] must be/,
  );
  assert.throws(
    () => selectMembers([p], [0], { method: "best" as never }),
    /method must be one of/,
  );
  assert.throws(() => selectMembers([p], [0], { method: "lastM" }), /m must be a positive integer/);
  assert.throws(
    () => selectMembers([], [0], { method: "greedy" }),
    /memberProbs must be a non-empty/,
  );
  assert.throws(() => selectMembers([p], [2], { method: "greedy" }), /labels\[0\] must be a class/);
});
