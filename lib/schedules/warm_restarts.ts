/**
 * {@linkcode warmRestarts}: SGDR, PyTorch's `CosineAnnealingWarmRestarts`.
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { check, orThrow, type Validation, validation } from "../validation.ts";
import {
  isNumber,
  makeSchedule,
  notAbove,
  orDefault,
  rateIssues,
  readOptions,
  type Schedule,
} from "./schedule.ts";

/** Options of {@linkcode warmRestarts}. */
export interface WarmRestartsOptions {
  /** Steps in the first cycle (PyTorch's `T_0`, a positive integer). */
  readonly cycleLength: number;
  /**
   * Growth of the cycle length at every restart (PyTorch's `T_mult`, >= 1, default 1; the second
   * cycle, `cycleLength * cycleLengthMultiplier` steps, must stay within 2^53 steps).
   */
  readonly cycleLengthMultiplier?: number;
  /** The peak lr of the first cycle (> 0). */
  readonly lrMax: number;
  /** The floor (PyTorch's `eta_min`, 0 to `lrMax`, default 0). */
  readonly lrMin?: number;
  /** Scales the peak of each new cycle: cycle `i` peaks at `lrMax * lrMultiplier ** i` (in (0, 1], default 1). */
  readonly lrMultiplier?: number;
}

function multiplierIssues(cycleLength: unknown, multiplier: unknown): ConfigIssue[] {
  if (!(isNumber(multiplier) && multiplier >= 1)) {
    return [{
      field: "cycleLengthMultiplier",
      message: "must be a finite number >= 1 (cycles never get shorter)",
      got: multiplier,
    }];
  }
  // Past 2^53 steps no step index exists: a second cycle that long would never end.
  return isNumber(cycleLength) && cycleLength * multiplier > Number.MAX_SAFE_INTEGER
    ? [{
      field: "cycleLengthMultiplier",
      message: `must keep the second cycle within 2^53 steps (cycleLength * ` +
        `cycleLengthMultiplier <= ${Number.MAX_SAFE_INTEGER}): use a smaller multiplier`,
      got: multiplier,
    }]
    : [];
}

/**
 * Validates {@linkcode warmRestarts}'s options without throwing; fills in the defaults.
 *
 * @example
 * ```ts
 * import { validateWarmRestarts } from "./warm_restarts.ts";
 * import assert from "node:assert/strict";
 *
 * const bad = validateWarmRestarts({ cycleLength: 2.5, cycleLengthMultiplier: 0.5, lrMax: 0.1 });
 * assert.equal(bad._tag, "Left");
 * if (bad._tag === "Left") {
 *   assert.deepEqual(bad.left.map((i) => i.field), ["cycleLength", "cycleLengthMultiplier"]);
 * }
 * ```
 *
 * @param options The options to check (any value: this never throws).
 * @returns Every issue found, or the options with defaults filled in.
 */
export function validateWarmRestarts(
  options: WarmRestartsOptions,
): Validation<Required<WarmRestartsOptions>> {
  const { o, unknownKeys, isObject } = readOptions(options, [
    "cycleLength",
    "cycleLengthMultiplier",
    "lrMax",
    "lrMin",
    "lrMultiplier",
  ]);
  if (!isObject) return validation(unknownKeys, undefined as never);
  const multiplier = orDefault(o.cycleLengthMultiplier, 1);
  const lrMin = orDefault(o.lrMin, 0);
  const lrMultiplier = orDefault(o.lrMultiplier, 1);
  const issues = [
    ...check.positiveInt("cycleLength", o.cycleLength),
    ...multiplierIssues(o.cycleLength, multiplier),
    ...rateIssues("lrMax", o.lrMax, true),
    ...rateIssues("lrMin", lrMin, false),
    ...notAbove("lrMin", lrMin, "lrMax", o.lrMax),
    ...(isNumber(lrMultiplier) && lrMultiplier > 0 && lrMultiplier <= 1 ? [] : [{
      field: "lrMultiplier",
      message: "must be a number in (0, 1]: a peak that grows every cycle has no bound " +
        "(raise lrMax instead)",
      got: lrMultiplier,
    }]),
    ...unknownKeys,
  ];
  return validation(issues, {
    cycleLength: o.cycleLength as number,
    cycleLengthMultiplier: multiplier as number,
    lrMax: o.lrMax as number,
    lrMin: lrMin as number,
    lrMultiplier: lrMultiplier as number,
  });
}

