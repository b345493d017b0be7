/**
 * Hostile input at every door of the data, metrics, batches, random, training-data and chart
 * modules: with fixed seeds and bounded runs, every call returns or throws the library's own error
 * (a ConfigError naming its fields, or a SnapfoldError), never a raw TypeError or RangeError, and
 * comes back within a bound that only unbounded work exceeds. Rendering any value for a message
 * never throws and stays short.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { renderValue } from "../lib/_render_value.ts";
import { epochBatches, epochsBatches, stepsPerEpoch } from "../lib/batches.ts";
import {
  makeBlobs,
  oneHot,
  shuffleSplit,
  splitAt,
  toFloat32,
  validateMakeBlobsOptions,
} from "../lib/datasets.ts";
import { ConfigError, formatIssue, SnapfoldError } from "../lib/errors.ts";
import {
  accuracy,
  argmaxRows,
  brierScore,
  expectedCalibrationError,
  logLoss,
  meanSquaredErrorMetric,
  pairwiseDisagreement,
} from "../lib/metrics.ts";
import { mlp } from "../lib/model/mod.ts";
import { blobsScatterChart } from "../lib/plots/blobs_scatter_chart.ts";
import { ensembleSizeChart } from "../lib/plots/ensemble_size_chart.ts";
import { learningCurveChart } from "../lib/plots/learning_curve_chart.ts";
import { lrScheduleChart } from "../lib/plots/lr_schedule_chart.ts";
import { randomState, restoreRandomState, validateSeed } from "../lib/random.ts";
import { validateInputs, validateTrainingData } from "../lib/training_data.ts";
import { check } from "../lib/validation.ts";

/** A call slower than this did unbounded work (every accepted size here takes milliseconds). */
const TIME_BOUND_MS = 5_000;
const RUNS = 300;

// deno-lint-ignore no-explicit-any
type AnyFn = (...args: any[]) => unknown;

function nested(depth: number): unknown {
  let v: unknown = 0;
  for (let i = 0; i < depth; i++) v = [v];
  // fast-check's own printer would overflow the stack on a failure report.
  Object.defineProperty(v, fc.toStringMethod, { value: () => `nested(${depth})` });
  return v;
}

function cyclic(): unknown {
  const o: Record<string, unknown> = { a: 1 };
  o.self = o;
  return o;
}

/** Values that do not belong where numbers, arrays or options go. */
const HOSTILE: ReadonlyArray<unknown> = [
  null,
  undefined,
  NaN,
  Infinity,
  -Infinity,
  1e308,
  -1e308,
  -1,
  0,
  -0,
  0.5,
  1.5,
  2 ** 53,
  2 ** 31,
  1e9,
  "",
  "abc",
  "10",
  " 10 ",
  true,
  [],
  [[]],
  [null],
  [NaN, 1],
  [[1, 2], [3]],
  {},
  { extra: 1 },
  { n: 1e9, batchSize: 1 },
  nested(3000),
  cyclic(),
  Symbol("s"),
  10n,
  () => 1,
  new Float32Array([NaN, 1]),
  new Float64Array(0),
  new Int32Array([-1, 1e9]),
  new BigInt64Array(2),
  new Array(5),
  Object.create(null),
  new Map([[1, 2]]),
];

const hostile: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE) },
  fc.anything({ maxDepth: 2, maxKeys: 3 }),
  fc.double(),
  fc.integer({ min: -5, max: 50 }),
);

/** `valid` or, as often, a hostile value. */
function either<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof(valid, hostile);
}

/** Options whose every key is valid or hostile, some keys missing, sometimes an extra key. */
function optionsOf(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  const record = fc.record(
    Object.fromEntries(Object.entries(fields).map(([k, a]) => [k, either(a)])),
    { requiredKeys: [] },
  );
  return fc.oneof(
    { weight: 4, arbitrary: record },
    fc.tuple(record, hostile).map(([r, v]) => ({ ...r, unexpected: v })),
    hostile,
  );
}

