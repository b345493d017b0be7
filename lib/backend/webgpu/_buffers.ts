/**
 * GPU buffers that know they are alive: every buffer the WebGPU backend creates goes through a
 * {@linkcode BufferSet}, which destroys its buffers together and keeps a process-wide count of live
 * buffers so that tests can show that creating and disposing sessions leaks nothing (the sanitizers
 * of `deno test` do not see GPU buffers; see shared/PLATFORM.md).
 *
 * @module
 */
import type { ConfigIssue } from "../../errors.ts";

const live = new Set<GPUBuffer>();

/**
 * `GPUBufferUsage` and `GPUMapMode` flags by value (WebGPU spec, section "Buffer Usages"): the
 * globals do not exist in a browser without WebGPU, and importing this module there must not throw.
 */
export const USAGE: {
  readonly MAP_READ: number;
  readonly COPY_SRC: number;
  readonly COPY_DST: number;
  readonly UNIFORM: number;
  readonly STORAGE: number;
} = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 };
const MAP_MODE_READ = 0x1;

/**
 * Number of buffers created through a {@linkcode BufferSet} and not destroyed yet, in this process.
 *
 * @returns The count.
 */
export function liveBufferCount(): number {
  return live.size;
}

/** Buffers owned together (a session, a prediction) and destroyed together. */
export interface BufferSet {
  /**
   * Creates a zero-filled buffer of at least `byteLength` bytes (rounded up to 4, at least 4:
   * WebGPU has no empty bindings).
   */
  create(label: string, byteLength: number, usage: GPUBufferUsageFlags): GPUBuffer;
  /** Creates a buffer holding `data` (plus `COPY_DST` usage). */
  upload(label: string, data: ArrayBufferView, usage: GPUBufferUsageFlags): GPUBuffer;
  /** Destroys one buffer of the set now. */
  release(buffer: GPUBuffer): void;
  /** Destroys every buffer of the set. Idempotent. */
  destroyAll(): void;
}

/**
 * A new, empty set of buffers on `device`.
 *
 * @param device The device the buffers live on.
 * @returns The set.
 */
export function createBufferSet(device: GPUDevice): BufferSet {
  const owned = new Set<GPUBuffer>();
  const create = (label: string, byteLength: number, usage: GPUBufferUsageFlags): GPUBuffer => {
    const size = Math.max(4, Math.ceil(byteLength / 4) * 4);
    const buffer = device.createBuffer({ label, size, usage });
    owned.add(buffer);
    live.add(buffer);
    return buffer;
  };
  const release = (buffer: GPUBuffer): void => {
    if (!owned.delete(buffer)) return;
    live.delete(buffer);
    buffer.destroy();
  };
  return {
    create,
    upload(label, data, usage) {
      const buffer = create(label, data.byteLength, usage | USAGE.COPY_DST);
      writeBuffer(device, buffer, 0, data);
      return buffer;
    },
    release,
    destroyAll() {
      for (const buffer of [...owned]) release(buffer);
    },
  };
}

/**
 * `queue.writeBuffer` for any typed array: WebGPU wants a length that is a multiple of 4 bytes and
 * (with TypeScript 6) a view on a plain `ArrayBuffer`, so odd lengths and shared memory are copied.
 *
 * @param device The device.
 * @param buffer The destination.
 * @param byteOffset Where to write in the destination (a multiple of 4).
 * @param data What to write.
 */
export function writeBuffer(
  device: GPUDevice,
  buffer: GPUBuffer,
  byteOffset: number,
  data: ArrayBufferView,
): void {
  if (data.byteLength === 0) return;
  const padded = Math.ceil(data.byteLength / 4) * 4;
  let bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  if (padded !== data.byteLength || !(data.buffer instanceof ArrayBuffer)) {
    const copy = new Uint8Array(padded);
    copy.set(bytes);
    bytes = copy;
  }
  device.queue.writeBuffer(buffer, byteOffset, bytes);
}

