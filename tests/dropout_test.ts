/**
 * Dropout: the counter-based generator (lib/ops/dropout.ts) against its WGSL twin
 * (shaders/dropout.wgsl, run on the WebGPU adapter), the statistics of its masks, the CPU
 * gradient of a dropout model against finite differences with a fixed mask, identity in
 * prediction, and a dropout model trained on the CPU and on WebGPU, and on the CPU and on
 * WebAssembly (both variants, one and two threads, dense and sparse first layers), giving the
 * same snapshots. (wasm/dropout.wat against the reference masks: tests/wasm_kernels_test.ts.)
 *
 * In CI a WebGPU adapter always exists (Mesa's software rasterizer at least): a missing adapter
 * fails these tests, never skips them.
 */
import assert from "node:assert/strict";
import { assertClose } from "./_backend_cases.ts";
import {
  type Backend,
  collect,
  cosineAnnealing,
  createCpuBackend,
  createWebGpuBackend,
  dense,
  dropout,
  forward,
  initParams,
  paramCount,
  randomState,
  relu,
  sequential,
  sgd,
  sigmoid,
  tanh,
  train,
  type TrainingData,
} from "../mod.ts";
import { lossAndGradient } from "../lib/backend/cpu/_workspace.ts";
import { createWasmBackend } from "../lib/backend/wasm/backend.ts";
import {
  dropoutBits,
  dropoutRowKey,
  dropoutScale,
  dropoutSeedKey,
  dropoutStream,
  dropoutThreshold,
  fillDropoutMask,
  mix32,
} from "../lib/ops/dropout.ts";
import { createPipelineCache, STEP_RECORD_BYTES } from "../lib/backend/webgpu/_pipeline_cache.ts";

async function requireDevice(): Promise<GPUDevice> {
  const adapter = await navigator.gpu.requestAdapter();
  assert.ok(adapter, "a WebGPU adapter is required (CI has a software one)");
  return await adapter.requestDevice();
}

Deno.test("dropout: mix32 is lowbias32 on unsigned words, and the keys chain as documented", () => {
  // Reference values of lowbias32 computed with BigInt arithmetic, independently of Math.imul.
  const big = (x: number): number => {
    const M = (1n << 32n) - 1n;
    let h = BigInt(x >>> 0);
    h ^= h >> 16n;
    h = (h * 0x7feb352dn) & M;
    h ^= h >> 15n;
    h = (h * 0x846ca68bn) & M;
    h ^= h >> 16n;
    return Number(h);
  };
  for (const x of [0, 1, 2, 0x9e3779b9, 0xffffffff, 123456789, 2 ** 31]) {
    assert.equal(mix32(x), big(x), `mix32(${x})`);
  }
  const key = dropoutSeedKey(7);
  assert.equal(
    dropoutBits(7, 11, 1, 2, 5, 9),
    mix32(dropoutRowKey(dropoutStream(key, 11, 1, 2), 5) ^ 9),
  );
  // Seeds above 2^32 are not folded onto smaller ones.
  assert.notEqual(dropoutSeedKey(2 ** 32 + 7), dropoutSeedKey(7));
  assert.equal(dropoutThreshold(0), 0);
  assert.equal(dropoutThreshold(0.5), 2 ** 31);
  assert.ok(dropoutThreshold(0.999999999) <= 0xffffffff);
  assert.equal(dropoutScale(0.2), Math.fround(1.25));
});

