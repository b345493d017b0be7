/**
 * Adam (Kingma & Ba, ICLR 2015) in PyTorch's form, and AdamW (Loshchilov & Hutter, ICLR 2019) with
 * decoupled weight decay: options, validation, the reference update, the GPU kernels and the fused
 * constants.
 *
 * `t += 1; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;`
 * `w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)`, with `g` the gradient plus
 * `weightDecay * w` for Adam's L2; AdamW first shrinks `w -= lr * weightDecay * w`. State per
 * replica: `m`, then `v` (one each per parameter), then one float counting the steps since the last
 * reset (for bias correction).
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { check, orThrow, type Validation, validation } from "../validation.ts";
import { optionKeys, unitInterval } from "./_checks.ts";
import type { UpdateKernel, UpdateRule } from "./rule.ts";

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

const OPTION_KEYS = ["beta1", "beta2", "epsilon", "weightDecay"];

function checkAdam(
  options: AdamOptions,
  decoupled: boolean,
  keyIssues: ConfigIssue[],
): Validation<AdamOptimizer> {
  const { beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weightDecay = decoupled ? 0.01 : 0 } =
    (typeof options === "object" && options !== null ? options : {}) as AdamOptions;
  const issues: ConfigIssue[] = [
    ...keyIssues,
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
 * Adam (Kingma & Ba, ICLR 2015) in PyTorch's form, with optional L2 weight decay. The learning
 * rate is not an option: every step takes it from the schedule.
 *
 * @example
 * ```ts
 * import { adam } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.equal(adam().beta2, 0.999);
 * assert.equal(adam({ weightDecay: 1e-4 }).decoupled, false);
 * assert.throws(() => adam({ beta1: 1, epsilon: 0 }), /beta1 must be a number in \[0, 1\): got 1; epsilon/);
 * assert.throws(() => adam({ decoupled: true } as never), /decoupled is not an option.*adamw/);
 * ```
 *
 * @param options Betas, epsilon and L2 weight decay (default 0).
 * @returns The optimizer.
 * @throws {ConfigError} naming every bad option.
 */
export function adam(options: AdamOptions = {}): AdamOptimizer {
  return orThrow("Cannot build adam", checkAdam(options, false, constructorKeys(options)));
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
  return orThrow("Cannot build adamw", checkAdam(options, true, constructorKeys(options)));
}

function constructorKeys(options: unknown): ConfigIssue[] {
  const has = typeof options === "object" && options !== null && "decoupled" in options;
  const rest = has
    ? Object.fromEntries(Object.entries(options).filter(([key]) => key !== "decoupled"))
    : options;
  return [
    ...(has
      ? [{
        field: "decoupled",
        message: "is not an option: call adamw() for decoupled weight decay, adam() for L2",
        got: (options as { decoupled: unknown }).decoupled,
      }]
      : []),
    ...optionKeys(rest, OPTION_KEYS),
  ];
}

function update(
  optimizer: AdamOptimizer,
  params: Float32Array,
  grads: Float32Array,
  state: Float32Array,
  lr: number,
  replica: number,
): void {
  const count = grads.length;
  const p0 = replica * count;
  const s0 = replica * (2 * count + 1);
  const { beta1, beta2, epsilon, decoupled, weightDecay: wd } = optimizer;
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

function constants(optimizer: AdamOptimizer): Record<string, number> {
  return {
    BETA1: optimizer.beta1,
    BETA2: optimizer.beta2,
    // ln(0) = -Infinity is no valid override value; -1e30 makes beta^t exactly 0 just the same.
    LOG_BETA1: Math.max(Math.log(optimizer.beta1), -1e30),
    LOG_BETA2: Math.max(Math.log(optimizer.beta2), -1e30),
    EPSILON: optimizer.epsilon,
    WEIGHT_DECAY: optimizer.weightDecay,
    DECOUPLED: optimizer.decoupled ? 1 : 0,
  };
}

/** The Adam/AdamW rule (see {@linkcode UpdateRule}). */
export const ADAM: UpdateRule<AdamOptimizer> = {
  kind: "adam",
  validate(optimizer) {
    const decoupled = (optimizer as Partial<AdamOptimizer> | null)?.decoupled;
    if (typeof decoupled !== "boolean") {
      return validation(
        [{ field: "decoupled", message: "must be true or false", got: decoupled }],
        optimizer as AdamOptimizer,
      );
    }
    return checkAdam(
      optimizer as AdamOptions,
      decoupled,
      optionKeys(optimizer, ["kind", "decoupled", ...OPTION_KEYS]),
    );
  },
  stateSize: (_, paramCount) => 2 * paramCount + 1,
  update,
  gpuKernels: (optimizer, { P, S, R }): UpdateKernel[] => [
    {
      shader: "adam_tick",
      constants: { STATE_STRIDE: S, COUNT_OFF: 2 * P, REPLICAS: R },
      bindings: "state",
      grid: "replicas",
    },
    {
      shader: "adam",
      constants: { PARAM_COUNT: P, STATE_STRIDE: S, REPLICAS: R, ...constants(optimizer) },
      bindings: "update",
      grid: "params",
    },
  ],
  fused: {
    code: 1,
    // Adam's step counter is kept apart from workgroup memory.
    stateFloats: (_, paramCount) => 2 * paramCount,
    constants,
  },
};
