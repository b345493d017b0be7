/**
 * Validation at the door: user input becomes a {@linkcode Validation}, fp-ts's applicative
 * validation over a non-empty list of issues, so that a validator reports every bad field at once.
 *
 * The pieces:
 * - {@linkcode field} checks one value (`field("bins", o.bins, check.positiveInt)`);
 * - {@linkcode struct} combines independent checks into one record, accumulating every issue
 *   (fp-ts's `sequenceS` over `getApplicativeValidation(getSemigroup())`);
 * - {@linkcode andThen} runs a check that needs earlier values (a label range needs the shape);
 * - {@linkcode orThrow} turns the result into a value or one {@linkcode ConfigError} naming all.
 *
 * This is the one module that uses fp-ts; past the door, code works on typed arrays with loops.
 *
 * @example Two independent fields, both wrong, both reported
 * ```ts
 * import { check, field, orThrow, struct } from "./validation.ts";
 * import { ConfigError } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * function histogram(options: { bins?: unknown; label?: unknown }) {
 *   return orThrow(
 *     "Cannot draw histogram",
 *     struct({
 *       bins: field<number>("bins", options.bins ?? 10, check.positiveInt),
 *       label: field<string>("label", options.label ?? "", check.string),
 *     }),
 *   );
 * }
 * assert.deepEqual(histogram({ bins: 3 }), { bins: 3, label: "" });
 * assert.throws(
 *   () => histogram({ bins: 0, label: 7 }),
 *   (e) => e instanceof ConfigError && e.issues.length === 2,
 * );
 * ```
 *
 * @module
 */
// @ts-types="./_fp_ts/either.d.ts"
import * as E from "fp-ts/Either";
// @ts-types="./_fp_ts/readonly_non_empty_array.d.ts"
import * as RNEA from "fp-ts/ReadonlyNonEmptyArray";
// @ts-types="./_fp_ts/apply.d.ts"
import { sequenceS } from "fp-ts/Apply";
import { check } from "./checks.ts";
import { ConfigError, type ConfigIssue } from "./errors.ts";

/** Every issue of a failed validation: never empty. */
export type Issues = ReadonlyNonEmptyArray<ConfigIssue>;

/** A read-only array with at least one element (fp-ts's `ReadonlyNonEmptyArray`). */
export type ReadonlyNonEmptyArray<A> = ReadonlyArray<A> & { readonly 0: A };

/** A failed validation: every issue found (structurally fp-ts's `Left`). */
export interface Invalid {
  /** The tag fp-ts's `Either` functions look at. */
  readonly _tag: "Left";
  /**
   * Every issue found. Never empty when built by this module; typed as a plain array so that
   * validators written before the applicative style still fit.
   */
  readonly left: ReadonlyArray<ConfigIssue>;
}

/** A successful validation (structurally fp-ts's `Right`). */
export interface Valid<T> {
  /** The tag fp-ts's `Either` functions look at. */
  readonly _tag: "Right";
  /** The validated value. */
  readonly right: T;
}

/**
 * A validation result: every issue found, or the validated value. It is fp-ts's
 * `Either<ReadonlyArray<ConfigIssue>, T>`, spelled out so the public API names no private type;
 * every fp-ts `Either` function accepts it.
 */
export type Validation<T> = Invalid | Valid<T>;

/** One check of a field: the issues found in `value` (none when it is fine), reported under `field`. */
export type Check = (field: string, value: unknown) => ReadonlyArray<ConfigIssue>;

/** The applicative: `ap` of two lefts concatenates their issues. */
const V = E.getApplicativeValidation(RNEA.getSemigroup<ConfigIssue>());
const sequenceV = sequenceS(V);

/** A {@linkcode Validation} seen as the strict Either the applicative works on. */
function strict<T>(v: Validation<T>): E.Either<Issues, T> {
  return v as E.Either<Issues, T>;
}

/**
 * Turns a list of issues into a {@linkcode Validation}: `Right(value)` when there are none.
 *
 * @example
 * ```ts
 * import { validation } from "./validation.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(validation([], 3), { _tag: "Right", right: 3 });
 * assert.equal(validation([{ field: "n", message: "must be positive" }], 3)._tag, "Left");
 * ```
 *
 * @param issues The problems found (possibly none).
 * @param value The value to return when there are none.
 * @returns The validation.
 */
export function validation<T>(issues: ReadonlyArray<ConfigIssue>, value: T): Validation<T> {
  return issues.length === 0 ? E.right(value) : E.left(issues);
}

