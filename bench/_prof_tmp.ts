import { createWasmBackend } from "../lib/backend/wasm/backend.ts";
import { epochsBatches, mlp, randomState, sgd } from "../mod.ts";
import { buildWorkload } from "./peers/_workloads.ts";
const w = await buildWorkload("mnist");
const spec = mlp({ layers: [784, 256, 10] });
const backend = await createWasmBackend();
for (let rep = 0; rep < 4; rep++) {
  const prof: Record<string, number> = {};
  (globalThis as any).__prof = prof;
  const session = await backend.createSession({ spec, optimizer: sgd({ momentum: 0.9 }), params: w.initialParams, data: { x: w.x, y: w.y, n: w.n } });
  const { indices, offsets } = epochsBatches(randomState(1), { n: w.n, batchSize: 128 }, 1);
  const t1 = performance.now();
  session.run({ indices, offsets, lrs: w.lrs });
  const t2 = performance.now();
  session.dispose();
  console.log("run", (t2 - t1).toFixed(1), Object.entries(prof).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", "));
}
