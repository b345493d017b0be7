/**
 * The two workloads of the peer benchmark, and the files that hand them to every peer, so that all
 * of them train the same model from the same starting weights on the same rows with the same
 * learning rates.
 *
 * A workload in a directory is `<name>.json` (the description below) beside raw little-endian
 * arrays: `<name>.x.f32` [n, inDim], `<name>.y.i32` [n], `<name>.xtest.f32` [nTest, inDim],
 * `<name>.ytest.i32` [nTest], `<name>.init.f32` [paramCount] (snapfold's layout: per layer the
 * kernel `[inDim, outDim]` row-major, then the bias) and `<name>.lrs.f32` [totalSteps].
 *
 * @module
 */
import {
  cosineAnnealing,
  initParams,
  makeBlobs,
  mlp,
  perEpoch,
  type Schedule,
  type ScheduleSpec,
  splitAt,
  toFloat32,
} from "../../mod.ts";
import { TUTORIAL_BLOBS, TUTORIAL_TRAIN_ROWS } from "../../examples/_tutorial.ts";
import { loadMnist, splitMnist } from "../../examples/_mnist_data.ts";

/** The workloads' names. */
export type WorkloadName = "tutorial" | "mnist";

/** Every workload, in the order the benchmark runs them. */
export const WORKLOADS: ReadonlyArray<WorkloadName> = ["tutorial", "mnist"];

/** What `<name>.json` holds. */
export interface WorkloadInfo {
  readonly name: WorkloadName;
  /** One line for the results table. */
  readonly title: string;
  /** Layer widths, e.g. `[2, 25, 3]`; hidden layers ReLU, softmax head. */
  readonly layers: ReadonlyArray<number>;
  readonly batchSize: number;
  readonly epochs: number;
  /** SGD momentum coefficient. */
  readonly momentum: number;
  /** Whether the lr changes once per epoch or every step. */
  readonly lrPer: "epoch" | "step";
  /** The snapfold schedule (of the epoch or of the step, see `lrPer`). */
  readonly schedule: ScheduleSpec;
  /** Seed of snapfold's batch order (the initial weights are in the file). */
  readonly seed: number;
  readonly n: number;
  readonly nTest: number;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  /** How the schedule reads in words. */
  readonly scheduleText: string;
}

/** A workload with its arrays. */
export interface Workload extends WorkloadInfo {
  /** [n, inDim] */
  readonly x: Float32Array;
  /** [n] */
  readonly y: Int32Array;
  /** [nTest, inDim] */
  readonly xTest: Float32Array;
  /** [nTest] */
  readonly yTest: Int32Array;
  /** [paramCount] Glorot-uniform start (`initParams(spec, { seed })`). */
  readonly initialParams: Float32Array;
  /** [totalSteps] the lr of every step. */
  readonly lrs: Float32Array;
}

const SEED = 1;

/**
 * Builds a workload from scratch.
 *
 * @param name `"tutorial"` (blobs 2-25-3, 500 epochs of 4 steps, cosine per epoch, 10 cycles) or
 *   `"mnist"` (784-256-10, one epoch of 63 steps of batch 128, one cosine cycle per step).
 * @returns The workload.
 */
export async function buildWorkload(name: WorkloadName): Promise<Workload> {
  if (name === "tutorial") {
    // The tutorial's data and run (examples/blobs.ts): first 100 rows train, the other 1000 test.
    const blobs = makeBlobs(TUTORIAL_BLOBS);
    const [train, test] = splitAt(blobs, TUTORIAL_TRAIN_ROWS);
    const epochs = 500;
    const schedule = cosineAnnealing({ lrMax: 0.01, totalSteps: epochs, cycles: 10 });
    return finish({
      name,
      title: "Tutorial: blobs, MLP 2-25-3, batch 32, 500 epochs (2000 steps)",
      layers: [2, 25, 3],
      batchSize: 32,
      epochs,
      lrPer: "epoch",
      schedule,
      scheduleText: "cosine annealing per epoch, lr 0.01 to 0, 10 cycles of 50 epochs",
      x: toFloat32(train.x),
      y: train.y,
      xTest: toFloat32(test.x),
      yTest: test.y,
    });
  }
  const { train, test } = splitMnist(await loadMnist(), { seed: 0 });
  const stepsPerEpoch = Math.ceil(train.n / 128);
  // One epoch is one cycle: cosine from 0.05 down, stepped every batch.
  const schedule = cosineAnnealing({ lrMax: 0.05, totalSteps: stepsPerEpoch, cycles: 1 });
  return finish({
    name,
    title: "MNIST: 8000 digits, MLP 784-256-10, batch 128, 1 epoch (63 steps)",
    layers: [784, 256, 10],
    batchSize: 128,
    epochs: 1,
    lrPer: "step",
    schedule,
    scheduleText: "cosine annealing per step, lr 0.05 to 0, one cycle",
    x: train.x,
    y: train.y,
    xTest: test.x,
    yTest: test.y,
  });
}

