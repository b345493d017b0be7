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

/** Size and fonts common to every chart (a single place to restyle them). */
export function baseSpec(title: string, width = 480, height = 280): Record<string, unknown> {
  return {
    $schema: VEGA_LITE_SCHEMA,
    title,
    width,
    height,
    background: "white",
    config: { font: "sans-serif", axis: { grid: true, gridOpacity: 0.4 } },
  };
}
