/**
 * The paper's Fig. 3: test error of the ensemble of the first m snapshots (forward) and of the
 * last m snapshots (backward), against m.
 *
 * @module
 */
import { checkPoints } from "./_points.ts";
import { baseSpec, type VegaLiteSpec } from "./vega_lite_spec.ts";

/** One point of {@linkcode ensembleOrderChart}. */
export interface EnsembleOrderPoint {
  /** Members m. */
  readonly members: number;
  /** Test error of the ensemble of the first m snapshots. */
  readonly forwardError: number;
  /** Test error of the ensemble of the last m snapshots. */
  readonly backwardError: number;
}

/**
 * A Vega-Lite chart of ensemble error by size, growing from the first snapshot (forward) and from
 * the last (backward), as in Fig. 3 of Huang et al. 2017.
 *
 * @example
 * ```ts
 * import { ensembleOrderChart } from "@snapfold/snapfold/plots";
 * import assert from "node:assert/strict";
 *
 * const spec = ensembleOrderChart([1, 2, 3].map((members) => ({
 *   members, forwardError: 0.1 - members / 100, backwardError: 0.05,
 * })));
 * const values = (spec.data as { values: { series: string }[] }).values;
 * assert.equal(values.length, 6);
 * assert.deepEqual([...new Set(values.map((v) => v.series))], ["forward (first m)", "backward (last m)"]);
 * ```
 *
 * @param points One point per ensemble size.
 * @param title Chart title.
 * @returns The Vega-Lite spec.
 * @throws {ConfigError} when the list is empty or a point is not made of finite numbers.
 */
export function ensembleOrderChart(
  points: ReadonlyArray<EnsembleOrderPoint>,
  title = "Ensemble of the first m and of the last m snapshots",
): VegaLiteSpec {
  checkPoints("the ensemble-order chart", "points", points, [
    "members",
    "forwardError",
    "backwardError",
  ]);
  const values = [
    ...points.map((p) => ({
      members: p.members,
      error: p.forwardError,
      series: "forward (first m)",
    })),
    ...points.map((p) => ({
      members: p.members,
      error: p.backwardError,
      series: "backward (last m)",
    })),
  ];
  return {
    ...baseSpec(title),
    data: { values },
    mark: { type: "line", point: true, strokeWidth: 2 },
    encoding: {
      x: {
        field: "members",
        type: "quantitative",
        title: "snapshots in the ensemble",
        axis: { tickMinStep: 1, format: "d" },
      },
      y: { field: "error", type: "quantitative", title: "test error", scale: { zero: false } },
      color: { field: "series", type: "nominal", title: null },
    },
  };
}
