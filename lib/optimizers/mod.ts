/**
 * Optimizers as pure update rules; the lr of every step comes from a schedule. `UPDATE_RULES` holds
 * one {@linkcode UpdateRule} per kind, and its type demands one: adding a kind to `Optimizer`
 * without its rule fails `deno check` (tests/type_tables_test.ts shows it). Backends take the rule
 * with {@linkcode ruleOf} and never branch on the kind.
 *
 * To add an optimizer: write `lib/optimizers/<name>.ts` (options, validation, `update`, `gpuKernels`
 * and its WGSL in `shaders/`, optionally `fastUpdate` and `fused`), add it to the `Optimizer` union
 * and to `UPDATE_RULES`.
 *
 * @module
 */
import { type Validation, validation } from "../validation.ts";
import { ADAM, adam, type AdamOptimizer, type AdamOptions, adamw } from "./adam.ts";
import type { FusedUpdate, UpdateFn, UpdateKernel, UpdateRule } from "./rule.ts";
import { SGD, sgd, type SgdOptimizer, type SgdOptions } from "./sgd.ts";

export {
  adam,
  type AdamOptimizer,
  type AdamOptions,
  adamw,
  sgd,
  type SgdOptimizer,
  type SgdOptions,
};
export type { FusedUpdate, UpdateFn, UpdateKernel, UpdateRule };

/** A validated optimizer description. */
export type Optimizer = SgdOptimizer | AdamOptimizer;

/** A table with one rule for every kind of `O`. */
export type RuleTable<O extends { readonly kind: string }> = {
  readonly [K in O["kind"]]: UpdateRule<Extract<O, { readonly kind: K }>>;
};

/** Every optimizer kind's rule. */
export const UPDATE_RULES: RuleTable<Optimizer> = { sgd: SGD, adam: ADAM };

/**
 * The rule of an optimizer.
 *
 * @example
 * ```ts
 * import { ruleOf } from "./mod.ts";
 * import { sgd } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.equal(ruleOf(sgd()).kind, "sgd");
 * ```
 *
 * @param optimizer A validated optimizer.
 * @returns Its rule.
 */
export function ruleOf<O extends Optimizer>(optimizer: O): UpdateRule<O> {
  return UPDATE_RULES[optimizer.kind as O["kind"]] as unknown as UpdateRule<O>;
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
  const kind = typeof optimizer === "object" && optimizer !== null
    ? (optimizer as { kind?: unknown }).kind
    : undefined;
  if (typeof kind !== "string" || !Object.hasOwn(UPDATE_RULES, kind)) {
    return validation([{
      field: "optimizer",
      message: "must be built with sgd(), adam() or adamw()",
      got: optimizer,
    }], optimizer);
  }
  const result: Validation<Optimizer> = UPDATE_RULES[kind as Optimizer["kind"]].validate(optimizer);
  return result._tag === "Left"
    ? validation(result.left.map((i) => ({ ...i, field: `optimizer.${i.field}` })), optimizer)
    : result;
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
  return ruleOf(optimizer).stateSize(optimizer, paramCount);
}

/**
 * The reference update of one replica, in place, as the optimizer's module states. Arithmetic is
 * done in float64 and stored to float32.
 *
 * @example One PyTorch-convention momentum step from a zero state
 * ```ts
 * import { applyUpdate, sgd } from "./mod.ts";
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
  ruleOf(optimizer).update(optimizer, params, grads, state, lr, replica);
}
