/**
 * Charts as Vega-Lite specs, and their rendering to SVG without a browser.
 *
 * The spec builders are pure (they live in `lib/plots/` and run in browsers too); `renderSvg`
 * compiles a spec with `vega-lite` and renders it with `vega`'s headless SVG renderer. This entry
 * point is separate from the core module so that core users do not load the charting library.
 *
 * @example
 * ```ts
 * import { cosineAnnealing } from "@snapfold/snapfold";
 * import { lrScheduleChart, renderSvg } from "@snapfold/snapfold/plots";
 * import assert from "node:assert/strict";
 *
 * const schedule = cosineAnnealing({ lrMax: 0.01, totalSteps: 200, cycles: 4 });
 * const svg = await renderSvg(lrScheduleChart({ schedule, totalSteps: 200 }));
 * assert.match(svg, /^<svg /);
 * ```
 *
 * @module
 */
import type * as Vega from "vega";
import type * as VegaLite from "vega-lite";
import type { VegaLiteSpec } from "./lib/plots/vega_lite_spec.ts";
import { portableSvg } from "./lib/plots/_portable_svg.ts";

export {
  lrScheduleChart,
  type LrScheduleChartOptions,
  type LrScheduleRun,
} from "./lib/plots/lr_schedule_chart.ts";
export {
  learningCurveChart,
  type LearningCurveOptions,
  type LearningCurvePoint,
} from "./lib/plots/learning_curve_chart.ts";
export { ensembleSizeChart } from "./lib/plots/ensemble_size_chart.ts";
export {
  blobsScatterChart,
  type BlobsScatterChartOptions,
} from "./lib/plots/blobs_scatter_chart.ts";
export type { VegaLiteSpec } from "./lib/plots/vega_lite_spec.ts";

/**
 * Renders a Vega-Lite spec to an SVG document (a string), headlessly.
 *
 * @example
 * ```ts
 * import { ensembleSizeChart, renderSvg } from "@snapfold/snapfold/plots";
 * import assert from "node:assert/strict";
 *
 * const curve = [1, 2].map((members) => ({
 *   members, singleIndex: 3 - members, singleAccuracy: 0.8, ensembleAccuracy: 0.81,
 *   singleLogLoss: 0.5, ensembleLogLoss: 0.45,
 * }));
 * const svg = await renderSvg(ensembleSizeChart(curve));
 * assert.match(svg, /ensemble members/);
 * ```
 *
 * @param spec A Vega-Lite spec, e.g. from {@linkcode lrScheduleChart}.
 * @returns The SVG markup.
 */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const { vega, vegaLite } = await renderer();
  const compiled = vegaLite.compile(spec as unknown as VegaLite.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    // Explicit fills (renderers other than browsers and librsvg mishandle Vega's inherited ones)
    // and coordinates to 0.01 px.
    return portableSvg(await view.toSVG());
  } finally {
    view.finalize();
  }
}

// The renderer loads on first use, through specifiers that Deno does not follow ahead of time: a
// program that imports this module only for the spec builders (or renders nothing) never downloads
// vega and vega-lite (about 36 MB, 78 packages).
const VEGA: string = "vega";
const VEGA_LITE: string = "vega-lite";
let loaded: Promise<{ vega: typeof Vega; vegaLite: typeof VegaLite }> | undefined;

function renderer(): Promise<{ vega: typeof Vega; vegaLite: typeof VegaLite }> {
  loaded ??= Promise.all([import(VEGA), import(VEGA_LITE)]).then(([vega, vegaLite]) => ({
    vega,
    vegaLite,
  }));
  return loaded;
}
