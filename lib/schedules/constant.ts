/**
 * {@linkcode constant}: the same lr at every step.
 *
 * @module
 */
import { orThrow, type Validation, validation } from "../validation.ts";
import { makeSchedule, rateIssues, readOptions, type Schedule } from "./schedule.ts";

/** Options of {@linkcode constant}. */
export interface ConstantOptions {
  /** The lr (a finite number >= 0, at most the largest float32). */
  readonly lr: number;
}

/**
 * Validates {@linkcode constant}'s options (or a bare lr) without throwing.
 *
 * @example
 * ```ts
 * import { validateConstant } from "./constant.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(validateConstant({ lr: Number.NaN })._tag, "Left");
 * assert.deepEqual(validateConstant(0.01), { _tag: "Right", right: { lr: 0.01 } });
 * ```
 *
 * @param options `{ lr }`, or the lr itself (any value: this never throws).
 * @returns Every issue found, or the options.
 */
export function validateConstant(options: ConstantOptions | number): Validation<ConstantOptions> {
  if (typeof options === "number") {
    return validation(rateIssues("lr", options, false), { lr: options });
  }
  const { o, unknownKeys, isObject } = readOptions(options, ["lr"]);
  if (!isObject) return validation(unknownKeys, undefined as never);
  return validation([...rateIssues("lr", o.lr, false), ...unknownKeys], { lr: o.lr as number });
}

/**
 * The same lr at every step. It has no cycles, so no `cycleEnds`: train it with a snapshot policy
 * that does not need cycles, or as a baseline.
 *
 * @example
 * ```ts
 * import { constant } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const lr = constant({ lr: 0.01 });
 * assert.equal(lr(0), 0.01);
 * assert.equal(lr(12345), 0.01);
 * assert.equal(lr.cycleEnds, undefined);
 * assert.equal(constant(0.01)(7), 0.01); // a bare number is shorthand for { lr }
 * ```
 *
 * @param options `{ lr }`, or the lr itself.
 * @returns The schedule.
 * @throws {ConfigError} When the lr is negative, not finite or beyond float32.
 */
export function constant(options: ConstantOptions | number): Schedule {
  const { lr } = orThrow("Cannot build constant", validateConstant(options));
  return makeSchedule({ name: "constant", options: { lr } }, () => lr);
}