/** B(i), the first step of cycle `i`, and its inverse: the cycle of a step. */
function cycleGeometry(cycleLength: number, m: number) {
  const logM = Math.log1p(m - 1);
  // An integer m keeps every term an exact integer (as PyTorch's T_i * T_mult does); otherwise
  // expm1/log1p keep m close to 1 accurate. Where cycleLength * m^i overflows, the ratio is taken
  // first (a boundary that far is never reached, but must not be Infinity / Infinity).
  const cycleStart = (i: number): number => {
    if (m === 1) return cycleLength * i;
    const grown = Number.isInteger(m) ? m ** i - 1 : Math.expm1(i * logM);
    const start = cycleLength * grown / (m - 1);
    return Math.round(Number.isFinite(start) ? start : cycleLength * (grown / (m - 1)));
  };
  // Every cycle is at least cycleLength long, so cycleStart(floor(t / cycleLength) + 1) > t bounds
  // the search: the logarithm is a guess, the boundaries decide, bisection when the guess is off.
  const cycleOf = (t: number): number => {
    if (m === 1) return Math.floor(t / cycleLength);
    let hi = Math.floor(t / cycleLength) + 1;
    const guess = Math.floor(Math.log1p(t / cycleLength * (m - 1)) / logM);
    if (guess >= 0 && guess < hi) {
      if (cycleStart(guess) <= t && cycleStart(guess + 1) > t) return guess;
      if (guess + 1 < hi && cycleStart(guess + 1) <= t && cycleStart(guess + 2) > t) {
        return guess + 1;
      }
      if (guess > 0 && cycleStart(guess - 1) <= t && cycleStart(guess) > t) return guess - 1;
    }
    let lo = 0; // cycleStart(lo) <= t < cycleStart(hi)
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (cycleStart(mid) <= t) lo = mid;
      else hi = mid;
    }
    return lo;
  };
  return { cycleStart, cycleOf };
}

/**
 * SGDR, cosine annealing with warm restarts (Loshchilov & Hutter, "SGDR: Stochastic Gradient
 * Descent with Warm Restarts", ICLR 2017). With integer multipliers and `lrMultiplier = 1` it is
 * PyTorch's `CosineAnnealingWarmRestarts(T_0 = cycleLength, T_mult = cycleLengthMultiplier,
 * eta_min = lrMin)` with base lr `lrMax`, stepped once per step.
 *
 * Cycle lengths: cycle `i` (0-based) spans the steps `[B(i), B(i + 1))` with
 * `B(i) = round(cycleLength * (m ** i - 1) / (m - 1))` (and `B(i) = cycleLength * i` for `m = 1`),
 * where `m = cycleLengthMultiplier`. That is the geometric series of lengths rounded once, on the
 * cumulative sum, so rounding never drifts; for an integer `m` it is exactly PyTorch's
 * `T_0 * T_mult ** i` steps per cycle, and for any `m >= 1` every cycle is at least `cycleLength`
 * steps long.
 *
 * Peaks: cycle `i` starts at `max(lrMin, lrMax * lrMultiplier ** i)` (the `lr_multiplier` of the
 * Keras snapshot-ensemble callbacks, at most 1) and anneals to the floor, which stays `lrMin`: a
 * decaying peak never goes below the floor, it flattens onto it.
 *
 * Cycle ends: the steps `B(i) - 1` for `i >= 1`, the last step before each restart. A run that
 * stops inside a cycle (any multiplier) leaves that cycle without an end.
 *
 * @example
 * ```ts
 * import { warmRestarts } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const lr = warmRestarts({ cycleLength: 10, cycleLengthMultiplier: 2, lrMax: 0.1, lrMultiplier: 0.5 });
 * assert.equal(lr(0), 0.1);
 * assert.equal(lr(10), 0.05); // the second cycle, 20 steps long, peaks at half
 * assert.deepEqual(lr.cycleEnds?.(70), [9, 29, 69]);
 * assert.deepEqual(lr.cycleEnds?.(60), [9, 29]); // steps 30-59 are a partial third cycle
 * ```
 *
 * @param options The first cycle's length and peak, their growth per restart, and the floor.
 * @returns The schedule.
 * @throws {ConfigError} Naming every bad option.
 */
export function warmRestarts(options: WarmRestartsOptions): Schedule {
  const resolved = orThrow("Cannot build warmRestarts", validateWarmRestarts(options));
  const { cycleLength, cycleLengthMultiplier: m, lrMax, lrMin, lrMultiplier } = resolved;
  const { cycleStart, cycleOf } = cycleGeometry(cycleLength, m);
  return makeSchedule(
    { name: "warmRestarts", options: resolved },
    (t) => {
      const i = cycleOf(t);
      const start = cycleStart(i);
      const current = t - start; // PyTorch's T_cur
      const length = cycleStart(i + 1) - start; // PyTorch's T_i
      const peak = lrMultiplier === 1 ? lrMax : Math.max(lrMin, lrMax * lrMultiplier ** i);
      // Same order of operations as PyTorch's get_lr.
      return lrMin + (peak - lrMin) * (1 + Math.cos(Math.PI * current / length)) / 2;
    },
    function* (from, to) {
      for (let i = cycleOf(from) + 1;; i++) {
        const end = cycleStart(i) - 1;
        if (!(end < to)) return;
        yield end;
      }
    },
  );
}
