import assert from "node:assert/strict";
import fc from "fast-check";
import { pipe } from "fp-ts/function";
import {
  completeCycles,
  ConfigError,
  constant,
  cosineAnnealing,
  cosineDecay,
  cyclical,
  exponentialDecay,
  fge,
  MAX_CYCLE_ENDS,
  multiStep,
  oneCycle,
  partialCycleSteps,
  perEpoch,
  type Schedule,
  scheduleFromSpec,
  type ScheduleSpec,
  sequence,
  swaLr,
  warmRestarts,
  warmup,
} from "@snapfold/snapfold";
import { validateConstant } from "../lib/schedules/constant.ts";
import { validateCosineAnnealing } from "../lib/schedules/cosine_annealing.ts";
import { validateCosineDecay } from "../lib/schedules/cosine_decay.ts";
import { validateCyclical } from "../lib/schedules/cyclical.ts";
import { validateExponentialDecay } from "../lib/schedules/exponential_decay.ts";
import { validateFge } from "../lib/schedules/fge.ts";
import { type ScheduleBuilder, SCHEDULES } from "../lib/schedules/mod.ts";
import { validateMultiStep } from "../lib/schedules/multi_step.ts";
import { validateOneCycle } from "../lib/schedules/one_cycle.ts";
import { validatePerEpoch } from "../lib/schedules/per_epoch.ts";
import { validateSequence } from "../lib/schedules/sequence.ts";
import { validateSwaLr } from "../lib/schedules/swa_lr.ts";
import { validateWarmRestarts } from "../lib/schedules/warm_restarts.ts";
import { validateWarmup } from "../lib/schedules/warmup.ts";

type Kind =
  | "warmRestarts"
  | "cyclical"
  | "oneCycle"
  | "cosineAnnealing"
  | "multiStep"
  | "exponentialDecay"
  | "cosineDecay"
  | "swaLr"
  | "sequence"
  | "fge";

interface FixtureCase {
  readonly kind: Kind;
  readonly options: Record<string, unknown>;
  readonly steps: number;
  readonly lr: ReadonlyArray<number>;
}

const fixtures: { readonly torch: string; readonly cases: ReadonlyArray<FixtureCase> } = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/schedules.json", import.meta.url)),
);

const FC = { seed: 20170401, numRuns: 150 } as const;

function build(kind: Kind, options: Record<string, unknown>): Schedule {
  // deno-lint-ignore no-explicit-any
  const o = options as any;
  switch (kind) {
    case "warmRestarts":
      return warmRestarts(o);
    case "cyclical":
      return cyclical(o);
    case "oneCycle":
      return oneCycle(o);
    case "cosineAnnealing":
      return cosineAnnealing(o);
    case "multiStep":
      return multiStep(o);
    case "exponentialDecay":
      return exponentialDecay(o);
    case "cosineDecay":
      return cosineDecay(o);
    case "swaLr":
      return swaLr(o);
    case "fge":
      return fge(o);
    case "sequence": // its phases are specs: rebuilt as a snapshot file's loader would
      return scheduleFromSpec({ name: "sequence", options: o });
  }
}

/** 1e-9 relative; an exact zero must come out as (almost) zero. */
function assertClose(actual: number, expected: number, what: string): void {
  const ok = expected === 0
    ? Math.abs(actual) <= 1e-15
    : Math.abs(actual - expected) <= 1e-9 * Math.abs(expected);
  assert.ok(ok, `${what}: got ${actual}, expected ${expected}`);
}

function lrs(schedule: Schedule, n: number): number[] {
  const out: number[] = [];
  for (let t = 0; t < n; t++) out.push(schedule(t));
  return out;
}

/** Ascending steps inside the run; the cycle ends of n steps are those of a longer run below n. */
function assertEndsShape(schedule: Schedule, n: number): void {
  const ends = schedule.cycleEnds!(n);
  for (let i = 1; i < ends.length; i++) assert.ok(ends[i] > ends[i - 1], `ascending: ${ends}`);
  if (ends.length > 0) assert.ok(ends[0] >= 0 && ends[ends.length - 1] < n);
  assert.deepEqual(schedule.cycleEnds!(n + 17).filter((e) => e < n), ends);
  assert.deepEqual([...schedule.cycleEndsIn!(0, n)], ends);
  assert.equal(partialCycleSteps(schedule, n), n - 1 - (ends[ends.length - 1] ?? -1));
}

/** The lr at every cycle end is the minimum over its cycle (the steps after the previous end). */
function assertEndsAreMinima(values: ReadonlyArray<number>, ends: ReadonlyArray<number>): void {
  let start = 0;
  for (const end of ends) {
    for (let t = start; t <= end; t++) {
      assert.ok(values[end] <= values[t], `lr(${end}) = ${values[end]} > lr(${t}) = ${values[t]}`);
    }
    start = end + 1;
  }
}

/** lr(t + 1) > lr(t) only right after a cycle end. */
function assertRisesOnlyAfterEnds(values: ReadonlyArray<number>, ends: ReadonlyArray<number>) {
  const isEnd = new Set(ends);
  for (let t = 0; t + 1 < values.length; t++) {
    if (values[t + 1] > values[t]) {
      assert.ok(isEnd.has(t), `lr rises after step ${t}, not a cycle end`);
    }
  }
}

Deno.test("the fixtures come from PyTorch 1.13 and cover every scheduler", () => {
  assert.match(fixtures.torch, /^1\.13/);
  const kinds = new Set(fixtures.cases.map((c) => c.kind));
  assert.deepEqual([...kinds].sort(), [
    "cosineAnnealing",
    "cosineDecay",
    "cyclical",
    "exponentialDecay",
    "fge",
    "multiStep",
    "oneCycle",
    "sequence",
    "swaLr",
    "warmRestarts",
  ]);
  const modes = new Set(
    fixtures.cases.filter((c) => c.kind === "cyclical").map((c) => c.options.mode),
  );
  assert.equal(modes.size, 3);
});

for (const c of fixtures.cases) {
  Deno.test(`${c.kind} matches the reference: ${JSON.stringify(c.options)}`, () => {
    const schedule = build(c.kind, c.options);
    assert.equal(c.lr.length, c.steps);
    for (let t = 0; t < c.steps; t++) assertClose(schedule(t), c.lr[t], `step ${t}`);
  });
}

// A cycle end t < steps - 1 shows in a fixture as the rise (or minimum) right after it; the ends
// of the first steps - 1 steps are exactly those.
Deno.test("warmRestarts ends its cycles where PyTorch restarts", () => {
  for (const c of fixtures.cases.filter((c) => c.kind === "warmRestarts")) {
    if (c.options.cycleLength === 1) continue; // a constant lr: every step is a cycle, nothing rises
    const expected: number[] = [];
    for (let t = 0; t + 1 < c.steps; t++) if (c.lr[t + 1] > c.lr[t]) expected.push(t);
    assert.deepEqual(build(c.kind, c.options).cycleEnds?.(c.steps - 1), expected);
  }
});

