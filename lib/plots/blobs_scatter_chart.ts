/**
 * A scatter of a 2-D classification data set by class, optionally over a classifier's decision
 * regions.
 *
 * @module
 */
import {
  andThen,
  type Check,
  check,
  field,
  invalid,
  map,
  options as optionsBag,
  orThrow,
  struct,
  valid,
  type Validation,
} from "../validation.ts";
import { baseSpec, PALETTE, type VegaLiteSpec } from "./vega_lite_spec.ts";
import { indexedPng, pngDataUrl } from "./_png.ts";

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
  /** Cells per side of the decision-region grid (default 60, at most {@linkcode MAX_GRID}). */
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
  const { x, y, nFeatures, predictor, grid, title } = orThrow(
    "Cannot draw the scatter",
    scatterInputs(options),
  );
  const n = y.length;
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
  const layer: unknown[] = [];
  const classes = new Set<number>(Array.from(y));
  let regions: ReturnType<typeof regionImage> | undefined;
  if (predictor !== undefined) {
    regions = regionImage(predictor, grid, domainX, domainY);
    for (const c of regions.classes) classes.add(c);
  }
  // One colour per class, the same in the points, the regions and the legend (numeric order).
  const domain = [...classes].sort((a, b) => a - b);
  const colourOf = (c: number) => PALETTE[domain.indexOf(c) % PALETTE.length];
  const color = {
    field: "class",
    type: "nominal",
    title: "class",
    scale: { domain: domain.map(String), range: domain.map(colourOf) },
  };
  if (regions !== undefined) {
    // The regions as one image of grid x grid pixels, in pale tints of the class colours: a few
    // kilobytes, where one rectangle per cell made a 1.4 MB SVG.
    layer.push({
      name: "regions",
      data: {
        values: [{
          url: regions.url(colourOf),
          x1: domainX[0],
          x1end: domainX[1],
          x2: domainY[1],
          x2end: domainY[0],
        }],
      },
      mark: { type: "image", aspect: false, smooth: false },
      encoding: {
        url: { field: "url", type: "nominal" },
        x: ex,
        x2: { field: "x1end" },
        y: ey,
        y2: { field: "x2end" },
      },
    });
  }
  // Regions first, so that they are drawn below the points.
  layer.push({
    name: "points",
    data: { values: points },
    // No aria label per point: a thousand of them made most of the file's size.
    mark: { type: "point", filled: true, size: 25, opacity: 0.8, aria: false },
    encoding: { x: ex, y: ey, color },
  });
  return { ...baseSpec(title, 420, 420), layer };
}

/** How much of a class colour a region's tint keeps (the rest is white). */
const TINT = 0.25;

