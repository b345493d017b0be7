/**
 * The WebGPU backend's per-kernel path (`fused: "never"`): the shared backend cases
 * (tests/_backend_cases.ts: PyTorch parity, the 200-step run against the CPU backend, bad input,
 * replicas, resets), then each kernel against its CPU twin on a sweep of shapes, the pipeline
 * cache, a leak test and a lost device. The fused path is tested in tests/webgpu_fused_test.ts.
 *
 * In CI a WebGPU adapter always exists (Mesa's software rasterizer at least): a missing adapter
 * fails these tests, never skips them.
 *
 * How single kernels are reached through the public API:
 * - dense_forward (+ softmax): `predict` with `combine: "none"` against `forward` of lib/model/forward.ts;
 *   combine_mean: `predict` with weights against the weighted mean of those.
 * - gather, softmax_xent / mse, dense_grad_weights, bias_grad, dense_grad_input: one step of
 *   PyTorch-convention SGD with momentum from a zero state stores `v = g`, so the optimizer state
 *   after one step IS the gradient; it and the step's loss are compared with `lossAndGradient`.
 * - sgd, adam, adam_tick, optimizer_reset: one step from a random state against `applyUpdate`.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { assertClose, registerBackendCases } from "./_backend_cases.ts";
import {
  type Activation,
  adam,
  adamw,
  ConfigError,
  createCpuBackend,
  createWebGpuBackend,
  forward,
  type Head,
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
  SnapfoldError,
  type TrainingData,
} from "../mod.ts";
import { lossAndGradient } from "../lib/backend/cpu/_workspace.ts";
import { applyUpdate } from "../lib/optimizers/mod.ts";
import { liveBufferCount } from "../lib/backend/webgpu/_buffers.ts";
import { perKernelBatchLimit, perKernelLoopCounts } from "../lib/backend/webgpu/_loop_budget.ts";
import { LLVMPIPE_LOOP_LIMIT } from "../lib/backend/webgpu/_quirks.ts";
import { createPipelineCache } from "../lib/backend/webgpu/_pipeline_cache.ts";

// The per-kernel path; tests/webgpu_fused_test.ts registers the same cases on the fused path.
registerBackendCases("webgpu", () => createWebGpuBackend({ fused: "never" }));

function data(spec: MlpSpec, n: number, seed: number): TrainingData {
  const random = randomState(seed);
  const inDim = inputDim(spec);
  const outDim = outputDim(spec);
  return {
    x: new Float32Array(n * inDim).map(() => random.normal(0, 1)),
    y: spec.head === "softmax"
      ? new Int32Array(n).map(() => random.randomInterval(outDim - 1))
      : new Float32Array(n * outDim).map(() => random.normal(0, 1)),
    n,
  };
}

/** One step over the rows `rows` of the data. */
function oneStep(rows: Int32Array, lr: number) {
  return {
    indices: rows,
    offsets: new Int32Array([0, rows.length]),
    lrs: new Float32Array([lr]),
  };
}

// Shapes: batch 1, widths below and above the 4x4 tile and the 64-wide workgroup and not divisible
// by either, three layers, and the MNIST size (the largest llvmpipe runs in well under a second).
const SHAPES: ReadonlyArray<{ layers: number[]; batch: number; n: number }> = [
  { layers: [1, 1, 2], batch: 1, n: 3 },
  { layers: [3, 5, 4], batch: 7, n: 20 },
  { layers: [7, 13, 9, 3], batch: 65, n: 80 },
  { layers: [33, 65, 17], batch: 130, n: 150 },
  { layers: [2, 25, 3], batch: 32, n: 100 },
  { layers: [784, 256, 10], batch: 128, n: 200 },
];
const ACTIVATIONS: ReadonlyArray<Activation> = ["relu", "tanh", "sigmoid", "linear"];

