/**
 * Learning-rate schedules: pure functions of the 0-based step.
 *
 * A {@linkcode Schedule} maps a step (an optimizer step, or an epoch when wrapped in
 * {@linkcode perEpoch}) to a learning rate. Cyclic schedules also say where their cycles end, so
 * that snapshot steps are derived from the schedule and never tracked by hand: for `n` steps,
 * `cycleEnds(n)` lists the last step of every cycle in ascending order, and for `n >= 1` it always
 * ends with `n - 1` (the last, possibly shorter, cycle is included).
 *
 * - {@linkcode cosineAnnealing}: the snapshot ensemble tutorial's formula (Huang et al., 2017).
 * - {@linkcode warmRestarts}: SGDR (Loshchilov & Hutter, 2017), PyTorch's
 *   `CosineAnnealingWarmRestarts`, with a non-integer cycle length multiplier and decaying peaks.
 * - {@linkcode cyclical}: Smith's cyclical learning rates (2017), PyTorch's `CyclicLR`.
 * - {@linkcode oneCycle}: Smith & Topin's 1cycle policy (2019), PyTorch's `OneCycleLR`.
 * - {@linkcode constant}, {@linkcode warmup} (composes with any schedule) and
 *   {@linkcode perEpoch} (holds the lr within each epoch, as the tutorial does).
 *
 * Every constructor validates its options at the door and throws one {@linkcode ConfigError}
 * naming every bad field; the `validate...` functions return the same issues as a
 * {@linkcode Validation} instead. {@linkcode scheduleFromSpec} rebuilds a schedule from the
 * JSON {@linkcode ScheduleSpec} stored in snapshot files.
 *
 * The PyTorch parity (1.13) is checked against fixtures that `tools/schedule_fixtures.py` records
 * from the real schedulers.
 *
 * @module
 */
import {
  check,
  ConfigError,
  type ConfigIssue,
  orThrow,
  type Validation,
  validation,
} from "./errors.ts";

/** JSON description of a schedule, stored in snapshot files' metadata. */
export interface ScheduleSpec {
  /** The constructor's name, e.g. `"cosineAnnealing"`. */
  readonly name: string;
  /** The options it was built with, defaults filled in; wrapped schedules appear as specs. */
  readonly options: Readonly<Record<string, unknown>>;
}

/** A pure function of the 0-based step; throws a ConfigError on a negative, fractional or non-finite step. */
export interface Schedule {
  /** The learning rate of a 0-based step. */
  (step: number): number;
  /** How the schedule was built (JSON). */
  readonly spec: ScheduleSpec;
  /** Cyclic schedules only: for `totalSteps` steps, the last step (0-based, ascending) of every cycle, the last
   * (possibly shorter) cycle included; the lr there is the cycle's minimum. Undefined for non-cyclic schedules. */
  readonly cycleEnds?: (totalSteps: number) => ReadonlyArray<number>;
}

// ---------------------------------------------------------------------------------------------
// Shared plumbing

function stepIssue(field: string, value: unknown): ConfigIssue[] {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0
    ? []
    : [{ field, message: "must be a non-negative integer (a 0-based step)", got: value }];
}

