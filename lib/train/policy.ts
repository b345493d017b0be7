/**
 * Snapshot policies: which steps of a run end with a snapshot, chosen separately from the
 * learning-rate schedule.
 *
 * - {@linkcode atCycleEnds} (the default): at the last step of every complete cycle of the
 *   schedule, where the lr is at the cycle's minimum (Huang et al., 2017). A trailing partial cycle
 *   gets no snapshot, and a schedule without cycles gets none at all: the run then trains a plain
 *   baseline whose final parameters are in the `done` event.
 * - {@linkcode everyEpochs}: every k epochs, optionally from a given epoch on (as stochastic weight
 *   averaging collects its models).
 * - {@linkcode atEpochs}: at the end of the listed epochs.
 * - {@linkcode none}: no snapshot; the final parameters are in the `done` event.
 *
 * A policy is plain data (`kind` plus options); {@linkcode POLICY_RULES} holds one rule per kind,
 * typed so that a new kind without a rule fails `deno check`.
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { check, orThrow, type Validation, validation } from "../validation.ts";
import type { Schedule } from "../schedules/mod.ts";
import { completeCycleEnds, firstCycleEnd } from "./_cycles.ts";

/** Snapshots at the last step of every complete cycle of the schedule (see {@linkcode atCycleEnds}). */
export interface AtCycleEndsPolicy {
  /** The policy's tag. */
  readonly kind: "atCycleEnds";
}

/** Snapshots every `every` epochs from epoch `from` on (see {@linkcode everyEpochs}). */
export interface EveryEpochsPolicy {
  /** The policy's tag. */
  readonly kind: "everyEpochs";
  /** Epochs between two snapshots (a positive integer). */
  readonly every: number;
  /** 0-based epoch at whose end the first snapshot is taken. */
  readonly from: number;
}

/** Snapshots at the end of the listed epochs (see {@linkcode atEpochs}). */
export interface AtEpochsPolicy {
  /** The policy's tag. */
  readonly kind: "atEpochs";
  /** 0-based epochs, ascending, as `Snapshot.epoch` numbers them. */
  readonly epochs: ReadonlyArray<number>;
}

/** No snapshots (see {@linkcode none}). */
export interface NoSnapshotsPolicy {
  /** The policy's tag. */
  readonly kind: "none";
}

/** When a run takes its snapshots. */
export type SnapshotPolicy =
  | AtCycleEndsPolicy
  | EveryEpochsPolicy
  | AtEpochsPolicy
  | NoSnapshotsPolicy;

/** What a policy sees of the run it plans. */
export interface PolicyRun {
  /** Epochs of the run. */
  readonly epochs: number;
  /** Optimizer steps per epoch. */
  readonly stepsPerEpoch: number;
  /** Steps of the run (`epochs * stepsPerEpoch`). */
  readonly totalSteps: number;
  /** The schedule as a function of the step. */
  readonly schedule: Schedule;
  /** Whether the user's schedule counts steps or epochs (for messages). */
  readonly lrPer: "step" | "epoch";
}

/** A policy's plan for one run. */
export interface PolicyPlan {
  /** 0-based steps after which a snapshot is taken, ascending. */
  readonly steps: ReadonlyArray<number>;
  /** What the user should know about the plan, in words (a partial cycle, no snapshots). */
  readonly notes: ReadonlyArray<string>;
}

/** How one kind of policy is checked and planned. */
export interface PolicyRule<P extends SnapshotPolicy> {
  /** Issues of the policy's own options (fields relative to the policy). */
  validate(policy: P): ConfigIssue[];
  /**
   * The snapshot steps of a run, with notes; more than `limit` snapshots is an issue, found without
   * listing them all.
   */
  plan(policy: P, run: PolicyRun, limit: number): Validation<PolicyPlan>;
}

/** One rule per policy kind: a kind without a rule is a compile error. */
export type PolicyTable = {
  readonly [K in SnapshotPolicy["kind"]]: PolicyRule<Extract<SnapshotPolicy, { kind: K }>>;
};

/**
 * Snapshots at the last step of every complete cycle of the schedule: the snapshot ensemble's rule
 * and the default. A trailing partial cycle gets none; a schedule without cycles gets none.
 *
 * @example
 * ```ts
 * import { atCycleEnds } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(atCycleEnds(), { kind: "atCycleEnds" });
 * ```
 *
 * @returns The policy.
 */
export function atCycleEnds(): AtCycleEndsPolicy {
  return Object.freeze({ kind: "atCycleEnds" });
}

