/**
 * The {@linkcode Schedule} and {@linkcode ScheduleSpec} types, the helpers every schedule file
 * shares, and the questions a trainer asks about cycle ends ({@linkcode partialCycleSteps},
 * {@linkcode completeCycles}).
 *
 * @module
 */
import { ConfigError, type ConfigIssue } from "../errors.ts";
import { check } from "../validation.ts";

/** The name of every schedule constructor; {@linkcode ScheduleSpec} stores one. */
export type ScheduleName =
  | "cosineAnnealing"
  | "warmRestarts"
  | "cyclical"
  | "oneCycle"
  | "constant"
  | "warmup"
  | "perEpoch"
  | "multiStep"
  | "exponentialDecay"
  | "cosineDecay"
  | "sequence"
  | "swaLr"
  | "fge";

/** JSON description of a schedule, stored in snapshot files' metadata. */
export interface ScheduleSpec {
  /** The constructor's name, e.g. `"cosineAnnealing"`. */
  readonly name: ScheduleName;
  /** The options it was built with, defaults filled in; wrapped schedules appear as specs. */
  readonly options: Readonly<Record<string, unknown>>;
}

/** A pure function of the 0-based step; throws a ConfigError on a negative, fractional or non-finite step. */
export interface Schedule {
  /** The learning rate of a 0-based step: always finite, >= 0 and within float32. */
  (step: number): number;
  /** How the schedule was built (JSON). */
  readonly spec: ScheduleSpec;
  /**
   * Cyclic schedules only: the last step (0-based, ascending) of every cycle that ends at its
   * minimum within `totalSteps` steps. A trailing partial cycle has no end here (see
   * {@linkcode partialCycleSteps}). Refuses to list more than {@linkcode MAX_CYCLE_ENDS} ends: stream
   * them with `cycleEndsIn` instead.
   */
  readonly cycleEnds?: (totalSteps: number) => ReadonlyArray<number>;
  /**
   * Cyclic schedules only: the same cycle ends, lazily, for the steps `from <= step < to`. Work is
   * proportional to the ends yielded, so any window of a 2^53-step run is cheap to walk.
   */
  readonly cycleEndsIn?: (from: number, to: number) => Iterable<number>;
}

/** The most cycle ends {@linkcode Schedule}'s `cycleEnds` lists at once (each would be a snapshot). */
export const MAX_CYCLE_ENDS = 1_000_000;

/** The largest float32; every lr option must stay at or below it (the backends store lrs in float32). */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** Lists the cycle ends in `[from, to)`; called only with valid safe integers `0 <= from <= to`. */
export type EndsIn = (from: number, to: number) => Iterable<number>;

/** The issue of a step argument that is not a 0-based safe integer. */
export function stepIssue(field: string, value: unknown): ConfigIssue[] {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0
    ? []
    : [{ field, message: "must be a non-negative integer (a 0-based step)", got: value }];
}

/**
 * Wraps a raw lr function (called only with valid steps) into a frozen {@linkcode Schedule}.
 *
 * @example
 * ```ts
 * import { makeSchedule } from "./schedule.ts";
 * import assert from "node:assert/strict";
 *
 * const lr = makeSchedule({ name: "constant", options: { lr: 1 } }, () => 1);
 * assert.equal(lr(3), 1);
 * assert.throws(() => lr(-1), /step must be a non-negative integer/);
 * ```
 *
 * @param spec How the schedule was built.
 * @param lrAt The lr of a valid step.
 * @param endsIn Cyclic schedules: the cycle ends in a window of steps.
 * @returns The schedule.
 */
export function makeSchedule(
  spec: ScheduleSpec,
  lrAt: (step: number) => number,
  endsIn?: EndsIn,
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
  if (endsIn !== undefined) {
    const cycleEndsIn = (from: number, to: number): Iterable<number> => {
      const issues = [...stepIssue("from", from), ...stepIssue("to", to)];
      if (issues.length === 0 && from > to) {
        issues.push({ field: "to", message: `must not be below from (${from})`, got: to });
      }
      if (issues.length > 0) throw new ConfigError(`Cannot list the cycle ends of ${name}`, issues);
      return endsIn(from, to);
    };
    const cycleEnds = (totalSteps: number): ReadonlyArray<number> => {
      const issues = stepIssue("totalSteps", totalSteps);
      if (issues.length > 0) throw new ConfigError(`Cannot list the cycle ends of ${name}`, issues);
      return Object.freeze(collectEnds(name, endsIn, totalSteps));
    };
    Object.defineProperty(schedule, "cycleEnds", { value: cycleEnds, enumerable: true });
    Object.defineProperty(schedule, "cycleEndsIn", { value: cycleEndsIn, enumerable: true });
  }
  return Object.freeze(schedule) as Schedule;
}

