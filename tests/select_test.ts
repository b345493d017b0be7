/**
 * Choosing a backend: explicit choices, "auto" on software and hardware adapters, and clear errors
 * when WebGPU or an adapter is missing (simulated by replacing `navigator.gpu` for one test).
 */
import assert from "node:assert/strict";
import { ConfigError, createBackend, describeAdapter, SnapfoldError } from "../mod.ts";
import { adapterFacts } from "../lib/backend/webgpu/_quirks.ts";

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
