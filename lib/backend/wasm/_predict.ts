/**
 * Stacked ensemble prediction in WebAssembly: the inputs and every member's parameters are copied
 * into one memory once; then, block by block of rows, every member runs its forward pass and
 * `combine` (wasm/loss.wat) adds its weighted softmax (or output) into the result, as the CPU
 * backend's `predictCpu` does.
 *
 * @module
 */
import type { PredictOptions } from "../backend.ts";
import { forwardRows, makeWorkspace, type SparseMode } from "./_forward.ts";
import {
  type CompiledKernels,
  instantiateKernels,
  WasmHeap,
  type WasmKernels,
} from "./_kernels.ts";
import type { WasmLayout } from "./_layout.ts";

/**
 * Rows per block: every member runs over one block before the next starts (as on the CPU). Each
 * member's weights are read from memory once per block, so large blocks: ten 784-256-10 members
 * over 1000 MNIST rows took 43 ms a call in blocks of 1024 rows, steadily, and 48-57 ms in blocks
 * of 256, with runs of calls near 70 ms whenever the shared machine's memory was busy.
 */
export const PREDICT_BLOCK = 1024;

/**
 * A memory and kernels kept by a backend for its predictions: each call frees what the previous one
 * allocated, so repeated calls neither grow the memory nor instantiate the modules again.
 */
export interface PredictArena {
  readonly heap: WasmHeap;
  readonly kernels: WasmKernels;
  readonly start: number;
}

/**
 * A fresh arena.
 *
 * @param compiled The kernels.
 * @returns The arena.
 */
export async function makePredictArena(compiled: CompiledKernels): Promise<PredictArena> {
  const heap = new WasmHeap(1 << 20);
  return { heap, kernels: await instantiateKernels(compiled, heap.memory), start: heap.top };
}

/**
 * Predicts with validated options.
 *
 * @param arena Where.
 * @param layout The network.
 * @param options The validated prediction options.
 * @param x Its validated inputs.
 * @param sparse Whether to take the sparse first layer (`"rows"`) or not.
 * @returns `[n, outDim]`, or `[members, n, outDim]` with `combine: "none"`.
 */
export function predictWasm(
  arena: PredictArena,
  layout: WasmLayout,
  options: PredictOptions,
  x: Float32Array,
  sparse: SparseMode,
): Float32Array {
  const { params, members = 1, n, combine = "mean", weights } = options;
  const softmax = options.spec.head === "softmax";
  const P = layout.paramCount;
  const inDim = layout.inDim;
  const outDim = layout.outDim;
  const separate = combine === "none";
  const block = Math.min(n, PREDICT_BLOCK);
  const outCount = (separate ? members : 1) * n * outDim;
  const { heap, kernels: k } = arena;
  heap.release(arena.start);
  const xAt = heap.alloc(n * inDim);
  const paramsAt = heap.alloc(members * P);
  const outAt = heap.alloc(outCount);
  const ws = makeWorkspace(heap, layout, block, sparse, false);
  heap.f32(xAt, n * inDim).set(x.subarray(0, n * inDim));
  heap.f32(paramsAt, members * P).set(params.subarray(0, members * P));
  heap.f32(outAt, outCount).fill(0); // "mean" adds into it, and the arena's memory is reused
  let total = 0;
  for (let m = 0; m < members; m++) total += weights === undefined ? 1 : weights[m];
  const depth = layout.layers.length;
  for (let start = 0; start < n; start += block) {
    const rows = Math.min(block, n - start);
    const input = xAt + 4 * start * inDim;
    if (ws.sparse !== null) {
      const { rowStart, cols, values } = ws.sparse;
      // cols as byte offsets of the first layer's weight rows, as csr_forward takes them
      k.sparse.csr_rows(input, inDim, 0, rows, rowStart, cols, values, 4 * layout.layers[0].outDim);
    }
    for (let m = 0; m < members; m++) {
      forwardRows(k, layout, ws, input, paramsAt + 4 * m * P, rows);
      const weight = separate ? 1 : (weights === undefined ? 1 : weights[m]) / total;
      const to = outAt + 4 * ((separate ? m * n : 0) + start) * outDim;
      k.loss.combine(ws.acts[depth], rows, outDim, softmax ? 1 : 0, to, weight, separate ? 0 : 1);
    }
  }
  const out = heap.f32(outAt, outCount).slice();
  heap.release(arena.start);
  return out;
}