/** The predictor's class at every grid cell centre, and a function drawing them as a PNG URL. */
function regionImage(
  predictor: Predictor,
  grid: number,
  domainX: readonly number[],
  domainY: readonly number[],
): { classes: ReadonlyArray<number>; url: (colourOf: (c: number) => string) => string } {
  const w = (domainX[1] - domainX[0]) / grid;
  const h = (domainY[1] - domainY[0]) / grid;
  const centres = new Float32Array(grid * grid * 2); // [grid * grid, 2]
  for (let r = 0; r < grid; r++) {
    for (let c = 0; c < grid; c++) {
      centres[2 * (r * grid + c)] = domainX[0] + (c + 0.5) * w;
      centres[2 * (r * grid + c) + 1] = domainY[0] + (r + 0.5) * h;
    }
  }
  const predicted = orThrow(
    "Cannot draw the scatter",
    field<ArrayLike<number>>(
      "predictor",
      predictor.predict(centres, grid * grid),
      (f, v) =>
        check.that(
          (v instanceof Int32Array || Array.isArray(v)) && v.length === grid * grid &&
            Array.prototype.every.call(v, (c: unknown) => Number.isInteger(c)),
          f,
          `must return grid x grid = ${grid * grid} integer classes from predict(x, n)`,
          v,
        ),
    ),
  );
  const classes = [...new Set(Array.from(predicted))].sort((a, b) => a - b);
  const url = (colourOf: (c: number) => string) => {
    const palette = classes.map((c) => {
      const hex = colourOf(c);
      const rgb = [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
      return rgb.map((v) => Math.round(v * TINT + 255 * (1 - TINT))) as [number, number, number];
    });
    const pixels = new Uint8Array(grid * grid); // [grid, grid], top row (largest feature 2) first
    for (let r = 0; r < grid; r++) {
      for (let c = 0; c < grid; c++) {
        pixels[(grid - 1 - r) * grid + c] = classes.indexOf(predicted[r * grid + c]);
      }
    }
    return pngDataUrl(indexedPng(grid, grid, palette, pixels));
  };
  return { classes, url };
}

/**
 * Most cells per side of the decision-region grid: 400 x 400 = 160,000 cells, one pixel each of the
 * regions' image (the predictor classifies every cell centre).
 */
export const MAX_GRID = 400;

const SCATTER_OPTIONS = ["x", "y", "nFeatures", "predictor", "grid", "title"];

type Predictor = NonNullable<BlobsScatterChartOptions["predictor"]>;

const classesCheck: Check = (f, v) =>
  check.that(
    (v instanceof Int32Array || Array.isArray(v)) && v.length > 0 &&
      Array.prototype.every.call(v, (c: unknown) => Number.isInteger(c)),
    f,
    "must be a non-empty Int32Array or array of integer classes",
    v,
  );

/** The options, checked: every bad one named, the grid bounded, the drawn features finite. */
function scatterInputs(options: unknown): Validation<{
  x: Float32Array | Float64Array;
  y: ArrayLike<number>;
  nFeatures: number;
  predictor: Predictor | undefined;
  grid: number;
  title: string;
}> {
  return andThen(optionsBag(options, SCATTER_OPTIONS), (o) => {
    const given = struct({
      nFeatures: field<number>("nFeatures", o.nFeatures, (f, v) =>
        check.that(
          typeof v === "number" && Number.isSafeInteger(v) && v >= 2,
          f,
          "must be an integer of at least 2",
          v,
        )),
      grid: field<number>("grid", o.grid ?? 60, (f, v) =>
        check.that(
          typeof v === "number" && Number.isSafeInteger(v) && v >= 1 && v <= MAX_GRID,
          f,
          `must be an integer in [1, ${MAX_GRID}] (cells per side of the regions)`,
          v,
        )),
      y: field<ArrayLike<number>>("y", o.y, classesCheck),
      x: field<Float32Array | Float64Array>("x", o.x, check.floatArray),
      predictor: o.predictor === undefined ? valid(undefined) : field<Predictor>(
        "predictor",
        o.predictor,
        (f, v) =>
          check.that(
            typeof (v as Predictor | null)?.predict === "function",
            f,
            "must have predict(x, n)",
          ),
      ),
      title: field<string>("title", o.title ?? "Blobs by class", check.string),
    });
    return andThen(given, (g) =>
      map(
        struct({
          x: drawnFeatures(g.x, g.y.length, g.nFeatures),
          predictor: g.predictor !== undefined && g.nFeatures !== 2
            ? invalid("predictor", "needs nFeatures 2 to shade the plane", g.nFeatures)
            : valid(g.predictor),
        }),
        () => g,
      ));
  });
}

/** `x` is `[n, nFeatures]` and the two features drawn are finite. */
function drawnFeatures(
  x: Float32Array | Float64Array,
  n: number,
  nFeatures: number,
): Validation<unknown> {
  if (x.length !== n * nFeatures) {
    return invalid(
      "x",
      `must be a Float32Array or Float64Array of n x nFeatures = ${n} x ${nFeatures} values`,
      x,
    );
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 2; j++) {
      const v = x[i * nFeatures + j];
      if (!Number.isFinite(v)) return invalid(`x[${i * nFeatures + j}]`, "must be finite", v);
    }
  }
  return valid(x);
}
