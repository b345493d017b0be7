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
import { type CompiledKernels, instantiateKernels, WasmHeap } from "./_kernels.ts";
import type { WasmLayout } from "./_layout.ts";

/** Rows per block: every member runs over one block before the next starts (as on the CPU). */
const PREDICT_BLOCK = 256;

/**
 * Predicts with validated options.
 *
 * @param compiled The kernels.
 * @param layout The network.
 * @param options The validated prediction options.
 * @param x Its validated inputs.
 * @param sparse Whether to take the sparse first layer (`"rows"`) or not.
 * @returns `[n, outDim]`, or `[members, n, outDim]` with `combine: "none"`.
 */
export async function predictWasm(
  compiled: CompiledKernels,
  layout: WasmLayout,
  options: PredictOptions,
  x: Float32Array,
  sparse: SparseMode,
): Promise<Float32Array> {
  const { params, members = 1, n, combine = "mean", weights } = options;
  const softmax = options.spec.head === "softmax";
  const P = layout.paramCount;
  const inDim = layout.inDim;
  const outDim = layout.outDim;
  const separate = combine === "none";
  const block = Math.min(n, PREDICT_BLOCK);
  const outCount = (separate ? members : 1) * n * outDim;
  const heap = new WasmHeap(4 * (n * inDim + members * P + outCount) + (1 << 20));
  const xAt = heap.alloc(n * inDim);
  const paramsAt = heap.alloc(members * P);
  const outAt = heap.alloc(outCount);
  const ws = makeWorkspace(heap, layout, block, sparse, false);
  heap.f32(xAt, n * inDim).set(x.subarray(0, n * inDim));
  heap.f32(paramsAt, members * P).set(params.subarray(0, members * P));
  const k = await instantiateKernels(compiled, heap.memory);
  let total = 0;
  for (let m = 0; m < members; m++) total += weights === undefined ? 1 : weights[m];
  const depth = layout.layers.length;
  for (let start = 0; start < n; start += block) {
    const rows = Math.min(block, n - start);
    const input = xAt + 4 * start * inDim;
    if (ws.sparse !== null) {
      const { rowStart, cols, values } = ws.sparse;
      k.sparse.csr_rows(input, inDim, 0, rows, rowStart, cols, values);
    }
    for (let m = 0; m < members; m++) {
      forwardRows(k, layout, ws, input, paramsAt + 4 * m * P, rows);
      const weight = separate ? 1 : (weights === undefined ? 1 : weights[m]) / total;
      const to = outAt + 4 * ((separate ? m * n : 0) + start) * outDim;
      k.loss.combine(ws.acts[depth], rows, outDim, softmax ? 1 : 0, to, weight, separate ? 0 : 1);
    }
  }
  return heap.f32(outAt, outCount).slice();
}
