/**
 * The soft-target loss head (lib/ops/softmax_xent_soft.ts) behind `distill`: its CPU row function
 * against the float64 reference, the hard-label loss as its one-hot special case, the CPU
 * backward pass against central finite differences in float64, the door's checks, and the WebGPU
 * kernel (shaders/softmax_xent_soft.wgsl, per-kernel path) and the wasm kernel (wasm/loss.wat)
 * against the CPU on a sweep of shapes.
 */
import assert from "node:assert/strict";
import { assertClose } from "./_backend_cases.ts";
import {
  type Backend,
  createCpuBackend,
  createWebGpuBackend,
  initParams,
  inputDim,
  mlp,
  type MlpSpec,
  outputDim,
  paramCount,
  randomState,
  sgd,
  type TrainingData,
} from "../mod.ts";
import { lossAndGradient } from "../lib/backend/cpu/_workspace.ts";
import { validateTrainingData } from "../lib/training_data.ts";
import { softmaxXentSoftRef, softmaxXentSoftRows } from "../lib/ops/softmax_xent_soft.ts";
import { softmaxLossRows } from "../lib/ops/loss.ts";
import { createWasmBackend } from "../lib/backend/wasm/backend.ts";

/** `rows` random probability vectors of `classes` (some peaked, some flat). */
function probabilities(rows: number, classes: number, seed: number): Float32Array {
  const random = randomState(seed);
  const q = new Float32Array(rows * classes);
  for (let r = 0; r < rows; r++) {
    const sharp = 0.5 + 4 * random.uniform(0, 1);
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      q[r * classes + c] = Math.exp(sharp * random.normal(0, 1));
      sum += q[r * classes + c];
    }
    for (let c = 0; c < classes; c++) q[r * classes + c] /= sum;
  }
  return q;
}

function softData(spec: MlpSpec, n: number, seed: number, temperature: number): TrainingData {
  const random = randomState(seed);
  const inDim = inputDim(spec);
  const classes = outputDim(spec);
  return {
    x: new Float32Array(n * inDim).map(() => random.normal(0, 1)),
    y: probabilities(n, classes, seed + 1),
    n,
    targets: "soft",
    temperature,
  };
}

Deno.test("softmax_xent_soft: the CPU rows match the float64 reference; one-hot at T = 1 is the hard loss", () => {
  for (const [rows, classes, t] of [[1, 2, 1], [7, 3, 2.5], [65, 10, 0.5], [3, 1, 4]] as const) {
    const random = randomState(rows * 31 + classes);
    const z = new Float64Array(rows * classes).map(() => 3 * random.normal(0, 1));
    const q = Float64Array.from(probabilities(rows, classes, rows + classes));
    const ref = softmaxXentSoftRef(z, q, rows, classes, t);
    for (const Ctor of [Float64Array, Float32Array]) {
      const grad = new Ctor(rows * classes);
      const correct = new Ctor(2);
      const loss = softmaxXentSoftRows(
        new Ctor(z),
        new Ctor(q),
        rows,
        classes,
        t,
        grad,
        correct,
        1,
      );
      const tol = Ctor === Float64Array ? 1e-12 : 1e-5;
      const label = `${rows}x${classes} T=${t} ${Ctor.name}`;
      assertClose([loss], [ref.loss], { rel: tol, abs: tol, label: `${label} loss` });
      assertClose(grad, ref.grad, { rel: tol, abs: tol, label: `${label} gradient` });
      assert.equal(correct[1], ref.agree, `${label} agreement`);
    }
    // A one-hot target at temperature 1 is the label loss, value and gradient.
    const labels = new Int32Array(rows).map((_, b) => (b * 7) % classes);
    const hot = new Float64Array(rows * classes);
    labels.forEach((c, b) => (hot[b * classes + c] = 1));
    const hard = new Float64Array(rows * classes);
    const hardLoss = softmaxLossRows(z, labels, rows, classes, hard, new Float64Array(1), 0);
    const soft = softmaxXentSoftRef(z, hot, rows, classes, 1);
    assertClose([soft.loss], [hardLoss], { rel: 1e-12, abs: 1e-12, label: "one-hot loss" });
    assertClose(soft.grad, hard, { rel: 1e-12, abs: 1e-12, label: "one-hot gradient" });
  }
});