Deno.test("dropout: masks keep 1 - rate of the units, independently across keys", () => {
  const rows = 200;
  const width = 250;
  for (const rate of [0.1, 0.5, 0.8]) {
    const mask = new Float32Array(rows * width);
    fillDropoutMask(mask, rows, width, dropoutSeedKey(3), 17, 0, 1, rate);
    const kept = mask.filter((m) => m !== 0).length / mask.length;
    const sigma = Math.sqrt(rate * (1 - rate) / mask.length);
    assert.ok(Math.abs(kept - (1 - rate)) < 5 * sigma, `rate ${rate}: kept ${kept}`);
    assert.ok(mask.every((m) => m === 0 || m === dropoutScale(rate)));
    // Rows, columns and neighbouring keys are not correlated: each agrees with another draw about
    // as often as two independent masks would.
    const expected = rate * rate + (1 - rate) * (1 - rate);
    const other = new Float32Array(rows * width);
    for (const [step, replica, layer] of [[18, 0, 1], [17, 1, 1], [17, 0, 2]]) {
      fillDropoutMask(other, rows, width, dropoutSeedKey(3), step, replica, layer, rate);
      let same = 0;
      for (let k = 0; k < mask.length; k++) if ((mask[k] === 0) === (other[k] === 0)) same++;
      const agree = same / mask.length;
      assert.ok(Math.abs(agree - expected) < 0.02, `rate ${rate}: agreement ${agree}`);
    }
    let sameAsNextRow = 0;
    for (let k = 0; k + width < mask.length; k++) {
      if ((mask[k] === 0) === (mask[k + width] === 0)) sameAsNextRow++;
    }
    assert.ok(Math.abs(sameAsNextRow / (mask.length - width) - expected) < 0.02);
  }
  const none = new Float32Array(100);
  fillDropoutMask(none, 10, 10, dropoutSeedKey(0), 0, 0, 0, 0);
  assert.ok(none.every((m) => m === 1));
});

/** Runs shaders/dropout.wgsl over [batch, replicas, width] and returns its output. */
async function runDropoutKernel(
  device: GPUDevice,
  options: {
    a: Float32Array;
    out: Float32Array;
    batch: number;
    replicas: number;
    width: number;
    layer: number;
    seed: number;
    rate: number;
    firstStep: number;
    step: number;
    mode: 0 | 1;
  },
): Promise<Float32Array> {
  const cache = createPipelineCache(device);
  const pipeline = await cache.pipeline("dropout", {
    WIDTH: options.width,
    REPLICAS: options.replicas,
    LAYER: options.layer,
    SEED_KEY: dropoutSeedKey(options.seed),
    THRESHOLD: dropoutThreshold(options.rate),
    SCALE: dropoutScale(options.rate),
    MODE: options.mode,
  });
  const { STORAGE, COPY_DST, COPY_SRC, UNIFORM, MAP_READ } = GPUBufferUsage;
  const make = (data: ArrayBufferView<ArrayBuffer>, usage: number) => {
    const buffer = device.createBuffer({ size: Math.max(16, data.byteLength), usage });
    device.queue.writeBuffer(buffer, 0, data);
    return buffer;
  };
  const base = make(new Uint32Array([options.firstStep]), STORAGE | COPY_DST);
  const a = make(options.a as Float32Array<ArrayBuffer>, STORAGE | COPY_DST);
  const out = make(options.out as Float32Array<ArrayBuffer>, STORAGE | COPY_DST | COPY_SRC);
  const record = make(new Uint32Array([options.step, 0, options.batch, 0]), UNIFORM | COPY_DST);
  const staging = device.createBuffer({ size: options.out.byteLength, usage: MAP_READ | COPY_DST });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(
    0,
    device.createBindGroup({
      layout: cache.layout("dropout"),
      entries: [base, a, out].map((buffer, binding) => ({ binding, resource: { buffer } })),
    }),
  );
  pass.setBindGroup(
    1,
    device.createBindGroup({
      layout: cache.stepLayout,
      entries: [{ binding: 0, resource: { buffer: record, size: STEP_RECORD_BYTES } }],
    }),
    [0],
  );
  const groups = Math.ceil(options.batch * options.replicas * options.width / 64);
  pass.dispatchWorkgroups(groups, 1, 1);
  pass.end();
  encoder.copyBufferToBuffer(out, 0, staging, 0, options.out.byteLength);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const result = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  for (const b of [base, a, out, record, staging]) b.destroy();
  return result;
}