/**
 * Copies `byteLength` bytes of `source` from `byteOffset` into a fresh staging buffer, submits,
 * maps it and returns a copy of the bytes. `guard` races the mapping against the device being lost
 * so that the promise rejects instead of hanging.
 *
 * @param device The device.
 * @param source A buffer with `COPY_SRC` usage.
 * @param byteOffset Start of the range (a multiple of 4).
 * @param byteLength Length of the range (a multiple of 4).
 * @param guard Wraps the mapping promise (rejects when the device is lost).
 * @returns The bytes.
 */
export async function readBuffer(
  device: GPUDevice,
  source: GPUBuffer,
  byteOffset: number,
  byteLength: number,
  guard: <T>(promise: Promise<T>) => Promise<T>,
): Promise<ArrayBuffer> {
  if (byteLength === 0) return new ArrayBuffer(0);
  const staging = device.createBuffer({
    label: "staging",
    size: byteLength,
    usage: USAGE.MAP_READ | USAGE.COPY_DST,
  });
  live.add(staging);
  try {
    const encoder = device.createCommandEncoder({ label: "readback" });
    encoder.copyBufferToBuffer(source, byteOffset, staging, 0, byteLength);
    device.queue.submit([encoder.finish()]);
    await guard(staging.mapAsync(MAP_MODE_READ));
    const bytes = staging.getMappedRange().slice(0);
    staging.unmap();
    return bytes;
  } finally {
    live.delete(staging);
    staging.destroy();
  }
}

/** The device limits a buffer's size must respect. */
export type BufferLimits = Pick<
  GPUSupportedLimits,
  "maxStorageBufferBindingSize" | "maxBufferSize"
>;

/**
 * Checks the sizes of the buffers an operation will create against the device's limits, so that
 * a dataset or a stack of members too large for the device is refused at the door with its size
 * and the limit, instead of failing inside WebGPU.
 *
 * @param limits The device's limits.
 * @param sizes Each buffer: the option it comes from, its bytes, and what to do when it is too big.
 * @returns One issue per buffer over a limit.
 */
export function bufferSizeIssues(
  limits: BufferLimits,
  sizes: ReadonlyArray<{ readonly field: string; readonly bytes: number; readonly advice: string }>,
): ConfigIssue[] {
  const [limit, name] = limits.maxStorageBufferBindingSize <= limits.maxBufferSize
    ? [limits.maxStorageBufferBindingSize, "maxStorageBufferBindingSize"]
    : [limits.maxBufferSize, "maxBufferSize"];
  const issues: ConfigIssue[] = [];
  for (const { field, bytes, advice } of sizes) {
    if (bytes > limit) {
      issues.push({
        field,
        message:
          `must fit in one buffer of this WebGPU device: it takes ${bytes} bytes, over the ` +
          `device's ${name} of ${limit} bytes; use backend "cpu", or ${advice}`,
        got: `${bytes} bytes`,
      });
    }
  }
  return issues;
}

/**
 * Runs `make` (which creates buffers) inside out-of-memory and validation error scopes, popped in
 * `finally` so that the device's scope stack stays balanced even when `make` throws.
 *
 * @param device The device.
 * @param make Creates the buffers.
 * @returns What `make` returned, and the first error the scopes caught (`null` when none).
 */
export function withAllocationScopes<T>(
  device: GPUDevice,
  make: () => T,
): { readonly value: T; readonly caught: Promise<GPUError | null> } {
  device.pushErrorScope("out-of-memory");
  device.pushErrorScope("validation");
  let value: T;
  let caught: Promise<GPUError | null>;
  try {
    value = make();
  } finally {
    const validationError = device.popErrorScope();
    const outOfMemory = device.popErrorScope();
    caught = Promise.all([validationError, outOfMemory]).then(([v, o]) => o ?? v);
    caught.catch(() => {}); // observed by the caller; a lost device rejects it
  }
  return { value, caught };
}
