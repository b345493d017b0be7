/**
 * The errors snapfold throws on purpose: {@linkcode SnapfoldError}, {@linkcode ConfigError} (bad
 * input, naming every {@linkcode ConfigIssue}) and {@linkcode TrainingDivergedError}. Validation
 * itself (the `Validation` type, `check`, `field`, `struct`, `orThrow`) lives in `./validation.ts`.
 *
 * @module
 */
import { renderValue } from "./_render_value.ts";

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
    super(`${context}: ${describeIssues(issues)}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/**
 * Renders an issue as `field must be ...: got value`.
 *
 * @example
 * ```ts
 * import { formatIssue } from "./errors.ts";
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
  try {
    const base = `${text(issue.field)} ${text(issue.message)}`;
    return "got" in issue ? `${base}: got ${renderValue(issue.got)}` : base;
  } catch {
    // Only a hostile issue object (a throwing getter, a revoked proxy) lands here.
    return `an issue that cannot be shown: ${renderValue(issue)}`;
  }
}

/** Most issues spelled out in a message; the rest are counted (all stay on `issues`). */
const MAX_ISSUES_SHOWN = 20;

function describeIssues(issues: ReadonlyArray<ConfigIssue>): string {
  const shown = issues.slice(0, MAX_ISSUES_SHOWN).map(formatIssue).join("; ");
  const rest = issues.length - MAX_ISSUES_SHOWN;
  return rest > 0 ? `${shown}; and ${rest} more issue${rest === 1 ? "" : "s"}` : shown;
}

function text(value: unknown): string {
  return typeof value === "string" ? value : renderValue(value);
}

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
