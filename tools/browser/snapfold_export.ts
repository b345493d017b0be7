/**
 * Entry of `dist/snapfold_export.js`, the exports' browser bundle (`@snapfold/snapfold/export`:
 * ONNX, PyTorch and TF.js formats), which shares its common code with `dist/snapfold.js` in chunks
 * (tools/build_browser.ts).
 *
 * @module
 */
export * from "../../export.ts";
