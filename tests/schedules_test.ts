import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ConfigError,
  constant,
  cosineAnnealing,
  cyclical,
  oneCycle,
  perEpoch,
  type Schedule,
  scheduleFromSpec,
  validateConstant,
  validateCosineAnnealing,
  validateCyclical,
  validateOneCycle,
  validatePerEpoch,
  validateWarmRestarts,
  validateWarmup,
  warmRestarts,
  warmup,
} from "@snapfold/snapfold";

interface FixtureCase {
  readonly kind: "warmRestarts" | "cyclical" | "oneCycle" | "cosineAnnealing";
  readonly options: Record<string, unknown>;
  readonly steps: number;
  readonly lr: ReadonlyArray<number>;
}

const fixtures: { readonly torch: string; readonly cases: ReadonlyArray<FixtureCase> } = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/schedules.json", import.meta.url)),
);

const FC = { seed: 20170401, numRuns: 150 } as const;

function build(kind: FixtureCase["kind"], options: Record<string, unknown>): Schedule {
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

function assertEndsShape(ends: ReadonlyArray<number>, n: number): void {
  assert.ok(ends.length >= 1);
  assert.equal(ends[ends.length - 1], n - 1);
  for (let i = 1; i < ends.length; i++) assert.ok(ends[i] > ends[i - 1], `ascending: ${ends}`);
  assert.ok(ends[0] >= 0);
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
  assert.deepEqual([...kinds].sort(), ["cosineAnnealing", "cyclical", "oneCycle", "warmRestarts"]);
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

Deno.test("warmRestarts ends its cycles where PyTorch restarts", () => {
  for (const c of fixtures.cases.filter((c) => c.kind === "warmRestarts")) {
    if (c.options.cycleLength === 1) continue; // a constant lr: every step is a cycle, nothing rises
    const expected: number[] = [];
    for (let t = 0; t + 1 < c.steps; t++) if (c.lr[t + 1] > c.lr[t]) expected.push(t);
    expected.push(c.steps - 1);
    assert.deepEqual(build(c.kind, c.options).cycleEnds?.(c.steps), expected);
  }
});

Deno.test("cyclical ends its cycles at PyTorch's minima", () => {
  for (const c of fixtures.cases.filter((c) => c.kind === "cyclical")) {
    const expected: number[] = [];
    for (let t = 1; t + 1 < c.steps; t++) {
      if (c.lr[t] < c.lr[t - 1] && c.lr[t] < c.lr[t + 1]) expected.push(t);
    }
    expected.push(c.steps - 1);
    const schedule = build(c.kind, c.options);
    assert.deepEqual(schedule.cycleEnds?.(c.steps), expected, JSON.stringify(c.options));
    for (const end of expected.slice(0, -1)) {
      assertClose(schedule(end), c.options.baseLr as number, "min");
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
  // Real boundaries 3, 7.5, 14.25, 24.375, 39.5625 round to 3, 8, 14, 24, 40.
  assert.deepEqual(schedule.cycleEnds?.(41), [2, 7, 13, 23, 39, 40]);
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
        for (const end of ends.slice(0, -1)) {
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
  // L = 3: cycles 0-2, 3-5, 6-8, and step 9 starts a short fourth cycle.
  assert.deepEqual(schedule.cycleEnds?.(10), [2, 5, 8, 9]);
  assert.deepEqual(schedule.cycleEnds?.(9), [2, 5, 8]);
  assert.deepEqual(schedule.cycleEnds?.(8), [2, 5, 7]);
  assert.deepEqual(schedule.cycleEnds?.(0), []);
  assertClose(schedule(4), 0.1 + 0.2 * (Math.cos(Math.PI / 3) + 1), "step 4");
  assert.equal(schedule(9), 0.5);
  assert.equal(schedule(3000), 0.5); // it keeps cycling past totalSteps
});

Deno.test("cyclical lists its minima as cycle ends and closes the last partial cycle", () => {
  const schedule = cyclical({ baseLr: 0.1, maxLr: 1, stepSizeUp: 2, stepSizeDown: 3 });
  assert.deepEqual(schedule.cycleEnds?.(16), [5, 10, 15]);
  assert.deepEqual(schedule.cycleEnds?.(13), [5, 10, 12]);
  assert.deepEqual(schedule.cycleEnds?.(1), [0]);
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
  assert.deepEqual(schedule.cycleEnds?.(40), [39]);
  assert.deepEqual(schedule.cycleEnds?.(120), [99, 119]);
  // A rise of zero steps (pctStart * totalSteps = 1) puts the peak at step 0.
  const instant = oneCycle({ maxLr: 0.2, totalSteps: 10, pctStart: 0.1 });
  assert.equal(instant(0), 0.2);
  assert.ok(instant(1) < 0.2);
});

Deno.test("constant has no cycle ends", () => {
  const schedule = constant(0.003);
  assert.deepEqual(lrs(schedule, 4), [0.003, 0.003, 0.003, 0.003]);
  assert.equal(schedule.cycleEnds, undefined);
  assert.deepEqual(schedule.spec, { name: "constant", options: { lr: 0.003 } });
});

Deno.test("warmup ramps linearly to the shifted schedule, and cycle ends follow", () => {
  const inner = cosineAnnealing({ lrMax: 0.2, totalSteps: 40, cycles: 4 });
  const schedule = warmup(inner, { steps: 5, startLr: 0.05 });
  assertClose(schedule(0), 0.05, "step 0");
  assertClose(schedule(2), 0.05 + 0.15 * 2 / 5, "step 2");
  for (let t = 5; t < 60; t++) assert.equal(schedule(t), inner(t - 5));
  assert.deepEqual(schedule.cycleEnds?.(45), [14, 24, 34, 44]);
  assert.deepEqual(schedule.cycleEnds?.(3), [2]);
  assert.deepEqual(schedule.cycleEnds?.(6), [5]);
  assert.equal(warmup(constant(1), { steps: 2 }).cycleEnds, undefined);
});

Deno.test("perEpoch holds the lr within each epoch and snapshots at the last step of ending epochs", () => {
  const inner = cosineAnnealing({ lrMax: 0.01, totalSteps: 500, cycles: 10 });
  const schedule = perEpoch(inner, 4); // the tutorial: 100 samples in batches of 32
  for (let t = 0; t < 2000; t++) assert.equal(schedule(t), inner(Math.floor(t / 4)));
  const expected = Array.from({ length: 10 }, (_, k) => 200 * (k + 1) - 1);
  assert.deepEqual(schedule.cycleEnds?.(2000), expected);
  // A partial last epoch: 1998 steps touch 500 epochs, the last one ends at step 1997.
  assert.deepEqual(schedule.cycleEnds?.(1998), [...expected.slice(0, -1), 1997]);
  assert.deepEqual(perEpoch(inner, 3).cycleEnds?.(151), [149, 150]);
  assert.equal(perEpoch(constant(1), 3).cycleEnds, undefined);
});

Deno.test("scheduleFromSpec rebuilds every kind from JSON", () => {
  const schedules = [
    cosineAnnealing({ lrMax: 0.1, totalSteps: 50, cycles: 5, lrMin: 0.001 }),
    warmRestarts({ cycleLength: 7, cycleLengthMultiplier: 1.7, lrMax: 0.1, lrMultiplier: 0.8 }),
    cyclical({ baseLr: 0.01, maxLr: 0.1, stepSizeUp: 5, mode: "exp_range", gamma: 0.99 }),
    oneCycle({ maxLr: 0.3, totalSteps: 77, anneal: "linear" }),
    constant(0.5),
    warmup(perEpoch(cosineAnnealing({ lrMax: 1, totalSteps: 9, cycles: 3 }), 4), { steps: 3 }),
  ];
  for (const s of schedules) {
    const copy = scheduleFromSpec(JSON.parse(JSON.stringify(s.spec)));
    assert.deepEqual(copy.spec, s.spec);
    assert.deepEqual(lrs(copy, 200), lrs(s, 200));
    assert.deepEqual(copy.cycleEnds?.(123), s.cycleEnds?.(123));
  }
  assert.throws(() => scheduleFromSpec({ name: "step", options: {} }), /name must name a schedule/);
  assert.ok(Object.isFrozen(schedules[0].spec.options));
});

Deno.test("a bad step throws a ConfigError instead of returning NaN", () => {
  const schedules = [
    cosineAnnealing({ lrMax: 0.1, totalSteps: 10, cycles: 2 }),
    warmRestarts({ cycleLength: 3, lrMax: 0.1 }),
    cyclical({ baseLr: 0, maxLr: 0.1, stepSizeUp: 3 }),
    oneCycle({ maxLr: 0.1, totalSteps: 10 }),
    constant(0.1),
    warmup(constant(0.1), { steps: 2 }),
    perEpoch(constant(0.1), 2),
  ];
  for (const s of schedules) {
    for (const bad of [-1, 1.5, Number.NaN, Infinity, -Infinity, "3" as unknown as number]) {
      assert.throws(
        () => s(bad),
        (e) => e instanceof ConfigError && /step must be a non-negative integer/.test(e.message),
      );
    }
    if (s.cycleEnds) assert.throws(() => s.cycleEnds!(2.5), ConfigError);
  }
});

Deno.test("constructors reject every bad field at once, naming each and its value", () => {
  const fields = (f: () => unknown): string[] => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return e.issues.map((i) => i.field);
    }
    assert.fail("did not throw");
  };
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
  assert.deepEqual(fields(() => warmup("x" as never, { steps: 1.5 })), ["schedule", "steps"]);
  assert.deepEqual(fields(() => perEpoch(constant(1), 0)), ["stepsPerEpoch"]);
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

const nSteps = fc.integer({ min: 1, max: 700 });

function within(x: number, lo: number, hi: number): boolean {
  const slack = 1e-12 * Math.max(Math.abs(lo), Math.abs(hi));
  return x >= lo - slack && x <= hi + slack;
}

Deno.test("property: every schedule stays within its bounds", () => {
  fc.assert(
    fc.property(cosineArb, nSteps, (s, n) => {
      const { lrMax, lrMin } = s.spec.options as { lrMax: number; lrMin: number };
      for (const x of lrs(s, n)) assert.ok(within(x, lrMin, lrMax), `${x}`);
    }),
    FC,
  );
  fc.assert(
    fc.property(warmArb, nSteps, (s, n) => {
      const { lrMax, lrMin } = s.spec.options as { lrMax: number; lrMin: number };
      for (const x of lrs(s, n)) assert.ok(within(x, lrMin, lrMax), `${x}`);
    }),
    FC,
  );
  fc.assert(
    fc.property(cyclicalArb, nSteps, (s, n) => {
      const { baseLr, maxLr } = s.spec.options as { baseLr: number; maxLr: number };
      for (const x of lrs(s, n)) assert.ok(within(x, baseLr, maxLr), `${x}`);
    }),
    FC,
  );
  fc.assert(
    fc.property(oneCycleArb, nSteps, (s, n) => {
      const { maxLr, divFactor, finalDivFactor } = s.spec.options as Record<string, number>;
      for (const x of lrs(s, n)) {
        assert.ok(within(x, maxLr / divFactor / finalDivFactor, maxLr), `${x}`);
      }
    }),
    FC,
  );
});

Deno.test("property: cycle ends are ascending, close the run, and sit at each cycle's minimum", () => {
  const annealing = fc.oneof(
    cosineArb,
    warmArb,
    fc.tuple(cosineArb, fc.integer({ min: 1, max: 5 })).map(([s, k]) => perEpoch(s, k)),
    fc.tuple(warmArb, fc.integer({ min: 1, max: 5 })).map(([s, k]) => perEpoch(s, k)),
  );
  fc.assert(
    fc.property(annealing, nSteps, (s, n) => {
      const ends = s.cycleEnds!(n);
      const values = lrs(s, n);
      assertEndsShape(ends, n);
      assertEndsAreMinima(values, ends);
      assertRisesOnlyAfterEnds(values, ends);
    }),
    FC,
  );
  fc.assert(
    fc.property(cyclicalArb, nSteps, (s, n) => {
      const ends = s.cycleEnds!(n);
      assertEndsShape(ends, n);
      // Every end but a closing partial one is a full cycle's minimum, baseLr itself.
      const { baseLr, stepSizeUp, stepSizeDown } = s.spec.options as Record<string, number>;
      const full = ends.filter((e) => e % (stepSizeUp + stepSizeDown) === 0);
      assert.ok(ends.length - full.length <= 1);
      assertEndsAreMinima(lrs(s, n), full);
      for (const e of full) assertClose(s(e), baseLr, `end ${e}`);
    }),
    FC,
  );
  fc.assert(
    fc.property(oneCycleArb, nSteps, (s, n) => assertEndsShape(s.cycleEnds!(n), n)),
    FC,
  );
});

Deno.test("property: a restart follows every cycle end of cosineAnnealing with a real amplitude", () => {
  fc.assert(
    fc.property(cosineArb, nSteps, (s, n) => {
      const { lrMax, lrMin, totalSteps, cycles } = s.spec.options as Record<string, number>;
      fc.pre(lrMax > lrMin * (1 + 1e-6) && Math.floor(totalSteps / cycles) >= 2);
      const values = lrs(s, n + 1);
      for (const end of s.cycleEnds!(n).slice(0, -1)) assert.ok(values[end + 1] > values[end]);
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
    }, { requiredKeys: [] }),
  );
  const validators: ReadonlyArray<(o: never) => unknown> = [
    validateCosineAnnealing,
    validateWarmRestarts,
    validateCyclical,
    validateOneCycle,
    validateConstant,
    (o) => validateWarmup(constant(1), o),
    (o) => validateWarmup(o, o),
    (o) => validatePerEpoch(constant(1), o),
    (o) => validatePerEpoch(o, o),
  ];
  const constructors: ReadonlyArray<(o: never) => Schedule> = [
    cosineAnnealing,
    warmRestarts,
    cyclical,
    oneCycle,
    constant,
    (o) => warmup(o, o),
    (o) => perEpoch(o, o),
    (o) => scheduleFromSpec(o),
  ];
  fc.assert(
    fc.property(anyOptions, (o) => {
      for (const v of validators) {
        const result = v(o as never) as { _tag: string };
        assert.ok(result._tag === "Left" || result._tag === "Right");
      }
      for (const c of constructors) {
        try {
          c(o as never);
        } catch (e) {
          assert.ok(e instanceof ConfigError, String(e));
        }
      }
    }),
    { ...FC, numRuns: 400 },
  );
});
