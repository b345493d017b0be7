/**
 * The WebAssembly backend's one reading of the model spec: the layer list it runs. Everything else
 * in `lib/backend/wasm/` sees only this shape, which is the shape of the model's `paramLayout(spec)`
 * (issue 9), so switching to it is one line here.
 *
 * @module
 */
import type { MlpSpec } from "../../model.ts";

/** A layer's activation, or `"linear"` (the last layer, whose head applies its own function). */
export type LayerActivation = "relu" | "tanh" | "sigmoid" | "linear";

/** One dense layer of the flat parameter vector. */
export interface WasmLayer {
  /** Position from the input, 0-based. */
  readonly index: number;
  /** Input width. */
  readonly inDim: number;
  /** Output width. */
  readonly outDim: number;
  /** Offset (in floats) of the [inDim, outDim] weights in one model's parameters. */
  readonly weightOffset: number;
  /** Offset (in floats) of the [outDim] bias. */
  readonly biasOffset: number;
  /** The activation after the layer (`"linear"` on the last one). */
  readonly activation: LayerActivation;
  /** Dropout rate after the layer (0 when none). */
  readonly dropout: number;
}

/** The parameter layout and the layers of a network. */
export interface WasmLayout {
  /** Parameters of one model. */
  readonly paramCount: number;
  /** Input width. */
  readonly inDim: number;
  /** Output width. */
  readonly outDim: number;
  /** The layers from input to output. */
  readonly layers: ReadonlyArray<WasmLayer>;
}

/** Activation codes of the kernels in `wasm/` (the WGSL `ACT` code space). */
export const ACTIVATION_CODES: Readonly<Record<LayerActivation, number>> = {
  linear: 0,
  relu: 1,
  tanh: 2,
  sigmoid: 3,
};

/**
 * The layer list of a spec: weights then bias per layer, hidden layers with the spec's activation,
 * the last one linear, no dropout.
 *
 * @example
 * ```ts
 * import { wasmLayout } from "./_layout.ts";
 * import { mlp } from "../../model.ts";
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
  const widths = spec.layers;
  const layers: WasmLayer[] = [];
  let offset = 0;
  for (let l = 0; l + 1 < widths.length; l++) {
    const inDim = widths[l];
    const outDim = widths[l + 1];
    layers.push({
      index: l,
      inDim,
      outDim,
      weightOffset: offset,
      biasOffset: offset + inDim * outDim,
      activation: l + 2 < widths.length ? spec.activation : "linear",
      dropout: 0,
    });
    offset += inDim * outDim + outDim;
  }
  return { paramCount: offset, inDim: widths[0], outDim: widths[widths.length - 1], layers };
}
