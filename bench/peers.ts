/**
 * The peer benchmark (`deno task bench:peers`): snapfold against the libraries a user would pick
 * instead, on the tutorial's workload and on MNIST, with the same model, starting weights, data,
 * batch size, epochs and schedule. It writes `bench/RESULTS.md` and prints the tables.
 *
 * Every peer runs in its own process, one after the other (the machine is small and shared), from
 * the files of `bench/peers/_workloads.ts` in a temporary folder:
 * - snapfold on the CPU backend, and on WebGPU when an adapter exists (software adapters marked);
 * - the floor (`bench/floor.ts`), the bare loop doing snapfold's CPU arithmetic; the benchmark
 *   checks that it ends at the same parameters as snapfold's CPU run;
 * - TensorFlow.js 4.22 on its cpu and wasm backends, and webgpu only on a hardware adapter (on
 *   llvmpipe one tutorial run takes 35-68 s: shared/PLATFORM.md);
 * - PyTorch when `/usr/bin/python3` can import torch, with 1 and 2 threads.
 *
 * ```sh
 * deno task bench:peers                          # both workloads, writes bench/RESULTS.md
 * deno run -A bench/peers.ts --runs 3 --no-write   # quicker, tables on stdout only
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { describeAdapter } from "../mod.ts";
import {
  buildWorkload,
  median,
  type RunnerReport,
  saveWorkload,
  type Workload,
  type WorkloadName,
  WORKLOADS,
} from "./peers/_workloads.ts";

const PYTHON = "/usr/bin/python3";
const HERE = new URL(".", import.meta.url);

interface PeerSpec {
  /** Row label. */
  readonly label: string;
  /** The command, given the workload folder, workload and number of runs. */
  readonly command: (dir: string, workload: WorkloadName, runs: number) => string[];
  /** Why it is not run, if it is not. */
  readonly skip?: string;
}

interface Row {
  readonly label: string;
  readonly report?: RunnerReport;
  /** Why there are no timings. */
  readonly skipped?: string;
  readonly median?: number;
}

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string" },
    "mnist-runs": { type: "string" },
    warmup: { type: "string", default: "1" },
    "timeout-s": { type: "string", default: "300" },
    out: { type: "string", default: new URL("RESULTS.md", HERE).pathname },
    "no-write": { type: "boolean", default: false },
  },
  strict: true,
});
const RUNS: Record<WorkloadName, number> = {
  tutorial: Number(flags.runs ?? 5),
  mnist: Number(flags["mnist-runs"] ?? flags.runs ?? 3),
};
const TIMEOUT_MS = Number(flags["timeout-s"]) * 1000;
/** Untimed runs first in every process: JIT compilation, kernel and pipeline caches warm up. */
const WARMUP = Number(flags.warmup);
if (!Number.isSafeInteger(WARMUP) || WARMUP < 0) {
  throw new Error(`Cannot benchmark: --warmup must be a non-negative integer: got ${flags.warmup}`);
}
for (const [name, runs] of Object.entries(RUNS)) {
  if (!Number.isSafeInteger(runs) || runs < 1) {
    throw new Error(`Cannot benchmark: runs for ${name} must be a positive integer: got ${runs}`);
  }
}

function log(line: string): void {
  console.error(line);
}

function deno(
  script: string,
  extra: string[],
): (d: string, w: WorkloadName, r: number) => string[] {
  return (dir, workload, runs) => [
    Deno.execPath(),
    "run",
    "-A",
    new URL(script, HERE).pathname,
    "--dir",
    dir,
    "--workload",
    workload,
    "--runs",
    String(runs),
    ...extra,
  ];
}

