/**
 * Learning curves: training (and validation) loss and accuracy by epoch.
 *
 * @module
 */
import {
  andThen,
  check,
  field,
  invalid,
  orThrow,
  struct,
  valid,
  type Validation,
} from "../validation.ts";
import { baseSpec, SNAPSHOT_COLOR, type VegaLiteSpec } from "./vega_lite_spec.ts";

/** One epoch of history (the trainer's `epoch` events fit). */
export interface LearningCurvePoint {
  /** 0-based epoch. */
  readonly epoch: number;
  /** Mean training loss. */
  readonly loss: number;
  /** Training accuracy (absent for regression runs, which then draw no accuracy line). */
  readonly accuracy?: number;
  /** Validation metrics, when measured that epoch (no accuracy for regression). */
  readonly validation?: { readonly loss: number; readonly accuracy?: number };
}

/** Options of {@linkcode learningCurveChart}. */
export interface LearningCurveOptions {
  /** What the validation line is called in the legend (default `"validation"`; e.g. `"test"`). */
  readonly validationName?: string;
  /** Snapshots taken: a marker on the training lines at each one's epoch. */
  readonly snapshots?: ReadonlyArray<{ readonly epoch: number }>;
}

/**
 * Two stacked Vega-Lite line charts sharing the epoch axis: loss on top, accuracy below (left out
 * when no point has an accuracy, as in a regression run), one line for training and one for
 * validation when the history has any.
 *
 * @example
 * ```ts
 * import { learningCurveChart } from "@snapfold/snapfold/plots";
 * import assert from "node:assert/strict";
 *
 * const spec = learningCurveChart([
 *   { epoch: 0, loss: 1.1, accuracy: 0.4, validation: { loss: 1.2, accuracy: 0.35 } },
 *   { epoch: 1, loss: 0.7, accuracy: 0.7 },
 * ]);
 * assert.equal((spec.data as { values: unknown[] }).values.length, 2 * 2 + 2);
 * ```
 *
 * @example Test curves and snapshot markers
 * ```ts
 * import { learningCurveChart } from "@snapfold/snapfold/plots";
 * import assert from "node:assert/strict";
 *
 * const history = [0, 1, 2, 3].map((epoch) => ({
 *   epoch, loss: 1 / (epoch + 1), accuracy: 0.5, validation: { loss: 1, accuracy: 0.4 },
 * }));
 * const spec = learningCurveChart(history, "Learning curves", {
 *   validationName: "test",
 *   snapshots: [{ epoch: 1 }, { epoch: 3 }],
 * });
 * const values = (spec.data as { values: { split: string; marker?: string }[] }).values;
 * assert.ok(values.some((v) => v.split === "test"));
 * assert.equal(values.filter((v) => v.marker === "snapshot").length, 2 * 2); // loss and accuracy
 * ```
 *
 * @param history One point per epoch, e.g. `collect(...)`'s `history`.
 * @param title Chart title.
 * @param options The validation line's name and the snapshots to mark.
 * @returns The Vega-Lite spec.
 * @throws {ConfigError} when the history is empty or not made of numbers.
 */
export function learningCurveChart(
  history: ReadonlyArray<LearningCurvePoint>,
  title = "Learning curves",
  options: LearningCurveOptions = {},
): VegaLiteSpec {
  const { validationName, marked } = orThrow(
    "Cannot draw learning curves",
    struct({
      history: historyOf(history),
      title: field<string>("title", title, check.string),
      validationName: field<string>(
        "validationName",
        options?.validationName ?? "validation",
        check.string,
      ),
      marked: snapshotEpochs(options?.snapshots),
    }),
  );
  const values = curveValues(history, validationName, marked);
  const { width, height, ...rest } = baseSpec(title);
  const x = { field: "epoch", type: "quantitative", title: "epoch" };
  const panel = (metric: string) => {
    const y = { field: "value", type: "quantitative", title: metric, scale: { zero: false } };
    const line = {
      name: metric,
      mark: { type: "line", strokeWidth: 1.5 },
      encoding: {
        x,
        y,
        color: { field: "split", type: "nominal", title: null, sort: ["train", validationName] },
      },
    };
    const markers = {
      name: `${metric}_snapshots`,
      transform: [{ filter: { field: "marker", equal: "snapshot" } }],
      mark: { type: "point", filled: true, size: 50, color: SNAPSHOT_COLOR },
      encoding: {
        x,
        y,
        shape: {
          field: "marker",
          type: "nominal",
          title: null,
          scale: { range: ["diamond"] },
          legend: { symbolFillColor: SNAPSHOT_COLOR, symbolStrokeColor: SNAPSHOT_COLOR },
        },
      },
    };
    return {
      name: `${metric}_panel`,
      width,
      height: (height as number) / 2,
      transform: [{ filter: { field: "metric", equal: metric } }],
      layer: marked.size > 0 ? [line, markers] : [line],
    };
  };
  // A regression run has no accuracy: one loss panel, never an empty accuracy panel.
  const panels = values.some((v) => v.metric === "accuracy")
    ? [panel("loss"), panel("accuracy")]
    : [panel("loss")];
  return { ...rest, data: { values }, vconcat: panels };
}

