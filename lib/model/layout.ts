/**
 * THE parameter layout, the one place where offsets and widths are computed (the way llm.c's
 * `fill_in_parameter_sizes` is): every backend, snapshot file and view reads `paramLayout(spec)`.
 *
 * One model's parameters are one flat `Float32Array`; for each dense layer `l` (in order), the
 * weights `[inDim, outDim]` row-major (Keras' kernel layout: `z = x @ W + b`) followed by the bias
 * `[outDim]`. Stacked models (replicas, ensemble members) follow one another: `[replicas, P]`.
 *
 * @module
 */
import type { Activation } from "../ops/activation.ts";
import type { ModelSpec } from "./spec.ts";

/** One dense layer's place in the flat parameter vector, with what follows it. */
export interface DenseLayout {
  /** Index among the dense layers (the `l` of the tensor names `layers.{l}.weight`). */
  readonly index: number;
  /** Input width. */
  readonly inDim: number;
  /** Output width. */
  readonly outDim: number;
  /** Offset of the weights `[inDim, outDim]` in one model's vector. */
  readonly weightOffset: number;
  /** Offset of the bias `[outDim]` in one model's vector. */
  readonly biasOffset: number;
  /** The activation after it (`"linear"` for the last: the head gives the output function). */
  readonly activation: Activation;
  /** The dropout rate after its activation (0 when none). */
  readonly dropout: number;
}

/** The parameter layout of one model. */
export interface ParamLayout {
  /** Length of one model's flat parameter vector. */
  readonly paramCount: number;
  /** Width of one input sample. */
  readonly inDim: number;
  /** Width of the output (classes or regression targets). */
  readonly outDim: number;
  /** The dense layers in order. */
  readonly layers: ReadonlyArray<DenseLayout>;
}

const LAYOUTS = new WeakMap<ModelSpec, ParamLayout>();

function computeLayout(spec: ModelSpec): ParamLayout {
  const layers: DenseLayout[] = [];
  let inDim = spec.inputs;
  let offset = 0;
  for (const layer of spec.layers) {
    if (layer.kind === "dense") {
      const weightOffset = offset;
      const biasOffset = offset + inDim * layer.units;
      offset = biasOffset + layer.units;
      layers.push({
        index: layers.length,
        inDim,
        outDim: layer.units,
        weightOffset,
        biasOffset,
        activation: "linear",
        dropout: 0,
      });
      inDim = layer.units;
    } else if (layer.kind === "dropout") {
      const last = layers.length - 1;
      layers[last] = { ...layers[last], dropout: layer.rate };
    } else {
      const last = layers.length - 1;
      layers[last] = { ...layers[last], activation: layer.kind };
    }
  }
  return { paramCount: offset, inDim: spec.inputs, outDim: inDim, layers };
}

/**
 * The parameter layout of a network, computed once per spec object (memoised).
 *
 * @example
 * ```ts
 * import { dense, dropout, paramLayout, sequential, tanh } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = sequential({ inputs: 2, layers: [dense(4), tanh(), dropout(0.5), dense(3)] });
 * const layout = paramLayout(spec);
 * assert.equal(layout.paramCount, 2 * 4 + 4 + 4 * 3 + 3);
 * assert.deepEqual(layout.layers[0], {
 *   index: 0, inDim: 2, outDim: 4, weightOffset: 0, biasOffset: 8, activation: "tanh", dropout: 0.5,
 * });
 * assert.equal(layout.layers[1].activation, "linear");
 * assert.equal(paramLayout(spec), layout); // the same object every time
 * ```
 *
 * @param spec The network.
 * @returns Its layout.
 */
export function paramLayout(spec: ModelSpec): ParamLayout {
  let layout = LAYOUTS.get(spec);
  if (layout === undefined) {
    layout = computeLayout(spec);
    LAYOUTS.set(spec, layout);
  }
  return layout;
}