/**
 * Snapshots at the end of every `every`-th epoch: epochs `from`, `from + every`, ... (0-based, as
 * `Snapshot.epoch` counts them; `from` defaults to `every - 1`, so `everyEpochs(10)` snapshots after
 * epochs 9, 19, 29, ...). With a constant or decaying rate and `from` late in the run, this collects
 * the models that stochastic weight averaging averages.
 *
 * @example
 * ```ts
 * import { everyEpochs } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(everyEpochs(10), { kind: "everyEpochs", every: 10, from: 9 });
 * assert.deepEqual(everyEpochs(1, { from: 75 }), { kind: "everyEpochs", every: 1, from: 75 });
 * assert.throws(() => everyEpochs(0), /every must be a positive integer/);
 * ```
 *
 * @param every Epochs between two snapshots (a positive integer).
 * @param options `from`: the 0-based epoch of the first snapshot.
 * @returns The policy.
 * @throws {ConfigError} naming every bad argument.
 */
export function everyEpochs(
  every: number,
  options: { readonly from?: number } = {},
): EveryEpochsPolicy {
  const keys = check.knownKeys(options, ["from"]);
  const from = keys.length === 0 && options.from !== undefined
    ? options.from
    : typeof every === "number"
    ? every - 1
    : 0;
  const policy = { kind: "everyEpochs" as const, every, from };
  orThrow(
    "Cannot build everyEpochs",
    validation([...keys, ...POLICY_RULES.everyEpochs.validate(policy)], undefined),
  );
  return Object.freeze(policy);
}

/**
 * Snapshots at the end of the listed epochs (0-based, ascending, as `Snapshot.epoch` counts them).
 *
 * @example
 * ```ts
 * import { atEpochs } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(atEpochs([49, 99]).epochs, [49, 99]);
 * assert.throws(() => atEpochs([9, 4]), /ascending/);
 * ```
 *
 * @param epochs The 0-based epochs after which a snapshot is taken.
 * @returns The policy.
 * @throws {ConfigError} when the list is not ascending non-negative integers.
 */
export function atEpochs(epochs: ReadonlyArray<number>): AtEpochsPolicy {
  const policy = {
    kind: "atEpochs" as const,
    epochs: Array.isArray(epochs) ? Object.freeze([...epochs]) : epochs,
  };
  orThrow("Cannot build atEpochs", validation(POLICY_RULES.atEpochs.validate(policy), undefined));
  return Object.freeze(policy);
}

/**
 * No snapshots: the run trains a plain model whose final parameters are in the `done` event.
 *
 * @example
 * ```ts
 * import { none } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(none(), { kind: "none" });
 * ```
 *
 * @returns The policy.
 */
export function none(): NoSnapshotsPolicy {
  return Object.freeze({ kind: "none" });
}

function steps(count: number, stepsPerEpoch: number): string {
  const epochs = count / stepsPerEpoch;
  const inEpochs = Number.isInteger(epochs) ? ` (${epochs} epoch${epochs === 1 ? "" : "s"})` : "";
  return `${count} step${count === 1 ? "" : "s"}${inEpochs}`;
}

function tooMany(count: string, limit: number, advice: string): ConfigIssue {
  return {
    field: "snapshots",
    message: `would take ${count} snapshots: at most ${limit} per run; ${advice}`,
  };
}

const FINAL = "the final parameters are in the done event";

const AT_CYCLE_ENDS: PolicyRule<AtCycleEndsPolicy> = {
  validate: () => [],
  plan(_policy, run, limit) {
    const { schedule, totalSteps, stepsPerEpoch } = run;
    const name = schedule.spec.name;
    if (schedule.cycleEndsIn === undefined) {
      return validation([], {
        steps: [],
        notes: [
          `the schedule (${name}) has no cycles, so atCycleEnds takes no snapshot; ${FINAL} ` +
          `(pass snapshots: everyEpochs(k) for snapshots)`,
        ],
      });
    }
    const ends = completeCycleEnds(schedule, totalSteps, limit);
    if (ends === undefined) {
      return validation([
        tooMany(
          `more than ${limit}`,
          limit,
          "use fewer, longer cycles, or a policy such as everyEpochs(k)",
        ),
      ], undefined as never);
    }
    if (ends.length === 0) {
      const first = firstCycleEnd(schedule, totalSteps);
      return validation([{
        field: "schedule",
        message: `cannot produce a snapshot in ${totalSteps} steps (${run.epochs} epochs of ` +
          `${stepsPerEpoch} steps, lr per ${run.lrPer}): its first cycle ends after ` +
          `${first === undefined ? `more than 2^53 steps` : `step ${first}`}; train longer, ` +
          `shorten its cycles, or check lrPer (or pass snapshots: none() for no snapshots)`,
      }], undefined as never);
    }
    const partial = totalSteps - 1 - ends[ends.length - 1];
    return validation([], {
      steps: ends,
      notes: partial === 0 ? [] : [
        `the last ${steps(partial, stepsPerEpoch)} form a partial cycle and get no snapshot; ` +
        FINAL,
      ],
    });
  },
};

