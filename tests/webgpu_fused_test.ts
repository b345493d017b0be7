/**
 * The fused training path of the WebGPU backend (shaders/train_fused.wgsl, lib/backend/webgpu/_fused.ts):
 * the shared backend cases (PyTorch parity among them) on a backend that takes the fused path, then
 * a sweep in which the fused path, the per-kernel path (`fused: "never"`) and the CPU backend train
 * the same plans and must agree, runs long enough to need several dispatches (the software
 * adapter's loop cap), and the splitting of plans into dispatches against its loop budget.
 *
 * In CI a WebGPU adapter always exists (Mesa's software rasterizer at least): a missing adapter
 * fails these tests, never skips them.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { assertClose, registerBackendCases } from "./_backend_cases.ts";
import {
  type Activation,
  ACTIVATIONS,
  adam,
  adamw,
  type Backend,
  ConfigError,
  cosineAnnealing,
  createCpuBackend,
  createWebGpuBackend,
  dense,
  dropout,
  type Head,
  initParams,
  inputDim,
  makeBlobs,
  mlp,
  type MlpSpec,
  type Optimizer,
  outputDim,
  randomState,
  relu as reluLayer,
  sequential,
  sgd,
  type StepPlan,
  tanh,
  toFloat32,
  type TrainingData,
  type WebGpuBackend,
} from "../mod.ts";
import { epochsBatches } from "../lib/batches.ts";
import { FUSED_LOOP_BUDGET, fusedLayout, splitFusedSteps } from "../lib/backend/webgpu/_fused.ts";
import { fixedLoopCount, stepLoopCount } from "../lib/backend/webgpu/_loop_budget.ts";
import {
  DEFAULT_WORKGROUP_STORAGE,
  fusedIsSlowOn,
  LLVMPIPE_LOOP_LIMIT,
} from "../lib/backend/webgpu/_quirks.ts";
import fixture from "./fixtures/torch_training.json" with { type: "json" };

// Every backend the shared cases make, so that the test after them can check that they trained
// on the fused path (a fused kernel that silently fell back would pass them all per kernel).
const sharedCaseBackends: WebGpuBackend[] = [];
registerBackendCases("webgpu fused", async () => {
  const backend = await createWebGpuBackend({ fused: "auto" });
  sharedCaseBackends.push(backend);
  return backend;
});

Deno.test("webgpu fused: the shared cases above trained on the fused path", () => {
  const fusedRuns = sharedCaseBackends.filter((b) => b.fusedSteps > 0).length;
  // At least one backend per PyTorch parity case (each trains a fixture that fits the layout).
  assert.ok(
    fusedRuns >= fixture.cases.length,
    `${fusedRuns} of ${sharedCaseBackends.length} backends ran fused steps; expected at least ` +
      `${fixture.cases.length}`,
  );
  for (const b of sharedCaseBackends) assert.equal(b.fusedFallbackReason, undefined);
});

Deno.test("webgpu fused: every PyTorch fixture fits the fused layout, so the shared cases above ran fused", () => {
  for (const c of fixture.cases) {
    const spec = mlp({
      layers: c.layers,
      activation: c.activation as Activation,
      head: c.head as Head,
    });
    const optimizer = c.optimizer.kind === "adam"
      ? adam()
      : c.optimizer.kind === "adamw"
      ? adamw()
      : sgd({ momentum: c.optimizer.momentum ?? 0 });
    const fit = fusedLayout(spec, optimizer, {
      workgroupBytes: DEFAULT_WORKGROUP_STORAGE,
      replicas: 1,
    });
    assert.ok(fit.ok, `${c.name}: ${fit.ok ? "" : fit.reason}`);
    assert.ok(splitFusedSteps(fit.layout, Int32Array.from(c.offsets)) !== null, c.name);
  }
});

function data(spec: MlpSpec, n: number, seed: number): TrainingData {
  const random = randomState(seed);
  const inDim = inputDim(spec);
  const outDim = outputDim(spec);
  const x = new Float32Array(n * inDim);
  const y = spec.head === "softmax" ? new Int32Array(n) : new Float32Array(n * outDim);
  for (let b = 0; b < n; b++) {
    const label = b % outDim;
    for (let i = 0; i < inDim; i++) x[b * inDim + i] = random.normal(((label + i) % 3) * 1.5, 1);
    if (spec.head === "softmax") y[b] = label;
    else for (let o = 0; o < outDim; o++) y[b * outDim + o] = Math.sin(x[b * inDim] + o);
  }
  return { x, y, n };
}

/** `steps` shuffled steps (the last batch of every epoch short) with a cosine lr and resets. */
function plan(n: number, batchSize: number, steps: number, lrMax: number, seed: number): StepPlan {
  const perEpoch = Math.ceil(n / batchSize);
  const batches = epochsBatches(randomState(seed), { n, batchSize }, Math.ceil(steps / perEpoch));
  const offsets = batches.offsets.slice(0, steps + 1);
  const indices = batches.indices.slice(0, offsets[steps]);
  const lrs = new Float32Array(steps);
  const resets = new Uint8Array(steps);
  const cycle = Math.max(1, Math.floor(steps / 3));
  for (let s = 0; s < steps; s++) {
    lrs[s] = lrMax * (0.55 + 0.45 * Math.cos(Math.PI * (s % cycle) / cycle));
    if (s > 0 && s % cycle === 0) resets[s] = 1; // a restart resets the optimizer state
  }
  return { indices, offsets, lrs, resets };
}

