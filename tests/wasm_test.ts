/**
 * The WebAssembly backend passes every shared backend case (tests/_backend_cases.ts) in both of its
 * variants, relaxed SIMD and plain SIMD, and trains as the CPU does where the cases do not reach:
 * sparse inputs, block-wise uploads, reused memory, threads, and soft targets (distill).
 */
import assert from "node:assert/strict";
import { assertClose, registerBackendCases } from "./_backend_cases.ts";
import {
  adam,
  type Backend,
  createCpuBackend,
  dense,
  dropout,
  initParams,
  mlp,
  randomState,
  relu,
  sequential,
  sgd,
  shift,
  tanh,
  type TrainingData,
} from "../mod.ts";
import { WASM_UPDATES } from "../lib/backend/wasm/_update.ts";
import { createWasmBackend, sessionSetup } from "../lib/backend/wasm/backend.ts";
import {
  compileKernels,
  instantiateKernels,
  WasmHeap,
  wasmSupport,
} from "../lib/backend/wasm/_kernels.ts";
import { createWasmSession, type SessionResources } from "../lib/backend/wasm/_session.ts";
import { wasmLayout } from "../lib/backend/wasm/_layout.ts";
import { DEFAULT_WORKER_URL, ThreadPool } from "../lib/backend/wasm/_threads.ts";
import { uploadInputs } from "../lib/backend/wasm/_upload.ts";
import { makePredictArena, PREDICT_BLOCK, predictWasm } from "../lib/backend/wasm/_predict.ts";

registerBackendCases("wasm relaxed", () => createWasmBackend({ simd: "relaxed" }));
registerBackendCases("wasm simd", () => createWasmBackend({ simd: "simd" }));
registerBackendCases("wasm 2 threads", () => createWasmBackend({ threads: 2 }));

Deno.test("wasm: this runtime validates both variants, and auto takes relaxed SIMD", async () => {
  assert.deepEqual(wasmSupport(), { simd: true, relaxed: true });
  const backend = await createWasmBackend();
  assert.equal(backend.kind, "wasm");
  assert.equal(backend.readCost, "free");
  assert.match(backend.adapter ?? "", /relaxed SIMD, 1 thread/);
  backend.dispose();
  await assert.rejects(() => createWasmBackend({ simd: "avx" as "simd" }), /simd must be one of/);
});

Deno.test("wasm: a kind without a WebAssembly update trains with its rule's reference update", async () => {
  const spec = mlp({ layers: [4, 9, 3], activation: "tanh" });
  const n = 24;
  const x = Float32Array.from({ length: n * 4 }, (_, k) => Math.sin(k * 1.3));
  const y = Int32Array.from({ length: n }, (_, b) => b % 3);
  const steps = 12;
  const plan = {
    indices: Int32Array.from({ length: steps * 8 }, (_, k) => (k * 5) % n),
    offsets: Int32Array.from({ length: steps + 1 }, (_, s) => 8 * s),
    lrs: new Float32Array(steps).fill(0.01),
  };
  const options = {
    spec,
    optimizer: adam(),
    params: initParams(spec, { seed: 4, replicas: 2 }),
    replicas: 2,
    data: { x, y, n },
  };
  const trained = async (backend: Backend) => {
    const session = await backend.createSession(options);
    session.run(plan);
    const out = { params: await session.readParams(), state: await session.readOptimizerState() };
    backend.dispose();
    return out;
  };
  const expected = await trained(createCpuBackend());
  const table = WASM_UPDATES as Record<string, unknown>;
  const kept = table.adam;
  delete table.adam;
  try {
    const got = await trained(await createWasmBackend());
    assertClose(got.params, expected.params, { rel: 1e-5, abs: 1e-6, label: "params" });
    assertClose(got.state, expected.state, { rel: 1e-5, abs: 1e-6, label: "state" });
  } finally {
    table.adam = kept;
  }
  assert.equal(typeof WASM_UPDATES.adam, "function");
});