Deno.test("cyclical ends its cycles at PyTorch's minima", () => {
  for (const c of fixtures.cases.filter((c) => c.kind === "cyclical")) {
    const expected: number[] = [];
    for (let t = 1; t + 1 < c.steps; t++) {
      if (c.lr[t] < c.lr[t - 1] && c.lr[t] < c.lr[t + 1]) expected.push(t);
    }
    const schedule = build(c.kind, c.options);
    assert.deepEqual(schedule.cycleEnds?.(c.steps - 1), expected, JSON.stringify(c.options));
    for (const end of expected) assertClose(schedule(end), c.options.baseLr as number, "min");
  }
});

Deno.test("fge ends its cycles at the paper's midpoints, where the lr is lr2", () => {
  for (const c of fixtures.cases.filter((c) => c.kind === "fge")) {
    const { cycleLength, lr2 } = c.options as Record<string, number>;
    const expected: number[] = [];
    for (let t = 0; t < c.steps; t++) {
      if ((t + 1) % cycleLength === cycleLength / 2) expected.push(t);
    }
    const schedule = build(c.kind, c.options);
    assert.deepEqual(schedule.cycleEnds?.(c.steps), expected);
    for (const end of expected) {
      assert.equal(c.lr[end], lr2);
      assert.equal(schedule(end), lr2);
    }
  }
});

Deno.test("warmRestarts with an integer multiplier equals PyTorch's stepping rule on random arguments", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 4 }),
      fc.double({ min: 1e-4, max: 2, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (cycleLength, multiplier, lrMax, floorShare) => {
        const lrMin = lrMax * floorShare;
        const schedule = warmRestarts({
          cycleLength,
          cycleLengthMultiplier: multiplier,
          lrMax,
          lrMin,
        });
        // CosineAnnealingWarmRestarts.step() without an epoch, as in torch/optim/lr_scheduler.py.
        let current = 0;
        let length = cycleLength;
        for (let t = 0; t < 400; t++) {
          const expected = lrMin + (lrMax - lrMin) * (1 + Math.cos(Math.PI * current / length)) / 2;
          assertClose(schedule(t), expected, `step ${t}`);
          current += 1;
          if (current >= length) {
            current -= length;
            length *= multiplier;
          }
        }
      },
    ),
    FC,
  );
});

Deno.test("warmRestarts rounds non-integer cycle lengths on the cumulative sum", () => {
  const m = 1.5;
  const schedule = warmRestarts({ cycleLength: 3, cycleLengthMultiplier: m, lrMax: 1 });
  // Real boundaries 3, 7.5, 14.25, 24.375, 39.5625 round to 3, 8, 14, 24, 40; step 40 starts a
  // sixth cycle that 41 steps do not complete, so it has no end.
  assert.deepEqual(schedule.cycleEnds?.(41), [2, 7, 13, 23, 39]);
  assert.equal(partialCycleSteps(schedule, 41), 1);
  for (const start of [0, 3, 8, 14, 24, 40]) assert.equal(schedule(start), 1);
  // Cycle 1 is steps 3..7, five long.
  assertClose(schedule(5), (1 + Math.cos(Math.PI * 2 / 5)) / 2, "inside cycle 1");
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 20 }),
      fc.double({ min: 1, max: 3, noNaN: true }),
      (cycleLength, mult) => {
        const s = warmRestarts({ cycleLength, cycleLengthMultiplier: mult, lrMax: 1 });
        const ends = s.cycleEnds!(500);
        let sum = 0;
        let i = 0;
        let previous = -1;
        for (const end of ends) {
          sum += cycleLength * mult ** i++;
          assert.ok(Math.abs(end + 1 - sum) <= 0.5 + 1e-6, `end ${end} vs cumulative ${sum}`);
          assert.ok(end - previous >= cycleLength, "no cycle is shorter than the first");
          previous = end;
        }
      },
    ),
    FC,
  );
});

Deno.test("warmRestarts scales each peak by lrMultiplier and never below the floor", () => {
  const schedule = warmRestarts({ cycleLength: 4, lrMax: 0.1, lrMin: 0.02, lrMultiplier: 0.5 });
  assert.equal(schedule(0), 0.1);
  assert.equal(schedule(4), 0.05);
  assert.equal(schedule(8), 0.025);
  assert.equal(schedule(12), 0.02); // 0.0125 would be under the floor
  assert.equal(schedule(15), 0.02);
  assertClose(schedule(6), 0.02 + 0.03 * (1 + Math.cos(Math.PI / 2)) / 2, "mid cycle 1");
});

Deno.test("cosineAnnealing follows the tutorial's formula and its cycle ends", () => {
  const schedule = cosineAnnealing({ lrMax: 0.5, totalSteps: 10, cycles: 3, lrMin: 0.1 });
  // L = 3: cycles 0-2, 3-5, 6-8, and step 9 starts a fourth cycle that does not end in 10 steps:
  // no end at its peak.
  assert.deepEqual(schedule.cycleEnds?.(10), [2, 5, 8]);
  assert.deepEqual(schedule.cycleEnds?.(9), [2, 5, 8]);
  assert.deepEqual(schedule.cycleEnds?.(8), [2, 5]);
  assert.deepEqual(schedule.cycleEnds?.(0), []);
  assert.deepEqual([partialCycleSteps(schedule, 10), partialCycleSteps(schedule, 8)], [1, 2]);
  assertClose(schedule(4), 0.1 + 0.2 * (Math.cos(Math.PI / 3) + 1), "step 4");
  assert.equal(schedule(9), 0.5);
  assert.equal(schedule(3000), 0.5); // it keeps cycling past totalSteps
});

Deno.test("cyclical lists its minima as cycle ends and leaves the last partial cycle without one", () => {
  const schedule = cyclical({ baseLr: 0.1, maxLr: 1, stepSizeUp: 2, stepSizeDown: 3 });
  assert.deepEqual(schedule.cycleEnds?.(16), [5, 10, 15]);
  assert.deepEqual(schedule.cycleEnds?.(13), [5, 10]);
  assert.deepEqual(schedule.cycleEnds?.(1), []);
  assert.equal(partialCycleSteps(schedule, 13), 2);
  assert.deepEqual(lrs(schedule, 6).map((x) => Math.round(x * 1e12) / 1e12), [
    0.1,
    0.55,
    1,
    0.7,
    0.4,
    0.1,
  ]);
});

