/**
 * The snapshot-ensemble tutorial, done right: three Gaussian blobs, a 2-25-3 MLP trained once with a
 * cosine-annealed learning rate, a snapshot at the end of each of the 10 cycles, and the accuracy of
 * each snapshot and of the ensembles of the last n snapshots on 1000 held-out points.
 *
 * ```sh
 * deno run examples/blobs.ts                      # the tutorial's table and a summary
 * deno run examples/blobs.ts --json               # one JSON object on stdout
 * deno run --allow-read=out --allow-write=out examples/blobs.ts --save out  # + file and plots
 * ```
 *
 * Flags: `--backend cpu|webgpu|auto` (default auto), `--epochs N` (500), `--cycles M` (10),
 * `--seed S` (1: the weights' and batch order's seed; the data is always randomState 2), `--save DIR`,
 * `--json`.
 *
 * @module
 */
import { join } from "node:path";
import type { VegaLiteSpec } from "../plots.ts";
import {
  type Backend,
  cosineAnnealing,
  createBackend,
  ensemble,
  ensembleSizeCurve,
  type EnsembleSizePoint,
  type EpochEvent,
  mlp,
  orThrow,
  partialCycleSteps,
  planRun,
  type Schedule,
  sgd,
  type Snapshot,
  summary,
  train,
  type TrainConfig,
} from "../mod.ts";
import { checkWritable, type CliSpec, type CliValues, refuse, runCli } from "./_cli.ts";
import { progress } from "./_progress.ts";
import { tutorialData } from "./_tutorial.ts";

const CLI = {
  script: "examples/blobs.ts",
  summary:
    "The snapshot-ensemble tutorial: three Gaussian blobs, a 2-25-3 MLP trained once with a " +
    "cosine-annealed lr, a snapshot at the end of every cycle, and the accuracy of each snapshot " +
    "and of the ensembles of the last n on 1000 held-out points.",
  flags: {
    backend: {
      kind: "choice",
      choices: ["cpu", "webgpu", "auto"],
      default: "auto",
      help: "compute backend",
    },
    epochs: { kind: "int", default: 500, min: 1, max: 1_000_000, help: "training epochs" },
    cycles: { kind: "int", default: 10, min: 1, max: 100_000, help: "cosine cycles (snapshots)" },
    seed: {
      kind: "int",
      default: 1,
      min: 0,
      max: 2 ** 32 - 1,
      help: "seed of the weights and batch order (the data is always randomState 2)",
    },
    save: { kind: "path", help: "write the ensemble file, its ONNX and four SVG charts into DIR" },
    json: { kind: "bool", help: "print one JSON object on stdout instead of the table" },
  },
} as const satisfies CliSpec;

type Flags = CliValues<typeof CLI>;

