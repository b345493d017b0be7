/**
 * Runs one {@linkcode KernelCall} on a device, with a buffer per role filled from typed arrays,
 * and reads back the buffers it writes: the shared harness of tests/ops_test.ts.
 */
import assert from "node:assert/strict";
import { type KernelCall, roleKey } from "../lib/ops/kernel_call.ts";
import {
  createPipelineCache,
  type PipelineCache,
  STEP_RECORD_BYTES,
} from "../lib/backend/webgpu/_pipeline_cache.ts";
import { SHADER_BINDINGS } from "../lib/backend/webgpu/_shaders.ts";

/** A device and its pipeline cache. */
export interface KernelRig {
  readonly device: GPUDevice;
  readonly cache: PipelineCache;
}

/** A device from the default adapter (a missing adapter fails the test, as CI has llvmpipe). */
export async function kernelRig(): Promise<KernelRig> {
  const adapter = await navigator.gpu.requestAdapter();
  assert.ok(adapter, "a WebGPU adapter is required (CI has a software one)");
  const device = await adapter.requestDevice();
  return { device, cache: createPipelineCache(device) };
}

type Words = Float32Array | Int32Array | Uint32Array;

/** The step record `{ step, start, batch, row }`. */
export interface Record4 {
  readonly step?: number;
  readonly start?: number;
  readonly batch: number;
  readonly row?: number;
}

/**
 * Runs `calls` in order in one pass over the same buffers (one per role, filled from `inputs`),
 * each for `record.batch` rows, and returns every buffer that some call writes, as float32 words.
 */
export async function runCalls(
  rig: KernelRig,
  calls: ReadonlyArray<KernelCall>,
  inputs: Readonly<Record<string, Words>>,
  record: Record4,
): Promise<Record<string, Float32Array>> {
  const { device, cache } = rig;
  const { STORAGE, COPY_DST, COPY_SRC, UNIFORM, MAP_READ } = GPUBufferUsage;
  const buffers = new Map<string, GPUBuffer>();
  const written = new Set<string>();
  for (const call of calls) {
    call.bindings.forEach((role, k) => {
      const key = roleKey(role);
      if (SHADER_BINDINGS[call.shader][k].access === "write") written.add(key);
      if (buffers.has(key)) return;
      const data = inputs[key];
      assert.ok(data !== undefined, `${call.label}: no input for ${key}`);
      const buffer = device.createBuffer({
        size: Math.max(16, data.byteLength),
        usage: STORAGE | COPY_DST | COPY_SRC,
      });
      device.queue.writeBuffer(buffer, 0, data as Float32Array<ArrayBuffer>);
      buffers.set(key, buffer);
    });
  }
  const words = new Uint32Array([
    record.step ?? 0,
    record.start ?? 0,
    record.batch,
    record.row ?? 0,
  ]);
  const recordBuffer = device.createBuffer({ size: STEP_RECORD_BYTES, usage: UNIFORM | COPY_DST });
  device.queue.writeBuffer(recordBuffer, 0, words);
  const pipelines = await Promise.all(calls.map((c) => cache.pipeline(c.shader, c.constants)));
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setBindGroup(
    1,
    device.createBindGroup({
      layout: cache.stepLayout,
      entries: [{ binding: 0, resource: { buffer: recordBuffer, size: STEP_RECORD_BYTES } }],
    }),
    [0],
  );
  calls.forEach((call, k) => {
    pass.setPipeline(pipelines[k]);
    pass.setBindGroup(
      0,
      device.createBindGroup({
        layout: cache.layout(call.shader),
        entries: call.bindings.map((role, binding) => ({
          binding,
          resource: { buffer: buffers.get(roleKey(role))! },
        })),
      }),
    );
    const [x, y, z] = call.grid(record.batch);
    pass.dispatchWorkgroups(x, y, z);
  });
  pass.end();
  const staging = new Map<string, GPUBuffer>();
  for (const key of written) {
    const source = buffers.get(key)!;
    const target = device.createBuffer({ size: source.size, usage: MAP_READ | COPY_DST });
    encoder.copyBufferToBuffer(source, 0, target, 0, source.size);
    staging.set(key, target);
  }
  device.queue.submit([encoder.finish()]);
  const out: Record<string, Float32Array> = {};
  for (const [key, target] of staging) {
    await target.mapAsync(GPUMapMode.READ);
    const length = inputs[key].length;
    out[key] = new Float32Array(target.getMappedRange().slice(0, length * 4));
    target.destroy();
  }
  for (const buffer of buffers.values()) buffer.destroy();
  recordBuffer.destroy();
  return out;
}
