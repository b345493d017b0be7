/**
 * The ensemble-size curve: single snapshots as dots, the growing ensemble as a line, as the
 * snapshot-ensembles tutorial plots it.
 *
 * @module
 */
import { check, orThrow, validation } from "../errors.ts";
import type { EnsembleSizePoint } from "../ensemble/mod.ts";
import { baseSpec, type VegaLiteSpec } from "./vega_lite_spec.ts";

/**
 * A Vega-Lite chart of accuracy by number of snapshots from an `ensembleSizeCurve`.
 *
 * @example
 * ```ts
 * import { ensembleSizeChart } from "@snapfold/snapfold/plots";
 * import assert from "node:assert/strict";
 *
 * const curve = [1, 2, 3].map((members) => ({
 *   members, singleIndex: 4 - members, singleAccuracy: 0.8, ensembleAccuracy: 0.8 + members / 100,
 *   singleLogLoss: 0.5, ensembleLogLoss: 0.45,
 * }));
 * const spec = ensembleSizeChart(curve);
 * const layers = spec.layer as { name: string; data: { values: unknown[] } }[];
 * assert.deepEqual(layers.map((l) => [l.name, l.data.values.length]), [["single", 3], ["ensemble", 3]]);
 * ```
 *
 * @param curve The points of `ensembleSizeCurve`.
 * @param title Chart title.
 * @returns The Vega-Lite spec.
 * @throws {ConfigError} when the curve is empty.
 */
export function ensembleSizeChart(
  curve: ReadonlyArray<EnsembleSizePoint>,
  title = "Snapshot ensemble size",
): VegaLiteSpec {
  orThrow(
    "Cannot draw the ensemble-size curve",
    validation(
      check.that(
        Array.isArray(curve) && curve.length > 0 &&
          curve.every((p) => typeof p?.members === "number"),
        "curve",
        "must be a non-empty list of ensembleSizeCurve points",
        curve,
      ),
      null,
    ),
  );
  const x = {
    field: "members",
    type: "quantitative",
    title: "number of snapshots",
    axis: { tickMinStep: 1, format: "d" },
  };
  const y = { field: "accuracy", type: "quantitative", title: "accuracy", scale: { zero: false } };
  const color = {
    field: "series",
    type: "nominal",
    title: null,
    scale: { domain: ["single snapshot", "ensemble"], range: ["#1f77b4", "#d62728"] },
  };
  return {
    ...baseSpec(title),
    layer: [
      {
        name: "single",
        data: {
          values: curve.map((p) => ({
            members: p.members,
            snapshot: p.singleIndex,
            accuracy: p.singleAccuracy,
            series: "single snapshot",
          })),
        },
        mark: { type: "point", filled: true, size: 50 },
        encoding: { x, y, color },
      },
      {
        name: "ensemble",
        data: {
          values: curve.map((p) => ({
            members: p.members,
            accuracy: p.ensembleAccuracy,
            series: "ensemble",
          })),
        },
        mark: { type: "line", point: false, strokeWidth: 2 },
        encoding: { x, y, color },
      },
    ],
  };
}