async function main(flags: Flags): Promise<void> {
  refuse(
    CLI,
    flags.cycles > flags.epochs
      ? [`--cycles must not exceed --epochs: got ${flags.cycles} > ${flags.epochs}`]
      : [],
  );
  if (flags.save !== undefined) await checkWritable(CLI, flags.save);
  // The tutorial's data: 1100 points, 3 centers, std 2, randomState 2; first 100 train, 1000 test.
  const { train: data, test } = tutorialData();

  const model = mlp({ layers: [2, 25, 3], activation: "relu", head: "softmax" });
  if (!flags.json) console.log(`${summary(model).text}\n`);
  const schedule = cosineAnnealing({ lrMax: 0.01, totalSteps: flags.epochs, cycles: flags.cycles });
  const partial = partialCycleSteps(schedule, flags.epochs);
  if (partial > 0) {
    // The tutorial's formula gives every cycle floor(epochs / cycles) epochs; the epochs left over
    // start a cycle that does not end at its minimum, so they get no snapshot.
    console.error(
      `Note: ${flags.epochs} epochs do not divide into ${flags.cycles} cycles: each cycle lasts ` +
        `${Math.floor(flags.epochs / flags.cycles)} epochs and the last ${partial} epochs form a ` +
        `partial cycle without a snapshot (the final parameters are not an ensemble member).`,
    );
  }
  const backend: Backend = await createBackend(flags.backend, { model, batchSize: 32 });
  const line = progress("blobs", flags.epochs, !flags.json);
  const snapshots: Snapshot[] = [];
  const history: EpochEvent[] = [];
  let trainMs = 0;
  try {
    const config: TrainConfig = {
      backend,
      model,
      optimizer: sgd({ momentum: 0.9 }),
      schedule,
      lrPer: "epoch",
      epochs: flags.epochs,
      batchSize: 32,
      data,
      seed: flags.seed,
    };
    // The run's own plan: the per-step schedule it trains with, drawn by --save's lr chart.
    const plan = orThrow("Cannot train", planRun(config));
    // For example the partial cycle that --epochs 100 --cycles 3 leaves at the end.
    for (const note of plan.notes) console.error(`Note: ${note}.`);
    const started = performance.now();
    for await (
      const event of train(config)
    ) {
      if (event.type === "snapshot") snapshots.push(event);
      else if (event.type === "epoch") {
        history.push(event);
        line.update({
          epoch: event.epoch + 1,
          snapshots: event.snapshotsTaken,
          lr: event.lr,
          loss: event.loss,
        });
      } else if (event.type === "done") trainMs = performance.now() - started;
    }
    line.done();

    const curve = await ensembleSizeCurve(snapshots, {
      x: test.x,
      y: test.y,
      direction: "backward",
      backend,
    });
    const singles = curve.map((p) => p.singleAccuracy);
    const singleMean = singles.reduce((a, b) => a + b, 0) / singles.length;

    if (flags.json) {
      const byIndex = await ensembleSizeCurve(snapshots, {
        x: test.x,
        y: test.y,
        direction: "forward",
        backend,
      });
      console.log(JSON.stringify({
        backend: backend.kind,
        adapter: backend.adapter,
        epochs: flags.epochs,
        cycles: flags.cycles,
        trainMs: Math.round(trainMs * 10) / 10,
        snapshots: snapshots.map((s, i) => ({
          index: s.index,
          epoch: s.epoch,
          step: s.step,
          lr: s.lr,
          testAccuracy: byIndex[i].singleAccuracy,
        })),
        ensemble: curve.map((p) => ({ members: p.members, testAccuracy: p.ensembleAccuracy })),
        singleMean,
      }));
    } else {
      const where = backend.adapter === null
        ? backend.kind
        : `${backend.kind} (${backend.adapter})`;
      console.log(
        `Trained a 2-25-3 MLP for ${flags.epochs} epochs on ${where} in ${
          trainMs.toFixed(0)
        } ms: ` +
          `${snapshots.length} snapshots.`,
      );
      console.log(
        "Test accuracy of the n-th snapshot from the end and of the ensemble of the last n:",
      );
      for (const p of curve) {
        console.log(
          `> ${p.members}: single=${p.singleAccuracy.toFixed(3)}, ` +
            `ensemble=${p.ensembleAccuracy.toFixed(3)}`,
        );
      }
      const std = Math.sqrt(
        singles.reduce((a, s) => a + (s - singleMean) ** 2, 0) / singles.length,
      );
      const best = curve.reduce((a, p) => (p.ensembleAccuracy > a.ensembleAccuracy ? p : a));
      const all = curve[curve.length - 1];
      console.log(
        `Single snapshots: ${singleMean.toFixed(3)} +/- ${std.toFixed(3)}; ensemble of all ` +
          `${all.members}: ${
            all.ensembleAccuracy.toFixed(3)
          }; best ensemble: last ${best.members} at ` +
          `${best.ensembleAccuracy.toFixed(3)}.`,
      );
    }

    if (flags.save !== undefined) {
      const written = await save(flags.save, {
        snapshots,
        config,
        schedule: plan.schedule,
        history,
        curve,
        test,
      });
      if (!flags.json) console.log(`Wrote ${written.join(", ")}`);
    }
  } finally {
    backend.dispose();
  }
}

/**
 * Writes the ensemble file and the four SVG plots into `dir`. The charting library and the file I/O
 * entry point load only here, so a run without `--save` never loads them.
 */
async function save(
  dir: string,
  run: {
    snapshots: Snapshot[];
    config: TrainConfig;
    schedule: Schedule;
    history: EpochEvent[];
    curve: EnsembleSizePoint[];
    test: { x: Float32Array; y: Int32Array; n: number };
  },
): Promise<string[]> {
  const { saveEnsemble, saveOnnx, saveText } = await import("../io.ts");
  const plots = await import("../plots.ts");
  await Deno.mkdir(dir, { recursive: true });
  const file = (name: string) => join(dir, name);
  await saveEnsemble(file("blobs_ensemble.safetensors"), {
    snapshots: run.snapshots,
    schedule: run.schedule.spec,
  });
  // All snapshots, soft vote: input "input" [batch, 2] float32, output "output" [batch, 3].
  await saveOnnx(file("blobs_ensemble.onnx"), ensemble(run.snapshots), {
    schedule: run.schedule.spec,
  });
  const charts: [string, VegaLiteSpec][] = [
    [
      "lr_schedule.svg",
      // By epoch, as the config sets the lr, on the same axis as the learning curves.
      plots.lrScheduleChart({ config: run.config, snapshots: run.snapshots }),
    ],
    [
      "learning_curve.svg",
      plots.learningCurveChart(run.history, undefined, { snapshots: run.snapshots }),
    ],
    ["ensemble_size.svg", plots.ensembleSizeChart(run.curve)],
    [
      "blobs.svg",
      plots.blobsScatterChart({
        x: run.test.x,
        y: run.test.y,
        nFeatures: 2,
        // The chart asks for the grid's classes synchronously: the CPU ensemble's twin.
        predictor: { predict: ensemble(run.snapshots).predictSync },
        title: "Test blobs and the ensemble's decision regions",
      }),
    ],
  ];
  for (const [name, spec] of charts) await saveText(file(name), await plots.renderSvg(spec));
  return ["blobs_ensemble.safetensors", "blobs_ensemble.onnx", ...charts.map(([n]) => n)].map(file);
}

if (import.meta.main) await runCli(CLI, main);
