/**
 * Optimizers as pure update rules. The lr of every step comes from a schedule; everything else is
 * here. State layout per replica (see `optimizerStateSize`): SGD keeps one velocity per parameter
 * (none when momentum is 0); Adam and AdamW keep `m` then `v` (one each per parameter) and then one
 * float holding the number of steps taken since the last reset (for bias correction).
 *
 * Update rules for a parameter `w` with gradient `g` (after adding `weightDecay * w` for L2 in SGD and
 * Adam; AdamW decays decoupled: `w -= lr * weightDecay * w`):
 * - SGD `keras`:   `v = m * v - lr * g; w += v` (Nesterov: `w += m * v - lr * g`)
 * - SGD `pytorch`: `v = m * v + g; w -= lr * v` (Nesterov: `w -= lr * (g + m * v)`)
 * - Adam: `t += 1; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;`
 *   `w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)` (PyTorch's form)
 *
 * The two SGD conventions differ when the lr changes every step, which is exactly the case of cyclic
 * schedules; PyTorch's first step sets `v = g` (no dampening), which the zero initial state reproduces.
 *
 * @module
 */
import { check, type ConfigIssue, orThrow, type Validation, validation } from "./errors.ts";

/** SGD with momentum. */
export interface SgdOptimizer {
  /** Tags the union. */
  readonly kind: "sgd";
  /** Momentum coefficient in `[0, 1)`. */
  readonly momentum: number;
  /** Nesterov momentum. */
  readonly nesterov: boolean;
  /** Which of the two momentum formulas users meet (see the module docs). */
  readonly convention: "keras" | "pytorch";
  /** L2 weight decay added to the gradient. */
  readonly weightDecay: number;
}

/** Adam, or AdamW when `decoupled`. */
export interface AdamOptimizer {
  /** Tags the union (AdamW is `kind: "adam"` with `decoupled: true`). */
  readonly kind: "adam";
  /** Decay of the first moment, in `[0, 1)`. */
  readonly beta1: number;
  /** Decay of the second moment, in `[0, 1)`. */
  readonly beta2: number;
  /** Added to the denominator, > 0. */
  readonly epsilon: number;
  /** L2 (Adam) or decoupled (AdamW) weight decay. */
  readonly weightDecay: number;
  /** AdamW's decoupled weight decay. */
  readonly decoupled: boolean;
}

/** A validated optimizer description. */
export type Optimizer = SgdOptimizer | AdamOptimizer;

/** Options of {@linkcode sgd}. */
export interface SgdOptions {
  /** Momentum coefficient in `[0, 1)` (default 0). */
  readonly momentum?: number;
  /** Nesterov momentum (default false; needs a positive momentum). */
  readonly nesterov?: boolean;
  /** `"keras"` (default) or `"pytorch"`: which momentum formula (see the module docs). */
  readonly convention?: "keras" | "pytorch";
  /** L2 weight decay added to the gradient (default 0). */
  readonly weightDecay?: number;
}

/** Options of {@linkcode adam} and {@linkcode adamw}. */
export interface AdamOptions {
  /** Decay of the first moment, in `[0, 1)` (default 0.9). */
  readonly beta1?: number;
  /** Decay of the second moment, in `[0, 1)` (default 0.999). */
  readonly beta2?: number;
  /** Added to the denominator (default 1e-8). */
  readonly epsilon?: number;
  /** Weight decay: L2 for `adam` (default 0), decoupled for `adamw` (default 0.01). */
  readonly weightDecay?: number;
}

function unitInterval(field: string, value: unknown): ConfigIssue[] {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 && value < 1
    ? []
    : [{ field, message: "must be a number in [0, 1)", got: value }];
}

/**
 * SGD, optionally with momentum (either convention), Nesterov and L2 weight decay.
 *
 * @example
 * ```ts
 * import { sgd } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const opt = sgd({ momentum: 0.9, convention: "pytorch" });
 * assert.deepEqual(opt, {
 *   kind: "sgd", momentum: 0.9, nesterov: false, convention: "pytorch", weightDecay: 0,
 * });
 * assert.throws(
 *   () => sgd({ momentum: 1.5, weightDecay: -1 }),
 *   /Cannot build sgd: momentum must be a number in \[0, 1\): got 1.5; weightDecay must be/,
 * );
 * ```
 *
 * @param options Momentum, Nesterov, the convention and weight decay.
 * @returns The optimizer.
 * @throws {ConfigError} naming every bad option.
 */
export function sgd(options: SgdOptions = {}): SgdOptimizer {
  return orThrow("Cannot build sgd", validateSgd(options));
}

