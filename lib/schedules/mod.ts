/**
 * Learning-rate schedules: pure functions of the 0-based step, one file each.
 *
 * A {@linkcode Schedule} maps a step (an optimizer step, or an epoch when wrapped in
 * {@linkcode perEpoch}) to a learning rate. Cyclic schedules also say where their cycles end, so
 * that snapshot steps are derived from the schedule and never tracked by hand: `cycleEnds(n)` lists
 * the last step of every cycle that ends (at its minimum) within `n` steps, and `cycleEndsIn(from,
 * to)` streams them for any window. A trailing partial cycle has no end: {@linkcode partialCycleSteps}
 * says how many steps it has.
 *
 * - Cyclic: {@linkcode cosineAnnealing} (the snapshot ensemble tutorial, Huang et al., 2017),
 *   {@linkcode warmRestarts} (SGDR, PyTorch's `CosineAnnealingWarmRestarts`), {@linkcode cyclical}
 *   (Smith, 2017, `CyclicLR`), {@linkcode oneCycle} (Smith & Topin, 2019, `OneCycleLR`) and
 *   {@linkcode fge} (fast geometric ensembling, Garipov et al., 2018).
 * - Baselines without cycles: {@linkcode constant}, {@linkcode multiStep} (`MultiStepLR`),
 *   {@linkcode exponentialDecay} (`ExponentialLR`), {@linkcode cosineDecay} (`CosineAnnealingLR`)
 *   and {@linkcode swaLr} (`SWALR`).
 * - Combinators: {@linkcode sequence} (`SequentialLR`), and the data-last wrappers
 *   {@linkcode warmup} and {@linkcode perEpoch}, which compose with fp-ts's `pipe`:
 *   `pipe(cosineAnnealing(o), warmup(w), perEpoch(4))`.
 *
 * Every constructor validates its options at the door and throws one {@linkcode ConfigError}
 * naming every bad field; the `validate...` functions return the same issues as a
 * {@linkcode Validation} instead. {@linkcode scheduleFromSpec} rebuilds a schedule from the JSON
 * {@linkcode ScheduleSpec} stored in snapshot files, through the {@linkcode SCHEDULES} table.
 *
 * The PyTorch parity (1.13) is checked against fixtures that `tools/schedule_fixtures.py` records
 * from the real schedulers.
 *
 * @module
 */
import { ConfigError, type ConfigIssue } from "../errors.ts";
import { type Validation, validation } from "../validation.ts";
import { constant, validateConstant } from "./constant.ts";
import { cosineAnnealing, validateCosineAnnealing } from "./cosine_annealing.ts";
import { cosineDecay, validateCosineDecay } from "./cosine_decay.ts";
import { cyclical, validateCyclical } from "./cyclical.ts";
import { exponentialDecay, validateExponentialDecay } from "./exponential_decay.ts";
import { fge, validateFge } from "./fge.ts";
import { multiStep, validateMultiStep } from "./multi_step.ts";
import { oneCycle, validateOneCycle } from "./one_cycle.ts";
import { perEpoch, validatePerEpoch } from "./per_epoch.ts";
import { readOptions, type Schedule, type ScheduleSpec } from "./schedule.ts";
import { sequence, type SequencePhase, validateSequence } from "./sequence.ts";
import { swaLr, validateSwaLr } from "./swa_lr.ts";
import { validateWarmRestarts, warmRestarts } from "./warm_restarts.ts";
import { validateWarmup, warmup } from "./warmup.ts";

export * from "./constant.ts";
export * from "./cosine_annealing.ts";
export * from "./cosine_decay.ts";
export * from "./cyclical.ts";
export * from "./exponential_decay.ts";
export * from "./fge.ts";
export * from "./multi_step.ts";
export * from "./one_cycle.ts";
export * from "./per_epoch.ts";
export * from "./sequence.ts";
export * from "./swa_lr.ts";
export * from "./warm_restarts.ts";
export * from "./warmup.ts";
export {
  completeCycles,
  MAX_CYCLE_ENDS,
  partialCycleSteps,
  type Schedule,
  type ScheduleName,
  type ScheduleSpec,
} from "./schedule.ts";

