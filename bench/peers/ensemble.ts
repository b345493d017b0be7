/**
 * Peer runner for ensemble inference: ten 784-256-10 members (Glorot draws of seeds 1 to 10: the
 * time does not depend on the values) predicting the soft vote over the first 1000 test rows of
 * the MNIST workload, on snapfold's backends or on ONNX Runtime (`onnxruntime-node`, from
 * `.cache/onnxruntime`, see tools/onnxruntime.ts) running the ensemble's `toOnnx` export.
 *
 * ```sh
 * deno run -A bench/peers/ensemble.ts --dir DIR --runs 30 --peer cpu|wasm|wasm2|ort|ort-branches
 * ```
 *
 * `cpu` is `predictProbaSync` of the CPU ensemble; `wasm` / `wasm2` the asynchronous
 * `predictProba` on the WebAssembly backend with 1 / 2 threads; `ort` the stacked graph
 * (`layout: "stacked"`) and `ort-branches` one Gemm chain per member, both with
 * `intraOpNumThreads: 1`. Each timed run is one call after five untimed ones. The probabilities go
 * to `DIR/ensemble.<peer>.probs.f32` so the driver can check that every peer computed the same.
 *
 * Prints one JSON line (a `RunnerReport`; `loss` is NaN, `testAccuracy` that of the vote) on stdout.
 *
 * @module
 */
import { ensemble, initParams, mlp } from "../../mod.ts";
import { toOnnx } from "../../export.ts";
import { createWasmBackend } from "../../lib/backend/wasm/backend.ts";
import { loadOnnxRuntime } from "../../tools/onnxruntime.ts";
import { accuracyOf, loadWorkload, type RunnerReport } from "./_workloads.ts";

const MEMBERS = 10;
const ROWS = 1000;
const PEERS = ["cpu", "wasm", "wasm2", "ort", "ort-branches"] as const;
type Peer = (typeof PEERS)[number];

function flag(name: string, fallback?: string): string {
  const i = Deno.args.indexOf(name);
  if (i >= 0 && i + 1 < Deno.args.length) return Deno.args[i + 1];
  if (fallback !== undefined) return fallback;
  throw new Error(`Cannot run the peer: ${name} is missing: pass it, e.g. ${name} VALUE`);
}

const dir = flag("--dir");
const runs = Number(flag("--runs", "30"));
const peer = flag("--peer") as Peer;
if (!PEERS.includes(peer)) {
  throw new Error(`Cannot run the peer: --peer must be one of ${PEERS.join(", ")}: got ${peer}`);
}
const w = await loadWorkload(dir, "mnist");
const x = w.xTest.slice(0, ROWS * 784);
const spec = mlp({ layers: [784, 256, 10], activation: "relu", head: "softmax" });
const snapshots = Array.from({ length: MEMBERS }, (_, i) => ({
  index: i + 1,
  epoch: i,
  step: i,
  lr: 0,
  spec,
  params: initParams(spec, { seed: i + 1 }),
}));

/** A prediction call and its label, or why the peer cannot run. */
async function setUp(): Promise<
  { label: string; call: () => Promise<Float32Array>; notes: string[]; close: () => unknown } | {
    skipped: string;
  }
> {
  if (peer === "cpu") {
    const model = ensemble(snapshots);
    return {
      label: "snapfold cpu",
      call: () => Promise.resolve(model.predictProbaSync(x, ROWS)),
      notes: [],
      close: () => {},
    };
  }
  if (peer === "wasm" || peer === "wasm2") {
    const backend = await createWasmBackend({ threads: peer === "wasm" ? 1 : 2 });
    const model = ensemble(snapshots, { backend });
    return {
      label: `snapfold wasm (${backend.adapter})`,
      call: () => model.predictProba(x, ROWS),
      notes: [],
      close: () => backend.dispose(),
    };
  }
  const ort = loadOnnxRuntime();
  if (ort === undefined) return { skipped: "onnxruntime-node is not in .cache/onnxruntime" };
  const layout = peer === "ort" ? "stacked" : "branches";
  const session = await ort.InferenceSession.create(toOnnx(ensemble(snapshots), { layout }), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: "sequential",
  });
  const input = new ort.Tensor("float32", x, [ROWS, 784]);
  return {
    label: `onnxruntime-node 1 thread (${layout})`,
    call: async () => (await session.run({ input }))[session.outputNames[0]].data,
    notes: [`onnxruntime-node ${ort.env.versions.node ?? "?"} (CPU execution provider)`],
    close: () => session.release(),
  };
}

const setup = await setUp();
if ("skipped" in setup) {
  const report: RunnerReport = {
    peer,
    workload: "mnist",
    runsMs: [],
    loss: NaN,
    testAccuracy: NaN,
    notes: [],
    skipped: setup.skipped,
  };
  console.log(JSON.stringify(report));
  Deno.exit(0);
}
let probs: Float32Array = new Float32Array(0);
for (let k = 0; k < 5; k++) probs = await setup.call();
const runsMs: number[] = [];
for (let k = 0; k < runs; k++) {
  const started = performance.now();
  probs = await setup.call();
  runsMs.push(performance.now() - started);
}
await setup.close();
await Deno.writeFile(
  `${dir}/ensemble.${peer}.probs.f32`,
  new Uint8Array(probs.buffer, probs.byteOffset, probs.byteLength),
);
const report: RunnerReport = {
  peer: setup.label,
  workload: "mnist",
  runsMs,
  loss: NaN,
  testAccuracy: accuracyOf(probs, w.yTest.subarray(0, ROWS), 10),
  notes: setup.notes,
};
console.log(JSON.stringify(report));