Deno.test("oneCycle holds its last lr past totalSteps and ends one cycle there", () => {
  const schedule = oneCycle({ maxLr: 0.1, totalSteps: 100 });
  assert.equal(schedule(150), schedule(99));
  assert.equal(schedule(100), schedule(99));
  assertClose(schedule(99), 0.1 / 25 / 1e4, "final lr");
  assert.deepEqual(schedule.cycleEnds?.(100), [99]);
  assert.deepEqual(schedule.cycleEnds?.(40), []); // stopped inside its one cycle
  assert.deepEqual(schedule.cycleEnds?.(120), [99]); // the held tail is no cycle
  assert.equal(partialCycleSteps(schedule, 120), 20);
  // A rise of zero steps (pctStart * totalSteps = 1) puts the peak at step 0.
  const instant = oneCycle({ maxLr: 0.2, totalSteps: 10, pctStart: 0.1 });
  assert.equal(instant(0), 0.2);
  assert.ok(instant(1) < 0.2);
});

Deno.test("constant takes { lr } or a bare lr and has no cycle ends", () => {
  const schedule = constant({ lr: 0.003 });
  assert.deepEqual(lrs(schedule, 4), [0.003, 0.003, 0.003, 0.003]);
  assert.equal(schedule.cycleEnds, undefined);
  assert.equal(schedule.cycleEndsIn, undefined);
  assert.deepEqual(schedule.spec, { name: "constant", options: { lr: 0.003 } });
  assert.deepEqual(constant(0.003).spec, schedule.spec);
  assert.throws(() => partialCycleSteps(schedule, 10), /must be a cyclic schedule/);
});

Deno.test("warmup ramps linearly to the shifted schedule, and cycle ends follow", () => {
  const inner = cosineAnnealing({ lrMax: 0.2, totalSteps: 40, cycles: 4 });
  const schedule = pipe(inner, warmup({ steps: 5, startLr: 0.05 }));
  assertClose(schedule(0), 0.05, "step 0");
  assertClose(schedule(2), 0.05 + 0.15 * 2 / 5, "step 2");
  for (let t = 5; t < 60; t++) assert.equal(schedule(t), inner(t - 5));
  assert.deepEqual(schedule.cycleEnds?.(45), [14, 24, 34, 44]);
  assert.deepEqual(schedule.cycleEnds?.(3), []); // the run ends inside the warmup
  assert.deepEqual(schedule.cycleEnds?.(6), []);
  assert.equal(partialCycleSteps(schedule, 6), 6);
  assert.equal(warmup({ steps: 2 })(constant(1)).cycleEnds, undefined);
});

Deno.test("perEpoch holds the lr within each epoch and snapshots at the last step of ending epochs", () => {
  const inner = cosineAnnealing({ lrMax: 0.01, totalSteps: 500, cycles: 10 });
  const schedule = pipe(inner, perEpoch(4)); // the tutorial: 100 samples in batches of 32
  for (let t = 0; t < 2000; t++) assert.equal(schedule(t), inner(Math.floor(t / 4)));
  const expected = Array.from({ length: 10 }, (_, k) => 200 * (k + 1) - 1);
  assert.deepEqual(schedule.cycleEnds?.(2000), expected);
  // A partial last epoch ends no cycle: 1998 steps stop inside epoch 499.
  assert.deepEqual(schedule.cycleEnds?.(1998), expected.slice(0, -1));
  assert.deepEqual(perEpoch(3)(inner).cycleEnds?.(151), [149]);
  assert.equal(perEpoch(3)(constant(1)).cycleEnds, undefined);
});

function specNames(spec: ScheduleSpec): string[] {
  const o = spec.options as { schedule?: ScheduleSpec; phases?: { schedule: ScheduleSpec }[] };
  const inner = [...(o.schedule ? [o.schedule] : []), ...(o.phases ?? []).map((p) => p.schedule)];
  return [spec.name, ...inner.flatMap(specNames)];
}

Deno.test("scheduleFromSpec rebuilds every kind from JSON", () => {
  const schedules = [
    cosineAnnealing({ lrMax: 0.1, totalSteps: 50, cycles: 5, lrMin: 0.001 }),
    warmRestarts({ cycleLength: 7, cycleLengthMultiplier: 1.7, lrMax: 0.1, lrMultiplier: 0.8 }),
    cyclical({ baseLr: 0.01, maxLr: 0.1, stepSizeUp: 5, mode: "exp_range", gamma: 0.99 }),
    oneCycle({ maxLr: 0.3, totalSteps: 77, anneal: "linear" }),
    constant(0.5),
    pipe(
      cosineAnnealing({ lrMax: 1, totalSteps: 9, cycles: 3 }),
      perEpoch(4),
      warmup({ steps: 3 }),
    ),
    multiStep({ lr: 0.1, milestones: [10, 50], gamma: 0.5 }),
    exponentialDecay({ lr: 0.1, gamma: 0.99 }),
    cosineDecay({ lrMax: 0.1, totalSteps: 80, lrMin: 0.01 }),
    swaLr({ swaLr: 0.02, annealSteps: 7, annealStrategy: "linear", startLr: 0.1 }),
    fge({ cycleLength: 6, lr1: 0.05, lr2: 0.001 }),
    sequence([
      { schedule: cosineAnnealing({ lrMax: 0.1, totalSteps: 40, cycles: 4 }), steps: 40 },
      { schedule: warmup({ steps: 5 })(fge({ cycleLength: 8, lr1: 0.05, lr2: 0.01 })) },
    ]),
  ];
  // Every name in the table, so that a new schedule cannot miss this test.
  assert.deepEqual(
    new Set(schedules.flatMap((s) => specNames(s.spec))),
    new Set(Object.keys(SCHEDULES)),
  );
  for (const s of schedules) {
    const copy = scheduleFromSpec(JSON.parse(JSON.stringify(s.spec)));
    assert.deepEqual(copy.spec, s.spec);
    assert.deepEqual(lrs(copy, 200), lrs(s, 200));
    assert.deepEqual(copy.cycleEnds?.(123), s.cycleEnds?.(123));
  }
  assert.throws(
    () => scheduleFromSpec({ name: "step", options: {} } as never),
    /name must name a schedule/,
  );
  assert.ok(Object.isFrozen(schedules[0].spec.options));
});

