/**
 * The Markdown of the peer benchmark (bench/peers.ts): one table per workload, the ensemble
 * inference table, and the targets of the issues as ratios of rows measured in the same run.
 *
 * @module
 */
import type { RunnerReport, Workload, WorkloadName } from "./_workloads.ts";

/** One peer's row. */
export interface Row {
  readonly label: string;
  readonly report?: RunnerReport;
  /** Why there are no timings. */
  readonly skipped?: string;
  readonly median?: number;
}

/** Milliseconds with sensible digits. */
export function formatMs(ms: number): string {
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** A ratio with sensible digits. */
export function formatRatio(r: number): string {
  return r >= 10 ? `${r.toFixed(0)}x` : `${r.toFixed(2)}x`;
}

/**
 * A workload's table.
 *
 * @param w The workload.
 * @param rows Its rows.
 * @param warmup Untimed runs per peer.
 * @param runs Timed runs per peer.
 * @param check What the floor and snapfold's parameters compare to.
 * @returns Markdown.
 */
export function table(
  w: Workload,
  rows: Row[],
  warmup: number,
  runs: number,
  check: string,
  rounds = 1,
) {
  const base = rows.find((r) => r.label === "snapfold cpu")?.median;
  const lines = [
    `### ${w.title}`,
    "",
    `Schedule: ${w.scheduleText}; SGD momentum ${w.momentum}; Glorot-uniform start (the same ` +
    `weights for every peer); per peer ${warmup} warm-up run (in parentheses, not counted) ` +
    `and ${runs} timed runs${
      rounds > 1
        ? `, in each of ${rounds} rounds over the peers (interleaved: every peer, then again)`
        : ""
    }; median of all its timed runs.`,
    "",
    "Time ratios: above 1 the peer is slower than snapfold's CPU backend.",
    "",
    "| peer | median | runs (ms) | peer / snapfold cpu | last-epoch train loss | test accuracy |",
    "| --- | ---: | --- | ---: | ---: | ---: |",
  ];
  for (const row of rows) {
    if (row.report === undefined || row.median === undefined) {
      lines.push(`| ${row.label} | - | skipped: ${row.skipped} | | | |`);
      continue;
    }
    const r = row.report;
    const ratio = base === undefined ? "-" : formatRatio(row.median / base);
    const times = r.runsMs.map((ms, i) => (i < warmup ? `(${ms.toFixed(0)})` : ms.toFixed(0)));
    lines.push(
      `| ${row.label} | ${formatMs(row.median)} | ${times.join(", ")} ` +
        `| ${ratio} | ${r.loss.toFixed(4)} | ${r.testAccuracy.toFixed(3)} |`,
    );
  }
  lines.push("", `Floor and snapfold cpu final parameters: ${check}.`);
  return lines.join("\n");
}

/**
 * The ensemble inference table.
 *
 * @param rows Its rows (the runners time after five untimed calls).
 * @param runs Timed calls per peer.
 * @param agreement What the peers' probabilities compare to.
 * @returns Markdown.
 */
export function ensembleTable(
  rows: Row[],
  runs: number,
  agreement: string,
  rounds = 1,
): string {
  const ort = best(rows, "onnxruntime")?.median;
  const lines = [
    "### Ensemble inference: 10 members of 784-256-10, soft vote over 1000 MNIST test rows",
    "",
    "Members are Glorot draws of seeds 1 to 10 (the time does not depend on the values, and the " +
    "accuracy of random members means nothing); the ensemble is exported with `toOnnx` for ONNX " +
    `Runtime. Per peer 5 untimed calls, then ${runs} timed calls${
      rounds > 1 ? `, in each of ${rounds} interleaved rounds over the peers` : ""
    }; median of all its timed calls.`,
    "",
    "| peer | median | min | peer / best onnxruntime-node 1 thread |",
    "| --- | ---: | ---: | ---: |",
  ];
  for (const row of rows) {
    if (row.report === undefined || row.median === undefined) {
      lines.push(`| ${row.label} | - | skipped: ${row.skipped} | |`);
      continue;
    }
    const ratio = ort === undefined ? "-" : formatRatio(row.median / ort);
    lines.push(
      `| ${row.label} | ${formatMs(row.median)} | ${
        formatMs(Math.min(...row.report.runsMs))
      } | ${ratio} |`,
    );
  }
  lines.push("", `Probabilities of every peer against snapfold cpu: ${agreement}.`);
  return lines.join("\n");
}

/**
 * The fastest row whose label starts with `prefix`.
 *
 * @param rows The rows.
 * @param prefix A label prefix.
 * @param exclude Labels containing this are left out.
 * @returns The row, or undefined.
 */
export function best(rows: Row[], prefix: string, exclude?: string): Row | undefined {
  return rows
    .filter((r) =>
      r.label.startsWith(prefix) && r.median !== undefined &&
      (exclude === undefined || !r.label.includes(exclude))
    )
    .reduce<Row | undefined>(
      (a, r) => (a === undefined || r.median! < a.median! ? r : a),
      undefined,
    );
}

const verdict = (ok: boolean) => (ok ? "met" : "**not met**");

/**
 * The targets of issue 14 (speed), as ratios of rows of this run.
 *
 * @param results The rows of every workload, and of the ensemble inference.
 * @returns Markdown list lines.
 */
export function speedTargets(results: Map<WorkloadName | "ensemble", Row[]>): string[] {
  const lines: string[] = [];
  const mn = results.get("mnist") ?? [];
  // One thread against one thread; snapfold's threads only against PyTorch's default threading.
  const cpuRows = mn.filter((r) => !r.label.includes("webgpu"));
  const single = best(cpuRows.filter((r) => !r.label.includes("threads")), "snapfold");
  const snap = best(cpuRows, "snapfold");
  const pinned = mn.find((r) => r.label === "PyTorch (1 thread)" && r.median !== undefined);
  const free = mn.find((r) => r.label.includes("default threading") && r.median !== undefined);
  if (single !== undefined && pinned !== undefined) {
    const r = single.median! / pinned.median!;
    lines.push(
      `- MNIST epoch, ${single.label} (snapfold's best CPU backend on one thread) / ` +
        `${pinned.label} (OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1) = ${formatRatio(r)} ` +
        `(target <= 1.0x): ${verdict(r <= 1)}`,
    );
  }
  if (snap !== undefined && free !== undefined) {
    const r = snap.median! / free.median!;
    lines.push(
      `- MNIST epoch, ${snap.label} / ${free.label} = ${formatRatio(r)} (target < 1.0x, ahead ` +
        `of PyTorch's default threading): ${verdict(r < 1)}`,
    );
  }
  const tut = results.get("tutorial") ?? [];
  const cpu = tut.find((r) => r.label === "snapfold cpu")?.median;
  const wasm = best(tut, "snapfold wasm");
  if (cpu !== undefined && wasm !== undefined) {
    const r = wasm.median! / cpu;
    lines.push(
      `- Tutorial, ${wasm.label} / snapfold cpu = ${formatRatio(r)}; \`createBackend("auto", ` +
        `{ model })\` keeps this model on the CPU backend, so the default run is today's CPU ` +
        `backend (target: no slower than it): ${verdict(true)} for the default, ` +
        `${r <= 1 ? "and" : "but"} the wasm backend alone is ${r <= 1 ? "not slower" : "slower"}`,
    );
  }
  const ens = results.get("ensemble") ?? [];
  // Prediction runs on one thread on every backend; the row for 1 thread is the one compared.
  const snapEns = best(ens.filter((r) => !r.label.includes("threads")), "snapfold");
  const ort = best(ens, "onnxruntime");
  if (snapEns !== undefined && ort !== undefined) {
    const r = snapEns.median! / ort.median!;
    lines.push(
      `- Ensemble inference, ${snapEns.label} / ${ort.label} = ${formatRatio(r)} (target <= ` +
        `1.5x): ${verdict(r <= 1.5)}`,
    );
  }
  return lines;
}

/**
 * The targets of issue 5 (the peer comparison), as ratios of rows of this run.
 *
 * @param results The rows of every workload.
 * @returns Markdown list lines.
 */
export function peerTargets(results: Map<WorkloadName | "ensemble", Row[]>): string[] {
  const lines: string[] = [];
  const tut = results.get("tutorial") ?? [];
  const snap = tut.find((r) => r.label === "snapfold cpu")?.median;
  const floor = tut.find((r) => r.label.startsWith("floor"))?.median;
  const tfjs = best(tut, "TF.js");
  const torch = best(tut, "PyTorch");
  const jax = best(tut, "jax-js");
  if (snap !== undefined && floor !== undefined) {
    const r = snap / floor;
    lines.push(
      `- Tutorial, snapfold cpu / floor = ${formatRatio(r)} (target <= 1.3x): ${verdict(r <= 1.3)}`,
    );
  }
  for (const [peer, goal] of [[tfjs, 50], [torch, 10], [jax, undefined]] as const) {
    if (snap === undefined || peer === undefined) continue;
    const r = peer.median! / snap;
    lines.push(
      `- Tutorial, ${peer.label} / snapfold cpu = ${formatRatio(r)}` +
        (goal === undefined ? " (no target)" : ` (target >= ${goal}x): ${verdict(r >= goal)}`),
    );
  }
  const mn = results.get("mnist") ?? [];
  const wasm = mn.find((r) => r.label === "TF.js wasm")?.median;
  const snapBest = best(mn, "snapfold", "webgpu");
  if (wasm !== undefined && snapBest !== undefined) {
    const r = wasm / snapBest.median!;
    lines.push(
      `- MNIST, TF.js wasm / ${snapBest.label} (snapfold's best) = ${formatRatio(r)} ` +
        `(target >= 2x): ${verdict(r >= 2)}`,
    );
  }
  return lines;
}

/** How the peers are run, for the "How" section. */
export const HOW: ReadonlyArray<string> = [
  "- Same model (hidden ReLU layer, softmax head, cross-entropy), same starting weights, same " +
  "training rows, batch size, epochs and learning rate of every step, for every peer.",
  "- Each peer runs in its own process, one after another; only training is timed (building " +
  "the model and reading the data files are not). Each process first trains untimed (JIT, " +
  "kernel and shader compilation), then the timed runs.",
  "- snapfold: `train` with `createCpuBackend`, `createWasmBackend({ threads })` or " +
  "`createWebGpuBackend`, from the call to the `done` event, one epoch report per epoch: this " +
  "includes `train`'s checks of the data (a scan for non-finite inputs) and the backend's upload " +
  "of them (about 11 ms of an MNIST epoch on the wasm backend), which the other runners do " +
  "before their timers start. Floor: " +
  "`bench/floor.ts`, the plain float32 i-k-j loops of one step in one function, with no " +
  "blocking and no sparsity: snapfold's CPU backend (register-blocked kernels, a sparse first " +
  "layer for MNIST's zero pixels) can go below it. TF.js: `model.fit` with " +
  "`tf.train.momentum`, learning rate set by a callback. jax-js: one `jit`-compiled step of " +
  "`valueAndGrad` and the momentum update on its wasm device. PyTorch: `nn.Sequential`, " +
  "`CrossEntropyLoss`, `optim.SGD(momentum=0.9)`, batches from `randperm`.",
  "- PyTorch threads: Debian's torch multiplies through OpenBLAS, which ignores " +
  "`torch.set_num_threads`. The 1-thread row runs with `OPENBLAS_NUM_THREADS=1 " +
  "OMP_NUM_THREADS=1`; the default row with both unset. Each label is what ran, read back " +
  "from torch and from OpenBLAS (`openblas_get_num_threads`).",
  "- Momentum: snapfold, the floor and jax-js use Keras' form (`v = m v - lr g; w += v`); TF.js " +
  "and PyTorch their own (`v = m v + g; w -= lr v`). Same arithmetic per step; they differ only " +
  "in how a change of lr enters the velocity, so final losses differ slightly.",
  "- Batch order: snapfold and the floor share one seeded shuffle (so they end at the same " +
  "parameters, checked below); TF.js, jax-js and PyTorch shuffle with their own generators.",
];
