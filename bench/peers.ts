/**
 * The peer benchmark (`deno task bench:peers`): snapfold against the libraries a user would pick
 * instead, on the tutorial's workload and on MNIST, with the same model, starting weights, data,
 * batch size, epochs and schedule. It writes `bench/RESULTS.md` and prints the tables.
 *
 * Every peer runs in its own process, one after the other (the machine is small and shared), from
 * the files of `bench/peers/_workloads.ts` in a temporary folder:
 * - snapfold on the CPU backend, on the WebAssembly backend (1 and 2 threads), and on WebGPU when
 *   an adapter exists (software adapters marked);
 * - the floor (`bench/floor.ts`), the bare loop doing snapfold's CPU arithmetic; the benchmark
 *   checks that it ends at the same parameters as snapfold's CPU run;
 * - TensorFlow.js 4.22 on its cpu and wasm backends, and webgpu only on a hardware adapter (on
 *   llvmpipe one tutorial run takes 35-68 s: shared/PLATFORM.md);
 * - jax-js (`@jax-js/jax` 0.1.25, wasm device) on the tutorial;
 * - PyTorch when `/usr/bin/python3` can import torch: once pinned to one thread
 *   (`OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1`: Debian's torch multiplies through OpenBLAS, which
 *   ignores `torch.set_num_threads`) and once with its default threading (both variables unset);
 *   the label says what really ran, read back from OpenBLAS;
 * - ensemble inference (10 x 784-256-10 over 1000 MNIST rows): snapfold's CPU and WebAssembly
 *   backends against `onnxruntime-node` on one thread (`bench/peers/ensemble.ts`).
 *
 * ```sh
 * deno task bench:peers                          # both workloads, writes bench/RESULTS.md
 * deno run -A bench/peers.ts --runs 3 --no-write   # quicker, tables on stdout only
 * deno task bench:peers --rounds 3                 # every peer three times, interleaved
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
  type WorkloadName,
  WORKLOADS,
} from "./peers/_workloads.ts";
import { ensembleTable, HOW, peerTargets, type Row, speedTargets, table } from "./peers/_report.ts";

const PYTHON = "/usr/bin/python3";
const HERE = new URL(".", import.meta.url);
/** Every child runs on the development lock: the root deno.lock holds only the library's needs. */
const LOCK = `--lock=${new URL("../tools/dev.lock", import.meta.url).pathname}`;

