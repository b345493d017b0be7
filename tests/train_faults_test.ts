/**
 * The trainer's door and faults (issue 10): every problem of a config in one ConfigError at the
 * call, bounded planning for huge configs, divergence by loss and by parameters, and every mid-run
 * error carrying the snapshots taken so far. Also the seed and step the backend is given.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  atEpochs,
  type Backend,
  collect,
  ConfigError,
  constant,
  cosineAnnealing,
  createCpuBackend,
  everyEpochs,
  makeBlobs,
  mlp,
  none,
  planRun,
  type SessionOptions,
  sgd,
  splitAt,
  type StepPlan,
  toFloat32,
  train,
  type TrainConfig,
  type TrainEvent,
  TrainingDivergedError,
  TrainingInterruptedError,
  warmRestarts,
  warmup,
} from "../mod.ts";
import { initialState, nextSegment } from "../lib/train/fold.ts";

const blobs = makeBlobs({ nSamples: 100, centers: 3, clusterStd: 2, randomState: 2 });
const [trainSet] = splitAt(blobs, 100);
const DATA = { x: toFloat32(trainSet.x), y: trainSet.y, n: trainSet.n };

function config(backend: Backend, overrides: Partial<TrainConfig> = {}): TrainConfig {
  return {
    backend,
    model: mlp({ layers: [2, 25, 3] }),
    optimizer: sgd({ momentum: 0.9 }),
    schedule: cosineAnnealing({ lrMax: 0.01, totalSteps: 20, cycles: 2 }),
    lrPer: "epoch",
    epochs: 20,
    batchSize: 32,
    data: DATA,
    seed: 1,
    ...overrides,
  };
}

function fieldsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.issues.map((i) => i.field);
  }
  assert.fail("no ConfigError");
}

/**
 * A CPU backend that records what the trainer gives it; it can fail at a chosen readStats call and
 * put a NaN into the parameters from a chosen readParams call on (as an overflowing update would).
 */
function spyBackend(failAtRead = Infinity, poisonAtRead = Infinity): Backend & {
  sessions: SessionOptions[];
  plans: StepPlan[];
} {
  const cpu = createCpuBackend();
  const sessions: SessionOptions[] = [];
  const plans: StepPlan[] = [];
  let reads = 0;
  let paramReads = 0;
  return {
    ...cpu,
    kind: cpu.kind,
    readCost: cpu.readCost,
    get readbacks() {
      return 0;
    },
    sessions,
    plans,
    async createSession(options) {
      sessions.push(options);
      const session = await cpu.createSession(options);
      return {
        paramCount: session.paramCount,
        replicas: session.replicas,
        run: (plan) => (plans.push(plan), session.run(plan)),
        readStats: () =>
          ++reads >= failAtRead
            ? Promise.reject(new Error("the device was lost (stand-in)"))
            : session.readStats(),
        readParams: async () => {
          const params = await session.readParams();
          if (++paramReads >= poisonAtRead) params[params.length - 1] = NaN;
          return params;
        },
        readOptimizerState: () => session.readOptimizerState(),
        dispose: () => session.dispose(),
      };
    },
    predict: (o) => cpu.predict(o),
    dispose: () => cpu.dispose(),
  };
}

Deno.test("train door: every problem comes back at the call, under the config's own names", () => {
  const backend = createCpuBackend();
  const fields = fieldsOf(() =>
    train(config(backend, {
      seed: 2 ** 32,
      optimizer: { kind: "sgd", momentum: -1 } as never,
      model: { layers: [2, 0], activation: "relu", head: "softmax" } as never,
      snapshots: { kind: "sometimes" } as never,
      keepLast: 0,
    }))
  );
  assert.ok(fields.includes("seed"), fields.join());
  assert.ok(!fields.includes("seed[0]"), fields.join());
  assert.ok(fields.some((f) => f.startsWith("optimizer")), fields.join());
  assert.ok(fields.some((f) => f.startsWith("model.")), fields.join());
  assert.ok(fields.includes("keepLast"), fields.join());
  // Foreign values never throw anything but a ConfigError.
  for (const bad of [null, "cpu", 3, {}, { createSession: 1 }]) {
    assert.ok(
      fieldsOf(() => train(config(backend, { backend: bad as never }))).includes("backend"),
    );
  }
  for (const bad of [null, "x", [], { epoch: 1 }]) {
    const names = fieldsOf(() => train(config(backend, { resume: bad as never })));
    assert.ok(names.every((f) => f.startsWith("resume")), names.join());
  }
  backend.dispose();
});

Deno.test("train door: a checkpoint's fields are checked at the call, snapshotsTaken included", async () => {
  const backend = createCpuBackend();
  const base = config(backend, { checkpointEvery: 10 });
  const result = await collect(train(base));
  const checkpoint = result.checkpoint!;
  assert.equal(checkpoint.snapshotsTaken, 2);
  const fields = fieldsOf(() =>
    train({
      ...base,
      resume: {
        ...checkpoint,
        snapshotsTaken: 5,
        params: checkpoint.params.map((v, i) => (i === 3 ? NaN : v)),
        random: { ...checkpoint.random, pos: -1 },
      },
    })
  );
  assert.deepEqual(fields, ["resume.params[3]", "resume.random.pos", "resume.snapshotsTaken"]);
  // Reported together with problems elsewhere in the config.
  const both = fieldsOf(() =>
    train({ ...base, shuffle: "yes" as never, resume: { ...checkpoint, snapshotsTaken: 5 } })
  );
  assert.deepEqual(both, ["shuffle", "resume.snapshotsTaken"]);
  backend.dispose();
});

