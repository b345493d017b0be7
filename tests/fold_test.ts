/**
 * Properties of the pure fold (lib/train/fold.ts) driven by a simulated backend: the loss of step
 * s, replica r is a fixed function of (s, r), and the parameters after step s are filled with a
 * function of s. With fixed fast-check seeds and bounded runs.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { mlp, randomState, TrainingDivergedError } from "../mod.ts";
import { epochBatches } from "../lib/batches.ts";
import { constant, cosineAnnealing } from "../lib/schedules/mod.ts";
import type { RunPlan } from "../lib/train/config.ts";
import type { TrainEvent } from "../lib/train/events.ts";
import { completeCycleEnds } from "../lib/train/_cycles.ts";
import { foldSegment, initialState, nextSegment, type RunState } from "../lib/train/fold.ts";
import {
  atCycleEnds,
  atEpochs,
  everyEpochs,
  planSnapshots,
  POLICY_RULES,
  type PolicyTable,
  type SnapshotPolicy,
} from "../lib/train/policy.ts";

const SPEC = mlp({ layers: [1, 2] });
const P = 4; // paramCount of [1, 2]

interface Shape {
  readonly epochs: number;
  readonly samples: number;
  readonly batchSize: number;
  readonly replicas: number;
  readonly keepLast: number;
  readonly checkpointEvery: number;
  readonly policy: SnapshotPolicy;
}

function runOf(shape: Shape, segmentSteps: number, reportEvery: number): RunPlan {
  const stepsPerEpoch = Math.ceil(shape.samples / shape.batchSize);
  const totalSteps = shape.epochs * stepsPerEpoch;
  const schedule = constant(0.1);
  const planned = planSnapshots(
    shape.policy,
    { epochs: shape.epochs, stepsPerEpoch, totalSteps, schedule, lrPer: "step" },
    10_000,
  );
  assert.ok(planned._tag === "Right");
  return {
    epochs: shape.epochs,
    stepsPerEpoch,
    totalSteps,
    schedule,
    snapshotSteps: planned.right.steps,
    restartSteps: [],
    notes: planned.right.notes,
    samples: shape.samples,
    batchSize: shape.batchSize,
    shuffle: true,
    spec: SPEC,
    paramCount: P,
    replicas: shape.replicas,
    keepLast: shape.keepLast,
    reportEvery,
    checkpointEvery: shape.checkpointEvery,
    validates: false,
    maxSegmentSteps: segmentSteps,
    seed: 0,
  };
}

const lossAt = (step: number, replica: number) => 1 / (1 + step) + replica;
const paramsAfter = (step: number, replicas: number) =>
  Float32Array.from({ length: P * replicas }, (_, i) => step + i / 100);

/**
 * Runs a plan to the end against the simulated backend; `badLossAt` / `badParamsFrom` make the
 * loss of one step NaN, or the parameters NaN from one step on.
 */
function simulate(
  run: RunPlan,
  faults: { readonly badLossAt?: number; readonly badParamsFrom?: number } = {},
): { events: TrainEvent[]; state: RunState; error?: unknown; segments: number } {
  const random = randomState(3);
  let memo: { epoch: number; batches: ReturnType<typeof epochBatches> } | undefined;
  const batchesOf = (epoch: number) => {
    if (memo?.epoch !== epoch) {
      memo = { epoch, batches: epochBatches(random, { n: run.samples, batchSize: run.batchSize }) };
    }
    return memo.batches;
  };
  let state = initialState(run);
  const events: TrainEvent[] = [];
  let segments = 0;
  try {
    while (state.step < run.totalSteps) {
      const segment = nextSegment(state, run, batchesOf);
      segments++;
      const k = run.replicas;
      const steps = segment.to - segment.from;
      const loss = Float32Array.from({ length: steps * k }, (_, j) => {
        const step = segment.from + Math.floor(j / k);
        return step === faults.badLossAt ? NaN : lossAt(step, j % k);
      });
      const last = segment.to - 1;
      const params = paramsAfter(last, k);
      if (last >= (faults.badParamsFrom ?? Infinity)) params[0] = NaN;
      const folded = foldSegment(state, segment, {
        stats: { loss, correct: new Float32Array(steps * k).fill(1) },
        ...(segment.needs.params ? { params } : {}),
        ...(segment.needs.optimizerState ? { optimizerState: new Float32Array(0) } : {}),
        ...(segment.needs.random ? { random: random.snapshot() } : {}),
      }, run);
      state = folded.state;
      events.push(...folded.events);
    }
  } catch (error) {
    return { events, state, error, segments };
  }
  return { events, state, segments };
}