Deno.test("wasm: mostly-zero inputs take the sparse first layer and train as on the CPU", async () => {
  // MNIST-like rows: about 80% zeros, so both backends take their sparse first-layer path.
  const spec = mlp({ layers: [50, 37, 10] });
  const n = 40;
  const x = Float32Array.from(
    { length: n * 50 },
    (_, k) => (k * 7919) % 5 === 0 ? (k % 13) / 13 : 0,
  );
  const y = Int32Array.from({ length: n }, (_, b) => b % 10);
  const steps = 20;
  const plan = {
    indices: Int32Array.from({ length: steps * 9 }, (_, k) => (k * 11) % n),
    offsets: Int32Array.from({ length: steps + 1 }, (_, s) => 9 * s),
    lrs: new Float32Array(steps).fill(0.1),
  };
  const options = {
    spec,
    optimizer: sgd({ momentum: 0.9 }),
    params: initParams(spec, { seed: 2 }),
    data: { x, y, n },
  };
  const results = [];
  for (const backend of [createCpuBackend(), await createWasmBackend()]) {
    const session = await backend.createSession(options);
    session.run(plan);
    const stats = await session.readStats();
    const params = await session.readParams();
    const probs = await backend.predict({ spec, params, x, n });
    results.push({ stats, params, probs });
    backend.dispose();
  }
  const [cpu, wasm] = results;
  assertClose(wasm.stats.loss, cpu.stats.loss, { rel: 1e-4, abs: 1e-6, label: "losses" });
  assertClose(wasm.params, cpu.params, { rel: 1e-4, abs: 1e-6, label: "params" });
  assertClose(wasm.probs, cpu.probs, { rel: 1e-4, abs: 1e-6, label: "probabilities" });
  assert.ok(cpu.stats.loss[steps - 1] < cpu.stats.loss[0]);
});

Deno.test("wasm: predictions over several blocks of rows equal the CPU's, dense and sparse, mean and per member", async () => {
  const spec = mlp({ layers: [20, 8, 3] });
  const n = 2 * PREDICT_BLOCK + 3;
  const params = initParams(spec, { seed: 9, replicas: 3 });
  const wasm = await createWasmBackend();
  const cpu = createCpuBackend();
  for (const zeros of [0, 8]) {
    const x = Float32Array.from(
      { length: n * 20 },
      (_, k) => (k * 7) % 10 < zeros ? 0 : ((k * 13) % 17) / 17 - 0.4,
    );
    for (const combine of ["mean", "none"] as const) {
      const options = { spec, params, members: 3, x, n, combine };
      assertClose(await wasm.predict(options), await cpu.predict(options), {
        rel: 1e-5,
        abs: 1e-6,
        label: `${zeros}0% zeros, ${combine}`,
      });
    }
  }
  wasm.dispose();
  cpu.dispose();
});

Deno.test("wasm: inputs uploaded block by block train as on the CPU, sparse or dense", async () => {
  // 300 rows: three upload blocks of 128. Zeros spread evenly (sparse), zeros in the first rows
  // only (the count passes the sparse limit in the last block: uploaded dense), and just enough.
  const width = 20;
  const n = 300;
  const layouts: Record<string, (b: number, i: number) => boolean> = {
    "70% zeros, spread": (b, i) => (b * 7 + i * 3) % 10 < 7,
    "zeros in the first half of the rows": (b) => b < 150,
    "61% zeros, the dense rows last": (b, i) => b < 180 || (i % 40 === 0 && b < 183),
  };
  const spec = mlp({ layers: [width, 9, 4] });
  for (const [name, zero] of Object.entries(layouts)) {
    const x = Float32Array.from(
      { length: n * width },
      (_, k) => zero(Math.floor(k / width), k % width) ? 0 : 0.1 + (k % 17) / 17,
    );
    const y = Int32Array.from({ length: n }, (_, b) => b % 4);
    const steps = 6;
    const plan = {
      indices: Int32Array.from({ length: steps * 50 }, (_, k) => (k * 37) % n),
      offsets: Int32Array.from({ length: steps + 1 }, (_, s) => 50 * s),
      lrs: new Float32Array(steps).fill(0.05),
    };
    const options = {
      spec,
      optimizer: sgd({ momentum: 0.9 }),
      params: initParams(spec, { seed: 4 }),
      data: { x, y, n },
    };
    const results = [];
    for (const backend of [createCpuBackend(), await createWasmBackend()]) {
      const session = await backend.createSession(options);
      session.run(plan);
      results.push({ stats: await session.readStats(), params: await session.readParams() });
      backend.dispose();
    }
    const [cpu, wasm] = results;
    assertClose(wasm.stats.loss, cpu.stats.loss, {
      rel: 1e-4,
      abs: 1e-6,
      label: `${name}: losses`,
    });
    assertClose(wasm.params, cpu.params, { rel: 1e-4, abs: 1e-6, label: `${name}: params` });
  }
});

