/**
 * Entry of `dist/snapfold_worker.js`, the WebAssembly backend's Worker (lib/backend/wasm/_worker.ts)
 * with its kernels, bundled on its own: a Worker sees no import map and no chunk of the page's, so
 * it carries everything it runs. A page that trains on WebAssembly threads passes its URL as the
 * backend's `workerUrl` (tools/build_browser.ts).
 *
 * @module
 */
import "../../lib/backend/wasm/_worker.ts";