const shapes: fc.Arbitrary<Shape> = fc.record({
  epochs: fc.integer({ min: 1, max: 12 }),
  samples: fc.integer({ min: 1, max: 9 }),
  batchSize: fc.integer({ min: 1, max: 12 }),
  replicas: fc.integer({ min: 1, max: 3 }),
  keepLast: fc.oneof(fc.constant(Infinity), fc.integer({ min: 1, max: 3 })),
  checkpointEvery: fc.oneof(fc.constant(Infinity), fc.integer({ min: 1, max: 5 })),
  policy: fc.oneof(
    fc.record({ every: fc.integer({ min: 1, max: 4 }), from: fc.integer({ min: 0, max: 5 }) })
      .map(({ every, from }) => everyEpochs(every, { from })),
    fc.uniqueArray(fc.integer({ min: 0, max: 11 }), { maxLength: 5 })
      .map((list) => atEpochs(list.sort((a, b) => a - b))),
  ),
}).filter((s) => s.policy.kind !== "atEpochs" || s.policy.epochs.every((e) => e < s.epochs));

const segmentings = fc.tuple(
  fc.integer({ min: 1, max: 20 }),
  fc.oneof(fc.constant(Infinity), fc.integer({ min: 1, max: 4 })),
);

const RUNS = { seed: 20261201, numRuns: 150 };

Deno.test("fold: snapshots come exactly at the policy's steps, with the parameters read there", () => {
  fc.assert(
    fc.property(shapes, segmentings, (shape, [segmentSteps, reportEvery]) => {
      const run = runOf(shape, segmentSteps, reportEvery);
      const { events, state, error } = simulate(run);
      assert.equal(error, undefined);
      const snaps = events.filter((e) => e.type === "snapshot");
      const k = shape.replicas;
      assert.deepEqual(
        snaps.map((s) => s.step),
        run.snapshotSteps.flatMap((s) => Array(k).fill(s)),
      );
      for (const s of snaps) {
        const r = s.replica ?? 0;
        assert.deepEqual(s.params, paramsAfter(s.step, k).slice(r * P, (r + 1) * P));
        assert.equal(s.epoch, Math.floor(s.step / run.stepsPerEpoch));
      }
      // keepLast: the last keepLast indices, every replica of each.
      assert.deepEqual(
        state.kept,
        snaps.slice(-Math.min(snaps.length, shape.keepLast * k)).map(
          ({ type: _, ...s }) => s,
        ),
      );
      assert.equal(state.snapshotsTaken, run.snapshotSteps.length);
      // Every epoch event counts the snapshots taken up to its last step.
      for (const e of events) {
        if (e.type !== "epoch") continue;
        assert.equal(e.snapshotsTaken, run.snapshotSteps.filter((s) => s <= e.step).length);
      }
      assert.deepEqual(state.params, paramsAfter(run.totalSteps - 1, k));
    }),
    RUNS,
  );
});

Deno.test("fold: the events are the same whatever the segment sizes and report intervals", () => {
  fc.assert(
    fc.property(shapes, segmentings, segmentings, (shape, [s1, r1], [s2, r2]) => {
      const a = simulate(runOf(shape, s1, r1));
      const b = simulate(runOf(shape, s2, r2));
      assert.deepEqual(a.events, b.events);
      assert.deepEqual(a.state, b.state);
      // One epoch event per epoch, in order, with the mean of lossAt over the epoch's samples.
      const epochs = a.events.filter((e) => e.type === "epoch");
      assert.deepEqual(epochs.map((e) => e.epoch), [...Array(shape.epochs).keys()]);
    }),
    RUNS,
  );
});

Deno.test("fold: a diverging loss or non-finite parameters throw with the snapshots kept before", () => {
  fc.assert(
    fc.property(
      shapes,
      segmentings,
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.boolean(),
      (shape, [segmentSteps, reportEvery], where, byParams) => {
        const run = runOf(shape, segmentSteps, reportEvery);
        const at = Math.min(run.totalSteps - 1, Math.floor(where * run.totalSteps));
        const { events, error } = simulate(
          run,
          byParams ? { badParamsFrom: at } : { badLossAt: at },
        );
        assert.ok(error instanceof TrainingDivergedError, String(error));
        const snaps = events.filter((e) => e.type === "snapshot");
        // No emitted snapshot holds a non-finite number; the error keeps what was kept.
        for (const s of snaps) assert.ok(s.params.every(Number.isFinite));
        const keep = Math.min(snaps.length, shape.keepLast * shape.replicas);
        assert.deepEqual(
          error.snapshots,
          snaps.slice(snaps.length - keep).map(({ type: _, ...s }) => s),
        );
        if (byParams) {
          // Found at the first read of the parameters at or after the bad step.
          assert.ok(error.step >= at);
          assert.ok(snaps.every((s) => s.step < at));
          assert.match(error.message, /parameters became NaN/);
        } else {
          assert.equal(error.step, at);
          assert.deepEqual(
            snaps.map((s) => s.step),
            run.snapshotSteps.filter((s) => s < at).flatMap(
              (s) => Array(shape.replicas).fill(s),
            ),
          );
        }
      },
    ),
    RUNS,
  );
});