async function run(
  backend: Backend,
  options: {
    spec: MlpSpec;
    optimizer: Optimizer;
    params: Float32Array;
    data: TrainingData;
    replicas: number;
    plans: ReadonlyArray<StepPlan>;
  },
) {
  const session = await backend.createSession(options);
  try {
    for (const p of options.plans) session.run(p);
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

interface Case {
  readonly name: string;
  readonly layers: number[];
  readonly activation: Activation;
  readonly head: Head;
  readonly optimizer: Optimizer;
  readonly n: number;
  readonly batch: number;
  readonly replicas: number;
  readonly lr: number;
}

const relu = "relu" as const;
const CASES: ReadonlyArray<Case> = [
  // The tutorial's network and batch: 100 rows give batches of 32, 32, 32 and a short 4.
  ...([
    ["sgd keras momentum", sgd({ momentum: 0.9 })],
    ["sgd pytorch momentum", sgd({ momentum: 0.9, convention: "pytorch" })],
    ["sgd keras nesterov + decay", sgd({ momentum: 0.8, nesterov: true, weightDecay: 1e-3 })],
    [
      "sgd pytorch nesterov + decay",
      sgd({ momentum: 0.7, nesterov: true, convention: "pytorch", weightDecay: 1e-2 }),
    ],
    ["plain sgd", sgd()],
    ["adam", adam()],
    ["adamw", adamw({ weightDecay: 0.05 })],
  ] as const).map(([name, optimizer]) => ({
    name: `2-25-3 batch 32, ${name}`,
    layers: [2, 25, 3],
    activation: relu,
    head: "softmax" as Head,
    optimizer,
    n: 100,
    batch: 32,
    replicas: 1,
    lr: optimizer.kind === "adam" ? 0.01 : 0.05,
  })),
  {
    name: "2-25-3 batch 1",
    layers: [2, 25, 3],
    activation: relu,
    head: "softmax",
    optimizer: sgd({ momentum: 0.9 }),
    n: 7,
    batch: 1,
    replicas: 1,
    lr: 0.02,
  },
  {
    name: "2-8-8-3 tanh, adam l2",
    layers: [2, 8, 8, 3],
    activation: "tanh",
    head: "softmax",
    optimizer: adam({ weightDecay: 1e-3 }),
    n: 50,
    batch: 16,
    replicas: 1,
    lr: 0.01,
  },
  {
    name: "3-10-2 sigmoid regression, sgd pytorch",
    layers: [3, 10, 2],
    activation: "sigmoid",
    head: "linear",
    optimizer: sgd({ momentum: 0.9, convention: "pytorch" }),
    n: 40,
    batch: 12,
    replicas: 1,
    lr: 0.05,
  },
  {
    name: "2-25-3 replicas 3, sgd keras momentum",
    layers: [2, 25, 3],
    activation: relu,
    head: "softmax",
    optimizer: sgd({ momentum: 0.9 }),
    n: 100,
    batch: 32,
    replicas: 3,
    lr: 0.05,
  },
  {
    name: "4-6-5-4-3 linear activation, 4 layers, replicas 2, adam",
    layers: [4, 6, 5, 4, 3],
    activation: "linear",
    head: "softmax",
    optimizer: adam(),
    n: 30,
    batch: 8,
    replicas: 2,
    lr: 0.005,
  },
];

Deno.test("webgpu fused: 200 steps agree with the per-kernel path and the CPU backend to 1e-4", async () => {
  const fused = await createWebGpuBackend({ fused: "auto" });
  const perKernel = await createWebGpuBackend({ fused: "never" });
  const cpu = createCpuBackend();
  try {
    for (const c of CASES) {
      const spec = mlp({ layers: c.layers, activation: c.activation, head: c.head });
      const steps = 200;
      const whole = plan(c.n, c.batch, steps, c.lr, 3);
      // Two plans in a row: the second continues from the state the first left on the GPU.
      const cut = whole.offsets[120];
      const plans: StepPlan[] = [
        {
          indices: whole.indices.slice(0, cut),
          offsets: whole.offsets.slice(0, 121),
          lrs: whole.lrs.slice(0, 120),
          resets: whole.resets!.slice(0, 120),
        },
        {
          indices: whole.indices.slice(cut),
          offsets: whole.offsets.slice(120).map((o) => o - cut),
          lrs: whole.lrs.slice(120),
          resets: whole.resets!.slice(120),
        },
      ];
      const options = {
        spec,
        optimizer: c.optimizer,
        params: initParams(spec, { seed: 5, replicas: c.replicas }),
        data: data(spec, c.n, 4),
        replicas: c.replicas,
        plans,
      };
      const before = fused.fusedSteps;
      const got = await run(fused, options);
      assert.equal(fused.fusedSteps - before, steps, `${c.name}: every step ran fused`);
      const kernels = await run(perKernel, options);
      const expected = await run(cpu, options);
      assert.equal(perKernel.fusedSteps, 0);
      const tol = { rel: 1e-4, abs: 1e-6 };
      for (const [what, other] of [["CPU", expected], ["per-kernel", kernels]] as const) {
        const label = `${c.name} vs ${what}`;
        assertClose(got.params, other.params, { ...tol, label: `${label}: params` });
        assertClose(got.state, other.state, { ...tol, label: `${label}: optimizer state` });
        assertClose(got.loss, other.loss, { ...tol, label: `${label}: losses` });
        assert.deepEqual([...got.correct], [...other.correct], `${label}: correct counts`);
      }
      // It trained: the loss fell (so a kernel that did nothing would fail above and here).
      const R = c.replicas;
      const first = got.loss.slice(0, 3 * R).reduce((a, b) => a + b, 0);
      const last = got.loss.slice((steps - 3) * R).reduce((a, b) => a + b, 0);
      assert.ok(last < first, `${c.name}: loss fell from ${first} to ${last}`);
    }
  } finally {
    fused.dispose();
    perKernel.dispose();
    cpu.dispose();
  }
});

Deno.test("webgpu fused: the tutorial's 2000 steps span many dispatches and still agree with the CPU", async () => {
  // The tutorial: blobs (1100 samples, std 2, randomState 2), the first 100 train; 2-25-3 relu;
  // SGD momentum 0.9; 500 epochs of batch 32 (2000 steps); cosine lr from 0.01, 10 cycles.
  const blobs = makeBlobs({ nSamples: 1100, centers: 3, clusterStd: 2, randomState: 2 });
  const n = 100;
  const trainingData = { x: toFloat32(blobs.x.subarray(0, 2 * n)), y: blobs.y.slice(0, n), n };
  const spec = mlp({ layers: [2, 25, 3] });
  const epochs = 500;
  const { indices, offsets } = epochsBatches(randomState(7), { n, batchSize: 32 }, epochs);
  const steps = offsets.length - 1;
  assert.equal(steps, 2000);
  const schedule = cosineAnnealing({ lrMax: 0.01, totalSteps: epochs, cycles: 10 });
  const lrs = new Float32Array(steps).map((_, s) => schedule(Math.floor(s / 4)));
  const fit = fusedLayout(spec, sgd({ momentum: 0.9 }), {
    workgroupBytes: DEFAULT_WORKGROUP_STORAGE,
    replicas: 1,
  });
  assert.ok(fit.ok);
  const chunks = splitFusedSteps(fit.layout, offsets)!;
  // One dispatch of all 2000 steps would run far beyond llvmpipe's loop cap.
  let total = 0;
  for (let s = 0; s < steps; s++) total += stepLoopCount(fit.layout, offsets[s + 1] - offsets[s]);
  assert.ok(total > 5 * LLVMPIPE_LOOP_LIMIT, `${total} iterations in all`);
  assert.ok(chunks.length >= 10, `${chunks.length} dispatches`);
  const options = {
    spec,
    optimizer: sgd({ momentum: 0.9 }),
    params: initParams(spec, { seed: 1, replicas: 2 }),
    data: trainingData,
    replicas: 2,
    plans: [{ indices, offsets, lrs }],
  };
  const gpu = await createWebGpuBackend();
  const cpu = createCpuBackend();
  try {
    const got = await run(gpu, options);
    assert.equal(gpu.fusedSteps, steps);
    const expected = await run(cpu, options);
    const tol = { rel: 1e-4, abs: 1e-5 };
    assertClose(got.params, expected.params, { ...tol, label: "final weights" });
    assertClose(got.state, expected.state, { ...tol, label: "final velocity" });
    assertClose(got.loss, expected.loss, { ...tol, label: "losses" });
    // Steps of the last dispatch changed the weights: its own steps' losses match too, and they
    // are lower than the first epoch's (a dispatch that silently stopped would leave them high).
    const lastChunk = chunks[chunks.length - 1];
    assert.ok(lastChunk.first > 1000);
    const epochLoss = (e: number) => got.loss.slice(8 * e, 8 * e + 8).reduce((a, b) => a + b) / 8;
    assert.ok(epochLoss(epochs - 1) < 0.7 * epochLoss(0), "the last epoch's loss fell");
  } finally {
    gpu.dispose();
    cpu.dispose();
  }
});

Deno.test("webgpu fused: a network or batch that does not fit runs on the per-kernel path", async () => {
  const gpu: WebGpuBackend = await createWebGpuBackend();
  const cpu = createCpuBackend();
  try {
    for (
      const [label, layers, batch] of [
        ["5 layers", [2, 4, 4, 4, 4, 3], 8],
        ["too wide for workgroup memory", [40, 120, 3], 16],
        ["batch beyond the layout", [2, 25, 3], 600],
      ] as const
    ) {
      const spec = mlp({ layers: [...layers] });
      const n = batch + 5;
      const options = {
        spec,
        optimizer: sgd({ momentum: 0.9 }),
        params: initParams(spec, { seed: 2 }),
        data: data(spec, n, 6),
        replicas: 1,
        plans: [plan(n, batch, 6, 0.05, 8)],
      };
      const before = gpu.fusedSteps;
      const got = await run(gpu, options);
      assert.equal(gpu.fusedSteps, before, `${label}: no fused steps`);
      const expected = await run(cpu, options);
      assertClose(got.params, expected.params, { rel: 1e-4, abs: 1e-6, label });
    }
  } finally {
    gpu.dispose();
    cpu.dispose();
  }
});

Deno.test("webgpu fused: dropout and per-layer activations opt out to the per-kernel path", async () => {
  const limits = { workgroupBytes: DEFAULT_WORKGROUP_STORAGE, replicas: 1 };
  const mixed = sequential({
    inputs: 2,
    layers: [dense(6), reluLayer(), dense(5), tanh(), dense(3)],
  });
  const dropped = sequential({
    inputs: 2,
    layers: [dense(6), reluLayer(), dropout(0.2), dense(3)],
  });
  const uniform = sequential({ inputs: 2, layers: [dense(6), tanh(), dense(5), tanh(), dense(3)] });
  const mixedFit = fusedLayout(mixed, sgd(), limits);
  assert.ok(!mixedFit.ok && /activations that differ per layer/.test(mixedFit.reason));
  const droppedFit = fusedLayout(dropped, sgd(), limits);
  assert.ok(!droppedFit.ok && /dropout/.test(droppedFit.reason));
  const uniformFit = fusedLayout(uniform, sgd(), limits);
  assert.ok(uniformFit.ok && uniformFit.layout.constants.ACT === ACTIVATIONS.tanh.code);
  const gpu: WebGpuBackend = await createWebGpuBackend();
  const cpu = createCpuBackend();
  try {
    for (const [label, spec] of [["mixed", mixed], ["uniform", uniform]] as const) {
      const n = 40;
      const options = {
        spec,
        optimizer: sgd({ momentum: 0.9 }),
        params: initParams(spec, { seed: 2 }),
        data: data(spec, n, 6),
        replicas: 1,
        plans: [plan(n, 16, 6, 0.05, 8)],
      };
      const before = gpu.fusedSteps;
      const got = await run(gpu, options);
      assert.equal(gpu.fusedSteps > before, label === "uniform", `${label}: fused or not`);
      const expected = await run(cpu, options);
      assertClose(got.params, expected.params, { rel: 1e-4, abs: 1e-6, label });
    }
  } finally {
    gpu.dispose();
    cpu.dispose();
  }
});

Deno.test("webgpu fused: plans split into dispatches within the loop budget, in order, covering every step", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 2, maxLength: 5 }),
      fc.array(fc.integer({ min: 1, max: 96 }), { minLength: 1, maxLength: 300 }),
      fc.constantFrom<Optimizer>(sgd(), sgd({ momentum: 0.9 }), adam()),
      (layers, batches, optimizer) => {
        const spec = mlp({ layers, head: layers[layers.length - 1] >= 2 ? "softmax" : "linear" });
        const fit = fusedLayout(spec, optimizer, { workgroupBytes: 32768, replicas: 1 });
        if (!fit.ok) return;
        const offsets = new Int32Array(batches.length + 1);
        for (let s = 0; s < batches.length; s++) offsets[s + 1] = offsets[s] + batches[s];
        const { layout } = fit;
        const chunks = splitFusedSteps(layout, offsets);
        const fixed = fixedLoopCount(layout);
        const cost = (b: number) => stepLoopCount(layout, b);
        if (chunks === null) {
          // Refused only when some step cannot run in any dispatch.
          assert.ok(
            batches.some((b) => b > layout.batchCap || fixed + cost(b) > FUSED_LOOP_BUDGET),
          );
          return;
        }
        let next = 0;
        for (const [k, { first, steps }] of chunks.entries()) {
          assert.equal(first, next);
          assert.ok(steps >= 1);
          let used = fixed;
          for (let s = first; s < first + steps; s++) used += cost(batches[s]);
          assert.ok(used <= FUSED_LOOP_BUDGET, `a dispatch of ${used} iterations`);
          // Greedy: the next step would not have fitted in this dispatch.
          if (k + 1 < chunks.length) {
            assert.ok(used + cost(batches[first + steps]) > FUSED_LOOP_BUDGET);
          }
          next = first + steps;
        }
        assert.equal(next, batches.length);
      },
    ),
    { seed: 10, numRuns: 200 },
  );
});