Deno.test("softmax_xent_soft: the CPU gradient matches central finite differences in float64", () => {
  for (
    const [layers, activation, t] of [[[3, 5, 4], "tanh", 1], [[4, 6, 3], "sigmoid", 3]] as const
  ) {
    const spec = mlp({ layers: [...layers], activation });
    const rows = 5;
    const data = softData(spec, rows, 7, t);
    const params = Float64Array.from(initParams(spec, { seed: 3 }));
    for (let p = 0; p < params.length; p++) params[p] += 0.05 * ((p % 5) - 2);
    const x = Float64Array.from(data.x);
    const y = Float64Array.from(data.y);
    const at = (theta: Float64Array, grad = new Float64Array(theta.length)) =>
      lossAndGradient({ spec, params: theta, x, y, rows, grad, targets: "soft", temperature: t });
    const grad = new Float64Array(params.length);
    at(params, grad);
    const h = 1e-6;
    const numeric = new Float64Array(params.length);
    for (let p = 0; p < params.length; p++) {
      const plus = params.slice();
      const minus = params.slice();
      plus[p] += h;
      minus[p] -= h;
      numeric[p] = (at(plus) - at(minus)) / (2 * h);
    }
    assertClose(grad, numeric, { rel: 1e-6, abs: 1e-8, label: `${layers.join("-")} T=${t}` });
  }
});

Deno.test("softmax_xent_soft: the door refuses bad soft targets, every issue at once", () => {
  const spec = mlp({ layers: [2, 3] });
  const x = new Float32Array([0, 1, 2, 3]);
  const good = { x, n: 2, targets: "soft" as const, y: new Float32Array([0.2, 0.3, 0.5, 1, 0, 0]) };
  const ok = validateTrainingData(spec, good);
  assert.equal(ok._tag, "Right");
  if (ok._tag === "Right") assert.equal(ok.right.temperature, 1);
  const fields = (data: unknown) => {
    const result = validateTrainingData(spec, data as TrainingData);
    return result._tag === "Left" ? result.left.map((i) => `${i.field}: ${i.message}`) : [];
  };
  const bad = fields({ ...good, y: new Float32Array([0.2, 0.3, 0.6, -1, 1, 1]), temperature: 0 });
  assert.equal(bad.length, 2);
  assert.match(bad[0], /^temperature: must be a positive finite number/);
  assert.match(bad[1], /^y\[0\]: must be a probability vector.*\(2 bad rows in y\)/);
  assert.match(fields({ ...good, y: new Float32Array(3) })[0], /^y: must hold n \* outDim/);
  assert.match(fields({ ...good, targets: "hard" })[0], /^targets: must be one of/);
  assert.match(fields({ x, n: 2, y: new Int32Array([0, 1]), temperature: 2 })[0], /only used with/);
  const linear = mlp({ layers: [2, 3], head: "linear" });
  const issues = validateTrainingData(linear, good);
  assert.equal(issues._tag, "Left");
  if (issues._tag === "Left") assert.match(issues.left[0].message, /softmax/);
});

// Batch 1, class counts below, at and above 4 and 64-row batches (the workgroup's stride).
const SHAPES = [
  { layers: [1, 1, 2], batch: 1, n: 3, t: 1 },
  { layers: [3, 5, 4], batch: 7, n: 20, t: 2 },
  { layers: [7, 13, 9, 3], batch: 65, n: 80, t: 0.7 },
  { layers: [33, 17, 10], batch: 130, n: 150, t: 4 },
];

