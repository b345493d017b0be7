/**
 * The ensemble-size curve: single snapshots as dots, the growing ensemble as a line, as the
 * snapshot-ensembles tutorial plots it.
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
import type { EnsembleSizePoint } from "../ensemble/mod.ts";
import { baseSpec, PALETTE, type VegaLiteSpec } from "./vega_lite_spec.ts";

/**
 * A Vega-Lite chart of accuracy by ensemble size from an `ensembleSizeCurve`: at `n` members, the
 * ensemble of the last `n` snapshots (a line) and the `n`-th snapshot from the end alone (a dot).
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
 * @throws {ConfigError} when the curve is empty or a point is not made of finite numbers.
 */
export function ensembleSizeChart(
  curve: ReadonlyArray<EnsembleSizePoint>,
  title = "Snapshot ensemble size",
): VegaLiteSpec {
  orThrow(
    "Cannot draw the ensemble-size curve",
    struct({ curve: curveOf(curve), title: field<string>("title", title, check.string) }),
  );
  // Ensembles have 1 to M members: the axis starts at 1, never at an ensemble of none.
  const most = Math.max(...curve.map((p) => p.members));
  const x = {
    field: "members",
    type: "quantitative",
    title: "ensemble members (the last n snapshots)",
    scale: { domain: [1, Math.max(2, most)], nice: false, zero: false },
    axis: { tickMinStep: 1, format: "d" },
  };
  const y = { field: "accuracy", type: "quantitative", title: "accuracy", scale: { zero: false } };
  const color = {
    field: "series",
    type: "nominal",
    title: null,
    scale: {
      domain: ["n-th last snapshot alone", "ensemble of the last n"],
      range: [PALETTE[0], PALETTE[1]],
    },
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
            series: "n-th last snapshot alone",
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
            series: "ensemble of the last n",
          })),
        },
        mark: { type: "line", point: false, strokeWidth: 2 },
        encoding: { x, y, color },
      },
    ],
  };
}

const POINT_FIELDS = ["members", "singleIndex", "singleAccuracy", "ensembleAccuracy"] as const;

/** A non-empty list of points whose drawn fields are finite numbers. */
function curveOf(curve: unknown): Validation<ReadonlyArray<EnsembleSizePoint>> {
  return andThen(
    field<ReadonlyArray<unknown>>("curve", curve, (f, v) =>
      check.that(
        Array.isArray(v) && v.length > 0,
        f,
        "must be a non-empty list of ensembleSizeCurve points",
        v,
      )),
    (points) => {
      for (let i = 0; i < points.length; i++) {
        const p = points[i] as Record<string, unknown> | null | undefined;
        const ok = typeof p === "object" && p !== null &&
          POINT_FIELDS.every((k) => Number.isFinite(p[k]));
        if (!ok) {
          return invalid(
            `curve[${i}]`,
            `must be an ensembleSizeCurve point with finite ${POINT_FIELDS.join(", ")}`,
            p,
          );
        }
      }
      return valid(points as ReadonlyArray<EnsembleSizePoint>);
    },
  );
}
