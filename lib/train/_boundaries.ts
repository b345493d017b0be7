/**
 * Where a run's segments end and what is read after each: a segment ends at a snapshot step, at
 * the end of a report or checkpoint epoch, at the end of the run, or after `maxSegmentSteps` steps
 * (which bounds the memory of one step plan and changes no event).
 *
 * @module
 */
import type { RunPlan } from "./config.ts";
import type { SegmentNeeds } from "./fold.ts";

/** The first index of a sorted list whose value is >= x (the list's length when none). */
export function firstAtLeast(list: ReadonlyArray<number>, x: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether a snapshot is taken after `step`. */
export function isSnapshotStep(run: RunPlan, step: number): boolean {
  return run.snapshotSteps[firstAtLeast(run.snapshotSteps, step)] === step;
}

/** Where a segment starting at `from` ends: the first boundary, or after `maxSegmentSteps`. */
export function segmentEnd(from: number, run: RunPlan): number {
  const spe = run.stepsPerEpoch;
  let to = Math.min(run.totalSteps, from + run.maxSegmentSteps);
  const snapshot = run.snapshotSteps[firstAtLeast(run.snapshotSteps, from)];
  if (snapshot !== undefined && snapshot + 1 < to) to = snapshot + 1;
  const epochDone = Math.floor(from / spe) + 1; // the epoch of `from` ends at step epochDone * spe
  for (const every of [run.reportEvery, run.checkpointEvery]) {
    if (!Number.isFinite(every)) continue;
    const end = Math.ceil(epochDone / every) * every * spe;
    if (end < to) to = end;
  }
  return to;
}

/** What must be read after a segment that ends at `to`. */
export function needsAt(to: number, run: RunPlan): SegmentNeeds {
  const endsEpoch = to % run.stepsPerEpoch === 0;
  const epochs = to / run.stepsPerEpoch;
  const snapshot = isSnapshotStep(run, to - 1);
  const checkpoint = endsEpoch && epochs % run.checkpointEvery === 0;
  const report = to === run.totalSteps || snapshot || checkpoint ||
    (endsEpoch && epochs % run.reportEvery === 0);
  const validation = run.validates && endsEpoch && report;
  return {
    params: snapshot || checkpoint || validation || to === run.totalSteps,
    optimizerState: checkpoint,
    random: checkpoint,
    validation,
  };
}
