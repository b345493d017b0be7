/**
 * The activations: one table, the single code space of the CPU kernels and of the shaders' `ACT`
 * override (shaders/dense_forward.wgsl, dense_grad_input.wgsl, train_fused.wgsl switch on it, with
 * linear as the default case). The `Activation` type is derived from the table, so the two cannot
 * diverge; every site that switches on an activation or its code ends in a `never` check, so an
 * entry added here without its kernels fails `deno check`.
 *
 * Derivatives are written through the activation's output `a = f(z)` (what the forward pass
 * keeps): relu `a > 0 ? 1 : 0` (so relu'(0) = 0, like PyTorch), tanh `1 - a^2`, sigmoid `a (1 - a)`,
 * linear `1`.
 *
 * @module
 */

/** One activation: its code in the kernels, the function and its derivative. */
export interface ActivationDef {
  /** CPU kernels and the WGSL `ACT` override share this code. */
  readonly code: number;
  /** The activation of one pre-activation value. */
  f(z: number): number;
  /** `f'(z)` written through the output `a = f(z)`. */
  dfOfOutput(a: number): number;
}

/**
 * Every activation by name. Codes follow the shaders' `ACT` override: 0 linear (the default
 * case), 1 relu, 2 tanh, 3 sigmoid.
 *
 * @example
 * ```ts
 * import { ACTIVATIONS } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.equal(ACTIVATIONS.relu.f(-2), 0);
 * assert.equal(ACTIVATIONS.sigmoid.f(0), 0.5);
 * assert.equal(ACTIVATIONS.tanh.dfOfOutput(ACTIVATIONS.tanh.f(0)), 1);
 * assert.equal(ACTIVATIONS.linear.code, 0);
 * ```
 */
export const ACTIVATIONS = {
  linear: { code: 0, f: (z: number): number => z, dfOfOutput: (): number => 1 },
  relu: {
    code: 1,
    // `z < 0` (not `z > 0`) keeps NaN as NaN, as PyTorch's relu does, so divergence stays visible.
    f: (z: number): number => (z < 0 ? 0 : z),
    dfOfOutput: (a: number): number => (a > 0 ? 1 : 0),
  },
  tanh: { code: 2, f: Math.tanh, dfOfOutput: (a: number): number => 1 - a * a },
  sigmoid: {
    code: 3,
    f: (z: number): number => 1 / (1 + Math.exp(-z)),
    dfOfOutput: (a: number): number => a * (1 - a),
  },
} as const satisfies Record<string, ActivationDef>;

/** An activation's name: a key of {@linkcode ACTIVATIONS}. */
export type Activation = keyof typeof ACTIVATIONS;

/** An activation's kernel code: the union of the table's codes (0 | 1 | 2 | 3). */
export type ActivationCode = (typeof ACTIVATIONS)[Activation]["code"];

/**
 * Whether a value names an activation of the table.
 *
 * @example
 * ```ts
 * import { isActivation } from "./activation.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(isActivation("tanh"));
 * assert.ok(!isActivation("gelu"));
 * assert.ok(!isActivation("toString"));
 * ```
 *
 * @param value Anything.
 * @returns True for a key of {@linkcode ACTIVATIONS}.
 */
export function isActivation(value: unknown): value is Activation {
  return typeof value === "string" && Object.hasOwn(ACTIVATIONS, value);
}

/**
 * The kernel code of an activation.
 *
 * @example
 * ```ts
 * import { activationCode } from "./activation.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(activationCode("relu"), 1);
 * ```
 *
 * @param activation The activation.
 * @returns Its code in the CPU kernels and the WGSL `ACT` override.
 */
export function activationCode(activation: Activation): ActivationCode {
  return ACTIVATIONS[activation].code;
}