function validateSgd(options: SgdOptions): Validation<SgdOptimizer> {
  const { momentum = 0, nesterov = false, convention = "keras", weightDecay = 0 } = options ?? {};
  const issues: ConfigIssue[] = [
    ...(options === undefined
      ? []
      : check.knownKeys(options, ["kind", "momentum", "nesterov", "convention", "weightDecay"])),
    ...unitInterval("momentum", momentum),
    ...check.that(typeof nesterov === "boolean", "nesterov", "must be true or false", nesterov),
    ...check.that(
      nesterov !== true || momentum !== 0,
      "nesterov",
      "needs a positive momentum; set momentum, e.g. 0.9",
      nesterov,
    ),
    ...check.oneOf("convention", convention, ["keras", "pytorch"]),
    ...check.nonNegative("weightDecay", weightDecay),
  ];
  return validation(issues, { kind: "sgd", momentum, nesterov, convention, weightDecay } as const);
}

function buildAdam(name: string, options: AdamOptions, decoupled: boolean): AdamOptimizer {
  return orThrow(`Cannot build ${name}`, validateAdam(options, decoupled));
}

function validateAdam(options: AdamOptions, decoupled: boolean): Validation<AdamOptimizer> {
  const { beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weightDecay = decoupled ? 0.01 : 0 } =
    options ?? {};
  const issues: ConfigIssue[] = [
    ...(options === undefined ? [] : check.knownKeys(options, [
      "kind",
      "beta1",
      "beta2",
      "epsilon",
      "weightDecay",
      "decoupled",
    ])),
    ...unitInterval("beta1", beta1),
    ...unitInterval("beta2", beta2),
    ...check.positive("epsilon", epsilon),
    ...check.nonNegative("weightDecay", weightDecay),
  ];
  return validation(
    issues,
    { kind: "adam", beta1, beta2, epsilon, weightDecay, decoupled } as const,
  );
}

/**
 * Re-validates an optimizer description (for instance one read from a file or built by hand), with
 * the same rules as {@linkcode sgd}, {@linkcode adam} and {@linkcode adamw}. Field names are prefixed
 * with `optimizer.`.
 *
 * @example
 * ```ts
 * import { sgd, validateOptimizer } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.equal(validateOptimizer(sgd({ momentum: 0.9 }))._tag, "Right");
 * const bad = validateOptimizer({ ...sgd(), momentum: -1 });
 * assert.equal(bad._tag === "Left" && bad.left[0].field, "optimizer.momentum");
 * ```
 *
 * @param optimizer The description to check.
 * @returns The optimizer, or every issue found.
 */
export function validateOptimizer(optimizer: Optimizer): Validation<Optimizer> {
  const kind = (optimizer as { kind?: unknown } | undefined)?.kind;
  let result: Validation<Optimizer>;
  if (kind === "sgd") result = validateSgd(optimizer as SgdOptimizer);
  else if (kind === "adam") {
    const decoupled = (optimizer as AdamOptimizer).decoupled;
    if (typeof decoupled !== "boolean") {
      return validation([{
        field: "optimizer.decoupled",
        message: "must be true or false",
        got: decoupled,
      }], optimizer);
    }
    result = validateAdam(optimizer as AdamOptimizer, decoupled);
  } else {
    return validation([{
      field: "optimizer",
      message: "must be built with sgd(), adam() or adamw()",
      got: optimizer,
    }], optimizer);
  }
  return result._tag === "Left"
    ? validation(result.left.map((i) => ({ ...i, field: `optimizer.${i.field}` })), optimizer)
    : result;
}

/**
 * Adam (Kingma & Ba, ICLR 2015) in PyTorch's form, with optional L2 weight decay.
 *
 * @example
 * ```ts
 * import { adam } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.equal(adam().beta2, 0.999);
 * assert.equal(adam({ weightDecay: 1e-4 }).decoupled, false);
 * assert.throws(() => adam({ beta1: 1, epsilon: 0 }), /beta1 must be a number in \[0, 1\): got 1; epsilon/);
 * ```
 *
 * @param options Betas, epsilon and L2 weight decay (default 0).
 * @returns The optimizer.
 * @throws {ConfigError} naming every bad option.
 */
export function adam(options: AdamOptions = {}): AdamOptimizer {
  return buildAdam("adam", options, false);
}

/**
 * AdamW (Loshchilov & Hutter, ICLR 2019): Adam with decoupled weight decay, `w -= lr * weightDecay * w`
 * before the Adam step, as PyTorch's `AdamW` does.
 *
 * @example
 * ```ts
 * import { adamw } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const opt = adamw();
 * assert.equal(opt.weightDecay, 0.01);
 * assert.equal(opt.decoupled, true);
 * ```
 *
 * @param options Betas, epsilon and decoupled weight decay (default 0.01).
 * @returns The optimizer.
 * @throws {ConfigError} naming every bad option.
 */
