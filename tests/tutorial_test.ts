/**
 * examples/blobs.ts against a PyTorch replica of the tutorial (tools/tutorial_torch_replica.py, run
 * with Debian's python3-torch; its output is tests/fixtures/tutorial_torch_replica.json). The two
 * draw weights and batch orders from different generators, so they are compared in distribution:
 * the mean accuracies over several seeds must agree, and in both the ensembles of the last 3-5
 * snapshots must be at least as good as the average snapshot.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

// Children resolve with the dev lock, so a test run never grows the root deno.lock.
const DEV_LOCK = `--lock=${new URL("../tools/dev.lock", import.meta.url).pathname}`;

interface Replica {
  readonly summary: {
    readonly singleMean: number;
    readonly singleMeanStd: number;
    readonly ensembleMean: ReadonlyArray<number>;
  };
}

interface ExampleJson {
  readonly backend: string;
  readonly epochs: number;
  readonly cycles: number;
  readonly snapshots: ReadonlyArray<{ index: number; epoch: number; testAccuracy: number }>;
  readonly ensemble: ReadonlyArray<{ members: number; testAccuracy: number }>;
  readonly singleMean: number;
}

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SEEDS = [1, 2, 3, 4];

async function runExample(seed: number): Promise<ExampleJson> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      DEV_LOCK,
      "examples/blobs.ts",
      "--json",
      "--backend",
      "cpu",
      "--seed",
      String(seed),
    ],
    cwd: ROOT,
    env: { XDG_RUNTIME_DIR: "/tmp" },
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const text = new TextDecoder().decode(stdout);
  // --json prints exactly one JSON object on stdout and nothing else.
  assert.equal(text.trim().split("\n").length, 1, text);
  return JSON.parse(text);
}

const mean = (values: ReadonlyArray<number>): number =>
  values.reduce((a, b) => a + b, 0) / values.length;

Deno.test("examples/blobs.ts --json: one object with the fields issue 4 names", async () => {
  const run = await runExample(1);
  assert.deepEqual(Object.keys(run), [
    "backend",
    "adapter",
    "epochs",
    "cycles",
    "trainMs",
    "snapshots",
    "ensemble",
    "singleMean",
  ]);
  assert.equal(run.backend, "cpu");
  assert.deepEqual(run.snapshots.map((s) => s.epoch), [
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
  assert.deepEqual(run.snapshots.map((s) => s.index), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(run.ensemble.map((e) => e.members), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.ok(Math.abs(run.singleMean - mean(run.snapshots.map((s) => s.testAccuracy))) < 1e-12);
  // ensemble[0] is the last snapshot alone.
  assert.equal(run.ensemble[0].testAccuracy, run.snapshots[9].testAccuracy);
});

Deno.test("examples/blobs.ts agrees with a PyTorch replica of the tutorial", async () => {
  const replica: Replica = JSON.parse(
    await Deno.readTextFile(new URL("./fixtures/tutorial_torch_replica.json", import.meta.url)),
  );
  const runs = await Promise.all(SEEDS.map(runExample));
  const singleMean = mean(runs.map((r) => r.singleMean));
  // Single snapshots near 0.80, as in the tutorial and the replica.
  assert.ok(
    Math.abs(singleMean - replica.summary.singleMean) < 0.01,
    `snapfold ${singleMean} vs PyTorch ${replica.summary.singleMean}`,
  );
  for (const members of [3, 4, 5]) {
    const ours = mean(runs.map((r) => r.ensemble[members - 1].testAccuracy));
    const theirs = replica.summary.ensembleMean[members - 1];
    assert.ok(
      Math.abs(ours - theirs) < 0.01,
      `last ${members}: snapfold ${ours}, PyTorch ${theirs}`,
    );
    // The ensemble of the last 3-5 is at least as good as the average snapshot, in both.
    assert.ok(
      ours >= singleMean - 0.002,
      `last ${members}: ${ours} < average snapshot ${singleMean}`,
    );
    assert.ok(theirs >= replica.summary.singleMean - 0.002);
  }
});
