/**
 * The browser entry point: everything of the core module (`mod.ts`) plus the chart builders and
 * `renderSvg` (`plots.ts`), in one module. `deno task build:browser` bundles it with esbuild into
 * `dist/snapfold.js`, one ES module that a page imports directly. Nothing reachable from here uses
 * a `Deno.*` API (the build fails if the bundle mentions one), and the WGSL kernels come embedded.
 *
 * In a page, map the package's names to the bundle and import as in Deno:
 *
 * ```html
 * <script type="importmap">
 *   { "imports": { "@snapfold/snapfold": "./dist/snapfold.js",
 *                  "@snapfold/snapfold/plots": "./dist/snapfold.js" } }
 * </script>
 * ```
 *
 * @example
 * ```ts
 * // The bundle exports the union of these two modules.
 * import { cosineAnnealing } from "@snapfold/snapfold";
 * import { lrScheduleChart } from "@snapfold/snapfold/plots";
 * import assert from "node:assert/strict";
 *
 * const schedule = cosineAnnealing({ lrMax: 0.01, totalSteps: 100, cycles: 4 });
 * const spec = lrScheduleChart({ schedule, totalSteps: 100 });
 * assert.equal((spec.layer as unknown[]).length, 2);
 * ```
 *
 * @module
 */
export * from "./mod.ts";
export * from "./plots.ts";
