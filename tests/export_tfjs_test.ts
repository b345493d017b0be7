// The TF.js export checked by TensorFlow.js 4.22 itself: tf.loadLayersModel through an in-memory
// IOHandler reproduces snapfold's predictions.
import assert from "node:assert/strict";
// The benchmark's development dependency (bench/peers/tfjs.ts), inline so it stays out of deno.json.
// deno-lint-ignore no-import-prefix
import * as tf from "npm:@tensorflow/tfjs@4.22.0";
import { ConfigError, forward, inputDim, mlp } from "../mod.ts";
import { toTfjsLayers } from "../export.ts";
import { exportCases, maxDiff, rowsOf } from "./_export_cases.ts";

Deno.test("tfjs: tf.loadLayersModel reads the export and predicts what snapfold does", async (t) => {
  await tf.setBackend("cpu");
  const n = 29;
  for (const c of exportCases().filter((c) => c.model.vote === "soft" && !c.model.temperature)) {
    await t.step(c.name, async () => {
      const snapshot = c.model.members.at(-1)!;
      const spec = snapshot.spec;
      const { modelJson, weightsBin } = toTfjsLayers(snapshot);
      // What a server or the file system would hand over: JSON text and the bytes of weights.bin.
      const json = JSON.parse(JSON.stringify(modelJson));
      const model = await tf.loadLayersModel(tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest[0].weights,
        weightData: weightsBin.slice().buffer,
      }));
      const x = rowsOf(n, inputDim(spec));
      const input = tf.tensor2d(x, [n, inputDim(spec)]);
      const output = model.predict(input) as tf.Tensor;
      const got = output.dataSync();
      assert.deepEqual(output.shape, [n, spec.layers.at(-1)]);
      assert.ok(maxDiff(got, forward(spec, snapshot.params, x, n)) < 1e-5);
      tf.dispose([input, output]);
      model.dispose();
    });
  }
});

Deno.test("tfjs: a bad snapshot is refused naming the field", () => {
  const spec = mlp({ layers: [3, 2] });
  assert.throws(
    () => toTfjsLayers({ index: 1, epoch: 0, step: 0, lr: 0, spec, params: new Float32Array(1) }),
    (e: unknown) =>
      e instanceof ConfigError && /Cannot export to TF.js: snapshot.params/.test(e.message),
  );
});