Deno.test("webgpu kernels: dense_forward, softmax and combine_mean match the CPU forward pass", async () => {
  const gpu = await createWebGpuBackend({ fused: "never" });
  try {
    for (const [k, { layers, n }] of SHAPES.entries()) {
      for (const head of ["softmax", "linear"] as Head[]) {
        const activation = ACTIVATIONS[k % ACTIVATIONS.length];
        const spec = mlp({
          layers: head === "softmax" ? layers : [...layers.slice(0, -1), 2],
          activation,
          head,
        });
        const P = paramCount(spec);
        const members = 3;
        const params = initParams(spec, { seed: k, replicas: members });
        // Non-zero biases, so that a kernel that forgets them fails.
        for (let p = 0; p < params.length; p++) params[p] += 0.01 * ((p % 7) - 3);
        const { x } = data(spec, n, 100 + k);
        const per = await gpu.predict({ spec, params, members, x, n, combine: "none" });
        const outDim = outputDim(spec);
        const expected = new Float32Array(members * n * outDim);
        for (let m = 0; m < members; m++) {
          // forward() ends with the softmax for a softmax head, as predict does.
          expected.set(forward(spec, params.subarray(m * P, (m + 1) * P), x, n), m * n * outDim);
        }
        const label = `${layers.join("-")} ${activation} ${head}`;
        assertClose(per, expected, { rel: 1e-5, abs: 1e-6, label: `${label} per member` });
        const weights = new Float32Array([1, 2, 5]);
        const mean = await gpu.predict({ spec, params, members, x, n, weights });
        const expectedMean = new Float32Array(n * outDim);
        for (let m = 0; m < members; m++) {
          for (let e = 0; e < n * outDim; e++) {
            expectedMean[e] += (weights[m] / 8) * expected[m * n * outDim + e];
          }
        }
        assertClose(mean, expectedMean, { rel: 1e-5, abs: 1e-6, label: `${label} weighted mean` });
      }
    }
  } finally {
    gpu.dispose();
  }
});

Deno.test("webgpu kernels: prediction over many chunks and members matches the CPU backend", async () => {
  const gpu = await createWebGpuBackend({ fused: "never" });
  const cpu = createCpuBackend();
  try {
    // 10 members of a 784-wide input over 1000 rows take 4 chunks of the 16 MiB activation budget
    // (chunks of 256 rows); the narrow hidden layer keeps the arithmetic small.
    const spec = mlp({ layers: [784, 16, 10] });
    const members = 10;
    const params = initParams(spec, { seed: 3, replicas: members });
    const { x, n } = data(spec, 1000, 4);
    for (const combine of ["mean", "none"] as const) {
      const got = await gpu.predict({ spec, params, members, x, n, combine });
      const expected = await cpu.predict({ spec, params, members, x, n, combine });
      assertClose(got, expected, { rel: 1e-5, abs: 1e-6, label: combine });
    }
  } finally {
    gpu.dispose();
    cpu.dispose();
  }
});

