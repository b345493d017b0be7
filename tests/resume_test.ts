/**
 * examples/resume.ts: a run stopped with a checkpoint file and resumed in a new process reaches the
 * same snapshots, bit for bit, as an uninterrupted run (CPU).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { collect, createCpuBackend, train } from "../mod.ts";
import { loadCheckpoint, loadEnsemble } from "../io.ts";
import { runConfig } from "../examples/resume.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

async function runExample(args: string[], dir: string) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      "--allow-run",
      "examples/resume.ts",
      `--dir=${dir}`,
      ...args,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code, stdout: text(stdout), stderr: text(stderr) };
}

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

Deno.test("examples/resume.ts: stopped, resumed in a new process, the snapshots are bit-identical", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const flags = { epochs: 40, cycles: 4, stopAfter: 15, seed: 3 };
    const { code, stdout, stderr } = await runExample(
      ["--epochs=40", "--cycles=4", "--stop-after=15", "--seed=3", "--json"],
      dir,
    );
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "");
    const out = JSON.parse(stdout);
    assert.equal(out.stoppedAfterEpoch, 15);
    assert.equal(out.identical, true);
    assert.deepEqual(
      out.snapshots.map((s: { index: number; part: string }) => [s.index, s.part]),
      [[1, "before the stop"], [2, "new process"], [3, "new process"], [4, "new process"]],
    );

    // Checked here as well, from the files the two processes left: the checkpoint at epoch 15 and
    // the new process's snapshots, against an uninterrupted run of the same config in this process.
    const backend = createCpuBackend();
    const whole = await collect(train(runConfig(flags, backend)));
    backend.dispose();
    const checkpoint = await loadCheckpoint(`${dir}/run.ckpt.safetensors`);
    assert.equal(checkpoint.epoch, 15);
    assert.equal(checkpoint.snapshotsTaken, 1);
    const resumed = (await loadEnsemble(`${dir}/resumed.safetensors`)).snapshots;
    assert.deepEqual(resumed.map((s) => s.index), [2, 3, 4]);
    assert.equal(whole.snapshots.length, 4);
    for (const [i, s] of resumed.entries()) {
      const reference = whole.snapshots[i + 1];
      assert.equal(s.epoch, reference.epoch);
      assert.deepEqual(bits(s.params), bits(reference.params), `snapshot ${s.index}`);
    }
    // A resumed run that took a different path would not match: the first snapshot differs from
    // the later ones, so the comparison above can fail.
    assert.notDeepEqual(bits(whole.snapshots[1].params), bits(whole.snapshots[2].params));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("examples/resume.ts: a stop at or after the last epoch is refused before training", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { code, stdout, stderr } = await runExample(["--epochs=10", "--stop-after=10"], dir);
    assert.equal(code, 1);
    assert.equal(stdout, "");
    assert.match(
      stderr,
      /--stop-after must be below --epochs: got 10 >= 10\nUsage: deno run examples\/resume\.ts /,
    );
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
