/**
 * SGD with optional momentum (Keras' or PyTorch's formula), Nesterov and L2 weight decay: options,
 * validation, the reference update, the heavy-ball fast twin, its GPU kernel and its fused
 * constants.
 *
 * - `keras`:   `v = m * v - lr * g; w += v` (Nesterov: `w += m * v - lr * g`)
 * - `pytorch`: `v = m * v + g; w -= lr * v` (Nesterov: `w -= lr * (g + m * v)`)
 *
 * with `g` the gradient plus `weightDecay * w`. The two conventions differ when the lr changes every
 * step, which is exactly the case of cyclic schedules; PyTorch's first step sets `v = g` (no
 * dampening), which the zero initial state reproduces. State: one velocity per parameter (none
 * without momentum).
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { check, orThrow, type Validation, validation } from "../validation.ts";
import { optionKeys, unitInterval } from "./_checks.ts";
import type { UpdateKernel, UpdateRule } from "./rule.ts";

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

const OPTION_KEYS = ["momentum", "nesterov", "convention", "weightDecay"];

/**
 * SGD, optionally with momentum (either convention), Nesterov and L2 weight decay. The learning
 * rate is not an option: every step takes it from the schedule.
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
 * assert.throws(() => sgd({ lr: 0.1 } as never), /lr is not an optimizer option: the learning rate/);
 * ```
 *
 * @param options Momentum, Nesterov, the convention and weight decay.
 * @returns The optimizer.
 * @throws {ConfigError} naming every bad option.
 */
export function sgd(options: SgdOptions = {}): SgdOptimizer {
  return orThrow(
    "Cannot build sgd",
    checkSgd(options, optionKeys(options, OPTION_KEYS)),
  );
}

function checkSgd(options: SgdOptions, keyIssues: ConfigIssue[]): Validation<SgdOptimizer> {
  const { momentum = 0, nesterov = false, convention = "keras", weightDecay = 0 } =
    (typeof options === "object" && options !== null ? options : {}) as SgdOptions;
  const issues: ConfigIssue[] = [
    ...keyIssues,
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

function update(
  optimizer: SgdOptimizer,
  params: Float32Array,
  grads: Float32Array,
  state: Float32Array,
  lr: number,
  replica: number,
): void {
  const count = grads.length;
  const p0 = replica * count;
  const s0 = replica * (optimizer.momentum === 0 ? 0 : count);
  const wd = optimizer.weightDecay;
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
}

/**
 * Heavy-ball momentum (no Nesterov; the tutorial's rule) in a loop of its own: the operations of
 * `update` for that rule, in the same order, so the same bits (tests/optimizers_test.ts checks),
 * with the rule decided once rather than per parameter. Other SGD variants take the reference.
 */
function fastUpdate(
  optimizer: SgdOptimizer,
  params: Float32Array,
  grads: Float32Array,
  state: Float32Array,
  lr: number,
  replica: number,
): void {
  const { momentum, weightDecay: decay } = optimizer;
  if (momentum === 0 || optimizer.nesterov) {
    update(optimizer, params, grads, state, lr, replica);
    return;
  }
  const count = grads.length;
  const base = replica * count; // the velocity sits at the same offset as the replica
  if (optimizer.convention === "keras") { // v = m v - lr g; w += v
    for (let k = 0; k < count; k++) {
      const w = params[base + k];
      const g = grads[k] + decay * w;
      const v = momentum * state[base + k] - lr * g;
      state[base + k] = v;
      params[base + k] = w + v;
    }
  } else { // PyTorch: v = m v + g; w -= lr v
    for (let k = 0; k < count; k++) {
      const w = params[base + k];
      const g = grads[k] + decay * w;
      const v = momentum * state[base + k] + g;
      state[base + k] = v;
      params[base + k] = w - lr * v;
    }
  }
}

function constants(optimizer: SgdOptimizer): Record<string, number> {
  return {
    MOMENTUM: optimizer.momentum,
    NESTEROV: optimizer.nesterov ? 1 : 0,
    PYTORCH: optimizer.convention === "pytorch" ? 1 : 0,
    WEIGHT_DECAY: optimizer.weightDecay,
  };
}

/** The SGD rule (see {@linkcode UpdateRule}). */
export const SGD: UpdateRule<SgdOptimizer> = {
  kind: "sgd",
  validate: (optimizer) =>
    checkSgd(optimizer as SgdOptions, optionKeys(optimizer, ["kind", ...OPTION_KEYS])),
  stateSize: (optimizer, paramCount) => optimizer.momentum === 0 ? 0 : paramCount,
  update,
  fastUpdate,
  gpuKernels: (optimizer, { P, S, R }): UpdateKernel[] => [{
    shader: "sgd",
    constants: { PARAM_COUNT: P, STATE_STRIDE: S, ...constants(optimizer), REPLICAS: R },
    bindings: "update",
    grid: "params",
  }],
  fused: {
    code: 0,
    stateFloats: (optimizer, paramCount) => optimizer.momentum === 0 ? 0 : paramCount,
    constants,
  },
};
