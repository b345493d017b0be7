/**
 * The forward and backward passes of one model in WebAssembly, over buffers laid out in a
 * {@linkcode WasmHeap}: the layer loop that sessions and prediction share. The first layer takes
 * the sparse path (wasm/sparse.wat) when the workspace holds compressed inputs. A training pass
 * draws the dropout masks (wasm/dropout.wat) as the CPU backend's does (lib/backend/cpu/
 * _workspace.ts): the activation, then the mask; backward, the activation's derivative taken
 * before the mask, then the mask again. Prediction never drops.
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
  /**
   * pre[l] (l >= 1): [capacity, width l] layer l-1's activations before its dropout, which the
   * backward pass differentiates (0 without dropout, and in a prediction workspace).
   */
  readonly pre: number[];
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
 * @param training Whether a session trains in it: acts[0] gets a buffer (dense batches are gathered
 *   into it), and each dropout layer its buffer of activations before the mask.
 * @returns The addresses.
 */
export function makeWorkspace(
  heap: WasmHeap,
  layout: WasmLayout,
  capacity: number,
  sparse: SparseMode,
  training: boolean,
): Workspace {
  const layers = layout.layers;
  const acts = [training && sparse === "none" ? heap.alloc(capacity * layout.inDim) : 0];
  const deltas = [0];
  const pre = [0];
  let scratch = 0;
  for (const layer of layers) {
    acts.push(heap.alloc(capacity * layer.outDim));
    deltas.push(heap.alloc(capacity * layer.outDim));
    pre.push(training && layer.dropout > 0 ? heap.alloc(capacity * layer.outDim) : 0);
    if (layer.index > 0) scratch = Math.max(scratch, layer.inDim * layer.outDim);
  }
  return {
    capacity,
    acts,
    deltas,
    pre,
    scratch: heap.alloc(scratch),
    correct: heap.alloc(4),
    sparse: makeSparseBuffers(heap, layout, capacity, sparse),
  };
}

/** Allocates the sparse first layer's buffers of batches of up to `capacity` rows (or none). */
export function makeSparseBuffers(
  heap: WasmHeap,
  layout: WasmLayout,
  capacity: number,
  sparse: SparseMode,
): SparseBuffers | null {
  if (sparse === "none") return null;
  const size = capacity * layout.inDim;
  const columns = sparse === "rows+columns";
  return {
    rowStart: heap.alloc(capacity + 1),
    cols: heap.alloc(size),
    values: heap.alloc(size),
    colStart: columns ? heap.alloc(layout.inDim + 1) : 0,
    colRows: columns ? heap.alloc(size) : 0,
    colValues: columns ? heap.alloc(size) : 0,
  };
}

/** Which dropout masks a training pass draws: the session's seed key, global step and replica. */
export interface Draw {
  /** `dropoutSeedKey(seed)` of the session. */
  seedKey: number;
  step: number;
  replica: number;
}

/**
 * Forward pass of `rows` rows (at `input`, or the workspace's sparse rows) through the model whose
 * parameters start at `params`; the last layer's pre-activation stays in `ws.acts[depth]`. With
 * `draw` (training, in a training workspace) dropout layers draw their masks; without it
 * (prediction) they are the identity.
 */
export function forwardRows(
  k: WasmKernels,
  layout: WasmLayout,
  ws: Workspace,
  input: number,
  params: number,
  rows: number,
  draw: Draw | null = null,
): void {
  const { acts, pre, sparse } = ws;
  for (const layer of layout.layers) {
    const l = layer.index;
    const act = ACTIVATION_CODES[layer.activation];
    const w = params + 4 * layer.weightOffset;
    const b = params + 4 * layer.biasOffset;
    const dropped = draw !== null && layer.dropout > 0;
    const out = dropped ? pre[l + 1] : acts[l + 1];
    if (l === 0 && sparse !== null) {
      const { rowStart, cols, values } = sparse;
      k.sparse.csr_forward(rowStart, cols, values, rows, w, b, layer.outDim, out, act);
    } else {
      const x = l === 0 ? input : acts[l];
      k.dense.gemm(x, rows, layer.inDim, w, b, layer.outDim, out, act);
    }
    if (dropped) {
      const { seedKey, step, replica } = draw;
      k.dropout.dropout(
        out,
        rows,
        layer.outDim,
        seedKey,
        step,
        replica,
        l,
        layer.dropout,
        acts[l + 1],
      );
    }
  }
}

/**
 * Backward pass from `ws.deltas[depth]` (set by the loss): writes the gradient of one model into
 * `grad` ([paramCount] at that address, overwritten), through the masks that `draw` drew in the
 * forward pass before it; the gradient with respect to the network's input is never computed.
 */
export function backwardRows(
  k: WasmKernels,
  layout: WasmLayout,
  ws: Workspace,
  input: number,
  params: number,
  rows: number,
  grad: number,
  draw: Draw,
): void {
  const { acts, deltas, pre, sparse } = ws;
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
    const { activation, dropout: rate } = layers[l - 1];
    const act = ACTIVATION_CODES[activation];
    const w = params + 4 * weightOffset;
    const a = rate > 0 ? pre[l] : acts[l];
    k.dense.backprop(delta, rows, outDim, w, inDim, a, act, deltas[l], ws.scratch);
    if (rate > 0) {
      const { seedKey, step, replica } = draw;
      k.dropout.dropout(deltas[l], rows, inDim, seedKey, step, replica, l - 1, rate, deltas[l]);
    }
  }
}
