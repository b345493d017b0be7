import assert from "node:assert/strict";
import { fitEnsembleWeights } from "../lib/ensemble/mod.ts";
import { logLoss } from "../lib/metrics.ts";
import fixture from "./fixtures/ensemble_weights.json" with { type: "json" };

interface WeightsCase {
  name: string;
  classes: number;
  members: number[][];
  labels: number[];
  weights: number[];
  logLoss: number;
}

for (const c of fixture.cases as WeightsCase[]) {
  Deno.test(`fitEnsembleWeights reaches SciPy SLSQP's optimum: ${c.name}`, () => {
    const members = c.members.map((p) => Float32Array.from(p));
    const fit = fitEnsembleWeights(members, c.labels);
    assert.ok(Math.abs(fit.logLoss - c.logLoss) < 1e-4, `${fit.logLoss} vs SciPy ${c.logLoss}`);
    assert.ok(fit.logLoss <= c.logLoss + 1e-6);
    assert.ok(fit.weights.every((w) => w >= 0));
    assert.ok(Math.abs(fit.weights.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    for (let k = 0; k < c.weights.length; k++) {
      assert.ok(Math.abs(fit.weights[k] - c.weights[k]) < 0.02);
    }
    // The reported loss is the library's log-loss of the weighted mean.
    const mean = new Float64Array(members[0].length);
    members.forEach((p, m) => p.forEach((v, k) => (mean[k] += fit.weights[m] * v)));
    assert.ok(Math.abs(logLoss(mean, c.labels) - fit.logLoss) < 1e-6);
    // Equal weights are worse here (so the fit did something).
    const equal = members[0].map((_, k) => members.reduce((a, p) => a + p[k], 0) / members.length);
    assert.ok(logLoss(equal, c.labels) > fit.logLoss + 1e-3);
  });
}

Deno.test("fitEnsembleWeights refuses bad options and input", () => {
  const p = new Float32Array([0.5, 0.5]);
  assert.throws(
    () => fitEnsembleWeights([p], [0], { tolerance: 0 }),
    /tolerance must be a positive/,
  );
  assert.throws(
    () => fitEnsembleWeights([p], [0], { steps: 1 } as never),
    /steps is not an option/,
  );
  assert.throws(
    () => fitEnsembleWeights([], [0]),
    /^ConfigError: Cannot fit ensemble weights: memberProbs must be a non-empty/,
  );
  assert.throws(() => fitEnsembleWeights([p], [3]), /labels\[0\] must be a class/);
  assert.deepEqual(fitEnsembleWeights([p], [1]).weights, [1]);
});
