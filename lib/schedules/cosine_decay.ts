/**
 * {@linkcode cosineDecay}: one cosine from `lrMax` to `lrMin`, PyTorch's `CosineAnnealingLR`.
 *
 * @module
 */
import { check, orThrow, type Validation, validation } from "../validation.ts";
import {
  makeSchedule,
  notAbove,
  orDefault,
  rateIssues,
  readOptions,
  type Schedule,
} from "./schedule.ts";

/** Options of {@linkcode cosineDecay}. */
export interface CosineDecayOptions {
  /** The lr of step 0 (> 0). */
  readonly lrMax: number;
  /** The step at which the lr reaches `lrMin` (PyTorch's `T_max`, a positive integer). */
  readonly totalSteps: number;
  /** The floor (PyTorch's `eta_min`, 0 to `lrMax`, default 0). */
  readonly lrMin?: number;
}

/**
 * Validates {@linkcode cosineDecay}'s options without throwing; fills in the defaults.
 *
 * @example
 * ```ts
 * import { validateCosineDecay } from "./cosine_decay.ts";
 * import assert from "node:assert/strict";
 *
 * const bad = validateCosineDecay({ lrMax: 0.1, totalSteps: 0 });
 * assert.equal(bad._tag, "Left");
 * if (bad._tag === "Left") assert.deepEqual(bad.left.map((i) => i.field), ["totalSteps"]);
 * ```
 *
 * @param options The options to check (any value: this never throws).
 * @returns Every issue found, or the options with defaults filled in.
 */
export function validateCosineDecay(
  options: CosineDecayOptions,
): Validation<Required<CosineDecayOptions>> {
  const { o, unknownKeys, isObject } = readOptions(options, ["lrMax", "totalSteps", "lrMin"]);
  if (!isObject) return validation(unknownKeys, undefined as never);
  const lrMin = orDefault(o.lrMin, 0);
  const issues = [
    ...rateIssues("lrMax", o.lrMax, true),
    ...check.positiveInt("totalSteps", o.totalSteps),
    ...rateIssues("lrMin", lrMin, false),
    ...notAbove("lrMin", lrMin, "lrMax", o.lrMax),
    ...unknownKeys,
  ];
  return validation(issues, {
    lrMax: o.lrMax as number,
    totalSteps: o.totalSteps as number,
    lrMin: lrMin as number,
  });
}

/**
 * A single cosine decay: `lr(t) = lrMin + (lrMax - lrMin) * (1 + cos(pi * t / totalSteps)) / 2` up
 * to `t = totalSteps`, where it reaches `lrMin`, which it then holds. Up to `totalSteps` it equals
 * PyTorch's `CosineAnnealingLR(T_max = totalSteps, eta_min = lrMin)` (which would rise again after
 * `T_max`). It has no cycles, so no `cycleEnds`: it trains the single-model baseline.
 *
 * @example
 * ```ts
 * import { cosineDecay } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const lr = cosineDecay({ lrMax: 0.1, totalSteps: 10 });
 * assert.equal(lr(0), 0.1);
 * assert.ok(Math.abs(lr(5) - 0.05) < 1e-15);
 * assert.equal(lr(10), 0);
 * assert.equal(lr(99), 0);
 * ```
 *
 * @param options The first lr, the length of the decay and the floor.
 * @returns The schedule.
 * @throws {ConfigError} Naming every bad option.
 */
export function cosineDecay(options: CosineDecayOptions): Schedule {
  const resolved = orThrow("Cannot build cosineDecay", validateCosineDecay(options));
  const { lrMax, totalSteps, lrMin } = resolved;
  return makeSchedule(
    { name: "cosineDecay", options: resolved },
    // PyTorch's _get_closed_form_lr, in its order of operations.
    (t) =>
      t >= totalSteps
        ? lrMin
        : lrMin + (lrMax - lrMin) * (1 + Math.cos(Math.PI * t / totalSteps)) / 2,
  );
}
