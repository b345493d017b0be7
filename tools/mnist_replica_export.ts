/**
 * Exports one seed of the MNIST study (examples/mnist.ts) for its PyTorch replica
 * (tools/mnist_torch_replica.py), and prints snapfold's own scores of the same runs.
 *
 * It trains `single-cosine` and `snapshot` exactly as the study does (the configs come from
 * `studyTrainConfig`) on a backend wrapped so that it records what snapfold really used: the
 * initial parameters handed to the session, the training rows it uploaded, and every `StepPlan`
 * it ran (batch indices, float32 lrs, optimizer resets). The shift of every batch row is drawn
 * with lib/ops/shift.ts's own functions (a pure function of the session's seed, the global step
 * and the batch row), so the replica reads the shifts instead of reimplementing the hash.
 *
 * Files (raw little-endian arrays, described by `header.json`): the train, validation and test
 * rows and labels, and per run `<id>.init.f32` [P], `<id>.indices.i32` [rows], `<id>.offsets.i32`
 * [steps + 1], `<id>.lrs.f32` [steps], `<id>.resets.u8` [steps] and, with augmentation,
 * `<id>.shifts.i8` [rows, 2] (dx, dy per batch row of every step, in step order). The header also
 * names each run's snapshot steps (0-based steps after which the parameters were copied) and the
 * methods scored on them. Write them to a temporary directory; they are never committed.
 *
 * ```sh
 * deno run --lock=tools/dev.lock -A tools/mnist_replica_export.ts --out "$DIR" --seed 1
 * OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 tools/mnist_torch_replica.py "$DIR"
 * ```
 *
 * Both print one JSON object of the same shape (see {@linkcode ReplicaReport}).
 *
 * @module
 */
import {
  type Backend,
  collect,
  type ComparedMethod,
  compareMethods,
  createBackend,
  type MethodComparison,
  paramCount,
  train,
  type TrainingData,
  type TrainResult,
} from "../mod.ts";
import { joinPlans, type Recorded, recordingBackend, shiftsOf } from "./_recording_backend.ts";
import { DEFAULT_PROTOCOL, studySplits } from "../examples/mnist.ts";
import { loadMnist, type MnistData } from "../examples/_mnist_data.ts";
import {
  budgetSteps,
  type Protocol,
  type RunArgs,
  singleCosineRun,
  snapshotRun,
  studyTrainConfig,
} from "../examples/_mnist_methods.ts";
import { type CliSpec, type CliValues, runCli } from "../examples/_cli.ts";

/** The format tag of `header.json`. */
export const REPLICA_FORMAT = "snapfold-mnist-replica/1";

type Raw = Float32Array | Int32Array | Int8Array | Uint8Array;
const DTYPES = new Map<unknown, string>([
  [Float32Array, "float32"],
  [Int32Array, "int32"],
  [Int8Array, "int8"],
  [Uint8Array, "uint8"],
]);

/** Writes raw little-endian arrays into `dir` and describes them for the header. */
function arrayWriter(dir: string) {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error("Cannot export: this machine is big-endian and the files are little-endian");
  }
  const files: Record<string, { dtype: string; shape: number[] }> = {};
  return {
    files,
    async write(name: string, array: Raw, shape: number[]): Promise<string> {
      await Deno.writeFile(
        `${dir}/${name}`,
        new Uint8Array(array.buffer, array.byteOffset, array.byteLength),
      );
      files[name] = { dtype: DTYPES.get(array.constructor)!, shape };
      return name;
    },
  };
}

/** The JSON that the exporter and the replica both print. */
export interface ReplicaReport {
  /** `"snapfold"` or `"torch"`. */
  readonly implementation: string;
  /** The seed of the runs. */
  readonly seed: number;
  /** Per method: test scores (temperature fitted on validation). */
  readonly methods: ReadonlyArray<
    Pick<
      MethodComparison,
      "id" | "members" | "accuracy" | "logLoss" | "logLossTemperature" | "ece" | "brier"
    > & { readonly disagreement: number | null }
  >;
  /** Per run: the mean training loss of every epoch and of every step's batch, the snapshot steps. */
  readonly runs: ReadonlyArray<
    { id: string; epochLoss: number[]; stepLoss: number[]; snapshotSteps: number[] }
  >;
}