/** Wraps a raw lr function (called only with valid steps) into a frozen {@linkcode Schedule}. */
function makeSchedule(
  spec: ScheduleSpec,
  lrAt: (step: number) => number,
  ends?: (totalSteps: number) => number[],
): Schedule {
  const name = spec.name;
  const schedule = (step: number): number => {
    // Checked on every call: a NaN or fractional step is a bug upstream, never a silent NaN here.
    if (!(Number.isSafeInteger(step) && step >= 0)) {
      throw new ConfigError(`Cannot compute the lr of ${name}`, stepIssue("step", step));
    }
    return lrAt(step);
  };
  Object.defineProperty(schedule, "spec", { value: deepFreeze(spec), enumerable: true });
  if (ends !== undefined) {
    const cycleEnds = (totalSteps: number): ReadonlyArray<number> => {
      const issues = stepIssue("totalSteps", totalSteps);
      if (issues.length > 0) throw new ConfigError(`Cannot list the cycle ends of ${name}`, issues);
      return Object.freeze(totalSteps === 0 ? [] : ends(totalSteps));
    };
    Object.defineProperty(schedule, "cycleEnds", { value: cycleEnds, enumerable: true });
  }
  return Object.freeze(schedule) as Schedule;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * Reads an options object: an issue when it is not an object, and one per key that is not an
 * option (a typo such as `cycle` for `cycles` would otherwise fall back to a default silently).
 */
function readOptions(
  value: unknown,
  known: ReadonlyArray<string>,
): {
  readonly o: Record<string, unknown>;
  readonly unknownKeys: ConfigIssue[];
  readonly isObject: boolean;
} {
  const isObject = typeof value === "object" && value !== null && !Array.isArray(value);
  return {
    o: isObject ? value as Record<string, unknown> : {},
    unknownKeys: check.knownKeys(value, known),
    isObject,
  };
}

function isNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

function orDefault(value: unknown, fallback: unknown): unknown {
  return value === undefined ? fallback : value;
}

function isSchedule(value: unknown): value is Schedule {
  return typeof value === "function" && typeof (value as { spec?: unknown }).spec === "object" &&
    (value as { spec?: unknown }).spec !== null;
}

// ---------------------------------------------------------------------------------------------
// cosineAnnealing

/** Options of {@linkcode cosineAnnealing}. */
export interface CosineAnnealingOptions {
  /** The peak lr, at the first step of every cycle (> 0). */
  readonly lrMax: number;
  /** Steps (or epochs) of the whole run; with `cycles` it fixes the cycle length. */
  readonly totalSteps: number;
  /** Number of cycles in `totalSteps` (1 to `totalSteps`). */
  readonly cycles: number;
  /** The floor the cosine approaches (0 to `lrMax`, default 0). */
  readonly lrMin?: number;
}

/**
 * Validates {@linkcode cosineAnnealing}'s options without throwing; fills in the defaults.
 *
 * @example
 * ```ts
 * import { validateCosineAnnealing } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const bad = validateCosineAnnealing({ lrMax: 0.1, totalSteps: 10, cycles: 2, lrMin: 0.5 });
 * assert.equal(bad._tag, "Left");
 * if (bad._tag === "Left") assert.deepEqual(bad.left.map((i) => i.field), ["lrMin"]);
 * const good = validateCosineAnnealing({ lrMax: 0.1, totalSteps: 10, cycles: 2 });
 * assert.deepEqual(good, { _tag: "Right", right: { lrMax: 0.1, totalSteps: 10, cycles: 2, lrMin: 0 } });
 * ```
 *
 * @param options The options to check (any value: this never throws).
 * @returns Every issue found, or the options with defaults filled in.
 */
export function validateCosineAnnealing(
  options: CosineAnnealingOptions,
): Validation<Required<CosineAnnealingOptions>> {
  const { o, unknownKeys, isObject } = readOptions(options, [
    "lrMax",
    "totalSteps",
    "cycles",
    "lrMin",
  ]);
  if (!isObject) return validation(unknownKeys, undefined as never);
  const lrMin = orDefault(o.lrMin, 0);
  const totalOk = check.positiveInt("totalSteps", o.totalSteps).length === 0;
  const issues = [
    ...check.positive("lrMax", o.lrMax),
    ...check.positiveInt("totalSteps", o.totalSteps),
    ...check.positiveInt("cycles", o.cycles),
    ...(totalOk && isNumber(o.cycles) && Number.isInteger(o.cycles)
      ? check.that(
        (o.cycles as number) <= (o.totalSteps as number),
        "cycles",
        `must not exceed totalSteps (${o.totalSteps}): every cycle needs at least one step`,
        o.cycles,
      )
      : []),
    ...check.nonNegative("lrMin", lrMin),
    ...(isNumber(o.lrMax) && isNumber(lrMin) && (o.lrMax as number) > 0
      ? check.that(
        lrMin <= (o.lrMax as number),
        "lrMin",
        `must not exceed lrMax (${o.lrMax})`,
        lrMin,
      )
      : []),
    ...unknownKeys,
  ];
  return validation(issues, {
    lrMax: o.lrMax as number,
    totalSteps: o.totalSteps as number,
    cycles: o.cycles as number,
    lrMin: lrMin as number,
  });
}

/**
 * Cosine annealing with restarts, the snapshot ensemble tutorial's schedule: `L =
 * floor(totalSteps / cycles)` steps per cycle and
 * `lr(t) = lrMin + (lrMax - lrMin) / 2 * (cos(pi * (t mod L) / L) + 1)` for every `t >= 0` (it
 * keeps cycling past `totalSteps`). A cycle ends at every step `t` with `(t + 1) mod L == 0`; when
 * `totalSteps` is not a multiple of `cycles`, the steps left over start a short cycle of their own.
 *
 * @example The tutorial's schedule, 10 cycles of 50 epochs
 * ```ts
 * import { cosineAnnealing } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const lr = cosineAnnealing({ lrMax: 0.01, totalSteps: 500, cycles: 10 });
 * assert.equal(lr(0), 0.01);
 * assert.equal(lr(50), 0.01); // a restart
 * assert.ok(lr(49) < 1e-5);
 * assert.deepEqual(lr.cycleEnds?.(500).slice(0, 3), [49, 99, 149]);
 * ```
 *
 * @param options The peak, the run length, the number of cycles and the floor.
 * @returns The schedule.
 * @throws {ConfigError} Naming every bad option.
 */
export function cosineAnnealing(options: CosineAnnealingOptions): Schedule {
  const { lrMax, totalSteps, cycles, lrMin } = orThrow(
    "Cannot build cosineAnnealing",
    validateCosineAnnealing(options),
  );
  const length = Math.floor(totalSteps / cycles);
  const half = (lrMax - lrMin) / 2;
  return makeSchedule(
    { name: "cosineAnnealing", options: { lrMax, totalSteps, cycles, lrMin } },
    (t) => lrMin + half * (Math.cos(Math.PI * (t % length) / length) + 1),
    (n) => {
      const ends: number[] = [];
      for (let t = length - 1; t < n; t += length) ends.push(t);
      if (ends[ends.length - 1] !== n - 1) ends.push(n - 1);
      return ends;
    },
  );
}

// ---------------------------------------------------------------------------------------------
// warmRestarts

/** Options of {@linkcode warmRestarts}. */
export interface WarmRestartsOptions {
  /** Steps in the first cycle (PyTorch's `T_0`, a positive integer). */
  readonly cycleLength: number;
  /** Growth of the cycle length at every restart (PyTorch's `T_mult`, >= 1, default 1). */
  readonly cycleLengthMultiplier?: number;
  /** The peak lr of the first cycle (> 0). */
  readonly lrMax: number;
  /** The floor (PyTorch's `eta_min`, 0 to `lrMax`, default 0). */
  readonly lrMin?: number;
  /** Scales the peak of each new cycle: cycle `i` peaks at `lrMax * lrMultiplier ** i` (> 0, default 1). */
  readonly lrMultiplier?: number;
}

/**
 * Validates {@linkcode warmRestarts}'s options without throwing; fills in the defaults.
 *
 * @example
 * ```ts
 * import { validateWarmRestarts } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const bad = validateWarmRestarts({ cycleLength: 2.5, cycleLengthMultiplier: 0.5, lrMax: 0.1 });
 * assert.equal(bad._tag, "Left");
 * if (bad._tag === "Left") {
 *   assert.deepEqual(bad.left.map((i) => i.field), ["cycleLength", "cycleLengthMultiplier"]);
 * }
 * ```
 *
 * @param options The options to check (any value: this never throws).
 * @returns Every issue found, or the options with defaults filled in.
 */
export function validateWarmRestarts(
  options: WarmRestartsOptions,
): Validation<Required<WarmRestartsOptions>> {
  const { o, unknownKeys, isObject } = readOptions(options, [
    "cycleLength",
    "cycleLengthMultiplier",
    "lrMax",
    "lrMin",
    "lrMultiplier",
  ]);
  if (!isObject) return validation(unknownKeys, undefined as never);
  const multiplier = orDefault(o.cycleLengthMultiplier, 1);
  const lrMin = orDefault(o.lrMin, 0);
  const lrMultiplier = orDefault(o.lrMultiplier, 1);
  const issues = [
    ...check.positiveInt("cycleLength", o.cycleLength),
    ...(isNumber(multiplier) && multiplier >= 1 ? [] : [{
      field: "cycleLengthMultiplier",
      message: "must be a finite number >= 1 (cycles never get shorter)",
      got: multiplier,
    }]),
    ...check.positive("lrMax", o.lrMax),
    ...check.nonNegative("lrMin", lrMin),
    ...(isNumber(o.lrMax) && isNumber(lrMin) && (o.lrMax as number) > 0
      ? check.that(
        lrMin <= (o.lrMax as number),
        "lrMin",
        `must not exceed lrMax (${o.lrMax})`,
        lrMin,
      )
      : []),
    ...check.positive("lrMultiplier", lrMultiplier),
    ...unknownKeys,
  ];
  return validation(issues, {
    cycleLength: o.cycleLength as number,
    cycleLengthMultiplier: multiplier as number,
    lrMax: o.lrMax as number,
    lrMin: lrMin as number,
    lrMultiplier: lrMultiplier as number,
  });
}

/**
 * SGDR, cosine annealing with warm restarts (Loshchilov & Hutter, "SGDR: Stochastic Gradient
 * Descent with Warm Restarts", ICLR 2017). With integer multipliers and `lrMultiplier = 1` it is
 * PyTorch's `CosineAnnealingWarmRestarts(T_0 = cycleLength, T_mult = cycleLengthMultiplier,
 * eta_min = lrMin)` with base lr `lrMax`, stepped once per step.
 *
 * Cycle lengths: cycle `i` (0-based) spans the steps `[B(i), B(i + 1))` with
 * `B(i) = round(cycleLength * (m ** i - 1) / (m - 1))` (and `B(i) = cycleLength * i` for `m = 1`),
 * where `m = cycleLengthMultiplier`. That is the geometric series of lengths rounded once, on the
 * cumulative sum, so rounding never drifts; for an integer `m` it is exactly PyTorch's
 * `T_0 * T_mult ** i` steps per cycle, and for any `m >= 1` every cycle is at least `cycleLength`
 * steps long.
 *
 * Peaks: cycle `i` starts at `max(lrMin, lrMax * lrMultiplier ** i)` (the `lr_multiplier` of the
 * Keras snapshot-ensemble callbacks) and anneals to the floor, which stays `lrMin`: a decaying
 * peak never goes below the floor, it flattens onto it.
 *
 * @example
 * ```ts
 * import { warmRestarts } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const lr = warmRestarts({ cycleLength: 10, cycleLengthMultiplier: 2, lrMax: 0.1, lrMultiplier: 0.5 });
 * assert.equal(lr(0), 0.1);
 * assert.equal(lr(10), 0.05); // the second cycle, 20 steps long, peaks at half
 * assert.deepEqual(lr.cycleEnds?.(70), [9, 29, 69]);
 * ```
 *
 * @param options The first cycle's length and peak, their growth per restart, and the floor.
 * @returns The schedule.
 * @throws {ConfigError} Naming every bad option.
 */
export function warmRestarts(options: WarmRestartsOptions): Schedule {
  const resolved = orThrow("Cannot build warmRestarts", validateWarmRestarts(options));
  const { cycleLength, cycleLengthMultiplier: m, lrMax, lrMin, lrMultiplier } = resolved;
  const logM = Math.log1p(m - 1);
  // B(i): the first step of cycle i. An integer m keeps every term an exact integer (as PyTorch's
  // T_i * T_mult does); otherwise expm1/log1p keep m close to 1 accurate.
  const cycleStart = (i: number): number => {
    if (m === 1) return cycleLength * i;
    if (Number.isInteger(m)) return Math.round(cycleLength * (m ** i - 1) / (m - 1));
    return Math.round(cycleLength * Math.expm1(i * logM) / (m - 1));
  };
  const cycleOf = (t: number): number => {
    let i = m === 1
      ? Math.floor(t / cycleLength)
      : Math.floor(Math.log1p(t / cycleLength * (m - 1)) / logM);
    if (!(i >= 0)) i = 0;
    // The logarithm is a guess that rounding may put one off; the boundaries decide.
    while (i > 0 && cycleStart(i) > t) i--;
    while (cycleStart(i + 1) <= t) i++;
    return i;
  };
  return makeSchedule(
    { name: "warmRestarts", options: resolved },
    (t) => {
      const i = cycleOf(t);
      const start = cycleStart(i);
      const current = t - start; // PyTorch's T_cur
      const length = cycleStart(i + 1) - start; // PyTorch's T_i
      const peak = lrMultiplier === 1 ? lrMax : Math.max(lrMin, lrMax * lrMultiplier ** i);
      // Same order of operations as PyTorch's get_lr.
      return lrMin + (peak - lrMin) * (1 + Math.cos(Math.PI * current / length)) / 2;
    },
    (n) => {
      const ends: number[] = [];
      for (let i = 1;; i++) {
        const end = cycleStart(i) - 1;
        if (end >= n - 1) break;
        if (end > (ends[ends.length - 1] ?? -1)) ends.push(end);
      }
      ends.push(n - 1);
      return ends;
    },
  );
}

// ---------------------------------------------------------------------------------------------
// cyclical

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
 * import { validateCyclical } from "@snapfold/snapfold";
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
  const issues = [
    ...check.nonNegative("baseLr", o.baseLr),
    ...(isNumber(o.baseLr) && isNumber(o.maxLr) && (o.baseLr as number) >= 0
      ? check.that(
        (o.baseLr as number) <= (o.maxLr as number),
        "baseLr",
        `must not exceed maxLr (${o.maxLr})`,
        o.baseLr,
      )
      : []),
    ...check.positive("maxLr", o.maxLr),
    ...check.positiveInt("stepSizeUp", o.stepSizeUp),
    ...(o.stepSizeDown === undefined ? [] : check.positiveInt("stepSizeDown", stepSizeDown)),
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
 * The lr is `baseLr` (the minimum) at steps `k * (stepSizeUp + stepSizeDown)`, so the cycle ends
 * are those steps for `k >= 1`: step `k * (stepSizeUp + stepSizeDown)` closes cycle `k`, which
 * covers the steps after the previous end up to it. `cycleEnds(n)` also lists `n - 1` to close a
 * last partial cycle; the lr there is the minimum only when `n - 1` is itself such a step, so train
 * for `k * (stepSizeUp + stepSizeDown) + 1` steps for snapshots at the minimum only.
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
    (n) => {
      const ends: number[] = [];
      for (let t = totalSize; t < n - 1; t += totalSize) ends.push(t);
      ends.push(n - 1);
      return ends;
    },
  );
}

