/**
 * The charting library for the browser bundle: `dist/vega.js`, which the demo page's import map names
 * `vega`, so that `renderSvg`'s lazy `import("vega")` finds it (tools/build_browser.ts).
 *
 * @module
 */
export * from "vega";
