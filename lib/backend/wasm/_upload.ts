/**
 * The upload of a WebAssembly training session's inputs (`_session.ts`): dense, or compressed by
 * row once when they are mostly zeros, for the sparse first layer (wasm/sparse.wat).
 *
 * @module
 */
import type { TrainingData } from "../backend.ts";
import type { WasmHeap, WasmKernels } from "./_kernels.ts";
import type { ThreadPool } from "./_threads.ts";

/** Where the inputs went: `x` dense [n, inDim] (0 when compressed), or their nonzeros by row. */
export interface ResidentInputs {
  readonly x: number;
  readonly csr:
    | { readonly rowStart: number; readonly cols: number; readonly values: number }
    | null;
}

/** Rows compressed per call of csr_rows while uploading (a few hundred KB staged at a time). */
const UPLOAD_ROWS = 128;

/** Blocks of fewer values are all compressed here: a hand-off to the Worker costs 2.5-7 µs. */
const HELPED_MIN_VALUES = 8192;

/** A Worker to compress every other block with (a threaded session's pool). */
export type UploadHelper = Pick<ThreadPool, "background" | "settle">;

/**
 * Uploads the inputs once: compressed by row (CSR) when at least `minZeros` of them are zeros, or
 * else dense. The rows go through a small staging buffer, a block at a time, straight into CSR
 * arrays sized for the most nonzeros the sparse path accepts, so the dense copy of the data set
 * (25 MB for MNIST, each page faulted in on first touch) is never written; when a block finds more
 * nonzeros than that, the data go up dense instead. With a `helper`, a Worker compresses every
 * other block into a buffer of its own while this thread stages and compresses the block before
 * it; this thread then appends the Worker's nonzeros (the same arrays, bit for bit). On MNIST's
 * 8000 rows: 5.8-6.2 ms against 6.9 (medians of 26 alternated uploads, twice).
 */
export function uploadInputs(
  heap: WasmHeap,
  k: WasmKernels["sparse"],
  data: TrainingData,
  inDim: number,
  minZeros: number,
  helper: UploadHelper | null = null,
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
    const aside = helper === null || n <= block || block * inDim < HELPED_MIN_VALUES ? null : {
      staging: heap.alloc(block * inDim),
      rowStart: heap.alloc(block + 1),
      cols: heap.alloc(block * inDim + 1),
      values: heap.alloc(block * inDim + 1),
    };
    const stage = (into: number, r: number, rows: number) =>
      heap.f32(into, rows * inDim).set(source.subarray(r * inDim, (r + rows) * inDim));
    const accepted = capacity - block * inDim - 1;
    let nonzeros = 0;
    let r = 0;
    while (r < n && nonzeros <= accepted) {
      const rows = Math.min(block, n - r);
      const next = r + rows; // the Worker's block, if any
      const rows2 = aside === null ? 0 : Math.min(block, n - next);
      if (rows2 > 0) {
        stage(aside!.staging, next, rows2);
        const { staging: from, rowStart: starts2, cols: cols2, values: values2 } = aside!;
        helper!.background("csr_rows", [from, inDim, 0, rows2, starts2, cols2, values2, 1]);
      }
      stage(staging, r, rows);
      const at = 4 * nonzeros;
      k.csr_rows(staging, inDim, 0, rows, rowStart + 4 * r, cols + at, values + at, 1);
      const starts = heap.i32(rowStart, n + 1); // rowStart[r ..] count from this block's start
      for (let b = r; b <= r + rows; b++) starts[b] += nonzeros;
      nonzeros = starts[r + rows];
      r = next;
      if (rows2 === 0) continue;
      helper!.settle();
      if (nonzeros > accepted) break; // no room for the Worker's nonzeros: dense
      const own = heap.i32(aside!.rowStart, rows2 + 1);
      const got = own[rows2];
      heap.i32(cols + 4 * nonzeros, got).set(heap.i32(aside!.cols, got));
      heap.i32(values + 4 * nonzeros, got).set(heap.i32(aside!.values, got)); // the bits
      for (let b = 0; b <= rows2; b++) starts[r + b] = nonzeros + own[b];
      nonzeros += got;
      r += rows2;
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