/** Options of {@linkcode exportReplica}. */
export interface ExportOptions {
  /** Directory the files go to (created when missing). */
  readonly dir: string;
  /** Seed of the runs (the study's seeds are 1..K). */
  readonly seed: number;
  /** The protocol (default: the study's). */
  readonly protocol?: Protocol;
  /** Train on the first this many of the 7000 training rows (default all). */
  readonly trainRows?: number;
  /** Where snapfold trains (default: the study's default, `wasm`). */
  readonly backend?: Backend;
  /** The digits, when already loaded (default: `loadMnist()`). */
  readonly digits?: MnistData;
}

/** Trains the two runs, writes the export and returns snapfold's scores of them. */
export async function exportReplica(options: ExportOptions): Promise<ReplicaReport> {
  const p = options.protocol ?? DEFAULT_PROTOCOL;
  const splits = studySplits(options.digits ?? await loadMnist(), "test");
  const n = Math.min(options.trainRows ?? splits.train.n, splits.train.n);
  const data: TrainingData = {
    x: splits.train.x.subarray(0, n * 784),
    y: splits.train.y.subarray(0, n),
    n,
  };
  const inner = options.backend ?? await createBackend("wasm");
  const { backend, sessions } = recordingBackend(inner);
  try {
    const T = budgetSteps(p, n);
    const runs: RunArgs[] = [singleCosineRun(p, T), snapshotRun(p, T)];
    const results: TrainResult[] = [];
    for (const run of runs) {
      const config = studyTrainConfig(p, { backend, data, seed: options.seed }, run);
      results.push(await collect(train(config)));
    }
    const methods: ComparedMethod[] = [
      { id: "single-cosine", snapshots: results[0].snapshots, trainSteps: T },
      { id: "snapshot", snapshots: results[1].snapshots, trainSteps: T },
    ];
    await writeExport(options.dir, { seed: options.seed, protocol: p, splits, sessions, methods });
    const scores = await compareMethods({
      test: splits.test,
      validation: splits.validation,
      methods,
      backend: inner,
    });
    return {
      implementation: "snapfold",
      seed: options.seed,
      methods: scores.map((r) => ({
        id: r.id,
        members: r.members,
        accuracy: r.accuracy,
        logLoss: r.logLoss,
        logLossTemperature: r.logLossTemperature,
        ece: r.ece,
        brier: r.brier,
        disagreement: r.disagreement,
      })),
      runs: runs.map((run, k) => ({
        id: run.label,
        epochLoss: results[k].history.map((e) => e.loss),
        stepLoss: sessions[k].losses,
        snapshotSteps: results[k].snapshots.map((s) => s.step),
      })),
    };
  } finally {
    if (options.backend === undefined) inner.dispose();
  }
}

interface Rows {
  readonly x: Float32Array;
  readonly y: ArrayLike<number>;
  readonly n: number;
}

