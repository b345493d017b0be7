/**
 * Peer runner: jax-js (`@jax-js/jax` 0.1.25) on its wasm device, written the way a JAX user would:
 * the parameters as a tree, a loss of mean cross-entropy over `nn.logSoftmax` of the logits, and one
 * `jit`-compiled step of `valueAndGrad` followed by SGD with momentum in the Keras form snapfold
 * uses (`v = m v - lr g; w += v`). Batches follow a seeded shuffle per epoch, the lr comes from the
 * workload's schedule, and the loss is read back every step (as PyTorch's `loss.item()`). Only the
 * training loop is timed.
 *
 * ```sh
 * deno run -A bench/peers/jaxjs.ts --dir DIR --workload tutorial --runs 5
 * ```
 *
 * Prints one JSON line (a `RunnerReport`) on stdout.
 *
 * @module
 */
// Inline specifier: a development dependency of the benchmark only (tools/dev.lock).
// deno-lint-ignore no-import-prefix
import { defaultDevice, init, jit, nn, numpy as np, valueAndGrad } from "npm:@jax-js/jax@0.1.25";
import { accuracyOf, loadWorkload, runnerFlags, type RunnerReport } from "./_workloads.ts";

const { dir, workload: name, runs } = runnerFlags(Deno.args);
const w = await loadWorkload(dir, name);
const [inDim, hidden, classes] = w.layers;

type Params = { w1: np.Array; b1: np.Array; w2: np.Array; b2: np.Array };

await init("wasm");
defaultDevice("wasm");

function logits(p: Params, x: np.Array): np.Array {
  const h = nn.relu(np.matmul(x, p.w1).add(p.b1));
  return np.matmul(h, p.w2).add(p.b2);
}

function loss(p: Params, x: np.Array, y: np.Array): np.Array {
  return nn.logSoftmax(logits(p, x), -1).mul(y).sum(-1).mean().neg();
}

const step = jit(
  (p: Params, v: Params, x: np.Array, y: np.Array, lr: np.Array): [np.Array, Params, Params] => {
    const held: Params = { w1: p.w1.ref, b1: p.b1.ref, w2: p.w2.ref, b2: p.b2.ref };
    const [value, g] = valueAndGrad(loss)(held, x, y) as [np.Array, Params];
    const keys = ["w1", "b1", "w2", "b2"] as const;
    const nv = {} as Params;
    const np2 = {} as Params;
    for (const k of keys) {
      nv[k] = v[k].mul(w.momentum).sub(g[k].mul(lr.ref));
      np2[k] = p[k].add(nv[k].ref);
    }
    lr.dispose();
    return [value, np2, nv];
  },
);

function initial(): Params {
  const a = w.initialParams;
  const b1 = inDim * hidden;
  const w2 = b1 + hidden;
  const b2 = w2 + hidden * classes;
  return {
    w1: np.array(a.slice(0, b1)).reshape([inDim, hidden]),
    b1: np.array(a.slice(b1, w2)),
    w2: np.array(a.slice(w2, b2)).reshape([hidden, classes]),
    b2: np.array(a.slice(b2, b2 + classes)),
  };
}

function zeros(): Params {
  return {
    w1: np.zeros([inDim, hidden]),
    b1: np.zeros([hidden]),
    w2: np.zeros([hidden, classes]),
    b2: np.zeros([classes]),
  };
}

/** A seeded Fisher-Yates shuffle (mulberry32), so every run sees the same batches. */
function shuffled(n: number, seed: number): Int32Array {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

function batch(order: Int32Array, from: number, to: number): [np.Array, np.Array] {
  const rows = to - from;
  const x = new Float32Array(rows * inDim);
  const y = new Float32Array(rows * classes);
  for (let r = 0; r < rows; r++) {
    const i = order[from + r];
    x.set(w.x.subarray(i * inDim, (i + 1) * inDim), r * inDim);
    y[r * classes + w.y[i]] = 1;
  }
  return [np.array(x).reshape([rows, inDim]), np.array(y).reshape([rows, classes])];
}

function trainOnce(run: number): { params: Params; first: number; last: number; ms: number } {
  let p = initial();
  let v = zeros();
  const losses: number[] = [];
  let s = 0;
  const started = performance.now();
  for (let epoch = 0; epoch < w.epochs; epoch++) {
    const order = shuffled(w.n, w.seed * 1000 + run * 100_000 + epoch);
    let total = 0;
    for (let k = 0; k < w.stepsPerEpoch; k++) {
      const from = k * w.batchSize;
      const to = Math.min(w.n, from + w.batchSize);
      const [x, y] = batch(order, from, to);
      const [value, np2, nv] = step(p, v, x, y, np.array(w.lrs[s++]));
      p = np2;
      v = nv;
      total += value.dataSync()[0] * (to - from);
    }
    losses.push(total / w.n);
  }
  const ms = performance.now() - started;
  for (const a of Object.values(v)) a.dispose();
  return { params: p, first: losses[0], last: losses[losses.length - 1], ms };
}

const runsMs: number[] = [];
let result: ReturnType<typeof trainOnce> | undefined;
for (let run = 0; run < runs; run++) {
  if (result !== undefined) { for (const a of Object.values(result.params)) a.dispose(); }
  result = trainOnce(run);
  runsMs.push(result.ms);
}
const xTest = np.array(w.xTest.slice()).reshape([w.nTest, inDim]);
const scores = logits(result!.params, xTest).dataSync();
const report: RunnerReport = {
  peer: "jax-js wasm",
  workload: name,
  runsMs,
  loss: result!.last,
  firstLoss: result!.first,
  testAccuracy: accuracyOf(scores, w.yTest, classes),
  notes: ["jax-js 0.1.25 (`@jax-js/jax`) on its wasm device, one jit-compiled step"],
};
console.log(JSON.stringify(report));
