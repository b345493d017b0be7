/**
 * Times one workload's training on one backend and prints one JSON object:
 * `{ "backend", "workload", "threads", "runs", "medianMs", "minMs", "testAccuracy" }`.
 *
 * ```sh
 * deno run --lock=tools/dev.lock -A bench/epoch.ts --workload mnist|tutorial \
 *   --backend cpu|wasm|webgpu [--threads N] [--runs N] --json
 * ```
 *
 * The time is the training alone (from `train` to its `done` event, the backend created before),
 * of one MNIST epoch (8000 digits, 784-256-10, batch 128, 63 steps) or of the whole tutorial run
 * (2-25-3, 2000 steps), on the workloads of the peer benchmark (bench/peers/_workloads.ts), so the
 * numbers compare with its rows. The test accuracy is that of the last run's final parameters.
 * `--threads N` (wasm only) splits the large products across N threads; `"threads"` in the output
 * is what ran (1 where the runtime has no `SharedArrayBuffer`).
 * Without `--json` it prints the same figures as one line of text.
 *
 * @module
 */
import {
  type Backend,
  collect,
  createCpuBackend,
  createWebGpuBackend,
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
} from "./peers/_workloads.ts";

const BACKENDS = ["cpu", "wasm", "webgpu"] as const;

/** The benchmark's flags. */
export interface EpochFlags {
  readonly workload: WorkloadName;
  readonly backend: (typeof BACKENDS)[number];
  readonly threads: number;
  readonly runs: number;
  readonly json: boolean;
}

/**
 * Reads the flags, refusing unknown ones and bad values.
 *
 * @param args The command line.
 * @returns The flags.
 */
export function parseEpochFlags(args: ReadonlyArray<string>): EpochFlags {
  const values = new Map<string, string>();
  let json = false;
  for (let k = 0; k < args.length; k++) {
    const flag = args[k];
    if (flag === "--json") json = true;
    else if (
      ["--workload", "--backend", "--threads", "--runs"].includes(flag) && k + 1 < args.length
    ) {
      values.set(flag, args[++k]);
    } else {
      throw new Error(
        `Cannot run the benchmark: unknown flag or missing value: got ${flag}; usage: --workload ` +
          "mnist|tutorial --backend cpu|wasm|webgpu [--threads N] [--runs N] --json",
      );
    }
  }
  const workload = values.get("--workload") ?? "mnist";
  const backend = values.get("--backend") ?? "cpu";
  const threads = Number(values.get("--threads") ?? "1");
  const runs = Number(values.get("--runs") ?? "5");
  const problems = [
    ...(WORKLOADS.includes(workload as WorkloadName)
      ? []
      : [`--workload must be mnist or tutorial: got ${workload}`]),
    ...((BACKENDS as ReadonlyArray<string>).includes(backend)
      ? []
      : [`--backend must be cpu, wasm or webgpu: got ${backend}`]),
    ...(Number.isInteger(threads) && threads >= 1
      ? []
      : [`--threads must be >= 1: got ${threads}`]),
    ...(threads === 1 || backend === "wasm"
      ? []
      : [`--threads ${threads} needs --backend wasm: the cpu and webgpu backends run one thread`]),
    ...(Number.isInteger(runs) && runs >= 1 ? [] : [`--runs must be >= 1: got ${runs}`]),
  ];
  if (problems.length > 0) throw new Error(`Cannot run the benchmark: ${problems.join("; ")}`);
  return {
    workload: workload as WorkloadName,
    backend: backend as EpochFlags["backend"],
    threads,
    runs,
    json,
  };
}

async function makeBackend(which: EpochFlags["backend"], threads: number): Promise<Backend> {
  if (which === "wasm") return await createWasmBackend({ threads });
  if (which === "webgpu") return await createWebGpuBackend();
  return createCpuBackend();
}

if (import.meta.main) {
  const flags = parseEpochFlags(Deno.args);
  const w = await buildWorkload(flags.workload);
  const model = mlp({ layers: [...w.layers], activation: "relu", head: "softmax" });
  const backend = await makeBackend(flags.backend, flags.threads);
  const times: number[] = [];
  let result: TrainResult | undefined;
  for (let run = 0; run < flags.runs; run++) {
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
    times.push(performance.now() - started);
  }
  const probs = await backend.predict({
    spec: model,
    params: result!.done.params,
    x: w.xTest,
    n: w.nTest,
  });
  // What ran: the wasm backend names its threads in its description ("..., 2 threads (...)").
  const ran = Number(/(\d+) threads/.exec(backend.adapter ?? "")?.[1] ?? 1);
  backend.dispose();
  const report = {
    backend: flags.backend,
    workload: flags.workload,
    threads: ran,
    runs: flags.runs,
    medianMs: Number(median(times).toFixed(2)),
    minMs: Number(Math.min(...times).toFixed(2)),
    testAccuracy: Number(accuracyOf(probs, w.yTest, w.layers[w.layers.length - 1]).toFixed(4)),
  };
  console.log(
    flags.json ? JSON.stringify(report) : Object.entries(report).map(([k, v]) => `${k} ${v}`)
      .join(", "),
  );
}