Deno.test("dropout: the WGSL kernel draws the masks of lib/ops/dropout.ts, forward and backward", async () => {
  const device = await requireDevice();
  try {
    const batch = 7;
    const replicas = 3;
    const width = 37;
    const random = randomState(4);
    const a = new Float32Array(batch * replicas * width).map(() => random.normal(0, 1));
    // Several rates and keys, so that the words themselves (not one threshold) must agree.
    for (
      const [rate, seed, firstStep, step, layer] of [
        [0.5, 0, 0, 0, 0],
        [0.1, 12345, 1000, 3, 1],
        [0.9, 2 ** 33 + 5, 77, 0, 2],
        [0.37, 9, 2 ** 20, 11, 3],
      ]
    ) {
      const expected = new Float32Array(a.length);
      const mask = new Float32Array(batch * width);
      const seedKey = dropoutSeedKey(seed);
      for (let r = 0; r < replicas; r++) {
        fillDropoutMask(mask, batch, width, seedKey, firstStep + step, r, layer, rate);
        for (let i = 0; i < batch; i++) {
          for (let u = 0; u < width; u++) {
            const e = (i * replicas + r) * width + u;
            expected[e] = Math.fround(a[e] * mask[i * width + u]);
            // The unit's word, spelled out, decides as the mask does.
            const kept = dropoutBits(seed, firstStep + step, r, layer, i, u) >=
              dropoutThreshold(rate);
            assert.equal(kept, mask[i * width + u] !== 0);
          }
        }
      }
      const common = { batch, replicas, width, layer, seed, rate, firstStep, step };
      const fwd = await runDropoutKernel(device, {
        ...common,
        a,
        out: new Float32Array(a.length).fill(NaN),
        mode: 0,
      });
      assert.deepEqual(fwd, expected, `forward, rate ${rate}`);
      const back = await runDropoutKernel(device, {
        ...common,
        a: new Float32Array(a.length),
        out: a.slice(),
        mode: 1,
      });
      assert.deepEqual(back, expected, `backward, rate ${rate}`);
    }
  } finally {
    device.destroy();
  }
});

Deno.test("dropout: the CPU gradient of a dropout model matches finite differences with its mask", () => {
  const spec = sequential({
    inputs: 3,
    layers: [dense(6), tanh(), dropout(0.4), dense(5), sigmoid(), dropout(0.25), dense(3)],
  });
  const P = paramCount(spec);
  const random = randomState(2);
  const params = Float64Array.from(initParams(spec, { seed: 3 }), (w) => w + 0.05);
  for (let k = 0; k < P; k++) params[k] += random.normal(0, 0.1);
  const rows = 5;
  const x = new Float64Array(rows * 3).map(() => random.normal(0, 1));
  const y = new Int32Array([0, 2, 1, 1, 0]);
  const draw = { seed: 11, step: 4 };
  const grad = new Float64Array(P);
  const loss = (p: Float64Array) =>
    lossAndGradient({ spec, params: p, x, y, rows, grad: new Float64Array(P), ...draw });
  lossAndGradient({ spec, params, x, y, rows, grad, ...draw });
  const h = 1e-6;
  const numeric = new Float64Array(P);
  for (let k = 0; k < P; k++) {
    const plus = params.slice();
    const minus = params.slice();
    plus[k] += h;
    minus[k] -= h;
    numeric[k] = (loss(plus) - loss(minus)) / (2 * h);
  }
  assertClose(grad, numeric, { rel: 1e-5, abs: 1e-8, label: "gradient" });
  // The masks matter: another step draws others, and so another loss.
  const other = lossAndGradient({ spec, params, x, y, rows, grad: new Float64Array(P), seed: 11 });
  assert.notEqual(other, loss(params));
  // And the masks drop something: the same parameters without dropout give another loss.
  const plain = sequential({
    inputs: 3,
    layers: [dense(6), tanh(), dense(5), sigmoid(), dense(3)],
  });
  const plainLoss = lossAndGradient({ spec: plain, params, x, y, rows, grad: new Float64Array(P) });
  assert.notEqual(plainLoss, loss(params));
});

