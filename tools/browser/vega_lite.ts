/**
 * Vega-Lite for the browser bundle: `dist/vega_lite.js`, named `vega-lite` by the demo page's import
 * map, so that `renderSvg`'s lazy `import("vega-lite")` finds it (tools/build_browser.ts).
 *
 * @module
 */
export * from "vega-lite";
