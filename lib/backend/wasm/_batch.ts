/**
 * A WebAssembly training session's batch (`_session.ts`): its buffers, and the gather of its rows
 * from the resident data (dense, shifted, or as nonzeros by row and by column for the sparse first
 * layer) with their labels or targets. A threaded session lays a second set of sparse buffers and
 * has a Worker gather the next step's nonzeros into it while the calling thread computes the step
 * before (see {@linkcode columnsArgs}).
 *
 * @module
 */
import type { ShiftAugment } from "../../ops/shift.ts";
import { gatherShifted, type ShiftTarget } from "./_shift_gather.ts";
import { makeSparseBuffers, makeWorkspace, type SparseMode, type Workspace } from "./_forward.ts";
import type { WasmHeap, WasmKernels } from "./_kernels.ts";
import type { WasmLayout } from "./_layout.ts";
import type { LossHead } from "./_loss.ts";
import type { ResidentInputs } from "./_upload.ts";

/** Row width from which a batch row is gathered with one `copyWithin` rather than a loop. */
const COPY_MIN = 32;

/** Addresses of the per-batch buffers (re-laid when a plan brings a larger batch). */
export interface Batch {
  readonly indices: number; // [capacity] i32
  readonly labels: number; // [capacity] i32 (labels)
  readonly targets: number; // [capacity, outDim] (regression or soft targets)
  readonly ws: Workspace;
  /**
   * `ws` with a second set of sparse buffers, which a Worker fills with the next step's nonzeros
   * while `ws`'s are in use (null without the sparse path or without a Worker to fill them).
   */
  readonly ahead: Workspace | null;
}

/** The resident data a batch is gathered from. */
export interface Source extends ResidentInputs {
  readonly labels: number; // [n] i32 (softmax head with labels)
  readonly targets: number; // [n, outDim] (linear head; soft targets)
}

/** What of a session the gather reads. */
export interface GatherSetup {
  readonly layout: WasmLayout;
  readonly head: LossHead;
  readonly augment?: { readonly shift: ShiftAugment; readonly seedKey: number };
}

/** What the gather works on: views of the memory, the kernels, the session's setup and buffers. */
export interface GatherContext {
  readonly f32: Float32Array;
  readonly i32: Int32Array;
  readonly k: WasmKernels["sparse"];
  readonly setup: GatherSetup;
  readonly res: Source;
  readonly batch: Batch;
}

/**
 * Allocates a batch of up to `capacity` rows in `heap`, with the sparse buffers `ahead` too when
 * `ahead` (and the first layer is sparse, and the batches are not shifted).
 */
export function layBatch(
  heap: WasmHeap,
  setup: GatherSetup,
  sparse: SparseMode,
  capacity: number,
  ahead: boolean,
): Batch {
  const { layout, head } = setup;
  const labelled = head.kind === "labels";
  const ws = makeWorkspace(heap, layout, capacity, sparse, true);
  return {
    indices: heap.alloc(capacity),
    labels: heap.alloc(labelled ? capacity : 0),
    targets: heap.alloc(labelled ? 0 : capacity * layout.outDim),
    ws,
    // Shifted batches are gathered on the calling thread (gatherShifted): no second set for them.
    ahead: ahead && ws.sparse !== null && setup.augment === undefined
      ? { ...ws, sparse: makeSparseBuffers(heap, layout, capacity, sparse) }
      : null,
  };
}

/**
 * The arguments of `gather_columns` (wasm/sparse.wat) that gather rows `indices[start ..
 * start + rows)` of the resident nonzeros into `ws`'s sparse buffers, by row and by column, after
 * writing the indices into the batch's index buffer (which only this gather reads). Null when the
 * batch is not gathered that way (dense data, or shifted rows).
 */
export function columnsArgs(
  { i32, setup, res, batch }: GatherContext,
  ws: Workspace,
  indices: Int32Array,
  start: number,
  rows: number,
): number[] | null {
  const sparse = ws.sparse;
  if (setup.augment !== undefined || sparse === null || res.csr === null) return null;
  const idx = batch.indices >>> 2;
  for (let b = 0; b < rows; b++) i32[idx + b] = indices[start + b];
  const from = res.csr;
  const { layout } = setup;
  const bytes = 4 * layout.layers[0].outDim; // of a weight row and of a delta row
  return [
    from.rowStart,
    from.cols,
    from.values,
    batch.indices,
    rows,
    sparse.rowStart,
    sparse.cols,
    sparse.values,
    layout.inDim,
    sparse.colStart,
    sparse.colRows,
    sparse.colValues,
    bytes,
  ];
}

/**
 * Copies rows `indices[start .. start + rows)` of the resident inputs into `ws` (dense, or as
 * nonzeros by row and by column), shifted by the step's draws when the session augments.
 */
export function gatherInputs(
  g: GatherContext,
  ws: Workspace,
  indices: Int32Array,
  start: number,
  rows: number,
  step: number,
): void {
  const { f32, i32, k, setup, res } = g;
  const { layout, augment } = setup;
  const inDim = layout.inDim;
  const sparse = ws.sparse;
  const args = columnsArgs(g, ws, indices, start, rows);
  if (args !== null) {
    (k.gather_columns as (...args: number[]) => void)(...args);
  } else if (augment !== undefined) {
    const target: ShiftTarget = sparse !== null && res.csr !== null
      ? { kind: "sparse", from: res.csr, into: sparse }
      : { kind: "dense", x: res.x, into: ws.acts[0] };
    gatherShifted(f32, i32, augment.shift, augment.seedKey, step, indices, start, rows, target);
    if (sparse !== null) {
      const { rowStart, cols, values, colStart, colRows, colValues } = sparse;
      const bytes = 4 * layout.layers[0].outDim;
      k.csr_to_csc(rowStart, cols, values, rows, inDim, colStart, colRows, colValues, bytes);
    }
  } else {
    const x = res.x >>> 2;
    const to = ws.acts[0] >>> 2;
    for (let b = 0; b < rows; b++) {
      const from = x + indices[start + b] * inDim;
      const into = to + b * inDim;
      // A call of copyWithin costs more than a short row's element loop (the tutorial's 2).
      if (inDim < COPY_MIN) { for (let i = 0; i < inDim; i++) f32[into + i] = f32[from + i]; }
      else f32.copyWithin(into, from, from + inDim);
    }
  }
}

/** Copies the labels or targets of rows `indices[start .. start + rows)` into the batch. */
export function gatherTargets(
  { f32, i32, setup, res, batch }: GatherContext,
  indices: Int32Array,
  start: number,
  rows: number,
): void {
  if (setup.head.kind === "labels") {
    const labels = res.labels >>> 2;
    const into = batch.labels >>> 2;
    for (let b = 0; b < rows; b++) i32[into + b] = i32[labels + indices[start + b]];
  } else {
    const outDim = setup.layout.outDim;
    const targets = res.targets >>> 2;
    const into = batch.targets >>> 2;
    for (let b = 0; b < rows; b++) {
      const from = targets + indices[start + b] * outDim;
      for (let o = 0; o < outDim; o++) f32[into + b * outDim + o] = f32[from + o];
    }
  }
}