function finish(w: {
  name: WorkloadName;
  title: string;
  layers: number[];
  batchSize: number;
  epochs: number;
  lrPer: "epoch" | "step";
  schedule: Schedule;
  scheduleText: string;
  x: Float32Array;
  y: Int32Array;
  xTest: Float32Array;
  yTest: Int32Array;
}): Workload {
  const n = w.y.length;
  const stepsPerEpoch = Math.ceil(n / w.batchSize);
  const totalSteps = stepsPerEpoch * w.epochs;
  const byStep = w.lrPer === "epoch" ? perEpoch(stepsPerEpoch)(w.schedule) : w.schedule;
  // Float32, as the trainer hands rates to the backend.
  const lrs = new Float32Array(totalSteps);
  for (let s = 0; s < totalSteps; s++) lrs[s] = byStep(s);
  return {
    name: w.name,
    title: w.title,
    layers: w.layers,
    batchSize: w.batchSize,
    epochs: w.epochs,
    momentum: 0.9,
    lrPer: w.lrPer,
    schedule: w.schedule.spec,
    scheduleText: w.scheduleText,
    seed: SEED,
    n,
    nTest: w.yTest.length,
    stepsPerEpoch,
    totalSteps,
    x: w.x,
    y: w.y,
    xTest: w.xTest,
    yTest: w.yTest,
    initialParams: initParams(mlp({ layers: w.layers }), { seed: SEED }),
    lrs,
  };
}

const ARRAYS = [
  ["x", "x.f32"],
  ["y", "y.i32"],
  ["xTest", "xtest.f32"],
  ["yTest", "ytest.i32"],
  ["initialParams", "init.f32"],
  ["lrs", "lrs.f32"],
] as const;

/**
 * Writes a workload into `dir` (see the module docs for the files).
 *
 * @param dir An existing directory.
 * @param w The workload.
 */
export async function saveWorkload(dir: string, w: Workload): Promise<void> {
  const info: WorkloadInfo = {
    name: w.name,
    title: w.title,
    layers: w.layers,
    batchSize: w.batchSize,
    epochs: w.epochs,
    momentum: w.momentum,
    lrPer: w.lrPer,
    schedule: w.schedule,
    scheduleText: w.scheduleText,
    seed: w.seed,
    n: w.n,
    nTest: w.nTest,
    stepsPerEpoch: w.stepsPerEpoch,
    totalSteps: w.totalSteps,
  };
  await Deno.writeTextFile(`${dir}/${w.name}.json`, JSON.stringify(info, null, 2));
  for (const [key, suffix] of ARRAYS) {
    const a = w[key];
    await Deno.writeFile(
      `${dir}/${w.name}.${suffix}`,
      new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
    );
  }
}

/**
 * Reads a workload that {@linkcode saveWorkload} wrote.
 *
 * @param dir The directory.
 * @param name Which workload.
 * @returns The workload.
 */
export async function loadWorkload(dir: string, name: WorkloadName): Promise<Workload> {
  const info = JSON.parse(await Deno.readTextFile(`${dir}/${name}.json`)) as WorkloadInfo;
  const arrays: Record<string, Float32Array | Int32Array> = {};
  for (const [key, suffix] of ARRAYS) {
    // Copy into a fresh buffer: typed arrays need aligned offsets.
    const bytes = (await Deno.readFile(`${dir}/${name}.${suffix}`)).slice();
    arrays[key] = suffix.endsWith("i32")
      ? new Int32Array(bytes.buffer, 0, bytes.byteLength / 4)
      : new Float32Array(bytes.buffer, 0, bytes.byteLength / 4);
  }
  return { ...info, ...arrays } as unknown as Workload;
}

/** What every runner prints as its last stdout line (JSON). */
export interface RunnerReport {
  /** Peer label, e.g. `"snapfold cpu"`, `"TF.js wasm"`. */
  readonly peer: string;
  readonly workload: WorkloadName;
  /** Wall time of each timed training run, in milliseconds, in order. */
  readonly runsMs: ReadonlyArray<number>;
  /** Mean training loss over the last epoch of the last run. */
  readonly loss: number;
  /** Mean training loss of the first epoch of the last run (to see that it learned). */
  readonly firstLoss?: number;
  /** Accuracy on the held-out rows after the last run. */
  readonly testAccuracy: number;
  /** Versions and settings worth stating. */
  readonly notes: ReadonlyArray<string>;
  /** Set when the peer could not run; then `runsMs` is empty. */
  readonly skipped?: string;
}

/** Median of a non-empty list. */
export function median(values: ReadonlyArray<number>): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Accuracy of argmax predictions.
 *
 * @param scores [n, classes] probabilities or logits.
 * @param labels [n] labels.
 * @param classes Number of classes.
 * @returns The fraction predicted right.
 */
export function accuracyOf(scores: ArrayLike<number>, labels: Int32Array, classes: number): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) {
      if (scores[i * classes + c] > scores[i * classes + best]) best = c;
    }
    if (best === labels[i]) correct++;
  }
  return correct / labels.length;
}

/**
 * Reads the runner's flags: `--dir DIR --workload NAME --runs N` and any extras.
 *
 * @param args `Deno.args`.
 * @returns The flags.
 */
export function runnerFlags(
  args: string[],
): { dir: string; workload: WorkloadName; runs: number; backend: string } {
  const get = (flag: string, fallback?: string): string => {
    const i = args.indexOf(flag);
    if (i >= 0 && i + 1 < args.length) return args[i + 1];
    if (fallback !== undefined) return fallback;
    throw new Error(`Cannot run the peer: ${flag} is missing: pass it, e.g. ${flag} VALUE`);
  };
  const workload = get("--workload") as WorkloadName;
  if (!WORKLOADS.includes(workload)) {
    throw new Error(`Cannot run the peer: --workload must be tutorial or mnist: got ${workload}`);
  }
  return {
    dir: get("--dir"),
    workload,
    runs: Number(get("--runs", "3")),
    backend: get("--backend", "cpu"),
  };
}