Deno.test("webgpu kernels: gather, loss heads and backward products give the CPU loss and gradient", async () => {
  const gpu = await createWebGpuBackend({ fused: "never" });
  try {
    for (const [k, { layers, batch, n }] of SHAPES.entries()) {
      for (const head of ["softmax", "linear"] as Head[]) {
        for (const activation of k === 2 ? ACTIVATIONS : [ACTIVATIONS[k % 4]]) {
          const spec = mlp({ layers, activation, head });
          const params = initParams(spec, { seed: 10 + k });
          for (let p = 0; p < params.length; p++) params[p] += 0.02 * ((p % 5) - 2);
          const trainingData = data(spec, n, 20 + k);
          // Rows out of order and repeated: the gather must follow the indices.
          const rows = new Int32Array(batch).map((_, b) => (b * 7 + 3) % n);
          const session = await gpu.createSession({
            spec,
            optimizer: sgd({ momentum: 0.5, convention: "pytorch" }),
            params,
            data: trainingData,
          });
          session.run(oneStep(rows, 0.1));
          const gradient = await session.readOptimizerState(); // v = g after one step
          const { loss, correct } = await session.readStats();
          session.dispose();

          const inDim = layers[0];
          const outDim = outputDim(spec);
          const x = new Float32Array(batch * inDim);
          const y = head === "softmax" ? new Int32Array(batch) : new Float32Array(batch * outDim);
          for (let b = 0; b < batch; b++) {
            x.set(trainingData.x.subarray(rows[b] * inDim, (rows[b] + 1) * inDim), b * inDim);
            if (head === "softmax") y[b] = trainingData.y[rows[b]];
            else {
              y.set(
                (trainingData.y as Float32Array).subarray(rows[b] * outDim, (rows[b] + 1) * outDim),
                b * outDim,
              );
            }
          }
          const expected = new Float32Array(params.length);
          const expectedLoss = lossAndGradient({ spec, params, x, y, rows: batch, grad: expected });
          const label = `${layers.join("-")} ${activation} ${head} batch ${batch}`;
          assertClose(gradient, expected, { rel: 1e-4, abs: 1e-6, label: `${label} gradient` });
          assertClose(loss, [expectedLoss], { rel: 1e-5, abs: 1e-6, label: `${label} loss` });
          if (head === "softmax") {
            const logits = forward(spec, params, x, batch); // probabilities: same argmax
            let right = 0;
            for (let b = 0; b < batch; b++) {
              let best = 0;
              for (let c = 1; c < outDim; c++) {
                if (logits[b * outDim + c] > logits[b * outDim + best]) best = c;
              }
              if (best === y[b]) right++;
            }
            assert.deepEqual([...correct], [right], `${label} correct count`);
          } else assert.deepEqual([...correct], [0]);
        }
      }
    }
  } finally {
    gpu.dispose();
  }
});

const OPTIMIZERS: ReadonlyArray<[string, Optimizer]> = [
  ["sgd", sgd({ weightDecay: 1e-2 })],
  ["sgd keras momentum", sgd({ momentum: 0.9 })],
  ["sgd keras nesterov + decay", sgd({ momentum: 0.8, nesterov: true, weightDecay: 1e-3 })],
  ["sgd pytorch momentum", sgd({ momentum: 0.9, convention: "pytorch" })],
  [
    "sgd pytorch nesterov + decay",
    sgd({ momentum: 0.7, convention: "pytorch", nesterov: true, weightDecay: 1e-2 }),
  ],
  ["adam", adam()],
  ["adam l2", adam({ weightDecay: 1e-2, beta1: 0.8 })],
  ["adamw", adamw({ weightDecay: 0.1 })],
];

Deno.test("webgpu kernels: every optimizer update and the reset match applyUpdate from a random state", async () => {
  const gpu = await createWebGpuBackend({ fused: "never" });
  try {
    const spec = mlp({ layers: [7, 13, 3], activation: "tanh" });
    const P = paramCount(spec);
    const replicas = 2;
    const trainingData = data(spec, 40, 5);
    const rows = new Int32Array(9).map((_, b) => (5 * b) % 40);
    for (const [name, optimizer] of OPTIMIZERS) {
      for (const reset of [false, true]) {
        const S = optimizerStateSize(optimizer, P);
        const random = randomState(reset ? 8 : 9);
        const params = initParams(spec, { seed: 6, replicas });
        const state = new Float32Array(replicas * S).map(() => random.normal(0, 0.01));
        // Adam's step counters differ per replica: 3 and 41 steps taken.
        if (optimizer.kind === "adam") {
          state[2 * P] = 3;
          state[S + 2 * P] = 41;
          for (let r = 0; r < replicas; r++) {
            for (let p = 0; p < P; p++) state[r * S + P + p] = Math.abs(state[r * S + P + p]);
          }
        }
        const session = await gpu.createSession({
          spec,
          optimizer,
          params,
          data: trainingData,
          replicas,
          optimizerState: state,
        });
        const lr = 0.05;
        session.run({ ...oneStep(rows, lr), resets: new Uint8Array([reset ? 1 : 0]) });
        const [gotParams, gotState] = [
          await session.readParams(),
          await session.readOptimizerState(),
        ];
        session.dispose();

        const x = new Float32Array(rows.length * 7);
        const y = new Int32Array(rows.length);
        for (let b = 0; b < rows.length; b++) {
          x.set(trainingData.x.subarray(rows[b] * 7, rows[b] * 7 + 7), b * 7);
          y[b] = trainingData.y[rows[b]];
        }
        const expectedParams = params.slice();
        const expectedState = reset ? new Float32Array(replicas * S) : state.slice();
        for (let r = 0; r < replicas; r++) {
          const grad = new Float32Array(P);
          lossAndGradient({
            spec,
            params: params.slice(r * P, (r + 1) * P),
            x,
            y,
            rows: rows.length,
            grad,
          });
          applyUpdate(optimizer, expectedParams, grad, expectedState, lr, r);
        }
        const label = `${name}${reset ? " after a reset" : ""}`;
        assertClose(gotParams, expectedParams, { rel: 1e-5, abs: 1e-6, label: `${label} params` });
        assertClose(gotState, expectedState, { rel: 1e-4, abs: 1e-7, label: `${label} state` });
      }
    }
  } finally {
    gpu.dispose();
  }
});

