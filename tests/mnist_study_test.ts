/**
 * The MNIST study (examples/mnist.ts): the paired summary against hand computation, and a short
 * run whose `--json` output has exactly the shape the fidelity issue fixes, with `--save` writing
 * the charts and the ensemble file.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { MethodComparison } from "../mod.ts";
import { meanSd, summarise } from "../examples/_mnist_report.ts";
import { METHOD_IDS } from "../examples/_mnist_methods.ts";

const row = (id: string, accuracy: number, logLoss: number): MethodComparison => ({
  id,
  members: id === "single-cosine" ? 1 : 3,
  accuracy,
  logLoss,
  logLossTemperature: logLoss - 0.01,
  temperature: 1.1,
  brier: 0.1,
  ece: 0.02,
  disagreement: id === "single-cosine" ? null : 0.01,
  trainSteps: 10,
  inferenceCost: 100,
});

Deno.test("mnist study: mean, sample sd and paired differences over seeds", () => {
  assert.deepEqual(meanSd([1]), { mean: 1, sd: 0 });
  const { mean, sd } = meanSd([1, 2, 3, 4]);
  assert.equal(mean, 2.5);
  assert.ok(Math.abs(sd - Math.sqrt(5 / 3)) < 1e-12);
  const s = summarise({ epochs: 1 }, [
    [row("single-cosine", 0.9, 0.3), row("snapshot", 0.92, 0.25)],
    [row("single-cosine", 0.8, 0.5), row("snapshot", 0.79, 0.45)],
  ]);
  assert.equal(s.seeds, 2);
  assert.deepEqual(s.paired.map((p) => p.id), ["snapshot"]);
  const d = s.paired[0];
  assert.ok(Math.abs(d.accuracyDiff.mean - 0.005) < 1e-12);
  assert.ok(Math.abs(d.accuracyDiff.sd - Math.sqrt(2 * 0.015 ** 2)) < 1e-12);
  assert.ok(Math.abs(d.logLossDiff.mean + 0.05) < 1e-12);
  assert.equal(d.logLossDiff.sd, 0);
  assert.equal(s.methods[0].disagreement, null);
  assert.equal(s.methods[1].disagreement, 0.01);
});

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const isMeanSd = (v: unknown) =>
  typeof v === "object" && v !== null && Object.keys(v).join() === "mean,sd" &&
  Object.values(v).every(Number.isFinite);

Deno.test("mnist study: --json prints exactly the issue's object, --save writes the charts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--lock=tools/dev.lock",
        "-A",
        "examples/mnist.ts",
        "--epochs",
        "2",
        "--cycles",
        "2",
        "--seeds",
        "2",
        "--full-cost",
        "--dropout", // on the default wasm backend, which draws the masks
        "0.2",
        "--json",
        "--save",
        dir,
      ],
      cwd: ROOT,
      env: { XDG_RUNTIME_DIR: "/tmp" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const text = new TextDecoder().decode(out.stdout).trim();
    assert.equal(text.split("\n").length, 1, "exactly one line on stdout");
    const json = JSON.parse(text);
    assert.deepEqual(Object.keys(json), ["protocol", "seeds", "methods", "paired"]);
    assert.equal(json.seeds, 2);
    assert.equal(json.protocol.epochs, 2);
    assert.equal(json.protocol.cycles, 2);
    assert.equal(json.protocol.dropout, 0.2);
    assert.equal(json.protocol.backend, "wasm");
    assert.deepEqual(json.methods.map((m: { id: string }) => m.id), [...METHOD_IDS]);
    for (const m of json.methods) {
      assert.deepEqual(Object.keys(m), [
        "id",
        "accuracy",
        "logLoss",
        "logLossTemperature",
        "ece",
        "disagreement",
        "trainSteps",
        "members",
      ]);
      for (const k of ["accuracy", "logLoss", "logLossTemperature", "ece"]) {
        assert.ok(isMeanSd(m[k]), `${m.id}.${k}`);
      }
      assert.ok(m.disagreement === null || Number.isFinite(m.disagreement));
      const single = ["single-cosine", "single-step", "swa"].includes(m.id);
      if (m.id !== "snapshot-selected") assert.equal(m.disagreement === null, single, m.id);
    }
    const steps = Object.fromEntries(
      json.methods.map((m: { id: string; trainSteps: number }) => [m.id, m.trainSteps]),
    );
    // Equal cost: 2 epochs of ceil(7000 / 128) steps; true-full pays M times that.
    for (const id of METHOD_IDS.slice(0, -1)) assert.equal(steps[id], 2 * 55, id);
    assert.equal(steps["true-full"], 2 * 2 * 55);
    assert.deepEqual(json.paired.map((p: { id: string }) => p.id), METHOD_IDS.slice(1));
    for (const p of json.paired) {
      assert.deepEqual(Object.keys(p), ["id", "accuracyDiff", "logLossDiff"]);
      assert.ok(isMeanSd(p.accuracyDiff) && isMeanSd(p.logLossDiff));
    }
    const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(files, [
      "mnist_disagreement.svg",
      "mnist_ensemble_order.svg",
      "mnist_interpolation.svg",
      "mnist_snapshots.safetensors",
    ]);
    for (const f of files.filter((f) => f.endsWith(".svg"))) {
      assert.match(await Deno.readTextFile(`${dir}/${f}`), /^<svg /);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
