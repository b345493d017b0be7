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
import {
  accuracy,
  type Backend,
  collect,
  cosineAnnealing,
  createBackend,
  ensemble,
  ensembleSizeCurve,
  type EpochEvent,
  expectedCalibrationError,
  logLoss,
  mlp,
  pairwiseDisagreement,
  sgd,
  type Snapshot,
  train,
  type TrainingData,
} from "../mod.ts";
import { progress } from "./_progress.ts";
import { type CliSpec, type CliValues, refuse, runCli } from "./_cli.ts";
import { loadMnist, MNIST_CLASSES, splitMnist } from "./_mnist_data.ts";

const CLI = {
  script: "examples/mnist.ts",
  summary:
    "Real data: the mnist package's 10,000 digits, an MLP 784-256-10 trained three ways at " +
    "the same cost (a single model, a snapshot ensemble of M cycles, a true ensemble of M " +
    "networks of E / M epochs), scored on 2000 held-out digits.",
  flags: {
    backend: {
      kind: "choice",
      choices: ["cpu", "webgpu", "auto"],
      default: "auto",
      help: "compute backend",
    },
    epochs: { kind: "int", default: 10, min: 1, max: 10_000, help: "epochs E of every method" },
    cycles: {
      kind: "int",
      default: 5,
      min: 2,
      max: 1000,
      help: "cycles M (snapshots, and networks of the true ensemble); disagreement needs two",
    },
    "lr-max": { kind: "number", default: 0.1, above: 0, max: 100, help: "restart lr" },
    seed: {
      kind: "int",
      default: 1,
      min: 0,
      max: 2 ** 32 - 1,
      help: "seed of weights and batches",
    },
    json: { kind: "bool", help: "print one JSON object on stdout instead of the table" },
  },
} as const satisfies CliSpec;

type Flags = CliValues<typeof CLI>;

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

/** Passes every event on, after showing it to `see`. */
async function* tap<T>(events: AsyncIterable<T>, see: (event: T) => void): AsyncGenerator<T> {
  for await (const event of events) {
    see(event);
    yield event;
  }
}

async function main(flags: Flags): Promise<void> {
  // Checked before training: every member of the true ensemble trains epochs / cycles epochs.
  refuse(
    CLI,
    flags.epochs % flags.cycles === 0 ? [] : [
      `--epochs must be a multiple of --cycles, so that each independent model of the true ` +
      `ensemble trains epochs / cycles epochs: got ${flags.epochs} and ${flags.cycles}`,
    ],
  );
  const log = (line: string) => flags.json ? undefined : console.log(line);
  const { train: trainSet, test } = splitMnist(await loadMnist(), { seed: 0 });
  const model = mlp({ layers: [784, 256, MNIST_CLASSES], activation: "relu", head: "softmax" });
  const batchSize = 128;
  const stepsPerEpoch = Math.ceil(trainSet.n / batchSize);
  const totalSteps = flags.epochs * stepsPerEpoch;
  // With the model, "auto" takes the CPU for a tiny one without probing WebGPU (see createBackend).
  const backend: Backend = await createBackend(flags.backend, { model });
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
    label: string,
    schedule: ReturnType<typeof cosineAnnealing>,
    epochs: number,
    replicas = 1,
  ) => {
    const started = performance.now();
    const line = progress(label, epochs, !flags.json);
    let snapshots = 0;
    let last: EpochEvent | undefined;
    const events = tap(train({ ...base, schedule, epochs, replicas }), (event) => {
      if (event.type === "snapshot") snapshots++;
      if (event.type === "epoch") last = event;
      if (last !== undefined && event.type !== "done") {
        line.update({ epoch: last.epoch + 1, snapshots, lr: last.lr, loss: last.loss });
      }
    });
    const result = await collect(events);
    line.done();
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
      "single",
      cosineAnnealing({ lrMax: flags.lrMax, totalSteps, cycles: 1 }),
      flags.epochs,
    );
    const snap = await timed(
      "snapshot",
      cosineAnnealing({ lrMax: flags.lrMax, totalSteps, cycles: flags.cycles }),
      flags.epochs,
    );
    const memberEpochs = flags.epochs / flags.cycles;
    const independent = await timed(
      "true ensemble",
      cosineAnnealing({ lrMax: flags.lrMax, totalSteps: memberEpochs * stepsPerEpoch, cycles: 1 }),
      memberEpochs,
      flags.cycles,
    );

    const proba = (snapshots: ReadonlyArray<Snapshot>) => ensemble(snapshots).predictProba(test.x);
    const disagreement = (snapshots: ReadonlyArray<Snapshot>) =>
      pairwiseDisagreement(ensemble(snapshots).memberProba(test.x), MNIST_CLASSES);
    const rows = [
      { method: "single model", ms: single.ms, ...score(proba(single.snapshots), test) },
      {
        method: "last snapshot",
        ms: snap.ms,
        ...score(proba(snap.snapshots.slice(-1)), test),
      },
      {
        method: `snapshot ensemble (${snap.snapshots.length})`,
        ms: snap.ms,
        ...score(proba(snap.snapshots), test),
        disagreement: disagreement(snap.snapshots),
      },
      {
        method: `true ensemble (${independent.snapshots.length})`,
        ms: independent.ms,
        ...score(proba(independent.snapshots), test),
        disagreement: disagreement(independent.snapshots),
      },
    ];
    const curve = ensembleSizeCurve(snap.snapshots, { x: test.x, y: test.y as Int32Array });
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

if (import.meta.main) await runCli(CLI, main);
