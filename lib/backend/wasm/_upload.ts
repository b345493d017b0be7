/**
 * The upload of a WebAssembly training session's inputs (`_session.ts`): dense, or compressed by
 * row once when they are mostly zeros, for the sparse first layer (wasm/sparse.wat).
 *
 * @module
 */
import type { TrainingData } from "../backend.ts";
import type { WasmHeap, WasmKernels } from "./_kernels.ts";

/** Where the inputs went: `x` dense [n, inDim] (0 when compressed), or their nonzeros by row. */
export interface ResidentInputs {
  readonly x: number;
  readonly csr:
    | { readonly rowStart: number; readonly cols: number; readonly values: number }
    | null;
}

/** Rows compressed per call of csr_rows while uploading (a few hundred KB staged at a time). */
const UPLOAD_ROWS = 128;

/**
 * Uploads the inputs once: compressed by row (CSR) when at least `minZeros` of them are zeros, or
 * else dense. The rows go through a small staging buffer, a block at a time, straight into CSR
 * arrays sized for the most nonzeros the sparse path accepts, so the dense copy of the data set
 * (25 MB for MNIST, each page faulted in on first touch) is never written; when a block finds more
 * nonzeros than that, the data go up dense instead.
 */
export function uploadInputs(
  heap: WasmHeap,
  k: WasmKernels["sparse"],
  data: TrainingData,
  inDim: number,
  minZeros: number,
): ResidentInputs {
  const { x: source, n } = data;
  const length = source.length;
  const mark = heap.top;
  const block = Math.min(n, UPLOAD_ROWS);
  // csr_rows writes at most a block's values (plus one slot) past the accepted count.
  const capacity = Math.floor(length * (1 - minZeros)) + block * inDim + 1;
  if (minZeros <= 1 && length > 0) {
    const rowStart = heap.alloc(n + 1);
    const cols = heap.alloc(capacity);
    const values = heap.alloc(capacity);
    const staging = heap.alloc(block * inDim);
    const accepted = capacity - block * inDim - 1;
    let nonzeros = 0;
    let r = 0;
    for (; r < n && nonzeros <= accepted; r += block) {
      const rows = Math.min(block, n - r);
      heap.f32(staging, rows * inDim).set(source.subarray(r * inDim, (r + rows) * inDim));
      const at = 4 * nonzeros;
      k.csr_rows(staging, inDim, 0, rows, rowStart + 4 * r, cols + at, values + at, 1);
      const starts = heap.i32(rowStart, n + 1); // rowStart[r ..] count from this block's start
      for (let b = r; b <= r + rows; b++) starts[b] += nonzeros;
      nonzeros = starts[r + rows];
    }
    if (r >= n && 1 - nonzeros / length >= minZeros) {
      heap.release(values + 16 * Math.ceil((nonzeros + 1) / 4));
      return { x: 0, csr: { rowStart, cols, values } };
    }
    heap.release(mark);
  }
  const x = heap.alloc(length);
  heap.f32(x, length).set(source);
  return { x, csr: null };
}