// ---------------------------------------------------------------------------------------------
// oneCycle

/** How {@linkcode oneCycle} moves between its lrs: half a cosine, or a straight line. */
export type Anneal = "cos" | "linear";

/** Options of {@linkcode oneCycle}. */
export interface OneCycleOptions {
  /** The peak lr (> 0). */
  readonly maxLr: number;
  /** Length of the single cycle in steps (a positive integer). */
  readonly totalSteps: number;
  /** Fraction of the steps spent rising (0 to 1, default 0.3). */
  readonly pctStart?: number;
  /** `"cos"` (default) or `"linear"`. */
  readonly anneal?: Anneal;
  /** The first lr is `maxLr / divFactor` (>= 1, default 25). */
  readonly divFactor?: number;
  /** The last lr is `maxLr / divFactor / finalDivFactor` (>= 1, default 1e4). */
  readonly finalDivFactor?: number;
}

/**
 * Validates {@linkcode oneCycle}'s options without throwing; fills in the defaults.
 *
 * @example
 * ```ts
 * import { validateOneCycle } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const bad = validateOneCycle({ maxLr: 0.1, totalSteps: 100, pctStart: 1.5, anneal: "exp" as never });
 * assert.equal(bad._tag, "Left");
 * if (bad._tag === "Left") assert.deepEqual(bad.left.map((i) => i.field), ["pctStart", "anneal"]);
 * ```
 *
 * @param options The options to check (any value: this never throws).
 * @returns Every issue found, or the options with defaults filled in.
 */
