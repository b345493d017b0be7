/**
 * Real data: the `mnist` package's 10,000 handwritten digits, a seeded 8000/2000 split, and an MLP
 * 784-256-10 trained three ways at the same cost (E epochs of compute each):
 *
 * - a single model: one cosine cycle over E epochs;
 * - a snapshot ensemble: ONE run of E epochs with M cosine cycles, a snapshot at the end of each;
 * - a true ensemble: K = M independently initialised models, each trained E / M epochs with one
 *   cycle, side by side on the same batches (the paper's baseline).
 *
 * It prints accuracy, log-loss and expected calibration error on the 2000 held-out digits, how much
 * the members disagree, and the snapshot ensemble's size curve.
 *
 * ```sh
 * deno run examples/mnist.ts                       # E = 10 epochs, M = 5 cycles
 * deno run examples/mnist.ts --epochs 20 --cycles 5 --json
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  accuracy,
  type Backend,
  type BackendChoice,
  collect,
  cosineAnnealing,
  createBackend,
  ensemble,
  ensembleSizeCurve,
  expectedCalibrationError,
  logLoss,
  mlp,
  pairwiseDisagreement,
  sgd,
  type Snapshot,
  train,
  type TrainingData,
} from "../mod.ts";
import { loadMnist, MNIST_CLASSES, splitMnist } from "./_mnist_data.ts";

const USAGE = "Usage: deno run examples/mnist.ts [--backend cpu|webgpu|auto] [--epochs E] " +
  "[--cycles M] [--lr-max LR] [--seed S] [--json]";

interface Flags {
  backend: BackendChoice;
  epochs: number;
  cycles: number;
  lrMax: number;
  seed: number;
  json: boolean;
}

function parseFlags(args: string[]): Flags {
  const { values } = parseArgs({
    args,
    options: {
      backend: { type: "string", default: "auto" },
      epochs: { type: "string", default: "10" },
      cycles: { type: "string", default: "5" },
      "lr-max": { type: "string", default: "0.1" },
      seed: { type: "string", default: "1" },
      json: { type: "boolean", default: false },
    },
    strict: true,
  });
  const problems: string[] = [];
  const int = (name: string, min: number): number => {
    const value = Number(values[name as keyof typeof values]);
    if (!Number.isSafeInteger(value) || value < min) {
      problems.push(`--${name} must be an integer >= ${min}: got ${values[name as "seed"]}`);
    }
    return value;
  };
  const flags: Flags = {
    backend: values.backend as BackendChoice,
    epochs: int("epochs", 1),
    cycles: int("cycles", 1),
    lrMax: Number(values["lr-max"]),
    seed: int("seed", 0),
    json: values.json as boolean,
  };
  if (!["cpu", "webgpu", "auto"].includes(flags.backend)) {
    problems.push(`--backend must be cpu, webgpu or auto: got ${flags.backend}`);
  }
  if (!(flags.lrMax > 0 && Number.isFinite(flags.lrMax))) {
    problems.push(`--lr-max must be a positive number: got ${values["lr-max"]}`);
  }
  if (problems.length === 0 && flags.epochs % flags.cycles !== 0) {
    problems.push(
      `--epochs must be a multiple of --cycles, so that each independent model of the true ` +
        `ensemble trains epochs / cycles epochs: got ${flags.epochs} and ${flags.cycles}`,
    );
  }
  if (problems.length > 0) throw new Error(`${problems.join("; ")}\n${USAGE}`);
  return flags;
}

/** Accuracy, log-loss and calibration error of combined probabilities on the test digits. */
interface Scores {
  readonly accuracy: number;
  readonly logLoss: number;
  readonly ece: number;
}

function score(probs: Float32Array, test: TrainingData): Scores {
  const labels = test.y as Int32Array;
  return {
    accuracy: accuracy(probs, labels),
    logLoss: logLoss(probs, labels),
    ece: expectedCalibrationError(probs, labels),
  };
}

