/**
 * A scatter of a 2-D classification data set by class, optionally over a classifier's decision
 * regions.
 *
 * @module
 */
import { check, type ConfigIssue, orThrow, validation } from "../errors.ts";
import { baseSpec, type VegaLiteSpec } from "./vega_lite_spec.ts";

/** Options of {@linkcode blobsScatterChart}. */
export interface BlobsScatterChartOptions {
  /** `[n, nFeatures]` row-major inputs; the first two features are drawn. */
  readonly x: Float32Array | Float64Array;
  /** `[n]` classes. */
  readonly y: Int32Array | ReadonlyArray<number>;
  /** Features per row (at least 2). */
  readonly nFeatures: number;
  /**
   * A classifier of two features (an ensemble fits) whose predictions shade the plane; only for
   * `nFeatures === 2`.
   */
  readonly predictor?: { predict(x: Float32Array, n?: number): Int32Array };
  /** Cells per side of the decision-region grid (default 60). */
  readonly grid?: number;
  /** Chart title. */
  readonly title?: string;
}

/**
 * A Vega-Lite scatter of the first two features coloured by class, over decision regions when a
 * predictor is given (the grid spans the data with a 5% margin).
 *
 * @example
 * ```ts
 * import { blobsScatterChart } from "@snapfold/snapfold/plots";
 * import assert from "node:assert/strict";
 *
 * const spec = blobsScatterChart({ x: new Float64Array([0, 0, 1, 1, 2, 0]), y: [0, 1, 1], nFeatures: 2 });
 * const layers = spec.layer as { data: { values: unknown[] } }[];
 * assert.equal(layers[0].data.values.length, 3);
 * ```
 *
 * @param options The data, its width, and an optional predictor and grid size.
 * @returns The Vega-Lite spec.
 * @throws {ConfigError} naming every bad option.
 */
export function blobsScatterChart(options: BlobsScatterChartOptions): VegaLiteSpec {
  const { x, y, nFeatures, predictor, grid = 60, title = "Blobs by class" } = options ??
    ({} as BlobsScatterChartOptions);
  const issues: ConfigIssue[] = [
    ...check.that(
      typeof nFeatures === "number" && Number.isSafeInteger(nFeatures) && nFeatures >= 2,
      "nFeatures",
      "must be an integer of at least 2",
      nFeatures,
    ),
    ...check.positiveInt("grid", grid),
  ];
  const n = y?.length ?? 0;
  issues.push(...check.positiveInt("y.length", n));
  if (issues.length === 0) {
    issues.push(
      ...check.that(
        (x instanceof Float32Array || x instanceof Float64Array) && x.length === n * nFeatures,
        "x",
        `must be a Float32Array or Float64Array of n x nFeatures = ${n} x ${nFeatures} values`,
        x,
      ),
    );
  }
  if (predictor !== undefined) {
    issues.push(
      ...check.that(
        typeof predictor?.predict === "function",
        "predictor",
        "must have predict(x, n)",
      ),
      ...check.that(
        nFeatures === 2,
        "predictor",
        "needs nFeatures 2 to shade the plane",
        nFeatures,
      ),
    );
  }
  orThrow("Cannot draw the scatter", validation(issues, null));

  const points = [];
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < n; i++) {
    const a = x[i * nFeatures];
    const b = x[i * nFeatures + 1];
    points.push({ x1: a, x2: b, class: String(y[i]) });
    x0 = Math.min(x0, a), x1 = Math.max(x1, a), y0 = Math.min(y0, b), y1 = Math.max(y1, b);
  }
  const padX = (x1 - x0) * 0.05 || 1;
  const padY = (y1 - y0) * 0.05 || 1;
  const domainX = [x0 - padX, x1 + padX];
  const domainY = [y0 - padY, y1 + padY];
  const ex = {
    field: "x1",
    type: "quantitative",
    title: "feature 1",
    scale: { domain: domainX, nice: false },
  };
  const ey = {
    field: "x2",
    type: "quantitative",
    title: "feature 2",
    scale: { domain: domainY, nice: false },
  };
  const color = { field: "class", type: "nominal", title: "class" };
  const layer: unknown[] = [];
  if (predictor !== undefined) {
    const w = (domainX[1] - domainX[0]) / grid;
    const h = (domainY[1] - domainY[0]) / grid;
    const centres = new Float32Array(grid * grid * 2); // [grid * grid, 2]
    for (let r = 0; r < grid; r++) {
      for (let c = 0; c < grid; c++) {
        centres[2 * (r * grid + c)] = domainX[0] + (c + 0.5) * w;
        centres[2 * (r * grid + c) + 1] = domainY[0] + (r + 0.5) * h;
      }
    }
    const predicted = predictor.predict(centres, grid * grid);
    const cells = [];
    for (let k = 0; k < grid * grid; k++) {
      const cx = centres[2 * k];
      const cy = centres[2 * k + 1];
      cells.push({
        x1: cx - w / 2,
        x1end: cx + w / 2,
        x2: cy - h / 2,
        x2end: cy + h / 2,
        class: String(predicted[k]),
      });
    }
    layer.push({
      name: "regions",
      data: { values: cells },
      mark: { type: "rect", opacity: 0.25, strokeWidth: 0 },
      encoding: { x: ex, x2: { field: "x1end" }, y: ey, y2: { field: "x2end" }, color },
    });
  }
  // Regions first, so that they are drawn below the points.
  layer.push({
    name: "points",
    data: { values: points },
    mark: { type: "point", filled: true, size: 25, opacity: 0.8 },
    encoding: { x: ex, y: ey, color },
  });
  return { ...baseSpec(title, 420, 420), layer };
}
