/**
 * Entry of `dist/snapfold.js`, the core's browser bundle (the page's `@snapfold/snapfold`); an
 * entry file here, beside the others, gives every bundle a plain name in `dist/`
 * (tools/build_browser.ts).
 *
 * @module
 */
export * from "../../mod.ts";
