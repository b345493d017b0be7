/**
 * The WebAssembly backend's one reading of the model spec: the model's own `paramLayout(spec)` and
 * the activation codes of its kernels (the code space of `ACTIVATIONS`, shared with the CPU kernels
 * and the WGSL `ACT` override).
 *
 * @module
 */
import { type DenseLayout, type MlpSpec, type ParamLayout, paramLayout } from "../../model/mod.ts";
import { type Activation, ACTIVATIONS } from "../../ops/activation.ts";

/** A layer's activation, or `"linear"` (the last layer, whose head applies its own function). */
export type LayerActivation = Activation;

/** One dense layer of the flat parameter vector. */
export type WasmLayer = DenseLayout;

/** The parameter layout and the layers of a network. */
export type WasmLayout = ParamLayout;

/** Activation codes of the kernels in `wasm/` (the table's code space). */
export const ACTIVATION_CODES: Readonly<Record<LayerActivation, number>> = Object.fromEntries(
  Object.entries(ACTIVATIONS).map(([name, def]) => [name, def.code]),
) as Record<LayerActivation, number>;

/**
 * The layer list of a spec: its `paramLayout`.
 *
 * @example
 * ```ts
 * import { wasmLayout } from "./_layout.ts";
 * import { mlp } from "../../model/mod.ts";
 * import assert from "node:assert/strict";
 *
 * const layout = wasmLayout(mlp({ layers: [2, 3, 4], activation: "tanh" }));
 * assert.equal(layout.paramCount, 2 * 3 + 3 + 3 * 4 + 4);
 * assert.deepEqual(layout.layers.map((l) => [l.weightOffset, l.biasOffset, l.activation]), [
 *   [0, 6, "tanh"],
 *   [9, 21, "linear"],
 * ]);
 * ```
 *
 * @param spec A validated network.
 * @returns Its layout.
 */
export function wasmLayout(spec: MlpSpec): WasmLayout {
  return paramLayout(spec);
}
