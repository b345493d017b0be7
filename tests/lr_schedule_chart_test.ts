/** lrScheduleChart from the training config, in the unit the user chose, without the run plan. */
import assert from "node:assert/strict";
import {
  ConfigError,
  cosineAnnealing,
  createCpuBackend,
  everyEpochs,
  mlp,
  orThrow,
  perEpoch,
  planRun,
  sgd,
  type TrainConfig,
} from "../mod.ts";
import { lrScheduleChart, renderSvg } from "../plots.ts";

type Layer = {
  data: { values: Array<Record<string, number>> };
  encoding: { x: { title: string } };
};

const backend = createCpuBackend();
const tutorial: TrainConfig = {
  backend,
  model: mlp({ layers: [2, 25, 3] }),
  optimizer: sgd({ momentum: 0.9 }),
  schedule: cosineAnnealing({ lrMax: 0.01, totalSteps: 500, cycles: 10 }),
  lrPer: "epoch",
  epochs: 500,
  batchSize: 32,
  data: { x: new Float32Array(200), y: new Int32Array(100), n: 100 },
};

Deno.test("lrScheduleChart({ config }): a per-epoch schedule is drawn by epoch, marked where the plan snapshots", async () => {
  const chart = lrScheduleChart({ config: tutorial });
  const [line, markers] = chart.layer as Layer[];
  assert.equal(line.encoding.x.title, "epoch");
  assert.equal(line.data.values.length, 500);
  for (const p of line.data.values) assert.equal(p.lr, tutorial.schedule(p.epoch));
  const plan = orThrow("Cannot plan", planRun(tutorial));
  assert.deepEqual(
    markers.data.values.map((m) => m.epoch),
    plan.snapshotSteps.map((s) => Math.floor(s / plan.stepsPerEpoch)),
  );
  assert.deepEqual(markers.data.values.map((m) => m.epoch).slice(0, 3), [49, 99, 149]);
  const svg = await renderSvg(chart);
  assert.match(svg, /aria-label="[^"]*epoch/);
  assert.match(svg, />snapshot</); // the markers have a legend
});

Deno.test("lrScheduleChart({ config }): the same run drawn by step is the plan's schedule, step by step", () => {
  const plan = orThrow("Cannot plan", planRun(tutorial));
  const [line, markers] = lrScheduleChart({ config: tutorial, axis: "step" }).layer as Layer[];
  assert.equal(line.encoding.x.title, "step");
  assert.equal(line.data.values.length, 2000);
  for (const p of line.data.values) assert.equal(p.lr, plan.schedule(p.step));
  assert.deepEqual(markers.data.values.map((m) => m.step), plan.snapshotSteps);
});

Deno.test("lrScheduleChart: a per-step schedule drawn by epoch puts step t at t / stepsPerEpoch", () => {
  const schedule = cosineAnnealing({ lrMax: 0.1, totalSteps: 40, cycles: 2 });
  const [line, markers] = lrScheduleChart({
    schedule,
    stepsPerEpoch: 4,
    epochs: 10,
    axis: "epoch",
  }).layer as Layer[];
  assert.equal(line.data.values.length, 40);
  for (const [i, p] of line.data.values.entries()) {
    assert.equal(p.epoch, i / 4);
    assert.equal(p.lr, schedule(i));
  }
  assert.deepEqual(markers.data.values.map((m) => m.epoch), [19 / 4, 39 / 4]);
});

Deno.test("lrScheduleChart: a config's snapshot policy is what gets marked", () => {
  const config = { ...tutorial, snapshots: everyEpochs(100) };
  const [, markers] = lrScheduleChart({ config }).layer as Layer[];
  assert.deepEqual(markers.data.values.map((m) => m.epoch), [99, 199, 299, 399, 499]);
});

Deno.test("lrScheduleChart: a per-epoch schedule with steps per epoch matches the wrapped one by step", () => {
  const schedule = cosineAnnealing({ lrMax: 0.01, totalSteps: 50, cycles: 5 });
  const wrapped = lrScheduleChart({ schedule: perEpoch(4)(schedule), totalSteps: 200 });
  const direct = lrScheduleChart({
    schedule,
    lrPer: "epoch",
    stepsPerEpoch: 4,
    epochs: 50,
    axis: "step",
  });
  assert.deepEqual(
    (direct.layer as Layer[]).map((l) => l.data.values),
    (wrapped.layer as Layer[]).map((l) => l.data.values),
  );
});

Deno.test("lrScheduleChart: missing sizes and foreign keys are named, with the fix", () => {
  const schedule = cosineAnnealing({ lrMax: 0.01, totalSteps: 50, cycles: 5 });
  const fields = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return e.issues.map((i) => `${i.field} ${i.message}`);
    }
    assert.fail("no error");
  };
  assert.match(
    fields(() => lrScheduleChart({ schedule, lrPer: "epoch", epochs: 50 }))[0],
    /^totalSteps .*or give epochs and stepsPerEpoch/,
  );
  assert.match(
    fields(() => lrScheduleChart({ schedule, lrPer: "epoch", totalSteps: 50 }))[0],
    /^stepsPerEpoch is required when lrPer or axis is "epoch"/,
  );
  assert.deepEqual(
    fields(() => lrScheduleChart({ config: tutorial, totalSteps: 5 } as never)),
    ['totalSteps is not an option: use "axis", "snapshots", "maxPoints", "title", "config"'],
  );
  assert.match(
    fields(() => lrScheduleChart({ config: { ...tutorial, batchSize: 0 } }))[0],
    /^config\.batchSize must be a positive integer/,
  );
  backend.dispose();
});