Deno.test("wasm: a Worker compressing every other upload block gives the one-thread upload's bits", async () => {
  const width = 64; // 128-row blocks of 8192 values: the least a Worker is handed
  const compiled = await compileKernels("relaxed", true);
  const upload = async (x: Float32Array, n: number, helped: boolean) => {
    const heap = new WasmHeap(1 << 20, true);
    const k = await instantiateKernels(compiled, heap.memory);
    const pool = helped ? await ThreadPool.start(1, compiled, heap.memory) : null;
    try {
      const got = uploadInputs(heap, k.sparse, { x, y: new Int32Array(n), n }, width, 0.6, pool);
      if (got.csr === null) return { dense: Array.from(heap.f32(got.x, n * width)) };
      const starts = Array.from(heap.i32(got.csr.rowStart, n + 1));
      const nnz = starts[n];
      return {
        starts,
        cols: Array.from(heap.i32(got.csr.cols, nnz)),
        values: Array.from(heap.i32(got.csr.values, nnz)), // the bits
      };
    } finally {
      pool?.dispose();
    }
  };
  const layouts: Record<string, (b: number, i: number) => boolean> = {
    "70% zeros, spread": (b, i) => (b * 7 + i * 3) % 10 < 7,
    "zeros in the first rows only": (b) => b < 190,
    "dense rows in the Worker's block": (b, i) => (b >= 128 && b < 256) ? i % 9 === 0 : true,
    // With 512 rows, this thread's second block passes the limit while the Worker's is pending.
    "dense rows in this thread's blocks": (b) => !(b < 128 || (b >= 256 && b < 384)),
  };
  // One block (no Worker), two, a second of one row, three (the last on this thread), and four.
  for (const n of [100, 256, 129, 300, 512]) {
    for (const [name, zero] of Object.entries(layouts)) {
      const x = Float32Array.from(
        { length: n * width },
        (_, k) => zero(Math.floor(k / width), k % width) ? 0 : 0.1 + (k % 17) / 17,
      );
      const one = await upload(x, n, false);
      const two = await upload(x, n, true);
      assert.deepEqual(two, one, `${n} rows, ${name}`);
      assert.ok("starts" in one || "dense" in one);
    }
  }
  // Both outcomes occur: compressed, and dense once the Worker's block passes the limit.
  const zeros = (n: number, zero: (b: number, i: number) => boolean) =>
    Float32Array.from({ length: n * width }, (_, k) => zero(k / width | 0, k % width) ? 0 : 1);
  assert.ok("starts" in await upload(zeros(300, layouts["70% zeros, spread"]), 300, true));
  assert.ok(
    "dense" in await upload(zeros(256, (b) => b < 128), 256, true),
  );
});

Deno.test("wasm: a session on the memory of a disposed one trains to the bits of a fresh backend", async () => {
  // The backend hands a disposed session's memory, instances and Workers to the next session,
  // cleared: nothing of the first run (its larger data, its momentum) may leak into the second.
  const big = mlp({ layers: [30, 40, 5] });
  const small = mlp({ layers: [12, 7, 3] });
  const rows = (n: number, width: number, zeros: number) =>
    Float32Array.from({ length: n * width }, (_, k) => (k * 7) % 10 < zeros ? 0 : (k % 9) / 9);
  const first = {
    spec: big,
    optimizer: sgd({ momentum: 0.9 }),
    params: initParams(big, { seed: 3 }),
    data: { x: rows(90, 30, 8), y: Int32Array.from({ length: 90 }, (_, b) => b % 5), n: 90 },
  };
  const second = {
    spec: small,
    optimizer: sgd({ momentum: 0.9 }),
    params: initParams(small, { seed: 5, replicas: 2 }),
    replicas: 2,
    data: { x: rows(40, 12, 3), y: Int32Array.from({ length: 40 }, (_, b) => b % 3), n: 40 },
  };
  const plan = (n: number) => ({
    indices: Int32Array.from({ length: 5 * 8 }, (_, k) => (k * 13) % n),
    offsets: Int32Array.from({ length: 6 }, (_, s) => 8 * s),
    lrs: new Float32Array(5).fill(0.1),
  });
  const runOn = async (backend: Backend, options: typeof second | typeof first) => {
    const session = await backend.createSession(options);
    session.run(plan(options.data.n));
    const out = { params: await session.readParams(), state: await session.readOptimizerState() };
    session.dispose();
    return out;
  };
  for (const threads of [1, 2]) {
    const reused = await createWasmBackend({ threads });
    await runOn(reused, first);
    const again = await runOn(reused, second);
    const thrice = await runOn(reused, second);
    reused.dispose();
    const fresh = await createWasmBackend({ threads });
    const alone = await runOn(fresh, second);
    fresh.dispose();
    assert.deepEqual(again.params, alone.params, `${threads} thread(s): params`);
    assert.deepEqual(again.state, alone.state, `${threads} thread(s): optimizer state`);
    assert.deepEqual(thrice.params, alone.params, `${threads} thread(s): params, third session`);
  }
});

