/**
 * The model spec: a list of layers from the input to the output, and a head.
 *
 * `sequential({ inputs, layers, head })` is the general form; `mlp({ layers: [2, 25, 3] })` is
 * sugar for the common stack `dense, activation, dense, ..., dense`. The head decides what the
 * last dense layer's outputs mean: `"softmax"` is a classifier trained with softmax cross-entropy
 * (fused and numerically stable), `"linear"` a regressor trained with mean squared error (mean over
 * samples and outputs). Hence no activation or dropout follows the last dense layer.
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { check, orThrow, type Validation, validation } from "../validation.ts";
import { type Activation, isActivation } from "../ops/activation.ts";
import type { Layer } from "./layers.ts";

/** Output head: softmax with cross-entropy (classification) or linear with mean squared error. */
export type Head = "softmax" | "linear";
/** Weight initialisation: Glorot uniform (Keras' default) or He uniform. Biases start at zero. */
export type Init = "glorot" | "he";

/** A validated network description. */
export interface ModelSpec {
  /** Width of one input sample (number of features). */
  readonly inputs: number;
  /** The layers from input to output; the last is dense. */
  readonly layers: ReadonlyArray<Layer>;
  /** Output head. */
  readonly head: Head;
  /** Weight initialisation that `initParams` and the trainer use unless told otherwise (Glorot). */
  readonly init?: Init;
}

/** The former name of {@linkcode ModelSpec}: every spec, `mlp` or `sequential`, is one. */
export type MlpSpec = ModelSpec;

/** Options of {@linkcode sequential}. */
export interface SequentialOptions {
  /** Width of one input sample. */
  readonly inputs: number;
  /** The layers, e.g. `[dense(25), relu(), dropout(0.2), dense(3)]`. */
  readonly layers: ReadonlyArray<Layer>;
  /** Output head (default `"softmax"`). */
  readonly head?: Head;
  /** Weight initialisation: `"glorot"` uniform (Keras' default) or `"he"` uniform. */
  readonly init?: Init;
}

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

const HEADS: ReadonlyArray<Head> = ["softmax", "linear"];
const INITS: ReadonlyArray<Init> = ["glorot", "he"];
/** The order in which messages list the activations (every one, checked by `satisfies`). */
const ACTIVATION_ORDER = { relu: 0, tanh: 1, sigmoid: 2, linear: 3 } as const satisfies Record<
  Activation,
  number
>;
const ACTIVATION_NAMES = Object.keys(ACTIVATION_ORDER) as Activation[];
const LAYER_KINDS: ReadonlyArray<string> = ["dense", ...ACTIVATION_NAMES, "dropout"];
const BETWEEN = "relu(), tanh(), sigmoid(), linear() or dropout(rate)";

type Previous = "start" | "dense" | "activation" | "dropout";

/** Issues of one layer's own fields; returns what it is for the ordering rules, or null. */
function layerIssues(layer: unknown, at: string): { kind: Previous | null; issues: ConfigIssue[] } {
  if (layer === null || typeof layer !== "object" || Array.isArray(layer)) {
    return {
      kind: null,
      issues: [{
        field: at,
        message: "must be a layer such as dense(25), relu() or dropout(0.5)",
        got: layer,
      }],
    };
  }
  const kind = (layer as { kind?: unknown }).kind;
  if (kind === "dense") {
    return {
      kind: "dense",
      issues: [
        ...check.knownKeys(layer, ["kind", "units"], at),
        ...check.positiveInt(`${at}.units`, (layer as { units?: unknown }).units),
      ],
    };
  }
  if (kind === "dropout") {
    const rate = (layer as { rate?: unknown }).rate;
    const ok = typeof rate === "number" && Number.isFinite(rate) && rate >= 0 && rate < 1;
    return {
      kind: "dropout",
      issues: [
        ...check.knownKeys(layer, ["kind", "rate"], at),
        ...check.that(ok, `${at}.rate`, "must be a number in [0, 1)", rate),
      ],
    };
  }
  if (isActivation(kind)) {
    return { kind: "activation", issues: check.knownKeys(layer, ["kind"], at) };
  }
  return { kind: null, issues: check.oneOf(`${at}.kind`, kind, LAYER_KINDS) };
}

