/**
 * Checks shared by the optimizer constructors: the rate lives in the schedule, options are never
 * silently ignored.
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { check } from "../validation.ts";

/** A number in [0, 1). */
export function unitInterval(field: string, value: unknown): ConfigIssue[] {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 && value < 1
    ? []
    : [{ field, message: "must be a number in [0, 1)", got: value }];
}

const RATE_KEYS = ["lr", "learningRate", "learning_rate"];

/**
 * Unknown option keys, with the lr (a common first guess) explained: snapfold takes the learning
 * rate of every step from the schedule.
 */
export function optionKeys(options: unknown, allowed: ReadonlyArray<string>): ConfigIssue[] {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    return options === undefined
      ? []
      : [{ field: "options", message: "must be an object of options", got: options }];
  }
  const rate = Object.keys(options).filter((key) => RATE_KEYS.includes(key));
  const rest = Object.fromEntries(
    Object.entries(options).filter(([key]) => !RATE_KEYS.includes(key)),
  );
  return [
    ...rate.map((key) => ({
      field: key,
      message: "is not an optimizer option: the learning rate of every step comes from the " +
        "schedule (for example cosineAnnealing({ lrMax: 0.1, ... }) in the training config)",
      got: (options as Record<string, unknown>)[key],
    })),
    ...check.knownKeys(rest, allowed),
  ];
}
