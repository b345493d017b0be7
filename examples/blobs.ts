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
import { parseArgs } from "node:util";
import type { VegaLiteSpec } from "../plots.ts";
import {
  type Backend,
  type BackendChoice,
  cosineAnnealing,
  createBackend,
  ensemble,
  ensembleSizeCurve,
  type EnsembleSizePoint,
  type EpochEvent,
  mlp,
  orThrow,
  planRun,
  type Schedule,
  sgd,
  type Snapshot,
  train,
  type TrainConfig,
} from "../mod.ts";
import { tutorialData } from "./_tutorial.ts";

interface Flags {
  backend: BackendChoice;
  epochs: number;
  cycles: number;
  seed: number;
  save?: string;
  json: boolean;
}

const USAGE = "Usage: deno run examples/blobs.ts [--backend cpu|webgpu|auto] [--epochs N] " +
  "[--cycles M] [--seed S] [--save DIR] [--json]";

function parseFlags(args: string[]): Flags {
  const { values } = parseArgs({
    args,
    options: {
      backend: { type: "string", default: "auto" },
      epochs: { type: "string", default: "500" },
      cycles: { type: "string", default: "10" },
      seed: { type: "string", default: "1" },
      save: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const problems: string[] = [];
  const int = (name: string, text: string, min: number): number => {
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min) {
      problems.push(`--${name} must be an integer >= ${min}: got ${text}`);
    }
    return value;
  };
  const backend = values.backend as string;
  if (!["cpu", "webgpu", "auto"].includes(backend)) {
    problems.push(`--backend must be cpu, webgpu or auto: got ${backend}`);
  }
  const flags: Flags = {
    backend: backend as BackendChoice,
    epochs: int("epochs", values.epochs as string, 1),
    cycles: int("cycles", values.cycles as string, 1),
    seed: int("seed", values.seed as string, 0),
    save: values.save as string | undefined,
    json: values.json as boolean,
  };
  if (problems.length === 0 && flags.cycles > flags.epochs) {
    problems.push(`--cycles must not exceed --epochs: got ${flags.cycles} > ${flags.epochs}`);
  }
  if (problems.length > 0) throw new Error(`${problems.join("; ")}\n${USAGE}`);
  return flags;
}

/**
 * Says which flags to add when the run may not write to `dir`, before any training happens. Saving
 * writes a temporary file and renames it over the target, and Deno's rename needs read access too.
 */
async function checkWritable(dir: string): Promise<void> {
  const missing: string[] = [];
  for (const name of ["read", "write"] as const) {
    const status = await Deno.permissions.query({ name, path: dir });
    if (status.state !== "granted") missing.push(`--allow-${name}=${dir}`);
  }
  if (missing.length > 0) {
    throw new Error(
      `Cannot save to ${dir}: this run may not write there; add ${missing.join(" ")} ` +
        `(for example: deno run --allow-read=${dir} --allow-write=${dir} examples/blobs.ts ` +
        `--save ${dir})`,
    );
  }
}

async function main(): Promise<void> {
  const flags = parseFlags(Deno.args);
  if (flags.save !== undefined) await checkWritable(flags.save);
  if (flags.epochs % flags.cycles !== 0) {
    // The tutorial's formula gives every cycle floor(epochs / cycles) epochs; the rest form one
    // more, shorter cycle, which also ends in a snapshot.
    const length = Math.floor(flags.epochs / flags.cycles);
    console.error(
      `Note: ${flags.epochs} epochs do not divide into ${flags.cycles} cycles: each cycle lasts ` +
        `${length} epochs and the last ${flags.epochs % length || length} epochs form an extra, ` +
        `shorter cycle with its own snapshot.`,
    );
  }

  // The tutorial's data: 1100 points, 3 centers, std 2, randomState 2; first 100 train, 1000 test.
  const { train: data, test } = tutorialData();

  const model = mlp({ layers: [2, 25, 3], activation: "relu", head: "softmax" });
  const schedule = cosineAnnealing({ lrMax: 0.01, totalSteps: flags.epochs, cycles: flags.cycles });
  const backend: Backend = await createBackend(flags.backend);
  const progress = !flags.json && Deno.stderr.isTerminal();
  const encoder = new TextEncoder();
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
    const started = performance.now();
    for await (
      const event of train(config)
    ) {
      if (event.type === "snapshot") snapshots.push(event);
      else if (event.type === "epoch") {
        history.push(event);
        if (progress) {
          const line = `\r epoch ${event.epoch + 1}/${flags.epochs}  lr ${event.lr.toFixed(5)}  ` +
            `loss ${event.loss.toFixed(4)}  acc ${
              event.accuracy.toFixed(3)
            }  snapshots ${snapshots.length}`;
          Deno.stderr.writeSync(encoder.encode(line));
        }
      } else if (event.type === "done") trainMs = performance.now() - started;
    }
    if (progress) Deno.stderr.writeSync(encoder.encode("\n"));

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
        schedule: plan.schedule,
        totalSteps: plan.totalSteps,
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
    schedule: Schedule;
    totalSteps: number;
    history: EpochEvent[];
    curve: EnsembleSizePoint[];
    test: { x: Float32Array; y: Int32Array; n: number };
  },
): Promise<string[]> {
  const { saveEnsemble, saveText } = await import("../io.ts");
  const plots = await import("../plots.ts");
  await Deno.mkdir(dir, { recursive: true });
  const file = (name: string) => join(dir, name);
  await saveEnsemble(file("blobs_ensemble.safetensors"), {
    snapshots: run.snapshots,
    schedule: run.schedule.spec,
  });
  const charts: [string, VegaLiteSpec][] = [
    [
      "lr_schedule.svg",
      plots.lrScheduleChart({
        schedule: run.schedule,
        totalSteps: run.totalSteps,
        snapshots: run.snapshots,
      }),
    ],
    ["learning_curve.svg", plots.learningCurveChart(run.history)],
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
  return ["blobs_ensemble.safetensors", ...charts.map(([name]) => name)].map(file);
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    Deno.exit(1);
  }
}