/** The ordering rule for a layer of `kind` after one of `previous`, as an issue message. */
function orderIssue(previous: Previous, kind: Previous): string | null {
  if (kind === "dense") {
    return previous === "dense"
      ? `must not follow a dense layer directly: put ${BETWEEN} between them`
      : null;
  }
  if (previous === "start") return "must come after a dense layer: the first layer is dense";
  if (kind === "activation" && previous === "activation") {
    return "must not follow another activation";
  }
  if (kind === "activation" && previous === "dropout") {
    return "must come before the dropout of its dense layer";
  }
  if (kind === "dropout" && previous === "dropout") return "must not follow another dropout";
  return null;
}

function layersIssues(layers: unknown, head: unknown): ConfigIssue[] {
  if (!Array.isArray(layers) || layers.length === 0) {
    return [{
      field: "layers",
      message: "must be a non-empty list of layers, e.g. [dense(25), relu(), dense(3)]",
      got: layers,
    }];
  }
  const issues: ConfigIssue[] = [];
  let previous: Previous = "start";
  let lastDense = -1;
  let unknown = false;
  for (let i = 0; i < layers.length; i++) {
    const at = `layers[${i}]`;
    const own = layerIssues(layers[i], at);
    issues.push(...own.issues);
    if (own.kind === null) {
      unknown = true;
      previous = "dropout"; // check the layers after it as if it closed a block
      continue;
    }
    const order = orderIssue(previous, own.kind);
    if (order !== null) issues.push({ field: at, message: order, got: layers[i] });
    if (own.kind === "dense") lastDense = i;
    previous = own.kind;
  }
  if (unknown) return issues;
  if (lastDense < 0) {
    issues.push({ field: "layers", message: "must hold at least one dense layer", got: layers });
  } else if (lastDense < layers.length - 1) {
    issues.push({
      field: `layers[${lastDense + 1}]`,
      message: "must not come after the last dense layer: the head gives the output function",
      got: layers[lastDense + 1],
    });
  } else if (head === "softmax" && issues.length === 0 && layers[lastDense].units < 2) {
    issues.push({
      field: `layers[${lastDense}].units`,
      message: 'must be at least two classes for a softmax head (use head "linear" for one output)',
      got: layers[lastDense].units,
    });
  }
  return issues;
}

/**
 * Validates a sequential model, collecting every problem: the input width, each layer's fields,
 * their order (a dense layer first and last; after each hidden dense layer an activation, a
 * dropout, or an activation then a dropout), the head and the init.
 *
 * @example
 * ```ts
 * import { dense, dropout, relu, validateSequential } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const result = validateSequential({
 *   inputs: 2,
 *   layers: [dense(8), relu(), dropout(1.5), dense(3), relu()],
 * });
 * assert.equal(result._tag, "Left");
 * if (result._tag === "Left") {
 *   assert.deepEqual(result.left.map((i) => i.field), ["layers[2].rate", "layers[4]"]);
 * }
 * ```
 *
 * @param options The input width, layers, head and init.
 * @returns The validated spec, or every issue found.
 */
export function validateSequential(options: SequentialOptions): Validation<ModelSpec> {
  const { inputs, layers, head = "softmax", init } = options ?? ({} as SequentialOptions);
  const issues: ConfigIssue[] = [
    ...check.knownKeys(options, ["inputs", "layers", "head", "init"]),
    ...check.positiveInt("inputs", inputs),
    ...layersIssues(layers, head),
    ...check.oneOf("head", head, HEADS),
  ];
  if (init !== undefined) issues.push(...check.oneOf("init", init, INITS));
  if (issues.length > 0) return validation(issues, undefined as unknown as ModelSpec);
  return validation([], {
    inputs,
    layers: layers.map((l) => ({ ...l })),
    head,
    ...(init === undefined ? {} : { init }),
  });
}