Deno.test("webgpu: many steps go in one submit; reading back is counted and explicit", async () => {
  const gpu = await createWebGpuBackend({ fused: "never" });
  try {
    const spec = mlp({ layers: [2, 25, 3] });
    const session = await gpu.createSession({
      spec,
      optimizer: sgd({ momentum: 0.9 }),
      params: initParams(spec, { seed: 1 }),
      data: data(spec, 100, 2),
    });
    const steps = 500;
    const plan = {
      indices: new Int32Array(steps * 32).map((_, k) => (k * 37) % 100),
      offsets: new Int32Array(steps + 1).map((_, s) => 32 * s),
      lrs: new Float32Array(steps).fill(0.01),
    };
    session.run(plan);
    session.run(plan); // a second plan grows the statistics buffer and keeps the first rows
    assert.equal(gpu.readbacks, 0);
    const stats = await session.readStats();
    assert.equal(gpu.readbacks, 1);
    assert.equal(stats.loss.length, 2 * steps);
    assert.ok(stats.loss.every((l) => Number.isFinite(l) && l > 0));
    assert.ok(stats.loss[2 * steps - 1] < stats.loss[0]);
    assert.ok(stats.correct.every((c) => Number.isInteger(c) && c >= 0 && c <= 32));
    await session.readParams();
    assert.equal(gpu.readbacks, 2);
  } finally {
    gpu.dispose();
  }
});

Deno.test("webgpu: steps run while statistics are being read are kept for the next read", async () => {
  for (const fused of ["never", "auto"] as const) {
    const gpu = await createWebGpuBackend({ fused });
    const cpu = createCpuBackend();
    try {
      const spec = mlp({ layers: [2, 8, 3] });
      const options = {
        spec,
        optimizer: sgd({ momentum: 0.9 }),
        params: initParams(spec, { seed: 1 }),
        data: data(spec, 4, 5),
      };
      const steps = 10;
      const plan = {
        indices: new Int32Array(steps * 4).map((_, k) => k % 4),
        offsets: new Int32Array(steps + 1).map((_, s) => 4 * s),
        lrs: new Float32Array(steps).fill(0.1),
      };
      const session = await gpu.createSession(options);
      const reference = await cpu.createSession(options);
      const expected: Float32Array[] = [];
      for (let k = 0; k < 3; k++) {
        reference.run(plan);
        expected.push((await reference.readStats()).loss);
      }
      session.run(plan);
      const first = session.readStats();
      session.run(plan); // in the same tick as the read
      const second = session.readStats();
      await new Promise((resolve) => setTimeout(resolve, 3));
      session.run(plan); // while the second read is in flight
      const third = session.readStats();
      const got = [await first, await second, await third].map((s) => s.loss);
      for (let k = 0; k < 3; k++) {
        assert.equal(got[k].length, steps, `${fused}: read ${k + 1} has its own plan's rows`);
        assertClose(got[k], expected[k], {
          rel: 1e-5,
          abs: 1e-6,
          label: `${fused}: read ${k + 1}`,
        });
      }
      assert.equal((await session.readStats()).loss.length, 0, "nothing left over");
    } finally {
      gpu.dispose();
      cpu.dispose();
    }
  }
});

