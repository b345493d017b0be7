import assert from "node:assert/strict";
import {
  type Backend,
  collect,
  ConfigError,
  cosineAnnealing,
  createCpuBackend,
  initParams,
  makeBlobs,
  mlp,
  paramCount,
  planRun,
  sequence,
  sgd,
  splitAt,
  toFloat32,
  train,
  type TrainConfig,
  type TrainEvent,
  TrainingDivergedError,
  warmRestarts,
} from "../mod.ts";

const blobs = makeBlobs({ nSamples: 1100, centers: 3, clusterStd: 2, randomState: 2 });
const [trainSet, testSet] = splitAt(blobs, 100);
const DATA = { x: toFloat32(trainSet.x), y: trainSet.y, n: trainSet.n };
const TEST = { x: toFloat32(testSet.x), y: testSet.y, n: testSet.n };

function tutorial(backend: Backend, overrides: Partial<TrainConfig> = {}): TrainConfig {
  return {
    backend,
    model: mlp({ layers: [2, 25, 3], activation: "relu", head: "softmax" }),
    optimizer: sgd({ momentum: 0.9 }),
    schedule: cosineAnnealing({ lrMax: 0.01, totalSteps: 500, cycles: 10 }),
    lrPer: "epoch",
    epochs: 500,
    batchSize: 32,
    data: DATA,
    seed: 1,
    ...overrides,
  };
}

/** A CPU backend that pretends to be a GPU, to count what the trainer reads back there. */
function countingGpuStandIn(): Backend & { reads: string[] } {
  const cpu = createCpuBackend();
  const reads: string[] = [];
  return {
    kind: "webgpu",
    readCost: "costly",
    adapter: "stand-in",
    softwareAdapter: false,
    get readbacks() {
      return reads.length;
    },
    reads,
    async createSession(options) {
      const session = await cpu.createSession(options);
      return {
        paramCount: session.paramCount,
        replicas: session.replicas,
        run: (plan) => session.run(plan),
        readStats: () => (reads.push("stats"), session.readStats()),
        readParams: () => (reads.push("params"), session.readParams()),
        readOptimizerState: () => (reads.push("state"), session.readOptimizerState()),
        dispose: () => session.dispose(),
      };
    },
    predict: (o) => (reads.push("predict"), cpu.predict(o)),
    dispose: () => cpu.dispose(),
  };
}

