/**
 * The chart type shared by the spec builders, and the look they share.
 *
 * @module
 */

/**
 * A Vega-Lite specification (https://vega.github.io/vega-lite/docs/spec.html) as a plain JSON
 * object: render it with `renderSvg` from `@snapfold/snapfold/plots`, or with `vega-embed` in a page.
 */
export type VegaLiteSpec = Readonly<Record<string, unknown>>;

/** The Vega-Lite schema the builders target. */
export const VEGA_LITE_SCHEMA: string = "https://vega.github.io/schema/vega-lite/v6.json";

/**
 * The colours of every chart: Okabe and Ito's palette, told apart with the common forms of colour
 * blindness (https://jfly.uni-koeln.de/color/): blue, vermillion, bluish green, orange, sky blue,
 * reddish purple, yellow. Classes, splits (train, test) and series take them in this order.
 *
 * @example
 * ```ts
 * import { PALETTE } from "./vega_lite_spec.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(PALETTE[0], "#0072B2");
 * ```
 */
export const PALETTE: ReadonlyArray<string> = Object.freeze([
  "#0072B2",
  "#D55E00",
  "#009E73",
  "#E69F00",
  "#56B4E9",
  "#CC79A7",
  "#F0E442",
]);

/** The colour of snapshot markers on every chart (Okabe and Ito's black). */
export const SNAPSHOT_COLOR = "#000000";

/** Size and fonts common to every chart (a single place to restyle them). */
export function baseSpec(title: string, width = 480, height = 280): Record<string, unknown> {
  return {
    $schema: VEGA_LITE_SCHEMA,
    title,
    width,
    height,
    background: "white",
    config: {
      font: "sans-serif",
      title: { anchor: "middle" },
      axis: { grid: true, gridOpacity: 0.4 },
      // A fixed room for y labels and legends below: charts of the same width put their plots at
      // the same place, so that stacked charts (the lr over the learning curves) share the x axis.
      axisY: { minExtent: 44, maxExtent: 44 },
      legend: { orient: "bottom", direction: "horizontal", labelLimit: 0 },
      range: { category: [...PALETTE] },
    },
  };
}
