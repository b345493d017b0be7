// saveOnnx and saveServingBundle: atomic files, a Triton model repository whose config.pbtxt names
// the inputs and outputs the model really has (read back by python3-onnx and ONNX Runtime).
import assert from "node:assert/strict";
import { ConfigError, ensemble } from "../mod.ts";
import { toOnnx, tritonConfig } from "../export.ts";
import { loadEnsemble, saveOnnx, saveServingBundle } from "../io.ts";
import { loadOnnxRuntime } from "../tools/onnxruntime.ts";
import {
  exportCases,
  hasPython,
  IN_CI,
  maxDiff,
  ROOT,
  rowsOf,
  runPython,
} from "./_export_cases.ts";

// Children resolve with the dev lock, so a test run never grows the root deno.lock.
const DEV_LOCK = `--lock=${new URL("../tools/dev.lock", import.meta.url).pathname}`;

const ort = loadOnnxRuntime();
const HAS_ONNX = hasPython("onnx");

/** The tensors a config.pbtxt declares: name and dims, per section. */
function declared(text: string, section: "input" | "output"): { name: string; dims: number[] }[] {
  const body = text.match(new RegExp(`^${section} \\[\\n([\\s\\S]*?)\\n\\]`, "m"))?.[1] ?? "";
  return [...body.matchAll(/name: "([^"]+)"\n\s+data_type: TYPE_FP32\n\s+dims: \[ ([^\]]*) \]/g)]
    .map((m) => ({ name: m[1], dims: m[2].split(", ").map(Number) }));
}

Deno.test("serving: saveOnnx writes toOnnx's bytes and leaves no temporary file", async () => {
  const [c] = exportCases().slice(1);
  const dir = await Deno.makeTempDir();
  try {
    await saveOnnx(`${dir}/m.onnx`, c.model, { memberOutputs: true });
    assert.deepEqual(
      await Deno.readFile(`${dir}/m.onnx`),
      toOnnx(c.model, { memberOutputs: true }),
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["m.onnx"]);
    await assert.rejects(saveOnnx(`${dir}/bad.onnx`, { ...c.model, weights: [] }), ConfigError);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["m.onnx"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "serving: the Triton bundle's config names the model's inputs and outputs",
  ignore: (!HAS_ONNX || !ort) && !IN_CI,
  async fn() {
    assert.ok(HAS_ONNX, "python3-onnx is missing: apt-get install -y python3-onnx");
    assert.ok(ort, "onnxruntime-node is missing: see tools/onnxruntime.ts (.ci/run installs it)");
    const [c] = exportCases().slice(1);
    const dir = await Deno.makeTempDir();
    try {
      const paths = await saveServingBundle(dir, c.model, {
        name: "blobs",
        maxBatchSize: 256,
        instances: 2,
        onnx: { memberOutputs: true },
      });
      assert.deepEqual(paths, {
        model: `${dir}/blobs/1/model.onnx`,
        config: `${dir}/blobs/config.pbtxt`,
      });
      const config = await Deno.readTextFile(paths.config);
      assert.match(config, /^name: "blobs"$/m);
      assert.match(config, /^platform: "onnxruntime_onnx"$/m);
      assert.match(config, /^max_batch_size: 256$/m);
      assert.match(config, /^dynamic_batching \{ \}$/m);
      assert.match(config, /count: 2 kind: KIND_CPU/);
      const model = await runPython("onnx_check.py", [paths.model]) as {
        inputs: { name: string; dims: (number | string)[] }[];
        outputs: { name: string; dims: (number | string)[] }[];
      };
      // Triton owns the batch dimension: the config's dims are the model's without it.
      const strip = (t: { name: string; dims: (number | string)[] }[]) =>
        t.map(({ name, dims }) => {
          assert.equal(dims[0], "batch");
          return { name, dims: dims.slice(1) };
        });
      assert.deepEqual(declared(config, "input"), strip(model.inputs));
      assert.deepEqual(declared(config, "output"), strip(model.outputs));
      const session = await ort.InferenceSession.create(await Deno.readFile(paths.model));
      assert.deepEqual(declared(config, "input").map((t) => t.name), session.inputNames);
      assert.deepEqual(declared(config, "output").map((t) => t.name), session.outputNames);
      await session.release();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("serving: bad bundle options are refused before anything is written", async () => {
  const [c] = exportCases();
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      saveServingBundle(dir, c.model, { name: "../up", maxBatchSize: 0 }),
      (e: unknown) =>
        e instanceof ConfigError && /Cannot save serving bundle/.test(e.message) &&
        /name/.test(e.message) && /maxBatchSize/.test(e.message),
    );
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    assert.throws(
      () => tritonConfig({ inputs: [], outputs: [] }, { instances: 1.5 }),
      /Cannot write Triton config: instances/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "serving: examples/blobs.ts --save writes blobs_ensemble.onnx, equal to its ensemble file",
  ignore: !ort && !IN_CI,
  async fn() {
    assert.ok(ort, "onnxruntime-node is missing: see tools/onnxruntime.ts (.ci/run installs it)");
    const dir = await Deno.makeTempDir();
    try {
      const run = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          DEV_LOCK,
          "--lock=tools/dev.lock",
          `--allow-read=${dir}`,
          `--allow-write=${dir}`,
          "examples/blobs.ts",
          "--backend",
          "cpu",
          "--epochs",
          "12",
          "--cycles",
          "3",
          "--json",
          "--save",
          dir,
        ],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
      const { snapshots } = await loadEnsemble(`${dir}/blobs_ensemble.safetensors`);
      assert.equal(snapshots.length, 3);
      const session = await ort.InferenceSession.create(
        await Deno.readFile(`${dir}/blobs_ensemble.onnx`),
      );
      const x = rowsOf(50, 2);
      const { output } = await session.run({ input: new ort.Tensor("float32", x, [50, 2]) });
      assert.deepEqual(output.dims, [50, 3]);
      assert.ok(maxDiff(output.data, ensemble(snapshots).predictProbaSync(x)) < 1e-5);
      await session.release();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
