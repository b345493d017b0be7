/**
 * Peer runner: snapfold itself, through `train` on the CPU, WebAssembly or WebGPU backend, timing the
 * training alone (from `train` to its `done` event; the backend is created before).
 *
 * ```sh
 * deno run -A bench/peers/snapfold.ts --dir DIR --workload tutorial --runs 5 --backend cpu|wasm|webgpu \
 *   [--threads N]
 * ```
 *
 * Prints one JSON line (a `RunnerReport`) on stdout.
 *
 * @module
 */
import {
  type Backend,
  collect,
  createCpuBackend,
  createWebGpuBackend,
  mlp,
  scheduleFromSpec,
  sgd,
  train,
  type TrainResult,
} from "../../mod.ts";
import { createWasmBackend } from "../../lib/backend/wasm/backend.ts";
import { accuracyOf, loadWorkload, runnerFlags, type RunnerReport } from "./_workloads.ts";

const { dir, workload: name, runs, backend: which } = runnerFlags(Deno.args);
const w = await loadWorkload(dir, name);
const model = mlp({ layers: [...w.layers], activation: "relu", head: "softmax" });
const schedule = scheduleFromSpec(w.schedule);
const notes: string[] = [];
let backend: Backend;
try {
  const at = Deno.args.indexOf("--threads");
  const threads = at >= 0 ? Number(Deno.args[at + 1]) : 1;
  backend = which === "webgpu"
    ? await createWebGpuBackend()
    : which === "wasm"
    ? await createWasmBackend({ threads })
    : createCpuBackend();
} catch (error) {
  const report: RunnerReport = {
    peer: `snapfold ${which}`,
    workload: name,
    runsMs: [],
    loss: NaN,
    testAccuracy: NaN,
    notes,
    skipped: error instanceof Error ? error.message : String(error),
  };
  console.log(JSON.stringify(report));
  Deno.exit(0);
}
// The adapter itself is listed once with the machine; the row says whether it is a software one.
// The wasm backend's description says what ran: "WebAssembly relaxed SIMD, 2 threads (...)".
const ran = /(\d+) threads?/.exec(backend.adapter ?? "")?.[1];
const peer = `snapfold ${which}${backend.softwareAdapter ? " (software adapter)" : ""}${
  which === "wasm" ? ` (${ran} thread${ran === "1" ? "" : "s"})` : ""
}`;

const runsMs: number[] = [];
let result: TrainResult | undefined;
for (let run = 0; run < runs; run++) {
  const started = performance.now();
  result = await collect(train({
    backend,
    model,
    optimizer: sgd({ momentum: w.momentum }),
    schedule,
    lrPer: w.lrPer,
    epochs: w.epochs,
    batchSize: w.batchSize,
    data: { x: w.x, y: w.y, n: w.n },
    seed: w.seed,
    initialParams: w.initialParams,
  }));
  runsMs.push(performance.now() - started);
}
const probs = await backend.predict({
  spec: model,
  params: result!.done.params,
  x: w.xTest,
  n: w.nTest,
});
backend.dispose();
const history = result!.history;
// The final parameters, so the driver can check that the floor did the same arithmetic.
const params = result!.done.params;
await Deno.writeFile(
  `${dir}/${name}.snapfold-${which}${which === "wasm" ? `-${ran}` : ""}.params.f32`,
  new Uint8Array(params.buffer, params.byteOffset, params.byteLength),
);
const report: RunnerReport = {
  peer,
  workload: name,
  runsMs,
  loss: history[history.length - 1].loss,
  firstLoss: history[0].loss,
  testAccuracy: accuracyOf(probs, w.yTest, w.layers[w.layers.length - 1]),
  notes,
};
console.log(JSON.stringify(report));