export function validateOneCycle(options: OneCycleOptions): Validation<Required<OneCycleOptions>> {
  const { o, unknownKeys, isObject } = readOptions(options, [
    "maxLr",
    "totalSteps",
    "pctStart",
    "anneal",
    "divFactor",
    "finalDivFactor",
  ]);
  if (!isObject) return validation(unknownKeys, undefined as never);
  const pctStart = orDefault(o.pctStart, 0.3);
  const anneal = orDefault(o.anneal, "cos");
  const divFactor = orDefault(o.divFactor, 25);
  const finalDivFactor = orDefault(o.finalDivFactor, 1e4);
  const atLeastOne = (field: string, value: unknown): ConfigIssue[] =>
    isNumber(value) && value >= 1 ? [] : [{
      field,
      message: "must be a finite number >= 1 (a divisor below 1 would put the lr above maxLr)",
      got: value,
    }];
  const issues = [
    ...check.positive("maxLr", o.maxLr),
    ...check.positiveInt("totalSteps", o.totalSteps),
    ...(isNumber(pctStart) && pctStart >= 0 && pctStart <= 1
      ? []
      : [{ field: "pctStart", message: "must be a number from 0 to 1", got: pctStart }]),
    ...check.oneOf("anneal", anneal, ["cos", "linear"]),
    ...atLeastOne("divFactor", divFactor),
    ...atLeastOne("finalDivFactor", finalDivFactor),
    ...unknownKeys,
  ];
  return validation(issues, {
    maxLr: o.maxLr as number,
    totalSteps: o.totalSteps as number,
    pctStart: pctStart as number,
    anneal: anneal as Anneal,
    divFactor: divFactor as number,
    finalDivFactor: finalDivFactor as number,
  });
}