/** Rebuilds the spec nested at `field` of the options; its issues come back under that field. */
export type RebuildInner = (spec: unknown, field: string) => Validation<Schedule>;

/** Builds one kind of schedule from the options of its spec, reporting every issue. */
export type ScheduleBuilder = (options: unknown, rebuild: RebuildInner) => Validation<Schedule>;

/** The shape of {@linkcode SCHEDULES}: one builder for every schedule name. */
export type ScheduleTable = { readonly [K in ScheduleSpec["name"]]: ScheduleBuilder };

/** How deep specs may nest (a warmup around a perEpoch around ...); deeper ones are refused. */
export const MAX_SPEC_DEPTH = 32;

function isLeft<T>(v: Validation<T>): v is Extract<Validation<T>, { _tag: "Left" }> {
  return v._tag === "Left";
}

function issuesOf(...results: ReadonlyArray<Validation<unknown>>): ConfigIssue[] {
  return results.flatMap((r) => (isLeft(r) ? r.left : []));
}

/** A schedule without inner schedules: validate, then build. */
function leaf<O>(
  validate: (o: O) => Validation<unknown>,
  build: (o: O) => Schedule,
): ScheduleBuilder {
  return (options) => {
    const v = validate(options as O);
    return isLeft(v) ? v : validation([], build(options as O));
  };
}

/** A wrapper: its own options (all but `schedule`) and the inner spec, checked together. */
function wrapper<O>(
  validate: (own: O) => Validation<unknown>,
  build: (own: O, inner: Schedule) => Schedule,
): ScheduleBuilder {
  return (options, rebuild) => {
    const { o, isObject } = readOptions(options, []);
    if (!isObject) return validate(options as O) as Validation<never>;
    const { schedule, ...own } = o;
    const inner = rebuild(schedule, "schedule");
    const mine = validate(own as O);
    const issues = issuesOf(inner, mine);
    return issues.length > 0 || isLeft(inner)
      ? validation(issues, undefined as never)
      : validation([], build(own as O, inner.right));
  };
}

function sequenceFromOptions(options: unknown, rebuild: RebuildInner): Validation<Schedule> {
  const { o, unknownKeys, isObject } = readOptions(options, ["phases"]);
  if (!isObject || unknownKeys.length > 0) return validation(unknownKeys, undefined as never);
  const raw = o.phases;
  if (!Array.isArray(raw)) return validateSequence(raw as never) as Validation<never>;
  const inner = raw.map((p, i) =>
    typeof p === "object" && p !== null && !Array.isArray(p)
      ? rebuild((p as { schedule?: unknown }).schedule, `phases[${i}].schedule`)
      : undefined
  );
  const phases = raw.map((p, i) => {
    const v = inner[i];
    return v !== undefined && !isLeft(v) ? { ...p, schedule: v.right } : p;
  }) as SequencePhase[];
  // Phases whose schedule failed are reported by rebuild; the rest by validateSequence.
  const shape = validateSequence(phases);
  const failed = new Set(raw.map((_, i) => `phases[${i}].schedule`));
  const own = isLeft(shape) ? shape.left.filter((i) => !failed.has(i.field)) : [];
  const issues = [...inner.flatMap((v) => (v === undefined ? [] : issuesOf(v))), ...own];
  return issues.length > 0 || isLeft(shape)
    ? validation(issues, undefined as never)
    : validation([], sequence(phases));
}

/**
 * The table of every schedule kind: how {@linkcode scheduleFromSpec} rebuilds each name. It is
 * checked against {@linkcode ScheduleName}, so a new schedule without an entry fails `deno check`.
 *
 * @example
 * ```ts
 * import { SCHEDULES } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok("cosineAnnealing" in SCHEDULES);
 * const built = SCHEDULES.constant({ lr: 0.1 }, () => assert.fail("no inner schedule"));
 * assert.equal(built._tag, "Right");
 * ```
 */
