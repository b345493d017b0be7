/**
 * Choosing a backend: explicit choices, "auto" on software and hardware adapters, and clear errors
 * when WebGPU or an adapter is missing (simulated by replacing `navigator.gpu` for one test).
 */
import assert from "node:assert/strict";
import {
  ConfigError,
  createBackend,
  dense,
  describeAdapter,
  dropout,
  mlp,
  relu,
  sequential,
  SnapfoldError,
} from "../mod.ts";
import { adapterFacts } from "../lib/backend/webgpu/_quirks.ts";
import { estimateStepMs, planAuto, stepMacs, WEBGPU_MIN_STEP_MS } from "../lib/backend/select.ts";

/** Runs `fn` with `navigator.gpu` replaced by `gpu`, then restores it. */
async function withGpu(gpu: unknown, fn: () => Promise<void>): Promise<void> {
  Object.defineProperty(navigator, "gpu", { value: gpu, configurable: true });
  try {
    await fn();
  } finally {
    delete (navigator as unknown as Record<string, unknown>).gpu; // back to the prototype's getter
  }
}

Deno.test("select: cpu and webgpu give what they name; the WebGPU adapter is described", async () => {
  const cpu = await createBackend("cpu");
  assert.equal(cpu.kind, "cpu");
  assert.equal(cpu.adapter, null);
  cpu.dispose();
  const found = await describeAdapter();
  assert.ok(found, "a WebGPU adapter is required (CI has a software one)");
  const gpu = await createBackend("webgpu");
  assert.equal(gpu.kind, "webgpu");
  assert.equal(gpu.adapter, found.description);
  assert.equal(gpu.softwareAdapter, found.software);
  gpu.dispose();
});

Deno.test("select: wasm gives the WebAssembly backend, loaded on first use", async () => {
  const wasm = await createBackend("wasm");
  assert.equal(wasm.kind, "wasm");
  assert.equal(wasm.readCost, "free");
  assert.match(wasm.adapter ?? "", /^WebAssembly (relaxed )?SIMD, 1 thread$/);
  wasm.dispose();
});

