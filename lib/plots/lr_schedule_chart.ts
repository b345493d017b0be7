/**
 * The learning rate over steps, from the schedule function the trainer uses, with a marker at
 * every snapshot (the Keras package's `VisualizeLR` plotted a schedule other than the one it
 * trained; drawing from the same function rules that out).
 *
 * @module
 */
import {
  andThen,
  check,
  field,
  invalid,
  options as optionsBag,
  orThrow,
  struct,
  valid,
  type Validation,
} from "../validation.ts";
import type { Schedule } from "../schedules/mod.ts";
import type { Snapshot } from "../snapshot.ts";
import { baseSpec, type VegaLiteSpec } from "./vega_lite_spec.ts";

/** Options of {@linkcode lrScheduleChart}. */
export interface LrScheduleChartOptions {
  /** The schedule, as trained: `(step) => lr`. */
  readonly schedule: Schedule;
  /** Steps in the run. */
  readonly totalSteps: number;
  /**
   * Snapshots taken: their steps are marked. Without them, the schedule's `cycleEnds` are (the steps
   * where the trainer takes snapshots).
   */
  readonly snapshots?: ReadonlyArray<Pick<Snapshot, "step" | "index">>;
  /**
   * Most line points to draw (default 2000, at most {@linkcode MAX_LINE_POINTS}); cycle ends and
   * restarts are always kept.
   */
  readonly maxPoints?: number;
  /** Chart title. */
  readonly title?: string;
}

/**
 * A Vega-Lite line chart of the learning rate by step with snapshot markers.
 *
 * @example
 * ```ts
 * import { cosineAnnealing } from "@snapfold/snapfold";
 * import { lrScheduleChart } from "@snapfold/snapfold/plots";
 * import assert from "node:assert/strict";
 *
 * const schedule = cosineAnnealing({ lrMax: 0.01, totalSteps: 100, cycles: 4 });
 * const spec = lrScheduleChart({ schedule, totalSteps: 100 });
 * const layers = spec.layer as { data: { values: unknown[] } }[];
 * assert.equal(layers[0].data.values.length, 100);
 * assert.equal(layers[1].data.values.length, 4); // one marker per cycle end
 * ```
 *
 * @param options The schedule, the number of steps and the snapshots.
 * @returns The Vega-Lite spec.
 * @throws {ConfigError} naming every bad option.
 */
export function lrScheduleChart(options: LrScheduleChartOptions): VegaLiteSpec {
  const { schedule, totalSteps, snapshots, maxPoints, title } = orThrow(
    "Cannot draw the lr schedule",
    chartInputs(options),
  );
  // The snapshots that were taken, when given (after keepLast, a resume or a divergence they can be
  // fewer than the cycles); otherwise where the schedule's cycles end, which is where the trainer
  // takes them.
  const marked = orThrow(
    "Cannot draw the lr schedule",
    markedSteps(snapshots, () => schedule.cycleEnds?.(totalSteps) ?? [], totalSteps),
  );
  const keep = new Set<number>();
  const stride = Math.max(1, Math.ceil(totalSteps / maxPoints));
  for (let t = 0; t < totalSteps; t += stride) keep.add(t);
  keep.add(totalSteps - 1);
  for (const t of marked) {
    keep.add(t);
    if (t + 1 < totalSteps) keep.add(t + 1); // the restart: keeps the jump vertical
  }
  const lrOf = (step: number): number =>
    orThrow(
      "Cannot draw the lr schedule",
      field<number>("schedule", schedule(step), (f, v) =>
        check.that(
          Number.isFinite(v),
          f,
          `must return a finite learning rate (at step ${step})`,
          v,
        )),
    );
  const line = [...keep].sort((a, b) => a - b).map((step) => ({ step, lr: lrOf(step) }));
  const markers = marked.map((step, i) => ({ step, lr: lrOf(step), snapshot: i + 1 }));
  const x = { field: "step", type: "quantitative", title: "step" };
  const y = { field: "lr", type: "quantitative", title: "learning rate" };
  return {
    ...baseSpec(title),
    layer: [
      {
        name: "lr",
        data: { values: line },
        mark: { type: "line", strokeWidth: 1.5 },
        encoding: { x, y },
      },
      {
        name: "snapshots",
        data: { values: markers },
        mark: { type: "point", filled: true, size: 60, color: "#d62728" },
        encoding: { x, y },
      },
    ],
  };
}

/** Most line points a chart draws (`maxPoints`); the step axis is sampled evenly below it. */
export const MAX_LINE_POINTS = 100_000;

/** Most snapshot markers a chart draws (each adds two line points). */
export const MAX_MARKERS = 10_000;

const CHART_OPTIONS = ["schedule", "totalSteps", "snapshots", "maxPoints", "title"];

type Marked = ReadonlyArray<Pick<Snapshot, "step" | "index">> | undefined;

function chartInputs(options: unknown): Validation<{
  schedule: Schedule;
  totalSteps: number;
  snapshots: Marked;
  maxPoints: number;
  title: string;
}> {
  return andThen(optionsBag(options, CHART_OPTIONS), (o) =>
    struct({
      schedule: field<Schedule>("schedule", o.schedule, (f, v) =>
        check.that(typeof v === "function", f, "must be a schedule function", v)),
      totalSteps: field<number>("totalSteps", o.totalSteps, check.positiveInt),
      snapshots: o.snapshots === undefined
        ? valid(undefined)
        : field<Marked>("snapshots", o.snapshots, (f, v) =>
          snapshotIssues(f, v, o.totalSteps)),
      maxPoints: field<number>("maxPoints", o.maxPoints ?? 2000, (f, v) =>
        check.intInRange(f, v, 1, MAX_LINE_POINTS)),
      title: field<string>("title", o.title ?? "Learning rate schedule", check.string),
    }));
}

function snapshotIssues(f: string, v: unknown, totalSteps: unknown) {
  const list = Array.isArray(v) ? v : [];
  let ok = Array.isArray(v) && list.length <= MAX_MARKERS;
  for (let i = 0; ok && i < list.length; i++) {
    const step = (list[i] as { step?: unknown } | null | undefined)?.step;
    ok = Number.isSafeInteger(step) && (step as number) >= 0 &&
      typeof totalSteps === "number" && (step as number) < totalSteps;
  }
  return check.that(
    ok,
    f,
    `must be at most ${MAX_MARKERS} snapshots whose steps lie in [0, totalSteps)`,
    Array.isArray(v) ? list.slice(0, 20).map((s) => s?.step) : v,
  );
}

/** The steps to mark: the snapshots' (deduplicated, in order), else the schedule's cycle ends. */
function markedSteps(
  snapshots: Marked,
  cycleEnds: () => ReadonlyArray<number>,
  totalSteps: number,
): Validation<number[]> {
  if (snapshots !== undefined) {
    return valid([...new Set(snapshots.map((s) => s.step))].sort((a, b) => a - b));
  }
  const ends = cycleEnds();
  if (!Array.isArray(ends) || ends.length > MAX_MARKERS) {
    return invalid(
      "schedule",
      `must end at most ${MAX_MARKERS} cycles in ${totalSteps} steps to be marked (pass the ` +
        "snapshots to mark instead)",
      Array.isArray(ends) ? ends.length : ends,
    );
  }
  return valid(ends.filter((t) => Number.isSafeInteger(t) && t >= 0 && t < totalSteps));
}
