/**
 * {@linkcode swaLr}: anneal to a constant SWA lr, PyTorch's `SWALR`.
 *
 * @module
 */
import { check, orThrow, type Validation, validation } from "../validation.ts";
import { makeSchedule, orDefault, rateIssues, readOptions, type Schedule } from "./schedule.ts";

/** How {@linkcode swaLr} moves from `startLr` to `swaLr` (PyTorch's `anneal_strategy`). */
export type SwaAnneal = "cos" | "linear";

/** Options of {@linkcode swaLr}. */
export interface SwaLrOptions {
  /** The constant lr of weight averaging, reached after `annealSteps` steps (>= 0). */
  readonly swaLr: number;
  /** Steps from `startLr` to `swaLr` (PyTorch's `anneal_epochs`, an integer >= 0). */
  readonly annealSteps: number;
  /** `"cos"` (default) or `"linear"`. */
  readonly annealStrategy?: SwaAnneal;
  /** The lr of step 0: the optimizer's lr when SWA starts (>= 0). */
  readonly startLr: number;
}

/**
 * Validates {@linkcode swaLr}'s options without throwing; fills in the defaults.
 *
 * @example
 * ```ts
 * import { validateSwaLr } from "./swa_lr.ts";
 * import assert from "node:assert/strict";
 *
 * const bad = validateSwaLr({ swaLr: 0.05, annealSteps: -1, startLr: 0.1 });
 * assert.equal(bad._tag, "Left");
 * if (bad._tag === "Left") assert.deepEqual(bad.left.map((i) => i.field), ["annealSteps"]);
 * ```
 *
 * @param options The options to check (any value: this never throws).
 * @returns Every issue found, or the options with defaults filled in.
 */
export function validateSwaLr(options: SwaLrOptions): Validation<Required<SwaLrOptions>> {
  const { o, unknownKeys, isObject } = readOptions(options, [
    "swaLr",
    "annealSteps",
    "annealStrategy",
    "startLr",
  ]);
  if (!isObject) return validation(unknownKeys, undefined as never);
  const annealStrategy = orDefault(o.annealStrategy, "cos");
  const issues = [
    ...rateIssues("swaLr", o.swaLr, false),
    ...check.nonNegativeInt("annealSteps", o.annealSteps),
    ...check.oneOf("annealStrategy", annealStrategy, ["cos", "linear"]),
    ...rateIssues("startLr", o.startLr, false),
    ...unknownKeys,
  ];
  return validation(issues, {
    swaLr: o.swaLr as number,
    annealSteps: o.annealSteps as number,
    annealStrategy: annealStrategy as SwaAnneal,
    startLr: o.startLr as number,
  });
}

/**
 * The SWA learning rate (Izmailov et al., "Averaging Weights Leads to Wider Optima and Better
 * Generalization", UAI 2018): from `startLr` at step 0 to `swaLr` at step `annealSteps`, then held,
 * `lr(t) = swaLr * a + startLr * (1 - a)` with `a = (1 - cos(pi * s)) / 2` (`"cos"`) or `a = s`
 * (`"linear"`) and `s = min(1, t / annealSteps)`; `annealSteps = 0` gives `swaLr` from step 0. It
 * equals PyTorch's `SWALR(swa_lr, anneal_epochs = annealSteps, anneal_strategy)` built while the
 * optimizer's lr is `startLr` and stepped once per step (PyTorch's recursive form reconstructs
 * `startLr` at every step; this is its closed form). It has no cycles, so no `cycleEnds`: take
 * snapshots with a policy such as `everyEpochs(1)` and average them.
 *
 * @example
 * ```ts
 * import { swaLr } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const lr = swaLr({ swaLr: 0.05, annealSteps: 4, annealStrategy: "linear", startLr: 0.25 });
 * assert.equal(lr(0), 0.25);
 * assert.ok(Math.abs(lr(2) - 0.15) < 1e-15);
 * assert.equal(lr(4), 0.05);
 * assert.equal(lr(100), 0.05);
 * ```
 *
 * @param options The SWA lr, the anneal's length and shape, and the lr it starts from.
 * @returns The schedule.
 * @throws {ConfigError} Naming every bad option.
 */
export function swaLr(options: SwaLrOptions): Schedule {
  const resolved = orThrow("Cannot build swaLr", validateSwaLr(options));
  const { swaLr: target, annealSteps, annealStrategy, startLr } = resolved;
  const anneal = annealStrategy === "cos"
    ? (s: number) => (1 - Math.cos(Math.PI * s)) / 2
    : (s: number) => s;
  return makeSchedule({ name: "swaLr", options: resolved }, (t) => {
    // PyTorch: step = max(1, step) when anneal_epochs == 0, and t = step / max(1, anneal_epochs).
    const step = annealSteps === 0 ? Math.max(1, t) : t;
    const alpha = anneal(Math.max(0, Math.min(1, step / Math.max(1, annealSteps))));
    return alpha === 1 ? target : target * alpha + startLr * (1 - alpha);
  });
}
