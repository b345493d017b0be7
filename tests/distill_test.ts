/**
 * `distill` (lib/ensemble/distill.ts): the soft targets it trains on, a student that learns the
 * teacher, the same student on the CPU, WebGPU and WebAssembly backends, and the refusals at the
 * door.
 */
import assert from "node:assert/strict";
import { assertClose } from "./_backend_cases.ts";
import {
  collect,
  ConfigError,
  cosineAnnealing,
  createCpuBackend,
  createWebGpuBackend,
  distill,
  type DistillOptions,
  ensemble,
  makeBlobs,
  mlp,
  sgd,
  toFloat32,
  train,
} from "../mod.ts";
import { temperRows } from "../lib/ensemble/temperature.ts";
import { createWasmBackend } from "../lib/backend/wasm/backend.ts";

const blobs = makeBlobs({ nSamples: 90, centers: 3, clusterStd: 2.5, randomState: 7 });
const data = { x: toFloat32(blobs.x), y: blobs.y, n: blobs.n };

async function teacher() {
  const backend = createCpuBackend();
  const run = await collect(train({
    backend,
    model: mlp({ layers: [2, 12, 3] }),
    optimizer: sgd({ momentum: 0.9 }),
    schedule: cosineAnnealing({ lrMax: 0.1, totalSteps: 24, cycles: 3 }),
    lrPer: "epoch",
    epochs: 24,
    batchSize: 30,
    data,
  }));
  backend.dispose();
  return ensemble(run.snapshots);
}

const training = (epochs: number): Omit<DistillOptions, "data"> => ({
  optimizer: sgd({ momentum: 0.9 }),
  schedule: cosineAnnealing({ lrMax: 0.1, totalSteps: epochs, cycles: 1 }),
  lrPer: "epoch",
  epochs,
  batchSize: 30,
  seed: 3,
});

Deno.test("distill: trains on softmax(log(p) / T) of the ensemble, and the student follows it", async () => {
  const model = await teacher();
  const p = model.predictProbaSync(data.x);
  const small = mlp({ layers: [2, 4, 3] }); // a smaller student
  const plain = await distill(model, { ...training(2), data, model: small });
  assert.deepEqual(plain.targets, p);
  assert.equal(plain.student.spec, small);
  assert.equal(plain.student.params.length, 2 * 4 + 4 + 4 * 3 + 3);
  const t = 3;
  const result = await distill(model, {
    ...training(40),
    data,
    temperature: t,
  });
  assert.deepEqual(result.targets, temperRows(p, 3, t));
  assert.equal(result.temperature, t);
  assert.equal(result.student.spec, model.spec);
  assert.equal(result.history.length, 40);
  const first = result.history[0];
  const last = result.history[39];
  assert.ok(last.loss < first.loss, `loss ${first.loss} -> ${last.loss}`);
  const classes = model.predictSync(data.x);
  const student = ensemble([result.student]).predictSync(data.x);
  const agree = student.filter((c, i) => c === classes[i]).length;
  assert.ok(agree >= 85, `the student agrees with the teacher on ${agree} of 90 rows`);
  assert.ok((last.accuracy ?? 0) >= 85 / 90, `epoch agreement ${last.accuracy}`);
});

Deno.test("distill: the student trained on WebGPU (per kernel) is the CPU's", async () => {
  const model = await teacher();
  const gpu = await createWebGpuBackend(); // "auto": soft targets opt out of the fused kernel
  try {
    const options = { ...training(5), data, temperature: 2 };
    const onGpu = await distill(model, { ...options, backend: gpu });
    const onCpu = await distill(model, options);
    assert.equal(gpu.fusedSteps, 0);
    assertClose(onGpu.student.params, onCpu.student.params, {
      rel: 1e-3,
      abs: 1e-5,
      label: "student",
    });
    assertClose(onGpu.history.map((e) => e.loss), onCpu.history.map((e) => e.loss), {
      rel: 1e-4,
      abs: 1e-6,
      label: "epoch losses",
    });
  } finally {
    gpu.dispose();
  }
});

Deno.test("distill: the student trained on wasm (one thread and two) is the CPU's", async () => {
  const model = await teacher();
  const options = { ...training(5), data, temperature: 2 };
  const onCpu = await distill(model, options);
  for (const threads of [1, 2]) {
    const wasm = await createWasmBackend({ threads });
    try {
      const onWasm = await distill(model, { ...options, backend: wasm });
      assert.deepEqual(onWasm.targets, onCpu.targets);
      assertClose(onWasm.student.params, onCpu.student.params, {
        rel: 1e-4,
        abs: 1e-6,
        label: `${threads} thread(s): student`,
      });
      assertClose(onWasm.history.map((e) => e.loss), onCpu.history.map((e) => e.loss), {
        rel: 1e-5,
        abs: 1e-6,
        label: `${threads} thread(s): epoch losses`,
      });
      assert.deepEqual(
        onWasm.history.map((e) => e.accuracy),
        onCpu.history.map((e) => e.accuracy),
        `${threads} thread(s): epoch agreement`,
      );
    } finally {
      wasm.dispose();
    }
  }
  assert.ok(onCpu.history[4].loss < onCpu.history[0].loss, "the student learns");
});

Deno.test("distill: bad options are refused together", async () => {
  const model = await teacher();
  await assert.rejects(
    distill(model, {
      ...training(2),
      data: { x: new Float32Array([0, NaN]), n: 1 },
      temperature: 0,
      model: mlp({ layers: [2, 4, 5] }),
    }),
    (e) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.issues.map((i) => i.field), ["model", "temperature", "data.x[0][1]"]);
      assert.match(e.message, /^Cannot distill: /);
      return true;
    },
  );
  const regressor = ensemble([{
    index: 1,
    epoch: 0,
    step: 0,
    lr: 0,
    spec: mlp({ layers: [2, 2], head: "linear" }),
    params: new Float32Array(6),
  }]);
  await assert.rejects(distill(regressor, { ...training(1), data }), /must be a classifier/);
});