Deno.test("train: the tutorial run snapshots after epochs 49, 99, ..., 499 at the cycle minimum", async () => {
  const backend = createCpuBackend();
  const result = await collect(train(tutorial(backend)));
  assert.deepEqual(result.snapshots.map((s) => s.epoch), [
    49,
    99,
    149,
    199,
    249,
    299,
    349,
    399,
    449,
    499,
  ]);
  assert.deepEqual(result.snapshots.map((s) => s.index), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  // 100 samples in batches of 32: 4 steps per epoch; a snapshot follows the epoch's last step.
  assert.deepEqual(
    result.snapshots.map((s) => s.step),
    result.snapshots.map((s) => s.epoch * 4 + 3),
  );
  const lrMin = 0.01 / 2 * (Math.cos(Math.PI * 49 / 50) + 1);
  for (const s of result.snapshots) assert.ok(Math.abs(s.lr - lrMin) < 1e-9, `lr ${s.lr}`);
  assert.equal(result.history.length, 500);
  assert.deepEqual(result.history.map((e) => e.epoch), [...Array(500).keys()]);
  assert.equal(result.done.steps, 2000);
  // Snapshots are copies: they differ from each other and from nothing shared.
  assert.notDeepEqual(result.snapshots[0].params, result.snapshots[9].params);
  assert.deepEqual(result.done.params, result.snapshots[9].params);
  // It learned: the last epoch's training accuracy is well above chance (3 classes).
  assert.ok((result.history[499].accuracy ?? 0) > 0.6, `accuracy ${result.history[499].accuracy}`);
  backend.dispose();
});

Deno.test("train: a trailing partial cycle gets no snapshot, and the plan says so", async () => {
  const backend = createCpuBackend();
  // 53 epochs, 5 cycles: floor(53 / 5) = 10 epochs a cycle, then 3 epochs of a sixth cycle that
  // never reaches its minimum (the old trainer took a sixth "snapshot" there).
  const config = tutorial(backend, {
    epochs: 53,
    schedule: cosineAnnealing({ lrMax: 0.01, totalSteps: 53, cycles: 5 }),
  });
  const plan = planRun(config);
  assert.ok(plan._tag === "Right");
  assert.deepEqual(plan.right.notes, [
    "the last 12 steps (3 epochs) form a partial cycle and get no snapshot; the final parameters " +
    "are in the done event",
  ]);
  const result = await collect(train(config));
  assert.deepEqual(result.snapshots.map((s) => s.epoch), [9, 19, 29, 39, 49]);
  assert.equal(result.history.length, 53);
  assert.notDeepEqual(result.done.params, result.snapshots[4].params);
  backend.dispose();
});

Deno.test("train: per-step lr changes inside an epoch, per-epoch lr does not", async () => {
  const backend = createCpuBackend();
  const lrs = (events: TrainEvent[]) =>
    events.filter((e) => e.type === "snapshot").map((e) => e.lr);
  const perStep: TrainEvent[] = [];
  for await (
    const e of train(tutorial(backend, {
      epochs: 10,
      lrPer: "step",
      schedule: cosineAnnealing({ lrMax: 0.01, totalSteps: 40, cycles: 4 }),
    }))
  ) perStep.push(e);
  // 40 steps, 4 cycles of 10 steps: snapshots after steps 9, 19, 29, 39 (mid-epoch for 9 and 29).
  assert.deepEqual(perStep.filter((e) => e.type === "snapshot").map((e) => e.step), [
    9,
    19,
    29,
    39,
  ]);
  const lrMin = 0.01 / 2 * (Math.cos(Math.PI * 9 / 10) + 1);
  for (const lr of lrs(perStep)) assert.ok(Math.abs(lr - lrMin) < 1e-9);
  backend.dispose();
});

Deno.test("train: keepLast keeps only the last k snapshots but emits them all", async () => {
  const backend = createCpuBackend();
  let emitted = 0;
  const events: TrainEvent[] = [];
  for await (
    const e of train(
      tutorial(backend, {
        epochs: 100,
        keepLast: 3,
        schedule: cosineAnnealing({ lrMax: 0.01, totalSteps: 100, cycles: 10 }),
      }),
    )
  ) {
    if (e.type === "snapshot") emitted++;
    events.push(e);
  }
  const done = events.at(-1);
  assert.ok(done?.type === "done");
  assert.equal(emitted, 10);
  assert.deepEqual(done.snapshots.map((s) => s.index), [8, 9, 10]);
  backend.dispose();
});

Deno.test("train: a run resumed from a checkpoint gives the same snapshots as an uninterrupted one", async () => {
  const backend = createCpuBackend();
  const config = tutorial(backend, {
    epochs: 60,
    schedule: cosineAnnealing({ lrMax: 0.01, totalSteps: 60, cycles: 6 }),
    checkpointEvery: 25,
  });
  const whole = await collect(train(config));

  // Stop after the first checkpoint (epoch 25), as a crash would.
  const before: TrainEvent[] = [];
  let checkpoint;
  for await (const e of train(config)) {
    before.push(e);
    if (e.type === "checkpoint") {
      checkpoint = e.checkpoint;
      break;
    }
  }
  assert.ok(checkpoint !== undefined);
  assert.equal(checkpoint.epoch, 25);
  const rest = await collect(train({ ...config, resume: checkpoint }));
  const firstPart = before.filter((e) => e.type === "snapshot");
  const resumed = [...firstPart.map((e) => e.params), ...rest.snapshots.map((s) => s.params)];
  assert.equal(resumed.length, 6);
  assert.deepEqual(rest.snapshots.map((s) => s.index), [3, 4, 5, 6]);
  for (let i = 0; i < 6; i++) assert.deepEqual(resumed[i], whole.snapshots[i].params);
  backend.dispose();
});

Deno.test("train: a diverging loss stops at the step it happened and keeps earlier snapshots", async () => {
  const backend = createCpuBackend();
  // The second cycle peaks at 0.05 * 1e8: the loss overflows soon after the restart. (A growing
  // lrMultiplier is refused now, so the second cycle is a phase of its own.)
  const config = tutorial(backend, {
    epochs: 40,
    schedule: sequence([
      { schedule: warmRestarts({ cycleLength: 10, lrMax: 0.05 }), steps: 10 },
      { schedule: warmRestarts({ cycleLength: 10, lrMax: 0.05 * 1e8 }) },
    ]),
  });
  const snapshots: number[] = [];
  await assert.rejects(
    async () => {
      for await (const e of train(config)) if (e.type === "snapshot") snapshots.push(e.epoch);
    },
    (error: unknown) => {
      assert.ok(error instanceof TrainingDivergedError);
      assert.ok(error.step >= 40, `step ${error.step}`);
      assert.match(error.message, new RegExp(`at step ${error.step} `));
      assert.match(error.message, /lower learning rate/);
      assert.deepEqual(error.snapshots.map((s) => (s as { epoch: number }).epoch), [9]);
      return true;
    },
  );
  assert.deepEqual(snapshots, [9]);
  backend.dispose();
});

Deno.test("train: a bad config is rejected at the door with every problem at once", () => {
  const backend = createCpuBackend();
  const x = new Float32Array([0, 1, NaN, 3]);
  assert.throws(
    () =>
      train(tutorial(backend, {
        epochs: 0,
        batchSize: 2.5,
        data: { x, y: new Int32Array([0, 7]), n: 2 },
      })),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      const fields = error.issues.map((i) => i.field).join(" ");
      assert.match(fields, /epochs/);
      assert.match(fields, /batchSize/);
      assert.match(fields, /data\./);
      assert.match(error.message, /NaN|finite/);
      assert.match(error.message, /7/);
      return true;
    },
  );
  assert.throws(
    () => train(tutorial(backend, { schedule: ((_: number) => 0.1) as never })),
    /schedule must be a schedule/,
  );
  backend.dispose();
});

