/**
 * The layers a sequential model is built from: a discriminated union on `kind` and one
 * constructor per kind. `dense(units)` holds parameters; an activation layer applies one of the
 * activations of lib/ops/activation.ts; `dropout(rate)` zeroes units at random in training.
 *
 * @module
 */
import type { Activation } from "../ops/activation.ts";

/** A fully connected layer: `z = x @ W + b` with `W` of shape `[inDim, units]` (Keras' layout). */
export interface DenseLayer {
  /** The layer kind. */
  readonly kind: "dense";
  /** Output width. */
  readonly units: number;
}

/** An activation applied to the output of the dense layer before it. */
export interface ActivationLayer {
  /** The activation (a key of `ACTIVATIONS`). */
  readonly kind: Activation;
}

/**
 * Inverted dropout (Srivastava et al., JMLR 15, 2014): in training each unit is kept with
 * probability `1 - rate` and scaled by `1 / (1 - rate)`; in prediction it is the identity.
 */
export interface DropoutLayer {
  /** The layer kind. */
  readonly kind: "dropout";
  /** Probability of dropping a unit, in [0, 1). */
  readonly rate: number;
}

/** One layer of a sequential model. */
export type Layer = DenseLayer | ActivationLayer | DropoutLayer;

/** Every layer kind. */
export type LayerKind = Layer["kind"];

/**
 * A dense layer of `units` outputs.
 *
 * @example
 * ```ts
 * import { dense } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(dense(25), { kind: "dense", units: 25 });
 * ```
 *
 * @param units Output width (a positive integer; checked by `sequential`).
 * @returns The layer.
 */
export function dense(units: number): DenseLayer {
  return { kind: "dense", units };
}

/**
 * A ReLU activation layer: `max(z, 0)` (NaN stays NaN).
 *
 * @example
 * ```ts
 * import { relu } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(relu(), { kind: "relu" });
 * ```
 *
 * @returns The layer.
 */
export function relu(): ActivationLayer {
  return { kind: "relu" };
}

/**
 * A hyperbolic-tangent activation layer.
 *
 * @example
 * ```ts
 * import { tanh } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(tanh(), { kind: "tanh" });
 * ```
 *
 * @returns The layer.
 */
export function tanh(): ActivationLayer {
  return { kind: "tanh" };
}

/**
 * A logistic-sigmoid activation layer.
 *
 * @example
 * ```ts
 * import { sigmoid } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(sigmoid(), { kind: "sigmoid" });
 * ```
 *
 * @returns The layer.
 */
export function sigmoid(): ActivationLayer {
  return { kind: "sigmoid" };
}

/**
 * The identity as an explicit activation layer (what `mlp` with `activation: "linear"` puts
 * between its dense layers).
 *
 * @example
 * ```ts
 * import { linear } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(linear(), { kind: "linear" });
 * ```
 *
 * @returns The layer.
 */
export function linear(): ActivationLayer {
  return { kind: "linear" };
}

/**
 * An inverted-dropout layer: in training each unit is kept with probability `1 - rate` and scaled
 * by `1 / (1 - rate)`; in prediction it is the identity. The masks come from a counter-based
 * generator (lib/ops/dropout.ts), so every backend draws the same ones.
 *
 * @example
 * ```ts
 * import { dense, dropout, relu, sequential } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = sequential({ inputs: 2, layers: [dense(25), relu(), dropout(0.2), dense(3)] });
 * assert.deepEqual(spec.layers[2], { kind: "dropout", rate: 0.2 });
 * ```
 *
 * @param rate Probability of dropping a unit, in [0, 1) (checked by `sequential`).
 * @returns The layer.
 */
export function dropout(rate: number): DropoutLayer {
  return { kind: "dropout", rate };
}