/** The first index where `a` and `b` differ (as `Object.is`), or -1 (fast to fail on large arrays). */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let k = 0; k < a.length; k++) if (!Object.is(a[k], b[k])) return k;
  return -1;
}

Deno.test("wasm: a session reads only what it writes: on a memory filled with NaN it trains to a fresh one's bits", async () => {
  // A disposed session's memory is reused as it is (not zeroed): poison it with 0xff bytes (NaN
  // floats, -1 indices) and train on it. Sizes that are not multiples of four (the kernels' tails
  // read four floats wide), a batch that grows between two runs, resets, two replicas, shift
  // augmentation on sparse inputs, dropout, the three heads (labels, soft targets, regression), an
  // update large enough that two threads split it, and a batch a Worker gathers ahead.
  const n = 70;
  const image = (k: number) => (k * 7) % 10 < 8 ? 0 : (k % 11) / 11 - 0.3; // 80% zeros
  const x = (zeros: boolean) =>
    Float32Array.from({ length: n * 25 }, (_, k) => zeros ? image(k) : Math.sin(k) * 0.7);
  const rows3 = Float32Array.from({ length: n * 3 }, (_, k) => ((k * 5) % 7) / 7);
  const soft = Float32Array.from(
    { length: n * 3 },
    (_, k) => [0.7, 0.2, 0.1][(k + (k / 3 | 0)) % 3],
  );
  const configs = [
    {
      name: "sparse labels, 2 replicas, shift",
      spec: sequential({ inputs: 25, layers: [dense(1401), relu(), dropout(0.3), dense(3)] }),
      optimizer: sgd({ momentum: 0.9 }),
      data: { x: x(true), y: Int32Array.from({ length: n }, (_, b) => (b * 5) % 3), n },
      replicas: 2,
      augment: shift({ width: 5, height: 5, maxShift: 1 }),
    },
    {
      // Wide enough that two threads gather ahead (33 x 400 inputs a batch) and split the sparse
      // products and the update (36363 parameters), with two replicas.
      name: "sparse labels, 2 replicas, gathered ahead",
      spec: sequential({ inputs: 400, layers: [dense(90), relu(), dense(3)] }),
      optimizer: sgd({ momentum: 0.9 }),
      data: {
        x: Float32Array.from({ length: n * 400 }, (_, k) => image(k)),
        y: Int32Array.from({ length: n }, (_, b) => (b * 7) % 3),
        n,
      },
      replicas: 2,
    },
    {
      name: "soft targets, Adam",
      spec: sequential({ inputs: 25, layers: [dense(37), tanh(), dense(3)] }),
      optimizer: adam(),
      data: { x: x(false), y: soft, n, targets: "soft" as const, temperature: 2 },
      replicas: 1,
    },
    {
      name: "regression, PyTorch Nesterov",
      spec: sequential({ inputs: 25, layers: [dense(19), relu(), dense(3)], head: "linear" }),
      optimizer: sgd({ momentum: 0.9, nesterov: true, convention: "pytorch" }),
      data: { x: x(true), y: rows3, n },
      replicas: 1,
    },
  ];
  const plan = (rows: number, steps: number, firstStep: number) => ({
    indices: Int32Array.from({ length: rows * steps }, (_, k) => (k * 13 + firstStep) % n),
    offsets: Int32Array.from({ length: steps + 1 }, (_, s) => rows * s),
    lrs: new Float32Array(steps).fill(0.05),
    resets: Uint8Array.from({ length: steps }, (_, s) => s === 1 ? 1 : 0),
    firstStep,
  });
  for (const threads of [1, 2]) {
    const compiled = await compileKernels("relaxed", threads > 1);
    const setup = { threads, workerUrl: DEFAULT_WORKER_URL };
    for (const config of configs) {
      const options = {
        ...config,
        params: initParams(config.spec, { seed: 4, replicas: config.replicas }),
        seed: 9,
      };
      const train = async (spare?: SessionResources) => {
        let kept: SessionResources | undefined;
        const keep = (_: unknown, r: SessionResources) => (kept = r);
        const session = await createWasmSession(
          compiled,
          sessionSetup(options),
          keep,
          setup,
          spare,
        );
        session.run(plan(17, 3, 0));
        session.run(plan(33, 2, 3)); // a larger batch: new workspaces in the same memory
        const out = {
          stats: await session.readStats(),
          params: await session.readParams(),
          state: await session.readOptimizerState(),
        };
        session.dispose();
        return { out, kept: kept! };
      };
      const fresh = await train();
      new Uint8Array(fresh.kept.heap.memory.buffer).fill(0xff);
      const poisoned = await train(fresh.kept);
      poisoned.kept.pool?.dispose();
      const label = `${threads} thread(s), ${config.name}`;
      for (const key of ["params", "state"] as const) {
        assert.equal(firstDifference(poisoned.out[key], fresh.out[key]), -1, `${label}: ${key}`);
      }
      for (const key of ["loss", "correct"] as const) {
        const [a, b] = [poisoned.out.stats[key], fresh.out.stats[key]];
        assert.equal(firstDifference(a, b), -1, `${label}: ${key}`);
      }
      assert.ok(fresh.out.params.every(Number.isFinite), `${label}: finite`);
    }
  }
  // Prediction reuses its arena's memory too: poison it between two calls.
  const spec = mlp({ layers: [25, 401, 3] });
  const params = initParams(spec, { seed: 2, replicas: 3 });
  const arena = await makePredictArena(await compileKernels("relaxed"));
  const layout = wasmLayout(spec);
  const input = x(true);
  for (const combine of ["mean", "none"] as const) {
    for (const sparse of ["none", "rows"] as const) {
      const options = { spec, params, members: 3, x: input, n, combine };
      const first = predictWasm(arena, layout, options, input, sparse);
      new Uint8Array(arena.heap.memory.buffer).fill(0xff);
      const again = predictWasm(arena, layout, options, input, sparse);
      assert.equal(firstDifference(again, first), -1, `prediction, ${combine}, ${sparse}`);
      assert.ok(first.every(Number.isFinite), `prediction, ${combine}, ${sparse}: finite`);
    }
  }
});

