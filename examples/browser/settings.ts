/**
 * The demo form's fields, checked in the form's own words (its labels, whole numbers, ranges)
 * before anything trains, so that the page never shows a library option name for a field.
 *
 * @module
 */

/** The form's values, checked. */
export interface Settings {
  readonly epochs: number;
  readonly cycles: number;
  readonly lrMax: number;
  readonly seed: number;
  readonly backend: "auto" | "webgpu" | "wasm" | "cpu";
  /**
   * Threads of the WebAssembly backend (for `wasm`, and `auto` when it takes WebAssembly); more
   * than 1 runs only on a cross-origin-isolated page, and one thread otherwise.
   */
  readonly threads: number;
}

/** The backends the form offers. */
const BACKENDS: ReadonlyArray<Settings["backend"]> = ["auto", "webgpu", "wasm", "cpu"];

/**
 * The form's labels by field name; also the names of the library options they set
 * (`cosineAnnealing`'s `cycles` and `lrMax`, the config's `epochs` and `seed`, the WebAssembly
 * backend's `threads`), so that an error from the library can be told in the form's words.
 */
export const FORM_LABELS: Readonly<Record<string, string>> = {
  epochs: "Epochs",
  cycles: "Cycles",
  lrMax: "lr max",
  seed: "Seed",
  threads: "Threads",
};

const MAX_EPOCHS = 100_000;
const MAX_SEED = 2 ** 32 - 1;
/** The WebAssembly backend's own bound (its `threads` option). */
const MAX_THREADS = 16;

/** A problem with one field, said with its label. */
export interface FormProblem {
  readonly field: string;
  readonly message: string;
}

function wholeNumber(
  field: string,
  text: string | undefined,
  lo: number,
  hi: number,
  problems: FormProblem[],
): number {
  const label = FORM_LABELS[field];
  const value = Number(text);
  if (text === undefined || text.trim() === "") {
    problems.push({ field, message: `${label} is required.` });
  } else if (!/^\d+$/.test(text.trim()) || value < lo || value > hi) {
    problems.push({ field, message: `${label} must be a whole number from ${lo} to ${hi}.` });
  }
  return value;
}

/**
 * Checks the form's texts; every problem is reported, with the field's label.
 *
 * @example
 * ```ts
 * import { checkSettings } from "./settings.ts";
 * import assert from "node:assert/strict";
 *
 * const ok = checkSettings({ epochs: "500", cycles: "10", lrMax: "0.01", seed: "1", backend: "auto" });
 * assert.deepEqual(ok.settings, {
 *   epochs: 500, cycles: 10, lrMax: 0.01, seed: 1, backend: "auto", threads: 1,
 * });
 * const wasm = checkSettings({
 *   epochs: "500", cycles: "10", lrMax: "0.01", seed: "1", backend: "wasm", threads: "2",
 * });
 * assert.equal(wasm.settings?.backend, "wasm");
 * assert.equal(wasm.settings?.threads, 2);
 * const bad = checkSettings({
 *   epochs: "20", cycles: "30", lrMax: "", seed: "-1", backend: "cpu", threads: "0",
 * });
 * assert.deepEqual(bad.problems.map((p) => p.message), [
 *   "Seed must be a whole number from 0 to 4294967295.",
 *   "Threads must be a whole number from 1 to 16.",
 *   "lr max is required.",
 *   "Cycles must not be more than Epochs (20): each cycle needs at least one epoch.",
 * ]);
 * ```
 *
 * @param texts The fields' values as the form holds them (without `threads`: 1 thread).
 * @returns The settings when every field is fine, and the problems found.
 */
export function checkSettings(
  texts: Readonly<Record<string, string | undefined>>,
): { settings?: Settings; problems: FormProblem[] } {
  const problems: FormProblem[] = [];
  const epochs = wholeNumber("epochs", texts.epochs, 1, MAX_EPOCHS, problems);
  const cycles = wholeNumber("cycles", texts.cycles, 1, MAX_EPOCHS, problems);
  const seed = wholeNumber("seed", texts.seed, 0, MAX_SEED, problems);
  const threads = texts.threads === undefined
    ? 1
    : wholeNumber("threads", texts.threads, 1, MAX_THREADS, problems);
  const lrText = texts.lrMax?.trim() ?? "";
  const lrMax = Number(lrText);
  if (lrText === "") problems.push({ field: "lrMax", message: "lr max is required." });
  else if (!(Number.isFinite(lrMax) && lrMax > 0 && lrMax <= 10)) {
    problems.push({
      field: "lrMax",
      message: "lr max must be a number above 0 and at most 10, such as 0.01.",
    });
  }
  if (problems.every((p) => p.field !== "epochs" && p.field !== "cycles") && cycles > epochs) {
    problems.push({
      field: "cycles",
      message:
        `Cycles must not be more than Epochs (${epochs}): each cycle needs at least one epoch.`,
    });
  }
  const backend = BACKENDS.find((b) => b === texts.backend) ?? "auto";
  return problems.length > 0
    ? { problems }
    : { settings: { epochs, cycles, lrMax, seed, backend, threads }, problems };
}