export function adamw(options: AdamOptions = {}): AdamOptimizer {
  return buildAdam("adamw", options, true);
}

/**
 * Number of floats of optimizer state per replica: SGD `paramCount` (0 without momentum); Adam and
 * AdamW `2 * paramCount + 1` (`m`, `v`, then the step count).
 *
 * @example
 * ```ts
 * import { adam, optimizerStateSize, sgd } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.equal(optimizerStateSize(sgd(), 10), 0);
 * assert.equal(optimizerStateSize(sgd({ momentum: 0.9 }), 10), 10);
 * assert.equal(optimizerStateSize(adam(), 10), 21);
 * ```
 *
 * @param optimizer The optimizer.
 * @param paramCount Parameters per replica.
 * @returns The state length per replica.
 */
export function optimizerStateSize(optimizer: Optimizer, paramCount: number): number {
  if (optimizer.kind === "adam") return 2 * paramCount + 1;
  return optimizer.momentum === 0 ? 0 : paramCount;
}

/**
 * The reference update of one replica, in place, exactly as the module docs state. Arithmetic is
 * done in float64 and stored to float32.
 *
 * @example One PyTorch-convention momentum step from a zero state
 * ```ts
 * import { applyUpdate, sgd } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const params = new Float32Array([1, 2]);
 * const state = new Float32Array(2);
 * applyUpdate(sgd({ momentum: 0.9, convention: "pytorch" }), params, new Float32Array([0.5, -1]), state, 0.1);
 * assert.deepEqual([...state], [0.5, -1]);
 * assert.deepEqual([...params], [Math.fround(0.95), Math.fround(2.1)]);
 * ```
 *
 * @param optimizer The update rule.
 * @param params [replicas, P] parameters; replica `replica` is updated.
 * @param grads [P] gradient of that replica (P = `grads.length`).
 * @param state [replicas, optimizerStateSize(optimizer, P)] optimizer state.
 * @param lr This step's learning rate.
 * @param replica Which stacked replica to update (default 0).
 */
export function applyUpdate(
  optimizer: Optimizer,
  params: Float32Array,
  grads: Float32Array,
  state: Float32Array,
  lr: number,
  replica = 0,
): void {
  const count = grads.length;
  const p0 = replica * count;
  const s0 = replica * optimizerStateSize(optimizer, count);
  const wd = optimizer.weightDecay;
  if (optimizer.kind === "sgd") {
    const m = optimizer.momentum;
    if (m === 0) {
      for (let k = 0; k < count; k++) {
        const w = params[p0 + k];
        params[p0 + k] = w - lr * (grads[k] + wd * w);
      }
    } else if (optimizer.convention === "keras") {
      const nesterov = optimizer.nesterov;
      for (let k = 0; k < count; k++) {
        const w = params[p0 + k];
        const g = grads[k] + wd * w;
        const v = m * state[s0 + k] - lr * g;
        state[s0 + k] = v;
        params[p0 + k] = nesterov ? w + m * v - lr * g : w + v;
      }
    } else {
      const nesterov = optimizer.nesterov;
      for (let k = 0; k < count; k++) {
        const w = params[p0 + k];
        const g = grads[k] + wd * w;
        const v = m * state[s0 + k] + g;
        state[s0 + k] = v;
        params[p0 + k] = w - lr * (nesterov ? g + m * v : v);
      }
    }
    return;
  }
  const { beta1, beta2, epsilon, decoupled } = optimizer;
  const tIndex = s0 + 2 * count;
  const t = state[tIndex] + 1;
  state[tIndex] = t;
  const stepSize = lr / (1 - Math.pow(beta1, t));
  const correction2 = Math.sqrt(1 - Math.pow(beta2, t));
  const l2 = decoupled ? 0 : wd;
  const shrink = decoupled ? 1 - lr * wd : 1;
  for (let k = 0; k < count; k++) {
    const w = params[p0 + k];
    const g = grads[k] + l2 * w;
    const mk = beta1 * state[s0 + k] + (1 - beta1) * g;
    const vk = beta2 * state[s0 + count + k] + (1 - beta2) * g * g;
    state[s0 + k] = mk;
    state[s0 + count + k] = vk;
    params[p0 + k] = w * shrink - stepSize * mk / (Math.sqrt(vk) / correction2 + epsilon);
  }
}