Deno.test("wasm: two threads over a shared memory give exactly the bits of one", async () => {
  // Wide enough that every split kernel is split (at least 65536 multiply-adds and 16384
  // parameters a part): batches of 40 rows, 88650 parameters, sparse first layer, a dense hidden
  // layer.
  const spec = mlp({ layers: [400, 200, 40, 10] });
  const n = 80;
  const x = Float32Array.from(
    { length: n * 400 },
    (_, k) => (k * 7919) % 5 === 0 ? (k % 13) / 13 : 0,
  );
  const y = Int32Array.from({ length: n }, (_, b) => b % 10);
  // Batches of other sizes too (a Worker gathers each step's batch during the step before; some
  // of these are too small to split).
  const sizes = [40, 40, 17, 40, 3, 40];
  const steps = sizes.length;
  const offsets = new Int32Array(steps + 1);
  for (let s = 0; s < steps; s++) offsets[s + 1] = offsets[s] + sizes[s];
  const plan = {
    indices: Int32Array.from({ length: offsets[steps] }, (_, k) => (k * 11) % n),
    offsets,
    lrs: new Float32Array(steps).fill(0.05),
  };
  const results = [];
  for (const threads of [1, 2]) {
    for (const optimizer of [sgd({ momentum: 0.9 }), adam()]) {
      const backend = await createWasmBackend({ threads });
      assert.match(backend.adapter ?? "", threads === 1 ? /1 thread$/ : /2 threads \(Workers/);
      const session = await backend.createSession({
        spec,
        optimizer,
        params: initParams(spec, { seed: 3, replicas: 2 }),
        replicas: 2,
        data: { x, y, n },
      });
      session.run(plan);
      session.run(plan); // its first batch is gathered while no Worker runs ahead
      results.push({
        loss: (await session.readStats()).loss,
        params: await session.readParams(),
        state: await session.readOptimizerState(),
      });
      backend.dispose();
    }
  }
  // Compared bit for bit, element by element (a failing deepEqual would print every element).
  for (const [label, one, two] of [["sgd", 0, 2], ["adam", 1, 3]] as const) {
    for (const field of ["loss", "params", "state"] as const) {
      const a = new Uint32Array(results[one][field].buffer);
      const b = new Uint32Array(results[two][field].buffer);
      const at = a.findIndex((v, k) => v !== b[k]);
      assert.ok(a.length === b.length && at < 0, `${label} ${field}: element ${at} differs`);
    }
  }
  assert.ok(results[0].loss.every(Number.isFinite));
  assert.notDeepEqual(results[0].params, initParams(spec, { seed: 3, replicas: 2 }));
  await assert.rejects(() => createWasmBackend({ threads: 0 }), /threads must be an integer/);
});

/** [n, classes] rows of probabilities, some peaked, some flat (soft targets, as distill makes). */
function softTargets(n: number, classes: number, seed: number): Float32Array {
  const random = randomState(seed);
  const q = new Float32Array(n * classes);
  for (let b = 0; b < n; b++) {
    const sharp = 0.5 + 3 * random.uniform(0, 1);
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      sum += q[b * classes + c] = Math.exp(sharp * random.normal(0, 1));
    }
    for (let c = 0; c < classes; c++) q[b * classes + c] /= sum;
  }
  return q;
}

