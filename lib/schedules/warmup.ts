/**
 * {@linkcode warmup}: a linear warmup in front of any schedule, data-last for `pipe`.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { check, orThrow, type Validation, validation } from "../validation.ts";
import {
  makeSchedule,
  orDefault,
  rateIssues,
  readOptions,
  type Schedule,
  scheduleIssue,
} from "./schedule.ts";

/** Options of {@linkcode warmup}. */
export interface WarmupOptions {
  /** Length of the warmup in steps (a positive integer). */
  readonly steps: number;
  /** The lr of step 0 (>= 0, default 0). */
  readonly startLr?: number;
}

/**
 * Validates {@linkcode warmup}'s options without throwing; fills in the defaults.
 *
 * @example
 * ```ts
 * import { validateWarmup } from "./warmup.ts";
 * import assert from "node:assert/strict";
 *
 * const bad = validateWarmup({ steps: 0, startLr: -1 });
 * assert.equal(bad._tag, "Left");
 * if (bad._tag === "Left") assert.deepEqual(bad.left.map((i) => i.field), ["steps", "startLr"]);
 * ```
 *
 * @param options The warmup's length and starting lr (any value: this never throws).
 * @returns Every issue found, or the options with defaults filled in.
 */
export function validateWarmup(options: WarmupOptions): Validation<Required<WarmupOptions>> {
  const { o, unknownKeys, isObject } = readOptions(options, ["steps", "startLr"]);
  if (!isObject) return validation(unknownKeys, undefined as never);
  const startLr = orDefault(o.startLr, 0);
  const issues = [
    ...check.positiveInt("steps", o.steps),
    ...rateIssues("startLr", startLr, false),
    ...unknownKeys,
  ];
  return validation(issues, { steps: o.steps as number, startLr: startLr as number });
}

/**
 * A linear warmup in front of any schedule, data-last so that it composes with fp-ts's `pipe`:
 * `warmup(options)` returns the function that wraps a schedule. The wrapped schedule is shifted:
 * it starts after the warmup, so its shape (and its cycles) are kept whole. For `t < steps` the lr
 * rises linearly from `startLr` (step 0) towards `schedule(0)`, which step `steps` reaches:
 * `lr(t) = startLr + (schedule(0) - startLr) * t / steps`; from then on `lr(t) = schedule(t - steps)`.
 *
 * Cycle ends: the warmup belongs to the first cycle, so the cycle ends are the wrapped schedule's
 * moved by `steps`. A run that ends inside the warmup has none.
 *
 * @example
 * ```ts
 * import { cosineAnnealing, warmup } from "@snapfold/snapfold";
 * import { pipe } from "fp-ts/function";
 * import assert from "node:assert/strict";
 *
 * const lr = pipe(cosineAnnealing({ lrMax: 0.1, totalSteps: 100, cycles: 2 }), warmup({ steps: 10 }));
 * assert.equal(lr(0), 0);
 * assert.equal(lr(5), 0.05);
 * assert.equal(lr(10), 0.1);
 * assert.deepEqual(lr.cycleEnds?.(110), [59, 109]);
 * ```
 *
 * @param options The warmup's length and starting lr.
 * @returns A function from the schedule that follows the warmup to the warmed-up schedule (it
 * throws a ConfigError when given anything but a snapfold schedule).
 * @throws {ConfigError} Naming every bad option.
 */
export function warmup(options: WarmupOptions): (schedule: Schedule) => Schedule {
  const { steps, startLr } = orThrow("Cannot build warmup", validateWarmup(options));
  return (schedule) => {
    const issues = scheduleIssue("schedule", schedule);
    if (issues.length > 0) throw new ConfigError("Cannot build warmup", issues);
    const target = schedule(0);
    const innerEnds = schedule.cycleEndsIn;
    return makeSchedule(
      { name: "warmup", options: { schedule: schedule.spec, steps, startLr } },
      (t) => (t < steps ? startLr + (target - startLr) * t / steps : schedule(t - steps)),
      innerEnds === undefined ? undefined : function* (from, to) {
        if (to <= steps) return;
        for (const end of innerEnds(Math.max(0, from - steps), to - steps)) yield end + steps;
      },
    );
  };
}
