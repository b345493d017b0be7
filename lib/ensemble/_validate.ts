/**
 * The ensemble's door: the checks of `ensemble()`'s snapshots and options and of the rows it
 * predicts, and the canonical member order. Internal to lib/ensemble/.
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { check, type Validation, validation } from "../validation.ts";
import { isModelSpec, type MlpSpec, paramCount, sameSpec } from "../model/mod.ts";
import { COMBINE_RULES, type Vote, VOTES } from "../ops/combine.ts";
import type { Backend } from "../backend/backend.ts";
import type { Snapshot } from "../snapshot.ts";

/** The options `ensemble()` accepts, as the door sees them. */
export interface RawEnsembleOptions {
  readonly vote?: Vote;
  readonly last?: number;
  readonly members?: ReadonlyArray<number>;
  readonly weights?: ReadonlyArray<number>;
  readonly temperature?: number;
  readonly backend?: Backend;
}

/** The validated parts of an ensemble. */
export interface EnsembleParts {
  readonly members: ReadonlyArray<Snapshot>;
  readonly spec: MlpSpec;
  readonly vote: Vote;
  readonly weights: Float64Array;
  readonly temperature: number;
}

const OPTION_KEYS = ["vote", "last", "members", "weights", "temperature", "backend"];

/** The issue of asking a non-softmax network for classes. */
export function headIssue(spec: MlpSpec): ConfigIssue[] {
  return [{
    field: "spec.head",
    message:
      'must be "softmax" for classes: for a regressor use predictProba, which gives the mean output',
    got: spec.head,
  }];
}

/** The issues of `[n, inDim]` rows `x`: a Float32Array of whole, finite rows. */
export function inputIssues(x: unknown, n: number, inDim: number): ConfigIssue[] {
  if (!(x instanceof Float32Array)) {
    return [{
      field: "x",
      message: "must be [n, inDim] rows: a Float32Array, a Float64Array or an array of numbers",
      got: x,
    }];
  }
  if (!Number.isSafeInteger(n) && x.length % inDim !== 0) {
    return [{
      field: "x",
      message: `must hold whole rows of inDim = ${inDim} values (the network's input width), ` +
        `but its length ${x.length} is not a multiple of ${inDim}`,
    }];
  }
  const issues = check.positiveInt("n", n);
  if (issues.length === 0 && x.length !== n * inDim) {
    issues.push({
      field: "x",
      message: `must hold n x inDim = ${n} x ${inDim} values`,
      got: x,
    });
  }
  if (issues.length === 0) {
    // NaN or an infinity would silently turn every member's probabilities into NaN.
    let bad = 0;
    let first = -1;
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(x[i])) {
        if (first < 0) first = i;
        bad++;
      }
    }
    if (bad > 0) {
      issues.push({
        field: "x",
        message: `must be finite: ${bad} value(s) are NaN or infinite, the first at row ` +
          `${Math.floor(first / inDim)}, column ${first % inDim}`,
      });
    }
  }
  return issues;
}

/**
 * The order in which members are summed: by index, step, epoch, weight, then parameters. Floating
 * point sums depend on their order; summing in one canonical order makes the combined output
 * bit-for-bit independent of the order the members were given in (members equal under this order
 * have equal outputs and weights, so swapping them changes nothing).
 */
export function canonicalOrder(members: ReadonlyArray<Snapshot>, weights: Float64Array): number[] {
  const compare = (a: number, b: number): number => {
    const sa = members[a];
    const sb = members[b];
    const key = sa.index - sb.index || sa.step - sb.step || sa.epoch - sb.epoch ||
      weights[a] - weights[b];
    if (key !== 0 && !Number.isNaN(key)) return key;
    for (let k = 0; k < sa.params.length; k++) {
      const d = sa.params[k] - sb.params[k];
      if (d !== 0 && !Number.isNaN(d)) return d;
    }
    return 0;
  };
  return members.map((_, i) => i).sort(compare);
}

/** The issues of a list of snapshots of one network, and that network's spec when it has one. */
export function snapshotIssues(
  snapshots: ReadonlyArray<Snapshot>,
): { readonly issues: ConfigIssue[]; readonly spec: MlpSpec | null } {
  if (!Array.isArray(snapshots) || snapshots.length === 0) {
    return {
      issues: [{ field: "snapshots", message: "must be a non-empty list", got: snapshots }],
      spec: null,
    };
  }
  const spec = snapshots[0]?.spec;
  if (!isModelSpec(spec)) {
    return {
      issues: [{
        field: "snapshots[0].spec",
        message: "must be a model spec (see sequential or mlp)",
        got: spec,
      }],
      spec: null,
    };
  }
  const count = paramCount(spec);
  const issues: ConfigIssue[] = [];
  snapshots.forEach((s, i) => {
    if (!sameSpec(s?.spec ?? ({ layers: [] } as unknown as MlpSpec), spec)) {
      issues.push({
        field: `snapshots[${i}].spec`,
        message: "must equal the spec of snapshots[0]: an ensemble combines one network",
        got: s?.spec,
      });
    } else if (!(s.params instanceof Float32Array) || s.params.length !== count) {
      issues.push({
        field: `snapshots[${i}].params`,
        message: `must be a Float32Array of ${count} parameters`,
        got: s.params,
      });
    }
  });
  return { issues, spec };
}