Deno.test("a bad step throws a ConfigError instead of returning NaN", () => {
  const schedules = [
    cosineAnnealing({ lrMax: 0.1, totalSteps: 10, cycles: 2 }),
    warmRestarts({ cycleLength: 3, lrMax: 0.1 }),
    cyclical({ baseLr: 0, maxLr: 0.1, stepSizeUp: 3 }),
    oneCycle({ maxLr: 0.1, totalSteps: 10 }),
    constant(0.1),
    warmup({ steps: 2 })(constant(0.1)),
    perEpoch(2)(constant(0.1)),
    multiStep({ lr: 0.1, milestones: [2] }),
    exponentialDecay({ lr: 0.1, gamma: 0.9 }),
    cosineDecay({ lrMax: 0.1, totalSteps: 5 }),
    swaLr({ swaLr: 0.01, annealSteps: 2, startLr: 0.1 }),
    fge({ cycleLength: 4, lr1: 0.1, lr2: 0.01 }),
    sequence([{ schedule: constant(0.1), steps: 2 }, { schedule: constant(0.2) }]),
  ];
  for (const s of schedules) {
    for (const bad of [-1, 1.5, Number.NaN, Infinity, -Infinity, "3" as unknown as number]) {
      assert.throws(
        () => s(bad),
        (e) => e instanceof ConfigError && /step must be a non-negative integer/.test(e.message),
      );
    }
    if (s.cycleEnds) {
      assert.throws(() => s.cycleEnds!(2.5), ConfigError);
      assert.throws(() => s.cycleEndsIn!(5, 2), /to must not be below from/);
      assert.throws(() => s.cycleEndsIn!(-1, Number.NaN), /from must.*; to must/);
    }
  }
});

function fields(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues.map((i) => i.field);
  }
  assert.fail("did not throw");
}

Deno.test("constructors reject every bad field at once, naming each and its value", () => {
  assert.deepEqual(fields(() => cosineAnnealing({ lrMax: -1, totalSteps: 10, cycles: 20 })), [
    "lrMax",
    "cycles",
  ]);
  assert.deepEqual(
    fields(() => cosineAnnealing({ lrMax: 0.1, totalSteps: 0.5, cycles: 0, lrMin: 0.2 })),
    ["totalSteps", "cycles", "lrMin"],
  );
  assert.deepEqual(
    fields(() =>
      warmRestarts({
        cycleLength: 0,
        cycleLengthMultiplier: 0.9,
        lrMax: Infinity,
        lrMin: -1,
        lrMultiplier: 0,
      })
    ),
    ["cycleLength", "cycleLengthMultiplier", "lrMax", "lrMin", "lrMultiplier"],
  );
  assert.deepEqual(
    fields(() =>
      cyclical({
        baseLr: -0.1,
        maxLr: Number.NaN,
        stepSizeUp: 1.5,
        stepSizeDown: 0,
        mode: "sine" as never,
        gamma: 1.1,
      })
    ),
    ["baseLr", "maxLr", "stepSizeUp", "stepSizeDown", "mode", "gamma"],
  );
  assert.deepEqual(
    fields(() =>
      oneCycle({
        maxLr: 0,
        totalSteps: -3,
        pctStart: -0.1,
        anneal: "exp" as never,
        divFactor: 0.5,
        finalDivFactor: Number.NaN,
      })
    ),
    ["maxLr", "totalSteps", "pctStart", "anneal", "divFactor", "finalDivFactor"],
  );
  assert.deepEqual(fields(() => constant(-1)), ["lr"]);
  assert.deepEqual(fields(() => constant({ lr: 1, rate: 2 } as never)), ["rate"]);
  assert.deepEqual(fields(() => warmup({ steps: 1.5 })), ["steps"]);
  assert.deepEqual(fields(() => warmup({ steps: 1 })("x" as never)), ["schedule"]);
  assert.deepEqual(fields(() => warmup({ steps: 1 })((() => 1) as never)), ["schedule"]);
  assert.deepEqual(fields(() => perEpoch(0)), ["stepsPerEpoch"]);
  assert.deepEqual(fields(() => perEpoch(2)(null as never)), ["schedule"]);
  assert.deepEqual(
    fields(() => multiStep({ lr: 0, milestones: [3, 3], gamma: -1, extra: 1 } as never)),
    ["lr", "milestones[1]", "gamma", "extra"],
  );
  assert.deepEqual(fields(() => multiStep({ lr: 0.1, milestones: "3" as never })), ["milestones"]);
  assert.deepEqual(fields(() => exponentialDecay({ lr: 0.1, gamma: 0 })), ["gamma"]);
  assert.deepEqual(
    fields(() => cosineDecay({ lrMax: 0.1, totalSteps: 10, lrMin: 0.2 })),
    ["lrMin"],
  );
  assert.deepEqual(
    fields(() =>
      swaLr({
        swaLr: -1,
        annealSteps: 1.5,
        annealStrategy: "exp" as never,
        startLr: "0.1" as never,
      })
    ),
    ["swaLr", "annealSteps", "annealStrategy", "startLr"],
  );
  assert.deepEqual(fields(() => fge({ cycleLength: 0, lr1: 0, lr2: Number.NaN })), [
    "cycleLength",
    "lr1",
    "lr2",
  ]);
  assert.deepEqual(
    fields(() =>
      sequence([
        { schedule: constant(1) },
        { schedule: "x" as never, steps: 0 },
        { schedule: constant(1), steps: 3 },
      ])
    ),
    ["phases[0].steps", "phases[1].schedule", "phases[1].steps", "phases[2].steps"],
  );
  assert.deepEqual(fields(() => sequence([])), ["phases"]);
  // A typo is reported rather than silently replaced by a default.
  assert.deepEqual(
    fields(() => cosineAnnealing({ lrMax: 0.1, totalSteps: 10, cycle: 2 } as never)),
    ["cycles", "cycle"],
  );
  assert.deepEqual(fields(() => oneCycle(null as never)), ["options"]);
  assert.throws(
    () => cosineAnnealing({ lrMax: 0.1, totalSteps: 10, cycles: 2, lrMin: 0.5 }),
    { message: "Cannot build cosineAnnealing: lrMin must not exceed lrMax (0.1): got 0.5" },
  );
});

// ---------------------------------------------------------------------------------------------
// Baselines, SWA, FGE, sequences

Deno.test("cosineDecay holds lrMin after totalSteps, where PyTorch would rise again", () => {
  const schedule = cosineDecay({ lrMax: 0.05, totalSteps: 37, lrMin: 0.001 });
  for (const t of [37, 38, 74, 1e9]) assert.equal(schedule(t), 0.001);
  assert.ok(schedule(36) > 0.001);
});

Deno.test("fge follows eq. 2 of Garipov et al. and the authors' code one iteration later", () => {
  const c = 6;
  const schedule = fge({ cycleLength: c, lr1: 0.05, lr2: 0.0005 });
  // The authors' per-iteration line (dnn-mode-connectivity, utils.cyclic_learning_rate) uses
  // t = (i mod c) / c for the 0-based iteration i, rewritten here from its definition.
  const authors = (i: number): number => {
    const t = (i % c) / c;
    return t < 0.5
      ? 0.05 * (1 - 2 * t) + 0.0005 * 2 * t
      : 0.05 * (2 * t - 1) + 0.0005 * (2 - 2 * t);
  };
  for (let step = 0; step < 40; step++) assertClose(schedule(step), authors(step + 1), `${step}`);
  // The authors collect a member after epoch e with (e % cycle + 1) == cycle / 2: iteration c/2 - 1.
  assert.deepEqual(schedule.cycleEnds?.(3 * c), [2, 8, 14]);
  assert.equal(schedule(c - 1), 0.05);
  assert.deepEqual(lrs(schedule, c).map((x) => Math.round(x * 1e6) / 1e6), [
    0.0335,
    0.017,
    0.0005,
    0.017,
    0.0335,
    0.05,
  ]);
});

