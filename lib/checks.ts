/**
 * The checks validators are built from: each returns the issues it found in one value (none when it
 * is fine). Re-exported by `./validation.ts`, where they combine with `field` and `struct`.
 *
 * @module
 */
import type { ConfigIssue } from "./errors.ts";
import { countNonFinite, firstNonFinite } from "./finite.ts";

/**
 * Checks used by the validators; each returns the issues it found (empty when fine), so that a
 * validator collects every problem before it reports. Each fits validation's `field` as a `Check`
 * (those with extra parameters through a lambda).
 *
 * @example
 * ```ts
 * import { check } from "./checks.ts";
 * import assert from "node:assert/strict";
 *
 * const issues = [...check.positiveInt("epochs", 0), ...check.knownKeys({ lr: 1 }, ["lrMax"])];
 * assert.deepEqual(issues.map((i) => i.field), ["epochs", "lr"]);
 * assert.equal(check.intInRange("bins", 5000, 1, 1000)[0].message, "must be an integer in [1, 1000]");
 * ```
 */
export const check: {
  /** A finite number (NaN and infinities rejected). */
  finite(field: string, value: unknown): ConfigIssue[];
  /** A finite number > 0. */
  positive(field: string, value: unknown): ConfigIssue[];
  /** A finite number >= 0. */
  nonNegative(field: string, value: unknown): ConfigIssue[];
  /** An integer >= 1. */
  positiveInt(field: string, value: unknown): ConfigIssue[];
  /** An integer >= 0. */
  nonNegativeInt(field: string, value: unknown): ConfigIssue[];
  /** An integer in `[lo, hi]`. */
  intInRange(field: string, value: unknown, lo: number, hi: number): ConfigIssue[];
  /** A boolean. */
  boolean(field: string, value: unknown): ConfigIssue[];
  /** A string. */
  string(field: string, value: unknown): ConfigIssue[];
  /** A function. */
  function(field: string, value: unknown): ConfigIssue[];
  /** One of the given strings. */
  oneOf(field: string, value: unknown, choices: ReadonlyArray<string>): ConfigIssue[];
  /** A `Float32Array` or `Float64Array`. */
  floatArray(field: string, value: unknown): ConfigIssue[];
  /**
   * Every entry of a numeric array-like finite: reports the first that is not, and how many are
   * not. A plain loop, so it suits millions of values.
   */
  finiteValues(field: string, values: ArrayLike<number>): ConfigIssue[];
  /** An issue when `ok` is false. */
  that(ok: boolean, field: string, message: string, got?: unknown): ConfigIssue[];
  /**
   * An options object whose keys are all among `known`: a misspelt option is an error, never a
   * silently applied default.
   */
  knownKeys(value: unknown, known: ReadonlyArray<string>, field?: string): ConfigIssue[];
} = {
  finite: (field, value) =>
    typeof value === "number" && Number.isFinite(value)
      ? []
      : [{ field, message: "must be a finite number", got: value }],
  positive: (field, value) =>
    typeof value === "number" && Number.isFinite(value) && value > 0
      ? []
      : [{ field, message: "must be a positive finite number", got: value }],
  nonNegative: (field, value) =>
    typeof value === "number" && Number.isFinite(value) && value >= 0
      ? []
      : [{ field, message: "must be a non-negative finite number", got: value }],
  positiveInt: (field, value) =>
    typeof value === "number" && Number.isSafeInteger(value) && value >= 1
      ? []
      : [{ field, message: "must be a positive integer", got: value }],
  nonNegativeInt: (field, value) =>
    typeof value === "number" && Number.isSafeInteger(value) && value >= 0
      ? []
      : [{ field, message: "must be a non-negative integer", got: value }],
  intInRange: (field, value, lo, hi) =>
    typeof value === "number" && Number.isSafeInteger(value) && value >= lo && value <= hi
      ? []
      : [{ field, message: `must be an integer in [${lo}, ${hi}]`, got: value }],
  boolean: (field, value) =>
    typeof value === "boolean" ? [] : [{ field, message: "must be true or false", got: value }],
  string: (field, value) =>
    typeof value === "string" ? [] : [{ field, message: "must be a string", got: value }],
  function: (field, value) =>
    typeof value === "function" ? [] : [{ field, message: "must be a function", got: value }],
  oneOf: (field, value, choices) =>
    typeof value === "string" && choices.includes(value) ? [] : [{
      field,
      message: `must be one of ${choices.map((c) => `"${c}"`).join(", ")}`,
      got: value,
    }],
  floatArray: (field, value) =>
    value instanceof Float32Array || value instanceof Float64Array
      ? []
      : [{ field, message: "must be a Float32Array or Float64Array", got: value }],
  finiteValues: (field, values) => {
    let first = -1;
    if (values instanceof Float32Array || values instanceof Float64Array) {
      first = firstNonFinite(values);
    } else {
      for (let i = 0; i < values.length && first < 0; i++) {
        if (!Number.isFinite(values[i])) first = i;
      }
    }
    if (first < 0) return [];
    const count = countNonFinite(values, first);
    return [{
      field: `${field}[${first}]`,
      message: count === 1
        ? "must be finite"
        : `must be finite (${count} non-finite values in ${field})`,
      got: values[first],
    }];
  },
  that: (ok, field, message, got) =>
    ok ? [] : [got !== undefined ? { field, message, got } : { field, message }],
  knownKeys: (value, known, field = "options") => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return [{ field, message: "must be an options object", got: value }];
    }
    const list = known.map((k) => `"${k}"`).join(", ");
    return Object.keys(value)
      .filter((key) => !known.includes(key))
      .map((key) => ({
        field: field === "options" ? key : `${field}.${key}`,
        message: `is not an option: use ${list}`,
      }));
  },
};