interface PeerSpec {
  /** Row label. */
  readonly label: string;
  /** The command, given the workload folder, workload and number of runs. */
  readonly command: (dir: string, workload: WorkloadName, runs: number) => string[];
  /** Why it is not run, if it is not. */
  readonly skip?: string;
  /** The workloads it runs (default: all). */
  readonly workloads?: ReadonlyArray<WorkloadName>;
  /** Environment variables set for its process (`undefined`: removed). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string" },
    "mnist-runs": { type: "string" },
    warmup: { type: "string", default: "1" },
    "timeout-s": { type: "string", default: "300" },
    "ensemble-runs": { type: "string", default: "30" },
    rounds: { type: "string", default: "1" },
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
const ENSEMBLE_RUNS = Number(flags["ensemble-runs"]);
/**
 * Rounds over the peer list (default 1): with K, every peer runs K times, interleaved with the
 * others (peer 1, peer 2, ..., then again), and its median is over all K rounds' timed runs, so
 * that a slow spell of the shared machine falls on every peer rather than on one.
 */
const ROUNDS = Number(flags.rounds);
if (!Number.isSafeInteger(ROUNDS) || ROUNDS < 1) {
  throw new Error(`Cannot benchmark: --rounds must be a positive integer: got ${flags.rounds}`);
}
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
    LOCK,
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

/** The parent's environment with the peer's variables set or removed. */
function envOf(peer: PeerSpec): Record<string, string> {
  const env: Record<string, string> = {
    ...Deno.env.toObject(),
    // The Vulkan loader prints a harmless line without it (shared/PLATFORM.md).
    XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp",
  };
  for (const [key, value] of Object.entries(peer.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

async function runPeer(
  peer: PeerSpec,
  dir: string,
  workload: WorkloadName,
  runs = WARMUP + RUNS[workload],
  warm = WARMUP,
): Promise<Row> {
  if (peer.skip !== undefined) return { label: peer.label, skipped: peer.skip };
  const [cmd, ...args] = peer.command(dir, workload, runs);
  log(`  ${peer.label} ...`);
  const started = performance.now();
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, {
      args,
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
      env: envOf(peer),
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
  return { label: report.peer, report, median: median(report.runsMs.slice(warm)) };
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

/** Largest absolute difference of every peer's ensemble probabilities from snapfold cpu's. */
async function ensembleAgreement(dir: string, peers: ReadonlyArray<string>): Promise<string> {
  const read = async (p: string) =>
    new Float32Array((await Deno.readFile(`${dir}/ensemble.${p}.probs.f32`)).buffer);
  try {
    const base = await read("cpu");
    const parts: string[] = [];
    for (const p of peers.filter((p) => p !== "cpu")) {
      try {
        const other = await read(p);
        let diff = 0;
        for (let i = 0; i < base.length; i++) diff = Math.max(diff, Math.abs(base[i] - other[i]));
        parts.push(`${p} within ${diff.toExponential(1)}`);
      } catch {
        parts.push(`${p} missing`);
      }
    }
    return parts.join(", ");
  } catch {
    return "not compared (snapfold cpu is missing)";
  }
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

function python(threads: number): (d: string, w: WorkloadName, r: number) => string[] {
  const script = new URL("peers/pytorch_peer.py", HERE).pathname;
  return (d, w, r) =>
    [PYTHON, script, "--dir", d, "--workload", w, "--runs", String(r), "--threads"]
      .concat(String(threads));
}

function peerList(
  adapter: Awaited<ReturnType<typeof describeAdapter>>,
  torchVersion: string | null,
): PeerSpec[] {
  const noTorch = torchVersion === null ? `${PYTHON} cannot import torch` : undefined;
  return [
    { label: "snapfold cpu", command: deno("peers/snapfold.ts", ["--backend", "cpu"]) },
    {
      label: "snapfold wasm (1 thread)",
      command: deno("peers/snapfold.ts", ["--backend", "wasm"]),
    },
    {
      label: "snapfold wasm (2 threads)",
      command: deno("peers/snapfold.ts", ["--backend", "wasm", "--threads", "2"]),
    },
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
    { label: "jax-js wasm", command: deno("peers/jaxjs.ts", []), workloads: ["tutorial"] },
    {
      label: "PyTorch (1 thread)",
      command: python(1),
      env: { OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1" },
      skip: noTorch,
    },
    {
      label: "PyTorch (default threading)",
      command: python(0),
      env: { OPENBLAS_NUM_THREADS: undefined, OMP_NUM_THREADS: undefined },
      skip: noTorch,
    },
  ];
}

/** The peers of the ensemble inference, by their `--peer` name in bench/peers/ensemble.ts. */
const ENSEMBLE_PEERS = ["cpu", "wasm", "wasm2", "ort", "ort-branches"] as const;

async function runEnsemble(dir: string): Promise<{ rows: Row[]; section: string }> {
  log(`Running ensemble inference, ${ROUNDS} round(s) of 5 + ${ENSEMBLE_RUNS} calls per peer:`);
  const rounds: Row[][] = [];
  for (let round = 0; round < ROUNDS; round++) rounds.push(await ensembleRound(dir));
  const rows = mergeRounds(rounds, 0);
  const agreement = await ensembleAgreement(dir, ENSEMBLE_PEERS);
  return { rows, section: ensembleTable(rows, ENSEMBLE_RUNS, agreement, ROUNDS) };
}

/** One call of every ensemble peer, in turn. */
async function ensembleRound(dir: string): Promise<Row[]> {
  const rows: Row[] = [];
  for (const name of ENSEMBLE_PEERS) {
    const script = new URL("peers/ensemble.ts", HERE).pathname;
    const spec: PeerSpec = {
      label: `ensemble ${name}`,
      command: (d, _w, r) => [
        Deno.execPath(),
        "run",
        LOCK,
        "-A",
        script,
        "--dir",
        d,
        "--runs",
        String(r),
        "--peer",
        name,
      ],
    };
    rows.push(await runPeer(spec, dir, "mnist", ENSEMBLE_RUNS, 0));
  }
  return rows;
}

interface Measured {
  readonly results: Map<WorkloadName | "ensemble", Row[]>;
  readonly sections: string[];
  readonly notes: Set<string>;
}

/**
 * One row per peer from the rounds: the first round's runs (its warm-ups shown in parentheses),
 * then every later round's timed runs; the median over all timed runs. A peer skipped in any round
 * is skipped.
 */
function mergeRounds(rounds: Row[][], warm = WARMUP): Row[] {
  return rounds[0].map((first, i) => {
    const all = rounds.map((rows) => rows[i]);
    const skipped = all.find((row) => row.report === undefined);
    if (skipped !== undefined) return skipped;
    const runsMs = [
      ...first.report!.runsMs,
      ...all.slice(1).flatMap((row) => row.report!.runsMs.slice(warm)),
    ];
    return { ...first, report: { ...first.report!, runsMs }, median: median(runsMs.slice(warm)) };
  });
}

async function measure(dir: string, peers: PeerSpec[]): Promise<Measured> {
  const results = new Map<WorkloadName | "ensemble", Row[]>();
  const sections: string[] = [];
  const notes = new Set<string>();
  for (const name of WORKLOADS) {
    log(`Preparing the ${name} workload ...`);
    const w = await buildWorkload(name);
    await saveWorkload(dir, w);
    log(`Running ${w.title}, ${ROUNDS} round(s) of ${WARMUP} + ${RUNS[name]} runs per peer:`);
    const rounds: Row[][] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const rows: Row[] = [];
      for (const peer of peers.filter((p) => p.workloads?.includes(name) ?? true)) {
        const row = await runPeer(peer, dir, name);
        rows.push(row);
        for (const note of row.report?.notes ?? []) notes.add(note);
      }
      rounds.push(rows);
    }
    const rows = mergeRounds(rounds);
    results.set(name, rows);
    const section = table(w, rows, WARMUP, RUNS[name], await sameParams(dir, name), ROUNDS);
    sections.push(section);
    console.log(section + "\n");
  }
  // The MNIST workload's files are still in `dir`: the ensemble reads its test rows.
  const ensemble = await runEnsemble(dir);
  results.set("ensemble", ensemble.rows);
  for (const row of ensemble.rows) for (const note of row.report?.notes ?? []) notes.add(note);
  sections.push(ensemble.section);
  console.log(ensemble.section + "\n");
  return { results, sections, notes };
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
    const { results, sections, notes } = await measure(dir, peerList(adapter, torchVersion));
    const loadAfter = await loadAverage();
    const speed = speedTargets(results);
    const earlier = peerTargets(results);
    console.log(["Targets (issue 14):", ...speed, "Targets (issue 5):", ...earlier].join("\n"));
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
      `${loadBefore} before, ${loadAfter} after (1, 5, 15 min). The machine is shared: other ` +
      "work ran beside the benchmark, so absolute times are noisy; the ratios of neighbouring " +
      "rows are what to read.",
      `- Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), ${Deno.build.os} ${Deno.build.arch}`,
      `- WebGPU adapter: ${adapterText}`,
      ...[...notes].sort().map((n) => `- ${n}`),
      torchVersion === null ? `- PyTorch: not available (${PYTHON} cannot import torch)` : "",
      "",
      "## How",
      "",
      ...HOW,
      "",
      "## Results",
      "",
      ...sections.flatMap((s) => [s, ""]),
      "## Against the targets of issue 14 (speed)",
      "",
      ...speed,
      "",
      "## Against the targets of issue 5 (peers)",
      "",
      ...earlier,
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
