/**
 * The CPU backend's blocked and sparse kernels (lib/ops/_dense_blocked.ts, _dense_sparse.ts)
 * against the float64 reference loops of lib/ops/dense.ts, on a sweep of shapes that includes
 * sizes not divisible by the 4 x 4 and 8-wide blocks, batch 1, rows and columns of zeros, and NaN; then the backend's sparse path end to end
 * (finite differences, a training step, fused prediction across row blocks).
 */
import assert from "node:assert/strict";
import { type ActivationCode, ACTIVATIONS } from "../lib/ops/activation.ts";
import { denseBackpropRef, denseForwardRef, denseWeightGradRef } from "../lib/ops/dense.ts";
import fc from "fast-check";
import { assertClose } from "./_backend_cases.ts";
import {
  backpropDense,
  forwardDense,
  LINEAR,
  RELU,
  SIGMOID,
  TANH,
  weightGradDense,
} from "../lib/ops/_dense_blocked.ts";
import {
  compressGathered,
  compressRows,
  forwardSparse,
  makeSparseRows,
  transposeRows,
  weightGradSparse,
} from "../lib/ops/_dense_sparse.ts";
import { softmaxLossRows } from "../lib/ops/loss.ts";
import { adam, createCpuBackend, initParams, mlp, paramCount, randomState, sgd } from "../mod.ts";
import { lossAndGradient } from "../lib/backend/cpu/_workspace.ts";
import { countCorrect, softmaxCrossEntropy } from "../lib/ops/loss.ts";
import { applyUpdate } from "../lib/optimizers/mod.ts";

const CODES: ActivationCode[] = [RELU, TANH, SIGMOID, LINEAR];

/** The activation function of a kernel code (lib/ops/activation.ts). */
function activationOf(code: ActivationCode): (z: number) => number {
  return Object.values(ACTIVATIONS).find((d) => d.code === code)!.f;
}

/** A shape and data: inputs with zero rows and sparse entries, weights at nonzero offsets. */
interface Case {
  rows: number;
  inDim: number;
  outDim: number;
  act: ActivationCode;
  x: Float64Array; // [rows, inDim]
  params: Float64Array; // [pad + inDim * outDim + outDim]
  wOff: number;
  bOff: number;
  delta: Float64Array; // [rows, outDim]
}

const caseArb = fc.record({
  rows: fc.oneof(fc.constantFrom(1, 4, 5), fc.integer({ min: 1, max: 19 })),
  inDim: fc.oneof(fc.constantFrom(1, 2, 4, 8, 9), fc.integer({ min: 1, max: 21 })),
  outDim: fc.oneof(fc.constantFrom(1, 3, 4, 8, 9, 16, 25), fc.integer({ min: 1, max: 27 })),
  act: fc.constantFrom(...CODES),
  zeros: fc.constantFrom(0, 0.5, 0.8, 1),
  pad: fc.integer({ min: 0, max: 3 }),
  seed: fc.integer({ min: 0, max: 1e6 }),
}).map(({ rows, inDim, outDim, act, zeros, pad, seed }): Case => {
  const random = randomState(seed);
  const x = new Float64Array(rows * inDim);
  for (let b = 0; b < rows; b++) {
    const zeroRow = random.uniform(0, 1) < 0.2; // whole rows of zeros (blank images)
    for (let i = 0; i < inDim; i++) {
      x[b * inDim + i] = zeroRow || random.uniform(0, 1) < zeros ? 0 : random.normal(0, 1);
    }
  }
  const wOff = pad;
  const bOff = pad + inDim * outDim;
  const params = new Float64Array(bOff + outDim).map(() => random.normal(0, 0.5));
  const delta = new Float64Array(rows * outDim).map(() => random.normal(0, 1));
  return { rows, inDim, outDim, act, x, params, wOff, bOff, delta };
});

const TOL = { rel: 1e-12, abs: 1e-12 };
const RUNS = { seed: 20260205, numRuns: 300 };