/** One step of each shape on `other` and on the CPU: the same gradient, loss, agreement, params. */
async function stepMatchesCpu(other: Backend): Promise<void> {
  const cpu = createCpuBackend();
  try {
    for (const [k, { layers, batch, n, t }] of SHAPES.entries()) {
      const spec = mlp({ layers, activation: "tanh" });
      const params = initParams(spec, { seed: 10 + k });
      for (let p = 0; p < params.length; p++) params[p] += 0.02 * ((p % 5) - 2);
      const data = softData(spec, n, 20 + k, t);
      const rows = new Int32Array(batch).map((_, b) => (b * 7 + 3) % n);
      const step = {
        indices: rows,
        offsets: new Int32Array([0, batch]),
        lrs: new Float32Array([0.1]),
      };
      // PyTorch-convention momentum from a zero state stores v = g: the state IS the gradient.
      const optimizer = sgd({ momentum: 0.5, convention: "pytorch" });
      const results = [];
      for (const backend of [cpu, other]) {
        const session = await backend.createSession({ spec, optimizer, params, data });
        session.run(step);
        results.push({
          gradient: await session.readOptimizerState(),
          stats: await session.readStats(),
          params: await session.readParams(),
        });
        session.dispose();
      }
      const [onCpu, onOther] = results;
      const label = `${layers.join("-")} batch ${batch} T=${t}`;
      assertClose(onOther.gradient, onCpu.gradient, {
        rel: 1e-4,
        abs: 1e-6,
        label: `${label} grad`,
      });
      assertClose(onOther.stats.loss, onCpu.stats.loss, {
        rel: 1e-5,
        abs: 1e-6,
        label: `${label} loss`,
      });
      assert.deepEqual([...onOther.stats.correct], [...onCpu.stats.correct], `${label} agreement`);
      assertClose(onOther.params, onCpu.params, { rel: 1e-4, abs: 1e-6, label: `${label} params` });
      // The CPU session is lossAndGradient's loops (float32 there, float64 here).
      const inDim = layers[0];
      const classes = layers[layers.length - 1];
      const x = new Float64Array(batch * inDim);
      const y = new Float64Array(batch * classes);
      rows.forEach((r, b) => {
        x.set(data.x.subarray(r * inDim, (r + 1) * inDim), b * inDim);
        y.set(data.y.subarray(r * classes, (r + 1) * classes), b * classes);
      });
      const grad = new Float64Array(paramCount(spec));
      const loss = lossAndGradient({
        spec,
        params: Float64Array.from(params),
        x,
        y,
        rows: batch,
        grad,
        targets: "soft",
        temperature: t,
      });
      assertClose(onCpu.gradient, grad, { rel: 1e-4, abs: 1e-6, label: `${label} cpu vs f64` });
      assertClose(onCpu.stats.loss, [loss], { rel: 1e-5, abs: 1e-6, label: `${label} cpu loss` });
    }
  } finally {
    other.dispose();
    cpu.dispose();
  }
}

Deno.test("softmax_xent_soft: the WebGPU kernel gives the CPU loss, gradient and agreement", async () => {
  await stepMatchesCpu(await createWebGpuBackend({ fused: "never" }));
});

Deno.test("softmax_xent_soft: the wasm kernel gives the CPU loss, gradient and agreement", async () => {
  await stepMatchesCpu(await createWasmBackend());
});

Deno.test("softmax_xent_soft: 'auto' WebGPU trains soft targets per kernel", async () => {
  const spec = mlp({ layers: [2, 8, 3] });
  const data = softData(spec, 40, 5, 2);
  const steps = 20;
  const plan = {
    indices: new Int32Array(steps * 8).map((_, k) => (k * 3) % 40),
    offsets: new Int32Array(steps + 1).map((_, s) => 8 * s),
    lrs: new Float32Array(steps).fill(0.1),
  };
  const options = {
    spec,
    optimizer: sgd({ momentum: 0.9 }),
    params: initParams(spec, { seed: 1 }),
    data,
  };
  const gpu = await createWebGpuBackend(); // fused: "auto" would take this network with labels
  const cpu = createCpuBackend();
  try {
    const out = [];
    for (const backend of [cpu, gpu]) {
      const session = await backend.createSession(options);
      session.run(plan);
      out.push({ params: await session.readParams(), loss: (await session.readStats()).loss });
    }
    assert.equal(gpu.fusedSteps, 0);
    assert.ok(out[0].loss[steps - 1] < out[0].loss[0], "the soft loss falls");
    assertClose(out[1].params, out[0].params, { rel: 1e-3, abs: 1e-5, label: "20 steps" });
    assertClose(out[1].loss, out[0].loss, { rel: 1e-4, abs: 1e-5, label: "20 losses" });
  } finally {
    gpu.dispose();
    cpu.dispose();
  }
});