Deno.test("train door: a schedule sized for another run names both numbers and both fixes", () => {
  const backend = createCpuBackend();
  // 500 epochs of 4 steps with the default lr per step: 2000 steps for a 500-step schedule.
  assert.throws(
    () =>
      train(config(backend, {
        epochs: 500,
        lrPer: undefined,
        schedule: cosineAnnealing({ lrMax: 0.01, totalSteps: 500, cycles: 10 }),
      })),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /sized for 500 steps/);
      assert.match(error.message, /2000 optimizer steps/);
      assert.match(error.message, /lrPer: "epoch"/);
      assert.match(error.message, /totalSteps: 2000/);
      return true;
    },
  );
  // A warmup in front counts too: its steps plus the wrapped schedule's.
  assert.throws(
    () =>
      train(config(backend, {
        epochs: 500,
        lrPer: undefined,
        schedule: warmup({ steps: 20 })(
          cosineAnnealing({ lrMax: 0.01, totalSteps: 500, cycles: 10 }),
        ),
      })),
    /sized for 520 steps .* set totalSteps: 1980 inside the warmup, or totalSteps: 480 inside the warmup with lrPer: "epoch"/,
  );
  backend.dispose();
});

Deno.test("train door: huge configs are planned in bounded memory or refused naming the limit", () => {
  const backend = createCpuBackend();
  // 1e9 epochs of one step each, a batch far larger than the data: planned without allocating.
  const huge = planRun(config(backend, {
    epochs: 1e9,
    batchSize: 1e9,
    lrPer: "step",
    schedule: cosineAnnealing({ lrMax: 0.01, totalSteps: 1e9, cycles: 4 }),
  }));
  assert.ok(huge._tag === "Right");
  const run = huge.right;
  assert.equal(run.totalSteps, 1e9);
  assert.deepEqual(run.snapshotSteps, [249_999_999, 499_999_999, 749_999_999, 999_999_999]);
  const segment = nextSegment(initialState(run), run, () => ({
    indices: Int32Array.from({ length: 100 }, (_, i) => i),
    offsets: Int32Array.of(0, 100),
  }));
  assert.ok(segment.to <= run.maxSegmentSteps, `segment of ${segment.to} steps`);
  assert.equal(segment.plan.indices.length, segment.to * 100);
  // Millions of cycles: refused after listing a few thousand of them.
  assert.throws(
    () =>
      train(config(backend, {
        epochs: 1e9,
        batchSize: 100,
        lrPer: "step",
        schedule: warmRestarts({ lrMax: 0.01, cycleLength: 1 }),
      })),
    /snapshots would take more than 10000 snapshots: at most 10000 per run; use fewer, longer cycles/,
  );
  backend.dispose();
});

Deno.test("train: a schedule without cycles trains a baseline; policies pick the snapshots", async () => {
  const backend = createCpuBackend();
  const baseline = config(backend, { schedule: constant(0.01) });
  const plan = planRun(baseline);
  assert.ok(plan._tag === "Right");
  assert.match(plan.right.notes[0], /has no cycles, so atCycleEnds takes no snapshot/);
  const plain = await collect(train(baseline));
  assert.deepEqual(plain.snapshots, []);
  assert.equal(plain.done.params.length, 2 * 25 + 25 + 25 * 3 + 3);
  const every = await collect(train({ ...baseline, snapshots: everyEpochs(5, { from: 9 }) }));
  assert.deepEqual(every.snapshots.map((s) => s.epoch), [9, 14, 19]);
  // The same training: the last snapshot is the final parameters of the plain run.
  assert.deepEqual(every.snapshots[2].params, plain.done.params);
  const listed = await collect(train({ ...baseline, snapshots: atEpochs([0, 7]) }));
  assert.deepEqual(listed.snapshots.map((s) => [s.index, s.epoch, s.step]), [[1, 0, 3], [
    2,
    7,
    31,
  ]]);
  const cyclic = await collect(train({ ...config(backend), snapshots: none() }));
  assert.deepEqual(cyclic.snapshots, []);
  assert.equal(cyclic.done.params.length, plain.done.params.length);
  backend.dispose();
});

Deno.test("train: the epoch event counts the snapshot taken at its end", async () => {
  const backend = createCpuBackend();
  const events: TrainEvent[] = [];
  for await (const e of train(config(backend))) events.push(e);
  const epochs = events.filter((e) => e.type === "epoch");
  assert.deepEqual(epochs.map((e) => e.snapshotsTaken), [
    ...Array(9).fill(0),
    1,
    ...Array(9).fill(1),
    2,
  ]);
  // Order: the epoch event, then its snapshot.
  const tenth = events.findIndex((e) => e.type === "epoch" && e.epoch === 9);
  assert.equal(events[tenth + 1].type, "snapshot");
  backend.dispose();
});

