/**
 * An API without traps: the data helpers' output trains as it is, a regression run reports no
 * accuracy, and a plan is usable without fp-ts.
 */
import assert from "node:assert/strict";
import {
  collect,
  ConfigError,
  constant,
  cosineAnnealing,
  createCpuBackend,
  makeBlobs,
  mlp,
  orThrow,
  planRun,
  sgd,
  shuffleSplit,
  splitAt,
  toFloat32,
  train,
  type TrainConfig,
} from "../mod.ts";
import { learningCurveChart } from "../plots.ts";

const blobs = makeBlobs({ nSamples: 300, centers: 3, clusterStd: 2, randomState: 2 });
const [trainSet, testSet] = splitAt(blobs, 100);

function config(overrides: Partial<TrainConfig>): TrainConfig {
  return {
    backend: createCpuBackend(),
    model: mlp({ layers: [2, 8, 3] }),
    optimizer: sgd({ momentum: 0.9 }),
    schedule: cosineAnnealing({ lrMax: 0.05, totalSteps: 12, cycles: 3 }),
    lrPer: "epoch",
    epochs: 12,
    batchSize: 16,
    data: trainSet,
    seed: 3,
    ...overrides,
  };
}

Deno.test("train: splitAt's float64 datasets go straight into data and validation, as if converted by hand", async () => {
  const direct = await collect(train(config({ data: trainSet, validation: testSet })));
  const converted = await collect(train(config({
    data: { x: toFloat32(trainSet.x), y: trainSet.y, n: trainSet.n },
    validation: { x: toFloat32(testSet.x), y: testSet.y, n: testSet.n },
    reportEvery: 1,
  })));
  assert.equal(direct.snapshots.length, 3);
  assert.deepEqual(
    direct.snapshots.map((s) => s.params),
    converted.snapshots.map((s) => s.params),
  );
  assert.deepEqual(
    direct.history.map((e) => e.validation),
    converted.history.map((e) => e.validation),
  );
  assert.ok(direct.history.every((e) => e.validation !== undefined)); // the CPU reports every epoch
});

Deno.test("train: shuffleSplit's parts train as they are; plain number arrays too", async () => {
  const { train: part } = shuffleSplit(blobs, { testSize: 0.5, seed: 1 });
  const fromSplit = await collect(train(config({ data: part })));
  const plain = {
    x: Array.from(part.x),
    y: Array.from(part.y),
    n: part.n,
  };
  const fromArrays = await collect(train(config({ data: plain })));
  assert.deepEqual(
    fromSplit.snapshots.map((s) => s.params),
    fromArrays.snapshots.map((s) => s.params),
  );
});

Deno.test("train: bad float64 data is still reported under data's fields", () => {
  const x = trainSet.x.slice();
  x[5] = NaN;
  assert.throws(
    () => train(config({ data: { ...trainSet, x } })),
    (e: unknown) => e instanceof ConfigError && e.issues[0].field === "data.x[2][1]",
  );
});

Deno.test("train: a regression run's epoch events carry no accuracy, and its chart no accuracy panel", async () => {
  // Targets: the sum of the two coordinates, [n, 1].
  const targets = (d: typeof trainSet) =>
    Float64Array.from({ length: d.n }, (_, i) => d.x[2 * i] + d.x[2 * i + 1]);
  const result = await collect(train(config({
    model: mlp({ layers: [2, 8, 1], head: "linear" }),
    schedule: constant({ lr: 0.002 }),
    data: { x: trainSet.x, y: targets(trainSet), n: trainSet.n },
    validation: { x: testSet.x, y: targets(testSet), n: testSet.n },
    replicas: 2,
  })));
  assert.equal(result.history.length, 12);
  for (const e of result.history) {
    assert.ok(!("accuracy" in e), `epoch ${e.epoch} has an accuracy`);
    assert.ok(e.validation !== undefined && !("accuracy" in e.validation));
    assert.ok(e.replicas !== undefined && e.replicas.every((r) => !("accuracy" in r)));
    assert.ok(Number.isFinite(e.loss));
  }
  assert.ok(result.history[11].loss < result.history[0].loss, "it learned");
  const chart = learningCurveChart(result.history) as { vconcat: Array<{ name: string }> };
  assert.deepEqual(chart.vconcat.map((p) => p.name), ["loss_panel"]);
  const classified = await collect(train(config({})));
  assert.ok(classified.history.every((e) => typeof e.accuracy === "number"));
  const both = learningCurveChart(classified.history) as { vconcat: Array<{ name: string }> };
  assert.deepEqual(both.vconcat.map((p) => p.name), ["loss_panel", "accuracy_panel"]);
});

Deno.test("planRun: the plan and its errors are usable with orThrow alone, no fp-ts import", () => {
  const plan = orThrow("Cannot plan the run", planRun(config({})));
  assert.equal(plan.totalSteps, 12 * 7);
  assert.equal(plan.snapshotSteps.length, 3);
  assert.throws(
    () => orThrow("Cannot plan the run", planRun(config({ epochs: -1, batchSize: 0 }))),
    (e: unknown) =>
      e instanceof ConfigError && e.message.startsWith("Cannot plan the run: ") &&
      e.issues.map((i) => i.field).join() === "epochs,batchSize",
  );
});

Deno.test("data checks: the object validateTrainingData returns skips only the inputs' finite scan for an alike spec; the caller's own is always checked", async () => {
  const { validateTrainingData } = await import("../lib/training_data.ts");
  const spec = mlp({ layers: [2, 4, 3] });
  const given = { x: new Float32Array([0, 1, 2, 3]), y: new Int32Array([0, 2]), n: 2 };
  const first = validateTrainingData(spec, given);
  assert.equal(first._tag, "Right");
  if (first._tag !== "Right") return;
  const checked = first.right;
  assert.notEqual(checked, given); // a new object: the caller never holds it
  assert.ok(Object.isFrozen(checked)); // no one swaps its arrays
  // The caller's object is checked every time: a NaN put in later is found.
  given.x[1] = NaN;
  const again = validateTrainingData(spec, given);
  assert.equal(again._tag, "Left");
  // The returned object's labels are checked again (a bad label would send a kernel outside a row).
  given.y[0] = 7;
  const relabelled = validateTrainingData(spec, checked);
  assert.equal(relabelled._tag, "Left");
  if (relabelled._tag === "Left") assert.deepEqual(relabelled.left.map((i) => i.field), ["y[0]"]);
  given.y[0] = 0;
  // The returned object passes for any spec with the same input width, output width and head...
  assert.equal(validateTrainingData(mlp({ layers: [2, 9, 3] }), checked)._tag, "Right");
  // ...and is checked in full for another: 2 inputs are not 4, 3 classes are not 2, and the NaN
  // put into the caller's array is there too (the arrays are shared, not copied).
  const other = validateTrainingData(mlp({ layers: [4, 3, 2] }), checked);
  assert.equal(other._tag, "Left");
  if (other._tag === "Left") {
    assert.deepEqual(other.left.map((i) => i.field).sort(), ["x", "x[0][1]", "y[1]"]);
  }
});