export const SCHEDULES: ScheduleTable = {
  cosineAnnealing: leaf(validateCosineAnnealing, cosineAnnealing),
  warmRestarts: leaf(validateWarmRestarts, warmRestarts),
  cyclical: leaf(validateCyclical, cyclical),
  oneCycle: leaf(validateOneCycle, oneCycle),
  constant: leaf(validateConstant, constant),
  multiStep: leaf(validateMultiStep, multiStep),
  exponentialDecay: leaf(validateExponentialDecay, exponentialDecay),
  cosineDecay: leaf(validateCosineDecay, cosineDecay),
  swaLr: leaf(validateSwaLr, swaLr),
  fge: leaf(validateFge, fge),
  warmup: wrapper(validateWarmup, (own, inner) => warmup(own)(inner)),
  perEpoch: wrapper(
    (own: { stepsPerEpoch?: number }) => {
      const { unknownKeys } = readOptions(own, ["stepsPerEpoch"]);
      const v = validatePerEpoch(own.stepsPerEpoch as number);
      return validation([...issuesOf(v), ...unknownKeys], own);
    },
    (own, inner) => perEpoch(own.stepsPerEpoch as number)(inner),
  ),
  sequence: sequenceFromOptions,
} satisfies Record<ScheduleSpec["name"], ScheduleBuilder>;

const NAMES = Object.keys(SCHEDULES);

function under(prefix: string, issues: ReadonlyArray<ConfigIssue>): ConfigIssue[] {
  return issues.map((i) => ({ ...i, field: `${prefix}.${i.field}` }));
}

function fromSpec(spec: unknown, depth: number): Validation<Schedule> {
  if (depth > MAX_SPEC_DEPTH) {
    return validation([{
      field: "spec",
      message: `must nest at most ${MAX_SPEC_DEPTH} schedules deep`,
    }], undefined as never);
  }
  const { o, unknownKeys, isObject } = readOptions(spec, ["name", "options"]);
  if (!isObject) {
    return validation(
      [{ field: "spec", message: "must be a { name, options } object", got: spec }],
      undefined as never,
    );
  }
  const name = o.name;
  const known = typeof name === "string" && Object.hasOwn(SCHEDULES, name);
  const issues: ConfigIssue[] = [
    ...(known ? [] : [{
      field: "name",
      message: `must name a schedule constructor: ${NAMES.join(", ")}`,
      got: name,
    }]),
    ...unknownKeys.map((i) => ({ ...i, message: 'is not a spec field: use "name", "options"' })),
  ];
  if (!known) return validation(issues, undefined as never);
  const rebuild: RebuildInner = (inner, field) => {
    const v = fromSpec(inner, depth + 1);
    return isLeft(v) ? validation(under(`options.${field}`, v.left), undefined as never) : v;
  };
  const built = SCHEDULES[name as ScheduleSpec["name"]](o.options, rebuild);
  const all = [...issues, ...(isLeft(built) ? optionIssues(built.left) : [])];
  return all.length > 0 || isLeft(built) ? validation(all, undefined as never) : built;
}

/** Issues of a spec's own options go under `options.`; nested ones already carry their path. */
function optionIssues(issues: ReadonlyArray<ConfigIssue>): ConfigIssue[] {
  return issues.map((i) =>
    i.field.startsWith("options.") ? i : { ...i, field: `options.${i.field}` }
  );
}

/**
 * Rebuilds a schedule from its {@linkcode ScheduleSpec} (as stored in snapshot files), validating
 * it like the constructor of the same name. Every bad field, nested specs included, is named in one
 * ConfigError, by its path in the spec (`options.schedule.options.lrMax`); unknown keys are
 * refused, and specs nested deeper than {@linkcode MAX_SPEC_DEPTH} too.
 *
 * @example
 * ```ts
 * import { cyclical, perEpoch, scheduleFromSpec } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const original = perEpoch(5)(cyclical({ baseLr: 0.001, maxLr: 0.01, stepSizeUp: 3 }));
 * const copy = scheduleFromSpec(JSON.parse(JSON.stringify(original.spec)));
 * assert.deepEqual(copy.spec, original.spec);
 * assert.equal(copy(42), original(42));
 * ```
 *
 * @param spec The description: a constructor name and its options (any value is checked).
 * @returns The schedule.
 * @throws {ConfigError} When the name is unknown or any option is bad.
 */
export function scheduleFromSpec(spec: ScheduleSpec): Schedule {
  const built = fromSpec(spec, 1);
  if (isLeft(built)) throw new ConfigError("Cannot rebuild the schedule", built.left);
  return built.right;
}