Deno.test("sequence restarts each phase at its own step 0 and keeps only whole cycles of each", () => {
  const first = cosineAnnealing({ lrMax: 0.1, totalSteps: 30, cycles: 3 });
  const second = warmRestarts({ cycleLength: 4, lrMax: 0.05 });
  // The first phase is cut after 25 steps: its third cycle (20-29) has no end.
  const schedule = sequence([{ schedule: first, steps: 25 }, { schedule: second }]);
  for (let t = 0; t < 25; t++) assert.equal(schedule(t), first(t));
  for (let t = 25; t < 60; t++) assert.equal(schedule(t), second(t - 25));
  assert.deepEqual(schedule.cycleEnds?.(40), [9, 19, 28, 32, 36]);
  assert.deepEqual([...schedule.cycleEndsIn!(20, 33)], [28, 32]);
  const none = sequence([{ schedule: constant(1), steps: 3 }, {
    schedule: multiStep({ lr: 1, milestones: [] }),
  }]);
  assert.equal(none.cycleEnds, undefined);
});

Deno.test("swaLr with annealSteps 0 is the SWA lr from step 0, as in PyTorch", () => {
  const schedule = swaLr({ swaLr: 0.02, annealSteps: 0, startLr: 0.1 });
  assert.deepEqual(lrs(schedule, 3), [0.02, 0.02, 0.02]);
});

Deno.test("partialCycleSteps and completeCycles report what a run leaves without a snapshot", () => {
  // The issue's example: --epochs 100 --cycles 3 gives 3 snapshots and one epoch of a fourth cycle.
  const lr = cosineAnnealing({ lrMax: 0.1, totalSteps: 100, cycles: 3 });
  assert.deepEqual(lr.cycleEnds?.(100), [32, 65, 98]);
  assert.equal(completeCycles(lr, 100), 3);
  assert.equal(partialCycleSteps(lr, 100), 1);
  assert.equal(partialCycleSteps(lr, 98), 32);
  assert.equal(partialCycleSteps(lr, 0), 0);
  const sparse = warmRestarts({ cycleLength: 1, cycleLengthMultiplier: 1e6, lrMax: 1 });
  // Cycles start at 0, 1, 1 + 1e6 and 1 + 1e6 + 1e12; the next starts past 2^53.
  assert.equal(partialCycleSteps(sparse, 2 ** 53 - 1), 2 ** 53 - 2 - (1e6 + 1e12));
  assert.throws(() => completeCycles(constant(1), 5), ConfigError);
});

// ---------------------------------------------------------------------------------------------
// Hardening: bounded work, finite rates, no silent accepts

Deno.test("huge multipliers, cycle counts and step counts do bounded work", () => {
  assert.deepEqual(
    fields(() => warmRestarts({ cycleLength: 10, cycleLengthMultiplier: 1e308, lrMax: 0.1 })),
    ["cycleLengthMultiplier"],
  );
  assert.throws(
    () => warmRestarts({ cycleLength: 10, cycleLengthMultiplier: 1e308, lrMax: 0.1 }),
    /within 2\^53 steps/,
  );
  // The largest accepted multiplier: its second cycle ends just inside 2^53 steps.
  const wide = warmRestarts({ cycleLength: 1, cycleLengthMultiplier: 2 ** 52, lrMax: 0.1 });
  assert.deepEqual(wide.cycleEnds?.(Number.MAX_SAFE_INTEGER), [0, 2 ** 52]);
  for (const t of [0, 1, 2 ** 51, 2 ** 52, 2 ** 52 + 1, Number.MAX_SAFE_INTEGER]) {
    const x = wide(t);
    assert.ok(Number.isFinite(x) && x >= 0 && x <= 0.1, `${t}: ${x}`);
  }
  const slow = warmRestarts({ cycleLength: 3, cycleLengthMultiplier: 1 + 1e-12, lrMax: 0.1 });
  assert.ok(Number.isFinite(slow(Number.MAX_SAFE_INTEGER)));
  // 2e7 cycles: listing them all is refused with the limit and the way out; streaming works.
  const many = cosineAnnealing({ lrMax: 0.1, totalSteps: 2e7, cycles: 2e7 });
  assert.throws(
    () => many.cycleEnds!(2e7),
    (e) =>
      e instanceof ConfigError && e.message.includes(`at most ${MAX_CYCLE_ENDS} cycle ends`) &&
      e.message.includes("cycleEndsIn"),
  );
  const window: number[] = [];
  for (const end of many.cycleEndsIn!(0, 2e7)) if (window.push(end) === 3) break;
  assert.deepEqual(window, [0, 1, 2]);
  assert.deepEqual([...many.cycleEndsIn!(1e15, 1e15 + 3)], [1e15, 1e15 + 1, 1e15 + 2]);
  // 1e9 steps of 10 cycles: 10 ends, computed, not searched.
  const long = pipe(cosineAnnealing({ lrMax: 0.1, totalSteps: 1e9, cycles: 10 }), perEpoch(1000));
  assert.equal(long.cycleEnds!(1e12).length, 10);
  assert.equal(partialCycleSteps(long, 1e12 + 5), 5);
});

Deno.test("a rate that overflows float32 is refused, naming the option", () => {
  const big = 3.5e38;
  assert.deepEqual(fields(() => cosineAnnealing({ lrMax: big, totalSteps: 10, cycles: 1 })), [
    "lrMax",
  ]);
  assert.deepEqual(fields(() => cyclical({ baseLr: 0, maxLr: big, stepSizeUp: 2 })), ["maxLr"]);
  assert.deepEqual(fields(() => warmup({ steps: 3, startLr: big })), ["startLr"]);
  assert.deepEqual(fields(() => constant(big)), ["lr"]);
  assert.deepEqual(fields(() => fge({ cycleLength: 2, lr1: big, lr2: 0 })), ["lr1"]);
  assert.deepEqual(fields(() => multiStep({ lr: 1e38, milestones: [1, 2], gamma: 2 })), ["gamma"]);
  assert.deepEqual(fields(() => warmRestarts({ cycleLength: 2, lrMax: 1, lrMultiplier: 1.5 })), [
    "lrMultiplier",
  ]);
  assert.throws(() => constant(big), /the largest float32/);
  // The largest float32 itself is accepted and every rate stays finite.
  const top = 3.4028234663852886e38;
  for (
    const s of [
      cosineAnnealing({ lrMax: top, totalSteps: 10, cycles: 2, lrMin: top / 3 }),
      warmRestarts({ cycleLength: 3, lrMax: top, lrMin: top / 2, lrMultiplier: 0.5 }),
      cyclical({ baseLr: top / 2, maxLr: top, stepSizeUp: 3 }),
      oneCycle({ maxLr: top, totalSteps: 20 }),
      pipe(constant(top), warmup({ steps: 4, startLr: top / 7 })),
      fge({ cycleLength: 4, lr1: top, lr2: top / 9 }),
      swaLr({ swaLr: top, annealSteps: 5, startLr: top / 3 }),
    ]
  ) {
    for (const x of lrs(s, 40)) assert.ok(Number.isFinite(x) && x >= 0 && x <= top, `${x}`);
  }
});

