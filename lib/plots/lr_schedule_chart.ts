/**
 * The learning rate over steps or epochs, from the schedule function the trainer uses, with a
 * marker at every snapshot (the Keras package's `VisualizeLR` plotted a schedule other than the one
 * it trained; drawing from the same function rules that out). It takes the training config itself,
 * or a schedule with its `lrPer` and steps per epoch: no run plan is needed.
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
import { perEpoch, type Schedule } from "../schedules/mod.ts";
import type { Snapshot } from "../snapshot.ts";
import { planSnapshots, type SnapshotPolicy } from "../train/policy.ts";
import { baseSpec, PALETTE, SNAPSHOT_COLOR, type VegaLiteSpec } from "./vega_lite_spec.ts";

/** What {@linkcode lrScheduleChart} reads of a training config (a `TrainConfig` fits). */
export interface LrScheduleRun {
  /** The schedule, in the unit of `lrPer`. */
  readonly schedule: Schedule;
  /** `"step"` (default) or `"epoch"`, as in the training config. */
  readonly lrPer?: "step" | "epoch";
  /** Epochs of the run. */
  readonly epochs: number;
  /** Samples per step. */
  readonly batchSize: number;
  /** The training data: only its row count `n` is read. */
  readonly data: { readonly n: number };
  /** The snapshot policy (default `atCycleEnds()`): marked when no `snapshots` are given. */
  readonly snapshots?: SnapshotPolicy;
}