/**
 * The 1cycle policy (Smith & Topin, "Super-Convergence", 2019), equal to PyTorch's `OneCycleLR`
 * with `three_phase=False`: from `maxLr / divFactor` up to `maxLr` by step
 * `pctStart * totalSteps - 1` (PyTorch's phase end, a float), then down to
 * `maxLr / divFactor / finalDivFactor` at step `totalSteps - 1`. Steps past the end hold that last
 * lr (PyTorch raises there instead). Where the rise lasts zero steps (`pctStart * totalSteps = 1`,
 * which divides by zero in PyTorch) step 0 is the peak.
 *
 * Its single cycle ends at `totalSteps - 1`; when a run is longer, the steps after it form a last
 * cycle at the final lr, so `cycleEnds(n)` is `[n - 1]` up to `totalSteps` steps and
 * `[totalSteps - 1, n - 1]` beyond.
 *
 * @example
 * ```ts
 * import { oneCycle } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const lr = oneCycle({ maxLr: 0.1, totalSteps: 100, anneal: "linear" });
 * assert.equal(lr(0), 0.004);
 * assert.equal(lr(29), 0.1); // the peak at pctStart * totalSteps - 1
 * assert.ok(Math.abs(lr(99) - 4e-7) < 1e-15);
 * assert.deepEqual(lr.cycleEnds?.(100), [99]);
 * ```
 *
 * @param options The peak, the length, the share of the rise, the anneal shape and the divisors.
 * @returns The schedule.
 * @throws {ConfigError} Naming every bad option.
 */
