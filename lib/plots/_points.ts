/**
 * The point-list check shared by the study's charts: a non-empty list of records whose named
 * fields are finite numbers.
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { orThrow, validation } from "../validation.ts";

/** Throws a ConfigError (`Cannot draw <what>: ...`) unless `points` is a non-empty list of records
 * whose `fields` are all finite numbers. */
export function checkPoints(
  what: string,
  name: string,
  points: unknown,
  fields: ReadonlyArray<string>,
): void {
  const issues: ConfigIssue[] = [];
  if (!Array.isArray(points) || points.length === 0) {
    issues.push({ field: name, message: "must be a non-empty list of points", got: points });
  } else {
    const bad = points.findIndex((p) =>
      typeof p !== "object" || p === null ||
      !fields.every((k) => Number.isFinite((p as Record<string, unknown>)[k]))
    );
    if (bad >= 0) {
      issues.push({
        field: `${name}[${bad}]`,
        message: `must be a point with finite ${fields.join(", ")}`,
        got: points[bad],
      });
    }
  }
  orThrow(`Cannot draw ${what}`, validation(issues, null));
}