/** Blobs-like data: `classes` clusters in `inDim` dimensions. */
function blobs(n: number, inDim: number, classes: number, seed: number): TrainingData {
  const random = randomState(seed);
  const x = new Float32Array(n * inDim);
  const y = new Int32Array(n);
  for (let b = 0; b < n; b++) {
    y[b] = b % classes;
    for (let i = 0; i < inDim; i++) x[b * inDim + i] = random.normal(((y[b] + i) % 3) * 2 - 2, 1);
  }
  return { x, y, n };
}

Deno.test("dropout: prediction is the identity on every backend", async () => {
  const layers = [dense(8), relu(), dense(6), tanh(), dense(3)];
  const withDropout = sequential({
    inputs: 2,
    layers: [dense(8), relu(), dropout(0.5), dense(6), tanh(), dropout(0.3), dense(3)],
  });
  const without = sequential({ inputs: 2, layers });
  const params = initParams(withDropout, { seed: 5, replicas: 2 });
  const data = blobs(40, 2, 3, 1);
  const expected = forward(without, params, data.x, data.n);
  assert.deepEqual(forward(withDropout, params, data.x, data.n), expected);
  const device = await requireDevice();
  const backends = [
    createCpuBackend(),
    await createWebGpuBackend({ device }),
    await createWasmBackend(),
  ];
  try {
    for (const backend of backends) {
      const got = await backend.predict({
        spec: withDropout,
        params,
        members: 2,
        x: data.x,
        n: data.n,
        combine: "none",
      });
      const plain = await backend.predict({
        spec: without,
        params,
        members: 2,
        x: data.x,
        n: data.n,
        combine: "none",
      });
      assert.deepEqual(got, plain, `${backend.kind}: dropout changes no prediction`);
      assertClose(got.subarray(0, expected.length), expected, {
        rel: 1e-5,
        abs: 1e-6,
        label: `${backend.kind}: member 0`,
      });
    }
  } finally {
    for (const backend of backends) backend.dispose();
    device.destroy();
  }
});

Deno.test("dropout: a rate of 0 trains exactly as no dropout on the CPU", async () => {
  const data = blobs(60, 2, 3, 2);
  const run = async (layers: Parameters<typeof sequential>[0]["layers"]) => {
    const backend = createCpuBackend();
    const result = await collect(train({
      backend,
      model: sequential({ inputs: 2, layers }),
      optimizer: sgd({ momentum: 0.9 }),
      schedule: cosineAnnealing({ lrMax: 0.05, totalSteps: 3 * 4, cycles: 1 }),
      epochs: 3,
      batchSize: 16,
      data,
      seed: 1,
    }));
    backend.dispose();
    return result.done.params;
  };
  assert.deepEqual(
    await run([dense(7), relu(), dropout(0), dense(3)]),
    await run([dense(7), relu(), dense(3)]),
  );
});

Deno.test("dropout: a dropout model trained on the CPU and on WebGPU gives the same snapshots", async () => {
  const spec = sequential({
    inputs: 2,
    layers: [dense(12), relu(), dropout(0.3), dense(9), tanh(), dropout(0.5), dense(3)],
  });
  const data = blobs(90, 2, 3, 3);
  const device = await requireDevice();
  const run = async (backend: Backend) => {
    try {
      return await collect(train({
        backend,
        model: spec,
        optimizer: sgd({ momentum: 0.9 }),
        schedule: cosineAnnealing({ lrMax: 0.1, totalSteps: 6 * 6, cycles: 2 }),
        epochs: 6,
        batchSize: 16,
        data,
        seed: 9,
        replicas: 2,
        reportEvery: 1, // several plans, so firstStep must carry the global step
      }));
    } finally {
      backend.dispose();
    }
  };
  try {
    const cpu = await run(createCpuBackend());
    const gpu = await run(await createWebGpuBackend({ device }));
    assert.equal(gpu.snapshots.length, cpu.snapshots.length);
    assert.equal(cpu.snapshots.length, 4); // 2 cycles x 2 replicas
    for (let s = 0; s < cpu.snapshots.length; s++) {
      assertClose(gpu.snapshots[s].params, cpu.snapshots[s].params, {
        rel: 1e-4,
        abs: 1e-5,
        label: `snapshot ${s}`,
      });
    }
    assertClose(
      gpu.history.map((e) => e.loss),
      cpu.history.map((e) => e.loss),
      { rel: 1e-4, abs: 1e-5, label: "losses" },
    );
    // The masks did something: the same run without dropout ends elsewhere.
    const plain = await collect(train({
      backend: createCpuBackend(),
      model: sequential({ inputs: 2, layers: [dense(12), relu(), dense(9), tanh(), dense(3)] }),
      optimizer: sgd({ momentum: 0.9 }),
      schedule: cosineAnnealing({ lrMax: 0.1, totalSteps: 6 * 6, cycles: 2 }),
      epochs: 6,
      batchSize: 16,
      data,
      seed: 9,
      replicas: 2,
    }));
    const diff = plain.snapshots[0].params.reduce(
      (m, w, k) => Math.max(m, Math.abs(w - cpu.snapshots[0].params[k])),
      0,
    );
    assert.ok(diff > 1e-3, `dropout changed the training: ${diff}`);
  } finally {
    device.destroy();
  }
});

