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
import { check, type ConfigIssue, orThrow, type Validation, validation } from "./errors.ts";
import { activate, softmaxRows } from "./losses.ts";
import { randomState } from "./random.ts";

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
  /** Weight initialisation that `initParams` and the trainer use unless told otherwise (Glorot). */
  readonly init?: Init;
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

const ACTIVATIONS: ReadonlyArray<Activation> = ["relu", "tanh", "sigmoid", "linear"];
const HEADS: ReadonlyArray<Head> = ["softmax", "linear"];
const INITS: ReadonlyArray<Init> = ["glorot", "he"];

/** Options of {@linkcode mlp}. */
export interface MlpOptions {
  /** Layer widths from input to output, at least two, e.g. `[2, 25, 3]`. */
  readonly layers: ReadonlyArray<number>;
  /** Hidden-layer activation (default `"relu"`). */
  readonly activation?: Activation;
  /** Output head (default `"softmax"`). */
  readonly head?: Head;
  /** Weight initialisation: `"glorot"` uniform (Keras' default) or `"he"` uniform. */
  readonly init?: Init;
}

/**
 * Validates an MLP description, collecting every problem.
 *
 * @example
 * ```ts
 * import { validateMlp } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const result = validateMlp({ layers: [2, 0], activation: "gelu" as never });
 * assert.equal(result._tag, "Left");
 * if (result._tag === "Left") {
 *   assert.deepEqual(result.left.map((i) => i.field), ["layers", "activation"]);
 * }
 * ```
 *
 * @param options The layer widths, activation and head.
 * @returns The validated spec, or every issue found.
 */
export function validateMlp(options: MlpOptions): Validation<MlpSpec> {
  const { layers, activation = "relu", head = "softmax", init } = options ?? ({} as MlpOptions);
  const issues: ConfigIssue[] = [
    ...check.knownKeys(options, ["layers", "activation", "head", "init"]),
  ];
  if (!Array.isArray(layers) || layers.length < 2) {
    issues.push({
      field: "layers",
      message: "must list at least two layer widths (input and output), e.g. [2, 25, 3]",
      got: layers,
    });
  } else if (!layers.every((w) => typeof w === "number" && Number.isSafeInteger(w) && w >= 1)) {
    issues.push({ field: "layers", message: "must be positive integers", got: layers });
  } else if (head === "softmax" && layers[layers.length - 1] < 2) {
    issues.push({
      field: "layers",
      message:
        'must end with at least two classes for a softmax head (use head "linear" for one output)',
      got: layers,
    });
  }
  issues.push(...check.oneOf("activation", activation, ACTIVATIONS));
  issues.push(...check.oneOf("head", head, HEADS));
  if (init !== undefined) issues.push(...check.oneOf("init", init, ["glorot", "he"]));
  return validation(issues, {
    layers: issues.length === 0 ? [...layers] : layers,
    activation,
    head,
    ...(init === undefined ? {} : { init }),
  });
}

/**
 * Builds a validated MLP spec.
 *
 * @example The tutorial's network
 * ```ts
 * import { mlp, paramCount } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 25, 3] });
 * assert.equal(spec.activation, "relu");
 * assert.equal(spec.head, "softmax");
 * assert.equal(paramCount(spec), 2 * 25 + 25 + 25 * 3 + 3);
 * assert.throws(() => mlp({ layers: [2, 1.5, 3] }), /Cannot build MLP: layers must be positive integers/);
 * ```
 *
 * @param options The layer widths, activation (default `"relu"`) and head (default `"softmax"`).
 * @returns The spec.
 * @throws {ConfigError} naming every bad field.
 */
export function mlp(options: MlpOptions): MlpSpec {
  return orThrow("Cannot build MLP", validateMlp(options));
}