export function oneCycle(options: OneCycleOptions): Schedule {
  const resolved = orThrow("Cannot build oneCycle", validateOneCycle(options));
  const { maxLr, totalSteps, pctStart, anneal, divFactor, finalDivFactor } = resolved;
  // PyTorch's OneCycleLR.__init__ and get_lr, operation for operation.
  const initialLr = maxLr / divFactor;
  const minLr = initialLr / finalDivFactor;
  const riseEnd = pctStart * totalSteps - 1;
  const lastStep = totalSteps - 1;
  const annealFn = anneal === "cos"
    ? (start: number, end: number, pct: number) =>
      end + (start - end) / 2 * (Math.cos(Math.PI * pct) + 1)
    : (start: number, end: number, pct: number) => (end - start) * pct + start;
  return makeSchedule(
    { name: "oneCycle", options: resolved },
    (step) => {
      const t = Math.min(step, lastStep);
      if (t <= riseEnd || lastStep <= riseEnd) {
        return riseEnd <= 0 ? maxLr : annealFn(initialLr, maxLr, t / riseEnd);
      }
      return annealFn(maxLr, minLr, (t - riseEnd) / (lastStep - riseEnd));
    },
    (n) => (n > totalSteps ? [lastStep, n - 1] : [n - 1]),
  );
}

// ---------------------------------------------------------------------------------------------
// constant

/**
 * Validates {@linkcode constant}'s lr without throwing.
 *
 * @example
 * ```ts
 * import { validateConstant } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.equal(validateConstant(Number.NaN)._tag, "Left");
 * assert.deepEqual(validateConstant(0.01), { _tag: "Right", right: 0.01 });
 * ```
 *
 * @param lr The lr to check (any value: this never throws).
 * @returns The issue found, or the lr.
 */
export function validateConstant(lr: number): Validation<number> {
  return validation(check.nonNegative("lr", lr), lr);
}

/**
 * The same lr at every step. It has no cycles, so no `cycleEnds`.
 *
 * @example
 * ```ts
 * import { constant } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const lr = constant(0.01);
 * assert.equal(lr(0), 0.01);
 * assert.equal(lr(12345), 0.01);
 * assert.equal(lr.cycleEnds, undefined);
 * ```
 *
 * @param lr The lr (a finite number >= 0).
 * @returns The schedule.
 * @throws {ConfigError} When the lr is negative or not finite.
 */
export function constant(lr: number): Schedule {
  const value = orThrow("Cannot build constant", validateConstant(lr));
  return makeSchedule({ name: "constant", options: { lr: value } }, () => value);
}

