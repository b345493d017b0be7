/**
 * The WebAssembly backend's options and their check, in a module of their own so that
 * `createBackend` checks them for every choice without loading the backend (its kernels are loaded
 * on first use only).
 *
 * @module
 */
import type { ConfigIssue } from "../../errors.ts";
import { check } from "../../validation.ts";

/** The most threads a session may ask for. */
export const MAX_THREADS = 16;

/** Options of `createWasmBackend`. */
export interface WasmBackendOptions {
  /**
   * Which kernels: `"relaxed"` (fused multiply-adds; fails where the runtime lacks relaxed SIMD),
   * `"simd"` (plain SIMD), or `"auto"` (default): relaxed where `WebAssembly.validate` accepts it.
   */
  readonly simd?: "auto" | "relaxed" | "simd";
  /**
   * Threads of a training session (default 1): with 2 or more, each session's large products and
   * updates are split across Workers over a shared `WebAssembly.Memory` where `SharedArrayBuffer`
   * exists (Deno; cross-origin-isolated pages), and it runs one thread otherwise; the backend's
   * `adapter` says which. Prediction runs on one thread.
   */
  readonly threads?: number;
  /**
   * The Workers' script (threads only), an absolute URL. The default, the module's own
   * `_worker.ts`, is right under Deno; a page that loads the browser bundle (`deno task
   * build:browser`) passes the URL it serves `dist/snapfold_worker.js` from, e.g.
   * `new URL("./snapfold_worker.js", import.meta.resolve("@snapfold/snapfold"))`.
   */
  readonly workerUrl?: string | URL;
}

/** The keys of {@linkcode WasmBackendOptions}. */
const KEYS: ReadonlyArray<keyof WasmBackendOptions> = ["simd", "threads", "workerUrl"];

/** `url` as an absolute URL's text, or undefined when it is not one. */
function absoluteUrl(url: unknown): string | undefined {
  if (!(url instanceof URL) && typeof url !== "string") return undefined;
  try {
    return new URL(String(url)).href;
  } catch {
    return undefined; // a relative path, a malformed URL, or a URL object that cannot be read
  }
}

/**
 * Every problem with WebAssembly backend options, under `field` (e.g. `"wasm"`); none for
 * `undefined`.
 *
 * @example
 * ```ts
 * import { wasmOptionIssues } from "./_options.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(wasmOptionIssues({ threads: 2 }), []);
 * const fields = wasmOptionIssues({ thread: 2, workerUrl: "worker.js" }).map((i) => i.field);
 * assert.deepEqual(fields, ["thread", "workerUrl"]);
 * ```
 *
 * @param options The options (anything).
 * @param field Where they sit, prefixed to every issue's field.
 * @returns The issues.
 */
export function wasmOptionIssues(options: unknown, field = ""): ConfigIssue[] {
  const at = (name: string) => field === "" ? name : `${field}.${name}`;
  if (options === undefined) return [];
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    return [{
      field: field === "" ? "options" : field,
      message: "must be an object of WebAssembly backend options ({ threads, workerUrl, simd })",
      got: options,
    }];
  }
  const o = options as WasmBackendOptions;
  const threads = o.threads ?? 1;
  return [
    ...check.knownKeys(o, KEYS, field === "" ? "options" : field),
    ...check.oneOf(at("simd"), o.simd ?? "auto", ["auto", "relaxed", "simd"]),
    ...check.that(
      Number.isInteger(threads) && threads >= 1 && threads <= MAX_THREADS,
      at("threads"),
      `must be an integer from 1 to ${MAX_THREADS}`,
      threads,
    ),
    ...check.that(
      o.workerUrl === undefined || absoluteUrl(o.workerUrl) !== undefined,
      at("workerUrl"),
      'must be an absolute URL (a URL, or its text), e.g. new URL("./snapfold_worker.js", ' +
        "import.meta.url)",
      o.workerUrl,
    ),
  ];
}

/**
 * The worker URL's text, once {@linkcode wasmOptionIssues} found no issue.
 *
 * @param url The option.
 * @param fallback The default.
 * @returns Its absolute text.
 */
export function workerUrlOf(url: string | URL | undefined, fallback: string): string {
  return url === undefined ? fallback : absoluteUrl(url)!;
}
