/**
 * {@linkcode cyclical}: Smith's cyclical learning rates, PyTorch's `CyclicLR`.
 *
 * @module
 */
import { check, orThrow, type Validation, validation } from "../validation.ts";
import {
  isNumber,
  makeSchedule,
  notAbove,
  orDefault,
  rateIssues,
  readOptions,
  type Schedule,
} from "./schedule.ts";

/** The amplitude policies of {@linkcode cyclical} (Smith, 2017; PyTorch's `CyclicLR` modes). */
export type CyclicalMode = "triangular" | "triangular2" | "exp_range";

const CYCLICAL_MODES: ReadonlyArray<CyclicalMode> = ["triangular", "triangular2", "exp_range"];

/** Options of {@linkcode cyclical}. */
export interface CyclicalOptions {
  /** The lower bound, reached at steps `k * (stepSizeUp + stepSizeDown)` (>= 0). */
  readonly baseLr: number;
  /** The upper bound of the first cycle (>= `baseLr`, > 0). */
  readonly maxLr: number;
  /** Steps from the bottom to the top (a positive integer). */
  readonly stepSizeUp: number;
  /** Steps from the top back to the bottom (a positive integer, default `stepSizeUp`). */
  readonly stepSizeDown?: number;
  /** `"triangular"` (default), `"triangular2"` (amplitude halves every cycle), or `"exp_range"`. */
  readonly mode?: CyclicalMode;
  /** `"exp_range"` scales the amplitude by `gamma ** step` (0 < gamma <= 1, default 1). */
  readonly gamma?: number;
}

/**
 * Validates {@linkcode cyclical}'s options without throwing; fills in the defaults.
 *
 * @example
 * ```ts
 * import { validateCyclical } from "./cyclical.ts";
 * import assert from "node:assert/strict";
 *
 * const bad = validateCyclical({ baseLr: 0.1, maxLr: 0.01, stepSizeUp: 0, mode: "sine" as never });
 * assert.equal(bad._tag, "Left");
 * if (bad._tag === "Left") {
 *   assert.deepEqual(bad.left.map((i) => i.field), ["baseLr", "stepSizeUp", "mode"]);
 * }
 * ```
 *
 * @param options The options to check (any value: this never throws).
 * @returns Every issue found, or the options with defaults filled in.
 */
export function validateCyclical(options: CyclicalOptions): Validation<Required<CyclicalOptions>> {
  const { o, unknownKeys, isObject } = readOptions(options, [
    "baseLr",
    "maxLr",
    "stepSizeUp",
    "stepSizeDown",
    "mode",
    "gamma",
  ]);
  if (!isObject) return validation(unknownKeys, undefined as never);
  const stepSizeDown = orDefault(o.stepSizeDown, o.stepSizeUp);
  const mode = orDefault(o.mode, "triangular");
  const gamma = orDefault(o.gamma, 1);
  const sizesOk = [o.stepSizeUp, stepSizeDown].every((s) => check.positiveInt("", s).length === 0);
  const issues = [
    ...rateIssues("baseLr", o.baseLr, false),
    ...notAbove("baseLr", o.baseLr, "maxLr", o.maxLr),
    ...rateIssues("maxLr", o.maxLr, true),
    ...check.positiveInt("stepSizeUp", o.stepSizeUp),
    ...(o.stepSizeDown === undefined ? [] : check.positiveInt("stepSizeDown", stepSizeDown)),
    ...(sizesOk && (o.stepSizeUp as number) + (stepSizeDown as number) > Number.MAX_SAFE_INTEGER
      ? [{ field: "stepSizeUp", message: "must keep a cycle within 2^53 steps", got: o.stepSizeUp }]
      : []),
    ...check.oneOf("mode", mode, CYCLICAL_MODES),
    ...(isNumber(gamma) && gamma > 0 && gamma <= 1 ? [] : [{
      field: "gamma",
      message: "must be a number in (0, 1]: above 1 the exp_range amplitude grows without bound",
      got: gamma,
    }]),
    ...unknownKeys,
  ];
  return validation(issues, {
    baseLr: o.baseLr as number,
    maxLr: o.maxLr as number,
    stepSizeUp: o.stepSizeUp as number,
    stepSizeDown: stepSizeDown as number,
    mode: mode as CyclicalMode,
    gamma: gamma as number,
  });
}

/**
 * Cyclical learning rates (Smith, "Cyclical Learning Rates for Training Neural Networks", WACV
 * 2017), equal to PyTorch's `CyclicLR` with its default scale mode per mode: `triangular` keeps
 * the amplitude, `triangular2` halves it every cycle, and `exp_range` multiplies it by
 * `gamma ** step`.
 *
 * Cycle ends: the lr is `baseLr` (the minimum) at steps `k * (stepSizeUp + stepSizeDown)`, and
 * those steps for `k >= 1` are the cycle ends: step `k * (stepSizeUp + stepSizeDown)` closes cycle
 * `k`, which covers the steps after the previous end up to it. A run that stops between two of
 * them leaves a partial cycle without an end; train for `k * (stepSizeUp + stepSizeDown) + 1`
 * steps to end on one.
 *
 * @example
 * ```ts
 * import { cyclical } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const lr = cyclical({ baseLr: 0.001, maxLr: 0.006, stepSizeUp: 4 });
 * assert.equal(lr(0), 0.001);
 * assert.equal(lr(4), 0.006);
 * assert.equal(lr(8), 0.001);
 * assert.deepEqual(lr.cycleEnds?.(17), [8, 16]);
 * assert.deepEqual(lr.cycleEnds?.(16), [8]);
 * ```
 *
 * @param options The bounds, the half-cycle lengths, the mode and its decay.
 * @returns The schedule.
 * @throws {ConfigError} Naming every bad option.
 */
export function cyclical(options: CyclicalOptions): Schedule {
  const resolved = orThrow("Cannot build cyclical", validateCyclical(options));
  const { baseLr, maxLr, stepSizeUp, stepSizeDown, mode, gamma } = resolved;
  // PyTorch's get_lr, operation for operation, so that the results agree to the last bits.
  const totalSize = stepSizeUp + stepSizeDown;
  const stepRatio = stepSizeUp / totalSize;
  return makeSchedule(
    { name: "cyclical", options: resolved },
    (t) => {
      const cycle = Math.floor(1 + t / totalSize);
      const x = 1 + t / totalSize - cycle;
      const scaleFactor = x <= stepRatio ? x / stepRatio : (x - 1) / (stepRatio - 1);
      const baseHeight = (maxLr - baseLr) * scaleFactor;
      const scale = mode === "triangular"
        ? 1
        : mode === "triangular2"
        ? 1 / 2 ** (cycle - 1)
        : gamma ** t;
      return baseLr + baseHeight * scale;
    },
    function* (from, to) {
      for (let t = Math.max(1, Math.ceil(from / totalSize)) * totalSize; t < to; t += totalSize) {
        yield t;
      }
    },
  );
}
