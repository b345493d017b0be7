/**
 * Peer runner: TensorFlow.js 4.22 `model.fit`, the way a Keras user would write the workload: two
 * `dense` layers (ReLU, then softmax), categorical cross-entropy on one-hot labels, `tf.train.momentum`
 * and a callback that sets the learning rate from the workload's schedule (per epoch or per batch).
 * The weights start from the workload's file (the same Glorot draw as every peer). Only `fit` is timed.
 *
 * ```sh
 * deno run -A bench/peers/tfjs.ts --dir DIR --workload tutorial --runs 5 --backend cpu|wasm|webgpu
 * ```
 *
 * The wasm backend's `.wasm` files live in the npm package; `import.meta.resolve` gives the package's
 * entry file in Deno's cache, and `setWasmPaths` takes the folder beside it.
 *
 * TF.js's momentum is TensorFlow's `v = m v + g; w -= lr v` (PyTorch's form); snapfold and the floor
 * use the Keras form `v = m v - lr g; w += v`. Both cost the same arithmetic; they differ only in how
 * a change of lr enters the velocity.
 *
 * Prints one JSON line (a `RunnerReport`) on stdout.
 *
 * @module
 */
// Inline specifiers: the peers are development dependencies of the benchmark only, never of the
// library, so they stay out of deno.json.
// deno-lint-ignore no-import-prefix
import * as tf from "npm:@tensorflow/tfjs@4.22.0";
import { accuracyOf, loadWorkload, runnerFlags, type RunnerReport } from "./_workloads.ts";

const { dir, workload: name, runs, backend } = runnerFlags(Deno.args);
const notes: string[] = [`TF.js ${tf.version.tfjs}`];

if (backend === "wasm") {
  // deno-lint-ignore no-import-prefix
  const wasm = await import("npm:@tensorflow/tfjs-backend-wasm@4.22.0");
  const entry = import.meta.resolve("npm:@tensorflow/tfjs-backend-wasm@4.22.0");
  wasm.setWasmPaths(new URL(".", entry).pathname);
} else if (backend === "webgpu") {
  // deno-lint-ignore no-import-prefix
  await import("npm:@tensorflow/tfjs-backend-webgpu@4.22.0");
}
if (!(await tf.setBackend(backend))) {
  throw new Error(`Cannot run TF.js: the ${backend} backend did not initialise`);
}
await tf.ready();
if (backend === "wasm") {
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  const threads = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
  notes.push(`TF.js wasm backend: SIMD ${simd ? "on" : "off"}, threads ${threads ? "on" : "off"}`);
}

const w = await loadWorkload(dir, name);
const [inDim, hidden, classes] = w.layers;
const xs = tf.tensor2d(w.x, [w.n, inDim]);
const ys = tf.oneHot(tf.tensor1d(w.y, "int32"), classes);
const xTest = tf.tensor2d(w.xTest, [w.nTest, inDim]);

function buildModel(): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: hidden, activation: "relu", inputShape: [inDim] }));
  model.add(tf.layers.dense({ units: classes, activation: "softmax" }));
  // snapfold's layout: W1 [in, hidden], b1, W2 [hidden, classes], b2 (Keras' kernel layout).
  const p = w.initialParams;
  const b1 = inDim * hidden;
  const w2 = b1 + hidden;
  const b2 = w2 + hidden * classes;
  model.layers[0].setWeights([
    tf.tensor2d(p.slice(0, b1), [inDim, hidden]),
    tf.tensor1d(p.slice(b1, w2)),
  ]);
  model.layers[1].setWeights([
    tf.tensor2d(p.slice(w2, b2), [hidden, classes]),
    tf.tensor1d(p.slice(b2, b2 + classes)),
  ]);
  return model;
}

const runsMs: number[] = [];
let losses: number[] = [];
let accuracy = NaN;
for (let run = 0; run < runs; run++) {
  const model = buildModel();
  const optimizer = tf.train.momentum(w.lrs[0], w.momentum);
  model.compile({ optimizer, loss: "categoricalCrossentropy" });
  let step = 0;
  const callbacks = w.lrPer === "epoch"
    ? { onEpochBegin: (epoch: number) => optimizer.setLearningRate(w.lrs[epoch * w.stepsPerEpoch]) }
    : { onBatchBegin: () => optimizer.setLearningRate(w.lrs[step++]) };
  const started = performance.now();
  const history = await model.fit(xs, ys, {
    batchSize: w.batchSize,
    epochs: w.epochs,
    shuffle: true,
    verbose: 0,
    callbacks,
  });
  runsMs.push(performance.now() - started);
  losses = history.history.loss as number[];
  if (run === runs - 1) {
    const probs = tf.tidy(() => model.predict(xTest) as tf.Tensor);
    accuracy = accuracyOf(await probs.data(), w.yTest, classes);
    probs.dispose();
  }
  model.dispose();
  optimizer.dispose();
}
const report: RunnerReport = {
  peer: `TF.js ${backend}`,
  workload: name,
  runsMs,
  loss: losses[losses.length - 1],
  firstLoss: losses[0],
  testAccuracy: accuracy,
  notes,
};
console.log(JSON.stringify(report));
