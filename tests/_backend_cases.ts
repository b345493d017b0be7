/**
 * Test bodies shared by every backend: each is registered with `Deno.test` for a backend factory, so
 * the CPU backend (tests/cpu_test.ts) and the WebGPU backend (tests/webgpu_test.ts) pass exactly the
 * same checks. References are PyTorch (fixtures from tools/torch_training_fixtures.py), float64
 * loops written here, the plain `forward` of lib/model/forward.ts, and the CPU backend itself (the oracle).
 */
import assert from "node:assert/strict";
import {
  adam,
  adamw,
  type Backend,
  ConfigError,
  createCpuBackend,
  forward,
  initParams,
  inputDim,
  mlp,
  type MlpSpec,
  type Optimizer,
  optimizerStateSize,
  outputDim,
  paramCount,
  randomState,
  sgd,
  type StepPlan,
  type TrainingData,
  type TrainingSession,
} from "../mod.ts";
import { lossAndGradient } from "../lib/backend/cpu/_workspace.ts";
import { epochsBatches } from "../lib/batches.ts";
import fixture from "./fixtures/torch_training.json" with { type: "json" };
import { registerEnsembleCases } from "./_ensemble_cases.ts";

/** One recorded PyTorch run (see tools/torch_training_fixtures.py). */
interface TorchCase {
  name: string;
  layers: number[];
  activation: "relu" | "tanh" | "sigmoid" | "linear";
  head: "softmax" | "linear";
  optimizer: {
    kind: "sgd" | "adam" | "adamw";
    momentum?: number;
    nesterov?: boolean;
    convention?: "keras" | "pytorch";
    weightDecay?: number;
  };
  n: number;
  x: number[];
  y: number[];
  initParams: number[];
  indices: number[];
  offsets: number[];
  lrs: number[];
  losses: number[];
  finalParams: number[];
}

/** Tolerances of the PyTorch comparisons: float32 arithmetic in a different order on both sides. */
export const TORCH_REL = 1e-5;
/** Absolute floor of the PyTorch comparisons (values near zero). */
export const TORCH_ABS = 1e-6;

/**
 * Factor on every tolerance of {@linkcode assertClose}: 1 unless `SNAPFOLD_TOLERANCE_SCALE` is set.
 * `deno task gpu:report` sets it on hardware adapters, whose shaders run with fast math (fused
 * multiply-adds, approximate `exp`), so results differ from the CPU's in more low bits.
 */
export const TOLERANCE_SCALE: number = (() => {
  const raw = Deno.env.get("SNAPFOLD_TOLERANCE_SCALE");
  const scale = raw === undefined ? 1 : Number(raw);
  if (!(scale >= 1)) throw new Error(`SNAPFOLD_TOLERANCE_SCALE must be a number >= 1: got ${raw}`);
  return scale;
})();

/**
 * Asserts `|actual - expected| <= abs + rel * |expected|` element-wise (both times
 * {@linkcode TOLERANCE_SCALE}) and names the worst element.
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: { rel: number; abs: number; label: string },
): void {
  assert.equal(actual.length, expected.length, `${tolerance.label}: lengths differ`);
  let worst = -1;
  let worstExcess = 0;
  for (let k = 0; k < expected.length; k++) {
    const allowed = TOLERANCE_SCALE * (tolerance.abs + tolerance.rel * Math.abs(expected[k]));
    const diff = Math.abs(actual[k] - expected[k]);
    if (!(diff <= allowed) && (worst < 0 || diff / allowed > worstExcess)) {
      worst = k;
      worstExcess = diff / allowed;
    }
  }
  if (worst >= 0) {
    assert.fail(
      `${tolerance.label}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
        `(${worstExcess.toFixed(1)}x the tolerance rel ${tolerance.rel}, abs ${tolerance.abs})`,
    );
  }
}

function torchOptimizer(c: TorchCase): Optimizer {
  const o = c.optimizer;
  if (o.kind === "adam") return adam({ weightDecay: o.weightDecay ?? 0 });
  if (o.kind === "adamw") return adamw({ weightDecay: o.weightDecay ?? 0.01 });
  return sgd({
    momentum: o.momentum ?? 0,
    nesterov: o.nesterov ?? false,
    convention: o.convention ?? "keras",
    weightDecay: o.weightDecay ?? 0,
  });
}

function torchData(c: TorchCase): TrainingData {
  return {
    x: Float32Array.from(c.x),
    y: c.head === "softmax" ? Int32Array.from(c.y) : Float32Array.from(c.y),
    n: c.n,
  };
}

/** The blobs-like data of the synthetic runs: `classes` clusters in `inDim` dimensions. */
function syntheticData(spec: MlpSpec, n: number, seed: number): TrainingData {
  const random = randomState(seed);
  const inDim = inputDim(spec);
  const outDim = outputDim(spec);
  const x = new Float32Array(n * inDim);
  const y = spec.head === "softmax" ? new Int32Array(n) : new Float32Array(n * outDim);
  for (let b = 0; b < n; b++) {
    const label = b % outDim;
    for (let i = 0; i < inDim; i++) x[b * inDim + i] = random.normal(((label + i) % 3) * 2 - 2, 1);
    if (spec.head === "softmax") y[b] = label;
    else for (let o = 0; o < outDim; o++) y[b * outDim + o] = Math.sin(x[b * inDim] + o);
  }
  return { x, y, n };
}