async function canImportTorch(): Promise<string | null> {
  try {
    const out = await new Deno.Command(PYTHON, {
      args: ["-c", "import torch; print(torch.__version__)"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

async function runPeer(peer: PeerSpec, dir: string, workload: WorkloadName): Promise<Row> {
  if (peer.skip !== undefined) return { label: peer.label, skipped: peer.skip };
  const [cmd, ...args] = peer.command(dir, workload, WARMUP + RUNS[workload]);
  log(`  ${peer.label} ...`);
  const started = performance.now();
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, {
      args,
      stdout: "piped",
      stderr: "piped",
      // The Vulkan loader prints a harmless line without it (shared/PLATFORM.md).
      env: { XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp" },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    }).output();
  } catch (error) {
    const why = error instanceof Error && error.name === "TimeoutError"
      ? `timed out after ${TIMEOUT_MS / 1000} s`
      : String(error);
    return { label: peer.label, skipped: why };
  }
  const stdout = new TextDecoder().decode(out.stdout).trim().split("\n");
  const last = stdout[stdout.length - 1] ?? "";
  if (!out.success || !last.startsWith("{")) {
    const stderr = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" / ");
    return { label: peer.label, skipped: `failed (exit ${out.code}): ${stderr}` };
  }
  const report = JSON.parse(last) as RunnerReport;
  if (report.skipped !== undefined) return { label: report.peer, skipped: report.skipped };
  log(
    `    ${((performance.now() - started) / 1000).toFixed(1)} s in all; runs ` +
      report.runsMs.map((ms) => ms.toFixed(0)).join(", ") + " ms",
  );
  return { label: report.peer, report, median: median(report.runsMs.slice(WARMUP)) };
}

async function sameParams(dir: string, workload: WorkloadName): Promise<string> {
  try {
    const a = new Float32Array((await Deno.readFile(`${dir}/${workload}.floor.params.f32`)).buffer);
    const b = new Float32Array(
      (await Deno.readFile(`${dir}/${workload}.snapfold-cpu.params.f32`)).buffer,
    );
    if (a.length !== b.length) return "different lengths (a bug)";
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
    // The backend's blocked kernels sum in float64 registers, the floor in float32: the last bits
    // differ, and a few steps of training carry that into nearby bits.
    return diff === 0
      ? "bit-identical"
      : `the same to within ${diff.toExponential(1)} (largest absolute difference; the CPU ` +
        "backend accumulates products in float64, the floor in float32)";
  } catch {
    return "not compared (a run is missing)";
  }
}

function formatMs(ms: number): string {
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

function formatRatio(r: number): string {
  return r >= 10 ? `${r.toFixed(0)}x` : `${r.toFixed(2)}x`;
}

function table(w: Workload, rows: Row[], check: string): string {
  const base = rows.find((r) => r.label === "snapfold cpu")?.median;
  const lines = [
    `### ${w.title}`,
    "",
    `Schedule: ${w.scheduleText}; SGD momentum ${w.momentum}; Glorot-uniform start (the same ` +
    `weights for every peer); per peer ${WARMUP} warm-up run (in parentheses, not counted) ` +
    `and ${RUNS[w.name]} timed runs; median of the timed runs.`,
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
    const runs = r.runsMs.map((ms, i) => (i < WARMUP ? `(${ms.toFixed(0)})` : ms.toFixed(0)));
    lines.push(
      `| ${row.label} | ${formatMs(row.median)} | ${runs.join(", ")} ` +
        `| ${ratio} | ${r.loss.toFixed(4)} | ${r.testAccuracy.toFixed(3)} |`,
    );
  }
  lines.push("", `Floor and snapfold cpu final parameters: ${check}.`);
  return lines.join("\n");
}

function best(rows: Row[], prefix: string): Row | undefined {
  return rows
    .filter((r) => r.label.startsWith(prefix) && r.median !== undefined)
    .reduce<Row | undefined>(
      (a, r) => (a === undefined || r.median! < a.median! ? r : a),
      undefined,
    );
}

function targets(results: Map<WorkloadName, Row[]>): string[] {
  const lines: string[] = [];
  const verdict = (ok: boolean) => (ok ? "met" : "**not met**");
  const tut = results.get("tutorial") ?? [];
  const snap = tut.find((r) => r.label === "snapfold cpu")?.median;
  const floor = tut.find((r) => r.label.startsWith("floor"))?.median;
  const tfjs = best(tut, "TF.js");
  const torch = best(tut, "PyTorch");
  if (snap !== undefined && floor !== undefined) {
    const r = snap / floor;
    lines.push(
      `- Tutorial, snapfold cpu / floor = ${formatRatio(r)} (target <= 1.3x): ${verdict(r <= 1.3)}`,
    );
  }
  if (snap !== undefined && tfjs !== undefined) {
    const r = tfjs.median! / snap;
    lines.push(
      `- Tutorial, ${tfjs.label} (TF.js's best) / snapfold cpu = ${
        formatRatio(r)
      } (target >= 50x): ` +
        verdict(r >= 50),
    );
  }
  if (snap !== undefined && torch !== undefined) {
    const r = torch.median! / snap;
    lines.push(
      `- Tutorial, ${torch.label} (PyTorch's best) / snapfold cpu = ${formatRatio(r)} (target >= ` +
        `10x): ${verdict(r >= 10)}`,
    );
  }
  const mn = results.get("mnist") ?? [];
  const wasm = mn.find((r) => r.label === "TF.js wasm")?.median;
  const snapBest = best(mn, "snapfold");
  if (wasm !== undefined && snapBest !== undefined) {
    const r = wasm / snapBest.median!;
    lines.push(
      `- MNIST, TF.js wasm / ${snapBest.label} (snapfold's best) = ${
        formatRatio(r)
      } (target >= 2x): ` +
        verdict(r >= 2),
    );
  }
  const torchMn = best(mn, "PyTorch");
  if (torchMn !== undefined && snapBest !== undefined) {
    lines.push(
      `- MNIST, ${snapBest.label} / ${torchMn.label} = ${
        formatRatio(snapBest.median! / torchMn.median!)
      } (PyTorch's oneDNN kernels lead here; reported as it is)`,
    );
  }
  return lines;
}

async function cpuModel(): Promise<string> {
  try {
    const info = await Deno.readTextFile("/proc/cpuinfo");
    return info.match(/^model name\s*:\s*(.+)$/m)?.[1].trim() ?? "unknown CPU";
  } catch {
    return "unknown CPU";
  }
}

async function loadAverage(): Promise<string> {
  try {
    return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}

async function main(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "snapfold-peers-" });
  try {
    const loadBefore = await loadAverage();
    const adapter = await describeAdapter();
    const torchVersion = await canImportTorch();
    const adapterText = adapter === null
      ? "none"
      : `${adapter.description}${adapter.software ? " (software)" : ""}`;
    const peers: PeerSpec[] = [
      { label: "snapfold cpu", command: deno("peers/snapfold.ts", ["--backend", "cpu"]) },
      {
        label: "snapfold webgpu",
        command: deno("peers/snapfold.ts", ["--backend", "webgpu"]),
        skip: adapter === null ? "no WebGPU adapter" : undefined,
      },
      { label: "floor (bare loop)", command: deno("peers/floor.ts", []) },
      { label: "TF.js cpu", command: deno("peers/tfjs.ts", ["--backend", "cpu"]) },
      { label: "TF.js wasm", command: deno("peers/tfjs.ts", ["--backend", "wasm"]) },
      {
        label: "TF.js webgpu",
        command: deno("peers/tfjs.ts", ["--backend", "webgpu"]),
        skip: adapter === null
          ? "no WebGPU adapter"
          : adapter.software
          ? "software adapter (35-68 s per tutorial run on llvmpipe)"
          : undefined,
      },
      ...[1, 2].map((threads): PeerSpec => ({
        label: `PyTorch (${threads} thread${threads === 1 ? "" : "s"})`,
        command: (d, w, r) => [
          PYTHON,
          new URL("peers/pytorch_peer.py", HERE).pathname,
          "--dir",
          d,
          "--workload",
          w,
          "--runs",
          String(r),
          "--threads",
          String(threads),
        ],
        skip: torchVersion === null ? `${PYTHON} cannot import torch` : undefined,
      })),
    ];

    const results = new Map<WorkloadName, Row[]>();
    const sections: string[] = [];
    const notes = new Set<string>();
    for (const name of WORKLOADS) {
      log(`Preparing the ${name} workload ...`);
      const w = await buildWorkload(name);
      await saveWorkload(dir, w);
      log(`Running ${w.title}, ${WARMUP} + ${RUNS[name]} runs per peer:`);
      const rows: Row[] = [];
      for (const peer of peers) {
        const row = await runPeer(peer, dir, name);
        rows.push(row);
        for (const note of row.report?.notes ?? []) notes.add(note);
      }
      results.set(name, rows);
      const section = table(w, rows, await sameParams(dir, name));
      sections.push(section);
      console.log(section + "\n");
    }
    const loadAfter = await loadAverage();
    const goals = targets(results);
    console.log(["Targets (issue 5):", ...goals].join("\n"));

    const date = new Date().toISOString().slice(0, 10);
    const md = [
      "# Peer benchmark",
      "",
      `Made by \`deno task bench:peers\` on ${date}. Regenerate it with the same command; the ` +
      "numbers below are of one run on one machine, side by side.",
      "",
      "## Machine and versions",
      "",
      `- CPU: ${await cpuModel()}, ${navigator.hardwareConcurrency} logical cores; load average ` +
      `${loadBefore} before, ${loadAfter} after (1, 5, 15 min)`,
      `- Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), ${Deno.build.os} ${Deno.build.arch}`,
      `- WebGPU adapter: ${adapterText}`,
      ...[...notes].sort().map((n) => `- ${n}`),
      torchVersion === null ? `- PyTorch: not available (${PYTHON} cannot import torch)` : "",
      "",
      "## How",
      "",
      "- Same model (hidden ReLU layer, softmax head, cross-entropy), same starting weights, same " +
      "training rows, batch size, epochs and learning rate of every step, for every peer.",
      "- Each peer runs in its own process, one after another; only training is timed (building " +
      "the model and moving the data in are not). Each process first trains untimed (JIT, " +
      "kernel and shader compilation), then the timed runs.",
      "- snapfold: `train` with `createCpuBackend` (or `createWebGpuBackend`), from the call to " +
      "the `done` event, one epoch report per epoch. Floor: `bench/floor.ts`, the plain " +
      "float32 i-k-j loops of one step in one function, with no blocking and no sparsity: " +
      "snapfold's CPU backend (register-blocked kernels, a sparse first layer for MNIST's zero " +
      "pixels) can go below it. TF.js: " +
      "`model.fit` with `tf.train.momentum`, learning rate set by a callback. PyTorch: " +
      "`nn.Sequential`, `CrossEntropyLoss`, `optim.SGD(momentum=0.9)`, batches from `randperm`.",
      "- Momentum: snapfold and the floor use Keras' form (`v = m v - lr g; w += v`); TF.js and " +
      "PyTorch their own (`v = m v + g; w -= lr v`). Same arithmetic per step; they differ only in " +
      "how a change of lr enters the velocity, so final losses differ slightly.",
      "- Batch order: snapfold and the floor share one seeded shuffle (so they end at the same " +
      "parameters, checked below); " +
      "TF.js and PyTorch shuffle with their own generators.",
      "",
      "## Results",
      "",
      ...sections.flatMap((s) => [s, ""]),
      "## Against the targets of issue 5",
      "",
      ...goals,
      "",
    ].filter((line, i, all) => !(line === "" && all[i - 1] === "")).join("\n");
    if (!flags["no-write"]) {
      await Deno.writeTextFile(flags.out, md);
      // `deno task test` checks the formatting of every Markdown file, this one included.
      await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", flags.out] }).output();
      log(`Wrote ${flags.out}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

await main();