/** The issues of `weights` for `count` members, and the weights normalised to sum 1. */
export function weightIssues(
  weights: unknown,
  count: number,
): { readonly issues: ConfigIssue[]; readonly weights: Float64Array } {
  const equal = new Float64Array(count).fill(1 / count);
  if (weights === undefined) return { issues: [], weights: equal };
  const ok = Array.isArray(weights) && weights.length === count &&
    weights.every((v) => typeof v === "number" && Number.isFinite(v) && v >= 0) &&
    weights.some((v) => v > 0);
  const issues = check.that(
    ok,
    "weights",
    `must be ${count} non-negative finite numbers, not all zero (one per member)`,
    weights,
  );
  if (!ok) return { issues, weights: equal };
  const total = (weights as number[]).reduce((a, b) => a + b, 0);
  return { issues, weights: Float64Array.from(weights as number[], (v) => v / total) };
}

/** Positions of the kept snapshots: all, the last m, or those chosen. */
function keptIssues(
  count: number,
  last: number | undefined,
  chosen: ReadonlyArray<number> | undefined,
): { readonly issues: ConfigIssue[]; readonly kept: number[] } {
  const all = Array.from({ length: count }, (_, i) => i);
  if (last !== undefined && chosen !== undefined) {
    return {
      issues: [{ field: "members", message: "must not be given together with last", got: chosen }],
      kept: all,
    };
  }
  if (last !== undefined) {
    const issues = [
      ...check.positiveInt("last", last),
      ...check.that(
        last <= count,
        "last",
        `must be at most the number of snapshots (${count})`,
        last,
      ),
    ].slice(0, 1);
    return { issues, kept: issues.length === 0 ? all.slice(count - last) : all };
  }
  if (chosen !== undefined) {
    const ok = Array.isArray(chosen) && chosen.length > 0 &&
      chosen.every((i) => Number.isSafeInteger(i) && i >= 0 && i < count) &&
      new Set(chosen).size === chosen.length;
    const issues = check.that(
      ok,
      "members",
      `must be distinct 0-based positions in [0, ${count})`,
      chosen,
    );
    return { issues, kept: ok ? [...chosen] : all };
  }
  return { issues: [], kept: all };
}

/** The issues of the rule, temperature and backend for a network with this head. */
function ruleIssues(options: RawEnsembleOptions, spec: MlpSpec): ConfigIssue[] {
  const { vote = "soft", temperature, backend } = options;
  const issues: ConfigIssue[] = [];
  const rule = COMBINE_RULES[vote as Vote];
  if (rule !== undefined && !(rule.heads as ReadonlyArray<string>).includes(spec.head)) {
    const allowed = VOTES.filter((v) =>
      (COMBINE_RULES[v].heads as ReadonlyArray<string>).includes(spec.head)
    );
    issues.push({
      field: "vote",
      message: `must be ${allowed.map((v) => `"${v}"`).join(" or ")} for a "${spec.head}" head` +
        (spec.head === "linear" ? ": outputs are averaged" : ""),
      got: vote,
    });
  }
  if (temperature !== undefined) {
    issues.push(...check.positive("temperature", temperature));
    issues.push(...check.that(
      spec.head === "softmax" && vote === "soft",
      "temperature",
      'applies to the soft vote of a "softmax" head only (it rescales log-probabilities)',
      temperature,
    ));
  }
  if (backend !== undefined) {
    issues.push(...check.that(
      typeof backend === "object" && backend !== null && typeof backend.predict === "function",
      "backend",
      "must be a Backend (from createBackend, createCpuBackend or createWebGpuBackend)",
      backend,
    ));
  }
  return issues;
}

/** Checks `ensemble()`'s arguments and returns its members, spec, rule, weights and temperature. */
export function validateEnsemble(
  snapshots: ReadonlyArray<Snapshot>,
  options: RawEnsembleOptions,
): Validation<EnsembleParts> {
  const { vote = "soft", last, members: chosen, weights, temperature = 1 } = options ?? {};
  const issues: ConfigIssue[] = [
    ...check.knownKeys(options ?? {}, OPTION_KEYS),
    ...check.oneOf("vote", vote, VOTES),
  ];
  const { issues: snapshotProblems, spec } = snapshotIssues(snapshots);
  issues.push(...snapshotProblems);
  if (spec === null) return validation(issues, null as never);
  issues.push(...ruleIssues(options ?? {}, spec));
  const { issues: keptProblems, kept } = keptIssues(snapshots.length, last, chosen);
  issues.push(...keptProblems);
  const { issues: weightProblems, weights: w } = weightIssues(weights, kept.length);
  issues.push(...weightProblems);
  return validation(issues, {
    members: kept.map((i) => snapshots[i]),
    spec,
    vote: vote as Vote,
    weights: w,
    temperature,
  });
}
