/**
 * {@linkcode oneCycle}: Smith & Topin's 1cycle policy, PyTorch's `OneCycleLR`.
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { check, orThrow, type Validation, validation } from "../validation.ts";
import {
  isNumber,
  makeSchedule,
  orDefault,
  rateIssues,
  readOptions,
  type Schedule,
} from "./schedule.ts";

/** How {@linkcode oneCycle} moves between its lrs: half a cosine, or a straight line. */
export type Anneal = "cos" | "linear";

/** Options of {@linkcode oneCycle}. */
export interface OneCycleOptions {
  /** The peak lr (> 0). */
  readonly maxLr: number;
  /** Length of the single cycle in steps (a positive integer). */
  readonly totalSteps: number;
  /** Fraction of the steps spent rising (0 to 1, default 0.3). */
  readonly pctStart?: number;
  /** `"cos"` (default) or `"linear"`. */
  readonly anneal?: Anneal;
  /** The first lr is `maxLr / divFactor` (>= 1, default 25). */
  readonly divFactor?: number;
  /** The last lr is `maxLr / divFactor / finalDivFactor` (>= 1, default 1e4). */
  readonly finalDivFactor?: number;
}

/**
 * Validates {@linkcode oneCycle}'s options without throwing; fills in the defaults.
 *
 * @example
 * ```ts
 * import { validateOneCycle } from "./one_cycle.ts";
 * import assert from "node:assert/strict";
 *
 * const bad = validateOneCycle({ maxLr: 0.1, totalSteps: 100, pctStart: 1.5, anneal: "exp" as never });
 * assert.equal(bad._tag, "Left");
 * if (bad._tag === "Left") assert.deepEqual(bad.left.map((i) => i.field), ["pctStart", "anneal"]);
 * ```
 *
 * @param options The options to check (any value: this never throws).
 * @returns Every issue found, or the options with defaults filled in.
 */
export function validateOneCycle(options: OneCycleOptions): Validation<Required<OneCycleOptions>> {
  const { o, unknownKeys, isObject } = readOptions(options, [
    "maxLr",
    "totalSteps",
    "pctStart",
    "anneal",
    "divFactor",
    "finalDivFactor",
  ]);
  if (!isObject) return validation(unknownKeys, undefined as never);
  const pctStart = orDefault(o.pctStart, 0.3);
  const anneal = orDefault(o.anneal, "cos");
  const divFactor = orDefault(o.divFactor, 25);
  const finalDivFactor = orDefault(o.finalDivFactor, 1e4);
  const atLeastOne = (field: string, value: unknown): ConfigIssue[] =>
    isNumber(value) && value >= 1 ? [] : [{
      field,
      message: "must be a finite number >= 1 (a divisor below 1 would put the lr above maxLr)",
      got: value,
    }];
  const issues = [
    ...rateIssues("maxLr", o.maxLr, true),
    ...check.positiveInt("totalSteps", o.totalSteps),
    ...(isNumber(pctStart) && pctStart >= 0 && pctStart <= 1
      ? []
      : [{ field: "pctStart", message: "must be a number from 0 to 1", got: pctStart }]),
    ...check.oneOf("anneal", anneal, ["cos", "linear"]),
    ...atLeastOne("divFactor", divFactor),
    ...atLeastOne("finalDivFactor", finalDivFactor),
    ...unknownKeys,
  ];
  return validation(issues, {
    maxLr: o.maxLr as number,
    totalSteps: o.totalSteps as number,
    pctStart: pctStart as number,
    anneal: anneal as Anneal,
    divFactor: divFactor as number,
    finalDivFactor: finalDivFactor as number,
  });
}

/**
 * The 1cycle policy (Smith & Topin, "Super-Convergence", 2019), equal to PyTorch's `OneCycleLR`
 * with `three_phase=False`: from `maxLr / divFactor` up to `maxLr` by step
 * `pctStart * totalSteps - 1` (PyTorch's phase end, a float), then down to
 * `maxLr / divFactor / finalDivFactor` at step `totalSteps - 1`. Steps past the end hold that last
 * lr (PyTorch raises there instead). Where the rise lasts zero steps (`pctStart * totalSteps = 1`,
 * which divides by zero in PyTorch) step 0 is the peak.
 *
 * Cycle ends: its single cycle ends at `totalSteps - 1`, at the final lr, so `cycleEnds(n)` is
 * `[totalSteps - 1]` from `n = totalSteps` on and empty before (a shorter run stops inside the
 * cycle). Steps after it hold the final lr and form no further cycle.
 *
 * @example
 * ```ts
 * import { oneCycle } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const lr = oneCycle({ maxLr: 0.1, totalSteps: 100, anneal: "linear" });
 * assert.equal(lr(0), 0.004);
 * assert.equal(lr(29), 0.1); // the peak at pctStart * totalSteps - 1
 * assert.ok(Math.abs(lr(99) - 4e-7) < 1e-15);
 * assert.deepEqual(lr.cycleEnds?.(100), [99]);
 * assert.deepEqual(lr.cycleEnds?.(99), []);
 * ```
 *
 * @param options The peak, the length, the share of the rise, the anneal shape and the divisors.
 * @returns The schedule.
 * @throws {ConfigError} Naming every bad option.
 */
export function oneCycle(options: OneCycleOptions): Schedule {
  const resolved = orThrow("Cannot build oneCycle", validateOneCycle(options));
  const { maxLr, totalSteps, pctStart, anneal, divFactor, finalDivFactor } = resolved;
  // PyTorch's OneCycleLR.__init__ and get_lr, operation for operation.
  const initialLr = maxLr / divFactor;
  const minLr = initialLr / finalDivFactor;
  const riseEnd = pctStart * totalSteps - 1;
  const lastStep = totalSteps - 1;
  const annealFn = anneal === "cos"
    ? (start: number, end: number, pct: number) =>
      end + (start - end) / 2 * (Math.cos(Math.PI * pct) + 1)
    : (start: number, end: number, pct: number) => (end - start) * pct + start;
  return makeSchedule(
    { name: "oneCycle", options: resolved },
    (step) => {
      const t = Math.min(step, lastStep);
      if (t <= riseEnd || lastStep <= riseEnd) {
        return riseEnd <= 0 ? maxLr : annealFn(initialLr, maxLr, t / riseEnd);
      }
      return annealFn(maxLr, minLr, (t - riseEnd) / (lastStep - riseEnd));
    },
    function* (from, to) {
      if (from <= lastStep && lastStep < to) yield lastStep;
    },
  );
}