Deno.test("cpu kernels: blocked and sparse forward match the naive loop", () => {
  fc.assert(
    fc.property(caseArb, (c) => {
      const expected = denseForwardRef(
        c.x,
        c.rows,
        c.params,
        c.wOff,
        c.bOff,
        c.inDim,
        c.outDim,
        c.act,
      );
      const dense = new Float64Array(c.rows * c.outDim).fill(NaN);
      forwardDense(c.x, c.rows, c.params, c.wOff, c.bOff, c.inDim, c.outDim, dense, c.act);
      assertClose(dense, expected, { ...TOL, label: "forwardDense" });
      const sparse = makeSparseRows<Float64Array>(c.inDim, c.rows, false, Float64Array);
      compressRows(c.x, c.rows, sparse);
      const out = new Float64Array(c.rows * c.outDim).fill(NaN);
      forwardSparse(sparse, c.rows, c.params, c.wOff, c.bOff, c.outDim, out, c.act);
      assertClose(out, expected, { ...TOL, label: "forwardSparse" });
    }),
    RUNS,
  );
});

Deno.test("cpu kernels: blocked and sparse weight gradients match the naive loop", () => {
  fc.assert(
    fc.property(caseArb, (c) => {
      const { rows, inDim, outDim, x, delta } = c;
      const size = inDim * outDim + outDim;
      const expected = denseWeightGradRef(x, delta, rows, inDim, outDim);
      // Garbage in the output first: the kernels must overwrite, not accumulate.
      const dense = new Float64Array(size).fill(7);
      weightGradDense(x, delta, rows, inDim, outDim, dense, 0, inDim * outDim);
      assertClose(dense, expected, { ...TOL, label: "weightGradDense" });
      const sparse = makeSparseRows<Float64Array>(inDim, rows, true, Float64Array);
      compressRows(x, rows, sparse);
      transposeRows(sparse, rows);
      const out = new Float64Array(size).fill(7);
      weightGradSparse(sparse, delta, rows, outDim, out, 0, inDim * outDim);
      assertClose(out, expected, { ...TOL, label: "weightGradSparse" });
    }),
    RUNS,
  );
});

Deno.test("cpu kernels: the blocked backward product matches the naive loop", () => {
  fc.assert(
    fc.property(caseArb, (c) => {
      const { rows, inDim, outDim, act, params, wOff, delta } = c;
      // The previous layer's activations: f of something, with zeros where relu cuts.
      const a = c.x.map(activationOf(act));
      const expected = denseBackpropRef(delta, rows, params, wOff, inDim, outDim, a, act);
      const prev = new Float64Array(rows * inDim).fill(NaN);
      backpropDense(delta, rows, params, wOff, inDim, outDim, a, act, prev);
      assertClose(prev, expected, { ...TOL, label: "backpropDense" });
    }),
    RUNS,
  );
});

Deno.test("cpu kernels: the by-column copy holds every nonzero once, rows in order", () => {
  const x = new Float32Array([0, 1, 0, 2, 0, 0, 0, 0, 3, 0, 4, 5]); // [3, 4], row 1 all zeros
  const sparse = makeSparseRows<Float32Array>(4, 3, true, Float32Array);
  compressRows(x, 3, sparse);
  transposeRows(sparse, 3);
  assert.deepEqual([...sparse.rowStart], [0, 2, 2, 5]);
  assert.deepEqual([...sparse.cols.subarray(0, 5)], [1, 3, 0, 2, 3]);
  assert.deepEqual([...sparse.colStart], [0, 1, 2, 3, 5]);
  assert.deepEqual([...sparse.colRows.subarray(0, 5)], [2, 0, 2, 0, 2]);
  assert.deepEqual([...sparse.colValues.subarray(0, 5)], [3, 1, 4, 2, 5]);
});