/** Writes the arrays and `header.json`; run k of the header is session k, method k's run. */
async function writeExport(dir: string, e: {
  seed: number;
  protocol: Protocol;
  splits: { validation: Rows; test: Rows };
  sessions: ReadonlyArray<Recorded>;
  methods: ReadonlyArray<ComparedMethod>;
}): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const out = arrayWriter(dir);
  const part = async (name: string, rows: Rows) => ({
    n: rows.n,
    x: await out.write(`${name}.x.f32`, rows.x.subarray(0, rows.n * 784), [rows.n, 784]),
    y: await out.write(`${name}.y.i32`, Int32Array.from(rows.y).subarray(0, rows.n), [rows.n]),
  });
  const first = e.sessions[0].options;
  // Every run trained on the rows the first session uploaded (the study shares them).
  const same = (d: TrainingData) =>
    d.n === first.data.n && d.x.every((v, i) => v === first.data.x[i]) &&
    d.y.every((v, i) => v === first.data.y[i]);
  if (!e.sessions.every((s) => same(s.options.data))) {
    throw new Error("Cannot export: the runs trained on different data");
  }
  const data = {
    train: await part("train", first.data as Rows),
    validation: await part("validation", e.splits.validation),
    test: await part("test", e.splits.test),
  };
  const runs = [];
  for (const [k, method] of e.methods.entries()) {
    runs.push(await writeRun(out, method.id, e.sessions[k], method.snapshots));
  }
  const header = {
    format: REPLICA_FORMAT,
    seed: e.seed,
    protocol: { ...e.protocol, trainRows: first.data.n },
    model: { layers: [784, e.protocol.hidden, 10], activation: "relu", head: "softmax" },
    optimizer: first.optimizer,
    augment: first.augment ?? null,
    data,
    runs,
    // Which snapshots of which run each method averages (soft vote, equal weights).
    methods: e.methods.map((m) => ({ id: m.id, run: m.id, members: m.snapshots.map((_, i) => i) })),
    files: out.files,
  };
  await Deno.writeTextFile(`${dir}/header.json`, JSON.stringify(header, null, 1) + "\n");
}

async function writeRun(
  out: ReturnType<typeof arrayWriter>,
  id: string,
  session: Recorded,
  snapshots: ReadonlyArray<{ step: number }>,
) {
  const { options } = session;
  if ((options.replicas ?? 1) !== 1) throw new Error("Cannot export: one replica per run only");
  const plan = joinPlans(session.plans);
  const rows = plan.offsets[plan.steps];
  const P = paramCount(options.spec);
  return {
    id,
    steps: plan.steps,
    batchSize: Math.max(...plan.offsets.slice(1).map((o, s) => o - plan.offsets[s])),
    seed: options.seed ?? 0,
    snapshotSteps: snapshots.map((s) => s.step),
    init: await out.write(`${id}.init.f32`, options.params, [P]),
    indices: await out.write(`${id}.indices.i32`, plan.indices, [rows]),
    offsets: await out.write(`${id}.offsets.i32`, plan.offsets, [plan.steps + 1]),
    lrs: await out.write(`${id}.lrs.f32`, plan.lrs, [plan.steps]),
    resets: await out.write(`${id}.resets.u8`, plan.resets, [plan.steps]),
    shifts: options.augment === undefined
      ? null
      : await out.write(`${id}.shifts.i8`, shiftsOf(options, plan.offsets), [rows, 2]),
  };
}

const CLI = {
  script: "tools/mnist_replica_export.ts",
  summary: "Trains single-cosine and snapshot of the MNIST study for one seed, writes what the " +
    "PyTorch replica (tools/mnist_torch_replica.py) needs into DIR, and prints snapfold's scores.",
  flags: {
    out: { kind: "path", help: "directory for the exported arrays (required)" },
    seed: { kind: "int", default: 1, min: 0, max: 1_000_000, help: "seed of the runs" },
    epochs: {
      kind: "int",
      default: DEFAULT_PROTOCOL.epochs,
      min: 1,
      max: 10_000,
      help: "budget E",
    },
    cycles: { kind: "int", default: DEFAULT_PROTOCOL.cycles, min: 2, max: 1000, help: "cycles M" },
    "train-rows": {
      kind: "int",
      default: 7000,
      min: 1,
      max: 7000,
      help: "train on the first N of the 7000 training digits",
    },
    backend: {
      kind: "choice",
      choices: ["wasm", "cpu"],
      default: "wasm",
      help: "snapfold's backend",
    },
  },
} as const satisfies CliSpec;

async function main(flags: CliValues<typeof CLI>): Promise<void> {
  if (flags.out === undefined) throw new Error("--out DIR is required");
  const backend = await createBackend(flags.backend);
  try {
    const report = await exportReplica({
      dir: flags.out,
      seed: flags.seed,
      protocol: { ...DEFAULT_PROTOCOL, epochs: flags.epochs, cycles: flags.cycles },
      trainRows: flags.trainRows,
      backend,
    });
    console.log(JSON.stringify(report));
  } finally {
    backend.dispose();
  }
}

if (import.meta.main) await runCli(CLI, main);