Deno.test("wasm: soft targets (distill) train as on the CPU, dense and sparse, on one thread and two", async () => {
  // Wide enough that two threads split the first layer, the hidden product and the update (40-row
  // batches, 36410 parameters); a last batch of 1 row; two replicas; momentum.
  const spec = mlp({ layers: [80, 400, 10] });
  const n = 60;
  const inputs: Record<string, Float32Array> = {
    dense: Float32Array.from({ length: n * 80 }, (_, k) => Math.sin(k * 0.37)),
    sparse: Float32Array.from({ length: n * 80 }, (_, k) => (k * 7) % 10 < 8 ? 0 : (k % 9) / 9),
  };
  const sizes = [40, 40, 13, 40, 1];
  const offsets = Int32Array.from(
    { length: sizes.length + 1 },
    (_, s) => sizes.slice(0, s).reduce((a, b) => a + b, 0),
  );
  const plan = {
    indices: Int32Array.from({ length: offsets[sizes.length] }, (_, k) => (k * 17) % n),
    offsets,
    lrs: new Float32Array(sizes.length).fill(0.05),
  };
  for (const [name, x] of Object.entries(inputs)) {
    for (const temperature of [1, 2.5]) {
      const data: TrainingData = { x, y: softTargets(n, 10, 3), n, targets: "soft", temperature };
      const options = {
        spec,
        optimizer: sgd({ momentum: 0.9 }),
        params: initParams(spec, { seed: 6, replicas: 2 }),
        replicas: 2,
        data,
      };
      const results = [];
      for (
        const make of [createCpuBackend, createWasmBackend, () => createWasmBackend({ threads: 2 })]
      ) {
        const backend = await make();
        const session = await backend.createSession(options);
        session.run(plan);
        results.push({ stats: await session.readStats(), params: await session.readParams() });
        backend.dispose();
      }
      const [cpu, one, two] = results;
      const label = `${name}, T=${temperature}`;
      assertClose(one.stats.loss, cpu.stats.loss, {
        rel: 1e-4,
        abs: 1e-6,
        label: `${label}: losses`,
      });
      assert.deepEqual(
        one.stats.correct,
        cpu.stats.correct,
        `${label}: agreement with the teacher`,
      );
      assertClose(one.params, cpu.params, { rel: 1e-4, abs: 1e-6, label: `${label}: params` });
      assert.deepEqual(two.stats.loss, one.stats.loss, `${label}: two threads' losses`);
      assert.deepEqual(two.params, one.params, `${label}: two threads' params`);
      assert.ok(cpu.stats.correct.some((c) => c > 0), `${label}: rows agree`);
      assert.notDeepEqual(one.params, options.params);
    }
  }
});

