/**
 * The library's version, in one place (a test checks that it equals `deno.json`'s `version`).
 *
 * @module
 */

/**
 * The version of snapfold, written into every ensemble file.
 *
 * @example
 * ```ts
 * import { VERSION } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.match(VERSION, /^\d+\.\d+\.\d+/);
 * ```
 */
export const VERSION: string = "0.1.0";
