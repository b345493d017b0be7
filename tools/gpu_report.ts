/**
 * `deno task gpu:report`: the GPU report, for a machine with a hardware WebGPU adapter.
 *
 * On a hardware adapter it runs the WebGPU test suite (tests/webgpu_test.ts,
 * tests/webgpu_fused_test.ts) with every tolerance of `assertClose` times
 * {@linkcode FAST_MATH_TOLERANCE_SCALE} (hardware shaders run with fast math: fused multiply-adds,
 * approximate `exp`), times the tutorial run (2-25-3, 2000 steps) and one MNIST epoch (784-256-10,
 * 63 steps) end to end on the fused and the per-kernel paths (`fused: "auto"` and `"never"`),
 * beside the CPU and WebAssembly backends in the same process, and writes `bench/GPU.md` naming the
 * adapter. On a software adapter (llvmpipe, SwiftShader) or without one it says so, writes
 * nothing and exits 0: such a report would only measure the CPU through a slower road.
 *
 * ```sh
 * deno task gpu:report                    # writes bench/GPU.md on a hardware adapter
 * deno run --lock=tools/dev.lock -A tools/gpu_report.ts --runs 3 --out /tmp/GPU.md --skip-tests
 * ```
 *
 * `--allow-software` runs the whole report on a software adapter too (to check the report itself;
 * its numbers say nothing about GPUs).
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  type Backend,
  collect,
  createCpuBackend,
  createWebGpuBackend,
  describeAdapter,
  mlp,
  scheduleFromSpec,
  sgd,
  train,
  type TrainResult,
} from "../mod.ts";
import { createWasmBackend } from "../lib/backend/wasm/backend.ts";
import {
  accuracyOf,
  buildWorkload,
  median,
  type WorkloadName,
  WORKLOADS,
} from "../bench/peers/_workloads.ts";

/** The factor on the test tolerances on hardware adapters (`SNAPFOLD_TOLERANCE_SCALE`). */
export const FAST_MATH_TOLERANCE_SCALE = 20;

/** The WebGPU test files the report runs. */
export const GPU_TESTS: ReadonlyArray<string> = [
  "tests/webgpu_test.ts",
  "tests/webgpu_fused_test.ts",
];

/** The backends and paths timed. */
export const PATHS = ["webgpu fused", "webgpu per-kernel", "cpu", "wasm"] as const;

/** One timed workload on one path. */
export interface GpuTiming {
  readonly workload: WorkloadName;
  readonly path: (typeof PATHS)[number];
  readonly medianMs: number;
  readonly minMs: number;
  /** Steps the fused kernel ran in the last run (WebGPU only). */
  readonly fusedSteps?: number;
  readonly testAccuracy: number;
}

/** What the report says. */
export interface GpuReport {
  readonly adapter: string;
  readonly date: string;
  readonly runtime: string;
  readonly runs: number;
  /** The test run's outcome, or undefined when skipped. */
  readonly tests?: { readonly passed: boolean; readonly summary: string };
  readonly timings: ReadonlyArray<GpuTiming>;
}

async function makeBackend(path: GpuTiming["path"]): Promise<Backend> {
  if (path === "cpu") return createCpuBackend();
  if (path === "wasm") return await createWasmBackend();
  return await createWebGpuBackend({ fused: path === "webgpu fused" ? "auto" : "never" });
}

/**
 * Times one workload on one path: one untimed run, then `runs` timed ones, training only.
 *
 * @param name The workload.
 * @param path The backend and path.
 * @param runs Timed runs.
 * @returns The timing.
 */
export async function timeWorkload(
  name: WorkloadName,
  path: GpuTiming["path"],
  runs: number,
): Promise<GpuTiming> {
  const w = await buildWorkload(name);
  const model = mlp({ layers: [...w.layers], activation: "relu", head: "softmax" });
  const backend = await makeBackend(path);
  const fusedSteps = () => (backend as { fusedSteps?: number }).fusedSteps;
  try {
    const times: number[] = [];
    let result: TrainResult | undefined;
    let before = 0;
    for (let run = 0; run <= runs; run++) {
      before = fusedSteps() ?? 0;
      const started = performance.now();
      result = await collect(train({
        backend,
        model,
        optimizer: sgd({ momentum: w.momentum }),
        schedule: scheduleFromSpec(w.schedule),
        lrPer: w.lrPer,
        epochs: w.epochs,
        batchSize: w.batchSize,
        data: { x: w.x, y: w.y, n: w.n },
        seed: w.seed,
        initialParams: w.initialParams,
      }));
      if (run > 0) times.push(performance.now() - started); // run 0 warms up
    }
    const after = fusedSteps();
    const probs = await backend.predict({
      spec: model,
      params: result!.done.params,
      x: w.xTest,
      n: w.nTest,
    });
    return {
      workload: name,
      path,
      medianMs: median(times),
      minMs: Math.min(...times),
      ...(after === undefined ? {} : { fusedSteps: after - before }),
      testAccuracy: accuracyOf(probs, w.yTest, w.layers[w.layers.length - 1]),
    };
  } finally {
    backend.dispose();
  }
}