/**
 * Returns the value of a {@linkcode Validation}, or throws one {@linkcode ConfigError} naming every issue.
 *
 * @example
 * ```ts
 * import { orThrow, validation } from "./validation.ts";
 * import { ConfigError } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(
 *   () => orThrow("Cannot build thing", validation([{ field: "n", message: "must be positive", got: 0 }], 0)),
 *   ConfigError,
 * );
 * ```
 *
 * @param context What was being built, e.g. `"Cannot build cosineAnnealing"`.
 * @param result The validation.
 * @returns The validated value.
 */
export function orThrow<T>(context: string, result: Validation<T>): T {
  if (E.isLeft(result)) throw new ConfigError(context, result.left);
  return result.right;
}

/**
 * A successful validation of `value`.
 *
 * @example
 * ```ts
 * import { valid } from "./validation.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(valid(2), { _tag: "Right", right: 2 });
 * ```
 *
 * @param value The value.
 * @returns `Right(value)`.
 */
export function valid<T>(value: T): Validation<T> {
  return E.right(value);
}

/**
 * A failed validation with one issue.
 *
 * @example
 * ```ts
 * import { invalid } from "./validation.ts";
 * import assert from "node:assert/strict";
 *
 * const v = invalid("bins", "must be at most 1000", 5000);
 * assert.ok(v._tag === "Left");
 * assert.deepEqual(v.left, [{ field: "bins", message: "must be at most 1000", got: 5000 }]);
 * ```
 *
 * @param field The field at fault.
 * @param message What it must be.
 * @param got The value given (omit to leave it out of the message).
 * @returns `Left([issue])`.
 */
export function invalid(field: string, message: string, ...got: [unknown?]): Validation<never> {
  return E.left([got.length > 0 ? { field, message, got: got[0] } : { field, message }]);
}

/**
 * Checks one value: runs `checks` in order and reports the issues of the first that fails (later
 * checks may assume earlier ones passed, e.g. a bound after "is a number"). The caller names the
 * type the checks guarantee.
 *
 * @example
 * ```ts
 * import { check, field } from "./validation.ts";
 * import assert from "node:assert/strict";
 *
 * const atMost100 = (f: string, v: unknown) => check.that((v as number) <= 100, f, "must be at most 100", v);
 * assert.equal(field<number>("bins", 15, check.positiveInt, atMost100)._tag, "Right");
 * const bad = field<number>("bins", 1e9, check.positiveInt, atMost100);
 * assert.ok(bad._tag === "Left" && bad.left[0].message === "must be at most 100");
 * ```
 *
 * @param name The field name reported.
 * @param value The value to check (anything).
 * @param checks The checks, in order.
 * @returns The value, or the first failing check's issues.
 */
export function field<T>(
  name: string,
  value: unknown,
  ...checks: ReadonlyArray<Check>
): Validation<T> {
  for (const c of checks) {
    const issues = c(name, value);
    if (issues.length > 0) return E.left(issues);
  }
  return E.right(value as T);
}

/**
 * Combines independent validations into one record: the record when all succeed, else every
 * issue of every field, in key order (fp-ts's `sequenceS` over the validation applicative).
 *
 * @example
 * ```ts
 * import { check, field, struct } from "./validation.ts";
 * import assert from "node:assert/strict";
 *
 * const both = struct({
 *   n: field<number>("n", 0, check.positiveInt),
 *   batchSize: field<number>("batchSize", -1, check.positiveInt),
 * });
 * assert.ok(both._tag === "Left");
 * assert.deepEqual(both.left.map((i) => i.field), ["n", "batchSize"]);
 * ```
 *
 * @param record One validation per key.
 * @returns The validated record, or every issue.
 */
export function struct<R extends Readonly<Record<string, Validation<unknown>>>>(
  record: R,
): Validation<{ -readonly [K in keyof R]: R[K] extends Validation<infer A> ? A : never }> {
  if (Object.keys(record).length === 0) {
    return E.right(
      {} as { -readonly [K in keyof R]: R[K] extends Validation<infer A> ? A : never },
    );
  }
  return sequenceV(record as unknown as Record<string, E.Either<Issues, unknown>>) as Validation<
    { -readonly [K in keyof R]: R[K] extends Validation<infer A> ? A : never }
  >;
}