Deno.test("cpu kernels: gathering into sparse rows equals copying the rows, then compressing", () => {
  fc.assert(
    fc.property(caseArb, fc.integer({ min: 1, max: 30 }), (c, batch) => {
      const n = c.rows;
      const random = randomState(batch);
      const indices = new Int32Array(batch + 2).map(() => random.randomInterval(n - 1));
      const start = 2; // the batch starts inside the index list, as a step of a plan does
      const copy = new Float64Array(batch * c.inDim);
      for (let b = 0; b < batch; b++) {
        const src = indices[start + b];
        copy.set(c.x.subarray(src * c.inDim, (src + 1) * c.inDim), b * c.inDim);
      }
      const expected = makeSparseRows<Float64Array>(c.inDim, batch, false, Float64Array);
      compressRows(copy, batch, expected);
      const actual = makeSparseRows<Float64Array>(c.inDim, batch, false, Float64Array);
      compressGathered(c.x, indices, start, batch, actual);
      const nnz = expected.rowStart[batch];
      assert.deepEqual([...actual.rowStart], [...expected.rowStart]);
      assert.deepEqual([...actual.cols.subarray(0, nnz)], [...expected.cols.subarray(0, nnz)]);
      assert.deepEqual([...actual.values.subarray(0, nnz)], [...expected.values.subarray(0, nnz)]);
    }),
    { seed: 20260206, numRuns: 100 },
  );
});

Deno.test("cpu kernels: NaN inputs and gradients propagate to their own rows only", () => {
  const rows = 6;
  const inDim = 5;
  const outDim = 9;
  const random = randomState(4);
  const x = new Float32Array(rows * inDim).map(() => random.uniform(0, 1) < 0.5 ? 0 : 1);
  x[2 * inDim + 3] = NaN; // row 2
  const params = new Float32Array(inDim * outDim + outDim).map(() => random.normal(0, 1));
  const bOff = inDim * outDim;
  const dense = new Float32Array(rows * outDim);
  forwardDense(x, rows, params, 0, bOff, inDim, outDim, dense, RELU);
  const sparse = makeSparseRows<Float32Array>(inDim, rows, true, Float32Array);
  compressRows(x, rows, sparse);
  transposeRows(sparse, rows);
  const out = new Float32Array(rows * outDim);
  forwardSparse(sparse, rows, params, 0, bOff, outDim, out, RELU);
  for (const result of [dense, out]) {
    for (let k = 0; k < result.length; k++) {
      assert.equal(Number.isNaN(result[k]), Math.floor(k / outDim) === 2, `element ${k}`);
    }
  }
  // The NaN input's column of the weight gradient is NaN, the others finite.
  const delta = new Float32Array(rows * outDim).fill(0.5);
  const grad = new Float32Array(inDim * outDim + outDim);
  weightGradSparse(sparse, delta, rows, outDim, grad, 0, bOff);
  for (let k = 0; k < bOff; k++) {
    assert.equal(Number.isNaN(grad[k]), Math.floor(k / outDim) === 3, `gradient ${k}`);
  }
  weightGradDense(x, delta, rows, inDim, outDim, grad, 0, bOff);
  for (let k = 0; k < bOff; k++) {
    assert.equal(Number.isNaN(grad[k]), Math.floor(k / outDim) === 3, `dense gradient ${k}`);
  }
});

/** [rows, inDim] inputs where about 85% of the values are zero, like MNIST pixels. */
function mostlyZeros(rows: number, inDim: number, seed: number): Float64Array {
  const random = randomState(seed);
  return new Float64Array(rows * inDim).map(() =>
    random.uniform(0, 1) < 0.85 ? 0 : random.uniform(0, 1)
  );
}

Deno.test("cpu: the sparse first layer's gradient matches central finite differences", () => {
  const spec = mlp({ layers: [30, 7, 4] });
  const P = paramCount(spec);
  const random = randomState(8);
  const params = new Float64Array(P).map(() => random.normal(0, 0.7));
  const rows = 9;
  const x = mostlyZeros(rows, 30, 9);
  x.fill(0, 30, 60); // a blank row
  const y = new Int32Array(rows).map((_, b) => b % 4);
  const grad = new Float64Array(P);
  const scratch = new Float64Array(P);
  lossAndGradient({ spec, params, x, y, rows, grad });
  const h = 1e-5;
  const numeric = new Float64Array(P);
  for (let k = 0; k < P; k++) {
    const plus = params.slice();
    plus[k] += h;
    const minus = params.slice();
    minus[k] -= h;
    numeric[k] = (lossAndGradient({ spec, params: plus, x, y, rows, grad: scratch }) -
      lossAndGradient({ spec, params: minus, x, y, rows, grad: scratch })) / (2 * h);
  }
  assertClose(grad, numeric, { rel: 1e-6, abs: 1e-9, label: "sparse-input gradient" });
  // Inputs that are zero in every row get exactly zero weight gradient; others do not.
  let zeroColumns = 0;
  for (let i = 0; i < 30; i++) {
    let used = false;
    for (let b = 0; b < rows; b++) if (x[b * 30 + i] !== 0) used = true;
    for (let o = 0; o < 7; o++) if (!used) assert.equal(grad[i * 7 + o], 0);
    if (!used) zeroColumns++;
  }
  assert.ok(zeroColumns > 0 && zeroColumns < 30);
});