Deno.test("dropout: a bad seed or first step is rejected at the door", async () => {
  const spec = sequential({ inputs: 2, layers: [dense(4), relu(), dropout(0.5), dense(3)] });
  const data = blobs(10, 2, 3, 1);
  const backend = createCpuBackend();
  try {
    const options = { spec, optimizer: sgd(), params: initParams(spec, { seed: 1 }), data };
    await assert.rejects(
      backend.createSession({ ...options, seed: -1 }),
      /Cannot create a training session: seed must be a non-negative integer: got -1/,
    );
    const session = await backend.createSession({ ...options, seed: 2 ** 40 });
    const plan = {
      indices: new Int32Array(4),
      offsets: new Int32Array([0, 4]),
      lrs: new Float32Array(1),
    };
    assert.throws(
      () => session.run({ ...plan, firstStep: 1.5 }),
      /Cannot run steps: firstStep must be a non-negative integer: got 1\.5/,
    );
    session.run({ ...plan, firstStep: 2 ** 33 });
    assert.equal((await session.readStats()).loss.length, 1);
  } finally {
    backend.dispose();
  }
});

/** Bit-for-bit equality of two float arrays, element by element (deepEqual prints them all). */
function assertSameBits(a: Float32Array, b: Float32Array, label: string): void {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  const at = x.findIndex((v, k) => v !== y[k]);
  assert.ok(x.length === y.length && at < 0, `${label}: element ${at} differs`);
}