Deno.test("webgpu: 10 stacked members over 1000 rows predict in one call with one readback", async () => {
  const gpu = await createWebGpuBackend();
  try {
    const spec = mlp({ layers: [2, 25, 3] });
    const members = 10;
    const n = 1000;
    const P = inputDim(spec) * 25 + 25 + 25 * 3 + 3;
    const params = initParams(spec, { seed: 3, replicas: members });
    for (let k = 0; k < params.length; k++) if (k % 5 === 1) params[k] += 0.05; // nonzero biases
    const random = randomState(4);
    const x = new Float32Array(2 * n).map(() => random.normal(0, 3));
    const before = gpu.readbacks;
    const together = await gpu.predict({ spec, params, members, x, n });
    assert.equal(gpu.readbacks - before, 1);
    const mean = new Float32Array(3 * n);
    for (let m = 0; m < members; m++) {
      const one = await gpu.predict({ spec, params: params.slice(m * P, (m + 1) * P), x, n });
      for (let k = 0; k < mean.length; k++) mean[k] += one[k] / members;
    }
    assert.equal(gpu.readbacks - before, 1 + members);
    assertClose(together, mean, { rel: 1e-5, abs: 1e-6, label: "stacked vs separate" });
    // The members differ, so the mean is not any single member's prediction.
    const first = await gpu.predict({ spec, params: params.slice(0, P), x, n });
    assert.ok(first.some((p, k) => Math.abs(p - together[k]) > 1e-3));
  } finally {
    gpu.dispose();
  }
});

Deno.test("webgpu fused: an unknown fused option is rejected at the door", async () => {
  await assert.rejects(
    createWebGpuBackend({ fused: "always" as "auto" }),
    (e) =>
      e instanceof ConfigError && e.issues.length === 1 && e.issues[0].field === "fused" &&
      /Cannot create the WebGPU backend: fused must be one of "auto", "never": got "always"/.test(
        e.message,
      ),
  );
});

Deno.test("fused auto keeps to the per-kernel path on SwiftShader only", () => {
  assert.equal(fusedIsSlowOn({ description: "google swiftshader", software: true }), true);
  assert.equal(
    fusedIsSlowOn({ description: "llvmpipe (LLVM 15.0.6, 256 bits)", software: true }),
    false,
  );
  assert.equal(fusedIsSlowOn({ description: "NVIDIA H100", software: false }), false);
});