/**
 * Number of parameters of one model: the sum over dense layers of `inDim * outDim + outDim`.
 *
 * @example
 * ```ts
 * import { mlp, paramCount } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.equal(paramCount(mlp({ layers: [784, 256, 10] })), 784 * 256 + 256 + 256 * 10 + 10);
 * ```
 *
 * @param spec The network.
 * @returns The length of one model's flat parameter vector.
 */
export function paramCount(spec: ModelSpec): number {
  return paramLayout(spec).paramCount;
}

/**
 * Width of the network's input: the number of features of one sample.
 *
 * @example
 * ```ts
 * import { inputDim, mlp } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.equal(inputDim(mlp({ layers: [2, 25, 3] })), 2);
 * ```
 *
 * @param spec The network.
 * @returns The first layer's input width.
 */
export function inputDim(spec: ModelSpec): number {
  return paramLayout(spec).inDim;
}

/**
 * Width of the network's output: the number of classes (softmax head) or of regression targets.
 *
 * @example
 * ```ts
 * import { mlp, outputDim } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.equal(outputDim(mlp({ layers: [2, 25, 3] })), 3);
 * ```
 *
 * @param spec The network.
 * @returns The last dense layer's width.
 */
export function outputDim(spec: ModelSpec): number {
  return paramLayout(spec).outDim;
}

/**
 * The widths of the activations from input to output: the input width, then each dense layer's.
 *
 * @example
 * ```ts
 * import { denseWidths, mlp } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(denseWidths(mlp({ layers: [2, 25, 3] })), [2, 25, 3]);
 * ```
 *
 * @param spec The network.
 * @returns `[inDim, outDim of dense 0, outDim of dense 1, ...]`.
 */
export function denseWidths(spec: ModelSpec): number[] {
  const layout = paramLayout(spec);
  return [layout.inDim, ...layout.layers.map((l) => l.outDim)];
}

/** Where one layer's tensors live in the flat parameter vector. */
export interface LayerView {
  /** Input width. */
  readonly inDim: number;
  /** Output width. */
  readonly outDim: number;
  /** Offset of the weights in the flat vector. */
  readonly weightOffset: number;
  /** Offset of the bias in the flat vector. */
  readonly biasOffset: number;
  /** [inDim, outDim] view of the weights (shares memory with the flat vector). */
  readonly weights: Float32Array;
  /** [outDim] view of the bias (shares memory with the flat vector). */
  readonly bias: Float32Array;
}

/**
 * Views of each dense layer's weights and bias inside a flat (possibly stacked) parameter vector.
 *
 * @example Writing a bias through its view
 * ```ts
 * import { layerViews, mlp, paramCount } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 3, 2] });
 * const params = new Float32Array(2 * paramCount(spec)); // two stacked replicas
 * const views = layerViews(spec, params, 1);
 * assert.equal(views[0].weightOffset, paramCount(spec));
 * views[1].bias[0] = 5;
 * assert.equal(params[paramCount(spec) + 2 * 3 + 3 + 3 * 2], 5);
 * ```
 *
 * @param spec The network.
 * @param params [replicas, paramCount(spec)] parameters.
 * @param replica Which stacked model to view (default 0).
 * @returns One view per dense layer, sharing memory with `params`.
 * @throws {RangeError} when `params` is too short for that replica.
 */
export function layerViews(spec: ModelSpec, params: Float32Array, replica = 0): LayerView[] {
  const layout = paramLayout(spec);
  const count = layout.paramCount;
  const base = replica * count;
  if (!Number.isSafeInteger(replica) || replica < 0 || base + count > params.length) {
    throw new RangeError(
      `Cannot view layers: replica ${replica} needs ${
        base + count
      } parameters: got ${params.length}`,
    );
  }
  return layout.layers.map(({ inDim, outDim, weightOffset, biasOffset }) => ({
    inDim,
    outDim,
    weightOffset: base + weightOffset,
    biasOffset: base + biasOffset,
    weights: params.subarray(base + weightOffset, base + biasOffset),
    bias: params.subarray(base + biasOffset, base + biasOffset + outDim),
  }));
}
