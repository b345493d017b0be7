/**
 * The paper's Fig. 5 in one dimension: the loss along the straight line between two models'
 * parameters, `(1 - t) a + t b`, one line per pair.
 *
 * @module
 */
import { checkPoints } from "./_points.ts";
import { baseSpec, type VegaLiteSpec } from "./vega_lite_spec.ts";

/** One point of {@linkcode interpolationChart}. */
export interface InterpolationPoint {
  /** The pair, e.g. `"snapshots 1-2"` or `"independent"`. */
  readonly pair: string;
  /** Position on the line: 0 at the first model, 1 at the second. */
  readonly t: number;
  /** The loss there. */
  readonly loss: number;
}

/**
 * A Vega-Lite chart of loss against the interpolation coefficient, one line per pair of models: a
 * bump between consecutive snapshots says they sit in different basins.
 *
 * @example
 * ```ts
 * import { interpolationChart } from "@snapfold/snapfold/plots";
 * import assert from "node:assert/strict";
 *
 * const points = [0, 0.5, 1].map((t) => ({ pair: "snapshots 1-2", t, loss: 0.1 + t * (1 - t) }));
 * const spec = interpolationChart(points);
 * assert.equal((spec.data as { values: unknown[] }).values.length, 3);
 * ```
 *
 * @param points The points of every pair.
 * @param title Chart title.
 * @returns The Vega-Lite spec.
 * @throws {ConfigError} when the list is empty or a point is not made of finite numbers.
 */
export function interpolationChart(
  points: ReadonlyArray<InterpolationPoint>,
  title = "Test loss on the straight line between two models",
): VegaLiteSpec {
  checkPoints("the interpolation chart", "points", points, ["t", "loss"]);
  return {
    ...baseSpec(title),
    data: { values: points.map((p) => ({ pair: String(p.pair), t: p.t, loss: p.loss })) },
    mark: { type: "line", strokeWidth: 2 },
    encoding: {
      x: { field: "t", type: "quantitative", title: "t: (1 - t) first + t second" },
      y: { field: "loss", type: "quantitative", title: "test log-loss", scale: { type: "log" } },
      color: { field: "pair", type: "nominal", title: null },
    },
  };
}
