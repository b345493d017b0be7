/**
 * The snapshot-ensemble tutorial, done right: three Gaussian blobs, a 2-25-3 MLP trained once with a
 * cosine-annealed learning rate, a snapshot at the end of each of the 10 cycles, and the accuracy of
 * each snapshot and of the ensembles of the last n snapshots on 1000 held-out points.
 *
 * ```sh
 * deno run examples/blobs.ts                      # the tutorial's table and a summary
 * deno run examples/blobs.ts --json               # one JSON object on stdout
 * deno run --allow-write=out examples/blobs.ts --save out   # + the ensemble file and SVG plots
 * ```
 *
 * Flags: `--backend cpu|webgpu|auto` (default auto), `--epochs N` (500), `--cycles M` (10),
 * `--seed S` (1: the weights' and batch order's seed; the data is always randomState 2), `--save DIR`,
 * `--json`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  type Backend,
  type BackendChoice,
  cosineAnnealing,
  createBackend,
  ensembleSizeCurve,
  makeBlobs,
  mlp,
  sgd,
  type Snapshot,
  splitAt,
  toFloat32,
  train,
} from "../mod.ts";

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

/** Says which flag to add when the run may not write to `dir`, before any training happens. */
async function checkWritable(dir: string): Promise<void> {
  const status = await Deno.permissions.query({ name: "write", path: dir });
  if (status.state !== "granted") {
    throw new Error(
      `Cannot save to ${dir}: this run may not write there; add --allow-write=${dir} ` +
        `(for example: deno run --allow-write=${dir} examples/blobs.ts --save ${dir})`,
    );
  }
}

async function main(): Promise<void> {
  const flags = parseFlags(Deno.args);
  if (flags.save !== undefined) await checkWritable(flags.save);

  // The tutorial's data: 1100 points, 3 centers, std 2, randomState 2; first 100 train, 1000 test.
  const blobs = makeBlobs({
    nSamples: 1100,
    centers: 3,
    nFeatures: 2,
    clusterStd: 2,
    randomState: 2,
  });
  const [trainSet, testSet] = splitAt(blobs, 100);
  const data = { x: toFloat32(trainSet.x), y: trainSet.y, n: trainSet.n };
  const test = { x: toFloat32(testSet.x), y: testSet.y, n: testSet.n };

  const model = mlp({ layers: [2, 25, 3], activation: "relu", head: "softmax" });
  const schedule = cosineAnnealing({ lrMax: 0.01, totalSteps: flags.epochs, cycles: flags.cycles });
  const backend: Backend = await createBackend(flags.backend);
  const progress = !flags.json && Deno.stderr.isTerminal();
  const encoder = new TextEncoder();
  const snapshots: Snapshot[] = [];
  const history: { epoch: number; loss: number; accuracy: number }[] = [];
  let trainMs = 0;
  try {
    const started = performance.now();
    for await (
      const event of train({
        backend,
        model,
        optimizer: sgd({ momentum: 0.9 }),
        schedule,
        lrPer: "epoch",
        epochs: flags.epochs,
        batchSize: 32,
        data,
        seed: flags.seed,
      })
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

    const curve = ensembleSizeCurve(snapshots, { x: test.x, y: test.y, direction: "backward" });
    const singles = curve.points.map((p) => p.single);
    const singleMean = singles.reduce((a, b) => a + b, 0) / singles.length;

    if (flags.json) {
      const byIndex = ensembleSizeCurve(snapshots, { x: test.x, y: test.y, direction: "forward" });
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
          testAccuracy: byIndex.points[i].single,
        })),
        ensemble: curve.points.map((p) => ({ members: p.members, testAccuracy: p.ensemble })),
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
      for (const p of curve.points) {
        console.log(
          `> ${p.members}: single=${p.single.toFixed(3)}, ensemble=${p.ensemble.toFixed(3)}`,
        );
      }
      const std = Math.sqrt(
        singles.reduce((a, s) => a + (s - singleMean) ** 2, 0) / singles.length,
      );
      const best = curve.points.reduce((a, p) => (p.ensemble > a.ensemble ? p : a));
      const all = curve.points[curve.points.length - 1];
      console.log(
        `Single snapshots: ${singleMean.toFixed(3)} +/- ${std.toFixed(3)}; ensemble of all ` +
          `${all.members}: ${all.ensemble.toFixed(3)}; best ensemble: last ${best.members} at ` +
          `${best.ensemble.toFixed(3)}.`,
      );
    }

    if (flags.save !== undefined) {
      const { saveSnapshots } = await import("./_blobs_save.ts");
      const written = await saveSnapshots(flags.save, {
        snapshots,
        schedule,
        totalSteps: flags.epochs,
        history,
        curve,
        test,
        nFeatures: blobs.nFeatures,
      });
      if (!flags.json) console.log(`Wrote ${written.join(", ")}`);
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
