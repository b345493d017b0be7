/**
 * {@linkcode cosineAnnealing}: the snapshot ensemble tutorial's schedule.
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
 * import { validateCosineAnnealing } from "./cosine_annealing.ts";
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
    ...rateIssues("lrMax", o.lrMax, true),
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
    ...rateIssues("lrMin", lrMin, false),
    ...notAbove("lrMin", lrMin, "lrMax", o.lrMax),
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
 * Cosine annealing with restarts, the snapshot ensemble tutorial's schedule (Huang et al.,
 * "Snapshot Ensembles: Train 1, get M for free", ICLR 2017): `L = floor(totalSteps / cycles)` steps
 * per cycle and `lr(t) = lrMin + (lrMax - lrMin) / 2 * (cos(pi * (t mod L) / L) + 1)` for every
 * `t >= 0` (it keeps cycling past `totalSteps`).
 *
 * Cycle ends: every step `t` with `(t + 1) mod L == 0`, the lowest lr of its cycle. When
 * `totalSteps` is not a multiple of `cycles` (100 epochs in 3 cycles), the steps left over after
 * the last end (step 99) start a cycle that does not end in the run: they get no cycle end, so no
 * snapshot is taken at the peak lr there.
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
    function* (from, to) {
      for (let t = Math.max(1, Math.ceil((from + 1) / length)) * length - 1; t < to; t += length) {
        yield t;
      }
    },
  );
}
