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
import { baseSpec, type VegaLiteSpec } from "./vega_lite_spec.ts";

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
 * @param history One point per epoch, e.g. `collect(...)`'s `history`.
 * @param title Chart title.
 * @returns The Vega-Lite spec.
 * @throws {ConfigError} when the history is empty or not made of numbers.
 */
export function learningCurveChart(
  history: ReadonlyArray<LearningCurvePoint>,
  title = "Learning curves",
): VegaLiteSpec {
  orThrow(
    "Cannot draw learning curves",
    struct({ history: historyOf(history), title: field<string>("title", title, check.string) }),
  );
  const values: Array<{ epoch: number; metric: string; split: string; value: number }> = [];
  for (const h of history) {
    values.push({ epoch: h.epoch, metric: "loss", split: "train", value: h.loss });
    if (h.accuracy !== undefined) {
      values.push({ epoch: h.epoch, metric: "accuracy", split: "train", value: h.accuracy });
    }
    if (h.validation !== undefined) {
      values.push({
        epoch: h.epoch,
        metric: "loss",
        split: "validation",
        value: h.validation.loss,
      });
      if (h.validation.accuracy !== undefined) {
        values.push({
          epoch: h.epoch,
          metric: "accuracy",
          split: "validation",
          value: h.validation.accuracy,
        });
      }
    }
  }
  const { width, height, ...rest } = baseSpec(title);
  const panel = (metric: string) => ({
    name: metric,
    width,
    height: (height as number) / 2,
    transform: [{ filter: { field: "metric", equal: metric } }],
    mark: { type: "line", strokeWidth: 1.5 },
    encoding: {
      x: { field: "epoch", type: "quantitative", title: "epoch" },
      y: { field: "value", type: "quantitative", title: metric, scale: { zero: false } },
      color: { field: "split", type: "nominal", title: null, sort: ["train", "validation"] },
    },
  });
  // A regression run has no accuracy: one loss panel, never an empty accuracy panel.
  const panels = values.some((v) => v.metric === "accuracy")
    ? [panel("loss"), panel("accuracy")]
    : [panel("loss")];
  return { ...rest, data: { values }, vconcat: panels };
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