/**
 * Number of parameters of one model: the sum over layers of `inDim * outDim + outDim`.
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
export function paramCount(spec: MlpSpec): number {
  let count = 0;
  for (let l = 0; l + 1 < spec.layers.length; l++) {
    count += spec.layers[l] * spec.layers[l + 1] + spec.layers[l + 1];
  }
  return count;
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
export function inputDim(spec: MlpSpec): number {
  return spec.layers[0];
}

/**
 * Whether two specs describe the same network (same layers, activations and head; `init` aside).
 *
 * @example
 * ```ts
 * import { mlp, sameSpec } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.ok(sameSpec(mlp({ layers: [2, 3] }), mlp({ layers: [2, 3], init: "he" })));
 * assert.ok(!sameSpec(mlp({ layers: [2, 3] }), mlp({ layers: [2, 4] })));
 * ```
 *
 * @param a One network.
 * @param b The other.
 * @returns True when parameters of one fit and mean the same in the other.
 */
export function sameSpec(a: MlpSpec, b: MlpSpec): boolean {
  return a.activation === b.activation && a.head === b.head &&
    a.layers.length === b.layers.length && a.layers.every((w, i) => w === b.layers[i]);
}

/**
 * Whether a value has the shape of a model spec (for doors that must not throw on foreign input).
 *
 * @example
 * ```ts
 * import { isModelSpec, mlp } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.ok(isModelSpec(mlp({ layers: [2, 3] })));
 * assert.ok(!isModelSpec({ layers: "2,3" }));
 * ```
 *
 * @param value Anything.
 * @returns True for a spec built by `mlp`.
 */
