/**
 * Measures what `createBackend("auto", { model })` decides on: the time of one training step of
 * batch 128 (batch 32 for the smallest model) on the CPU and the WebAssembly backends, over a few
 * model sizes, and prints one line per size with the multiply-adds of a step and the cpu / wasm
 * ratio. `STEP_COST` in lib/backend/select.ts is fitted to its output.
 *
 * ```sh
 * deno run --lock=tools/dev.lock -A bench/auto_cost.ts
 * ```
 *
 * @module
 */
import { type Backend, collect, constant, createCpuBackend, mlp, sgd, train } from "../mod.ts";
import { createWasmBackend } from "../lib/backend/wasm/backend.ts";
import { stepMacs } from "../lib/backend/select.ts";

const SIZES: ReadonlyArray<[number[], number]> = [
  [[2, 25, 3], 32],
  [[16, 32, 4], 32],
  [[16, 32, 4], 128],
  [[32, 64, 10], 128],
  [[64, 128, 10], 128],
  [[128, 128, 10], 128],
  [[256, 128, 10], 128],
  [[784, 64, 10], 128],
  [[784, 256, 10], 128],
];

async function perStepMs(backend: Backend, layers: number[], batch: number): Promise<number> {
  const model = mlp({ layers, activation: "relu", head: "softmax" });
  const n = batch * 20;
  const x = new Float32Array(n * layers[0]).map((_, i) => ((i * 7919) % 97) / 97);
  const y = new Int32Array(n).map((_, i) => i % layers[layers.length - 1]);
  // About 2000 steps a run for the small models, at least 40 for the large ones.
  const macs = stepMacs(model, batch);
  const epochs = Math.max(2, Math.min(100, Math.round(2e8 / macs / 20)));
  const run = () =>
    collect(train({
      backend,
      model,
      optimizer: sgd({ momentum: 0.9 }),
      schedule: constant({ lr: 0.01 }),
      epochs,
      batchSize: batch,
      data: { x, y, n },
      seed: 1,
    }));
  await run(); // warm-up
  const times: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    await run();
    times.push((performance.now() - t) / (epochs * 20));
  }
  return Math.min(...times);
}

const cpu = createCpuBackend();
const wasm = await createWasmBackend();
for (const [layers, batch] of SIZES) {
  const model = mlp({ layers, activation: "relu", head: "softmax" });
  const c = await perStepMs(cpu, layers, batch);
  const w = await perStepMs(wasm, layers, batch);
  console.log(
    `${layers.join("-")} batch ${batch}: ${stepMacs(model, batch)} MACs/step; cpu ` +
      `${(c * 1000).toFixed(0)} us, wasm ${(w * 1000).toFixed(0)} us, cpu/wasm ${
        (c / w).toFixed(2)
      }`,
  );
}
cpu.dispose();
wasm.dispose();
