/**
 * `swa` (lib/ensemble/swa.ts): the average is `averageWeights`, the losses are those of the members
 * and of the average predicted one by one, and the basin note appears exactly when the average is
 * much worse than its members: a network averaged with a hidden-unit permutation of itself (the
 * same function, a different basin) gets it; snapshots of one basin do not.
 */
import assert from "node:assert/strict";
import {
  averageWeights,
  BASIN_LOSS_RATIO,
  collect,
  ConfigError,
  cosineAnnealing,
  createCpuBackend,
  createWebGpuBackend,
  ensemble,
  layerViews,
  logLoss,
  makeBlobs,
  meanSquaredErrorMetric,
  mlp,
  sgd,
  type Snapshot,
  swa,
  toFloat32,
  train,
} from "../mod.ts";

const blobs = makeBlobs({ nSamples: 120, centers: 3, clusterStd: 1.5, randomState: 5 });
const data = { x: toFloat32(blobs.x), y: blobs.y, n: blobs.n };
const spec = mlp({ layers: [2, 8, 3] });

async function trained(): Promise<Snapshot[]> {
  const backend = createCpuBackend();
  const run = await collect(train({
    backend,
    model: spec,
    optimizer: sgd({ momentum: 0.9 }),
    schedule: cosineAnnealing({ lrMax: 0.05, totalSteps: 30, cycles: 3 }),
    lrPer: "epoch",
    epochs: 30,
    batchSize: 40,
    data,
  }));
  backend.dispose();
  return [...run.snapshots];
}

/** The same network with its hidden units in reverse order: the same function, other weights. */
function permuted(snapshot: Snapshot): Snapshot {
  const params = snapshot.params.slice();
  const [first, second] = layerViews(spec, params);
  const [w1, b1, w2] = [first.weights, first.bias, second.weights]; // [2, 8], [8], [8, 3]
  const src = layerViews(spec, snapshot.params);
  for (let h = 0; h < 8; h++) {
    const g = 7 - h;
    for (let i = 0; i < 2; i++) w1[i * 8 + h] = src[0].weights[i * 8 + g];
    b1[h] = src[0].bias[g];
    for (let o = 0; o < 3; o++) w2[h * 3 + o] = src[1].weights[g * 3 + o];
  }
  return { ...snapshot, index: snapshot.index + 100, params };
}

Deno.test("swa: the average is averageWeights, and the losses are the members' and its own", async () => {
  const snapshots = await trained();
  const result = await swa(snapshots, { data, weights: [1, 2, 3] });
  assert.deepEqual(result.snapshot, averageWeights(snapshots, [1, 2, 3]));
  const lossOf = (s: Snapshot) => logLoss(ensemble([s]).predictProbaSync(data.x), data.y);
  assert.deepEqual([...result.memberLoss], snapshots.map(lossOf));
  assert.equal(result.averagedLoss, lossOf(result.snapshot));
  assert.deepEqual(result.notes, []);
  // The same numbers through a backend's stacked prediction.
  const gpu = await createWebGpuBackend();
  try {
    const onGpu = await swa(snapshots, { data, weights: [1, 2, 3], backend: gpu });
    for (let m = 0; m < 3; m++) {
      assert.ok(Math.abs(onGpu.memberLoss[m] - result.memberLoss[m]) < 1e-5);
    }
    assert.ok(Math.abs(onGpu.averagedLoss - result.averagedLoss) < 1e-5);
  } finally {
    gpu.dispose();
  }
});

Deno.test("swa: averaging two basins (a network and its permutation) is noted, not thrown", async () => {
  const [, , last] = await trained();
  const twin = permuted(last);
  const same = await swa([last, last], { data });
  assert.deepEqual(same.notes, []);
  assert.equal(same.averagedLoss, same.memberLoss[0]);
  const result = await swa([last, twin], { data });
  // The twin computes the same function: the same loss, to float32 rounding of the sums.
  assert.ok(Math.abs(result.memberLoss[1] - result.memberLoss[0]) < 1e-6);
  const ratio = result.averagedLoss / Math.max(...result.memberLoss);
  assert.ok(ratio > BASIN_LOSS_RATIO, `averaged / worst member = ${ratio}`);
  assert.equal(result.notes.length, 1);
  assert.match(result.notes[0], /times its worst member's .* different basins/);
});

Deno.test("swa: a regressor's loss is the mean squared error; bad data is refused", async () => {
  const linear = mlp({ layers: [2, 2], head: "linear" });
  const snapshots = [1, 2].map((index) => ({
    index,
    epoch: index,
    step: index,
    lr: 0,
    spec: linear,
    params: new Float32Array([index, 0, 0, index, 0, 0]), // the identity, then twice it
  }));
  const x = new Float32Array([1, 2, 3, 4]);
  const result = await swa(snapshots, { data: { x, y: x, n: 2 } });
  assert.deepEqual([...result.memberLoss], [0, meanSquaredErrorMetric(x.map((v) => 2 * v), x)]);
  assert.equal(result.averagedLoss, meanSquaredErrorMetric(x.map((v) => 1.5 * v), x));
  const trainedSnapshots = await trained();
  await assert.rejects(
    swa(trainedSnapshots, { data: { x: data.x, y: new Int32Array(120).fill(3), n: 120 } }),
    (e) => e instanceof ConfigError && /^Cannot measure the averaged model: y\[0\]/.test(e.message),
  );
  await assert.rejects(
    swa(trainedSnapshots, { data: { ...data, y: new Float32Array(360), targets: "soft" } }),
    /data\.targets must be labels/,
  );
  await assert.rejects(swa([], { data }), /Cannot average weights/);
});