/** A shuffled plan of `epochs` epochs with a cosine lr from `lrMax` down to a tenth. */
function syntheticPlan(
  n: number,
  batchSize: number,
  epochs: number,
  lrMax: number,
  seed: number,
): StepPlan {
  const { indices, offsets } = epochsBatches(randomState(seed), { n, batchSize }, epochs);
  const steps = offsets.length - 1;
  const lrs = new Float32Array(steps);
  for (let s = 0; s < steps; s++) lrs[s] = lrMax * (0.55 + 0.45 * Math.cos(Math.PI * s / steps));
  return { indices, offsets, lrs };
}

/** The plan's step `s` alone, as a one-step plan. */
function stepOf(plan: StepPlan, s: number): StepPlan {
  const start = plan.offsets[s];
  const end = plan.offsets[s + 1];
  return {
    indices: plan.indices.slice(start, end),
    offsets: new Int32Array([0, end - start]),
    lrs: plan.lrs.slice(s, s + 1),
    resets: plan.resets?.slice(s, s + 1),
  };
}

/** Mean loss of the given rows computed from the plain `forward` in float64 arithmetic. */
function referenceLoss(
  spec: MlpSpec,
  params: Float32Array,
  data: TrainingData,
  rows: Int32Array,
): number {
  const inDim = inputDim(spec);
  const outDim = outputDim(spec);
  const x = new Float32Array(rows.length * inDim);
  for (let b = 0; b < rows.length; b++) {
    x.set(data.x.subarray(rows[b] * inDim, rows[b] * inDim + inDim), b * inDim);
  }
  const out = forward(spec, params, x, rows.length);
  let total = 0;
  for (let b = 0; b < rows.length; b++) {
    if (spec.head === "softmax") total -= Math.log(out[b * outDim + data.y[rows[b]]]);
    else {
      for (let o = 0; o < outDim; o++) {
        const d = out[b * outDim + o] - data.y[rows[b] * outDim + o];
        total += d * d / outDim;
      }
    }
  }
  return total / rows.length;
}

async function withBackend(make: () => Promise<Backend>, body: (b: Backend) => Promise<void>) {
  const backend = await make();
  try {
    await body(backend);
  } finally {
    backend.dispose();
  }
}

async function train(
  backend: Backend,
  options: {
    spec: MlpSpec;
    optimizer: Optimizer;
    params: Float32Array;
    data: TrainingData;
    plan: StepPlan;
    replicas?: number;
  },
): Promise<
  { params: Float32Array; loss: Float32Array; correct: Float32Array; state: Float32Array }
> {
  const session = await backend.createSession(options);
  try {
    session.run(options.plan);
    const stats = await session.readStats();
    return {
      params: await session.readParams(),
      state: await session.readOptimizerState(),
      ...stats,
    };
  } finally {
    session.dispose();
  }
}

/**
 * Registers every shared backend test for one backend.
 *
 * @param name The backend's name, used in the test names.
 * @param make Creates a fresh backend; each test disposes the one it made.
 */