/**
 * The Markdown of `bench/GPU.md`.
 *
 * @example
 * ```ts
 * import { gpuReportMarkdown } from "./gpu_report.ts";
 * import assert from "node:assert/strict";
 *
 * const md = gpuReportMarkdown({
 *   adapter: "NVIDIA H100", date: "2026-12-01", runtime: "Deno 2.9.6", runs: 3,
 *   tests: { passed: true, summary: "ok | 120 passed | 0 failed" },
 *   timings: [{ workload: "mnist", path: "webgpu fused", medianMs: 20, minMs: 19, fusedSteps: 63,
 *     testAccuracy: 0.89 }],
 * });
 * assert.match(md, /Adapter: NVIDIA H100/);
 * assert.match(md, /\| mnist \| webgpu fused \| 20\.0 ms \| 19\.0 ms \| 63 \| 0\.890 \|/);
 * ```
 *
 * @param report What was measured.
 * @returns The Markdown.
 */
export function gpuReportMarkdown(report: GpuReport): string {
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const tests = report.tests === undefined
    ? "not run (`--skip-tests`)"
    : `${report.tests.passed ? "passed" : "**FAILED**"} (${report.tests.summary})`;
  return [
    "# GPU report",
    "",
    `Made by \`deno task gpu:report\` on ${report.date}.`,
    "",
    `- Adapter: ${report.adapter}`,
    `- Runtime: ${report.runtime}`,
    `- WebGPU tests (${GPU_TESTS.join(", ")}) with tolerances x${FAST_MATH_TOLERANCE_SCALE} ` +
    `for fast-math hardware: ${tests}`,
    "",
    `Training only, end to end (from \`train\` to its \`done\` event, readbacks included); one ` +
    `untimed run, then ${report.runs} timed runs. Tutorial: blobs 2-25-3, batch 32, 2000 steps. ` +
    "MNIST: one epoch of 8000 digits, 784-256-10, batch 128, 63 steps.",
    "",
    "| workload | path | median | min | fused steps | test accuracy |",
    "| --- | --- | ---: | ---: | ---: | ---: |",
    ...report.timings.map((t) =>
      `| ${t.workload} | ${t.path} | ${ms(t.medianMs)} | ${ms(t.minMs)} | ${
        t.fusedSteps ?? "-"
      } | ${t.testAccuracy.toFixed(3)} |`
    ),
    "",
  ].join("\n");
}

async function runGpuTests(): Promise<{ passed: boolean; summary: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--lock=tools/dev.lock", "-A", ...GPU_TESTS],
    env: {
      SNAPFOLD_TOLERANCE_SCALE: String(FAST_MATH_TOLERANCE_SCALE),
      NO_COLOR: "1", // plain text, so the summary line reads as it is
      XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp",
    },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const summary = text.trim().split("\n").reverse().find((l) => /passed|failed/.test(l)) ?? "";
  return { passed: out.success, summary: summary.trim() };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      out: { type: "string", default: "bench/GPU.md" },
      runs: { type: "string", default: "3" },
      "skip-tests": { type: "boolean", default: false },
      "allow-software": { type: "boolean", default: false },
    },
    strict: true,
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) {
    throw new Error(`Cannot make the GPU report: --runs must be a positive integer: got ${runs}`);
  }
  const adapter = await describeAdapter();
  if (adapter === null || (adapter.software && !values["allow-software"])) {
    console.log(
      adapter === null
        ? "No WebGPU adapter here: no GPU report made (bench/GPU.md not written)."
        : `The WebGPU adapter "${adapter.description}" is a software adapter: no GPU report ` +
          "made (bench/GPU.md not written). Run deno task gpu:report on a machine with a GPU.",
    );
    return;
  }
  const tests = values["skip-tests"] ? undefined : await runGpuTests();
  const timings: GpuTiming[] = [];
  for (const name of WORKLOADS) {
    for (const path of PATHS) {
      console.error(`Timing ${name} on ${path} ...`);
      timings.push(await timeWorkload(name, path, runs));
    }
  }
  const md = gpuReportMarkdown({
    adapter: `${adapter.description}${adapter.software ? " (software adapter)" : ""}`,
    date: new Date().toISOString().slice(0, 10),
    runtime:
      `Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), ${Deno.build.os} ${Deno.build.arch}`,
    runs,
    tests,
    timings,
  });
  await Deno.writeTextFile(values.out, md);
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", values.out] }).output();
  console.log(md);
  if (tests !== undefined && !tests.passed) Deno.exit(1);
}

if (import.meta.main) await main();