Deno.test("webgpu: per-kernel loop counts give the batch limit, kernel by kernel", () => {
  // The softmax head of a wide layer binds: its busiest invocation takes ceil(batch / 64) rows and
  // is charged per row 100 (argmax from class 1) + 101 (sum) + 101 (gradient) + 1 (the row's own
  // pass), then 1 for leaving the row loop and 65 for the 64-term sum: 303 r + 66 < 65,535 holds
  // up to r = 216 rows, 13,824 samples. The old rule (rows x 3 * outDim) allowed 13,952.
  assert.deepEqual(perKernelBatchLimit(mlp({ layers: [2, 100] })), {
    batch: 13_824,
    kernel: "softmax_xent",
  });
  const worst = (layers: number[], batch: number) =>
    Math.max(...perKernelLoopCounts(mlp({ layers }), batch).map((c) => c.count));
  assert.equal(worst([2, 100], 13_824), 216 * 303 + 66);
  assert.ok(worst([2, 100], 13_825) >= LLVMPIPE_LOOP_LIMIT);
  // A narrow head: the weight gradient binds, batch + 1 for its loop and 25 for its 4x4 store.
  assert.deepEqual(perKernelBatchLimit(mlp({ layers: [2, 25, 3] })), {
    batch: 65_508,
    kernel: "dense_grad_weights 2",
  });
  // A linear head of 100 outputs: one loop per row, 102 r + 66 < 65,535 up to r = 641.
  assert.equal(perKernelBatchLimit(mlp({ layers: [2, 100], head: "linear" })).batch, 641 * 64);
  // A layer so wide that its forward kernel alone is over the limit: no batch runs.
  assert.equal(perKernelBatchLimit(mlp({ layers: [70_000, 2] })).batch, 0);
});

Deno.test("webgpu: the largest batch llvmpipe runs agrees with the CPU; one row more is refused at the door", async () => {
  const gpu = await createWebGpuBackend({ fused: "never" });
  const cpu = createCpuBackend();
  try {
    const spec = mlp({ layers: [2, 100] }); // a wide softmax head: the loss kernel binds
    const limit = 13_824;
    const options = {
      spec,
      optimizer: sgd(),
      params: initParams(spec, { seed: 1 }),
      data: data(spec, 200, 3),
    };
    const rows = (batch: number) => new Int32Array(batch).map((_, k) => (k * 7) % 200);
    const session = await gpu.createSession(options);
    const reference = await cpu.createSession(options);
    const over = oneStep(rows(limit + 1), 0.5);
    if (gpu.softwareAdapter) {
      assert.throws(
        () => session.run(over),
        (e) =>
          e instanceof ConfigError && e.issues.length === 1 && e.issues[0].field === "offsets" &&
          /offsets must give batches of at most 13824 samples on a software WebGPU adapter: .*softmax_xent.*use smaller batches or backend "cpu": got 13825/
            .test(e.message),
      );
    }
    // On llvmpipe the largest accepted batch; on hardware, where there is no limit, one more.
    const plan = gpu.softwareAdapter ? oneStep(rows(limit), 0.5) : over;
    session.run(plan);
    reference.run(plan);
    const [got, expected] = [await session.readStats(), await reference.readStats()];
    assertClose(got.loss, expected.loss, { rel: 1e-4, abs: 1e-6, label: "loss" });
    assert.deepEqual([...got.correct], [...expected.correct], "correct count");
    assertClose(await session.readParams(), await reference.readParams(), {
      rel: 1e-4,
      abs: 1e-6,
      label: "params",
    });
    // A narrow network: the weight gradient's loop over the batch binds.
    const narrow = mlp({ layers: [2, 3] });
    const small = await gpu.createSession({
      ...options,
      spec: narrow,
      params: initParams(narrow, { seed: 1 }),
      data: data(narrow, 4, 1),
    });
    const tooLong = oneStep(new Int32Array(65_509), 0.1);
    if (gpu.softwareAdapter) {
      assert.throws(
        () => small.run(tooLong),
        (e) => e instanceof ConfigError && /at most 65508 .*dense_grad_weights/.test(e.message),
      );
    } else {
      small.run(tooLong);
      assert.equal((await small.readStats()).loss.length, 1);
    }
  } finally {
    gpu.dispose();
    cpu.dispose();
  }
});