Deno.test("select: the wasm options reach the WebAssembly backend, for wasm and for auto", async () => {
  const threaded = await createBackend("wasm", { wasm: { threads: 2, simd: "simd" } });
  assert.equal(threaded.adapter, "WebAssembly SIMD, 2 threads (Workers over a shared memory)");
  threaded.dispose();
  const mid = await createBackend("auto", {
    model: mlp({ layers: [64, 128, 10] }),
    wasm: { threads: 2 },
  });
  assert.equal(mid.kind, "wasm");
  assert.match(mid.adapter ?? "", /, 2 threads \(/);
  mid.dispose();
  // Bad options are the caller's to fix: auto says so rather than falling back to the CPU.
  for (const choice of ["wasm", "auto"] as const) {
    await assert.rejects(
      () => createBackend(choice, { model: mlp({ layers: [64, 128, 10] }), wasm: { threads: 0 } }),
      (e) => e instanceof ConfigError && /threads must be an integer from 1 to 16/.test(e.message),
    );
  }
});

Deno.test("select: auto takes the CPU on a software adapter and WebGPU on a hardware one", async () => {
  const found = await describeAdapter();
  assert.ok(found, "a WebGPU adapter is required (CI has a software one)");
  const auto = await createBackend();
  assert.equal(auto.kind, found.software ? "cpu" : "webgpu");
  auto.dispose();
});

Deno.test("select: a bad choice is a ConfigError naming it", async () => {
  await assert.rejects(
    createBackend("gpu" as never),
    (e) =>
      e instanceof ConfigError &&
      /choice must be one of "cpu", "webgpu", "wasm", "auto": got "gpu"/.test(e.message),
  );
});

Deno.test("select: without navigator.gpu, webgpu fails clearly and auto falls back to the CPU", async () => {
  await withGpu(undefined, async () => {
    await assert.rejects(
      createBackend("webgpu"),
      (e) =>
        e instanceof SnapfoldError &&
        /^WebGPU is not available: this runtime has no navigator\.gpu; use backend "cpu"/.test(
          e.message,
        ),
    );
    assert.equal(await describeAdapter(), null);
    const auto = await createBackend("auto");
    assert.equal(auto.kind, "cpu");
    auto.dispose();
  });
});

Deno.test("select: without an adapter, webgpu fails clearly and auto falls back to the CPU", async () => {
  await withGpu({ requestAdapter: () => Promise.resolve(null) }, async () => {
    await assert.rejects(
      createBackend("webgpu"),
      /WebGPU is not available: no GPU adapter was found; use backend "cpu"/,
    );
    assert.equal((await createBackend("auto")).kind, "cpu");
  });
});

Deno.test("select: when requestAdapter throws, webgpu fails clearly and auto falls back to the CPU", async () => {
  const gpu = {
    requestAdapter: () => Promise.reject(new Error("stub: no usable driver")),
  };
  await withGpu(gpu, async () => {
    await assert.rejects(
      createBackend("webgpu"),
      (e) =>
        e instanceof SnapfoldError &&
        /^WebGPU is not available: requesting an adapter failed: stub: no usable driver; use backend "cpu"/
          .test(e.message),
    );
    assert.equal(await describeAdapter(), null);
    const auto = await createBackend("auto");
    assert.equal(auto.kind, "cpu");
    auto.dispose();
  });
  // A requestAdapter that throws before returning a promise is caught the same way.
  await withGpu({
    requestAdapter: () => {
      throw new Error("stub: thrown");
    },
  }, async () => {
    await assert.rejects(createBackend("webgpu"), /WebGPU is not available: .*stub: thrown/);
    assert.equal((await createBackend("auto")).kind, "cpu");
  });
});

Deno.test("select: when a hardware adapter refuses a device, webgpu fails clearly and auto takes the CPU", async () => {
  const limits = {
    maxStorageBufferBindingSize: 1 << 27,
    maxBufferSize: 1 << 28,
    maxComputeWorkgroupStorageSize: 1 << 14,
  };
  let requested = 0;
  const adapter = {
    info: { vendor: "stub", description: "Stub Hardware GPU" },
    limits,
    requestDevice: () => {
      requested++;
      return Promise.reject(new Error("stub: device refused"));
    },
  };
  await withGpu({ requestAdapter: () => Promise.resolve(adapter) }, async () => {
    await assert.rejects(
      createBackend("webgpu"),
      (e) =>
        e instanceof SnapfoldError &&
        /^WebGPU is not available: the adapter "Stub Hardware GPU" refused a device: stub: device refused; use backend "cpu"/
          .test(e.message),
    );
    const auto = await createBackend("auto");
    assert.equal(auto.kind, "cpu");
    assert.equal(requested, 2, "auto tried WebGPU on the hardware adapter first");
    auto.dispose();
  });
});

Deno.test("select: software adapters are recognised by flag or by name", () => {
  const info = (fields: Record<string, unknown>) => ({ info: fields as unknown as GPUAdapterInfo });
  assert.deepEqual(adapterFacts(info({ description: "llvmpipe (LLVM 15.0.6, 256 bits)" })), {
    description: "llvmpipe (LLVM 15.0.6, 256 bits)",
    software: true,
  });
  assert.equal(
    adapterFacts(info({ vendor: "google", device: "SwiftShader Device" })).software,
    true,
  );
  assert.equal(
    adapterFacts(info({ description: "NVIDIA H100", isFallbackAdapter: true })).software,
    true,
  );
  assert.deepEqual(adapterFacts(info({ vendor: "nvidia", description: "NVIDIA H100 80GB HBM3" })), {
    description: "NVIDIA H100 80GB HBM3",
    software: false,
  });
  assert.equal(adapterFacts({}).description, "unknown adapter");
});

const TUTORIAL = mlp({ layers: [2, 25, 3], activation: "relu", head: "softmax" });
const MNIST = mlp({ layers: [784, 256, 10], activation: "relu", head: "softmax" });

/** A navigator.gpu whose adapter is a stub hardware GPU that refuses devices; counts requests. */
function countingGpu(): { gpu: unknown; asked: () => number } {
  let asked = 0;
  const adapter = {
    info: { vendor: "stub", description: "Stub Hardware GPU" },
    limits: {
      maxStorageBufferBindingSize: 1 << 27,
      maxBufferSize: 1 << 28,
      maxComputeWorkgroupStorageSize: 1 << 14,
    },
    requestDevice: () => Promise.reject(new Error("stub: device refused")),
  };
  const gpu = {
    requestAdapter: () => {
      asked++;
      return Promise.resolve(adapter);
    },
  };
  return { gpu, asked: () => asked };
}

Deno.test("select: stepMacs counts the forward and both backward products of every layer", () => {
  assert.equal(stepMacs(TUTORIAL, 32), 3 * 32 * (2 * 25 + 25 * 3));
  assert.equal(stepMacs(MNIST, 128), 3 * 128 * (784 * 256 + 256 * 10));
  const a = estimateStepMs(MNIST, 128);
  const b = estimateStepMs(MNIST, 256);
  assert.ok(b.cpu > a.cpu && b.wasm > a.wasm, "more rows cost more");
});

Deno.test("select: auto's plan keeps the tutorial on the CPU without WebGPU, MNIST on wasm with it", () => {
  assert.deepEqual(planAuto({ model: TUTORIAL, batchSize: 32 }), {
    cpuSide: "cpu",
    tryWebGpu: false,
  });
  assert.deepEqual(planAuto({ model: MNIST, batchSize: 128 }), {
    cpuSide: "wasm",
    tryWebGpu: true,
  });
  // A mid-sized model: WebAssembly wins, a GPU cannot pay back its readbacks.
  const mid = mlp({ layers: [64, 128, 10] });
  assert.deepEqual(planAuto({ model: mid, batchSize: 128 }), { cpuSide: "wasm", tryWebGpu: false });
  assert.ok(estimateStepMs(mid, 128).wasm < WEBGPU_MIN_STEP_MS);
  // Dropout is drawn in WebAssembly too: such a model takes it as any other of its size.
  const dropped = sequential({ inputs: 64, layers: [dense(128), relu(), dropout(0.2), dense(10)] });
  assert.equal(planAuto({ model: dropped, batchSize: 128 }).cpuSide, "wasm");
  // Without a model: the former rule (ask for an adapter, the CPU otherwise).
  assert.deepEqual(planAuto({}), { cpuSide: "cpu", tryWebGpu: true });
});

Deno.test("select: auto with a small model never asks for a WebGPU adapter", async () => {
  const { gpu, asked } = countingGpu();
  await withGpu(gpu, async () => {
    const small = await createBackend("auto", { model: TUTORIAL, batchSize: 32 });
    assert.equal(small.kind, "cpu");
    small.dispose();
    const mid = await createBackend("auto", { model: mlp({ layers: [64, 128, 10] }) });
    assert.equal(mid.kind, "wasm");
    mid.dispose();
    assert.equal(asked(), 0, "WebGPU was not initialised");
    // A model large enough asks; the stub refuses a device, so the wasm backend stands in.
    const large = await createBackend("auto", { model: MNIST, batchSize: 128 });
    assert.equal(large.kind, "wasm");
    large.dispose();
    assert.equal(asked(), 1);
    // And without a model, as before: it asks, and falls back to the CPU backend.
    const bare = await createBackend("auto");
    assert.equal(bare.kind, "cpu");
    bare.dispose();
    assert.equal(asked(), 2);
  });
});

Deno.test("select: auto with a large model takes the wasm backend on a software adapter", async () => {
  const found = await describeAdapter();
  const large = await createBackend("auto", { model: MNIST, batchSize: 128 });
  assert.equal(large.kind, found === null || found.software ? "wasm" : "webgpu");
  large.dispose();
});
