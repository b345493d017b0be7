import assert from "node:assert/strict";
import { ensemble, ensembleSizeCurve } from "../lib/ensemble/mod.ts";
import { ConfigError } from "../lib/errors.ts";
import { initParams, mlp } from "../lib/model/mod.ts";
import { constant, cosineAnnealing, perEpoch } from "../lib/schedules/mod.ts";
import {
  blobsScatterChart,
  ensembleSizeChart,
  learningCurveChart,
  lrScheduleChart,
  renderSvg,
} from "../plots.ts";

/** Checks that every tag is closed in order (the SVG is well-formed XML as far as tags go). */
function assertWellFormed(svg: string): void {
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([A-Za-z][\w:-]*)((?:[^>"]|"[^"]*")*?)(\/?)>/g)) {
    const [, closing, name, , selfClosing] = m;
    if (selfClosing) continue;
    if (closing) assert.equal(stack.pop(), name, `unbalanced </${name}>`);
    else stack.push(name);
  }
  assert.deepEqual(stack, []);
}

/** Number of marks Vega drew in the mark groups named `${name}_marks` (one group per line series). */
function countMarks(svg: string, name: string): number {
  const groups = svg.split(`role-mark ${name}_marks"`).slice(1);
  assert.ok(groups.length > 0, `no mark group ${name}`);
  let count = 0;
  for (const g of groups) count += (g.slice(0, g.indexOf("</g>")).match(/<path /g) ?? []).length;
  return count;
}