Deno.test("webgpu: pipelines are built once per shader and constants; bad constants give a clear error", async () => {
  const adapter = await navigator.gpu.requestAdapter();
  assert.ok(adapter, "a WebGPU adapter is required (CI has a software one)");
  const device = await adapter.requestDevice();
  try {
    const cache = createPipelineCache(device);
    const a = await cache.pipeline("gather", { IN_DIM: 3 });
    const b = await cache.pipeline("gather", { IN_DIM: 3 });
    const c = await cache.pipeline("gather", { IN_DIM: 4 });
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.equal(cache.size, 2);
    const bad = cache.pipeline("softmax", { OUT_DIM: 3 });
    assert.equal(cache.size, 3);
    await assert.rejects(bad, /Cannot build the pipeline of shaders\/softmax\.wgsl .*STRIDE/);
    // A rejected build is evicted: the next request builds again instead of replaying it.
    assert.equal(cache.size, 2);
    const again = cache.pipeline("softmax", { OUT_DIM: 3 });
    assert.notEqual(again, bad);
    await assert.rejects(again, /STRIDE/);
  } finally {
    device.destroy();
  }
});

Deno.test("webgpu: creating and disposing backends, sessions and predictions leaks no buffers", async () => {
  const baseline = liveBufferCount();
  const spec = mlp({ layers: [4, 9, 3] });
  const trainingData = data(spec, 30, 3);
  const plan = {
    indices: new Int32Array(40).map((_, k) => k % 30),
    offsets: new Int32Array([0, 10, 20, 30, 40]),
    lrs: new Float32Array(4).fill(0.1),
  };
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 3 }),
      fc.boolean(),
      async (sessions, disposeEach) => {
        const gpu = await createWebGpuBackend();
        for (let s = 0; s < sessions; s++) {
          const session = await gpu.createSession({
            spec,
            optimizer: s % 2 === 0 ? adam() : sgd({ momentum: 0.9 }),
            params: initParams(spec, { seed: s }),
            data: trainingData,
          });
          session.run(plan);
          session.run({
            ...plan,
            indices: new Int32Array(400).map((_, k) => k % 30),
            offsets: new Int32Array([0, 400]),
            lrs: new Float32Array([0.1]),
          });
          await session.readStats();
          await gpu.predict({ spec, params: await session.readParams(), x: trainingData.x, n: 30 });
          if (disposeEach) session.dispose();
        }
        assert.ok(liveBufferCount() > baseline || disposeEach);
        gpu.dispose();
        assert.equal(liveBufferCount(), baseline, "live buffers after dispose");
      },
    ),
    { seed: 42, numRuns: 6 },
  );
});