export function registerBackendCases(name: string, make: () => Promise<Backend>): void {
  const test = (title: string, fn: () => Promise<void>) => Deno.test(`${name}: ${title}`, fn);
  registerEnsembleCases(test, make);

  for (const c of fixture.cases as TorchCase[]) {
    test(`PyTorch parity: ${c.name}`, () =>
      withBackend(make, async (backend) => {
        const spec = mlp({ layers: c.layers, activation: c.activation, head: c.head });
        const result = await train(backend, {
          spec,
          optimizer: torchOptimizer(c),
          params: Float32Array.from(c.initParams),
          data: torchData(c),
          plan: {
            indices: Int32Array.from(c.indices),
            offsets: Int32Array.from(c.offsets),
            lrs: Float32Array.from(c.lrs),
          },
        });
        const tolerance = { rel: TORCH_REL, abs: TORCH_ABS };
        assertClose(result.loss, c.losses, { ...tolerance, label: `${c.name}: losses` });
        assertClose(result.params, c.finalParams, {
          ...tolerance,
          label: `${c.name}: final weights`,
        });
      }));
  }

  test("Keras-convention SGD (plain and Nesterov) matches a float64 reference", () =>
    withBackend(make, async (backend) => {
      const spec = mlp({ layers: [3, 9, 4], activation: "tanh" });
      const data = syntheticData(spec, 23, 5);
      const plan = syntheticPlan(23, 6, 5, 0.2, 6);
      for (const nesterov of [false, true]) {
        const optimizer = sgd({ momentum: 0.9, nesterov, convention: "keras", weightDecay: 1e-3 });
        const init = initParams(spec, { seed: 8 });
        const got = await train(backend, { spec, optimizer, params: init, data, plan });
        // The reference: float64 gradients and Keras' update `v = m v - lr g; w += v` (Nesterov:
        // `w += m v - lr g`), written out here independently of lib/optimizers.ts.
        const w = Float64Array.from(init);
        const v = new Float64Array(w.length);
        const g = new Float64Array(w.length);
        const losses: number[] = [];
        for (let s = 0; s + 1 < plan.offsets.length; s++) {
          const rows = plan.indices.subarray(plan.offsets[s], plan.offsets[s + 1]);
          const x = new Float64Array(rows.length * 3);
          const y = new Int32Array(rows.length);
          rows.forEach((r, b) => {
            for (let i = 0; i < 3; i++) x[b * 3 + i] = data.x[r * 3 + i];
            y[b] = data.y[r];
          });
          losses.push(lossAndGradient({ spec, params: w, x, y, rows: rows.length, grad: g }));
          const lr = plan.lrs[s];
          for (let k = 0; k < w.length; k++) {
            const gk = g[k] + 1e-3 * w[k];
            v[k] = 0.9 * v[k] - lr * gk;
            w[k] += nesterov ? 0.9 * v[k] - lr * gk : v[k];
          }
        }
        const label = `keras nesterov=${nesterov}`;
        assertClose(got.loss, losses, { rel: 1e-4, abs: 1e-5, label: `${label}: losses` });
        assertClose(got.params, w, { rel: 1e-4, abs: 1e-5, label: `${label}: weights` });
        assertClose(got.state, v, { rel: 1e-4, abs: 1e-5, label: `${label}: velocity` });
      }
    }));

  test("bad input is rejected at the door with one ConfigError naming every problem", () =>
    withBackend(make, async (backend) => {
      const spec = mlp({ layers: [2, 4, 3] });
      const good = syntheticData(spec, 6, 1);
      const x = good.x.slice();
      x[5] = NaN;
      x[7] = Infinity;
      const y = Int32Array.from(good.y as Int32Array);
      y[2] = 3;
      y[4] = -1;
      const error = await backend.createSession({
        spec,
        optimizer: sgd(),
        params: new Float32Array(paramCount(spec) - 1),
        data: { x, y, n: 6 },
        replicas: 1,
      }).then(() => undefined, (e) => e);
      assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
      assert.deepEqual(error.issues.map((i) => i.field), ["data.x[2][1]", "data.y[2]", "params"]);
      assert.match(error.message, /^Cannot create a training session: /);
      assert.match(error.message, /2 non-finite values in x/);
      assert.match(error.message, /2 bad labels in y/);

      const wide = await backend.createSession({
        spec: {
          inputs: 0,
          layers: [{ kind: "dense", units: 0 }, { kind: "swish" }],
          head: "softmax",
        } as unknown as MlpSpec,
        optimizer: { kind: "sgd", momentum: 2 } as unknown as Optimizer,
        params: new Float32Array(1),
        data: { x: new Float32Array(0), y: new Int32Array(0), n: 0 },
        replicas: 0,
      }).then(() => undefined, (e) => e);
      assert.ok(wide instanceof ConfigError);
      assert.deepEqual(
        wide.issues.map((i) => i.field),
        [
          "spec.inputs",
          "spec.layers[0].units",
          "spec.layers[1].kind",
          "optimizer.momentum",
          "replicas",
        ],
      );

      const width = await backend.createSession({
        spec,
        optimizer: sgd(),
        params: initParams(spec, { seed: 1 }),
        data: { x: new Float32Array(18), y: new Int32Array(6), n: 6 },
      }).then(() => undefined, (e) => e);
      assert.ok(width instanceof ConfigError);
      assert.match(width.message, /data\.x must have 2 columns per row.*it has 3/);

      const empty = await backend.createSession({
        spec,
        optimizer: sgd(),
        params: initParams(spec, { seed: 1 }),
        data: { x: new Float32Array(0), y: new Int32Array(0), n: 0 },
      }).then(() => undefined, (e) => e);
      assert.ok(empty instanceof ConfigError);
      assert.deepEqual(empty.issues.map((i) => i.field), ["data.n"]);

      const predict = await backend.predict({
        spec,
        params: new Float32Array(3),
        members: 2,
        x,
        n: 6,
        combine: "median" as "mean",
        weights: new Float32Array([1, -1]),
      }).then(() => undefined, (e) => e);
      assert.ok(predict instanceof ConfigError);
      assert.deepEqual(
        predict.issues.map((i) => i.field),
        ["combine", "x[2][1]", "params", "weights"],
      );
    }));

  test("reads are copies and readStats clears", () =>
    withBackend(make, async (backend) => {
      const spec = mlp({ layers: [2, 5, 3] });
      const data = syntheticData(spec, 12, 2);
      const session: TrainingSession = await backend.createSession({
        spec,
        optimizer: adam(),
        params: initParams(spec, { seed: 3 }),
        data,
      });
      try {
        session.run(syntheticPlan(12, 5, 2, 0.01, 4));
        const params = await session.readParams();
        const state = await session.readOptimizerState();
        const stats = await session.readStats();
        assert.equal(stats.loss.length, 6);
        params.fill(42);
        state.fill(42);
        stats.loss.fill(42);
        assert.notEqual((await session.readParams())[0], 42);
        assert.notEqual((await session.readOptimizerState())[0], 42);
        assert.equal(state.length, optimizerStateSize(adam(), paramCount(spec)));
        assert.equal((await session.readOptimizerState())[2 * paramCount(spec)], 6); // Adam's t
        assert.equal((await session.readStats()).loss.length, 0);
        session.run(syntheticPlan(12, 12, 1, 0.01, 4));
        assert.equal((await session.readStats()).loss.length, 1);
      } finally {
        session.dispose();
      }
      session.dispose(); // idempotent
      assert.throws(() => session.run(syntheticPlan(12, 5, 1, 0.01, 4)), /disposed/);
      await assert.rejects(session.readStats(), /disposed/);
    }));

  test("replicas train independently: replica k equals a single run from its init", () =>
    withBackend(make, async (backend) => {
      const spec = mlp({ layers: [2, 6, 3], activation: "sigmoid" });
      const data = syntheticData(spec, 20, 3);
      const plan = syntheticPlan(20, 7, 3, 0.05, 9);
      const optimizer = adamw();
      const replicas = 3;
      const P = paramCount(spec);
      const init = initParams(spec, { seed: 11, replicas });
      const together = await train(backend, {
        spec,
        optimizer,
        params: init,
        data,
        plan,
        replicas,
      });
      assert.equal(together.loss.length, 9 * replicas);
      for (let r = 0; r < replicas; r++) {
        const alone = await train(backend, {
          spec,
          optimizer,
          params: init.slice(r * P, (r + 1) * P),
          data,
          plan,
        });
        const label = `replica ${r}`;
        const tol = { rel: 1e-6, abs: 1e-7 };
        assertClose(together.params.subarray(r * P, (r + 1) * P), alone.params, { ...tol, label });
        assertClose(together.loss.filter((_, k) => k % replicas === r), alone.loss, {
          ...tol,
          label: `${label} losses`,
        });
      }
      // Different inits really give different models (so the comparison above could fail).
      assert.notDeepEqual(together.params.subarray(0, P), together.params.subarray(P, 2 * P));
    }));

  test("resets zero the optimizer state before their step", () =>
    withBackend(make, async (backend) => {
      const spec = mlp({ layers: [3, 5, 2], activation: "tanh" });
      const data = syntheticData(spec, 15, 4);
      const base = syntheticPlan(15, 4, 3, 0.02, 2); // 12 steps
      const resets = new Uint8Array(12);
      resets[7] = 1;
      for (const optimizer of [adam(), sgd({ momentum: 0.9 })]) {
        const init = initParams(spec, { seed: 5 });
        const whole = await train(backend, {
          spec,
          optimizer,
          params: init,
          data,
          plan: { ...base, resets },
        });
        // Reference: 7 steps, then a fresh session (zero state) from those parameters.
        const first = await train(backend, {
          spec,
          optimizer,
          params: init,
          data,
          plan: {
            indices: base.indices,
            offsets: base.offsets.slice(0, 8),
            lrs: base.lrs.slice(0, 7),
          },
        });
        const start = base.offsets[7];
        const second = await train(backend, {
          spec,
          optimizer,
          params: first.params,
          data,
          plan: {
            indices: base.indices.slice(start),
            offsets: base.offsets.slice(7).map((o) => o - start),
            lrs: base.lrs.slice(7),
          },
        });
        const tol = { rel: 1e-6, abs: 1e-7, label: `${optimizer.kind} reset` };
        assertClose(whole.params, second.params, tol);
        assertClose(whole.state, second.state, { ...tol, label: `${tol.label} state` });
        if (optimizer.kind === "adam") assert.equal(whole.state[2 * paramCount(spec)], 5);
        // Without the reset the run differs (the test above can fail).
        const kept = await train(backend, { spec, optimizer, params: init, data, plan: base });
        assert.notDeepEqual(kept.params, whole.params);
      }
    }));

  test("predict combines members: mean, none and weights", () =>
    withBackend(make, async (backend) => {
      for (const head of ["softmax", "linear"] as const) {
        const spec = mlp({ layers: [3, 7, 4], activation: "relu", head });
        const members = 3;
        const P = paramCount(spec);
        const params = initParams(spec, { seed: 21, replicas: members });
        for (let k = 0; k < params.length; k++) if (k % 7 === 3) params[k] += 0.1; // non-zero biases
        const n = 37;
        const { x } = syntheticData(spec, n, 8);
        const per = Array.from(
          { length: members },
          (_, m) => forward(spec, params.subarray(m * P, (m + 1) * P), x, n),
        );
        const none = await backend.predict({ spec, params, members, x, n, combine: "none" });
        const tol = { rel: 1e-5, abs: 1e-6 };
        assertClose(none, per.flatMap((p) => [...p]), { ...tol, label: `${head} none` });
        const mean = await backend.predict({ spec, params, members, x, n });
        const expectedMean = per[0].map((_, k) => (per[0][k] + per[1][k] + per[2][k]) / 3);
        assertClose(mean, expectedMean, { ...tol, label: `${head} mean` });
        const weights = new Float32Array([2, 0, 6]);
        const weighted = await backend.predict({ spec, params, members, x, n, weights });
        const expectedWeighted = per[0].map((_, k) => 0.25 * per[0][k] + 0.75 * per[2][k]);
        assertClose(weighted, expectedWeighted, { ...tol, label: `${head} weights` });
        const single = await backend.predict({ spec, params: params.slice(0, P), x, n });
        assertClose(single, per[0], { ...tol, label: `${head} single` });
      }
    }));

  test("a 200-step training run matches the CPU backend to 1e-4 relative", async () => {
    const spec = mlp({ layers: [2, 25, 3] });
    const data = syntheticData(spec, 100, 12);
    const plan = syntheticPlan(100, 32, 50, 0.05, 13); // 4 steps per epoch (32, 32, 32, 4)
    assert.equal(plan.lrs.length, 200);
    const options = {
      spec,
      optimizer: sgd({ momentum: 0.9 }),
      params: initParams(spec, { seed: 14, replicas: 2 }),
      data,
      plan,
      replicas: 2,
    };
    const cpu = createCpuBackend();
    const expected = await train(cpu, options);
    cpu.dispose();
    await withBackend(make, async (backend) => {
      const got = await train(backend, options);
      assertClose(got.params, expected.params, { rel: 1e-4, abs: 1e-6, label: "final weights" });
      assertClose(got.loss, expected.loss, { rel: 1e-4, abs: 1e-6, label: "losses" });
      assert.deepEqual([...got.correct], [...expected.correct]);
    });
    // It learned something: the last epoch's loss is well below the first one's.
    assert.ok(expected.loss[2 * 196] < 0.5 * expected.loss[0]);
  });

  for (const [label, n, batchSize] of [["short last batch", 10, 4], ["batch 1", 5, 1]] as const) {
    test(`${label}: each step's loss and update use exactly its rows`, () =>
      withBackend(make, async (backend) => {
        for (const head of ["softmax", "linear"] as const) {
          const spec = mlp({ layers: [3, 6, 3], activation: "tanh", head });
          const data = syntheticData(spec, n, 15);
          const plan = syntheticPlan(n, batchSize, 2, 0.3, 16);
          const optimizer = sgd();
          const session = await backend.createSession({
            spec,
            optimizer,
            params: initParams(spec, { seed: 17 }),
            data,
          });
          try {
            for (let s = 0; s + 1 < plan.offsets.length; s++) {
              const before = await session.readParams();
              const rows = plan.indices.slice(plan.offsets[s], plan.offsets[s + 1]);
              session.run(stepOf(plan, s));
              const { loss } = await session.readStats();
              const expectedLoss = referenceLoss(spec, before, data, rows);
              const tag = `${head} step ${s} (${rows.length} rows)`;
              assertClose(loss, [expectedLoss], { rel: 1e-5, abs: 1e-6, label: `${tag} loss` });
              // Plain SGD: w - lr * grad, with the gradient in float64 on exactly these rows.
              const inDim = 3;
              const x = new Float64Array(rows.length * inDim);
              const y = head === "softmax"
                ? new Int32Array(rows.length)
                : new Float64Array(rows.length * 3);
              rows.forEach((r, b) => {
                for (let i = 0; i < inDim; i++) x[b * inDim + i] = data.x[r * inDim + i];
                if (head === "softmax") y[b] = data.y[r];
                else for (let o = 0; o < 3; o++) y[b * 3 + o] = data.y[r * 3 + o];
              });
              const grad = new Float64Array(before.length);
              lossAndGradient({
                spec,
                params: Float64Array.from(before),
                x,
                y,
                rows: rows.length,
                grad,
              });
              const expected = before.map((w, k) => w - plan.lrs[s] * grad[k]);
              assertClose(await session.readParams(), expected, {
                rel: 1e-5,
                abs: 1e-6,
                label: `${tag} update`,
              });
            }
          } finally {
            session.dispose();
          }
        }
      }));
  }

  test("disposing the backend ends its sessions and refuses new work", async () => {
    const backend = await make();
    const spec = mlp({ layers: [2, 3, 2] });
    const session = await backend.createSession({
      spec,
      optimizer: sgd(),
      params: initParams(spec, { seed: 1 }),
      data: syntheticData(spec, 4, 1),
    });
    backend.dispose();
    backend.dispose(); // idempotent
    await assert.rejects(session.readParams(), /disposed/);
    await assert.rejects(
      backend.createSession({
        spec,
        optimizer: sgd(),
        params: initParams(spec, { seed: 1 }),
        data: syntheticData(spec, 4, 1),
      }),
      /disposed/,
    );
    await assert.rejects(
      backend.predict({
        spec,
        params: initParams(spec, { seed: 1 }),
        x: new Float32Array(2),
        n: 1,
      }),
      /disposed/,
    );
  });
}