Deno.test("dropout: a dropout model trained on the CPU and on WebAssembly gives the same snapshots, with 1 and 2 threads", async () => {
  // Batches of 40 rows and hidden layers of 48 and 40: wide enough that two threads split the
  // dense products by rows.
  const spec = sequential({
    inputs: 6,
    layers: [dense(48), relu(), dropout(0.3), dense(40), tanh(), dropout(0.3), dense(3)],
  });
  const data = blobs(160, 6, 3, 3);
  const config = (model: typeof spec) => ({
    model,
    optimizer: sgd({ momentum: 0.9 }),
    schedule: cosineAnnealing({ lrMax: 0.1, totalSteps: 6 * 4, cycles: 2 }),
    epochs: 6,
    batchSize: 40,
    data,
    seed: 9,
    replicas: 2,
    reportEvery: 1, // several plans, so firstStep must carry the global step
  });
  const run = async (backend: Backend, model = spec) => {
    try {
      return await collect(train({ backend, ...config(model) }));
    } finally {
      backend.dispose();
    }
  };
  const cpu = await run(createCpuBackend());
  assert.equal(cpu.snapshots.length, 4); // 2 cycles x 2 replicas
  const runs = {
    relaxed: await run(await createWasmBackend({ simd: "relaxed" })),
    simd: await run(await createWasmBackend({ simd: "simd" })),
    "relaxed, 2 threads": await run(await createWasmBackend({ simd: "relaxed", threads: 2 })),
    "simd, 2 threads": await run(await createWasmBackend({ simd: "simd", threads: 2 })),
  };
  for (const [name, wasm] of Object.entries(runs)) {
    assert.equal(wasm.snapshots.length, cpu.snapshots.length, name);
    for (let s = 0; s < cpu.snapshots.length; s++) {
      assertClose(wasm.snapshots[s].params, cpu.snapshots[s].params, {
        rel: 1e-4,
        abs: 1e-5,
        label: `${name}: snapshot ${s}`,
      });
    }
    assertClose(wasm.history.map((e) => e.loss), cpu.history.map((e) => e.loss), {
      rel: 1e-4,
      abs: 1e-5,
      label: `${name}: losses`,
    });
  }
  // Threads change no bit, in either variant.
  for (const variant of ["relaxed", "simd"] as const) {
    const one = runs[variant];
    const two = runs[`${variant}, 2 threads`];
    for (let s = 0; s < one.snapshots.length; s++) {
      assertSameBits(two.snapshots[s].params, one.snapshots[s].params, `${variant} snapshot ${s}`);
    }
  }
  // The masks did something: the same run without dropout ends elsewhere.
  const plain = await run(
    await createWasmBackend(),
    sequential({ inputs: 6, layers: [dense(48), relu(), dense(40), tanh(), dense(3)] }),
  );
  const diff = plain.snapshots[0].params.reduce(
    (m, w, k) => Math.max(m, Math.abs(w - runs.relaxed.snapshots[0].params[k])),
    0,
  );
  assert.ok(diff > 1e-3, `dropout changed the training: ${diff}`);
});

Deno.test("dropout: after a sparse first layer, WebAssembly trains as the CPU, with 1 and 2 threads", async () => {
  // MNIST-like rows: about 80% zeros, so both backends take their sparse first-layer path, and
  // the dropout follows that layer.
  const spec = sequential({
    inputs: 50,
    layers: [dense(37), relu(), dropout(0.3), dense(10)],
  });
  const n = 80;
  const x = Float32Array.from(
    { length: n * 50 },
    (_, k) => (k * 7919) % 5 === 0 ? (k % 13) / 13 : 0,
  );
  const y = Int32Array.from({ length: n }, (_, b) => b % 10);
  const steps = 12;
  const plan = {
    indices: Int32Array.from({ length: steps * 40 }, (_, k) => (k * 11) % n),
    offsets: Int32Array.from({ length: steps + 1 }, (_, s) => 40 * s),
    lrs: new Float32Array(steps).fill(0.1),
    firstStep: 1000,
  };
  const options = {
    spec,
    optimizer: sgd({ momentum: 0.9 }),
    params: initParams(spec, { seed: 2, replicas: 2 }),
    replicas: 2,
    data: { x, y, n },
    seed: 5,
  };
  const trained = async (backend: Backend, o = options) => {
    try {
      const session = await backend.createSession(o);
      session.run(plan);
      return { loss: (await session.readStats()).loss, params: await session.readParams() };
    } finally {
      backend.dispose();
    }
  };
  const cpu = await trained(createCpuBackend());
  const runs = {
    relaxed: await trained(await createWasmBackend({ simd: "relaxed" })),
    simd: await trained(await createWasmBackend({ simd: "simd" })),
    "relaxed, 2 threads": await trained(await createWasmBackend({ simd: "relaxed", threads: 2 })),
  };
  for (const [name, wasm] of Object.entries(runs)) {
    assertClose(wasm.loss, cpu.loss, { rel: 1e-4, abs: 1e-6, label: `${name}: losses` });
    assertClose(wasm.params, cpu.params, { rel: 1e-4, abs: 1e-6, label: `${name}: params` });
  }
  assertSameBits(runs["relaxed, 2 threads"].params, runs.relaxed.params, "2 threads");
  assert.ok(cpu.loss[2 * steps - 2] < cpu.loss[0]);
  // The masks did something: another seed draws others, and trains elsewhere.
  const other = await trained(await createWasmBackend(), { ...options, seed: 6 });
  assert.notDeepEqual(other.params, runs.relaxed.params);
});
