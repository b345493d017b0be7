/**
 * Distillation on real data: how much of a snapshot ensemble's log-loss gain over its single model
 * one student keeps, at 1/M of the inference cost. On the `mnist` package's digits (seeded
 * 8000/2000 split), an MLP 784-H-10:
 *
 * - the teacher: ONE run of E epochs with M cosine cycles, a snapshot at each cycle end;
 * - the single model: the run's last snapshot (what one would deploy without an ensemble);
 * - the student: a fresh network of the same shape, trained S epochs (one cosine cycle) on the
 *   teacher's soft targets for the 8000 training digits at temperature T (`distill`);
 * - the control: the same fresh network trained the same S epochs on the hard labels, so that the
 *   student's gain is not mistaken for the effect of more training.
 *
 * It prints test accuracy and log-loss of each, and the fraction of the ensemble's log-loss gain
 * the student keeps: (single - student) / (single - ensemble).
 *
 * ```sh
 * deno run examples/distill.ts                      # E = S = 10 epochs, M = 5, H = 128, T = 2
 * deno run examples/distill.ts --temperature 1 --json
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
  distill,
  ensemble,
  logLoss,
  mlp,
  sgd,
  train,
  type TrainingData,
} from "../mod.ts";
import { type CliSpec, type CliValues, runCli } from "./_cli.ts";
import { loadMnist, MNIST_CLASSES, splitMnist } from "./_mnist_data.ts";

const CLI = {
  script: "examples/distill.ts",
  summary: "Distil a snapshot ensemble on the mnist package's digits into one network, and " +
    "measure how much of the ensemble's log-loss gain over its single model the student keeps.",
  flags: {
    backend: {
      kind: "choice",
      choices: ["cpu", "webgpu", "auto"],
      default: "cpu",
      help: "compute backend",
    },
    epochs: { kind: "int", default: 10, min: 1, max: 10_000, help: "epochs E of the teacher run" },
    cycles: { kind: "int", default: 5, min: 2, max: 1000, help: "cycles M (snapshots)" },
    "student-epochs": { kind: "int", default: 10, min: 1, max: 10_000, help: "epochs S" },
    hidden: { kind: "int", default: 128, min: 1, max: 4096, help: "hidden width H" },
    temperature: { kind: "number", default: 2, above: 0, max: 100, help: "temperature T" },
    "lr-max": { kind: "number", default: 0.1, above: 0, max: 100, help: "restart lr" },
    seed: { kind: "int", default: 1, min: 0, max: 2 ** 32 - 1, help: "seed of weights, batches" },
    json: { kind: "bool", help: "print one JSON object on stdout instead of the table" },
  },
} as const satisfies CliSpec;

type Flags = CliValues<typeof CLI>;

async function main(flags: Flags): Promise<void> {
  const log = (line: string) => flags.json ? undefined : console.log(line);
  const { train: trainSet, test } = splitMnist(await loadMnist(), { seed: 0 });
  const model = mlp({ layers: [784, flags.hidden, MNIST_CLASSES], activation: "relu" });
  const batchSize = 128;
  const stepsPerEpoch = Math.ceil(trainSet.n / batchSize);
  const backend: Backend = await createBackend(flags.backend);
  const labels = test.y as Int32Array;
  const score = (p: Float32Array) => ({
    accuracy: accuracy(p, labels),
    logLoss: logLoss(p, labels),
  });
  const oneCycle = (epochs: number) =>
    cosineAnnealing({ lrMax: flags.lrMax, totalSteps: epochs * stepsPerEpoch, cycles: 1 });
  const common = { optimizer: sgd({ momentum: 0.9 }), batchSize, seed: flags.seed };
  const started = performance.now();
  try {
    const run = await collect(train({
      ...common,
      backend,
      model,
      data: trainSet,
      epochs: flags.epochs,
      schedule: cosineAnnealing({
        lrMax: flags.lrMax,
        totalSteps: flags.epochs * stepsPerEpoch,
        cycles: flags.cycles,
      }),
    }));
    const teacher = ensemble(run.snapshots);
    const single = ensemble(run.snapshots.slice(-1));
    const teacherMs = performance.now() - started;
    const distilled = await distill(teacher, {
      ...common,
      backend,
      data: trainSet,
      temperature: flags.temperature,
      epochs: flags.studentEpochs,
      schedule: oneCycle(flags.studentEpochs),
    });
    const control = await collect(train({
      ...common,
      backend,
      model,
      data: trainSet as TrainingData,
      epochs: flags.studentEpochs,
      schedule: oneCycle(flags.studentEpochs),
      snapshots: { kind: "none" },
    }));
    const rows = {
      ensemble: score(await teacher.predictProba(test.x)),
      single: score(await single.predictProba(test.x)),
      student: score(await ensemble([distilled.student]).predictProba(test.x)),
      control: score(
        await ensemble([{ ...distilled.student, params: control.done.params }]).predictProba(
          test.x,
        ),
      ),
    };
    const gain = rows.single.logLoss - rows.ensemble.logLoss;
    const result = {
      flags,
      members: run.snapshots.length,
      inferenceCost: { ensemble: run.snapshots.length, student: 1 },
      ...rows,
      keptOfGain: (rows.single.logLoss - rows.student.logLoss) / gain,
      keptOverControl: (rows.control.logLoss - rows.student.logLoss) / gain,
      teacherMs: Math.round(teacherMs),
      totalMs: Math.round(performance.now() - started),
    };
    if (flags.json) {
      console.log(JSON.stringify(result));
      return;
    }
    log(
      `MLP 784-${flags.hidden}-10, teacher ${flags.epochs} epochs / ${flags.cycles} cycles, ` +
        `student and control ${flags.studentEpochs} epochs, T = ${flags.temperature}`,
    );
    for (const [name, s] of Object.entries(rows)) {
      log(`${name.padEnd(9)} accuracy ${s.accuracy.toFixed(4)}  log-loss ${s.logLoss.toFixed(4)}`);
    }
    log(
      `the student keeps ${(100 * result.keptOfGain).toFixed(0)}% of the ensemble's log-loss ` +
        `gain over the single model at 1/${run.snapshots.length} of the inference cost ` +
        `(control, hard labels with the student's budget: ` +
        `${(100 * (rows.single.logLoss - rows.control.logLoss) / gain).toFixed(0)}%)`,
    );
  } finally {
    backend.dispose();
  }
}

if (import.meta.main) await runCli(CLI, main);
