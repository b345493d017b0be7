/**
 * The paper's Fig. 6 in the form of disagreement: for every pair of snapshots, the fraction of
 * test rows on which their predicted classes differ.
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { orThrow, validation } from "../validation.ts";
import { baseSpec, type VegaLiteSpec } from "./vega_lite_spec.ts";

/**
 * A Vega-Lite heatmap of a square matrix of pairwise disagreement between members (0 on the
 * diagonal), each cell labelled with its value.
 *
 * @example
 * ```ts
 * import { disagreementHeatmap } from "@snapfold/snapfold/plots";
 * import assert from "node:assert/strict";
 *
 * const spec = disagreementHeatmap([[0, 0.02], [0.02, 0]], ["snapshot 1", "snapshot 2"]);
 * const layers = spec.layer as { mark: { type: string } }[];
 * assert.deepEqual(layers.map((l) => l.mark.type), ["rect", "text"]);
 * assert.equal((spec.data as { values: unknown[] }).values.length, 4);
 * ```
 *
 * @param matrix [M][M] disagreement in [0, 1].
 * @param labels M member names (default `1`..`M`).
 * @param title Chart title.
 * @returns The Vega-Lite spec.
 * @throws {ConfigError} when the matrix is not square, or holds values outside [0, 1].
 */
export function disagreementHeatmap(
  matrix: ReadonlyArray<ReadonlyArray<number>>,
  labels?: ReadonlyArray<string>,
  title = "Pairwise disagreement of the snapshots",
): VegaLiteSpec {
  const m = Array.isArray(matrix) ? matrix.length : 0;
  const issues: ConfigIssue[] = [];
  const square = m > 0 &&
    matrix.every((row) =>
      Array.isArray(row) && row.length === m &&
      row.every((v) => Number.isFinite(v) && v >= 0 && v <= 1)
    );
  if (!square) {
    issues.push({
      field: "matrix",
      message: "must be a square matrix of values in [0, 1]",
      got: matrix,
    });
  }
  if (labels !== undefined && (!Array.isArray(labels) || labels.length !== m)) {
    issues.push({ field: "labels", message: `must name the ${m} members`, got: labels });
  }
  orThrow("Cannot draw the disagreement heatmap", validation(issues, null));
  const names = labels ?? matrix.map((_, i) => String(i + 1));
  const values = matrix.flatMap((row, i) =>
    row.map((v, j) => ({ a: names[i], b: names[j], disagreement: v }))
  );
  const x = { field: "b", type: "ordinal", title: null, sort: names };
  const y = { field: "a", type: "ordinal", title: null, sort: names };
  return {
    ...baseSpec(title, 360, 360),
    data: { values },
    layer: [
      {
        mark: { type: "rect" },
        encoding: {
          x,
          y,
          color: { field: "disagreement", type: "quantitative", scale: { scheme: "blues" } },
        },
      },
      {
        mark: { type: "text", fontSize: 10 },
        encoding: { x, y, text: { field: "disagreement", type: "quantitative", format: ".3f" } },
      },
    ],
  };
}