// ---------------------------------------------------------------------------------------------
// warmup

/** Options of {@linkcode warmup}. */
export interface WarmupOptions {
  /** Length of the warmup in steps (a positive integer). */
  readonly steps: number;
  /** The lr of step 0 (>= 0, default 0). */
  readonly startLr?: number;
}

/**
 * Validates {@linkcode warmup}'s arguments without throwing; fills in the defaults.
 *
 * @example
 * ```ts
 * import { constant, validateWarmup } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const bad = validateWarmup(constant(0.1), { steps: 0, startLr: -1 });
 * assert.equal(bad._tag, "Left");
 * if (bad._tag === "Left") assert.deepEqual(bad.left.map((i) => i.field), ["steps", "startLr"]);
 * ```
 *
 * @param schedule The schedule to warm up (any value: this never throws).
 * @param options The warmup's length and starting lr.
 * @returns Every issue found, or the options with defaults filled in.
 */
export function validateWarmup(
  schedule: Schedule,
  options: WarmupOptions,
): Validation<Required<WarmupOptions>> {
  const scheduleIssues = isSchedule(schedule)
    ? []
    : [{ field: "schedule", message: "must be a schedule built by snapfold", got: schedule }];
  const { o, unknownKeys, isObject } = readOptions(options, ["steps", "startLr"]);
  if (!isObject) return validation([...scheduleIssues, ...unknownKeys], undefined as never);
  const startLr = orDefault(o.startLr, 0);
  const issues = [
    ...scheduleIssues,
    ...check.positiveInt("steps", o.steps),
    ...check.nonNegative("startLr", startLr),
    ...unknownKeys,
  ];
  return validation(issues, { steps: o.steps as number, startLr: startLr as number });
}

/**
 * A linear warmup in front of any schedule. The wrapped schedule is shifted: it starts after the
 * warmup, so its shape (and its cycles) are kept whole. For `t < steps` the lr rises linearly from
 * `startLr` (step 0) towards `schedule(0)`, which step `steps` reaches:
 * `lr(t) = startLr + (schedule(0) - startLr) * t / steps`; from then on `lr(t) = schedule(t - steps)`.
 *
 * The warmup belongs to the first cycle: `cycleEnds(n)` is the wrapped schedule's
 * `cycleEnds(n - steps)` moved by `steps`, or `[n - 1]` when the run ends inside the warmup.
 *
 * @example
 * ```ts
 * import { cosineAnnealing, warmup } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const lr = warmup(cosineAnnealing({ lrMax: 0.1, totalSteps: 100, cycles: 2 }), { steps: 10 });
 * assert.equal(lr(0), 0);
 * assert.equal(lr(5), 0.05);
 * assert.equal(lr(10), 0.1);
 * assert.deepEqual(lr.cycleEnds?.(110), [59, 109]);
 * ```
 *
 * @param schedule The schedule that follows the warmup.
 * @param options The warmup's length and starting lr.
 * @returns The schedule.
 * @throws {ConfigError} Naming every bad argument.
 */
export function warmup(schedule: Schedule, options: WarmupOptions): Schedule {
  const { steps, startLr } = orThrow("Cannot build warmup", validateWarmup(schedule, options));
  const target = schedule(0);
  const innerEnds = schedule.cycleEnds;
  return makeSchedule(
    { name: "warmup", options: { schedule: schedule.spec, steps, startLr } },
    (t) => (t < steps ? startLr + (target - startLr) * t / steps : schedule(t - steps)),
    innerEnds === undefined
      ? undefined
      : (n) => (n <= steps ? [n - 1] : innerEnds(n - steps).map((end) => end + steps)),
  );
}

// ---------------------------------------------------------------------------------------------
// perEpoch

/**
 * Validates {@linkcode perEpoch}'s arguments without throwing.
 *
 * @example
 * ```ts
 * import { constant, validatePerEpoch } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.equal(validatePerEpoch(constant(0.1), 0)._tag, "Left");
 * assert.equal(validatePerEpoch(constant(0.1), 4)._tag, "Right");
 * ```
 *
 * @param schedule The per-epoch schedule (any value: this never throws).
 * @param stepsPerEpoch Optimizer steps in one epoch.
 * @returns Every issue found, or the steps per epoch.
 */
