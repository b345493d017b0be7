/**
 * Peer runner: the floor (`bench/floor.ts`), the bare loop that does snapfold's CPU arithmetic.
 *
 * ```sh
 * deno run -A bench/peers/floor.ts --dir DIR --workload tutorial --runs 5
 * ```
 *
 * Prints one JSON line (a `RunnerReport`) on stdout and writes the final parameters beside the
 * workload (`<workload>.floor.params.f32`).
 *
 * @module
 */
import { forward, mlp } from "../../mod.ts";
import { type FloorResult, floorTrain } from "../floor.ts";
import { accuracyOf, loadWorkload, runnerFlags, type RunnerReport } from "./_workloads.ts";

const { dir, workload: name, runs } = runnerFlags(Deno.args);
const w = await loadWorkload(dir, name);
if (w.layers.length !== 3) {
  throw new Error(`Cannot run the floor: it has one hidden layer: got ${w.layers}`);
}
const layers = w.layers as unknown as readonly [number, number, number];
const runsMs: number[] = [];
let result: FloorResult | undefined;
for (let run = 0; run < runs; run++) {
  const started = performance.now();
  result = floorTrain({
    layers,
    x: w.x,
    y: w.y,
    n: w.n,
    batchSize: w.batchSize,
    epochs: w.epochs,
    lrs: w.lrs,
    momentum: w.momentum,
    initialParams: w.initialParams,
    seed: w.seed,
  });
  runsMs.push(performance.now() - started);
}
const params = result!.params;
await Deno.writeFile(
  `${dir}/${name}.floor.params.f32`,
  new Uint8Array(params.buffer, params.byteOffset, params.byteLength),
);
const probs = forward(mlp({ layers: [...layers] }), params, w.xTest, w.nTest);
const report: RunnerReport = {
  peer: "floor (bare loop)",
  workload: name,
  runsMs,
  loss: result!.loss,
  testAccuracy: accuracyOf(probs, w.yTest, layers[2]),
  notes: [],
};
console.log(JSON.stringify(report));
