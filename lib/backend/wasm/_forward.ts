/**
 * The forward and backward passes of one model in WebAssembly, over buffers laid out in a
 * {@linkcode WasmHeap}: the layer loop that sessions and prediction share. The first layer takes
 * the sparse path (wasm/sparse.wat) when the workspace holds compressed inputs.
 *
 * @module
 */
import { ACTIVATION_CODES, type WasmLayout } from "./_layout.ts";
import type { WasmHeap, WasmKernels } from "./_kernels.ts";

/** The nonzeros of a batch of first-layer inputs, by row and (for training) by column. */
export interface SparseBuffers {
  /** [capacity + 1] i32. */
  readonly rowStart: number;
  /** [capacity * inDim] i32 and f32. */
  readonly cols: number;
  readonly values: number;
  /** [inDim + 1] i32 (0 when rows only). */
  readonly colStart: number;
  /** [capacity * inDim] i32 and f32 (0 when rows only). */
  readonly colRows: number;
  readonly colValues: number;
}

/** Addresses of the buffers of batches of up to `capacity` rows. */
export interface Workspace {
  readonly capacity: number;
  /** acts[l]: [capacity, width l] (acts[0] is 0 when the inputs are read in place or sparse). */
  readonly acts: number[];
  /** deltas[l] (l >= 1): [capacity, width l] gradient with respect to layer l-1's pre-activation. */
  readonly deltas: number[];
  /** [largest hidden in * out] W transposed, for the input gradients. */
  readonly scratch: number;
  /** One f32: the correct count of the last loss. */
  readonly correct: number;
  /** The sparse first layer's buffers, or null when dense. */
  readonly sparse: SparseBuffers | null;
}

/** Whether a workspace holds sparse first-layer inputs: none, by row (prediction), or both ways. */
export type SparseMode = "none" | "rows" | "rows+columns";

/**
 * Allocates a workspace in `heap`.
 *
 * @param heap Where.
 * @param layout The network.
 * @param capacity Largest batch.
 * @param sparse Whether the first layer is sparse.
 * @param ownInput Whether acts[0] gets a buffer (dense training batches are gathered into it).
 * @returns The addresses.
 */
export function makeWorkspace(
  heap: WasmHeap,
  layout: WasmLayout,
  capacity: number,
  sparse: SparseMode,
  ownInput: boolean,
): Workspace {
  const layers = layout.layers;
  const acts = [ownInput && sparse === "none" ? heap.alloc(capacity * layout.inDim) : 0];
  const deltas = [0];
  let scratch = 0;
  for (const layer of layers) {
    acts.push(heap.alloc(capacity * layer.outDim));
    deltas.push(heap.alloc(capacity * layer.outDim));
    if (layer.index > 0) scratch = Math.max(scratch, layer.inDim * layer.outDim);
  }
  const size = capacity * layout.inDim;
  const columns = sparse === "rows+columns";
  return {
    capacity,
    acts,
    deltas,
    scratch: heap.alloc(scratch),
    correct: heap.alloc(4),
    sparse: sparse === "none" ? null : {
      rowStart: heap.alloc(capacity + 1),
      cols: heap.alloc(size),
      values: heap.alloc(size),
      colStart: columns ? heap.alloc(layout.inDim + 1) : 0,
      colRows: columns ? heap.alloc(size) : 0,
      colValues: columns ? heap.alloc(size) : 0,
    },
  };
}

/**
 * Forward pass of `rows` rows (at `input`, or the workspace's sparse rows) through the model whose
 * parameters start at `params`; the last layer's pre-activation stays in `ws.acts[depth]`.
 */
export function forwardRows(
  k: WasmKernels,
  layout: WasmLayout,
  ws: Workspace,
  input: number,
  params: number,
  rows: number,
): void {
  const { acts, sparse } = ws;
  for (const layer of layout.layers) {
    const l = layer.index;
    const act = ACTIVATION_CODES[layer.activation];
    const w = params + 4 * layer.weightOffset;
    const b = params + 4 * layer.biasOffset;
    if (l === 0 && sparse !== null) {
      const { rowStart, cols, values } = sparse;
      k.sparse.csr_forward(rowStart, cols, values, rows, w, b, layer.outDim, acts[1], act);
    } else {
      const x = l === 0 ? input : acts[l];
      k.dense.gemm(x, rows, layer.inDim, w, b, layer.outDim, acts[l + 1], act);
    }
  }
}

/**
 * Backward pass from `ws.deltas[depth]` (set by the loss): writes the gradient of one model into
 * `grad` ([paramCount] at that address, overwritten); the gradient with respect to the network's
 * input is never computed.
 */
export function backwardRows(
  k: WasmKernels,
  layout: WasmLayout,
  ws: Workspace,
  input: number,
  params: number,
  rows: number,
  grad: number,
): void {
  const { acts, deltas, sparse } = ws;
  const layers = layout.layers;
  for (let l = layers.length - 1; l >= 0; l--) {
    const { inDim, outDim, weightOffset, biasOffset } = layers[l];
    const delta = deltas[l + 1];
    const gw = grad + 4 * weightOffset;
    if (l === 0 && sparse !== null) {
      const { colStart, colRows, colValues } = sparse;
      k.sparse.csc_grad(colStart, colRows, colValues, inDim, delta, outDim, gw);
    } else {
      k.dense.gemm_tn(l === 0 ? input : acts[l], rows, inDim, delta, outDim, gw);
    }
    k.dense.bias_grad(delta, rows, outDim, grad + 4 * biasOffset);
    if (l === 0) break;
    const act = ACTIVATION_CODES[layers[l - 1].activation];
    const w = params + 4 * weightOffset;
    k.dense.backprop(delta, rows, outDim, w, inDim, acts[l], act, deltas[l], ws.scratch);
  }
}