/** Options of {@linkcode lrScheduleChart}: `config`, or `schedule` with the run's length. */
export interface LrScheduleChartOptions {
  /** The training config: schedule, `lrPer`, epochs and steps per epoch all come from it. */
  readonly config?: LrScheduleRun;
  /** Without `config`: the schedule, in the unit of `lrPer` (`(step) => lr` by default). */
  readonly schedule?: Schedule;
  /** Without `config`: the unit the schedule counts, `"step"` (default) or `"epoch"`. */
  readonly lrPer?: "step" | "epoch";
  /** Without `config`: steps per epoch, needed when `lrPer` or `axis` is `"epoch"`. */
  readonly stepsPerEpoch?: number;
  /** Without `config`: epochs in the run (or give `totalSteps`). */
  readonly epochs?: number;
  /** Without `config`: steps in the run (default `epochs * stepsPerEpoch`). */
  readonly totalSteps?: number;
  /**
   * The x axis: `"step"` or `"epoch"` (default: the unit of `lrPer`). A per-step schedule drawn by
   * epoch puts step `t` at epoch `t / stepsPerEpoch`; a per-epoch one is drawn as steps, each epoch
   * holding its lr.
   */
  readonly axis?: "step" | "epoch";
  /**
   * Snapshots taken: their steps are marked. Without them, the steps where the config's snapshot
   * policy (default: the schedule's cycle ends) takes snapshots are.
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
 * A Vega-Lite line chart of the learning rate by step or by epoch, with snapshot markers.
 *
 * @example From the training config: a per-epoch schedule, drawn by epoch
 * ```ts
 * import { cosineAnnealing } from "@snapfold/snapfold";
 * import { lrScheduleChart } from "@snapfold/snapfold/plots";
 * import assert from "node:assert/strict";
 *
 * const config = {
 *   schedule: cosineAnnealing({ lrMax: 0.01, totalSteps: 100, cycles: 4 }),
 *   lrPer: "epoch" as const,
 *   epochs: 100,
 *   batchSize: 32,
 *   data: { n: 100 },
 * };
 * const spec = lrScheduleChart({ config });
 * const layers = spec.layer as { data: { values: { epoch: number }[] } }[];
 * assert.equal(layers[0].data.values.length, 100); // one point per epoch
 * assert.deepEqual(layers[1].data.values.map((p) => p.epoch), [24, 49, 74, 99]);
 * ```
 *
 * @example A per-step schedule, drawn by step
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
 * @param options The config (or the schedule and the run's length), the axis and the snapshots.
 * @returns The Vega-Lite spec.
 * @throws {ConfigError} naming every bad option.
 */
export function lrScheduleChart(options: LrScheduleChartOptions): VegaLiteSpec {
  const run = orThrow("Cannot draw the lr schedule", chartInputs(options));
  const { totalSteps, stepsPerEpoch: k, snapshots, maxPoints, title, axis } = run;
  const stepSchedule = run.lrPer === "epoch" ? perEpoch(k)(run.schedule) : run.schedule;
  // The snapshots that were taken, when given (after keepLast, a resume or a divergence they can be
  // fewer than the cycles); otherwise where the policy (by default the cycle ends) takes them.
  const markedAt = orThrow(
    "Cannot draw the lr schedule",
    snapshots !== undefined
      ? valid([...new Set(snapshots.map((s) => s.step))].sort((a, b) => a - b))
      : run.policy !== undefined
      ? plannedSteps(run.policy, { ...run, schedule: stepSchedule })
      : cycleEndSteps(() => stepSchedule.cycleEnds?.(totalSteps) ?? [], totalSteps),
  );
  // A per-epoch schedule drawn by epoch: one point per epoch; otherwise one per (sampled) step.
  const byEpoch = axis === "epoch" && run.lrPer === "epoch";
  const units = byEpoch ? totalSteps / k : totalSteps;
  const unitOf = (step: number) => byEpoch ? Math.floor(step / k) : step;
  const xOf = (unit: number) => axis === "epoch" && !byEpoch ? unit / k : unit;
  const lrOf = byEpoch ? run.schedule : stepSchedule;
  const marked = [...new Set(markedAt.map(unitOf))];
  const keep = new Set<number>();
  const stride = Math.max(1, Math.ceil(units / maxPoints));
  for (let t = 0; t < units; t += stride) keep.add(t);
  keep.add(units - 1);
  for (const t of marked) {
    keep.add(t);
    if (t + 1 < units) keep.add(t + 1); // the restart: keeps the jump vertical
  }
  const lr = (unit: number): number => finiteLr(lrOf(unit), unit, byEpoch ? "epoch" : "step");
  const x = { field: axis, type: "quantitative", title: axis };
  const line = [...keep].sort((a, b) => a - b).map((u) => ({ [axis]: xOf(u), lr: lr(u) }));
  const markers = marked.map((u, i) => ({ [axis]: xOf(u), lr: lr(u), snapshot: i + 1 }));
  const y = { field: "lr", type: "quantitative", title: "learning rate" };
  return {
    ...baseSpec(title),
    layer: [
      {
        name: "lr",
        data: { values: line },
        // A per-epoch lr holds through its epoch: drawn as steps, the restart as a vertical jump.
        mark: {
          type: "line",
          strokeWidth: 1.5,
          color: PALETTE[0],
          ...(byEpoch ? { interpolate: "step-after" } : {}),
        },
        encoding: { x, y },
      },
      {
        name: "snapshots",
        data: { values: markers.map((m) => ({ ...m, marker: "snapshot" })) },
        mark: { type: "point", filled: true, size: 60, shape: "diamond" },
        encoding: {
          x,
          y,
          color: {
            field: "marker",
            type: "nominal",
            title: null,
            scale: { range: [SNAPSHOT_COLOR] },
          },
        },
      },
    ],
  };
}

function finiteLr(value: number, at: number, unit: string): number {
  return orThrow(
    "Cannot draw the lr schedule",
    field<number>(
      "schedule",
      value,
      (f, v) =>
        check.that(
          Number.isFinite(v),
          f,
          `must return a finite learning rate (at ${unit} ${at})`,
          v,
        ),
    ),
  );
}

/** Most line points a chart draws (`maxPoints`); the step axis is sampled evenly below it. */
export const MAX_LINE_POINTS = 100_000;

/** Most steps a chart's run may have (the schedule is sampled, never listed, below this). */
const MAX_STEPS = 2 ** 40;

/** Most snapshot markers a chart draws (each adds two line points). */
export const MAX_MARKERS = 10_000;

const SHARED_OPTIONS = ["axis", "snapshots", "maxPoints", "title"];
const RUN_OPTIONS = ["schedule", "lrPer", "stepsPerEpoch", "epochs", "totalSteps"];

type Marked = ReadonlyArray<Pick<Snapshot, "step" | "index">> | undefined;

/** A chart's run, resolved to steps: what {@linkcode lrScheduleChart} draws. */
interface ChartRun {
  readonly schedule: Schedule;
  readonly lrPer: "step" | "epoch";
  readonly stepsPerEpoch: number;
  readonly epochs: number;
  readonly totalSteps: number;
  readonly policy?: SnapshotPolicy;
  readonly axis: "step" | "epoch";
  readonly snapshots: Marked;
  readonly maxPoints: number;
  readonly title: string;
}

/** The run's length in steps (and epochs), from the config or the options. */
interface RunLength {
  readonly schedule: Schedule;
  readonly lrPer: "step" | "epoch";
  readonly stepsPerEpoch?: number;
  readonly totalSteps: number;
  readonly policy?: SnapshotPolicy;
}

function chartInputs(options: unknown): Validation<ChartRun> {
  const fromConfig = typeof options === "object" && options !== null && "config" in options;
  const known = [...SHARED_OPTIONS, ...(fromConfig ? ["config"] : RUN_OPTIONS)];
  return andThen(optionsBag(options, known), (o) => {
    const length = fromConfig ? lengthOfConfig(o.config) : lengthOfOptions(o);
    const axis = field<"step" | "epoch">(
      "axis",
      o.axis ?? (length._tag === "Right" ? length.right.lrPer : "step"),
      (f, v) => check.oneOf(f, v, ["step", "epoch"]),
    );
    const steps = length._tag === "Right" ? length.right.totalSteps : o.totalSteps;
    const rest = struct({
      length,
      axis,
      snapshots: o.snapshots === undefined
        ? valid(undefined)
        : field<Marked>("snapshots", o.snapshots, (f, v) => snapshotIssues(f, v, steps)),
      maxPoints: field<number>(
        "maxPoints",
        o.maxPoints ?? 2000,
        (f, v) => check.intInRange(f, v, 1, MAX_LINE_POINTS),
      ),
      title: field<string>("title", o.title ?? "Learning rate schedule", check.string),
    });
    return andThen(rest, ({ length, axis, snapshots, maxPoints, title }) => {
      const k = length.stepsPerEpoch;
      const perEpochUnits = length.lrPer === "epoch" || axis === "epoch";
      const sized = k !== undefined || !perEpochUnits ? valid(k ?? 1) : invalid(
        "stepsPerEpoch",
        'is required when lrPer or axis is "epoch" (or pass the training config)',
      );
      return andThen(sized, (k) =>
        andThen(
          length.lrPer === "epoch" && length.totalSteps % k !== 0
            ? invalid("totalSteps", `must be whole epochs of ${k} steps`, length.totalSteps)
            : valid(undefined),
          () =>
            valid({
              ...length,
              stepsPerEpoch: k,
              epochs: Math.ceil(length.totalSteps / k),
              axis,
              snapshots,
              maxPoints,
              title,
            }),
        ));
    });
  });
}

const scheduleCheck = (f: string, v: unknown) =>
  check.that(typeof v === "function", f, "must be a schedule function", v);
const lrPerCheck = (f: string, v: unknown) =>
  v === undefined ? [] : check.oneOf(f, v, ["step", "epoch"]);
const optionalPositive = (f: string, v: unknown) => v === undefined ? [] : check.positiveInt(f, v);

/** The run's length from a training config: steps per epoch are `ceil(data.n / batchSize)`. */
function lengthOfConfig(config: unknown): Validation<RunLength> {
  if (typeof config !== "object" || config === null) {
    return invalid("config", "must be a training config { schedule, epochs, batchSize, data }");
  }
  const c = config as Partial<LrScheduleRun>;
  const given = struct({
    schedule: field<Schedule>("config.schedule", c.schedule, scheduleCheck),
    lrPer: field<"step" | "epoch" | undefined>("config.lrPer", c.lrPer, lrPerCheck),
    epochs: field<number>("config.epochs", c.epochs, check.positiveInt),
    batchSize: field<number>("config.batchSize", c.batchSize, check.positiveInt),
    n: field<number>("config.data.n", c.data?.n, check.positiveInt),
  });
  return andThen(given, ({ schedule, lrPer, epochs, batchSize, n }) => {
    const stepsPerEpoch = Math.ceil(n / batchSize);
    const totalSteps = epochs * stepsPerEpoch;
    return Number.isSafeInteger(totalSteps) && totalSteps <= MAX_STEPS
      ? valid({
        schedule,
        lrPer: lrPer ?? "step",
        stepsPerEpoch,
        totalSteps,
        policy: c.snapshots,
      })
      : invalid("config.epochs", `times the steps per epoch must be at most ${MAX_STEPS}`, epochs);
  });
}

/** The run's length from the options: `totalSteps`, or `epochs` times `stepsPerEpoch`. */
function lengthOfOptions(o: Readonly<Record<string, unknown>>): Validation<RunLength> {
  const given = struct({
    schedule: field<Schedule>("schedule", o.schedule, scheduleCheck),
    lrPer: field<"step" | "epoch" | undefined>("lrPer", o.lrPer, lrPerCheck),
    stepsPerEpoch: field<number | undefined>("stepsPerEpoch", o.stepsPerEpoch, optionalPositive),
    epochs: field<number | undefined>("epochs", o.epochs, optionalPositive),
    totalSteps: field<number | undefined>("totalSteps", o.totalSteps, optionalPositive),
  });
  return andThen(given, ({ schedule, lrPer, stepsPerEpoch, epochs, totalSteps }) => {
    const steps = totalSteps ??
      (epochs !== undefined && stepsPerEpoch !== undefined ? epochs * stepsPerEpoch : undefined);
    if (steps === undefined || !Number.isSafeInteger(steps) || steps > MAX_STEPS) {
      return invalid(
        "totalSteps",
        `must be a positive integer up to ${MAX_STEPS} (or give epochs and stepsPerEpoch)`,
        steps,
      );
    }
    return valid({ schedule, lrPer: lrPer ?? "step", stepsPerEpoch, totalSteps: steps });
  });
}

/** The snapshot steps a policy plans for the run, as the trainer would take them. */
function plannedSteps(
  policy: SnapshotPolicy,
  run: ChartRun,
): Validation<ReadonlyArray<number>> {
  const planned = planSnapshots(policy, run, MAX_MARKERS);
  return planned._tag === "Left"
    ? invalid(`config.${planned.left[0].field}`, planned.left[0].message, planned.left[0].got)
    : valid(planned.right.steps);
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

/** The steps to mark without a policy: the schedule's cycle ends. */
function cycleEndSteps(
  cycleEnds: () => ReadonlyArray<number>,
  totalSteps: number,
): Validation<ReadonlyArray<number>> {
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