Deno.test("webgpu: a lost device rejects pending and later reads with a clear error, no hang", async () => {
  const adapter = await navigator.gpu.requestAdapter();
  assert.ok(adapter, "a WebGPU adapter is required (CI has a software one)");
  const device = await adapter.requestDevice();
  const gpu = await createWebGpuBackend({ device, adapter });
  const spec = mlp({ layers: [2, 8, 3] });
  const trainingData = data(spec, 20, 7);
  const options = {
    spec,
    optimizer: sgd({ momentum: 0.9 }),
    params: initParams(spec, { seed: 2 }),
    data: trainingData,
  };
  const plan = {
    indices: new Int32Array(100).map((_, k) => k % 20),
    offsets: new Int32Array(11).map((_, s) => 10 * s),
    lrs: new Float32Array(10).fill(0.05),
  };
  const session = await gpu.createSession(options);
  session.run(plan);
  const before = await session.readParams();
  const snapshot = before.slice();
  session.run(plan);
  const pending = session.readParams();
  device.destroy();
  const timeout = new Promise((_, reject) =>
    setTimeout(() => reject(new Error("the read hung")), 10_000)
  );
  // The read waits for the run's error scopes before it copies anything, so the device is gone
  // by the time it maps: it must reject with the clear error, never resolve or hang.
  const outcome = await Promise.race([pending.then(() => "resolved", (e) => e), timeout]);
  assert.ok(outcome instanceof SnapfoldError, `the pending read rejected: got ${outcome}`);
  assert.match(outcome.message, /WebGPU device was lost/);
  await assert.rejects(
    session.readParams(),
    /WebGPU device was lost .*parameters read before are intact/,
  );
  await assert.rejects(session.readStats(), /WebGPU device was lost/);
  assert.throws(() => session.run(plan), /WebGPU device was lost/);
  await assert.rejects(
    gpu.predict({ spec, params: before, x: trainingData.x, n: 20 }),
    /device was lost/,
  );
  assert.deepEqual(before, snapshot, "parameters read before the loss are intact");
  // And they are the right ones: the CPU backend agrees after the same first plan.
  const cpu = createCpuBackend();
  const reference = await cpu.createSession(options);
  reference.run(plan);
  assertClose(before, await reference.readParams(), {
    rel: 1e-5,
    abs: 1e-6,
    label: "params before loss",
  });
  cpu.dispose();
  gpu.dispose();
  session.dispose();
});

Deno.test("webgpu: a device lost before createSession rejects it with the lost-device error", async () => {
  const adapter = await navigator.gpu.requestAdapter();
  assert.ok(adapter, "a WebGPU adapter is required (CI has a software one)");
  const device = await adapter.requestDevice();
  const gpu = await createWebGpuBackend({ device, adapter });
  const spec = mlp({ layers: [3, 7, 3] });
  const options = {
    spec,
    optimizer: sgd({ momentum: 0.9 }),
    params: initParams(spec, { seed: 1 }),
    data: data(spec, 4, 1),
  };
  device.destroy();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error("createSession hung")), 10_000);
  });
  try {
    const outcome = await Promise.race([
      gpu.createSession(options).then(() => "resolved", (e) => e),
      timeout,
    ]);
    // Not "Cannot compile shaders/gather.wgsl: ... fix the shader", which blamed the shader.
    assert.ok(outcome instanceof SnapfoldError, `createSession rejected: got ${outcome}`);
    assert.match(outcome.message, /^The WebGPU device was lost \(destroyed/);
    await assert.rejects(gpu.createSession(options), /WebGPU device was lost/);
    await assert.rejects(
      gpu.predict({ spec, params: options.params, x: options.data.x, n: 4 }),
      /WebGPU device was lost/,
    );
  } finally {
    clearTimeout(timer);
    gpu.dispose();
  }
});

