/**
 * {@linkcode multiStep}: the lr multiplied by `gamma` at each milestone, PyTorch's `MultiStepLR`.
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { check, orThrow, type Validation, validation } from "../validation.ts";
import {
  FLOAT32_MAX,
  isNumber,
  makeSchedule,
  orDefault,
  rateIssues,
  readOptions,
  type Schedule,
} from "./schedule.ts";

/** Options of {@linkcode multiStep}. */
export interface MultiStepOptions {
  /** The lr before the first milestone (> 0). */
  readonly lr: number;
  /** The steps at which the lr is multiplied by `gamma` (strictly increasing integers >= 0). */
  readonly milestones: ReadonlyArray<number>;
  /** The factor applied at every milestone (> 0, default 0.1). */
  readonly gamma?: number;
}

function milestoneIssues(milestones: unknown): ConfigIssue[] {
  if (!Array.isArray(milestones)) {
    return [{ field: "milestones", message: "must be an array of steps", got: milestones }];
  }
  for (let i = 0; i < milestones.length; i++) {
    const m = milestones[i];
    const ok = typeof m === "number" && Number.isSafeInteger(m) && m >= 0 &&
      (i === 0 || m > milestones[i - 1]);
    if (!ok) {
      return [{
        field: `milestones[${i}]`,
        message:
          "must be an integer >= 0 above the milestone before it (strictly increasing steps)",
        got: m,
      }];
    }
  }
  return [];
}

/**
 * Validates {@linkcode multiStep}'s options without throwing; fills in the defaults.
 *
 * @example
 * ```ts
 * import { validateMultiStep } from "./multi_step.ts";
 * import assert from "node:assert/strict";
 *
 * const bad = validateMultiStep({ lr: 0.1, milestones: [30, 10] });
 * assert.equal(bad._tag, "Left");
 * if (bad._tag === "Left") assert.deepEqual(bad.left.map((i) => i.field), ["milestones[1]"]);
 * ```
 *
 * @param options The options to check (any value: this never throws).
 * @returns Every issue found, or the options with defaults filled in.
 */
export function validateMultiStep(
  options: MultiStepOptions,
): Validation<Required<MultiStepOptions>> {
  const { o, unknownKeys, isObject } = readOptions(options, ["lr", "milestones", "gamma"]);
  if (!isObject) return validation(unknownKeys, undefined as never);
  const gamma = orDefault(o.gamma, 0.1);
  const milestones = milestoneIssues(o.milestones);
  const count = milestones.length === 0 ? (o.milestones as number[]).length : 0;
  const issues = [
    ...rateIssues("lr", o.lr, true),
    ...milestones,
    ...check.positive("gamma", gamma),
    // A gamma above 1 raises the lr at every milestone: the last rate must still fit a float32.
    ...(isNumber(o.lr) && isNumber(gamma) && gamma > 1 && !(o.lr * gamma ** count <= FLOAT32_MAX)
      ? [{
        field: "gamma",
        message: `must keep lr * gamma ** ${count} (the rate after the last milestone) at most ` +
          `${FLOAT32_MAX}, the largest float32`,
        got: gamma,
      }]
      : []),
    ...unknownKeys,
  ];
  return validation(issues, {
    lr: o.lr as number,
    milestones: Array.isArray(o.milestones) ? [...o.milestones] : [],
    gamma: gamma as number,
  });
}

/**
 * A step decay: `lr * gamma ** k`, where `k` counts the milestones at or before the step. It equals
 * PyTorch's `MultiStepLR(milestones, gamma)` with base lr `lr`, stepped once per step. It has no
 * cycles, so no `cycleEnds`: a baseline for a snapshot policy that does not need cycles.
 *
 * @example
 * ```ts
 * import { multiStep } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const lr = multiStep({ lr: 0.1, milestones: [3, 5] });
 * assert.equal(lr(2), 0.1);
 * assert.ok(Math.abs(lr(3) - 0.01) < 1e-15);
 * assert.ok(Math.abs(lr(5) - 0.001) < 1e-15);
 * assert.equal(lr.cycleEnds, undefined);
 * ```
 *
 * @param options The first lr, the milestones and the factor.
 * @returns The schedule.
 * @throws {ConfigError} Naming every bad option.
 */
export function multiStep(options: MultiStepOptions): Schedule {
  const { lr, milestones, gamma } = orThrow("Cannot build multiStep", validateMultiStep(options));
  return makeSchedule({ name: "multiStep", options: { lr, milestones, gamma } }, (t) => {
    let lo = 0; // the number of milestones <= t (Python's bisect_right)
    let hi = milestones.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (milestones[mid] <= t) lo = mid + 1;
      else hi = mid;
    }
    return lr * gamma ** lo;
  });
}
