/**
 * Cycle ends of a schedule within a run, listed in bounded work: only complete cycles (ending at
 * their minimum inside the run), and never more than a limit.
 *
 * @module
 */
import type { Schedule } from "../schedules.ts";

/**
 * The last steps of the complete cycles of a schedule in a run of `totalSteps` steps, or
 * `undefined` when there are more than `limit` of them. A cycle is complete when it ends at its
 * minimum inside the run; the run's last step closes a cycle only if the schedule restarts after it.
 * Growing prefixes of the run are listed first, so a schedule with millions of cycles is refused
 * after listing about `limit` of them, never all.
 *
 * @example
 * ```ts
 * import { completeCycleEnds } from "./_cycles.ts";
 * import { cosineAnnealing } from "../schedules.ts";
 * import assert from "node:assert/strict";
 *
 * const schedule = cosineAnnealing({ lrMax: 0.1, totalSteps: 53, cycles: 5 });
 * assert.deepEqual(completeCycleEnds(schedule, 53, 100), [9, 19, 29, 39, 49]);
 * assert.equal(completeCycleEnds(schedule, 53, 3), undefined);
 * ```
 *
 * @param schedule A schedule with `cycleEnds`.
 * @param totalSteps Steps of the run.
 * @param limit The most cycle ends to list.
 * @returns The ascending last steps of the complete cycles, or `undefined` past the limit.
 */
export function completeCycleEnds(
  schedule: Schedule,
  totalSteps: number,
  limit: number,
): ReadonlyArray<number> | undefined {
  const ends = schedule.cycleEnds!;
  let listed: ReadonlyArray<number> = [];
  for (let m = Math.min(totalSteps, 1024);; m = Math.min(totalSteps, m * 2)) {
    listed = ends(m);
    if (listed.length > limit + 1) return undefined;
    if (m === totalSteps) break;
  }
  const last = totalSteps - 1;
  const inside = listed.filter((s) => s < last);
  // Whether the run's last step ends a cycle: the schedule says so for a longer run too.
  const longer = ends(totalSteps + 1);
  const closes = longer.length > 0 &&
    (longer[longer.length - 1] === last || longer[longer.length - 2] === last);
  const complete = closes ? [...inside, last] : inside;
  return complete.length > limit ? undefined : complete;
}

/** The first complete cycle's last step in a run longer than `after`, or undefined (none soon). */
export function firstCycleEnd(schedule: Schedule, after: number): number | undefined {
  for (let m = Math.max(2 * after, 2); m <= 2 ** 44; m *= 2) {
    const listed = schedule.cycleEnds!(m);
    if (listed.length >= 2 || (listed.length === 1 && listed[0] < m - 1)) return listed[0];
  }
  return undefined;
}