Deno.test("scheduleFromSpec refuses unknown keys and names every bad field, nested ones too", () => {
  assert.throws(
    () => scheduleFromSpec({ name: "step", options: {} } as never),
    /name must name a schedule/,
  );
  assert.deepEqual(
    fields(() => scheduleFromSpec({ name: "constant", options: { lr: 1 }, extra: 1 } as never)),
    ["extra"],
  );
  assert.deepEqual(
    fields(() => scheduleFromSpec({ name: "constant", options: { lr: 1, typo: 1 } })),
    ["options.typo"],
  );
  assert.deepEqual(
    fields(() =>
      scheduleFromSpec({
        name: "warmup",
        options: {
          schedule: {
            name: "perEpoch",
            options: {
              schedule: {
                name: "cosineAnnealing",
                options: { lrMax: -1, totalSteps: 10, cycles: 2 },
              },
              stepsPerEpoch: 0,
            },
          },
          steps: -1,
          startLr: 0,
        },
      })
    ),
    [
      "options.schedule.options.schedule.options.lrMax",
      "options.schedule.options.stepsPerEpoch",
      "options.steps",
    ],
  );
  assert.deepEqual(
    fields(() =>
      scheduleFromSpec({
        name: "sequence",
        options: {
          phases: [{ schedule: { name: "nope", options: {} }, steps: 2 }, {
            schedule: { name: "constant", options: { lr: 1 } },
            steps: 2,
          }],
        },
      })
    ),
    ["options.phases[0].schedule.name", "options.phases[1].steps"],
  );
  assert.deepEqual(fields(() => scheduleFromSpec(null as never)), ["spec"]);
  assert.deepEqual(fields(() => scheduleFromSpec({ name: "toString", options: {} } as never)), [
    "name",
  ]);
  assert.deepEqual(fields(() => scheduleFromSpec({ name: "constant", options: "1" } as never)), [
    "options.options",
  ]);
  // Specs nested without bound are refused at a fixed depth, not by the stack.
  let deep: unknown = { name: "constant", options: { lr: 1 } };
  for (let i = 0; i < 5000; i++) {
    deep = { name: "perEpoch", options: { schedule: deep, stepsPerEpoch: 1 } };
  }
  assert.throws(() => scheduleFromSpec(deep as never), /must nest at most 32 schedules deep/);
});

Deno.test("the schedule table must name every schedule (type-level)", () => {
  const { fge: _dropped, ...incomplete } = SCHEDULES;
  // @ts-expect-error: a table without "fge" does not satisfy Record<ScheduleSpec["name"], ...>
  const table = incomplete satisfies Record<ScheduleSpec["name"], ScheduleBuilder>;
  assert.equal(Object.keys(table).length, Object.keys(SCHEDULES).length - 1);
});

// ---------------------------------------------------------------------------------------------
// Properties

const rate = fc.double({ min: 1e-6, max: 10, noNaN: true });
const share = fc.double({ min: 0, max: 1, noNaN: true });

const cosineArb = fc.record({
  lrMax: rate,
  floor: share,
  totalSteps: fc.integer({ min: 1, max: 300 }),
  cyclesSeed: fc.nat(),
}).map(({ lrMax, floor, totalSteps, cyclesSeed }) =>
  cosineAnnealing({
    lrMax,
    lrMin: lrMax * floor,
    totalSteps,
    cycles: 1 + (cyclesSeed % totalSteps),
  })
);

const warmArb = fc.record({
  cycleLength: fc.integer({ min: 1, max: 30 }),
  cycleLengthMultiplier: fc.oneof(
    fc.constant(1),
    fc.integer({ min: 2, max: 3 }),
    fc.double({ min: 1, max: 2.5, noNaN: true }),
  ),
  lrMax: rate,
  floor: share,
  lrMultiplier: fc.double({ min: 0.1, max: 1, noNaN: true }),
}).map(({ floor, lrMax, ...rest }) => warmRestarts({ ...rest, lrMax, lrMin: lrMax * floor }));

const cyclicalArb = fc.record({
  baseLr: fc.double({ min: 0, max: 1, noNaN: true }),
  extra: rate,
  stepSizeUp: fc.integer({ min: 1, max: 30 }),
  stepSizeDown: fc.integer({ min: 1, max: 30 }),
  mode: fc.constantFrom("triangular" as const, "triangular2" as const, "exp_range" as const),
  gamma: fc.double({ min: 0.9, max: 1, noNaN: true }),
}).map(({ baseLr, extra, ...rest }) => cyclical({ ...rest, baseLr, maxLr: baseLr + extra }));

const oneCycleArb = fc.record({
  maxLr: rate,
  totalSteps: fc.integer({ min: 1, max: 400 }),
  pctStart: share,
  anneal: fc.constantFrom("cos" as const, "linear" as const),
  divFactor: fc.double({ min: 1, max: 100, noNaN: true }),
  finalDivFactor: fc.double({ min: 1, max: 1e5, noNaN: true }),
}).map((o) => oneCycle(o));

const fgeArb = fc.record({
  half: fc.integer({ min: 1, max: 30 }),
  lr1: rate,
  floor: share,
}).map(({ half, lr1, floor }) => fge({ cycleLength: 2 * half, lr1, lr2: lr1 * floor }));

const nSteps = fc.integer({ min: 1, max: 700 });

function within(x: number, lo: number, hi: number): boolean {
  const slack = 1e-12 * Math.max(Math.abs(lo), Math.abs(hi));
  return Number.isFinite(x) && x >= lo - slack && x <= hi + slack;
}