/** Calls `f` and checks it returned, or threw a library error that names fields, in bounded time. */
function libraryOutcome(name: string, f: () => unknown): void {
  const start = performance.now();
  try {
    f();
  } catch (e) {
    if (!(e instanceof SnapfoldError)) {
      throw new Error(`${name} threw a raw ${(e as Error)?.name ?? typeof e}: ${e}`);
    }
    assert.ok(e.message.length < 20_000, `${name}: an unbounded message`);
    if (e instanceof ConfigError) {
      assert.ok(e.issues.length > 0, `${name}: a ConfigError with no issue`);
      for (const issue of e.issues) assert.equal(typeof issue.field, "string");
    }
  }
  const ms = performance.now() - start;
  assert.ok(ms < TIME_BOUND_MS, `${name} took ${ms.toFixed(0)} ms`);
}

function sweep(name: string, f: AnyFn, args: fc.Arbitrary<unknown[]>, seed: number): void {
  fc.assert(
    fc.property(args, (a) => libraryOutcome(name, () => f(...a))),
    { seed, numRuns: RUNS },
  );
}

const smallInt = fc.integer({ min: 0, max: 12 });
const prob32 = fc.float32Array({ minLength: 0, maxLength: 12 });
const prob64 = fc.float64Array({ minLength: 0, maxLength: 12 });
const labels = fc.oneof(
  fc.array(smallInt, { maxLength: 6 }),
  fc.array(smallInt, { maxLength: 6 }).map((a) => Int32Array.from(a)),
);
const dataset = fc.integer({ min: 0, max: 6 }).map((n) => ({
  x: new Float64Array(n * 2).map((_, i) => i),
  y: new Int32Array(n).map((_, i) => i % 2),
  n,
  nFeatures: 2,
}));
const seedArb = fc.oneof(fc.nat(), fc.array(fc.nat(), { maxLength: 3 }));

Deno.test("fuzz: datasets return or throw a ConfigError on hostile input", () => {
  const blobsOptions = optionsOf({
    nSamples: fc.oneof(smallInt, fc.array(smallInt, { maxLength: 4 })),
    centers: fc.oneof(
      smallInt,
      fc.array(fc.array(fc.double(), { maxLength: 3 }), { maxLength: 3 }),
    ),
    nFeatures: smallInt,
    clusterStd: fc.oneof(fc.double(), fc.array(fc.double(), { maxLength: 3 })),
    centerBox: fc.tuple(fc.double(), fc.double()),
    shuffle: fc.boolean(),
    randomState: seedArb,
  });
  sweep("makeBlobs", makeBlobs, fc.tuple(blobsOptions), 101);
  fc.assert(
    fc.property(blobsOptions, (o) => {
      // Never throws at all, and what it accepts makes only finite points.
      const result = validateMakeBlobsOptions(o);
      if (result._tag === "Right") assert.ok(makeBlobs(o as never).x.every(Number.isFinite));
    }),
    { seed: 102, numRuns: RUNS },
  );
  sweep("splitAt", splitAt, fc.tuple(either(dataset), either(smallInt)), 103);
  sweep(
    "shuffleSplit",
    shuffleSplit,
    fc.tuple(
      either(dataset),
      optionsOf({ testSize: fc.double(), trainSize: smallInt, seed: seedArb }),
    ),
    104,
  );
  sweep("oneHot", oneHot, fc.tuple(either(labels), either(smallInt)), 105);
  sweep("toFloat32", toFloat32, fc.tuple(either(prob64)), 106);
});

