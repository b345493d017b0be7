/**
 * The multi-layer perceptron: its spec, the flat parameter layout, seeded initialisation and the
 * plain forward pass used for prediction.
 *
 * Parameter layout (shared by every backend and by snapshot files): one flat `Float32Array`; for each
 * layer `l` with `inDim = layers[l]`, `outDim = layers[l + 1]`, the weights `[inDim, outDim]`
 * row-major (Keras' kernel layout: `z = x @ W + b`) followed by the bias `[outDim]`.
 *
 * Hidden layers apply `activation`; the last layer is linear and the head decides what it means:
 * `"softmax"` is a classifier trained with softmax cross-entropy (fused and numerically stable),
 * `"linear"` a regressor trained with mean squared error (mean over samples and outputs).
 *
 * @module
 */

/** Hidden-layer activation. */
export type Activation = "relu" | "tanh" | "sigmoid" | "linear";
/** Output head: softmax with cross-entropy (classification) or linear with mean squared error. */
export type Head = "softmax" | "linear";
/** Weight initialisation: Glorot uniform (Keras' default) or He uniform. Biases start at zero. */
export type Init = "glorot" | "he";

/** A validated network description. */
export interface MlpSpec {
  /** Layer widths from input to output, e.g. `[2, 25, 3]`. */
  readonly layers: ReadonlyArray<number>;
  /** Hidden-layer activation. */
  readonly activation: Activation;
  /** Output head. */
  readonly head: Head;
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