Deno.test("cpu: a session on mostly-zero inputs takes the same step as lossAndGradient + SGD", async () => {
  const spec = mlp({ layers: [40, 13, 3] });
  const n = 50;
  const x64 = mostlyZeros(n, 40, 11);
  const x = Float32Array.from(x64);
  const y = new Int32Array(n).map((_, b) => b % 3);
  const params = initParams(spec, { seed: 12 });
  const backend = createCpuBackend();
  const session = await backend.createSession({
    spec,
    optimizer: sgd(),
    params,
    data: { x, y, n },
  });
  const indices = new Int32Array([3, 17, 4, 49, 0, 22, 8]);
  session.run({ indices, offsets: new Int32Array([0, 7]), lrs: new Float32Array([0.5]) });
  const after = await session.readParams();
  backend.dispose();
  // Reference: the batch gathered by hand, the float64 gradient, plain SGD.
  const batch = new Float64Array(indices.length * 40);
  indices.forEach((src, b) => batch.set(x.subarray(src * 40, src * 40 + 40), b * 40));
  const grad = new Float64Array(params.length);
  lossAndGradient({
    spec,
    params: Float64Array.from(params),
    x: batch,
    y: Int32Array.from(indices, (src) => y[src]),
    rows: indices.length,
    grad,
  });
  const expected = Float64Array.from(params, (w, k) => w - 0.5 * grad[k]);
  assertClose(after, expected, { rel: 1e-5, abs: 1e-6, label: "params after one step" });
  assert.ok(after.some((w, k) => w !== params[k]));
});

Deno.test("cpu: fused prediction on mostly-zero inputs matches per-member softmax, across blocks", async () => {
  const spec = mlp({ layers: [20, 11, 5], activation: "tanh" });
  const P = paramCount(spec);
  const members = 3;
  const n = 300; // more than one block of 256 rows
  const x = Float32Array.from(mostlyZeros(n, 20, 13));
  const params = new Float32Array(members * P);
  for (let m = 0; m < members; m++) params.set(initParams(spec, { seed: 20 + m }), m * P);
  const weights = new Float32Array([1, 2, 5]);
  const backend = createCpuBackend();
  const mean = await backend.predict({ spec, params, members, x, n, weights });
  const each = await backend.predict({ spec, params, members, x, n, combine: "none" });
  backend.dispose();
  const expected = new Float64Array(n * 5);
  for (let m = 0; m < members; m++) {
    const p = params.subarray(m * P);
    const h = denseForwardRef(x, n, p, 0, 20 * 11, 20, 11, TANH);
    const z = denseForwardRef(h, n, p, 20 * 11 + 11, 20 * 11 + 11 + 11 * 5, 11, 5, LINEAR);
    for (let b = 0; b < n; b++) {
      const row = z.subarray(b * 5, b * 5 + 5);
      const max = Math.max(...row);
      const sum = row.reduce((s, v) => s + Math.exp(v - max), 0);
      for (let c = 0; c < 5; c++) {
        const prob = Math.exp(row[c] - max) / sum;
        assertClose([each[(m * n + b) * 5 + c]], [prob], { rel: 1e-5, abs: 1e-6, label: "member" });
        expected[b * 5 + c] += (weights[m] / 8) * prob;
      }
    }
  }
  assertClose(mean, expected, { rel: 1e-5, abs: 1e-6, label: "weighted mean" });
});

