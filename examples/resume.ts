/**
 * Stop a run, resume it in a new process, and get the same snapshots: the tutorial's 2-25-3 MLP
 * trains once without a break; then again, stopping after `--stop-after` epochs with a checkpoint
 * saved by `saveCheckpoint`; a new Deno process loads that file with `loadCheckpoint`, resumes the
 * run to the end and saves the snapshots it took. Every snapshot of the stopped-and-resumed run is
 * compared, bit for bit, with the uninterrupted run's (on the CPU backend, whose arithmetic is the
 * same in every process).
 *
 * ```sh
 * deno run -A examples/resume.ts                        # in a temporary directory
 * deno run --allow-read=out --allow-write=out --allow-run examples/resume.ts --dir out
 * ```
 *
 * Flags: `--epochs N` (60), `--cycles M` (6), `--stop-after K` (25), `--seed S` (1), `--dir DIR`,
 * `--json`; `--resume FILE` is what the new process is started with.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import {
  type Checkpoint,
  collect,
  cosineAnnealing,
  createCpuBackend,
  mlp,
  sgd,
  type Snapshot,
  train,
  type TrainConfig,
} from "../mod.ts";
import { loadCheckpoint, loadEnsemble, saveCheckpoint, saveEnsemble } from "../io.ts";
import { checkWritable, type CliSpec, type CliValues, refuse, runCli } from "./_cli.ts";
import { tutorialData } from "./_tutorial.ts";

const CLI = {
  script: "examples/resume.ts",
  summary: "Stops the tutorial run after some epochs with a checkpoint file, resumes it in a new " +
    "process, and checks that every snapshot is bit-identical to an uninterrupted run's (CPU).",
  flags: {
    epochs: { kind: "int", default: 60, min: 2, max: 100_000, help: "training epochs" },
    cycles: { kind: "int", default: 6, min: 1, max: 10_000, help: "cosine cycles (snapshots)" },
    "stop-after": {
      kind: "int",
      default: 25,
      min: 1,
      max: 100_000,
      help: "epochs trained before the run stops and saves its checkpoint",
    },
    seed: { kind: "int", default: 1, min: 0, max: 2 ** 32 - 1, help: "seed of the run" },
    dir: {
      kind: "path",
      help: "where the checkpoint and the resumed snapshots go (default: a temporary directory)",
    },
    resume: {
      kind: "path",
      placeholder: "FILE",
      help:
        "resume from this checkpoint file and save the snapshots taken after it (the new process)",
    },
    json: { kind: "bool", help: "print one JSON object on stdout instead of the report" },
  },
} as const satisfies CliSpec;

type Flags = CliValues<typeof CLI>;

/** The file names inside `--dir`. */
const CHECKPOINT_FILE = "run.ckpt.safetensors";
const RESUMED_FILE = "resumed.safetensors";

/** The run: the same in both processes, as a resumed run must be configured as the stopped one. */
export function runConfig(
  flags: Pick<Flags, "epochs" | "cycles" | "stopAfter" | "seed">,
  backend: TrainConfig["backend"],
): TrainConfig {
  return {
    backend,
    model: mlp({ layers: [2, 25, 3], activation: "relu" }),
    optimizer: sgd({ momentum: 0.9 }),
    schedule: cosineAnnealing({ lrMax: 0.01, totalSteps: flags.epochs, cycles: flags.cycles }),
    lrPer: "epoch",
    epochs: flags.epochs,
    batchSize: 32,
    data: tutorialData().train,
    seed: flags.seed,
    checkpointEvery: flags.stopAfter,
  };
}

/** The new process: load the checkpoint, train to the end, save the snapshots taken after it. */
async function resumeFrom(flags: Flags, file: string): Promise<void> {
  const dir = flags.dir;
  refuse(CLI, dir === undefined ? ["--resume needs --dir: the resumed snapshots go there"] : []);
  const backend = createCpuBackend();
  try {
    const checkpoint = await loadCheckpoint(file);
    const rest = await collect(train({ ...runConfig(flags, backend), resume: checkpoint }));
    await saveEnsemble(`${dir}/${RESUMED_FILE}`, {
      snapshots: rest.snapshots,
      schedule: rest.done.schedule,
    });
  } finally {
    backend.dispose();
  }
}

/** Trains until the first checkpoint, saves it and returns the snapshots taken before it. */
async function stopAfterCheckpoint(
  run: TrainConfig,
  path: string,
): Promise<{ checkpoint: Checkpoint; snapshots: Snapshot[] }> {
  const snapshots: Snapshot[] = [];
  for await (const event of train(run)) {
    if (event.type === "snapshot") snapshots.push(event);
    if (event.type === "checkpoint") {
      await saveCheckpoint(path, event.checkpoint);
      return { checkpoint: event.checkpoint, snapshots }; // leaving the loop stops the run
    }
  }
  throw new Error("Cannot stop the run: it ended before its first checkpoint");
}