Deno.test("train: on a GPU the 500-epoch tutorial run needs no more than 20 readbacks", async () => {
  const backend = countingGpuStandIn();
  const result = await collect(train(tutorial(backend)));
  assert.equal(result.snapshots.length, 10);
  assert.equal(result.history.length, 500);
  assert.ok(
    result.done.readbacks <= 20,
    `readbacks ${result.done.readbacks}: ${backend.reads.join()}`,
  );
  // The CPU twin of the same run gives the same snapshots: reading less changes nothing.
  const cpu = createCpuBackend();
  const reference = await collect(train(tutorial(cpu)));
  assert.deepEqual(result.snapshots.map((s) => s.params), reference.snapshots.map((s) => s.params));
  assert.deepEqual(result.history, reference.history);
  cpu.dispose();
  backend.dispose();
});

Deno.test("train: validation metrics arrive with the epochs that are reported", async () => {
  const backend = createCpuBackend();
  const result = await collect(train(tutorial(backend, {
    epochs: 20,
    schedule: cosineAnnealing({ lrMax: 0.01, totalSteps: 20, cycles: 2 }),
    validation: TEST,
    reportEvery: 5,
  })));
  const reported = result.history.filter((e) => e.validation !== undefined).map((e) => e.epoch);
  assert.deepEqual(reported, [4, 9, 14, 19]);
  for (const e of result.history) {
    if (e.validation) {
      const accuracy = e.validation.accuracy ?? NaN;
      assert.ok(accuracy > 0 && accuracy <= 1);
      assert.ok(Number.isFinite(e.validation.loss));
    }
  }
  backend.dispose();
});

Deno.test("train: replicas train side by side exactly as separate runs from their own init", async () => {
  const backend = createCpuBackend();
  const model = mlp({ layers: [2, 25, 3] });
  const base = tutorial(backend, {
    epochs: 20,
    schedule: cosineAnnealing({ lrMax: 0.01, totalSteps: 20, cycles: 2 }),
  });
  const together = await collect(train({ ...base, replicas: 3 }));
  assert.equal(together.snapshots.length, 6);
  assert.deepEqual(together.snapshots.map((s) => [s.index, s.replica]), [
    [1, 0],
    [1, 1],
    [1, 2],
    [2, 0],
    [2, 1],
    [2, 2],
  ]);
  const inits = initParams(model, { seed: 1, replicas: 3 });
  const p = paramCount(model);
  for (let r = 0; r < 3; r++) {
    const alone = await collect(train({ ...base, initialParams: inits.slice(r * p, (r + 1) * p) }));
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(together.snapshots[i * 3 + r].params, alone.snapshots[i].params);
    }
    assert.deepEqual(
      together.history.map((e) => e.replicas![r].loss),
      alone.history.map((e) => e.loss),
    );
  }
  backend.dispose();
});

Deno.test("train: a schedule whose first cycle outlasts the run is rejected, naming the fix", () => {
  const backend = createCpuBackend();
  // 100-epoch cycles, but only 4 epochs of training: no cycle ends at its minimum.
  assert.throws(
    () =>
      train(tutorial(backend, {
        epochs: 4,
        schedule: warmRestarts({ lrMax: 0.1, cycleLength: 100 }),
      })),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /cannot produce a snapshot in 16 steps/);
      assert.match(error.message, /first cycle ends after step 399/);
      return true;
    },
  );
  backend.dispose();
});

Deno.test("train: misspelt options and a missing config are errors, not silent defaults", () => {
  const backend = createCpuBackend();
  const config = { ...tutorial(backend), lr_per: "epoch" } as unknown as TrainConfig;
  assert.throws(() => train(config), /lr_per is not an option/);
  assert.throws(() => train(null as unknown as TrainConfig), ConfigError);
  backend.dispose();
});

Deno.test("train: reported lrs are the schedule's float64 values", async () => {
  const backend = createCpuBackend();
  const schedule = cosineAnnealing({ lrMax: 0.01, totalSteps: 20, cycles: 2 });
  const result = await collect(train(tutorial(backend, { epochs: 20, schedule })));
  assert.deepEqual(result.snapshots.map((s) => s.lr), [schedule(9), schedule(19)]);
  assert.deepEqual(result.history.map((e) => e.lr), result.history.map((e) => schedule(e.epoch)));
  backend.dispose();
});