Deno.test("cpu kernels: every narrow shape (widths 1..6, rows 1..9) matches the naive loops", () => {
  // Every leftover path of the 4 x 4 tiles and the narrow specialisations (two inputs, three
  // outputs, tiles as wide as what is left), at every activation and row remainder, batch 1 too.
  const random = randomState(11);
  let shapes = 0;
  for (let rows = 1; rows <= 9; rows++) {
    for (let inDim = 1; inDim <= 6; inDim++) {
      for (let outDim = 1; outDim <= 6; outDim++) {
        for (const act of CODES) {
          const pad = (rows + inDim) % 3;
          const x = new Float64Array(rows * inDim).map(() =>
            random.uniform(0, 1) < 0.25 ? 0 : random.normal(0, 1)
          );
          const params = new Float64Array(pad + inDim * outDim + outDim).map(() =>
            random.normal(0, 0.5)
          );
          const delta = new Float64Array(rows * outDim).map(() => random.normal(0, 1));
          const wOff = pad;
          const bOff = pad + inDim * outDim;
          const label = `rows ${rows}, ${inDim} -> ${outDim}, activation ${act}`;
          const out = new Float64Array(rows * outDim).fill(NaN);
          forwardDense(x, rows, params, wOff, bOff, inDim, outDim, out, act);
          const expected = denseForwardRef(x, rows, params, wOff, bOff, inDim, outDim, act);
          assertClose(out, expected, { ...TOL, label: `forwardDense ${label}` });
          const grad = new Float64Array(inDim * outDim + outDim).fill(7);
          weightGradDense(x, delta, rows, inDim, outDim, grad, 0, inDim * outDim);
          assertClose(grad, denseWeightGradRef(x, delta, rows, inDim, outDim), {
            ...TOL,
            label: `weightGradDense ${label}`,
          });
          const a = x.map(activationOf(act));
          const prev = new Float64Array(rows * inDim).fill(NaN);
          backpropDense(delta, rows, params, wOff, inDim, outDim, a, act, prev);
          assertClose(prev, denseBackpropRef(delta, rows, params, wOff, inDim, outDim, a, act), {
            ...TOL,
            label: `backpropDense ${label}`,
          });
          shapes++;
        }
      }
    }
  }
  assert.equal(shapes, 9 * 6 * 6 * 4);
});

Deno.test("cpu kernels: relu without jumps keeps NaN, and a dead unit passes nothing, not even Infinity", () => {
  for (const inDim of [2, 3, 5]) { // the two-input path and the tiled one
    for (const outDim of [3, 4, 5]) { // the three-output path and the tiled one
      const rows = 5;
      const label = `${inDim} -> ${outDim}`;
      const params = new Float32Array(inDim * outDim + outDim).fill(1);
      const bOff = inDim * outDim;
      const x = new Float32Array(rows * inDim).fill(-1); // every pre-activation is 1 - inDim < 0
      x[3 * inDim] = NaN; // row 3
      const out = new Float32Array(rows * outDim).fill(7);
      forwardDense(x, rows, params, 0, bOff, inDim, outDim, out, RELU);
      for (let k = 0; k < out.length; k++) {
        const nan = Math.floor(k / outDim) === 3;
        assert.ok(nan ? Number.isNaN(out[k]) : Object.is(out[k], 0), `${label}: out ${k}`);
      }
      // The previous layer's activations: unit 0 of every row alive, the rest dead (0) or NaN.
      const a = new Float32Array(rows * inDim);
      for (let b = 0; b < rows; b++) a[b * inDim] = 1 + b;
      a[2 * inDim + 1] = NaN;
      const delta = new Float32Array(rows * outDim).fill(Infinity);
      const prev = new Float32Array(rows * inDim).fill(7);
      backpropDense(delta, rows, params, 0, inDim, outDim, a, RELU, prev);
      for (let k = 0; k < prev.length; k++) {
        assert.equal(prev[k], k % inDim === 0 ? Infinity : 0, `${label}: prev ${k}`);
      }
    }
  }
});