Deno.test("fuzz: metrics return or throw a ConfigError on hostile input", () => {
  const probs = either(fc.oneof(prob32, prob64));
  const lab = either(labels);
  sweep("argmaxRows", argmaxRows, fc.tuple(probs, either(smallInt)), 201);
  sweep("accuracy", accuracy, fc.tuple(fc.oneof(probs, lab), lab), 202);
  sweep("logLoss", logLoss, fc.tuple(probs, lab, optionsOf({ eps: fc.double() })), 203);
  sweep("brierScore", brierScore, fc.tuple(probs, lab), 204);
  sweep(
    "expectedCalibrationError",
    expectedCalibrationError,
    fc.tuple(probs, lab, optionsOf({ bins: fc.oneof(smallInt, fc.constant(1e9)) })),
    205,
  );
  sweep(
    "pairwiseDisagreement",
    pairwiseDisagreement,
    fc.tuple(either(fc.array(fc.oneof(lab, probs), { maxLength: 4 })), either(smallInt)),
    206,
  );
  sweep(
    "meanSquaredErrorMetric",
    meanSquaredErrorMetric,
    fc.tuple(either(fc.oneof(prob32, fc.array(fc.double()))), either(prob64)),
    207,
  );
});

Deno.test("fuzz: batches and random states return or throw a ConfigError on hostile input", () => {
  const batchOptions = optionsOf({
    n: fc.oneof(smallInt, fc.constant(1e9)),
    batchSize: smallInt,
    shuffle: fc.boolean(),
  });
  const rng = fc.oneof(fc.constant(null), fc.nat().map((s) => randomState(s)));
  sweep("stepsPerEpoch", stepsPerEpoch, fc.tuple(either(smallInt), either(smallInt)), 301);
  sweep("epochBatches", epochBatches, fc.tuple(rng, batchOptions), 302);
  sweep("epochsBatches", epochsBatches, fc.tuple(rng, batchOptions, either(smallInt)), 303);
  sweep("randomState", randomState, fc.tuple(either(seedArb)), 304);
  fc.assert(fc.property(hostile, (v) => void validateSeed("seed", v)), {
    seed: 305,
    numRuns: RUNS,
  });
  const snapshot = optionsOf({
    key: fc.constant(randomState(1).snapshot().key),
    pos: smallInt,
    hasGauss: fc.boolean(),
    gauss: fc.double(),
  });
  sweep("restoreRandomState", restoreRandomState, fc.tuple(snapshot), 306);
  const state = randomState(9);
  for (
    const [name, method] of Object.entries({
      randomInterval: state.randomInterval,
      normal: state.normal,
      uniform: state.uniform,
      shuffle: state.shuffle,
      permutation: state.permutation,
    })
  ) {
    sweep(name, method.bind(state), fc.tuple(hostile, hostile), 307);
  }
});

Deno.test("fuzz: training-data doors never throw, whatever the spec and data", () => {
  const spec = either(
    fc.constantFrom(mlp({ layers: [2, 3] }), mlp({ layers: [2, 1], head: "linear" })),
  );
  const data = optionsOf({ x: fc.oneof(prob32, fc.array(fc.double())), y: labels, n: smallInt });
  fc.assert(
    fc.property(spec, data, (s, d) => {
      validateInputs(s as never, d as never);
      validateTrainingData(s as never, d as never);
    }),
    { seed: 401, numRuns: RUNS },
  );
});