/** One row per epoch, metric and split, with the snapshot marker where one was taken. */
type CurveValue = { epoch: number; metric: string; split: string; value: number; marker?: string };

function curveValues(
  history: ReadonlyArray<LearningCurvePoint>,
  validationName: string,
  marked: Set<number>,
): CurveValue[] {
  const values: CurveValue[] = [];
  const train = (metric: string, epoch: number, value: number) =>
    values.push({
      epoch,
      metric,
      split: "train",
      value,
      ...(marked.has(epoch) ? { marker: "snapshot" } : {}),
    });
  for (const h of history) {
    train("loss", h.epoch, h.loss);
    if (h.accuracy !== undefined) train("accuracy", h.epoch, h.accuracy);
    if (h.validation !== undefined) {
      values.push({
        epoch: h.epoch,
        metric: "loss",
        split: validationName,
        value: h.validation.loss,
      });
      if (h.validation.accuracy !== undefined) {
        values.push({
          epoch: h.epoch,
          metric: "accuracy",
          split: validationName,
          value: h.validation.accuracy,
        });
      }
    }
  }
  return values;
}

/** The epochs of the snapshots to mark (at most 10,000 of them). */
function snapshotEpochs(snapshots: unknown): Validation<Set<number>> {
  if (snapshots === undefined) return valid(new Set());
  const ok = Array.isArray(snapshots) && snapshots.length <= 10_000 &&
    snapshots.every((s) => Number.isSafeInteger((s as { epoch?: unknown } | null)?.epoch));
  return ok ? valid(new Set(snapshots.map((s: { epoch: number }) => s.epoch))) : invalid(
    "snapshots",
    "must be at most 10000 snapshots { epoch } with integer epochs",
    snapshots,
  );
}

function isNumber(value: unknown): value is number {
  return typeof value === "number";
}

/** One point: a finite epoch and numeric metrics (a diverged loss may be NaN; it is not drawn). */
function pointOk(h: unknown): boolean {
  if (typeof h !== "object" || h === null) return false;
  const p = h as Record<string, unknown>;
  const v = p.validation as Record<string, unknown> | null | undefined;
  return Number.isFinite(p.epoch) && isNumber(p.loss) &&
    (p.accuracy === undefined || isNumber(p.accuracy)) &&
    (v === undefined || (typeof v === "object" && v !== null && isNumber(v.loss) &&
      (v.accuracy === undefined || isNumber(v.accuracy))));
}

function historyOf(history: unknown): Validation<ReadonlyArray<LearningCurvePoint>> {
  const list = "must be a non-empty list of { epoch, loss, accuracy, validation? }";
  return andThen(
    field<ReadonlyArray<unknown>>(
      "history",
      history,
      (f, v) => check.that(Array.isArray(v) && v.length > 0, f, list, v),
    ),
    (points) => {
      for (let i = 0; i < points.length; i++) {
        if (!pointOk(points[i])) {
          return invalid(
            `history[${i}]`,
            "must be { epoch, loss, accuracy?, validation?: { loss, accuracy? } } of numbers",
            points[i],
          );
        }
      }
      return valid(points as ReadonlyArray<LearningCurvePoint>);
    },
  );
}