Deno.test("cpu kernels: the fused loss equals softmaxCrossEntropy and countCorrect bit for bit", () => {
  const logit = fc.oneof(
    { weight: 8, arbitrary: fc.double({ min: -30, max: 30, noNaN: true }) },
    { weight: 1, arbitrary: fc.constantFrom(0, 1, -Infinity, 1e30, NaN) }, // ties, extremes, NaN
  );
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 6 }),
      fc.array(logit, { minLength: 54, maxLength: 54 }),
      fc.array(fc.nat(), { minLength: 9, maxLength: 9 }),
      fc.boolean(),
      (rows, classes, values, picks, single) => {
        const Ctor = single ? Float32Array : Float64Array;
        const logits = Ctor.from(values.slice(0, rows * classes));
        const labels = Int32Array.from(picks.slice(0, rows), (p) => p % classes);
        const expectedGrad = new Ctor(rows * classes);
        const expectedLoss = softmaxCrossEntropy({
          logits,
          labels,
          rows,
          classes,
          grad: expectedGrad,
        });
        const expectedCorrect = countCorrect({ scores: logits, labels, rows, classes });
        const grad = new Ctor(rows * classes).fill(7);
        const correct = new Float32Array(3).fill(-1);
        const loss = softmaxLossRows(logits, labels, rows, classes, grad, correct, 1);
        assert.ok(Object.is(loss, expectedLoss), `loss ${loss}, expected ${expectedLoss}`);
        assert.deepEqual([...grad], [...expectedGrad]);
        assert.deepEqual([...correct], [-1, expectedCorrect, -1]);
      },
    ),
    { seed: 20260207, numRuns: 400 },
  );
});

Deno.test("cpu: a session's updates equal lossAndGradient + applyUpdate bit for bit, for every rule", async () => {
  // The session's own heavy-ball loop and the reference update, side by side, on two replicas
  // over three steps (the second replica's state sits at an offset; momentum builds up).
  const spec = mlp({ layers: [2, 7, 3] });
  const n = 12;
  const random = randomState(21);
  const x = new Float32Array(n * 2).map(() => random.normal(0, 2));
  const y = new Int32Array(n).map((_, b) => b % 3);
  const P = paramCount(spec);
  const rules = [
    sgd({ momentum: 0.9 }),
    sgd({ momentum: 0.9, weightDecay: 1e-2 }),
    sgd({ momentum: 0.9, convention: "pytorch" }),
    sgd({ momentum: 0.8, convention: "pytorch", weightDecay: 1e-2 }),
    sgd({ momentum: 0.9, nesterov: true }),
    sgd(),
    adam(),
  ];
  const indices = new Int32Array([3, 7, 0, 11, 5, 2, 9, 1, 4, 6, 8, 10]);
  const offsets = new Int32Array([0, 5, 9, 12]);
  const lrs = new Float32Array([0.1, 0.05, 0.2]);
  for (const optimizer of rules) {
    const label = JSON.stringify(optimizer);
    const params = new Float32Array(2 * P);
    params.set(initParams(spec, { seed: 3 }), 0);
    params.set(initParams(spec, { seed: 4 }), P);
    const backend = createCpuBackend();
    const session = await backend.createSession({
      spec,
      optimizer,
      params,
      replicas: 2,
      data: { x, y, n },
    });
    session.run({ indices, offsets, lrs });
    const after = await session.readParams();
    const state = await session.readOptimizerState();
    backend.dispose();
    const expected = params.slice();
    const expectedState = new Float32Array(state.length);
    const grad = new Float32Array(P);
    for (let s = 0; s < 3; s++) {
      const rows = offsets[s + 1] - offsets[s];
      const batch = new Float32Array(rows * 2);
      const labels = new Int32Array(rows);
      for (let b = 0; b < rows; b++) {
        const src = indices[offsets[s] + b];
        batch.set(x.subarray(src * 2, src * 2 + 2), b * 2);
        labels[b] = y[src];
      }
      for (let r = 0; r < 2; r++) {
        const model = expected.slice(r * P, (r + 1) * P);
        lossAndGradient({ spec, params: model, x: batch, y: labels, rows, grad });
        applyUpdate(optimizer, expected, grad, expectedState, lrs[s], r);
      }
    }
    assert.deepEqual([...after], [...expected], `${label}: parameters`);
    assert.deepEqual([...state], [...expectedState], `${label}: optimizer state`);
    assert.ok(after.some((w, k) => w !== params[k]), `${label}: the parameters moved`);
  }
});