function collectEnds(name: string, endsIn: EndsIn, totalSteps: number): number[] {
  const ends: number[] = [];
  for (const end of endsIn(0, totalSteps)) {
    if (ends.length === MAX_CYCLE_ENDS) {
      throw new ConfigError(`Cannot list the cycle ends of ${name}`, [{
        field: "totalSteps",
        message: `must give at most ${MAX_CYCLE_ENDS} cycle ends (one snapshot each): use fewer, ` +
          `longer cycles, or walk them in windows with cycleEndsIn(from, to)`,
        got: totalSteps,
      }]);
    }
    ends.push(end);
  }
  return ends;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** The plain-object view of an options argument, with the issues of its shape and unknown keys. */
export interface ReadOptions {
  /** The options as a record (empty when not an object). */
  readonly o: Record<string, unknown>;
  /** "must be an options object", or one issue per key that is not an option. */
  readonly unknownKeys: ConfigIssue[];
  /** Whether the argument was a plain object. */
  readonly isObject: boolean;
}

/**
 * Reads an options object: an issue when it is not an object, and one per key that is not an
 * option (a typo such as `cycle` for `cycles` would otherwise fall back to a default silently).
 *
 * @example
 * ```ts
 * import { readOptions } from "./schedule.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(readOptions({ lr: 1, lrr: 2 }, ["lr"]).unknownKeys.map((i) => i.field), ["lrr"]);
 * assert.equal(readOptions(null, ["lr"]).isObject, false);
 * ```
 *
 * @param value The options given (any value).
 * @param known The option names.
 * @returns The record, the issues and whether it was an object.
 */
export function readOptions(value: unknown, known: ReadonlyArray<string>): ReadOptions {
  const isObject = typeof value === "object" && value !== null && !Array.isArray(value);
  return {
    o: isObject ? value as Record<string, unknown> : {},
    unknownKeys: check.knownKeys(value, known),
    isObject,
  };
}

/** Whether a value is a finite number. */
export function isNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/** The value, or the fallback when it is `undefined`. */
export function orDefault(value: unknown, fallback: unknown): unknown {
  return value === undefined ? fallback : value;
}

/** Whether a value is a schedule built by snapfold (a function with a `spec`). */
export function isSchedule(value: unknown): value is Schedule {
  if (typeof value !== "function") return false;
  const spec = (value as { spec?: unknown }).spec;
  return typeof spec === "object" && spec !== null && typeof (spec as { name?: unknown }).name ===
      "string";
}

/** The issue of a `schedule` argument that is not a snapfold schedule. */
export function scheduleIssue(field: string, value: unknown): ConfigIssue[] {
  return isSchedule(value) ? [] : [{
    field,
    message: "must be a schedule built by snapfold (see cosineAnnealing)",
    got: value,
  }];
}

/**
 * The issues of a learning-rate option: a finite number, `> 0` when `positive`, else `>= 0`, and at
 * most {@linkcode FLOAT32_MAX} (the backends store lrs in float32, where a larger one is Infinity).
 *
 * @example
 * ```ts
 * import { rateIssues } from "./schedule.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(rateIssues("lrMax", 0.1, true), []);
 * assert.match(rateIssues("lrMax", 1e39, true)[0].message, /float32/);
 * ```
 *
 * @param field The option's name.
 * @param value The value given.
 * @param positive Whether 0 is refused.
 * @returns The issues (empty when fine).
 */
export function rateIssues(field: string, value: unknown, positive: boolean): ConfigIssue[] {
  const base = positive ? check.positive(field, value) : check.nonNegative(field, value);
  if (base.length > 0) return base;
  return (value as number) <= FLOAT32_MAX ? [] : [{
    field,
    message: `must be at most ${FLOAT32_MAX} (the largest float32, in which lrs are stored)`,
    got: value,
  }];
}

/** An issue when `lo > hi` for two valid numbers (`lo` named, `hi` quoted). */
export function notAbove(
  field: string,
  lo: unknown,
  hiName: string,
  hi: unknown,
): ConfigIssue[] {
  return isNumber(lo) && isNumber(hi) && lo >= 0 && hi > 0 && lo > hi
    ? [{ field, message: `must not exceed ${hiName} (${hi})`, got: lo }]
    : [];
}

function cyclicIssue(schedule: unknown): ConfigIssue[] {
  return isSchedule(schedule) && typeof schedule.cycleEndsIn === "function" ? [] : [{
    field: "schedule",
    message: "must be a cyclic schedule (one with cycleEnds, such as cosineAnnealing)",
    got: isSchedule(schedule) ? schedule.spec.name : schedule,
  }];
}

function hasEndIn(schedule: Schedule, from: number, to: number): boolean {
  for (const _ of schedule.cycleEndsIn!(from, to)) return true;
  return false;
}

/**
 * The last cycle end before `n`, or -1, by bisection on "is there an end in [mid, n)": about 53
 * window probes, each answered by the first end of a lazy window, however dense the ends are.
 */
function lastCycleEnd(schedule: Schedule, n: number): number {
  if (!hasEndIn(schedule, 0, n)) return -1;
  let lo = 0; // an end lies in [lo, n), none in [hi, n)
  let hi = n;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (hasEndIn(schedule, mid, n)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * The steps of a run of `totalSteps` that come after its last complete cycle: `0` when the run ends
 * exactly at a cycle end, `totalSteps` when no cycle ends in it. Those steps form a partial cycle
 * that gets no snapshot (its final parameters are the run's result).
 *
 * @example 100 epochs in 3 cycles of 33: the last epoch starts a fourth cycle
 * ```ts
 * import { cosineAnnealing, partialCycleSteps } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const lr = cosineAnnealing({ lrMax: 0.1, totalSteps: 100, cycles: 3 });
 * assert.deepEqual(lr.cycleEnds?.(100), [32, 65, 98]);
 * assert.equal(partialCycleSteps(lr, 100), 1);
 * assert.equal(partialCycleSteps(lr, 99), 0);
 * ```
 *
 * @param schedule A cyclic schedule.
 * @param totalSteps The run's length in steps.
 * @returns The number of steps after the last cycle end.
 * @throws {ConfigError} When the schedule has no cycles or `totalSteps` is not a step count.
 */
export function partialCycleSteps(schedule: Schedule, totalSteps: number): number {
  const issues = [...cyclicIssue(schedule), ...stepIssue("totalSteps", totalSteps)];
  if (issues.length > 0) throw new ConfigError("Cannot count the partial cycle's steps", issues);
  return totalSteps - 1 - lastCycleEnd(schedule, totalSteps);
}

/**
 * The number of cycles that end (at their minimum) within `totalSteps` steps: the snapshots that
 * `atCycleEnds` takes. Counts up to {@linkcode MAX_CYCLE_ENDS}, like `cycleEnds`.
 *
 * @example
 * ```ts
 * import { completeCycles, warmRestarts } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const lr = warmRestarts({ cycleLength: 10, cycleLengthMultiplier: 2, lrMax: 0.1 });
 * assert.equal(completeCycles(lr, 70), 3); // cycles of 10, 20 and 40 steps
 * assert.equal(completeCycles(lr, 69), 2);
 * ```
 *
 * @param schedule A cyclic schedule.
 * @param totalSteps The run's length in steps.
 * @returns How many cycles end in the run.
 * @throws {ConfigError} When the schedule has no cycles, or more than MAX_CYCLE_ENDS end.
 */
export function completeCycles(schedule: Schedule, totalSteps: number): number {
  const issues = cyclicIssue(schedule);
  if (issues.length > 0) throw new ConfigError("Cannot count the complete cycles", issues);
  return schedule.cycleEnds!(totalSteps).length;
}