Deno.test("fold: segments stay within maxSegmentSteps and plan exactly the batches' samples", () => {
  fc.assert(
    fc.property(shapes, segmentings, (shape, [segmentSteps, reportEvery]) => {
      const run = runOf(shape, segmentSteps, reportEvery);
      const batchesOf = () =>
        epochBatches(randomState(0), { n: run.samples, batchSize: run.batchSize, shuffle: false });
      let state = initialState(run);
      while (state.step < run.totalSteps) {
        const segment = nextSegment(state, run, batchesOf);
        assert.ok(segment.to - segment.from <= segmentSteps);
        assert.equal(segment.plan.firstStep, segment.from);
        const sizes = [...segment.batchSizes];
        assert.equal(segment.plan.indices.length, sizes.reduce((a, b) => a + b, 0));
        for (const size of sizes) {
          assert.ok(size >= 1 && size <= Math.min(run.batchSize, run.samples));
        }
        state = { ...state, step: segment.to };
      }
    }),
    RUNS,
  );
});

Deno.test("policy: atCycleEnds snapshots where a complete cosine cycle ends, at its minimum", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 400 }),
      fc.integer({ min: 1, max: 12 }),
      (totalSteps, cycles) => {
        fc.pre(cycles <= totalSteps);
        const schedule = cosineAnnealing({ lrMax: 0.1, totalSteps, cycles });
        const planned = planSnapshots(
          atCycleEnds(),
          { epochs: totalSteps, stepsPerEpoch: 1, totalSteps, schedule, lrPer: "step" },
          10_000,
        );
        assert.ok(planned._tag === "Right");
        // The formula repeats its cycle of floor(totalSteps / cycles) steps; every complete
        // repetition ends in a snapshot, the trailing partial one in none.
        const length = Math.floor(totalSteps / cycles);
        const complete = Math.floor(totalSteps / length);
        assert.deepEqual(
          planned.right.steps,
          [...Array(complete).keys()].map((i) => (i + 1) * length - 1),
        );
        const lrMin = 0.1 / 2 * (Math.cos(Math.PI * (length - 1) / length) + 1);
        for (const s of planned.right.steps) {
          assert.equal(schedule(s), lrMin);
          assert.equal(schedule(s + 1), 0.1); // the restart
        }
        const partial = totalSteps - complete * length;
        assert.equal(planned.right.notes.length, partial === 0 ? 0 : 1);
      },
    ),
    RUNS,
  );
});

Deno.test("policy: the table has a rule for every kind (a missing one fails deno check)", () => {
  assert.deepEqual(Object.keys(POLICY_RULES).sort(), [
    "atCycleEnds",
    "atEpochs",
    "everyEpochs",
    "none",
  ]);
  const { none: _, ...partial } = POLICY_RULES;
  // @ts-expect-error: a table without the "none" rule is not a PolicyTable.
  const incomplete: PolicyTable = partial;
  assert.equal(Object.keys(incomplete).length, 3);
});

Deno.test("policy: complete cycle ends are the cycles that end inside the run, streamed", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 400 }),
      (totalSteps, cycles, run) => {
        fc.pre(cycles <= totalSteps);
        const schedule = cosineAnnealing({ lrMax: 0.1, totalSteps, cycles });
        const length = Math.floor(totalSteps / cycles);
        const expected = [...Array(Math.floor(run / length)).keys()].map((i) =>
          (i + 1) * length - 1
        );
        assert.deepEqual(completeCycleEnds(schedule, run, 10_000), expected);
        assert.deepEqual(schedule.cycleEnds!(run), expected);
        if (expected.length > 0) {
          assert.equal(completeCycleEnds(schedule, run, expected.length - 1), undefined);
        }
      },
    ),
    RUNS,
  );
});
