/**
 * Entry of `dist/snapfold_plots.js`, the charts' browser bundle (the page's
 * `@snapfold/snapfold/plots`), which shares its common code with `dist/snapfold.js` in chunks
 * (tools/build_browser.ts).
 *
 * @module
 */
export * from "../../plots.ts";