Deno.test("fuzz: chart builders return or throw a ConfigError on hostile input", () => {
  const schedule = fc.constantFrom(
    Object.assign((step: number) => 0.1 / (1 + step), { cycleEnds: (n: number) => [n - 1] }),
    () => NaN,
    () => "lr",
  );
  sweep(
    "lrScheduleChart",
    lrScheduleChart,
    fc.tuple(optionsOf({
      schedule,
      totalSteps: fc.oneof(smallInt, fc.constant(1e9)),
      snapshots: fc.array(fc.record({ step: smallInt, index: smallInt }), { maxLength: 3 }),
      maxPoints: fc.oneof(smallInt, fc.constant(1e9)),
      title: fc.string(),
    })),
    501,
  );
  sweep(
    "blobsScatterChart",
    blobsScatterChart,
    fc.tuple(optionsOf({
      x: fc.oneof(prob32, prob64),
      y: labels,
      nFeatures: smallInt,
      predictor: fc.constantFrom({ predict: () => new Int32Array(4) }, { predict: () => null }),
      grid: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(1e5)),
      title: fc.string(),
    })),
    502,
  );
  const point = fc.record({
    members: either(smallInt),
    singleIndex: either(smallInt),
    singleAccuracy: either(fc.double()),
    ensembleAccuracy: either(fc.double()),
  });
  sweep(
    "ensembleSizeChart",
    ensembleSizeChart,
    fc.tuple(either(fc.array(either(point))), hostile),
    503,
  );
  const epoch = fc.record({ epoch: either(smallInt), loss: either(fc.double()) });
  sweep(
    "learningCurveChart",
    learningCurveChart,
    fc.tuple(either(fc.array(either(epoch))), hostile),
    504,
  );
});

/** Values that make naive rendering throw or run away. */
function monsters(): unknown[] {
  const throwing = {
    get boom(): never {
      throw new Error("getter");
    },
  };
  const { proxy: revoked, revoke } = Proxy.revocable({}, {});
  revoke();
  const trap = () => {
    throw new Error("trap");
  };
  const trapping = new Proxy([], { get: trap, ownKeys: trap, has: trap, getPrototypeOf: trap });
  return [
    nested(3000),
    cyclic(),
    throwing,
    [throwing],
    revoked,
    [revoked],
    trapping,
    { a: trapping },
    10n ** 400n,
    Symbol("sym"),
    [Symbol("in an array")],
    "x".repeat(10_000_000),
    new Array(10_000_000),
    new Array(100_000).fill(1),
    new Float64Array(1_000_000),
    Object.create(null),
    new Error("an error"),
  ];
}

Deno.test("fuzz: renderValue and formatIssue never throw and stay short", () => {
  for (const value of monsters()) {
    const text = renderValue(value);
    assert.equal(typeof text, "string");
    assert.ok(text.length <= 80, text);
    const line = formatIssue({ field: "x", message: "must be a number", got: value });
    assert.match(line, /^x must be a number: got /);
    assert.ok(line.length < 200);
  }
  assert.equal(renderValue(nested(3)), "[[[0]]]");
  assert.equal(renderValue(cyclic()), '{"a":1,"self":[Circular]}');
  assert.equal(renderValue({ a: [1, NaN], b: "q" }), '{"a":[1,NaN],"b":"q"}');
  fc.assert(
    fc.property(fc.oneof(hostile, fc.anything({ maxDepth: 6 })), (value) => {
      const text = renderValue(value);
      return typeof text === "string" && text.length <= 80;
    }),
    { seed: 601, numRuns: 500 },
  );
  fc.assert(
    fc.property(hostile, hostile, hostile, (field, message, got) => {
      const line = formatIssue({ field, message, got } as never);
      return typeof line === "string" && line.length < 300;
    }),
    { seed: 602, numRuns: 300 },
  );
});

Deno.test("fuzz: every check returns issues, never throws", () => {
  const checks = Object.entries(check) as [string, AnyFn][];
  fc.assert(
    fc.property(hostile, hostile, (a, b) => {
      for (const [name, c] of checks) {
        const issues = name === "that"
          ? c(Boolean(a), "f", "must be", b)
          : name === "knownKeys"
          ? c(a, ["n"])
          : name === "oneOf"
          ? c("f", a, ["x"])
          : name === "intInRange"
          ? c("f", a, 0, 10)
          : name === "finiteValues"
          ? (a !== null && typeof a === "object" ? c("f", a) : [])
          : c("f", a);
        assert.ok(Array.isArray(issues), name);
      }
    }),
    { seed: 701, numRuns: RUNS },
  );
});