function axisTitles(svg: string): string[] {
  return [...svg.matchAll(/aria-label="[XY]-axis titled '([^']*)'/g)].map((m) => m[1]);
}

/** The palette indices of an indexed PNG whose one IDAT chunk holds one stored deflate block. */
function storedPngPixels(url: string, width: number, height: number): Uint8Array {
  const png = Uint8Array.from(
    atob(url.replace("data:image/png;base64,", "")),
    (c) => c.charCodeAt(0),
  );
  const text = new TextDecoder("latin1").decode(png);
  const idat = text.indexOf("IDAT") + 4 + 2 + 5; // chunk type, zlib header, stored block header
  const pixels = new Uint8Array(width * height);
  for (let r = 0; r < height; r++) {
    assert.equal(png[idat + r * (width + 1)], 0, "filter type 0");
    pixels.set(png.subarray(idat + r * (width + 1) + 1, idat + (r + 1) * (width + 1)), r * width);
  }
  return pixels;
}

const spec = mlp({ layers: [2, 10, 3] });
const snapshots = [1, 2, 3, 4, 5].map((index) => ({
  index,
  epoch: 10 * index - 1,
  step: 40 * index - 1,
  lr: 0,
  spec,
  params: initParams(spec, { seed: index }),
}));

Deno.test("lrScheduleChart draws the trained schedule with one marker per cycle end", async () => {
  // The tutorial: lr per epoch, 500 epochs of 4 steps, 10 cycles.
  const schedule = perEpoch(4)(cosineAnnealing({ lrMax: 0.01, totalSteps: 500, cycles: 10 }));
  const chart = lrScheduleChart({ schedule, totalSteps: 2000 });
  const [line, markers] = chart.layer as { data: { values: { step: number; lr: number }[] } }[];
  assert.equal(line.data.values.length, 2000);
  for (const p of line.data.values) assert.equal(p.lr, schedule(p.step));
  assert.deepEqual(
    markers.data.values.map((p) => p.step),
    Array.from({ length: 10 }, (_, i) => 200 * (i + 1) - 1),
  );
  const svg = await renderSvg(chart);
  assertWellFormed(svg);
  assert.equal(countMarks(svg, "snapshots"), 10);
  assert.equal(countMarks(svg, "lr"), 1);
  assert.deepEqual(axisTitles(svg), ["step", "learning rate"]);
  assert.match(svg, />Learning rate schedule</);
});

Deno.test("lrScheduleChart thins long schedules but keeps every cycle end and restart", () => {
  const schedule = cosineAnnealing({ lrMax: 0.1, totalSteps: 100_000, cycles: 7 });
  const chart = lrScheduleChart({ schedule, totalSteps: 100_000, maxPoints: 500 });
  const [line, markers] = chart.layer as { data: { values: { step: number }[] } }[];
  const steps = new Set(line.data.values.map((p) => p.step));
  assert.ok(line.data.values.length <= 500 + 2 * 8 + 1);
  for (const m of markers.data.values) {
    assert.ok(steps.has(m.step) && (m.step === 99_999 || steps.has(m.step + 1)));
  }
  // 7 cycles of floor(100000 / 7) = 14285 steps; the 5 steps left form a partial cycle, no end.
  assert.deepEqual(markers.data.values.map((m) => m.step), [...schedule.cycleEnds!(100_000)]);
  assert.equal(markers.data.values.length, 7);
});

Deno.test("lrScheduleChart marks the given snapshots when the schedule is not cyclic", async () => {
  const chart = lrScheduleChart({
    schedule: constant(0.01),
    totalSteps: 200,
    snapshots: snapshots.slice(0, 4),
  });
  const svg = await renderSvg(chart);
  assert.equal(countMarks(svg, "snapshots"), 4);
  assert.throws(
    () => lrScheduleChart({ schedule: constant(0.01), totalSteps: 0, snapshots: snapshots }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.issues.map((i) => i.field), ["totalSteps", "snapshots"]);
      return true;
    },
  );
});

Deno.test("learningCurveChart draws train and validation lines for loss and accuracy", async () => {
  const history = Array.from({ length: 30 }, (_, epoch) => ({
    epoch,
    loss: 1 / (epoch + 1),
    accuracy: 1 - 1 / (epoch + 2),
    ...(epoch % 5 === 4
      ? { validation: { loss: 1.1 / (epoch + 1), accuracy: 0.9 - 1 / (epoch + 2) } }
      : {}),
  }));
  const chart = learningCurveChart(history);
  assert.equal((chart.data as { values: unknown[] }).values.length, 30 * 2 + 6 * 2);
  const svg = await renderSvg(chart);
  assertWellFormed(svg);
  assert.equal(countMarks(svg, "loss"), 2); // one line per split
  assert.equal(countMarks(svg, "accuracy"), 2);
  assert.deepEqual(axisTitles(svg), ["epoch", "loss", "epoch", "accuracy"]);
  const trainOnly = await renderSvg(
    learningCurveChart(history.map(({ epoch, loss, accuracy }) => ({ epoch, loss, accuracy }))),
  );
  assert.equal(countMarks(trainOnly, "loss"), 1);
  assert.throws(
    () => learningCurveChart([]),
    /Cannot draw learning curves: history must be a non-empty list/,
  );
});

Deno.test("ensembleSizeChart draws one dot per snapshot and one line for the ensemble", async () => {
  const x = Float32Array.from({ length: 60 }, (_, k) => ((k * 37) % 17) / 3 - 2); // [30, 2]
  const y = Int32Array.from({ length: 30 }, (_, i) => i % 3);
  const curve = await ensembleSizeCurve(snapshots, { x, y });
  const svg = await renderSvg(ensembleSizeChart(curve));
  assertWellFormed(svg);
  assert.equal(countMarks(svg, "single"), 5);
  assert.equal(countMarks(svg, "ensemble"), 1);
  assert.deepEqual(axisTitles(svg), ["ensemble members (the last n snapshots)", "accuracy"]);
  assert.match(svg, />n-th last snapshot alone</);
  assert.match(svg, />ensemble of the last n</);
  // The axis starts at one member: its first tick is 1, and no tick says 0.
  const ticks = [...svg.matchAll(/role-axis-label[\s\S]*?<\/g>/g)][0][0];
  assert.deepEqual([...ticks.matchAll(/>(\d+)<\/text>/g)].map((m) => m[1])[0], "1");
  assert.throws(() => ensembleSizeChart([]), ConfigError);
});

Deno.test("blobsScatterChart draws every point and, with a predictor, the decision regions", async () => {
  const x = new Float64Array([-3, -2, 0, 0, 2, 3, 1, -1, -2, 2, 3, 3]); // [6, 2]
  const y = [0, 1, 2, 1, 0, 2];
  const plain = await renderSvg(blobsScatterChart({ x, y, nFeatures: 2 }));
  assertWellFormed(plain);
  assert.equal(countMarks(plain, "points"), 6);
  assert.deepEqual(axisTitles(plain), ["feature 1", "feature 2"]);
  const model = ensemble(snapshots);
  const predictor = { predict: model.predictSync }; // the chart draws synchronously
  const chart = blobsScatterChart({ x, y, nFeatures: 2, predictor, grid: 12 });
  const [regions] = chart.layer as {
    data: { values: { url: string; x1: number; x1end: number; x2: number; x2end: number }[] };
  }[];
  assert.equal(regions.data.values.length, 1); // one image, one pixel per cell
  const { url, x1, x1end, x2, x2end } = regions.data.values[0];
  // Each pixel is the ensemble's prediction at its cell's centre (top row: the largest feature 2).
  const pixels = storedPngPixels(url, 12, 12);
  const centres = new Float32Array(144 * 2);
  for (let r = 0; r < 12; r++) {
    for (let c = 0; c < 12; c++) {
      centres[2 * (r * 12 + c)] = x1 + (c + 0.5) * (x1end - x1) / 12;
      centres[2 * (r * 12 + c) + 1] = x2end + (r + 0.5) * (x2 - x2end) / 12;
    }
  }
  const predicted = model.predictSync(centres, 144);
  const classes = [...new Set(predicted)].sort((a, b) => a - b);
  assert.ok(classes.length >= 2, "the regions show more than one class");
  for (let r = 0; r < 12; r++) {
    for (let c = 0; c < 12; c++) {
      assert.equal(classes[pixels[(11 - r) * 12 + c]], predicted[r * 12 + c], `cell ${r}, ${c}`);
    }
  }
  const svg = await renderSvg(chart);
  assertWellFormed(svg);
  assert.equal((svg.match(/<image\b/g) ?? []).length, 1);
  assert.equal(countMarks(svg, "points"), 6);
  // Wider data: only the first two features are drawn, and regions are refused.
  const wide = blobsScatterChart({ x: new Float32Array(9), y: [0, 1, 1], nFeatures: 3 });
  assert.equal((wide.layer as { data: { values: unknown[] } }[])[0].data.values.length, 3);
  assert.throws(
    () => blobsScatterChart({ x: new Float32Array(9), y: [0, 1, 1], nFeatures: 3, predictor }),
    /predictor needs nFeatures 2/,
  );
  assert.throws(
    () => blobsScatterChart({ x: new Float32Array(5), y: [0, 1, 1], nFeatures: 2 }),
    /x must be a Float32Array or Float64Array of n x nFeatures = 3 x 2/,
  );
});

Deno.test("lrScheduleChart marks the snapshots taken, not every cycle end, when given them", () => {
  const schedule = cosineAnnealing({ lrMax: 0.01, totalSteps: 100, cycles: 4 });
  const spec = lrScheduleChart({
    schedule,
    totalSteps: 100,
    snapshots: [{ step: 74, index: 3 }, { step: 99, index: 4 }], // keepLast: 2
  });
  const layers = spec.layer as { data: { values: { step: number }[] } }[];
  assert.deepEqual(layers[1].data.values.map((v) => v.step), [74, 99]);
});

Deno.test("chart builders refuse sizes they would have to build without bound", () => {
  const x = new Float32Array([0, 0, 1, 1]);
  assert.throws(
    () => blobsScatterChart({ x, y: [0, 1], nFeatures: 2, grid: 1e5 }),
    /grid must be an integer in \[1, 400\]/,
  );
  assert.throws(
    () => lrScheduleChart({ schedule: constant(0.01), totalSteps: 1e9, maxPoints: 1e9 }),
    /maxPoints must be an integer in \[1, 100000\]/,
  );
  // A billion steps is fine: the line is sampled at maxPoints.
  const long = lrScheduleChart({ schedule: constant(0.01), totalSteps: 1e9 });
  assert.ok((long.layer as { data: { values: unknown[] } }[])[0].data.values.length <= 2001);
});

Deno.test("chart builders name the field when given null, NaN or foreign values", () => {
  // deno-lint-ignore no-explicit-any
  const anything = (v: unknown) => v as any;
  const fields = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof ConfigError, String(e));
      return e.issues.map((i) => i.field);
    }
    assert.fail("expected a ConfigError");
  };
  assert.deepEqual(fields(() => blobsScatterChart(anything(null))), ["options"]);
  assert.deepEqual(
    fields(() => blobsScatterChart({ x: new Float32Array([0, NaN]), y: [0], nFeatures: 2 })),
    ["x[1]"],
  );
  assert.deepEqual(
    fields(() =>
      blobsScatterChart({
        x: new Float32Array([0, 0]),
        y: [0],
        nFeatures: 2,
        predictor: anything({ predict: () => "no" }),
      })
    ),
    ["predictor"],
  );
  assert.deepEqual(fields(() => learningCurveChart(anything([{ epoch: "1", loss: 0 }]))), [
    "history[0]",
  ]);
  assert.deepEqual(fields(() => ensembleSizeChart(anything([null]))), ["curve[0]"]);
  assert.deepEqual(
    fields(() => lrScheduleChart({ schedule: anything(() => NaN), totalSteps: 3 })),
    ["schedule"],
  );
  assert.deepEqual(fields(() => lrScheduleChart(anything({ totalSteps: "3", title: 3 }))), [
    "schedule",
    "totalSteps",
    "title",
  ]);
});
