/**
 * Optimizer updates in WebAssembly (wasm/update.wat), by rule kind. A kind without an entry here
 * still trains: the session runs the rule's reference `update` (lib/optimizers/) on views of the
 * wasm memory, so a new optimizer works on this backend before it has a kernel.
 *
 * @module
 */
import type { AdamOptimizer, Optimizer, SgdOptimizer } from "../../optimizers/mod.ts";
import type { WasmKernels } from "./_kernels.ts";

/** Where one replica's update reads and writes (byte addresses) and the memory they are in. */
export interface UpdateTarget {
  /** This replica's parameters. */
  readonly params: number;
  /** Its gradient. */
  readonly grads: number;
  /** Its optimizer state. */
  readonly state: number;
  /** Parameters per replica. */
  readonly count: number;
  /** A view of the whole memory (for the few scalars the host keeps, such as Adam's step count). */
  readonly f32: Float32Array;
}

/** One replica's update of one step, in WebAssembly. */
export type WasmUpdate<O> = (k: WasmKernels, optimizer: O, at: UpdateTarget, lr: number) => void;

function sgdMode(o: SgdOptimizer): number {
  if (o.momentum === 0) return 0;
  return (o.convention === "keras" ? 1 : 3) + (o.nesterov ? 1 : 0);
}

const sgdUpdate: WasmUpdate<SgdOptimizer> = (k, o, at, lr) =>
  k.update.sgd(at.params, at.grads, at.state, at.count, lr, o.momentum, o.weightDecay, sgdMode(o));

// The step count and bias corrections exactly as the reference update computes them.
const adamUpdate: WasmUpdate<AdamOptimizer> = (k, o, at, lr) => {
  const tIndex = (at.state >>> 2) + 2 * at.count;
  const t = at.f32[tIndex] + 1;
  at.f32[tIndex] = t;
  const stepSize = lr / (1 - Math.pow(o.beta1, t));
  const correction2 = Math.sqrt(1 - Math.pow(o.beta2, t));
  const l2 = o.decoupled ? 0 : o.weightDecay;
  const shrink = o.decoupled ? 1 - lr * o.weightDecay : 1;
  k.update.adam(
    at.params,
    at.grads,
    at.state,
    at.state + 4 * at.count,
    at.count,
    stepSize,
    correction2,
    o.beta1,
    o.beta2,
    o.epsilon,
    l2,
    shrink,
  );
};

/** The kinds with a WebAssembly update (others take their rule's reference `update`). */
export const WASM_UPDATES: {
  readonly [K in Optimizer["kind"]]?: WasmUpdate<Extract<Optimizer, { readonly kind: K }>>;
} = { sgd: sgdUpdate, adam: adamUpdate };

/**
 * The WebAssembly update of an optimizer's kind, or `undefined` when it has none.
 *
 * @param optimizer The optimizer.
 * @returns Its update.
 */
export function wasmUpdateOf<O extends Optimizer>(optimizer: O): WasmUpdate<O> | undefined {
  return WASM_UPDATES[optimizer.kind as O["kind"]] as WasmUpdate<O> | undefined;
}