Deno.test("webgpu: a fused kernel that fails to build leaves sessions on the per-kernel path", async () => {
  const adapter = await navigator.gpu.requestAdapter();
  assert.ok(adapter, "a WebGPU adapter is required (CI has a software one)");
  const real = await adapter.requestDevice({
    requiredLimits: {
      maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
    },
  });
  // The real device, except that building the fused kernel fails as a driver might.
  const device = new Proxy(real, {
    get(target, key) {
      if (key === "createComputePipelineAsync") {
        return (descriptor: GPUComputePipelineDescriptor) =>
          descriptor.label === "train_fused"
            ? Promise.reject(new Error("stub: the driver rejects this pipeline"))
            : target.createComputePipelineAsync(descriptor);
      }
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (message: string) => warnings.push(message);
  const gpu = await createWebGpuBackend({ device, adapter });
  const cpu = createCpuBackend();
  try {
    assert.equal(gpu.fusedFallbackReason, undefined);
    const spec = mlp({ layers: [2, 8, 3] }); // fits the fused kernel
    const options = {
      spec,
      optimizer: sgd({ momentum: 0.9 }),
      params: initParams(spec, { seed: 4 }),
      data: data(spec, 12, 2),
    };
    const plan = {
      indices: new Int32Array(40).map((_, k) => (k * 5) % 12),
      offsets: new Int32Array([0, 10, 20, 30, 40]),
      lrs: new Float32Array(4).fill(0.1),
    };
    for (let k = 0; k < 2; k++) {
      const session = await gpu.createSession(options);
      const reference = await cpu.createSession(options);
      session.run(plan);
      reference.run(plan);
      assertClose(await session.readParams(), await reference.readParams(), {
        rel: 1e-5,
        abs: 1e-6,
        label: `session ${k + 1}`,
      });
    }
    assert.equal(gpu.fusedSteps, 0, "no step ran fused");
    assert.match(gpu.fusedFallbackReason ?? "", /train_fused.*stub: the driver rejects/);
    assert.equal(warnings.length, 1, "warned once");
    assert.match(warnings[0], /per kernel/);
  } finally {
    console.warn = warn;
    gpu.dispose();
    cpu.dispose();
    real.destroy();
  }
});

Deno.test("webgpu: data and parameters larger than the device's buffers are refused at the door", async () => {
  const adapter = await navigator.gpu.requestAdapter();
  assert.ok(adapter, "a WebGPU adapter is required (CI has a software one)");
  const real = await adapter.requestDevice();
  // The real device, reporting a 4 KiB limit per storage binding.
  const limits: Record<string, number> = {};
  for (const key in real.limits) {
    const value = (real.limits as unknown as Record<string, unknown>)[key];
    if (typeof value === "number") limits[key] = value;
  }
  limits.maxStorageBufferBindingSize = 4096;
  const device = new Proxy(real, {
    get(target, key) {
      if (key === "limits") return limits;
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const gpu = await createWebGpuBackend({ device, adapter });
  try {
    const spec = mlp({ layers: [2, 8, 3] });
    const options = {
      spec,
      optimizer: sgd({ momentum: 0.9 }),
      params: initParams(spec, { seed: 1 }),
      data: data(spec, 1000, 2), // x: 8000 bytes; y: 4000 bytes
    };
    await assert.rejects(
      gpu.createSession(options),
      (e) =>
        e instanceof ConfigError && e.issues.map((i) => i.field).join() === "data.x" &&
        /^Cannot create a training session: data\.x must fit in one buffer of this WebGPU device: it takes 8000 bytes, over the device's maxStorageBufferBindingSize of 4096 bytes; use backend "cpu", or a smaller dataset/
          .test(e.message),
    );
    const members = 40;
    await assert.rejects(
      gpu.predict({
        spec,
        params: initParams(spec, { seed: 1, replicas: members }),
        members,
        x: options.data.x,
        n: 1000,
        combine: "none",
      }),
      (e) =>
        e instanceof ConfigError &&
        e.issues.map((i) => i.field).join() === "params,members,n" &&
        /params must fit .* it takes 8160 bytes, over .* 4096 bytes; use backend "cpu", or fewer members per call/
          .test(e.message),
    );
    // What fits still runs, and leaves the device's error-scope stack empty.
    const small = { ...options, data: data(spec, 100, 2) };
    const session = await gpu.createSession(small);
    session.run(oneStep(new Int32Array(10).map((_, k) => k), 0.1));
    assert.equal((await session.readStats()).loss.length, 1);
    await gpu.predict({ spec, params: small.params, x: small.data.x, n: 100 });
    await assert.rejects(real.popErrorScope(), "no error scope was left pushed");
  } finally {
    gpu.dispose();
    real.destroy();
  }
});
