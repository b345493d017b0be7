/**
 * ONNX Runtime on the two graph layouts of an exported ensemble: members stacked into batched
 * `MatMul`s (`layout: "stacked"`) or one `Gemm` chain per member (`"branches"`), for ten 784-256-10
 * members over 1000 rows, on one thread and on ONNX Runtime's default thread count, beside
 * snapfold's own `predictProba` (CPU backend, one thread) on the same ensemble and rows. Prints one
 * line per case: the median and the minimum of the timed runs, in milliseconds.
 *
 * ```sh
 * deno run --lock=tools/dev.lock -A bench/export_onnx_bench.ts [--runs 30]
 * ```
 *
 * Needs `onnxruntime-node` in `.cache/onnxruntime` (see tools/onnxruntime.ts).
 *
 * @module
 */
import { ensemble, initParams, mlp } from "../mod.ts";
import { type OnnxLayout, toOnnx } from "../export.ts";
import { loadOnnxRuntime } from "../tools/onnxruntime.ts";

const runsAt = Deno.args.indexOf("--runs");
const RUNS = runsAt >= 0 ? Number(Deno.args[runsAt + 1]) : 30;
const ort = loadOnnxRuntime();
if (ort === undefined) throw new Error("onnxruntime-node is missing: see tools/onnxruntime.ts");

const spec = mlp({ layers: [784, 256, 10] });
const snapshots = Array.from({ length: 10 }, (_, i) => ({
  index: i + 1,
  epoch: i,
  step: i,
  lr: 0,
  spec,
  params: initParams(spec, { seed: i + 1 }),
}));
const model = ensemble(snapshots);
const rows = 1000;
const x = Float32Array.from({ length: rows * 784 }, (_, i) => Math.sin(i) * 0.5 + 0.5);
const input = new ort.Tensor("float32", x, [rows, 784]);

console.log(
  `onnxruntime-node ${ort.env.versions.node}, ${RUNS} runs, 10 x 784-256-10, ${rows} rows`,
);

/** Median and minimum of `RUNS` timed calls after five warm-up calls. */
async function time(call: () => unknown): Promise<string> {
  for (let i = 0; i < 5; i++) await call();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await call();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  return `median ${median.toFixed(2)} ms, min ${times[0].toFixed(2)} ms`;
}

console.log(`snapfold  predictProba     ${await time(() => model.predictProbaSync(x, rows))}`);
for (const threads of [1, 0]) {
  for (const layout of ["stacked", "branches"] as OnnxLayout[]) {
    const session = await ort.InferenceSession.create(toOnnx(model, { layout }), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
    });
    const label = threads === 1 ? "1 thread" : "default threads";
    console.log(
      `${layout.padEnd(9)} ${label.padEnd(16)} ${await time(() => session.run({ input }))}`,
    );
    await session.release();
  }
}
