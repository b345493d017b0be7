import assert from "node:assert/strict";
import {
  collect,
  ConfigError,
  cosineAnnealing,
  createCpuBackend,
  makeBlobs,
  mlp,
  randomState,
  sgd,
  toFloat32,
  train,
  type TrainConfig,
} from "../mod.ts";
import { decodeCheckpoint, encodeCheckpoint } from "../lib/checkpoint_file.ts";
import { encodeEnsemble } from "../lib/persistence.ts";
import type { Checkpoint } from "../lib/train/config.ts";
import { join, split } from "./_file_edit.ts";

function sample(): Checkpoint {
  const rng = randomState(5);
  rng.gauss(); // a used generator: pos > 0 and a cached Gaussian
  return {
    epoch: 3,
    step: 12,
    snapshotsTaken: 2,
    params: Float32Array.from({ length: 17 }, (_, k) => Math.sin(k) * 1e-3),
    optimizerState: Float32Array.from({ length: 17 }, (_, k) => k === 4 ? NaN : k),
    random: rng.snapshot(),
  };
}

Deno.test("decodeCheckpoint(encodeCheckpoint(c)) returns c exactly", () => {
  const c = sample();
  const back = decodeCheckpoint(encodeCheckpoint(c));
  assert.deepEqual(back, c);
  assert.ok(back.params instanceof Float32Array);
});

Deno.test("a run resumed from a decoded checkpoint file gives the uninterrupted run's snapshots", async () => {
  const blobs = makeBlobs({ nSamples: 200, centers: 3, clusterStd: 2, randomState: 2 });
  const backend = createCpuBackend();
  const config: TrainConfig = {
    backend,
    model: mlp({ layers: [2, 8, 3] }),
    optimizer: sgd({ momentum: 0.9 }),
    schedule: cosineAnnealing({ lrMax: 0.01, totalSteps: 12, cycles: 3 }),
    lrPer: "epoch",
    epochs: 12,
    batchSize: 32,
    data: { x: toFloat32(blobs.x), y: blobs.y, n: blobs.n },
    seed: 3,
    checkpointEvery: 5,
  };
  try {
    const whole = await collect(train(config));
    assert.ok(whole.checkpoint !== undefined);
    const file = encodeCheckpoint(whole.checkpoint);
    const rest = await collect(train({ ...config, resume: decodeCheckpoint(file) }));
    const direct = await collect(train({ ...config, resume: whole.checkpoint }));
    assert.deepEqual(rest.snapshots, direct.snapshots);
    assert.deepEqual(
      rest.snapshots.map((s) => s.params),
      whole.snapshots.slice(-rest.snapshots.length).map((s) => s.params),
    );
  } finally {
    backend.dispose();
  }
});

Deno.test("every single-bit flip of a checkpoint file is rejected", () => {
  const c = { ...sample(), params: new Float32Array(2), optimizerState: new Float32Array(0) };
  const bytes = encodeCheckpoint(c);
  const original = decodeCheckpoint(bytes);
  let rejected = 0;
  for (let i = 0; i < bytes.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const b = bytes.slice();
      b[i] ^= 1 << bit;
      try {
        assert.deepEqual(
          decodeCheckpoint(b),
          original,
          `flip ${i}.${bit} loaded different content`,
        );
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        rejected++;
      }
    }
  }
  // The seal covers every byte, the padding and the length included.
  assert.equal(rejected, bytes.length * 8);
});

Deno.test("encodeCheckpoint names every bad field; decode refuses ensembles and unsealed files", () => {
  const c = sample();
  assert.throws(
    () =>
      encodeCheckpoint({
        ...c,
        epoch: -1,
        step: 1.5,
        params: [1] as unknown as Float32Array,
        random: { ...c.random, pos: 999 },
      }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /^Cannot encode checkpoint: /);
      assert.deepEqual(e.issues.map((i) => i.field), ["epoch", "step", "params", "random.pos"]);
      return true;
    },
  );
  assert.throws(() => encodeCheckpoint(null as never), /checkpoint must be a checkpoint object/);
  const spec = mlp({ layers: [2, 2] });
  const ensemble = encodeEnsemble({
    snapshots: [{ index: 1, epoch: 0, step: 0, lr: 0, spec, params: new Float32Array(6) }],
  });
  assert.throws(() => decodeCheckpoint(ensemble), /file is an ensemble, not a checkpoint/);
  // The same file without its seal: checkpoints are always sealed.
  const bytes = encodeCheckpoint(c);
  const n = new DataView(bytes.buffer).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  delete header.__metadata__["snapfold.data_sha256"];
  delete header.__metadata__["snapfold.header_sha256"];
  const json = new TextEncoder().encode(JSON.stringify(header));
  const unsealed = new Uint8Array(8 + json.length + bytes.length - 8 - n);
  new DataView(unsealed.buffer).setUint32(0, json.length, true);
  unsealed.set(json, 8);
  unsealed.set(bytes.subarray(8 + n), 8 + json.length);
  assert.throws(() => decodeCheckpoint(unsealed), /checkpoint files are always sealed/);
});

Deno.test("a checkpoint file whose record or tensors are wrong is refused, naming the field", () => {
  const bytes = encodeCheckpoint(sample());
  const { header, data } = split(bytes);
  // deno-lint-ignore no-explicit-any
  const edit = (fn: (h: Record<string, any>) => void, pattern: RegExp) => {
    const h = structuredClone(header);
    fn(h);
    assert.throws(() => decodeCheckpoint(join(h, data)), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /^Cannot decode checkpoint file: /);
      assert.match(e.message, pattern);
      return true;
    });
  };
  // deno-lint-ignore no-explicit-any
  const record = (fn: (r: Record<string, unknown>) => void) => (h: Record<string, any>) => {
    const r = JSON.parse(h.__metadata__["snapfold.checkpoint"]);
    fn(r);
    h.__metadata__["snapfold.checkpoint"] = JSON.stringify(r);
  };
  assert.deepEqual(decodeCheckpoint(join(header, data)), sample()); // the helper seals correctly
  edit(
    record((r) => {
      r.epoch = -1;
      r.snapshotsTaken = 0.5;
    }),
    /snapfold\.checkpoint\.epoch must be a non-negative integer: got -1; .*snapshotsTaken must be a non-negative integer: got 0\.5/,
  );
  edit(record((r) => r.extra = 1), /snapfold\.checkpoint\.extra is not an option/);
  edit(
    record((r) => (r.random as Record<string, unknown>).pos = 700),
    /snapfold\.checkpoint\.random\.pos must be an integer in \[0, 624\]/,
  );
  edit(record((r) => delete r.random), /snapfold\.checkpoint must be a JSON object/);
  edit(
    (h) => h.__metadata__["snapfold.checkpoint"] = '{"epoch":1,"epoch":2}',
    /snapfold\.checkpoint must be JSON: duplicate key "epoch"/,
  );
  edit((h) => h["random.key"].dtype = "F32", /random\.key\.dtype must be "U32": got "F32"/);
  edit((h) => {
    h["params"].shape = [17, 1];
  }, /params\.shape must be one-dimensional/);
  edit((h) => delete h.__metadata__["snapfold.version"], /snapfold\.version is missing/);
});