/**
 * Combines a list of validations of the same type: all values, or every issue in list order. For
 * tens to thousands of items (layers, members); check large numeric arrays with a loop instead.
 *
 * @example
 * ```ts
 * import { all, check, field } from "./validation.ts";
 * import assert from "node:assert/strict";
 *
 * const sizes = [2, 0, -3].map((s, i) => field<number>(`layers[${i}]`, s, check.positiveInt));
 * const result = all(sizes);
 * assert.ok(result._tag === "Left");
 * assert.deepEqual(result.left.map((i) => i.field), ["layers[1]", "layers[2]"]);
 * ```
 *
 * @param items The validations.
 * @returns The values, or every issue.
 */
export function all<T>(items: ReadonlyArray<Validation<T>>): Validation<T[]> {
  let acc: E.Either<Issues, T[]> = V.of([]);
  for (const item of items) {
    acc = V.ap(V.map(acc, (xs: T[]) => (x: T) => (xs.push(x), xs)), strict(item));
  }
  return acc;
}

/**
 * Maps the value of a successful validation.
 *
 * @example
 * ```ts
 * import { map, valid } from "./validation.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(map(valid(2), (n) => n * 3), valid(6));
 * ```
 *
 * @param v The validation.
 * @param f The function applied to its value.
 * @returns The mapped validation; issues pass through.
 */
export function map<A, B>(v: Validation<A>, f: (a: A) => B): Validation<B> {
  return V.map(strict(v), f);
}

/**
 * Runs a check that needs an earlier validated value (labels need the number of classes, which
 * needs the shape); when `v` failed, its issues pass through and `f` is not called.
 *
 * @example
 * ```ts
 * import { andThen, check, field, invalid, valid } from "./validation.ts";
 * import assert from "node:assert/strict";
 *
 * const n = field<number>("n", 4, check.positiveInt);
 * const half = andThen(n, (k) => k % 2 === 0 ? valid(k / 2) : invalid("n", "must be even", k));
 * assert.deepEqual(half, valid(2));
 * ```
 *
 * @param v The validation of the earlier value.
 * @param f The dependent check.
 * @returns The dependent check's result, or `v`'s issues.
 */
export function andThen<A, B>(v: Validation<A>, f: (a: A) => Validation<B>): Validation<B> {
  return E.isLeft(v) ? v : f(v.right);
}

/**
 * Prefixes every issue's field with `path`, for checks of a nested option
 * (`within("optimizer", ...)` reports `optimizer.lr`).
 *
 * @example
 * ```ts
 * import { check, field, within } from "./validation.ts";
 * import assert from "node:assert/strict";
 *
 * const v = within("optimizer", field("lr", -1, check.positive));
 * assert.ok(v._tag === "Left" && v.left[0].field === "optimizer.lr");
 * ```
 *
 * @param path The parent field.
 * @param v The nested validation.
 * @returns The same validation with prefixed fields.
 */
export function within<T>(path: string, v: Validation<T>): Validation<T> {
  return E.isLeft(v) ? E.left(v.left.map((i) => ({ ...i, field: `${path}.${i.field}` }))) : v;
}

/**
 * The issues of a validation (empty when it succeeded), for code that still collects them by hand.
 *
 * @example
 * ```ts
 * import { check, field, issuesOf, valid } from "./validation.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(issuesOf(valid(1)), []);
 * assert.equal(issuesOf(field("n", 0, check.positiveInt)).length, 1);
 * ```
 *
 * @param v The validation.
 * @returns Its issues.
 */
export function issuesOf(v: Validation<unknown>): ReadonlyArray<ConfigIssue> {
  return E.isLeft(v) ? v.left : [];
}

/**
 * Checks an options bag: `undefined` is `{}`; anything else must be a plain object whose keys are all
 * in `known` (a misspelt option is an error, never a silently applied default).
 *
 * @example
 * ```ts
 * import { options } from "./validation.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(options(undefined, ["bins"]), { _tag: "Right", right: {} });
 * const bad = options({ bin: 3 }, ["bins"]);
 * assert.ok(bad._tag === "Left" && bad.left[0].field === "bin");
 * assert.equal(options(null, ["bins"])._tag, "Left");
 * ```
 *
 * @param value The options given (anything).
 * @param known The option names.
 * @param name The field the options are reported under (default `"options"`).
 * @returns The options as a record, or every issue.
 */
export function options(
  value: unknown,
  known: ReadonlyArray<string>,
  name = "options",
): Validation<Readonly<Record<string, unknown>>> {
  if (value === undefined) return E.right({});
  return field(name, value, (f, v) => check.knownKeys(v, known, f));
}

export { check };