const EVERY_EPOCHS: PolicyRule<EveryEpochsPolicy> = {
  validate: (policy) => [
    ...check.positiveInt("every", policy.every),
    ...check.nonNegativeInt("from", policy.from),
  ],
  plan(policy, run, limit) {
    const { every, from } = policy;
    const count = from < run.epochs ? Math.floor((run.epochs - 1 - from) / every) + 1 : 0;
    if (count > limit) {
      return validation([
        tooMany(String(count), limit, "take them less often (a larger every) or later (from)"),
      ], undefined as never);
    }
    const list: number[] = [];
    for (let i = 0; i < count; i++) list.push((from + i * every + 1) * run.stepsPerEpoch - 1);
    return validation([], {
      steps: list,
      notes: count > 0 ? [] : [
        `everyEpochs(${every}, { from: ${from} }) takes no snapshot in ${run.epochs} epochs; ${FINAL}`,
      ],
    });
  },
};

const AT_EPOCHS: PolicyRule<AtEpochsPolicy> = {
  validate(policy) {
    const epochs: unknown = policy.epochs;
    const ok = Array.isArray(epochs) &&
      epochs.every((e, i) =>
        typeof e === "number" && Number.isSafeInteger(e) && e >= 0 && (i === 0 || e > epochs[i - 1])
      );
    return check.that(
      ok,
      "epochs",
      "must be an array of ascending non-negative integers (0-based epochs, as Snapshot.epoch)",
      epochs,
    );
  },
  plan(policy, run, limit) {
    const { epochs } = policy;
    if (epochs.length > limit) {
      return validation(
        [tooMany(String(epochs.length), limit, "list fewer epochs")],
        undefined as never,
      );
    }
    const late = epochs.find((e) => e >= run.epochs);
    if (late !== undefined) {
      return validation([{
        field: "snapshots",
        message: `lists epoch ${late}, but the run has ${run.epochs} epochs (0 to ${
          run.epochs - 1
        })`,
      }], undefined as never);
    }
    return validation([], {
      steps: epochs.map((e) => (e + 1) * run.stepsPerEpoch - 1),
      notes: epochs.length > 0 ? [] : [`atEpochs([]) takes no snapshot; ${FINAL}`],
    });
  },
};

const NONE: PolicyRule<NoSnapshotsPolicy> = {
  validate: () => [],
  plan: () =>
    validation([], { steps: [], notes: [`snapshots: none() takes no snapshot; ${FINAL}`] }),
};

/** The rule of every snapshot policy kind. */
export const POLICY_RULES: PolicyTable = {
  atCycleEnds: AT_CYCLE_ENDS,
  everyEpochs: EVERY_EPOCHS,
  atEpochs: AT_EPOCHS,
  none: NONE,
};

const KINDS = Object.keys(POLICY_RULES);

/**
 * Checks a snapshot policy (any value) and plans it for a run; every issue is reported with its
 * field under `snapshots`.
 *
 * @example
 * ```ts
 * import { everyEpochs, planSnapshots } from "./policy.ts";
 * import { constant } from "../schedules/mod.ts";
 * import assert from "node:assert/strict";
 *
 * const run = {
 *   epochs: 10, stepsPerEpoch: 4, totalSteps: 40, schedule: constant(0.1), lrPer: "step" as const,
 * };
 * const plan = planSnapshots(everyEpochs(5), run, 100);
 * assert.deepEqual(plan._tag === "Right" && plan.right.steps, [19, 39]);
 * assert.equal(planSnapshots({ kind: "often" } as never, run, 100)._tag, "Left");
 * ```
 *
 * @param policy The policy (anything: this never throws on foreign input).
 * @param run The run it plans.
 * @param limit The most snapshots a run may take.
 * @returns The plan, or every issue found.
 */
export function planSnapshots(
  policy: SnapshotPolicy,
  run: PolicyRun,
  limit: number,
): Validation<PolicyPlan> {
  const kind = typeof policy === "object" && policy !== null ? policy.kind : undefined;
  if (typeof kind !== "string" || !KINDS.includes(kind)) {
    return validation([{
      field: "snapshots",
      message: "must be a snapshot policy (see atCycleEnds, everyEpochs, atEpochs, none)",
      got: policy,
    }], undefined as never);
  }
  const rule = POLICY_RULES[kind as SnapshotPolicy["kind"]] as PolicyRule<SnapshotPolicy>;
  const issues = rule.validate(policy).map((i) => ({ ...i, field: `snapshots.${i.field}` }));
  return issues.length > 0 ? validation(issues, undefined as never) : rule.plan(policy, run, limit);
}
