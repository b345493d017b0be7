import assert from "node:assert/strict";
import { ensemble, fitTemperature, temperRows } from "../lib/ensemble/mod.ts";
import { ConfigError } from "../lib/errors.ts";
import { logLoss } from "../lib/metrics.ts";
import { initParams, mlp } from "../lib/model/mod.ts";
import fixture from "./fixtures/temperature.json" with { type: "json" };

interface TemperatureCase {
  name: string;
  classes: number;
  logProbs: number[];
  labels: number[];
  temperature: number;
  logLoss: number;
  unscaledLogLoss: number;
}

for (const c of fixture.cases as TemperatureCase[]) {
  Deno.test(`fitTemperature matches scipy.optimize.minimize_scalar: ${c.name}`, () => {
    const fit = fitTemperature(Float64Array.from(c.logProbs), c.labels);
    const rel = Math.abs(fit.temperature - c.temperature) / c.temperature;
    assert.ok(rel < 1e-4, `T = ${fit.temperature}, SciPy ${c.temperature} (rel ${rel})`);
    assert.ok(Math.abs(fit.logLoss - c.logLoss) < 1e-9 * c.logLoss + 1e-12);
    assert.ok(Math.abs(fit.unscaledLogLoss - c.unscaledLogLoss) < 1e-9);
    // The fixture's optimum is far from 1, so a fit that did nothing would fail.
    assert.ok(Math.abs(c.temperature - 1) > 0.3);
    // Float32 inputs give the same optimum.
    const f32 = fitTemperature(Float32Array.from(c.logProbs), c.labels);
    assert.ok(Math.abs(f32.temperature - c.temperature) / c.temperature < 1e-4);
  });
}

Deno.test("temperature on an ensemble rescales the log of its averaged probabilities", async () => {
  const spec = mlp({ layers: [2, 8, 3], activation: "tanh" });
  const snapshots = [1, 2, 3].map((index) => ({
    index,
    epoch: index,
    step: index,
    lr: 0,
    spec,
    params: initParams(spec, { seed: index }).map((v) => 3 * v),
  }));
  const x = Float32Array.from({ length: 60 }, (_, k) => ((k * 37) % 23) / 4 - 3); // [30, 2]
  const y = Int32Array.from({ length: 30 }, (_, r) => (r * 7) % 3);
  const plain = await ensemble(snapshots).predictProba(x);
  const fit = fitTemperature(Float64Array.from(plain, Math.log), y);
  const scaled = await ensemble(snapshots, { temperature: fit.temperature }).predictProba(x);
  // By hand: softmax(log p / T) per row.
  for (let r = 0; r < 30; r++) {
    const e = [0, 1, 2].map((c) => Math.exp(Math.log(plain[3 * r + c]) / fit.temperature));
    const total = e[0] + e[1] + e[2];
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(scaled[3 * r + c] - e[c] / total) < 1e-6);
  }
  assert.ok(Math.abs(logLoss(scaled, y) - fit.logLoss) < 1e-5);
  assert.ok(fit.logLoss <= fit.unscaledLogLoss);
  assert.ok(
    Math.abs(fit.temperature - 1) > 0.05,
    `T = ${fit.temperature}: the check above is void`,
  );
  assert.deepEqual(temperRows(plain, 3, fit.temperature), scaled);
  assert.throws(
    () => ensemble(snapshots, { vote: "hard", temperature: 2 }),
    /temperature applies to the soft vote of a "softmax" head only/,
  );
  assert.throws(() => ensemble(snapshots, { temperature: 0 }), /temperature must be a positive/);
});

Deno.test("fitTemperature clamps to its bounds and refuses bad input", () => {
  // Always right and sure: the loss keeps falling as T shrinks, so the lower bound is returned.
  const sure = Float64Array.from([0, -5, -5, 0], (v) => v);
  assert.equal(fitTemperature(sure, [0, 1]).temperature, 0.01);
  // Always wrong: the flattest scaling, the upper bound.
  assert.equal(fitTemperature(sure, [1, 0]).temperature, 100);
  // log 0 is read as log(1e-15), like logLoss's clip.
  const zero = fitTemperature(new Float64Array([0, -Infinity, -1, -0.5]), [0, 1]);
  assert.ok(Number.isFinite(zero.logLoss));
  assert.throws(
    () => fitTemperature(new Float64Array([0, NaN]), [0]),
    (e: unknown) => e instanceof ConfigError && /logProbs\[1\] must be finite/.test(e.message),
  );
  assert.throws(
    () => fitTemperature(new Float64Array(6), [0, 3]),
    /labels\[1\] must be an integer/,
  );
  assert.throws(() => fitTemperature(new Float64Array(5), [0, 1]), /must hold n x classes/);
  assert.throws(() => fitTemperature([0, 1] as never, [0]), /Float32Array or Float64Array/);
});
