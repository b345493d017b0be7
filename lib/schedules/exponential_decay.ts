/**
 * {@linkcode exponentialDecay}: `lr * gamma ** step`, PyTorch's `ExponentialLR`.
 *
 * @module
 */
import { orThrow, type Validation, validation } from "../validation.ts";
import { isNumber, makeSchedule, rateIssues, readOptions, type Schedule } from "./schedule.ts";

/** Options of {@linkcode exponentialDecay}. */
export interface ExponentialDecayOptions {
  /** The lr of step 0 (> 0). */
  readonly lr: number;
  /** The factor per step (in (0, 1]). */
  readonly gamma: number;
}

/**
 * Validates {@linkcode exponentialDecay}'s options without throwing.
 *
 * @example
 * ```ts
 * import { validateExponentialDecay } from "./exponential_decay.ts";
 * import assert from "node:assert/strict";
 *
 * const bad = validateExponentialDecay({ lr: 0.1, gamma: 1.5 });
 * assert.equal(bad._tag, "Left");
 * if (bad._tag === "Left") assert.deepEqual(bad.left.map((i) => i.field), ["gamma"]);
 * ```
 *
 * @param options The options to check (any value: this never throws).
 * @returns Every issue found, or the options.
 */
export function validateExponentialDecay(
  options: ExponentialDecayOptions,
): Validation<ExponentialDecayOptions> {
  const { o, unknownKeys, isObject } = readOptions(options, ["lr", "gamma"]);
  if (!isObject) return validation(unknownKeys, undefined as never);
  const issues = [
    ...rateIssues("lr", o.lr, true),
    ...(isNumber(o.gamma) && o.gamma > 0 && o.gamma <= 1 ? [] : [{
      field: "gamma",
      message: "must be a number in (0, 1]: above 1 the lr grows without bound",
      got: o.gamma,
    }]),
    ...unknownKeys,
  ];
  return validation(issues, { lr: o.lr as number, gamma: o.gamma as number });
}

/**
 * An exponential decay, `lr(t) = lr * gamma ** t`: PyTorch's `ExponentialLR(gamma)` with base lr
 * `lr`, stepped once per step. It has no cycles, so no `cycleEnds`.
 *
 * @example
 * ```ts
 * import { exponentialDecay } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const lr = exponentialDecay({ lr: 0.1, gamma: 0.5 });
 * assert.equal(lr(0), 0.1);
 * assert.equal(lr(3), 0.0125);
 * ```
 *
 * @param options The first lr and the factor per step.
 * @returns The schedule.
 * @throws {ConfigError} Naming every bad option.
 */
export function exponentialDecay(options: ExponentialDecayOptions): Schedule {
  const { lr, gamma } = orThrow("Cannot build exponentialDecay", validateExponentialDecay(options));
  return makeSchedule({ name: "exponentialDecay", options: { lr, gamma } }, (t) => lr * gamma ** t);
}