async function main(): Promise<void> {
  const flags = parseFlags(Deno.args);
  const log = (line: string) => flags.json ? undefined : console.log(line);
  const { train: trainSet, test } = splitMnist(await loadMnist(), { seed: 0 });
  const model = mlp({ layers: [784, 256, MNIST_CLASSES], activation: "relu", head: "softmax" });
  const batchSize = 128;
  const stepsPerEpoch = Math.ceil(trainSet.n / batchSize);
  const totalSteps = flags.epochs * stepsPerEpoch;
  const backend: Backend = await createBackend(flags.backend);
  const base = {
    backend,
    model,
    optimizer: sgd({ momentum: 0.9 }),
    batchSize,
    data: trainSet,
    seed: flags.seed,
    lrPer: "step" as const,
  };
  const timed = async (
    schedule: ReturnType<typeof cosineAnnealing>,
    epochs: number,
    replicas = 1,
  ) => {
    const started = performance.now();
    const result = await collect(train({ ...base, schedule, epochs, replicas }));
    return { snapshots: result.snapshots, ms: performance.now() - started };
  };
  try {
    log(
      `MNIST: ${trainSet.n} training and ${test.n} test digits, MLP 784-256-10, batch ${batchSize}, ` +
        `SGD momentum 0.9, lr per step; ${backend.kind}${
          backend.adapter ? ` (${backend.adapter})` : ""
        }. Every method costs ${flags.epochs} epochs of compute.`,
    );
    const single = await timed(
      cosineAnnealing({ lrMax: flags.lrMax, totalSteps, cycles: 1 }),
      flags.epochs,
    );
    const snap = await timed(
      cosineAnnealing({ lrMax: flags.lrMax, totalSteps, cycles: flags.cycles }),
      flags.epochs,
    );
    const memberEpochs = flags.epochs / flags.cycles;
    const independent = await timed(
      cosineAnnealing({ lrMax: flags.lrMax, totalSteps: memberEpochs * stepsPerEpoch, cycles: 1 }),
      memberEpochs,
      flags.cycles,
    );

    // Every prediction runs on the training backend: all members stacked, one readback.
    const proba = (snapshots: ReadonlyArray<Snapshot>) =>
      ensemble(snapshots, { backend }).predictProba(test.x);
    const disagreement = async (snapshots: ReadonlyArray<Snapshot>) =>
      pairwiseDisagreement(
        await ensemble(snapshots, { backend }).memberProba(test.x),
        MNIST_CLASSES,
      );
    const rows = [
      { method: "single model", ms: single.ms, ...score(await proba(single.snapshots), test) },
      {
        method: "last snapshot",
        ms: snap.ms,
        ...score(await proba(snap.snapshots.slice(-1)), test),
      },
      {
        method: `snapshot ensemble (${snap.snapshots.length})`,
        ms: snap.ms,
        ...score(await proba(snap.snapshots), test),
        disagreement: await disagreement(snap.snapshots),
      },
      {
        method: `true ensemble (${independent.snapshots.length})`,
        ms: independent.ms,
        ...score(await proba(independent.snapshots), test),
        disagreement: await disagreement(independent.snapshots),
      },
    ];
    const curve = await ensembleSizeCurve(snap.snapshots, {
      x: test.x,
      y: test.y as Int32Array,
      backend,
    });
    if (flags.json) {
      console.log(JSON.stringify({
        backend: backend.kind,
        adapter: backend.adapter,
        epochs: flags.epochs,
        cycles: flags.cycles,
        results: rows,
        ensembleSizeCurve: curve,
      }));
      return;
    }
    log("method                     accuracy  log-loss  ECE     disagreement  train ms");
    for (const r of rows) {
      const d = "disagreement" in r ? (r.disagreement as number).toFixed(3) : "-";
      log(
        `${r.method.padEnd(26)} ${r.accuracy.toFixed(4).padStart(8)}  ${r.logLoss.toFixed(4)}` +
          `    ${r.ece.toFixed(4)}  ${d.padStart(12)}  ${r.ms.toFixed(0).padStart(8)}`,
      );
    }
    log("Snapshot ensemble size (n-th snapshot from the end alone, and the last n together):");
    for (const p of curve) {
      log(
        `> ${p.members}: single=${p.singleAccuracy.toFixed(4)}, ` +
          `ensemble=${p.ensembleAccuracy.toFixed(4)}`,
      );
    }
  } finally {
    backend.dispose();
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    Deno.exit(1);
  }
}
