/**
 * The one place where the exporters read a model spec, and the structural types they take.
 *
 * The exporters see a network only as this layer list: the model's `paramLayout(spec)`.
 *
 * @module
 */
import { type MlpSpec, paramLayout } from "../model/mod.ts";

/** A per-layer activation, as the exporters name it (the last dense layer's is `"linear"`). */
export type ExportActivation = "linear" | "relu" | "tanh" | "sigmoid";

/** The activations every export format represents; any other is refused by name. */
export const EXPORT_ACTIVATIONS: ReadonlyArray<ExportActivation> = [
  "linear",
  "relu",
  "tanh",
  "sigmoid",
];

/** One dense layer: where its tensors sit in the flat parameters, and what follows it. */
export interface ExportDense {
  /** 0-based position among the dense layers. */
  readonly index: number;
  /** Input width. */
  readonly inDim: number;
  /** Output width. */
  readonly outDim: number;
  /** Offset of the `[inDim, outDim]` row-major (Keras) kernel in the flat parameters. */
  readonly weightOffset: number;
  /** Offset of the `[outDim]` bias in the flat parameters. */
  readonly biasOffset: number;
  /** Activation applied after the layer. */
  readonly activation: ExportActivation;
  /** Dropout rate applied after the activation (0: none); inference treats it as the identity. */
  readonly dropout: number;
}

/** A network as a list of dense layers (the shape of the redesign's `paramLayout`). */
export interface ExportLayout {
  /** Number of parameters of one member. */
  readonly paramCount: number;
  /** Input width. */
  readonly inDim: number;
  /** Output width. */
  readonly outDim: number;
  /** The dense layers, input to output. */
  readonly layers: ReadonlyArray<ExportDense>;
}

/** What an exporter needs of one snapshot. */
export interface ExportSnapshot {
  /** The network (its `head` says how the output is read). */
  readonly spec: MlpSpec;
  /** The flat parameters in the spec's layout. */
  readonly params: Float32Array;
  /** 1-based position among the run's snapshots. */
  readonly index: number;
  /** Epoch the snapshot was taken in. */
  readonly epoch: number;
  /** Optimizer step the snapshot was taken after. */
  readonly step: number;
  /** Learning rate of that step. */
  readonly lr: number;
}

/** What an exporter needs of an ensemble (an `Ensemble` satisfies it). */
export interface ExportEnsemble {
  /** The members, all of one network. */
  readonly members: ReadonlyArray<ExportSnapshot>;
  /** One weight per member, summing to 1. */
  readonly weights: ArrayLike<number>;
  /** The combination rule. */
  readonly vote: "soft" | "hard";
  /** Temperature applied to the log of the combined probabilities, when set (1: none). */
  readonly temperature?: number;
}

/**
 * The ensemble's temperature when it changes anything: `undefined` for none or 1 (an `Ensemble`
 * always carries one, 1 by default).
 */
export function temperatureOf(e: ExportEnsemble): number | undefined {
  return e.temperature === undefined || e.temperature === 1 ? undefined : e.temperature;
}

/**
 * The layer list of a spec: the model's own `paramLayout` (per-layer activations, `"linear"` after
 * the last dense layer, the dropout rate after each).
 *
 * @example
 * ```ts
 * import { mlp } from "@snapfold/snapfold";
 * import { exportLayout } from "@snapfold/snapfold/export";
 * import assert from "node:assert/strict";
 *
 * const layout = exportLayout(mlp({ layers: [2, 4, 3], activation: "tanh" }));
 * assert.equal(layout.paramCount, 2 * 4 + 4 + 4 * 3 + 3);
 * assert.deepEqual(layout.layers.map((l) => l.activation), ["tanh", "linear"]);
 * assert.equal(layout.layers[1].weightOffset, 12);
 * ```
 *
 * @param spec The network.
 * @returns Its dense layers with their parameter offsets.
 */
export function exportLayout(spec: MlpSpec): ExportLayout {
  return paramLayout(spec);
}

/**
 * How a spec's output is read: `"softmax"` (class probabilities) or `"linear"` (a regressor).
 *
 * @example
 * ```ts
 * import { mlp } from "@snapfold/snapfold";
 * import { exportHead } from "@snapfold/snapfold/export";
 * import assert from "node:assert/strict";
 *
 * assert.equal(exportHead(mlp({ layers: [2, 1], head: "linear" })), "linear");
 * ```
 *
 * @param spec The network.
 * @returns Its head.
 */
export function exportHead(spec: MlpSpec): "softmax" | "linear" {
  return spec.head;
}