Deno.test("train: non-finite parameters are divergence, and no bad snapshot is emitted or kept", async () => {
  // The second read of the parameters (the snapshot after epoch 9, the last step) holds a NaN
  // while every loss was finite.
  const backend = spyBackend(Infinity, 2);
  const emitted: number[] = [];
  await assert.rejects(
    async () => {
      for await (
        const e of train(
          config(backend, { schedule: constant(0.01), epochs: 10, snapshots: atEpochs([4, 9]) }),
        )
      ) {
        if (e.type === "snapshot") emitted.push(e.epoch);
      }
    },
    (error: unknown) => {
      assert.ok(error instanceof TrainingDivergedError, String(error));
      assert.equal(error.step, 39);
      assert.match(error.message, /parameters became NaN by step 39/);
      assert.deepEqual(error.snapshots.map((s) => (s as { epoch: number }).epoch), [4]);
      return true;
    },
  );
  assert.deepEqual(emitted, [4]);
  backend.dispose();
});

Deno.test("train: a lost device or a disposed backend mid-run keeps the snapshots taken", async () => {
  // The third readback fails: after the snapshots of epochs 9 and 19 (atEpochs reads at each).
  const lost = spyBackend(3);
  const config3 = config(lost, {
    epochs: 30,
    schedule: constant(0.01),
    snapshots: everyEpochs(10),
  });
  await assert.rejects(collect(train(config3)), (error: unknown) => {
    assert.ok(error instanceof TrainingInterruptedError, String(error));
    assert.equal(error.step, 80);
    assert.match(error.message, /device was lost \(stand-in\)/);
    assert.deepEqual(error.snapshots.map((s) => (s as { epoch: number }).epoch), [9, 19]);
    return true;
  });
  lost.dispose();

  const cpu = createCpuBackend();
  await assert.rejects(
    async () => {
      for await (
        const e of train(
          config(cpu, { epochs: 30, schedule: constant(0.01), snapshots: everyEpochs(10) }),
        )
      ) {
        if (e.type === "snapshot") cpu.dispose();
      }
    },
    (error: unknown) => {
      assert.ok(error instanceof TrainingInterruptedError, String(error));
      assert.match(error.message, /disposed/);
      assert.equal(error.snapshots.length, 1);
      return true;
    },
  );
});

Deno.test("train: the backend gets the run's seed and every plan's global first step", async () => {
  const spy = spyBackend();
  const base = config(spy, { seed: 7, checkpointEvery: 10 });
  let checkpoint;
  for await (const e of train(base)) {
    if (e.type === "checkpoint") {
      checkpoint = e.checkpoint;
      break;
    }
  }
  assert.equal(spy.sessions[0].seed, 7);
  assert.deepEqual(spy.plans.map((p) => p.firstStep), [0]);
  assert.equal(checkpoint?.step, 40);
  spy.plans.length = 0;
  await collect(train({ ...base, resume: checkpoint }));
  assert.equal(spy.sessions[1].seed, 7);
  assert.deepEqual(spy.plans.map((p) => p.firstStep), [40]);
  spy.dispose();
});

Deno.test("train door: any value in any config field gives a Right or a ConfigError, never a throw", () => {
  const backend = createCpuBackend();
  const base = config(backend);
  const fields = [
    "backend",
    "model",
    "optimizer",
    "schedule",
    "lrPer",
    "epochs",
    "batchSize",
    "data",
    "validation",
    "seed",
    "init",
    "initialParams",
    "replicas",
    "snapshots",
    "keepLast",
    "reportEvery",
    "checkpointEvery",
    "resetOptimizerAtRestart",
    "shuffle",
    "resume",
  ];
  const odd = fc.oneof(
    fc.anything({ maxDepth: 3 }),
    fc.constantFrom(null, undefined, NaN, -1, 0, 1e308, 2 ** 53, "x", [], {}, () => 1),
    fc.record({
      x: fc.anything({ maxDepth: 1 }),
      y: fc.anything({ maxDepth: 1 }),
      n: fc.anything(),
    }),
    fc.record({
      kind: fc.constantFrom("sgd", "adam", "everyEpochs", "atEpochs"),
      every: fc.anything(),
    }),
  );
  fc.assert(
    fc.property(
      fc.constantFrom(...fields),
      odd,
      fc.constantFrom(...fields),
      odd,
      (f1, v1, f2, v2) => {
        const cfg = { ...base, [f1]: v1, [f2]: v2 } as unknown as TrainConfig;
        const planned = planRun(cfg);
        assert.ok(planned._tag === "Left" || planned._tag === "Right");
        if (planned._tag === "Left") {
          assert.ok(planned.left.length > 0);
          assert.throws(() => train(cfg), ConfigError);
        }
      },
    ),
    { seed: 20261201, numRuns: 400 },
  );
  backend.dispose();
});
