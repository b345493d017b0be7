/**
 * {@linkcode sequence}: schedules one after another, PyTorch's `SequentialLR`.
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { check, orThrow, type Validation, validation } from "../validation.ts";
import {
  type EndsIn,
  makeSchedule,
  readOptions,
  type Schedule,
  scheduleIssue,
} from "./schedule.ts";

/** One phase of a {@linkcode sequence}. */
export interface SequencePhase {
  /** The schedule of this phase, started at its own step 0. */
  readonly schedule: Schedule;
  /** Steps in this phase (a positive integer); omitted on the last phase, which runs on. */
  readonly steps?: number;
}

/** The most phases a {@linkcode sequence} takes. */
export const MAX_PHASES = 10_000;

function phaseIssues(phase: unknown, i: number, last: boolean): ConfigIssue[] {
  const field = `phases[${i}]`;
  const { o, unknownKeys, isObject } = readOptions(phase, ["schedule", "steps"]);
  if (!isObject) return [{ field, message: "must be a { schedule, steps } object", got: phase }];
  return [
    ...scheduleIssue(`${field}.schedule`, o.schedule),
    ...(last
      ? check.that(
        o.steps === undefined,
        `${field}.steps`,
        "must be omitted on the last phase: it runs until training ends, as in SequentialLR",
        o.steps,
      )
      : check.positiveInt(`${field}.steps`, o.steps)),
    ...unknownKeys.map((issue) => ({ ...issue, field: `${field}.${issue.field}` })),
  ];
}

/**
 * Validates {@linkcode sequence}'s phases without throwing.
 *
 * @example
 * ```ts
 * import { constant } from "@snapfold/snapfold";
 * import { validateSequence } from "./sequence.ts";
 * import assert from "node:assert/strict";
 *
 * const bad = validateSequence([{ schedule: constant(0.1) }, { schedule: constant(0.01) }]);
 * assert.equal(bad._tag, "Left");
 * if (bad._tag === "Left") assert.deepEqual(bad.left.map((i) => i.field), ["phases[0].steps"]);
 * ```
 *
 * @param phases The phases to check (any value: this never throws).
 * @returns Every issue found, or the phases.
 */
export function validateSequence(
  phases: ReadonlyArray<SequencePhase>,
): Validation<ReadonlyArray<SequencePhase>> {
  if (!Array.isArray(phases) || phases.length === 0 || phases.length > MAX_PHASES) {
    return validation([{
      field: "phases",
      message: `must be an array of 1 to ${MAX_PHASES} { schedule, steps } phases`,
      got: Array.isArray(phases) ? `${phases.length} phases` : phases,
    }], undefined as never);
  }
  const issues = phases.flatMap((p, i) => phaseIssues(p, i, i === phases.length - 1));
  if (issues.length === 0) {
    const total = phases.reduce((sum, p) => sum + (p.steps ?? 0), 0);
    issues.push(...check.that(
      total <= Number.MAX_SAFE_INTEGER,
      "phases",
      "must have at most 2^53 steps in all",
      total,
    ));
  }
  return validation(issues, phases);
}

/**
 * Runs schedules one after another: phase `j` covers `steps` steps from the end of the phase before,
 * and its schedule is called with its own step count, restarting at 0 (as PyTorch's `SequentialLR`
 * restarts each scheduler at its milestone). The last phase has no `steps`: it runs until training
 * ends.
 *
 * Cycle ends: every phase's cycle ends that fall inside the phase, moved to the run's steps (a
 * phase's cycle cut short by the next phase has no end). A sequence of phases without cycles has
 * no `cycleEnds`.
 *
 * @example A decay, then SWA at a constant lr
 * ```ts
 * import { cosineDecay, sequence, swaLr } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const lr = sequence([
 *   { schedule: cosineDecay({ lrMax: 0.1, totalSteps: 75, lrMin: 0.02 }), steps: 75 },
 *   { schedule: swaLr({ swaLr: 0.02, annealSteps: 0, startLr: 0.02 }) },
 * ]);
 * assert.equal(lr(0), 0.1);
 * assert.equal(lr(75), 0.02);
 * assert.equal(lr(1000), 0.02);
 * ```
 *
 * @param phases The phases, in order.
 * @returns The schedule.
 * @throws {ConfigError} Naming every bad phase field.
 */
export function sequence(phases: ReadonlyArray<SequencePhase>): Schedule {
  const valid = orThrow("Cannot build sequence", validateSequence(phases));
  const schedules = valid.map((p) => p.schedule);
  const offsets: number[] = [0];
  for (const p of valid.slice(0, -1)) offsets.push(offsets[offsets.length - 1] + p.steps!);
  const phaseOf = (t: number): number => {
    let lo = 0; // offsets[lo] <= t < offsets[lo + 1]
    let hi = offsets.length;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (offsets[mid] <= t) lo = mid;
      else hi = mid;
    }
    return lo;
  };
  const spec = {
    name: "sequence" as const,
    options: {
      phases: valid.map((p) =>
        p.steps === undefined ? { schedule: p.schedule.spec } : {
          schedule: p.schedule.spec,
          steps: p.steps,
        }
      ),
    },
  };
  const cyclic = schedules.some((s) => s.cycleEndsIn !== undefined);
  const endsIn: EndsIn = function* (from, to) {
    for (let j = phaseOf(from); j < schedules.length && offsets[j] < to; j++) {
      const inner = schedules[j].cycleEndsIn;
      if (inner === undefined) continue;
      const end = j + 1 < offsets.length ? offsets[j + 1] : Infinity;
      const stop = Math.min(end, to) - offsets[j];
      for (const e of inner(Math.max(0, from - offsets[j]), stop)) yield e + offsets[j];
    }
  };
  return makeSchedule(
    spec,
    (t) => {
      const j = phaseOf(t);
      return schedules[j](t - offsets[j]);
    },
    cyclic ? endsIn : undefined,
  );
}
