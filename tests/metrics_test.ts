import assert from "node:assert/strict";
import fc from "fast-check";
import {
  accuracy,
  argmaxRows,
  brierScore,
  expectedCalibrationError,
  logLoss,
  meanSquaredErrorMetric,
  pairwiseDisagreement,
} from "../lib/metrics.ts";
import { ConfigError } from "../lib/errors.ts";
import { ConfigError as ModConfigError } from "../mod.ts";

interface SklearnCase {
  classes: number;
  probs: number[];
  labels: number[];
  accuracy: number;
  logLoss: number;
  ece15: number;
  ece7: number;
  brierBinary?: number;
  regressionTarget: number[];
  mse: number;
}

const fixture: { cases: SklearnCase[] } = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/metrics_sklearn.json", import.meta.url)),
);

function close(actual: number, expected: number, tol = 1e-12): void {
  assert.ok(
    Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)),
    `${actual} != ${expected}`,
  );
}

Deno.test("metrics agree with scikit-learn 1.2 (fixture from tools/metrics_reference.py)", () => {
  assert.equal(fixture.cases.length, 4);
  for (const c of fixture.cases) {
    const probs = new Float64Array(c.probs);
    close(accuracy(probs, c.labels), c.accuracy);
    close(accuracy(argmaxRows(probs, c.classes), new Int32Array(c.labels)), c.accuracy);
    close(logLoss(probs, c.labels), c.logLoss);
    close(expectedCalibrationError(probs, c.labels), c.ece15);
    close(expectedCalibrationError(probs, c.labels, { bins: 7 }), c.ece7);
    close(meanSquaredErrorMetric(probs, new Float64Array(c.regressionTarget)), c.mse);
    if (c.brierBinary !== undefined) close(brierScore(probs, c.labels), 2 * c.brierBinary);
  }
});

Deno.test("logLoss clips certain mistakes at -log(1e-15) like sklearn", () => {
  const probs = new Float64Array([1, 0]);
  // Clipped to [1e-15, 1 - 1e-15] then renormalised by their sum (exactly 1 here).
  close(logLoss(probs, [1]), -Math.log(1e-15), 1e-9);
  close(logLoss(probs, [1], { eps: 1e-7 }), -Math.log(1e-7), 1e-9);
});

Deno.test("accuracy accepts Float32Array probabilities and breaks ties to the lowest class", () => {
  const probs = new Float32Array([0.5, 0.5, 0, 0.2, 0.4, 0.4]); // [2, 3]
  assert.deepEqual(Array.from(argmaxRows(probs, 3)), [0, 1]);
  assert.equal(accuracy(probs, [0, 2]), 0.5);
});

Deno.test("brierScore is 0 for perfect one-hot and 2 for confident mistakes", () => {
  assert.equal(brierScore(new Float32Array([0, 1, 0, 1, 0, 0]), [1, 0]), 0);
  assert.equal(brierScore(new Float32Array([0, 1, 0, 1, 0, 0]), [0, 1]), 2);
});

Deno.test("expectedCalibrationError bins confidences as (lo, hi] and weights by count", () => {
  // Confidence 0.6 (right) and 1.0 (wrong) with 5 bins: bins (0.4, 0.6] and (0.8, 1.0].
  const probs = new Float64Array([0.6, 0.4, 0, 1]);
  close(expectedCalibrationError(probs, [0, 0], { bins: 5 }), (0.4 + 1) / 2);
  // A single bin is |accuracy - mean confidence|.
  close(expectedCalibrationError(probs, [0, 0], { bins: 1 }), Math.abs(0.5 - 0.8));
});

Deno.test("pairwiseDisagreement takes probabilities and labels alike", () => {
  const a = new Float32Array([0.9, 0.1, 0.2, 0.8]); // classes [0, 1]
  const b = new Int32Array([0, 0]);
  const c = new Float64Array([0.1, 0.9, 0.1, 0.9]); // classes [1, 1]
  // (a, b) 1/2, (a, c) 1/2, (b, c) 1.
  close(pairwiseDisagreement([a, b, c], 2), 2 / 3);
  assert.equal(pairwiseDisagreement([b, b]), 0);
});

