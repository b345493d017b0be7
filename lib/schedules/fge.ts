/**
 * {@linkcode fge}: the cyclical lr of fast geometric ensembling (Garipov et al., 2018).
 *
 * @module
 */
import { check, orThrow, type Validation, validation } from "../validation.ts";
import { makeSchedule, notAbove, rateIssues, readOptions, type Schedule } from "./schedule.ts";

/** Options of {@linkcode fge}. */
export interface FgeOptions {
  /** Steps per cycle (the paper's `c`, an even integer >= 2, so that the midpoint is a step). */
  readonly cycleLength: number;
  /** The lr at the start and end of every cycle (the paper's alpha 1, > 0). */
  readonly lr1: number;
  /** The lr at the middle of every cycle, where snapshots are taken (alpha 2, 0 to `lr1`). */
  readonly lr2: number;
}

/**
 * Validates {@linkcode fge}'s options without throwing.
 *
 * @example
 * ```ts
 * import { validateFge } from "./fge.ts";
 * import assert from "node:assert/strict";
 *
 * const bad = validateFge({ cycleLength: 5, lr1: 0.05, lr2: 0.1 });
 * assert.equal(bad._tag, "Left");
 * if (bad._tag === "Left") assert.deepEqual(bad.left.map((i) => i.field), ["cycleLength", "lr2"]);
 * ```
 *
 * @param options The options to check (any value: this never throws).
 * @returns Every issue found, or the options.
 */
export function validateFge(options: FgeOptions): Validation<FgeOptions> {
  const { o, unknownKeys, isObject } = readOptions(options, ["cycleLength", "lr1", "lr2"]);
  if (!isObject) return validation(unknownKeys, undefined as never);
  const lengthOk = check.positiveInt("cycleLength", o.cycleLength).length === 0 &&
    (o.cycleLength as number) % 2 === 0;
  const issues = [
    ...(lengthOk ? [] : [{
      field: "cycleLength",
      message: "must be an even integer >= 2 (the snapshot at mid-cycle must fall on a step)",
      got: o.cycleLength,
    }]),
    ...rateIssues("lr1", o.lr1, true),
    ...rateIssues("lr2", o.lr2, false),
    ...notAbove("lr2", o.lr2, "lr1", o.lr1),
    ...unknownKeys,
  ];
  return validation(issues, {
    cycleLength: o.cycleLength as number,
    lr1: o.lr1 as number,
    lr2: o.lr2 as number,
  });
}

/**
 * The piecewise-linear cycle of fast geometric ensembling (Garipov et al., "Loss Surfaces, Mode
 * Connectivity, and Fast Ensembling of DNNs", NeurIPS 2018, eq. 2). For the 1-based iteration
 * `i = step + 1` and `t = ((i - 1) mod c + 1) / c`: `lr = (1 - 2t) lr1 + 2t lr2` for `t <= 1/2`,
 * else `(2 - 2t) lr2 + (2t - 1) lr1`. The lr falls from (nearly) `lr1` to `lr2` at mid-cycle and
 * climbs back to `lr1` at the cycle's last step.
 *
 * Cycle ends: the middle of every cycle, steps `k * c + c / 2 - 1`, where `t = 1/2` and the lr is
 * exactly `lr2`: the points where FGE collects its ensemble members, so `atCycleEnds()` takes FGE's
 * snapshots. The authors' code (timgaripov/dnn-mode-connectivity, `utils.cyclic_learning_rate`)
 * evaluates the same line one iteration earlier (`t = (step mod c) / c`) and collects members after
 * the same iteration, at `(epoch % cycle + 1) == cycle // 2`; this follows the paper's indexing, so
 * the member's lr is `lr2` itself. Wrap it in `perEpoch` for the authors' cycles measured in epochs.
 *
 * @example Cycles of 4 steps from 0.05 down to 0.0005
 * ```ts
 * import { fge } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const lr = fge({ cycleLength: 4, lr1: 0.05, lr2: 0.0005 });
 * assert.equal(lr(1), 0.0005); // t = 1/2
 * assert.equal(lr(3), 0.05); // t = 1, the cycle's last step
 * assert.deepEqual(lr.cycleEnds?.(12), [1, 5, 9]);
 * ```
 *
 * @param options The cycle length and the two lrs.
 * @returns The schedule.
 * @throws {ConfigError} Naming every bad option.
 */
export function fge(options: FgeOptions): Schedule {
  const { cycleLength: c, lr1, lr2 } = orThrow("Cannot build fge", validateFge(options));
  const half = c / 2;
  return makeSchedule(
    { name: "fge", options: { cycleLength: c, lr1, lr2 } },
    (step) => {
      const t = (step % c + 1) / c;
      return t <= 0.5 ? (1 - 2 * t) * lr1 + 2 * t * lr2 : (2 - 2 * t) * lr2 + (2 * t - 1) * lr1;
    },
    function* (from, to) {
      for (let e = Math.max(0, Math.ceil((from - half + 1) / c)) * c + half - 1; e < to; e += c) {
        yield e;
      }
    },
  );
}
