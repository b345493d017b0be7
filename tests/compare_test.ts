import assert from "node:assert/strict";
import {
  accuracy,
  brierScore,
  compareMethods,
  ConfigError,
  expectedCalibrationError,
  fitTemperature,
  forward,
  initParams,
  logLoss,
  mlp,
  pairwiseDisagreement,
} from "../mod.ts";
import { temperRows } from "../lib/ensemble/temperature.ts";

const spec = mlp({ layers: [3, 5, 4] });
const snap = (index: number) => ({
  index,
  epoch: index,
  step: index,
  lr: 0,
  spec,
  params: initParams(spec, { seed: index }).map((v) => 3 * v),
});
const rows = (seed: number, n: number) => ({
  x: Float32Array.from({ length: n * 3 }, (_, i) => Math.sin(seed * 97 + i * 1.7)),
  y: Int32Array.from({ length: n }, (_, i) => (seed + i * 7) % 4),
});

Deno.test("compareMethods: every score equals the metric of the hand-combined probabilities", async () => {
  const test = rows(1, 40);
  const validation = rows(2, 30);
  const members = [snap(1), snap(2), snap(3)];
  const weights = [0.5, 0.25, 0.25];
  const [row] = await compareMethods({
    test,
    validation,
    methods: [{ id: "three", snapshots: members, weights, trainSteps: 7 }],
  });
  const mean = (x: Float32Array, n: number) => {
    const outs = members.map((m) => forward(spec, m.params, x, n));
    return Float32Array.from(outs[0], (_, i) => outs.reduce((a, o, m) => a + weights[m] * o[i], 0));
  };
  const p = mean(test.x, 40);
  const fit = fitTemperature(Float64Array.from(mean(validation.x, 30), Math.log), validation.y);
  assert.equal(row.id, "three");
  assert.equal(row.members, 3);
  assert.equal(row.trainSteps, 7);
  assert.equal(row.accuracy, accuracy(p, test.y));
  assert.ok(Math.abs(row.logLoss - logLoss(p, test.y)) < 1e-6);
  assert.ok(Math.abs(row.brier - brierScore(p, test.y)) < 1e-6);
  assert.ok(Math.abs(row.ece - expectedCalibrationError(p, test.y)) < 1e-6);
  assert.ok(Math.abs(row.temperature - fit.temperature) < 1e-6 * fit.temperature);
  const tempered = temperRows(p, 4, fit.temperature);
  assert.ok(Math.abs(row.logLossTemperature - logLoss(tempered, test.y)) < 1e-5);
  const memberProbs = members.map((m) => forward(spec, m.params, test.x, 40));
  assert.equal(row.disagreement, pairwiseDisagreement(memberProbs, 4));
  assert.equal(row.inferenceCost, 3 * (3 * 5 + 5 * 4));
});

Deno.test("compareMethods: a single model has no disagreement and rows keep their order", async () => {
  const table = await compareMethods({
    test: rows(3, 10),
    validation: rows(4, 10),
    methods: [
      { id: "b", snapshots: [snap(2)], trainSteps: 1 },
      { id: "a", snapshots: [snap(1), snap(2)], trainSteps: 2 },
    ],
  });
  assert.deepEqual(table.map((r) => r.id), ["b", "a"]);
  assert.equal(table[0].disagreement, null);
  assert.equal(typeof table[1].disagreement, "number");
});

Deno.test("compareMethods: refuses bad input naming every field", async () => {
  await assert.rejects(
    () =>
      compareMethods({
        test: { x: new Float32Array(3), y: new Int32Array(0) },
        validation: rows(1, 2),
        methods: [
          { id: "x", snapshots: [snap(1)], trainSteps: -1 },
          { id: "x", snapshots: [], trainSteps: 0 },
        ],
      }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      const fields = error.issues.map((i) => i.field);
      assert.deepEqual(fields, [
        "test",
        "methods[0].trainSteps",
        "methods[1].id",
        "methods[1].snapshots",
      ]);
      assert.match(error.message, /^Cannot compare methods: /);
      return true;
    },
  );
});