Deno.test("property: every schedule stays within its bounds", () => {
  const bounded = (arb: fc.Arbitrary<Schedule>, bounds: (o: Record<string, number>) => number[]) =>
    fc.assert(
      fc.property(arb, nSteps, (s, n) => {
        const [lo, hi] = bounds(s.spec.options as Record<string, number>);
        for (const x of lrs(s, n)) assert.ok(within(x, lo, hi), `${x} not in [${lo}, ${hi}]`);
      }),
      FC,
    );
  bounded(cosineArb, (o) => [o.lrMin, o.lrMax]);
  bounded(warmArb, (o) => [o.lrMin, o.lrMax]);
  bounded(cyclicalArb, (o) => [o.baseLr, o.maxLr]);
  bounded(oneCycleArb, (o) => [o.maxLr / o.divFactor / o.finalDivFactor, o.maxLr]);
  bounded(fgeArb, (o) => [o.lr2, o.lr1]);
  bounded(
    fc.record({ lr: rate, gamma: fc.double({ min: 1e-3, max: 1, noNaN: true }) }).map((o) =>
      exponentialDecay(o)
    ),
    () => [0, 10],
  );
  bounded(
    fc.record({ lrMax: rate, floor: share, totalSteps: fc.integer({ min: 1, max: 500 }) }).map((
      { lrMax, floor, totalSteps },
    ) => cosineDecay({ lrMax, totalSteps, lrMin: lrMax * floor })),
    (o) => [o.lrMin, o.lrMax],
  );
  bounded(
    fc.record({
      swaLr: rate,
      startLr: rate,
      annealSteps: fc.nat(50),
      annealStrategy: fc.constantFrom("cos" as const, "linear" as const),
    }).map((o) => swaLr(o)),
    (o) => [Math.min(o.swaLr, o.startLr), Math.max(o.swaLr, o.startLr)],
  );
  bounded(
    fc.record({
      lr: rate,
      gamma: fc.double({ min: 1e-3, max: 1, noNaN: true }),
      milestones: fc.uniqueArray(fc.nat(600)).map((m) => m.sort((a, b) => a - b)),
    }).map((o) => multiStep(o)),
    () => [0, 10],
  );
  // Warmups start anywhere in [0, 10]: the ramp stays between its ends.
  bounded(
    fc.tuple(
      cosineArb,
      fc.integer({ min: 1, max: 50 }),
      fc.double({ min: 0, max: 10, noNaN: true }),
    )
      .map(([s, steps, startLr]) => warmup({ steps, startLr })(s)),
    (o) => {
      const inner = (o as unknown as { schedule: ScheduleSpec }).schedule.options as Record<
        string,
        number
      >;
      return [Math.min(inner.lrMin, o.startLr), Math.max(inner.lrMax, o.startLr)];
    },
  );
});

Deno.test("property: cycle ends are ascending, only whole cycles, at each cycle's minimum", () => {
  const annealing = fc.oneof(
    cosineArb,
    warmArb,
    fc.tuple(cosineArb, fc.integer({ min: 1, max: 5 })).map(([s, k]) => perEpoch(k)(s)),
    fc.tuple(warmArb, fc.integer({ min: 1, max: 5 })).map(([s, k]) => perEpoch(k)(s)),
  );
  // A warmup belongs to the first cycle (it rises): its ends are the inner ones, moved.
  fc.assert(
    fc.property(warmArb, fc.integer({ min: 1, max: 20 }), nSteps, (inner, k, n) => {
      const s = warmup({ steps: k })(inner);
      assertEndsShape(s, n);
      assert.deepEqual(s.cycleEnds!(n), inner.cycleEnds!(Math.max(0, n - k)).map((e) => e + k));
    }),
    FC,
  );
  fc.assert(
    fc.property(annealing, nSteps, (s, n) => {
      assertEndsShape(s, n);
      const ends = s.cycleEnds!(n);
      const values = lrs(s, n);
      assertEndsAreMinima(values, ends);
      assertRisesOnlyAfterEnds(values, ends);
    }),
    FC,
  );
  fc.assert(
    fc.property(cyclicalArb, nSteps, (s, n) => {
      assertEndsShape(s, n);
      const ends = s.cycleEnds!(n);
      const { baseLr, stepSizeUp, stepSizeDown } = s.spec.options as Record<string, number>;
      const period = stepSizeUp + stepSizeDown;
      assert.deepEqual(ends, ends.filter((e) => e % period === 0));
      assert.equal(ends.length, Math.floor((n - 1) / period));
      assertEndsAreMinima(lrs(s, n), ends);
      for (const e of ends) assertClose(s(e), baseLr, `end ${e}`);
    }),
    FC,
  );
  fc.assert(
    fc.property(oneCycleArb, nSteps, (s, n) => {
      assertEndsShape(s, n);
      const total = (s.spec.options as Record<string, number>).totalSteps;
      assert.deepEqual(s.cycleEnds!(n), n >= total ? [total - 1] : []);
    }),
    FC,
  );
  fc.assert(
    fc.property(fgeArb, nSteps, (s, n) => {
      assertEndsShape(s, n);
      const { lr2 } = s.spec.options as Record<string, number>;
      const values = lrs(s, n);
      // The ends are exactly the steps at lr2 where the rate stops falling.
      const expected = values.flatMap((
        x,
        t,
      ) => (x === lr2 && (t === 0 || values[t - 1] > x) ? [t] : []));
      const { lr1 } = s.spec.options as Record<string, number>;
      fc.pre(lr1 > lr2 * (1 + 1e-6)); // a real amplitude: the neighbours of lr2 are above it
      assert.deepEqual(s.cycleEnds!(n), expected);
    }),
    FC,
  );
});

Deno.test("property: a restart follows every cycle end of cosineAnnealing with a real amplitude", () => {
  fc.assert(
    fc.property(cosineArb, nSteps, (s, n) => {
      const { lrMax, lrMin, totalSteps, cycles } = s.spec.options as Record<string, number>;
      fc.pre(lrMax > lrMin * (1 + 1e-6) && Math.floor(totalSteps / cycles) >= 2);
      const values = lrs(s, n + 1);
      for (const end of s.cycleEnds!(n)) assert.ok(values[end + 1] > values[end]);
    }),
    FC,
  );
});

Deno.test("property: cosineAnnealing and triangular cyclical are periodic", () => {
  fc.assert(
    fc.property(cosineArb, fc.nat(2000), (s, t) => {
      const { totalSteps, cycles } = s.spec.options as Record<string, number>;
      const period = Math.floor(totalSteps / cycles);
      assert.equal(s(t + period), s(t));
      assert.equal(s(t + 7 * period), s(t));
    }),
    FC,
  );
  fc.assert(
    fc.property(cyclicalArb, fc.nat(2000), (s, t) => {
      const { mode, stepSizeUp, stepSizeDown, maxLr } = s.spec.options as Record<string, never>;
      fc.pre(mode === "triangular");
      const period = (stepSizeUp as number) + (stepSizeDown as number);
      assert.ok(Math.abs(s(t + period) - s(t)) <= 1e-12 * maxLr);
    }),
    FC,
  );
});