Deno.test("pairwiseDisagreement equals a brute-force count over pairs (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 6 }),
      fc.integer({ min: 1, max: 20 }),
      fc.infiniteStream(fc.integer({ min: 0, max: 2 })),
      (m, n, stream) => {
        const members = Array.from({ length: m }, () => Int32Array.from(stream.take(n)));
        let differ = 0;
        let pairs = 0;
        for (let a = 0; a < m; a++) {
          for (let b = 0; b < m; b++) {
            if (a === b) continue;
            pairs++;
            for (let i = 0; i < n; i++) if (members[a][i] !== members[b][i]) differ += 1 / n;
          }
        }
        close(pairwiseDisagreement(members), differ / pairs, 1e-12);
      },
    ),
    { seed: 4242, numRuns: 200 },
  );
});

Deno.test("metrics reject bad shapes and labels with one error naming every problem", () => {
  assert.throws(
    () => logLoss(new Float32Array(5), [0, 1], { eps: 0 }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError && e instanceof ModConfigError);
      assert.deepEqual(e.issues.map((i) => i.field), ["probs", "eps"]);
      return true;
    },
  );
  assert.throws(
    () => logLoss(new Float32Array(4), [0, 1], { eps: 0 }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.issues.map((i) => i.field), ["eps"]);
      return true;
    },
  );
  assert.throws(
    () => brierScore(new Float32Array([0.5, 0.5, NaN, 1]), [0, 2]),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.issues.map((i) => i.field), ["probs[2]", "labels[1]"]);
      assert.match(e.message, /^Cannot compute Brier score: probs\[2\] must be finite: got NaN/);
      return true;
    },
  );
  assert.throws(() => accuracy(new Int32Array([0]), [0, 1]), /predicted must hold 2 classes/);
  assert.throws(() => accuracy(new Float32Array(0), []), ConfigError);
  assert.throws(() => expectedCalibrationError(new Float32Array(2), [0], { bins: 0 }), /bins/);
  assert.throws(() => pairwiseDisagreement([new Int32Array(2)]), /at least two members/);
  assert.throws(
    () => pairwiseDisagreement([new Int32Array(2), new Float32Array(4)]),
    /classes must be a positive integer/,
  );
  assert.throws(
    () => pairwiseDisagreement([new Int32Array(2), new Int32Array(3)]),
    /members\[1\] must hold the same positive number of rows/,
  );
  assert.throws(() => meanSquaredErrorMetric([1, 2], [1]), /target must have the length/);
  assert.throws(() => argmaxRows(new Float32Array(5), 2), /divisible by columns/);
});

Deno.test("metrics refuse non-finite probabilities: all-NaN rows are not 100% accurate", () => {
  const nan = new Float32Array([NaN, NaN, NaN, NaN]); // [2, 2]
  assert.throws(
    () => accuracy(nan, [0, 0]),
    /Cannot compute accuracy: predicted\[0\] must be finite/,
  );
  assert.throws(() => argmaxRows(nan, 2), /values\[0\] must be finite/);
  assert.throws(
    () => pairwiseDisagreement([new Int32Array(2), nan], 2),
    /members\[1\]\[0\] must be finite/,
  );
  assert.throws(
    () => meanSquaredErrorMetric([1, Infinity], [1, 2]),
    /predicted\[1\] must be finite/,
  );
});

Deno.test("metrics name the argument when given null, strings or nested arrays", () => {
  const named = (f: () => unknown, fields: string[]) =>
    assert.throws(f, (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.deepEqual(e.issues.map((i) => i.field), fields);
      return true;
    });
  // deno-lint-ignore no-explicit-any
  const anything = (v: unknown) => v as any;
  named(() => accuracy(anything(null), anything(undefined)), ["predicted", "labels"]);
  named(() => logLoss(anything("abc"), [0], anything(null)), ["probs", "options"]);
  named(() => brierScore(new Float64Array([1, 0]), anything([[0]])), ["labels[0]"]);
  named(() => meanSquaredErrorMetric(anything({}), anything("12")), ["predicted", "target"]);
  named(() => pairwiseDisagreement(anything("ab")), ["members"]);
  named(() => argmaxRows(anything([1, 2]), anything("2")), ["values", "columns"]);
});

Deno.test("expectedCalibrationError refuses a bin count it would have to allocate", () => {
  assert.throws(
    () => expectedCalibrationError(new Float32Array([1, 0]), [0], { bins: 1e9 }),
    /bins must be an integer in \[1, 100000\]/,
  );
  assert.equal(expectedCalibrationError(new Float32Array([1, 0]), [0], { bins: 100_000 }), 0);
});
