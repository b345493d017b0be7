/**
 * Entry of `dist/demo.js`, the demo page's script (examples/browser/main.ts); the library and the
 * charting packages stay external, for the page's import map (tools/build_browser.ts).
 *
 * @module
 */
import "../../examples/browser/main.ts";
