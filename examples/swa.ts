/**
 * Weight averaging on real data, and when it fails: on the `mnist` package's digits (the seeded
 * 8000-digit training split), an MLP 784-H-10 trained three ways, each giving M snapshots that
 * `swa` averages into one model; it prints each average's training loss beside its members'.
 *
 * - the SWA recipe (one basin): `sequence` of a cosine decay over the first E - M epochs, then
 *   `swaLr` at a constant lr, snapshots `everyEpochs(1)` from the SWA start;
 * - a snapshot ensemble's cycle ends (warm restarts at a high lr: possibly different basins);
 * - M independently initialised networks (different basins: permutations of hidden units).
 *
 * The ratio of the averaged loss to the worst member's is what `BASIN_LOSS_RATIO` thresholds.
 *
 * ```sh
 * deno run examples/swa.ts                      # E = 20 epochs, M = 5, H = 128
 * deno run examples/swa.ts --json
 * ```
 *
 * @module
 */
import {
  accuracy,
  atCycleEnds,
  type Backend,
  BASIN_LOSS_RATIO,
  collect,
  cosineAnnealing,
  cosineDecay,
  createBackend,
  ensemble,
  everyEpochs,
  logLoss,
  mlp,
  sequence,
  sgd,
  type Snapshot,
  swa,
  swaLr,
  train,
} from "../mod.ts";
import { type CliSpec, type CliValues, runCli } from "./_cli.ts";
import { loadMnist, MNIST_CLASSES, splitMnist } from "./_mnist_data.ts";

const CLI = {
  script: "examples/swa.ts",
  summary: "SWA on the mnist package's digits: the averaged model's training loss beside its " +
    "members', for snapshots of one basin and of several.",
  flags: {
    backend: {
      kind: "choice",
      choices: ["cpu", "webgpu", "auto"],
      default: "cpu",
      help: "compute backend",
    },
    epochs: { kind: "int", default: 20, min: 2, max: 10_000, help: "epochs E of each run" },
    members: { kind: "int", default: 5, min: 2, max: 1000, help: "snapshots M per run" },
    hidden: { kind: "int", default: 128, min: 1, max: 4096, help: "hidden width H" },
    "lr-max": { kind: "number", default: 0.1, above: 0, max: 100, help: "peak lr" },
    "swa-lr": { kind: "number", default: 0.02, above: 0, max: 100, help: "SWA's constant lr" },
    seed: { kind: "int", default: 1, min: 0, max: 2 ** 32 - 1, help: "seed of weights, batches" },
    json: { kind: "bool", help: "print one JSON object on stdout instead of the table" },
  },
} as const satisfies CliSpec;

type Flags = CliValues<typeof CLI>;

async function main(flags: Flags): Promise<void> {
  const { train: data, test } = splitMnist(await loadMnist(), { seed: 0 });
  const model = mlp({ layers: [784, flags.hidden, MNIST_CLASSES], activation: "relu" });
  const batchSize = 128;
  const stepsPerEpoch = Math.ceil(data.n / batchSize);
  const { epochs, members: M } = flags;
  const backend: Backend = await createBackend(flags.backend);
  const base = { backend, model, optimizer: sgd({ momentum: 0.9 }), batchSize, data, epochs };
  const decaySteps = (epochs - M) * stepsPerEpoch;
  const runs: Record<string, () => Promise<ReadonlyArray<Snapshot>>> = {
    "swa recipe": async () =>
      (await collect(train({
        ...base,
        seed: flags.seed,
        schedule: sequence([
          {
            schedule: cosineDecay({
              lrMax: flags.lrMax,
              totalSteps: decaySteps,
              lrMin: flags.swaLr,
            }),
            steps: decaySteps,
          },
          { schedule: swaLr({ swaLr: flags.swaLr, annealSteps: 0, startLr: flags.swaLr }) },
        ]),
        snapshots: everyEpochs(1, { from: epochs - M }),
      }))).snapshots,
    "cycle ends": async () =>
      (await collect(train({
        ...base,
        seed: flags.seed,
        schedule: cosineAnnealing({
          lrMax: 2 * flags.lrMax,
          totalSteps: epochs * stepsPerEpoch,
          cycles: M,
        }),
        snapshots: atCycleEnds(),
      }))).snapshots,
    "independent": async () =>
      (await collect(train({
        ...base,
        epochs: Math.max(1, Math.round(epochs / M)),
        seed: flags.seed,
        replicas: M,
        schedule: cosineAnnealing({
          lrMax: flags.lrMax,
          totalSteps: Math.max(1, Math.round(epochs / M)) * stepsPerEpoch,
          cycles: 1,
        }),
      }))).snapshots,
  };
  const rows = [];
  try {
    for (const [name, run] of Object.entries(runs)) {
      const started = performance.now();
      const snapshots = await run();
      const result = await swa(snapshots, { data, backend });
      const worst = Math.max(...result.memberLoss);
      const testProbs = await ensemble([result.snapshot]).predictProba(test.x);
      const testEnsemble = await ensemble(snapshots).predictProba(test.x);
      rows.push({
        name,
        members: snapshots.length,
        memberLoss: [...result.memberLoss].map((l) => Number(l.toFixed(4))),
        averagedLoss: Number(result.averagedLoss.toFixed(4)),
        ratioToWorst: Number((result.averagedLoss / worst).toFixed(3)),
        noted: result.notes.length > 0,
        testAccuracy: {
          averaged: accuracy(testProbs, test.y),
          ensemble: accuracy(testEnsemble, test.y),
        },
        testLogLoss: {
          averaged: logLoss(testProbs, test.y),
          ensemble: logLoss(testEnsemble, test.y),
        },
        ms: Math.round(performance.now() - started),
      });
      if (!flags.json) console.log(JSON.stringify(rows[rows.length - 1]));
    }
  } finally {
    backend.dispose();
  }
  if (flags.json) console.log(JSON.stringify({ flags, threshold: BASIN_LOSS_RATIO, rows }));
}

if (import.meta.main) await runCli(CLI, main);
