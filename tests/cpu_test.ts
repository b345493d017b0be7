/**
 * The CPU backend: the shared backend cases (tests/_backend_cases.ts), and finite-difference checks
 * of its backward pass in float64 for every activation and both heads.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { assertClose, registerBackendCases } from "./_backend_cases.ts";
import {
  type Activation,
  createCpuBackend,
  type Head,
  initParams,
  mlp,
  paramCount,
  randomState,
} from "../mod.ts";
import { lossAndGradient } from "../lib/backend/cpu/_workspace.ts";

registerBackendCases("cpu", () => Promise.resolve(createCpuBackend()));

const ACTIVATIONS: Activation[] = ["relu", "tanh", "sigmoid", "linear"];
const HEADS: Head[] = ["softmax", "linear"];

function batch(layers: number[], head: Head, rows: number, seed: number) {
  const random = randomState(seed);
  const inDim = layers[0];
  const outDim = layers[layers.length - 1];
  const x = new Float64Array(rows * inDim).map(() => random.normal(0, 1.5));
  const y = head === "softmax"
    ? new Int32Array(rows).map(() => random.randomInterval(outDim - 1))
    : new Float64Array(rows * outDim).map(() => random.normal(0, 1));
  return { x, y };
}

for (const head of HEADS) {
  for (const activation of ACTIVATIONS) {
    Deno.test(`cpu: the gradient matches central finite differences in float64 (${activation}, ${head})`, () => {
      const layers = [3, 5, 4, head === "softmax" ? 3 : 2]; // two hidden layers: the chain rule twice
      const spec = mlp({ layers, activation, head });
      const P = paramCount(spec);
      const random = randomState(31);
      const params = new Float64Array(P).map(() => random.normal(0, 0.7));
      const rows = 7;
      const { x, y } = batch(layers, head, rows, 32);
      const grad = new Float64Array(P);
      const scratch = new Float64Array(P);
      const loss = (p: Float64Array) =>
        lossAndGradient({ spec, params: p, x, y, rows, grad: scratch });
      lossAndGradient({ spec, params, x, y, rows, grad });
      // Central differences: truncation O(h^2) ~ 1e-10 and rounding ~ 1e-16 / h ~ 1e-11.
      const h = 1e-5;
      const numeric = new Float64Array(P);
      for (let k = 0; k < P; k++) {
        const plus = params.slice();
        plus[k] += h;
        const minus = params.slice();
        minus[k] -= h;
        numeric[k] = (loss(plus) - loss(minus)) / (2 * h);
      }
      assertClose(grad, numeric, { rel: 1e-6, abs: 1e-9, label: `${activation}/${head} gradient` });
      // The check has teeth: the gradient is not trivially zero.
      assert.ok(grad.some((g) => Math.abs(g) > 1e-3));
    });
  }
}

Deno.test("cpu: the float32 gradient that sessions use agrees with the float64 one", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...ACTIVATIONS),
      fc.constantFrom(...HEADS),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 0, max: 1000 }),
      (activation, head, rows, seed) => {
        const layers = [4, 9, head === "softmax" ? 5 : 3];
        const spec = mlp({ layers, activation, head });
        const params32 = initParams(spec, { seed });
        const { x, y } = batch(layers, head, rows, seed + 1);
        const g64 = new Float64Array(params32.length);
        const g32 = new Float32Array(params32.length);
        const l64 = lossAndGradient({
          spec,
          params: Float64Array.from(params32),
          x,
          y,
          rows,
          grad: g64,
        });
        const l32 = lossAndGradient({
          spec,
          params: params32,
          x: Float32Array.from(x),
          y: y instanceof Int32Array ? y : Float32Array.from(y),
          rows,
          grad: g32,
        });
        assertClose([l32], [l64], { rel: 1e-5, abs: 1e-6, label: "loss" });
        assertClose(g32, g64, { rel: 1e-4, abs: 1e-5, label: "gradient" });
      },
    ),
    { seed: 20260101, numRuns: 60 },
  );
});

Deno.test("cpu: softmax cross-entropy stays finite for huge logits", () => {
  // A single-layer net with enormous weights: logits around 1e30 must not overflow to NaN.
  const spec = mlp({ layers: [1, 2] });
  const grad = new Float64Array(4);
  const loss = lossAndGradient({
    spec,
    params: new Float64Array([1e30, -1e30, 0, 0]),
    x: new Float64Array([1]),
    y: new Int32Array([1]),
    rows: 1,
    grad,
  });
  assert.equal(loss, 2e30);
  assert.deepEqual([...grad], [1, -1, 1, -1]);
});