/**
 * Builds a validated sequential model: a list of layers from the input to the output.
 *
 * @example A classifier with dropout after its hidden layer
 * ```ts
 * import { dense, dropout, paramCount, relu, sequential } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = sequential({ inputs: 2, layers: [dense(25), relu(), dropout(0.1), dense(3)] });
 * assert.equal(spec.head, "softmax");
 * assert.equal(paramCount(spec), 2 * 25 + 25 + 25 * 3 + 3);
 * assert.throws(
 *   () => sequential({ inputs: 2, layers: [dense(25), dense(3)] }),
 *   /Cannot build model: layers\[1\] must not follow a dense layer directly/,
 * );
 * ```
 *
 * @param options The input width, layers, head (default `"softmax"`) and init.
 * @returns The spec.
 * @throws {ConfigError} naming every bad field.
 */
export function sequential(options: SequentialOptions): ModelSpec {
  return orThrow("Cannot build model", validateSequential(options));
}

/** The sequential spec of an MLP of widths `layers` (already checked). */
function mlpSpec(layers: ReadonlyArray<number>, activation: Activation, head: Head, init?: Init) {
  const list: Layer[] = [];
  for (let l = 1; l < layers.length; l++) {
    if (l > 1) list.push({ kind: activation });
    list.push({ kind: "dense", units: layers[l] });
  }
  return { inputs: layers[0], layers: list, head, ...(init === undefined ? {} : { init }) };
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
export function validateMlp(options: MlpOptions): Validation<ModelSpec> {
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
  issues.push(...check.oneOf("activation", activation, ACTIVATION_NAMES));
  issues.push(...check.oneOf("head", head, HEADS));
  if (init !== undefined) issues.push(...check.oneOf("init", init, INITS));
  if (issues.length > 0) return validation(issues, undefined as unknown as ModelSpec);
  return validation([], mlpSpec(layers, activation, head, init));
}

/**
 * Builds a validated MLP spec: `mlp({ layers: [2, 25, 3], activation })` is
 * `sequential({ inputs: 2, layers: [dense(25), activation(), dense(3)] })`.
 *
 * @example The tutorial's network
 * ```ts
 * import { dense, mlp, paramCount, relu, sameSpec, sequential } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 25, 3] });
 * assert.equal(spec.head, "softmax");
 * assert.ok(sameSpec(spec, sequential({ inputs: 2, layers: [dense(25), relu(), dense(3)] })));
 * assert.equal(paramCount(spec), 2 * 25 + 25 + 25 * 3 + 3);
 * assert.throws(() => mlp({ layers: [2, 1.5, 3] }), /Cannot build MLP: layers must be positive integers/);
 * ```
 *
 * @param options The layer widths, activation (default `"relu"`) and head (default `"softmax"`).
 * @returns The spec.
 * @throws {ConfigError} naming every bad field.
 */
export function mlp(options: MlpOptions): ModelSpec {
  return orThrow("Cannot build MLP", validateMlp(options));
}

function sameLayer(a: Layer, b: Layer): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === "dense") return a.units === (b as typeof a).units;
  if (a.kind === "dropout") return a.rate === (b as typeof a).rate;
  return true;
}

/**
 * Whether two specs describe the same network (same inputs, layers and head; `init` aside).
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
export function sameSpec(a: ModelSpec, b: ModelSpec): boolean {
  return a.inputs === b.inputs && a.head === b.head && a.layers.length === b.layers.length &&
    a.layers.every((layer, i) => sameLayer(layer, b.layers[i]));
}

/**
 * Whether a value has the shape of a model spec (for doors that must not throw on foreign input;
 * `validateSequential` says what is wrong with one).
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
 * @returns True for a spec built by `sequential` or `mlp`.
 */
export function isModelSpec(value: unknown): value is ModelSpec {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Partial<ModelSpec>;
  return typeof v.inputs === "number" && typeof v.head === "string" && Array.isArray(v.layers) &&
    v.layers.length >= 1 && validateSequential(v as SequentialOptions)._tag === "Right";
}
