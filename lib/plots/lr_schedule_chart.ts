/**
 * The learning rate over steps, from the schedule function the trainer uses, with a marker at
 * every snapshot (the Keras package's `VisualizeLR` plotted a schedule other than the one it
 * trained; drawing from the same function rules that out).
 *
 * @module
 */
import { check, type ConfigIssue, orThrow, validation } from "../errors.ts";
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
  /** Most line points to draw (default 2000); cycle ends and restarts are always kept. */
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
  const { schedule, totalSteps, snapshots, maxPoints = 2000, title = "Learning rate schedule" } =
    options ?? ({} as LrScheduleChartOptions);
  const issues: ConfigIssue[] = [
    ...check.that(
      typeof schedule === "function",
      "schedule",
      "must be a schedule function",
      schedule,
    ),
    ...check.positiveInt("totalSteps", totalSteps),
    ...check.positiveInt("maxPoints", maxPoints),
  ];
  if (snapshots !== undefined) {
    issues.push(
      ...check.that(
        Array.isArray(snapshots) &&
          snapshots.every((s) =>
            Number.isSafeInteger(s?.step) && s.step >= 0 && s.step < totalSteps
          ),
        "snapshots",
        `must be snapshots whose steps lie in [0, totalSteps)`,
        snapshots?.map?.((s) => s?.step),
      ),
    );
  }
  orThrow("Cannot draw the lr schedule", validation(issues, null));

  // The snapshots that were taken, when given (after keepLast, a resume or a divergence they can be
  // fewer than the cycles); otherwise where the schedule's cycles end, which is where the trainer
  // takes them.
  const marked: number[] = snapshots !== undefined
    ? [...new Set(snapshots.map((s) => s.step))].sort((a, b) => a - b)
    : [...(schedule.cycleEnds?.(totalSteps) ?? [])];
  const keep = new Set<number>();
  const stride = Math.max(1, Math.ceil(totalSteps / maxPoints));
  for (let t = 0; t < totalSteps; t += stride) keep.add(t);
  keep.add(totalSteps - 1);
  for (const t of marked) {
    keep.add(t);
    if (t + 1 < totalSteps) keep.add(t + 1); // the restart: keeps the jump vertical
  }
  const line = [...keep].sort((a, b) => a - b).map((step) => ({ step, lr: schedule(step) }));
  const markers = marked.map((step, i) => ({ step, lr: schedule(step), snapshot: i + 1 }));
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
