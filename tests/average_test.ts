import assert from "node:assert/strict";
import { averageWeights } from "../lib/ensemble/mod.ts";
import { ConfigError } from "../lib/errors.ts";
import { initParams, mlp } from "../lib/model/mod.ts";
import type { Snapshot } from "../lib/snapshot.ts";
import fixture from "./fixtures/average_weights.json" with { type: "json" };
import { assertClose } from "./_backend_cases.ts";

interface AverageCase {
  name: string;
  layers: number[];
  snapshots: number[][];
  averaged: number[];
  weights?: number[];
}

function snapshotsOf(c: AverageCase): Snapshot[] {
  const spec = mlp({ layers: c.layers, activation: "relu" });
  return c.snapshots.map((params, i) => ({
    index: i + 1,
    epoch: i,
    step: 4 * i + 3,
    lr: 0.1,
    spec,
    params: Float32Array.from(params),
  }));
}

for (const c of fixture.cases as AverageCase[]) {
  Deno.test(`averageWeights matches torch's AveragedModel: ${c.name}`, () => {
    const snapshots = snapshotsOf(c);
    const avg = averageWeights(snapshots, c.weights);
    // torch keeps a float32 running mean; ours is a float64 weighted sum rounded once.
    assertClose(avg.params, c.averaged, { rel: 1e-5, abs: 1e-6, label: c.name });
    assert.equal(avg.params.length, snapshots[0].params.length);
    if (snapshots.length > 1) {
      // The fixture can tell an average from its last member (so the comparison above can fail).
      const gap = Math.max(...c.averaged.map((v, k) => Math.abs(v - c.snapshots.at(-1)![k])));
      assert.ok(gap > 1e-3, `${c.name}: the average is the last snapshot`);
    }
    const last = snapshots[snapshots.length - 1];
    assert.deepEqual([avg.index, avg.epoch, avg.step, avg.lr], [
      last.index,
      last.epoch,
      last.step,
      last.lr,
    ]);
    assert.deepEqual(avg.averaged, snapshots.map((s) => s.index));
    // Order does not matter, to the last bit.
    const reversed = [...snapshots].reverse();
    const again = averageWeights(reversed, c.weights && [...c.weights].reverse());
    assert.deepEqual(again.params, avg.params);
  });
}

Deno.test("averageWeights of one snapshot is that snapshot; bad input is refused", () => {
  const spec = mlp({ layers: [2, 3, 2] });
  const one: Snapshot = {
    index: 1,
    epoch: 0,
    step: 0,
    lr: 0,
    spec,
    params: initParams(spec, { seed: 1 }),
  };
  assert.deepEqual(averageWeights([one]).params, one.params);
  assert.deepEqual(Array.from(averageWeights([one]).weights), [1]);
  const other = { ...one, spec: mlp({ layers: [2, 4, 2] }), params: new Float32Array(22) };
  assert.throws(
    () => averageWeights([one, other], [1, -1]),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.issues.map((i) => i.field), ["snapshots[1].spec", "weights"]);
      assert.match(e.message, /^Cannot average weights: snapshots\[1\]\.spec must equal/);
      return true;
    },
  );
  assert.throws(() => averageWeights([]), /snapshots must be a non-empty list/);
  assert.throws(() => averageWeights([one, one], [0, 0]), /not all zero/);
});
