/**
 * Cycle ends of a schedule within a run, listed in bounded work: only complete cycles (the
 * schedules list nothing else since they stream `cycleEndsIn`), and never more than a limit.
 *
 * @module
 */
import type { Schedule } from "../schedules/mod.ts";

/**
 * The last steps of the complete cycles of a schedule in a run of `totalSteps` steps, or
 * `undefined` when there are more than `limit` of them. The ends are streamed from the schedule's
 * `cycleEndsIn`, so a schedule with millions of cycles is refused after `limit + 1` of them.
 *
 * @example
 * ```ts
 * import { completeCycleEnds } from "./_cycles.ts";
 * import { cosineAnnealing } from "../schedules/mod.ts";
 * import assert from "node:assert/strict";
 *
 * const schedule = cosineAnnealing({ lrMax: 0.1, totalSteps: 53, cycles: 5 });
 * assert.deepEqual(completeCycleEnds(schedule, 53, 100), [9, 19, 29, 39, 49]);
 * assert.equal(completeCycleEnds(schedule, 53, 3), undefined);
 * ```
 *
 * @param schedule A schedule with `cycleEndsIn`.
 * @param totalSteps Steps of the run.
 * @param limit The most cycle ends to list.
 * @returns The ascending last steps of the complete cycles, or `undefined` past the limit.
 */
export function completeCycleEnds(
  schedule: Schedule,
  totalSteps: number,
  limit: number,
): ReadonlyArray<number> | undefined {
  const ends: number[] = [];
  for (const end of schedule.cycleEndsIn!(0, totalSteps)) {
    if (ends.length === limit) return undefined;
    ends.push(end);
  }
  return ends;
}

/** The first complete cycle's last step at or after `after`, or undefined (none before 2^53). */
export function firstCycleEnd(schedule: Schedule, after: number): number | undefined {
  for (const end of schedule.cycleEndsIn!(after, Number.MAX_SAFE_INTEGER)) return end;
  return undefined;
}