Deno.test("wasm: threads load the Worker script that workerUrl names; a wrong one fails, naming it", async () => {
  await assert.rejects(
    () => createWasmBackend({ threads: 2, workerUrl: "" }),
    /workerUrl must be an absolute URL/,
  );
  const spec = mlp({ layers: [2, 4, 2] });
  const options = {
    spec,
    optimizer: sgd(),
    params: initParams(spec, { seed: 1 }),
    data: { x: new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]), y: new Int32Array([0, 1, 1, 0]), n: 4 },
  };
  // A URL object names the module's own Worker: the session starts.
  const own = new URL("../lib/backend/wasm/_worker.ts", import.meta.url);
  const named = await createWasmBackend({ threads: 2, workerUrl: own });
  assert.match(named.adapter ?? "", /2 threads/);
  (await named.createSession(options)).dispose();
  named.dispose();
  // A script that is not the Worker: the session fails, saying where it looked and what to pass.
  // (Deno prints the Worker's uncaught error as it happens, handled or not.)
  const missing = "data:text/javascript,throw new Error('not the Worker')";
  const wrong = await createWasmBackend({ threads: 2, workerUrl: missing });
  await assert.rejects(() => wrong.createSession(options), (error: Error) => {
    assert.match(error.message, /^Cannot start a WebAssembly thread: .*not the Worker/);
    assert.ok(error.message.includes(missing), error.message);
    assert.match(
      error.message,
      /dist\/snapfold_worker\.js\) as the WebAssembly backend's workerUrl/,
    );
    return true;
  });
  wrong.dispose();
});

Deno.test("wasm: bad backend options are ConfigErrors naming the field, whatever the choice", async () => {
  const { createBackend } = await import("../mod.ts");
  const { ConfigError } = await import("../lib/errors.ts");
  const cases: [Parameters<typeof createBackend>, string][] = [
    [["auto", { wasm: { threads: -5 } }], "wasm.threads"],
    [["cpu", { wasm: { threads: 1.5 } }], "wasm.threads"],
    [["wasm", { wasm: { thread: 2 } as never }], "wasm.thread"],
    [["wasm", { wasm: 5 as never }], "wasm"],
    [["wasm", { wasm: { workerUrl: "worker.js" } }], "wasm.workerUrl"],
    [["wasm", { wasm: { workerUrl: "http://[bad" } }], "wasm.workerUrl"],
    [["wasm", { wasm: { workerUrl: Object.create(URL.prototype) } }], "wasm.workerUrl"],
    [["auto", { batchsize: 32 } as never], "batchsize"],
  ];
  for (const [args, field] of cases) {
    await assert.rejects(
      () => createBackend(...args),
      (error: unknown) =>
        error instanceof ConfigError && error.issues.some((i) => i.field === field),
      `${args[0]}: ${field}`,
    );
  }
  await assert.rejects(
    () => createWasmBackend({ threads: 2, workerUrl: "relative.js" }),
    ConfigError,
  );
  const plain = await createBackend("cpu", null as never); // no options at all
  plain.dispose();
});

Deno.test("wasm: a Worker script that fails to run is a SnapfoldError naming the script", async () => {
  // (One that loads and never answers is given up on after 30 s with its own message; not waited
  // for here.)
  const { ThreadPool } = await import("../lib/backend/wasm/_threads.ts");
  const { compileKernels } = await import("../lib/backend/wasm/_kernels.ts");
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
  const compiled = await compileKernels("simd", true);
  const script = "data:text/javascript,throw new Error('not the worker')";
  await assert.rejects(
    () => ThreadPool.start(1, compiled, memory, script),
    /Cannot start a WebAssembly thread: .*not the worker/,
  );
});

Deno.test("wasm: a backend disposed while a session is being created refuses that session and stops its Workers", async () => {
  const { SnapfoldError } = await import("../lib/errors.ts");
  const spec = mlp({ layers: [2, 4, 2] });
  const backend = await createWasmBackend({ threads: 2 });
  const pending = backend.createSession({
    spec,
    optimizer: sgd(),
    params: initParams(spec, { seed: 1 }),
    data: { x: new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]), y: new Int32Array([0, 1, 1, 0]), n: 4 },
  });
  backend.dispose();
  // (Were a session made, disposing it here stops its Workers, so a failure cannot hang the run.)
  const outcome = await pending.then((session) => (session.dispose(), "a session"), (e) => e);
  assert.ok(outcome instanceof SnapfoldError, `got ${outcome}`);
  assert.match(outcome.message, /backend was disposed/);
});