export function validatePerEpoch(schedule: Schedule, stepsPerEpoch: number): Validation<number> {
  return validation(
    [
      ...(isSchedule(schedule)
        ? []
        : [{ field: "schedule", message: "must be a schedule built by snapfold", got: schedule }]),
      ...check.positiveInt("stepsPerEpoch", stepsPerEpoch),
    ],
    stepsPerEpoch,
  );
}

/**
 * Holds the lr constant within each epoch, as the tutorial does (it sets the lr once per epoch; the
 * paper sets it every step). The wrapped schedule is a function of the 0-based epoch, the result a
 * function of the step: `lr(step) = schedule(floor(step / stepsPerEpoch))`.
 *
 * `cycleEnds(n)` lists the last steps of the epochs that end the wrapped schedule's cycles, for the
 * `ceil(n / stepsPerEpoch)` epochs that `n` steps touch; the final, possibly partial epoch ends at
 * step `n - 1`.
 *
 * @example The tutorial: 500 epochs of 4 batches, 10 cycles
 * ```ts
 * import { cosineAnnealing, perEpoch } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const lr = perEpoch(cosineAnnealing({ lrMax: 0.01, totalSteps: 500, cycles: 10 }), 4);
 * assert.equal(lr(3), 0.01); // still epoch 0
 * assert.ok(lr(4) < 0.01);
 * assert.deepEqual(lr.cycleEnds?.(2000).slice(0, 2), [199, 399]);
 * ```
 *
 * @param schedule A schedule of the epoch.
 * @param stepsPerEpoch Optimizer steps in one epoch (a positive integer).
 * @returns The schedule of the step.
 * @throws {ConfigError} Naming every bad argument.
 */
export function perEpoch(schedule: Schedule, stepsPerEpoch: number): Schedule {
  const perEpochSteps = orThrow("Cannot build perEpoch", validatePerEpoch(schedule, stepsPerEpoch));
  const innerEnds = schedule.cycleEnds;
  return makeSchedule(
    { name: "perEpoch", options: { schedule: schedule.spec, stepsPerEpoch: perEpochSteps } },
    (t) => schedule(Math.floor(t / perEpochSteps)),
    innerEnds === undefined ? undefined : (n) => {
      const epochs = Math.ceil(n / perEpochSteps);
      return innerEnds(epochs).map((epoch) => Math.min((epoch + 1) * perEpochSteps, n) - 1);
    },
  );
}

// ---------------------------------------------------------------------------------------------
// scheduleFromSpec

/**
 * Rebuilds a schedule from its {@linkcode ScheduleSpec} (as stored in snapshot files), validating
 * it like the constructor of the same name.
 *
 * @example
 * ```ts
 * import { cyclical, perEpoch, scheduleFromSpec } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const original = perEpoch(cyclical({ baseLr: 0.001, maxLr: 0.01, stepSizeUp: 3 }), 5);
 * const copy = scheduleFromSpec(JSON.parse(JSON.stringify(original.spec)));
 * assert.deepEqual(copy.spec, original.spec);
 * assert.equal(copy(42), original(42));
 * ```
 *
 * @param spec The description: a constructor name and its options.
 * @returns The schedule.
 * @throws {ConfigError} When the name is unknown or the options are bad.
 */
export function scheduleFromSpec(spec: ScheduleSpec): Schedule {
  const name = typeof spec === "object" && spec !== null ? spec.name : undefined;
  const options = (typeof spec === "object" && spec !== null ? spec.options : undefined) as
    | Record<string, unknown>
    | undefined;
  const inner = (): Schedule => scheduleFromSpec(options?.schedule as ScheduleSpec);
  switch (name) {
    case "cosineAnnealing":
      return cosineAnnealing(options as unknown as CosineAnnealingOptions);
    case "warmRestarts":
      return warmRestarts(options as unknown as WarmRestartsOptions);
    case "cyclical":
      return cyclical(options as unknown as CyclicalOptions);
    case "oneCycle":
      return oneCycle(options as unknown as OneCycleOptions);
    case "constant":
      return constant(options?.lr as number);
    case "warmup":
      return warmup(inner(), {
        steps: options?.steps as number,
        startLr: options?.startLr as number,
      });
    case "perEpoch":
      return perEpoch(inner(), options?.stepsPerEpoch as number);
    default:
      throw new ConfigError("Cannot rebuild the schedule", [{
        field: "name",
        message:
          "must name a schedule constructor: cosineAnnealing, warmRestarts, cyclical, oneCycle, constant, warmup or perEpoch",
        got: name,
      }]);
  }
}
