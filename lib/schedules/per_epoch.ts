/**
 * {@linkcode perEpoch}: holds the lr within each epoch, data-last for `pipe`.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { check, orThrow, type Validation, validation } from "../validation.ts";
import { makeSchedule, type Schedule, scheduleIssue } from "./schedule.ts";

/**
 * Validates {@linkcode perEpoch}'s steps per epoch without throwing.
 *
 * @example
 * ```ts
 * import { validatePerEpoch } from "./per_epoch.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(validatePerEpoch(0)._tag, "Left");
 * assert.equal(validatePerEpoch(4)._tag, "Right");
 * ```
 *
 * @param stepsPerEpoch Optimizer steps in one epoch (any value: this never throws).
 * @returns The issue found, or the steps per epoch.
 */
export function validatePerEpoch(stepsPerEpoch: number): Validation<number> {
  return validation(check.positiveInt("stepsPerEpoch", stepsPerEpoch), stepsPerEpoch);
}

/**
 * Holds the lr constant within each epoch, as the tutorial does (it sets the lr once per epoch; the
 * paper sets it every step); data-last, so `perEpoch(stepsPerEpoch)` returns the function that
 * wraps a schedule of the 0-based epoch into a schedule of the step:
 * `lr(step) = schedule(floor(step / stepsPerEpoch))`.
 *
 * Cycle ends: the last step of every epoch that ends one of the wrapped schedule's cycles, once
 * that epoch is complete. An epoch cut short by the end of the run ends no cycle.
 *
 * @example The tutorial: 500 epochs of 4 batches, 10 cycles
 * ```ts
 * import { cosineAnnealing, perEpoch } from "@snapfold/snapfold";
 * import { pipe } from "fp-ts/function";
 * import assert from "node:assert/strict";
 *
 * const lr = pipe(cosineAnnealing({ lrMax: 0.01, totalSteps: 500, cycles: 10 }), perEpoch(4));
 * assert.equal(lr(3), 0.01); // still epoch 0
 * assert.ok(lr(4) < 0.01);
 * assert.deepEqual(lr.cycleEnds?.(2000).slice(0, 2), [199, 399]);
 * ```
 *
 * @param stepsPerEpoch Optimizer steps in one epoch (a positive integer).
 * @returns A function from a schedule of the epoch to the schedule of the step (it throws a
 * ConfigError when given anything but a snapfold schedule).
 * @throws {ConfigError} When stepsPerEpoch is not a positive integer.
 */
export function perEpoch(stepsPerEpoch: number): (schedule: Schedule) => Schedule {
  const k = orThrow("Cannot build perEpoch", validatePerEpoch(stepsPerEpoch));
  return (schedule) => {
    const issues = scheduleIssue("schedule", schedule);
    if (issues.length > 0) throw new ConfigError("Cannot build perEpoch", issues);
    const innerEnds = schedule.cycleEndsIn;
    return makeSchedule(
      { name: "perEpoch", options: { schedule: schedule.spec, stepsPerEpoch: k } },
      (t) => schedule(Math.floor(t / k)),
      innerEnds === undefined ? undefined : function* (from, to) {
        // Epoch e ends at step (e + 1) * k - 1, inside [from, to) for these epochs.
        const first = Math.ceil((from + 1) / k) - 1;
        const last = Math.floor(to / k);
        if (first >= last) return;
        for (const epoch of innerEnds(first, last)) yield (epoch + 1) * k - 1;
      },
    );
  };
}
