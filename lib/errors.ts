/**
 * Errors raised by snapfold, and the small toolkit that validates user input at the door.
 *
 * Public entry points turn user input into `Either<ReadonlyArray<ConfigIssue>, T>` so that every
 * bad field is reported at once; constructors that must return a value throw one
 * {@linkcode ConfigError} naming all of them.
 *
 * @module
 */
import * as E from "fp-ts/Either";

/** One problem found in user input: the field that was wrong, what was expected and what came. */
export interface ConfigIssue {
  /** The option or argument at fault, e.g. `"lrMax"` or `"x[3]"`. */
  readonly field: string;
  /** What the field must be, in sentence case without a trailing period. */
  readonly message: string;
  /** The value that was given (rendered into the error message). */
  readonly got?: unknown;
}

/**
 * The base class of every error snapfold throws on purpose.
 *
 * @example Telling snapfold's errors from others
 * ```ts
 * import { ConfigError, mlp, SnapfoldError } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => mlp({ layers: [2, 0] }), SnapfoldError);
 * assert.ok(new ConfigError("Cannot build thing", []) instanceof SnapfoldError);
 * ```
 */
export class SnapfoldError extends Error {
  /**
   * Creates the error.
   *
   * @param message What went wrong and what to do about it.
   * @param options Standard error options (a `cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SnapfoldError";
  }
}

/**
 * Invalid options, shapes or labels. `issues` lists every problem; the message names them all.
 *
 * @example Reading the issues of a rejected schedule
 * ```ts
 * import { ConfigError, cosineAnnealing } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * try {
 *   cosineAnnealing({ lrMax: -1, totalSteps: 10, cycles: 20 });
 * } catch (e) {
 *   assert.ok(e instanceof ConfigError);
 *   assert.deepEqual(e.issues.map((i) => i.field), ["lrMax", "cycles"]);
 * }
 * ```
 */
export class ConfigError extends SnapfoldError {
  /** Every problem found, in the order the fields were checked. */
  readonly issues: ReadonlyArray<ConfigIssue>;
  /**
   * Creates the error from every issue found.
   *
   * @param context What was being built, e.g. `"Cannot build cosineAnnealing"`.
   * @param issues Every problem found.
   */
  constructor(context: string, issues: ReadonlyArray<ConfigIssue>) {
    super(`${context}: ${issues.map(formatIssue).join("; ")}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/**
 * Renders an issue as `field must be ...: got value`.
 *
 * @example
 * ```ts
 * import { formatIssue } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   formatIssue({ field: "lrMax", message: "must be a positive finite number", got: -1 }),
 *   "lrMax must be a positive finite number: got -1",
 * );
 * ```
 *
 * @param issue The issue to render.
 * @returns One line of text.
 */
export function formatIssue(issue: ConfigIssue): string {
  const base = `${issue.field} ${issue.message}`;
  return "got" in issue ? `${base}: got ${renderValue(issue.got)}` : base;
}

function renderValue(value: unknown): string {
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
    return String(value);
  }
  if (value === undefined) return "undefined";
  if (typeof value === "function") return "a function";
  if (ArrayBuffer.isView(value)) {
    return `${value.constructor.name} of length ${(value as unknown as ArrayLike<unknown>).length}`;
  }
  try {
    const text = JSON.stringify(
      value,
      (_k, v) => typeof v === "number" && !Number.isFinite(v) ? String(v) : v,
    );
    if (text === undefined) return String(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return String(value);
  }
}

/** A failed validation: every issue found (structurally fp-ts's `Left`). */
export interface Invalid {
  /** The tag fp-ts's `Either` functions look at. */
  readonly _tag: "Left";
  /** Every issue found. */
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
 * `Either<ReadonlyArray<ConfigIssue>, T>`, spelled out so the public API names no private type.
 */
export type Validation<T> = Invalid | Valid<T>;

/**
 * Turns a list of issues into a {@linkcode Validation}: `Right(value)` when there are none.
 *
 * @example
 * ```ts
 * import { validation } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(validation([], 3), { _tag: "Right", right: 3 });
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
 * import { ConfigError, orThrow, validation } from "@snapfold/snapfold";
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
 * Checks used by the validators; each returns the issues it found (empty when fine), so that a
 * validator collects every problem before it reports.
 *
 * @example
 * ```ts
 * import { check } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const issues = [...check.positiveInt("epochs", 0), ...check.knownKeys({ lr: 1 }, ["lrMax"])];
 * assert.deepEqual(issues.map((i) => i.field), ["epochs", "lr"]);
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
  /** One of the given strings. */
  oneOf(field: string, value: unknown, choices: ReadonlyArray<string>): ConfigIssue[];
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
  oneOf: (field, value, choices) =>
    typeof value === "string" && choices.includes(value) ? [] : [{
      field,
      message: `must be one of ${choices.map((c) => `"${c}"`).join(", ")}`,
      got: value,
    }],
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

/**
 * The training loss became NaN or infinite. The snapshots taken before that step stay available on
 * the error, so a diverged run still leaves its earlier snapshots usable.
 *
 * @example
 * ```ts
 * import { TrainingDivergedError } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const error = new TrainingDivergedError({ step: 41, epoch: 10, loss: NaN, lr: 3, snapshots: [] });
 * assert.match(error.message, /step 41/);
 * assert.match(error.message, /lower/);
 * ```
 */
export class TrainingDivergedError<S = unknown> extends SnapfoldError {
  /** 0-based step whose loss was not finite. */
  readonly step: number;
  /** 0-based epoch of that step. */
  readonly epoch: number;
  /** The loss seen there (NaN or an infinity). */
  readonly loss: number;
  /** The learning rate of that step. */
  readonly lr: number;
  /** The snapshots taken before the loss diverged. */
  readonly snapshots: ReadonlyArray<S>;
  /**
   * Creates the error.
   *
   * @param details Where the run diverged and what it had collected.
   */
  constructor(
    details: {
      step: number;
      epoch: number;
      loss: number;
      lr: number;
      snapshots: ReadonlyArray<S>;
    },
  ) {
    super(
      `Training diverged: the loss became ${details.loss} at step ${details.step} (epoch ${details.epoch}, ` +
        `lr ${details.lr}): try a lower learning rate (for example half of the schedule's peak); ` +
        `the ${details.snapshots.length} snapshot(s) taken before stay available on this error`,
    );
    this.name = "TrainingDivergedError";
    this.step = details.step;
    this.epoch = details.epoch;
    this.loss = details.loss;
    this.lr = details.lr;
    this.snapshots = details.snapshots;
  }
}

/**
 * A run stopped by an error other than divergence (a lost device, a disposed backend, a device or
 * schedule error). The snapshots taken before stay available on this error, so that they can still
 * form an ensemble; the original error is its `cause`.
 *
 * @example
 * ```ts
 * import { TrainingInterruptedError } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const cause = new Error("the device was lost");
 * const error = new TrainingInterruptedError({ step: 80, epoch: 20, snapshots: [], cause });
 * assert.match(error.message, /stopped at step 80 \(epoch 20\): the device was lost/);
 * assert.equal(error.cause, cause);
 * ```
 */
export class TrainingInterruptedError<S = unknown> extends SnapfoldError {
  /** Steps completed when the error surfaced. */
  readonly step: number;
  /** 0-based epoch of the next step. */
  readonly epoch: number;
  /** The snapshots taken (and kept) before the error. */
  readonly snapshots: ReadonlyArray<S>;
  /**
   * Creates the error.
   *
   * @param details Where the run stopped, what it had collected and the error that stopped it.
   */
  constructor(
    details: { step: number; epoch: number; snapshots: ReadonlyArray<S>; cause: unknown },
  ) {
    let reason: string;
    try {
      reason = details.cause instanceof Error ? details.cause.message : String(details.cause);
    } catch {
      reason = "an error that cannot be shown";
    }
    super(
      `Training stopped at step ${details.step} (epoch ${details.epoch}): ${reason}; the ` +
        `${details.snapshots.length} snapshot(s) taken before stay available on this error`,
      { cause: details.cause },
    );
    this.name = "TrainingInterruptedError";
    this.step = details.step;
    this.epoch = details.epoch;
    this.snapshots = details.snapshots;
  }
}