Deno.test("property: extreme accepted options give finite, non-negative rates", () => {
  const extreme = fc.oneof(
    fc.double({ min: 0, max: 3.4028234663852886e38, noNaN: true }),
    fc.constantFrom(0, 5e-324, 1e-300, 3.4028234663852886e38),
  );
  const positive = extreme.filter((x) => x > 0);
  const steps = fc.constantFrom(0, 1, 2, 1000, 2 ** 31, 2 ** 52, Number.MAX_SAFE_INTEGER);
  const arb = fc.oneof(
    fc.tuple(
      positive,
      extreme,
      fc.integer({ min: 1, max: 2 ** 40 }),
      fc.double({ min: 1, max: 2 ** 12, noNaN: true }),
      fc.double({ min: 1e-300, max: 1, noNaN: true }),
    )
      .map(([a, b, cycleLength, cycleLengthMultiplier, lrMultiplier]) =>
        warmRestarts({
          cycleLength,
          cycleLengthMultiplier,
          lrMax: Math.max(a, b),
          lrMin: Math.min(a, b),
          lrMultiplier,
        })
      ),
    fc.tuple(positive, extreme, fc.integer({ min: 1, max: 2 ** 40 })).map(([a, b, totalSteps]) =>
      cosineAnnealing({ lrMax: Math.max(a, b), lrMin: Math.min(a, b), totalSteps, cycles: 1 })
    ),
    fc.tuple(
      positive,
      extreme,
      fc.integer({ min: 1, max: 2 ** 30 }),
      fc.double({ min: 1e-300, max: 1, noNaN: true }),
    )
      .map(([a, b, stepSizeUp, gamma]) =>
        cyclical({
          baseLr: Math.min(a, b),
          maxLr: Math.max(a, b),
          stepSizeUp,
          mode: "exp_range",
          gamma,
        })
      ),
    fc.tuple(positive, extreme, fc.integer({ min: 1, max: 2 ** 20 }))
      .map(([a, startLr, steps]) => warmup({ steps, startLr })(constant(a))),
    fc.tuple(positive, extreme, fc.integer({ min: 1, max: 2 ** 30 }))
      .map(([a, b, half]) =>
        fge({ cycleLength: 2 * half, lr1: Math.max(a, b), lr2: Math.min(a, b) })
      ),
    fc.tuple(extreme, extreme, fc.nat(2 ** 30)).map(([a, b, annealSteps]) =>
      swaLr({ swaLr: a, startLr: b, annealSteps })
    ),
  );
  fc.assert(
    fc.property(arb, steps, (s, t) => {
      const x = s(t);
      assert.ok(
        Number.isFinite(x) && x >= 0 && x <= 3.4028234663852886e38,
        `${JSON.stringify(s.spec)} at ${t}: ${x}`,
      );
    }),
    { ...FC, numRuns: 500 },
  );
});

Deno.test("property: validation never throws, and constructors throw only ConfigError", () => {
  const anyOptions = fc.oneof(
    fc.anything(),
    fc.record({
      lrMax: fc.anything(),
      totalSteps: fc.anything(),
      cycles: fc.anything(),
      lrMin: fc.anything(),
      cycleLength: fc.anything(),
      baseLr: fc.anything(),
      maxLr: fc.anything(),
      stepSizeUp: fc.anything(),
      mode: fc.anything(),
      steps: fc.anything(),
      lr: fc.anything(),
      milestones: fc.anything(),
      gamma: fc.anything(),
      swaLr: fc.anything(),
      annealSteps: fc.anything(),
      startLr: fc.anything(),
      lr1: fc.anything(),
      lr2: fc.anything(),
      schedule: fc.anything(),
      phases: fc.anything(),
    }, { requiredKeys: [] }),
  );
  const anySpec = fc.oneof(
    fc.anything(),
    fc.record({ name: fc.constantFrom(...Object.keys(SCHEDULES), "x"), options: anyOptions }),
    fc.record({
      name: fc.constantFrom("warmup", "perEpoch"),
      options: fc.record({
        schedule: fc.record({
          name: fc.constantFrom(...Object.keys(SCHEDULES)),
          options: anyOptions,
        }),
        steps: fc.anything(),
        stepsPerEpoch: fc.anything(),
      }, { requiredKeys: ["schedule"] }),
    }),
    fc.record({
      name: fc.constant("sequence"),
      options: fc.record({
        phases: fc.array(
          fc.record({
            schedule: fc.record({
              name: fc.constantFrom(...Object.keys(SCHEDULES)),
              options: anyOptions,
            }),
            steps: fc.anything(),
          }, { requiredKeys: [] }),
          { maxLength: 4 },
        ),
      }),
    }),
  );
  const validators: ReadonlyArray<(o: never) => unknown> = [
    validateCosineAnnealing,
    validateWarmRestarts,
    validateCyclical,
    validateOneCycle,
    validateConstant,
    validateWarmup,
    validatePerEpoch,
    validateMultiStep,
    validateExponentialDecay,
    validateCosineDecay,
    validateSwaLr,
    validateFge,
    validateSequence,
  ];
  const constructors: ReadonlyArray<(o: never) => unknown> = [
    cosineAnnealing,
    warmRestarts,
    cyclical,
    oneCycle,
    constant,
    (o) => warmup(o),
    (o) => warmup({ steps: 2 })(o),
    (o) => perEpoch(o),
    (o) => perEpoch(3)(o),
    multiStep,
    exponentialDecay,
    cosineDecay,
    swaLr,
    fge,
    sequence,
    (o) => partialCycleSteps(o, 10),
    (o) => cosineAnnealing({ lrMax: 1, totalSteps: 10, cycles: 2 }).cycleEndsIn!(o, o),
  ];
  fc.assert(
    fc.property(anyOptions, anySpec, (o, spec) => {
      for (const v of validators) {
        const result = v(o as never) as { _tag: string };
        assert.ok(result._tag === "Left" || result._tag === "Right");
      }
      for (const c of [...constructors, (_: never) => scheduleFromSpec(spec as never)]) {
        try {
          const s = c(o as never);
          if (typeof s === "function") assert.ok(Number.isFinite((s as Schedule)(3)));
        } catch (e) {
          assert.ok(e instanceof ConfigError, String(e));
        }
      }
    }),
    { ...FC, numRuns: 400 },
  );
});

Deno.test("partialCycleSteps stays quick over a dense phase followed by one without cycles", () => {
  const dense = sequence([
    { schedule: warmRestarts({ cycleLength: 1, lrMax: 0.1 }), steps: 2 ** 52 },
    { schedule: constant(0.01) },
  ]);
  assert.equal(
    partialCycleSteps(dense, Number.MAX_SAFE_INTEGER),
    Number.MAX_SAFE_INTEGER - 2 ** 52,
  );
  assert.equal(partialCycleSteps(dense, 10), 0);
});
