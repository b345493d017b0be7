import assert from "node:assert/strict";
import { epochBatches, epochsBatches, MAX_BATCH_INDICES, stepsPerEpoch } from "../lib/batches.ts";
import { ConfigError } from "../lib/errors.ts";
import { type RandomState, randomState } from "../lib/random.ts";

// deno-lint-ignore no-explicit-any
const anything = (v: unknown) => v as any;

function fields(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues.map((i) => i.field);
  }
  throw new Error("expected a ConfigError");
}

Deno.test("epochBatches names every bad option, whatever it is given", () => {
  assert.deepEqual(fields(() => epochBatches(randomState(0), anything(null))), ["options"]);
  assert.deepEqual(
    fields(() => epochBatches(randomState(0), anything({ n: "10", batchSize: [4], shuffle: 1 }))),
    ["n", "batchSize", "shuffle"],
  );
  assert.deepEqual(
    fields(() => epochBatches(randomState(0), anything({ n: 10, batchSize: 4, batch: 2 }))),
    ["batch"],
  );
  assert.deepEqual(fields(() => epochBatches(anything(null), { n: 10, batchSize: 4 })), ["random"]);
  assert.deepEqual(fields(() => epochsBatches(randomState(0), { n: 10, batchSize: 4 }, NaN)), [
    "epochs",
  ]);
  assert.deepEqual(fields(() => stepsPerEpoch(anything(undefined), 1e308)), ["n", "batchSize"]);
});

Deno.test("epochBatches without shuffling needs no random state", () => {
  const plain = epochBatches(anything(undefined) as RandomState, {
    n: 5,
    batchSize: 2,
    shuffle: false,
  });
  assert.deepEqual([...plain.offsets], [0, 2, 4, 5]);
});

Deno.test("epochsBatches refuses a request it would have to allocate gigabytes for", () => {
  assert.throws(
    () => epochsBatches(randomState(0), { n: 1e9, batchSize: 1 }, 1),
    /n times epochs \(1\) must be at most 67108864 sample indices/,
  );
  assert.throws(
    () => epochsBatches(randomState(0), { n: MAX_BATCH_INDICES / 4, batchSize: 32 }, 5),
    ConfigError,
  );
});