/** Starts this script again as a new Deno process that resumes from `checkpointFile`. */
async function resumeInNewProcess(flags: Flags, dir: string, checkpointFile: string) {
  const args = [
    "run",
    `--allow-read=${dir}`,
    `--allow-write=${dir}`,
    fileURLToPath(import.meta.url),
    `--epochs=${flags.epochs}`,
    `--cycles=${flags.cycles}`,
    `--stop-after=${flags.stopAfter}`,
    `--seed=${flags.seed}`,
    `--dir=${dir}`,
    `--resume=${checkpointFile}`,
  ];
  // The repository root, so that the new process finds the same deno.json and lock file.
  const cwd = fileURLToPath(new URL("..", import.meta.url));
  const child = new Deno.Command(Deno.execPath(), { args, cwd, stdout: "null", stderr: "piped" });
  const { code, stderr } = await child.output();
  if (code !== 0) {
    throw new Error(
      `Cannot resume in a new process: it exited with code ${code}: ` +
        new TextDecoder().decode(stderr).trim(),
    );
  }
  return (await loadEnsemble(`${dir}/${RESUMED_FILE}`)).snapshots;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

async function main(flags: Flags): Promise<void> {
  if (flags.resume !== undefined) return await resumeFrom(flags, flags.resume);
  refuse(CLI, [
    ...(flags.cycles > flags.epochs
      ? [`--cycles must not exceed --epochs: got ${flags.cycles} > ${flags.epochs}`]
      : []),
    ...(flags.stopAfter >= flags.epochs
      ? [`--stop-after must be below --epochs: got ${flags.stopAfter} >= ${flags.epochs}`]
      : []),
  ]);
  if (flags.dir !== undefined) await checkWritable(CLI, flags.dir);
  const dir = flags.dir ?? await Deno.makeTempDir({ prefix: "snapfold-resume-" });
  const backend = createCpuBackend();
  try {
    const run = runConfig(flags, backend);
    const whole = await collect(train(run));
    const checkpointFile = `${dir}/${CHECKPOINT_FILE}`;
    const stopped = await stopAfterCheckpoint(run, checkpointFile);
    const resumed = await resumeInNewProcess(flags, dir, checkpointFile);
    const joined = [...stopped.snapshots, ...resumed];
    const rows = whole.snapshots.map((s, i) => ({
      index: s.index,
      epoch: s.epoch,
      part: i < stopped.snapshots.length ? "before the stop" : "new process",
      identical: joined[i] !== undefined && joined[i].index === s.index &&
        sameBits(joined[i].params, s.params),
    }));
    const identical = joined.length === whole.snapshots.length && rows.every((r) => r.identical);
    report(flags, { dir, checkpointFile, checkpoint: stopped.checkpoint, rows, identical });
    if (!identical) Deno.exitCode = 1;
  } finally {
    backend.dispose();
    if (flags.dir === undefined) await Deno.remove(dir, { recursive: true });
  }
}

interface Outcome {
  readonly dir: string;
  readonly checkpointFile: string;
  readonly checkpoint: Checkpoint;
  readonly rows: ReadonlyArray<{ index: number; epoch: number; part: string; identical: boolean }>;
  readonly identical: boolean;
}

function report(flags: Flags, o: Outcome): void {
  if (flags.json) {
    console.log(JSON.stringify({
      epochs: flags.epochs,
      stoppedAfterEpoch: o.checkpoint.epoch,
      checkpointFile: flags.dir === undefined ? null : o.checkpointFile,
      snapshots: o.rows,
      identical: o.identical,
    }));
    return;
  }
  console.log(
    `Stopped after epoch ${o.checkpoint.epoch} (step ${o.checkpoint.step}, ` +
      `${o.checkpoint.snapshotsTaken} snapshots taken) and saved ${o.checkpointFile}; ` +
      "a new process loaded it and trained to the end.",
  );
  console.log("snapshot  epoch  taken by          bits as the uninterrupted run");
  for (const r of o.rows) {
    console.log(
      `${String(r.index).padStart(8)}  ${String(r.epoch).padStart(5)}  ${r.part.padEnd(16)}  ` +
        (r.identical ? "identical" : "DIFFERENT"),
    );
  }
  console.log(
    o.identical
      ? `All ${o.rows.length} snapshots are bit-identical to the uninterrupted run's.`
      : "The resumed run differs from the uninterrupted one.",
  );
}

if (import.meta.main) await runCli(CLI, main);