export function isModelSpec(value: unknown): value is MlpSpec {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Partial<MlpSpec>;
  return Array.isArray(v.layers) && v.layers.length >= 2 &&
    v.layers.every((w) => Number.isSafeInteger(w) && (w as number) >= 1) &&
    typeof v.activation === "string" && typeof v.head === "string";
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
 * @returns The last layer width.
 */
export function outputDim(spec: MlpSpec): number {
  return spec.layers[spec.layers.length - 1];
}

/**
 * Views of each layer's weights and bias inside a flat (possibly stacked) parameter vector.
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
 * @returns One view per layer, sharing memory with `params`.
 * @throws {RangeError} when `params` is too short for that replica.
 */
export function layerViews(spec: MlpSpec, params: Float32Array, replica = 0): LayerView[] {
  const count = paramCount(spec);
  let offset = replica * count;
  if (!Number.isSafeInteger(replica) || replica < 0 || offset + count > params.length) {
    throw new RangeError(
      `Cannot view layers: replica ${replica} needs ${
        offset + count
      } parameters: got ${params.length}`,
    );
  }
  const views: LayerView[] = [];
  for (let l = 0; l + 1 < spec.layers.length; l++) {
    const inDim = spec.layers[l];
    const outDim = spec.layers[l + 1];
    const weightOffset = offset;
    const biasOffset = offset + inDim * outDim;
    offset = biasOffset + outDim;
    views.push({
      inDim,
      outDim,
      weightOffset,
      biasOffset,
      weights: params.subarray(weightOffset, biasOffset),
      bias: params.subarray(biasOffset, offset),
    });
  }
  return views;
}

/** Options of {@linkcode initParams}. */
export interface InitOptions {
  /** Seed of the random state that draws the weights. */
  readonly seed: number | number[];
  /** `"glorot"` (default; Keras' default) or `"he"` uniform. */
  readonly init?: Init;
  /** Number of stacked models, each with its own draws (default 1). */
  readonly replicas?: number;
}

/**
 * Seeded initial parameters: weights uniform in `[-limit, limit)` with `limit = sqrt(6 / (fanIn +
 * fanOut))` (Glorot uniform, Keras' default kernel initializer; Glorot & Bengio, AISTATS 2010) or
 * `sqrt(6 / fanIn)` (He uniform; He et al., ICCV 2015), and zero biases.
 *
 * Draw order: one `randomState(seed)`; replica by replica, layer by layer, each weight matrix in its
 * row-major `[inDim, outDim]` order, one `uniform(-limit, limit)` per weight. So replica 0 of a
 * stacked init equals a single init with the same seed, and replica `k` continues the stream.
 *
 * @example
 * ```ts
 * import { initParams, layerViews, mlp, paramCount } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 25, 3] });
 * const params = initParams(spec, { seed: 7, replicas: 2 });
 * assert.equal(params.length, 2 * paramCount(spec));
 * const limit = Math.sqrt(6 / (2 + 25));
 * assert.ok(layerViews(spec, params)[0].weights.every((w) => Math.abs(w) <= limit));
 * assert.ok(layerViews(spec, params, 1)[1].bias.every((b) => b === 0));
 * assert.deepEqual(initParams(spec, { seed: 7 }), params.subarray(0, paramCount(spec)));
 * ```
 *
 * @param spec The network.
 * @param options The seed, the init scheme and the number of replicas.
 * @returns [replicas, paramCount(spec)] parameters.
 * @throws {ConfigError} naming every bad option.
 */
export function initParams(spec: MlpSpec, options: InitOptions): Float32Array {
  const { seed, init = spec?.init ?? "glorot", replicas = 1 } = options ?? ({} as InitOptions);
  const issues: ConfigIssue[] = [];
  if (typeof seed === "number") issues.push(...check.nonNegativeInt("seed", seed));
  else if (!Array.isArray(seed) || !seed.every((s) => Number.isSafeInteger(s) && s >= 0)) {
    issues.push({
      field: "seed",
      message: "must be a non-negative integer or an array of them",
      got: seed,
    });
  }
  issues.push(...check.oneOf("init", init, INITS));
  issues.push(...check.positiveInt("replicas", replicas));
  orThrow("Cannot initialise parameters", validation(issues, undefined));
  const random = randomState(seed);
  const count = paramCount(spec);
  const params = new Float32Array(replicas * count);
  for (let r = 0; r < replicas; r++) {
    for (const view of layerViews(spec, params, r)) {
      const limit = init === "he"
        ? Math.sqrt(6 / view.inDim)
        : Math.sqrt(6 / (view.inDim + view.outDim));
      const w = view.weights;
      for (let k = 0; k < w.length; k++) w[k] = random.uniform(-limit, limit);
    }
  }
  return params;
}

/**
 * The plain forward pass of one model: hidden layers apply the activation, the last layer is linear,
 * and a softmax head turns it into probabilities (rows sum to 1). The reference for every backend's
 * prediction.
 *
 * @example
 * ```ts
 * import { forward, initParams, mlp } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 4, 3], activation: "tanh" });
 * const params = initParams(spec, { seed: 1 });
 * const probs = forward(spec, params, new Float32Array([0.5, -1, 2, 3]), 2); // [2, 3]
 * assert.equal(probs.length, 6);
 * assert.ok(Math.abs(probs[0] + probs[1] + probs[2] - 1) < 1e-6);
 * ```
 *
 * @param spec The network.
 * @param params [paramCount(spec)] parameters of one model (only the first model is used).
 * @param x [n, inDim] row-major inputs.
 * @param n Number of rows.
 * @returns [n, outDim] probabilities (softmax head) or outputs (linear head).
 */
export function forward(
  spec: MlpSpec,
  params: Float32Array,
  x: Float32Array,
  n: number,
): Float32Array {
  const views = layerViews(spec, params);
  let input: Float32Array = x;
  for (let l = 0; l < views.length; l++) {
    const { inDim, outDim, weights, bias } = views[l];
    const out = new Float32Array(n * outDim); // [n, outDim]
    const last = l === views.length - 1;
    for (let b = 0; b < n; b++) {
      const row = b * outDim;
      for (let o = 0; o < outDim; o++) out[row + o] = bias[o];
      for (let i = 0; i < inDim; i++) {
        const a = input[b * inDim + i];
        const wRow = i * outDim;
        for (let o = 0; o < outDim; o++) out[row + o] += a * weights[wRow + o];
      }
      if (!last) {
        for (let o = 0; o < outDim; o++) out[row + o] = activate(spec.activation, out[row + o]);
      }
    }
    input = out;
  }
  if (spec.head === "softmax") softmaxRows(input, outputDim(spec));
  return input;
}
